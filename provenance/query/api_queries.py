"""The queries the report and list routes ask for, read from their parameters: the access
report's (`/reports/access`, as JSON, CSV or the dashboard's page alike) and the fleet list's
(`/objects`). Imported by those routes when they are asked (`provenance.query.http_api`)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from http import HTTPStatus
from typing import TYPE_CHECKING

from provenance.domain.shown import shown
from provenance.domain.timezones import resolve_zone
from provenance.query.http_api import ApiError, Request, _int_param, _list_param, _param

if TYPE_CHECKING:
    from provenance.access.report import ReportQuery
    from provenance.query.fleet import FleetQuery


def access_query(request: Request) -> ReportQuery:
    """The report `/reports/access` asks for (as JSON, CSV or the dashboard's page alike)."""
    from provenance.access import report as reports  # noqa: PLC0415

    bucket = _param(request, "bucket")
    if bucket is not None and bucket not in reports.BUCKETS:
        raise ApiError(
            HTTPStatus.BAD_REQUEST,
            f"bucket must be one of {', '.join(reports.BUCKETS)}, got {shown(bucket)!r}",
        )
    by = _list_param(request, "by") or ["service"]
    zone = resolve_zone(_param(request, "tz"))
    names = reports.PARAMETER_NAMES
    query = reports.report_query(
        by=by,
        bucket=bucket,
        start=_param(request, "from"),
        stop=_param(request, "to"),
        top=None,
        services=_list_param(request, "service"),
        agents=_list_param(request, "agent"),
        tz=zone,
        names=names,
    )
    # `top` after the times, as the API has always checked them: of two bad parameters,
    # the same one is reported.
    return replace(query, top=_int_param(request, "top", None, 1, reports.MAX_TOP))


def fleet_query(request: Request) -> FleetQuery:
    """`GET /objects`'s parameters, the options of `prov objects` in snake_case."""
    from provenance.query.fleet import FAILURE_KINDS, MAX_LIMIT, FleetQuery  # noqa: PLC0415

    kind = _param(request, "kind")
    if kind is not None and kind not in FAILURE_KINDS:
        raise ApiError(
            HTTPStatus.BAD_REQUEST,
            f"kind must be one of {', '.join(FAILURE_KINDS)}, got {shown(kind)!r}",
        )
    day = _param(request, "not_checked_since")
    try:
        since = date.fromisoformat(day) if day is not None else None
    except ValueError:
        since = None
    if day is not None and (since is None or len(day) != 10):
        raise ApiError(
            HTTPStatus.BAD_REQUEST,
            f"not_checked_since must be a day, YYYY-MM-DD, got {shown(day)!r}",
        )
    return FleetQuery(
        failing=_flag_param(request, "failing") or kind is not None,
        kind=kind,
        status=_param(request, "status"),
        root=_param(request, "root"),
        not_checked_since=since,
        unreplicated=_flag_param(request, "unreplicated"),
        limit=_int_param(request, "limit", 50, 1, MAX_LIMIT),
        after=_param(request, "after"),
    )


def _flag_param(request: Request, name: str) -> bool:
    value = _param(request, name)
    if value is None or value in ("false", "0"):
        return False
    if value in ("true", "1"):
        return True
    raise ApiError(HTTPStatus.BAD_REQUEST, f"{name} must be true or false, got {shown(value)!r}")
