"""`auto` on web access logs: interleaved Rails requests survive other formats' lines."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from provenance.domain.events import ServiceAccessed
from provenance.sources.auto import AutoSource
from tests.sources.helpers import build_events, feed_source

LA = ZoneInfo("America/Los_Angeles")
A = "8c1d5e2f-0a9b-4c3d-8e7f-6a5b4c3d2e1f"
B = "1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e"


def tagged(request_id: str, message: str, second: int = 2) -> str:
    return f"[2026-03-02T10:01:0{second}.123-08:00] [INFO] [{request_id}] {message}"


INTERLEAVED = [
    tagged(
        A, 'Started GET "/bb123cd4567/iiif/manifest" for 171.64.1.2 at 2026-03-02 10:01:02 -0800'
    ),
    tagged(B, 'Started GET "/cc234dd5678" for 192.0.2.7 at 2026-03-02 10:01:02 -0800'),
    tagged(A, "Processing by IiifController#manifest as JSON"),
    tagged(A, '  Parameters: {"id"=>"bb123cd4567"}'),
    tagged(B, "Processing by PurlController#show as HTML"),
    tagged(B, "  Rendered purl/show.html.erb within layouts/application (Duration: 3.1ms)"),
    # A line of another format in between (a lograge request of the same app).
    tagged(
        "c0ffee",
        "method=GET path=/status format=html controller=OkComputer action=show "
        "status=200 duration=1.2",
    ),
    tagged(A, "Completed 200 OK in 17ms (Views: 1.2ms | ActiveRecord: 3.4ms)", 3),
    tagged(B, "Completed 404 Not Found in 5ms (Views: 2.0ms)", 3),
]


def test_interleaved_rails_requests_are_whole_under_auto() -> None:
    entries = feed_source(AutoSource, INTERLEAVED, LA, "purl-prod-a")

    events = [e for e in build_events(entries, "auto") if isinstance(e, ServiceAccessed)]

    by_path = {event.path: event for event in events}
    assert set(by_path) == {"/bb123cd4567/iiif/manifest", "/cc234dd5678", "/status"}
    assert by_path["/bb123cd4567/iiif/manifest"].status == 200
    assert by_path["/bb123cd4567/iiif/manifest"].complete
    assert by_path["/cc234dd5678"].status == 404
    assert all(entry.quarantined is None and entry.ignored is None for entry in entries)
    assert sum(len(entry.lines) for entry in entries) == len(INTERLEAVED)
