"""The dashboard's pages: HTML answers of the query API for browsers.

`provenance.query.http_api` hands a request here when its Accept prefers text/html (JSON stays
the answer for everyone else, and `?format=json` always gets JSON). Nothing here is imported
until a page is asked for: Jinja2 stays out of the Lambda's cold start for JSON requests.

- `templating`: the Jinja2 environment (autoescaping), the security headers of every page, and
  the stylesheet and icon served under names holding their content hash;
- `charts`: bar charts as server-rendered SVG geometry;
- `object_page`, `report_pages`, `fleet_pages`: the pages themselves.
"""
