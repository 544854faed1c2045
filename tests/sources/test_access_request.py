"""Request targets -> path templates and druids (`provenance.sources.access_request.normalise`).

Paths follow the routes of purl, stacks (files and the IIIF image API), the SDR API and the
deprecated sdr-services-app; none is a captured production request.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from provenance.domain.druid import IN_TEXT
from provenance.sources.access_request import MAX_TARGET, MAX_TEMPLATE, normalise

DRUID = "druid:bb123cd4567"


@pytest.mark.parametrize(
    ("target", "template"),
    [
        # purl
        ("/bb123cd4567", "/{druid}"),
        ("/bb123cd4567.xml", "/{druid}.xml"),
        ("/BB123CD4567.MODS", "/{druid}.mods"),
        ("/bb123cd4567/iiif/manifest", "/{druid}/iiif/manifest"),
        ("/bb123cd4567/iiif3/manifest", "/{druid}/iiif3/manifest"),
        ("/bb123cd4567/iiif/manifest.json", "/{druid}/iiif/manifest.json"),
        # stacks: files
        ("/file/druid:bb123cd4567/a%20b.pdf", "/file/druid:{druid}/{file}"),
        ("/file/druid:bb123cd4567/a.pdf", "/file/druid:{druid}/{file}"),
        ("/file/bb123cd4567/img_001.jp2", "/file/{druid}/{file}"),
        ("/file/druid:bb123cd4567/bb123cd4567_0001.tif", "/file/druid:{druid}/{file}"),
        ("/file/druid%3Abb123cd4567/a.pdf", "/file/druid:{druid}/{file}"),
        ("/file/DRUID:BB123CD4567/a.pdf", "/file/druid:{druid}/{file}"),
        # stacks: IIIF image API, identifier `<druid>%2F<file>`
        (
            "/image/iiif/bb123cd4567%2Fimg_001/full/full/0/default.jpg",
            "/image/iiif/{druid}%2F{file}/full/full/{n}/default.jpg",
        ),
        (
            "/image/iiif/bb123cd4567%2Fimg_001/0,0,1024,1024/!400,400/90/gray.png",
            "/image/iiif/{druid}%2F{file}/{id}/{id}/{n}/gray.png",
        ),
        (
            "/image/iiif/bb123cd4567%2fimg_001/pct:10,10,50,50/256,/0/default.jpg",
            "/image/iiif/{druid}%2F{file}/{id}/{id}/{n}/default.jpg",
        ),
        ("/image/iiif/bb123cd4567%2Fimg_001/info.json", "/image/iiif/{druid}%2F{file}/info.json"),
        (
            "/image/iiif/druid:bb123cd4567%2Fimg/info.json",
            "/image/iiif/druid:{druid}%2F{file}/info.json",
        ),
        # SDR API
        ("/v1/objects/druid:bb123cd4567/versions/3", "/v1/objects/druid:{druid}/versions/{n}"),
        ("/v1/objects/druid:bb123cd4567/events", "/v1/objects/druid:{druid}/events"),
        ("/v1/resources?druid=druid:bb123cd4567", "/v1/resources?druid={}"),
        # sdr-services-app
        (
            "/objects/druid:bb123cd4567/content/file.pdf",
            "/objects/druid:{druid}/content/{file}",
        ),
        (
            "/objects/druid:bb123cd4567/content/file.pdf?version=2&signature=x",
            "/objects/druid:{druid}/content/{file}?signature={}&version={}",
        ),
        (
            "/objects/druid:bb123cd4567/manifest/signatureCatalog.xml",
            "/objects/druid:{druid}/manifest/signatureCatalog.xml",
        ),
    ],
)
def test_sdr_paths(target: str, template: str) -> None:
    assert normalise(target) == (template, DRUID)


@pytest.mark.parametrize(
    ("target", "template"),
    [
        ("/", "/"),
        ("/robots.txt", "/robots.txt"),
        ("/favicon.ico", "/favicon.ico"),
        ("/wp-login.php", "/{file}"),
        ("/.env", "/.env"),
        ("/.well-known/security.txt", "/.well-known/{file}"),
        ("/../../etc/passwd", "/../../etc/passwd"),
        ("/status/", "/status/"),
        ("/a//b", "/a//b"),
        ("/items/12345", "/items/{n}"),
        ("/v2/things", "/v2/things"),
        ("/v12/things", "/v12/things"),
        ("/moab/v0001/data", "/moab/{id}/data"),
        ("/jobs/3f2504e0-4f89-11d3-9a0c-0305e82c3301", "/jobs/{id}"),
        ("/blobs/d41d8cd98f00b204e9800998ecf8427e", "/blobs/{id}"),
        ("/search/hello%20world", "/search/{id}"),
        ("/caf%C3%A9", "/{id}"),
        # Query strings: names kept, sorted, once each; values abstracted; junk names `{id}`.
        ("/catalog?q=maps&page=2&q=atlas", "/catalog?page={}&q={}"),
        ("/catalog?f%5Bformat%5D%5B%5D=Map&utf8=%E2%9C%93", "/catalog?f[format][]={}&utf8={}"),
        ("/catalog?download", "/catalog?download={}"),
        ("/catalog?&&", "/catalog"),
        ("/catalog?", "/catalog"),
        ("/x?12345=1&1a2b3c=2", "/x?{id}={}"),
        # Request-target forms other than a path.
        ("*", "*"),
        ("http://purl.stanford.edu:80/status?x=1", "/status?x={}"),
        ("https://example.com", "/"),
        ("example.com:443", "{authority}"),
        ("/status#top", "/status"),
        ("", "/"),
    ],
)
def test_other_paths(target: str, template: str) -> None:
    assert normalise(target) == (template, None)


def test_many_objects_and_files_are_one_template() -> None:
    targets = [
        "/file/druid:bb123cd4567/a.pdf",
        "/file/druid:cc234dd5678/b.tif",
        "/file/druid:DF345GH6789/report%202019.pdf",
    ]
    assert {normalise(target)[0] for target in targets} == {"/file/druid:{druid}/{file}"}
    assert [normalise(target)[1] for target in targets] == [
        "druid:bb123cd4567",
        "druid:cc234dd5678",
        "druid:df345gh6789",
    ]


def test_test_style_druids_count_too() -> None:
    assert normalise("/ab123cd4567") == ("/{druid}", "druid:ab123cd4567")


def test_the_path_druid_wins_over_one_in_the_query() -> None:
    assert normalise("/v1/objects/druid:bb123cd4567?other=druid:cc234dd5678") == (
        "/v1/objects/druid:{druid}?other={}",
        DRUID,
    )


def test_query_druid_may_be_encoded() -> None:
    assert normalise("/v1/resources?druid=druid%3ABB123CD4567") == ("/v1/resources?druid={}", DRUID)


def test_a_segment_with_a_druid_and_other_text_keeps_the_druid_out() -> None:
    assert normalise("/x/bb123cd4567-cc234dd5678") == ("/x/{id}", DRUID)
    assert normalise("/x/copy-of-bb123cd4567") == ("/x/{id}", DRUID)
    assert normalise("/x/bb123cd4567v0001") == ("/x/{id}", None)


def test_long_templates_are_cut_at_a_separator() -> None:
    template, druid = normalise("/bb123cd4567" + "/segment" * 100)
    assert druid == DRUID
    assert len(template) <= MAX_TEMPLATE
    assert template.endswith("/segment…")
    assert template.startswith("/{druid}/segment/")


def test_only_the_start_of_a_huge_target_is_read() -> None:
    template, druid = normalise("/" + "a" * MAX_TARGET + "/bb123cd4567")
    assert (template, druid) == ("/{id}", None)
    assert normalise("/bb123cd4567/" + "x" * 100_000) == ("/{druid}/{id}", DRUID)


# --- properties ---------------------------------------------------------------------------

_V_SEGMENT = re.compile(r"(?<=/)v[1-9][0-9]?(?=[/?]|\Z)")
_segments = st.one_of(
    st.sampled_from(
        [
            "bb123cd4567",
            "druid:bb123cd4567",
            "DRUID%3ABB123CD4567",
            "bb123cd4567%2Fimg_001",
            "bb123cd4567.xml",
            "v1",
            "v0001",
            "12",
            "0,0,100,100",
            "!400,400",
            "default.jpg",
            "a.pdf",
            "%",
            "%2F",
            "..",
            "*",
            "?",
            "&",
            "=",
            "#",
            "http://",
            ":443",
        ]
    ),
    st.text(max_size=12),
    st.text(alphabet="abcdvz0123456789%:.-_!,", max_size=14),
)
_targets = st.one_of(
    st.text(max_size=200),
    st.lists(_segments, max_size=12).map("/".join),
    st.lists(_segments, max_size=12).map(lambda parts: "/" + "/".join(parts)),
)


@settings(max_examples=500, deadline=None)
@given(_targets)
def test_templates_never_hold_a_druid_or_a_number(target: str) -> None:
    template, druid = normalise(target)
    assert len(template) <= MAX_TEMPLATE
    assert IN_TEXT.search(template.lower()) is None
    assert re.search(r"[0-9]{2}", _V_SEGMENT.sub("", template)) is None
    if druid is not None:
        assert druid.startswith("druid:")
        assert druid[6:] in target[:MAX_TARGET].lower() or "%" in target or "+" in target
