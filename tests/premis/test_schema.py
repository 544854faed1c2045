"""Getting the XSD (cache, $PREMIS_XSD, hash check) and validating against it.

No test downloads anything: `_download` is replaced where a download would happen.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest

from premis import PremisSchemaError, PremisValidationError, is_valid, validate
from premis import schema as premis_schema

HEADER = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<premis:premis xmlns:premis="http://www.loc.gov/premis/v3"'
    ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" version="3.0">\n'
)
OBJECT = (
    '  <premis:object xsi:type="premis:intellectualEntity">\n'
    "    <premis:objectIdentifier><premis:objectIdentifierType>druid</premis:objectIdentifierType>"
    "<premis:objectIdentifierValue>bc123df4567</premis:objectIdentifierValue>"
    "</premis:objectIdentifier>\n"
    "  </premis:object>\n"
)
EVENT_ID = (
    "    <premis:eventIdentifier><premis:eventIdentifierType>UUID</premis:eventIdentifierType>"
    "<premis:eventIdentifierValue>1</premis:eventIdentifierValue></premis:eventIdentifier>\n"
)
EVENT_TYPE = "    <premis:eventType>fixity check</premis:eventType>\n"
EVENT_TIME = "    <premis:eventDateTime>2026-03-01T22:14:05+00:00</premis:eventDateTime>\n"


def _document(*parts: str) -> bytes:
    return (HEADER + "".join(parts) + "</premis:premis>\n").encode()


def _event(*parts: str) -> str:
    return "  <premis:event>\n" + "".join(parts) + "  </premis:event>\n"


def _details(document: bytes) -> list[str]:
    with pytest.raises(PremisValidationError) as caught:
        validate(document)
    assert not is_valid(document)
    return caught.value.details


def test_the_hand_written_baseline_is_valid() -> None:
    document = _document(OBJECT, _event(EVENT_ID, EVENT_TYPE, EVENT_TIME))
    validate(document)
    assert is_valid(document)


def test_a_document_without_an_object_is_invalid() -> None:
    details = _details(_document(_event(EVENT_ID, EVENT_TYPE, EVENT_TIME)))
    assert len(details) == 1
    assert details[0].startswith("line 2: ")  # the root: its content is what is wrong
    assert "Expected is ( {http://www.loc.gov/premis/v3}object )" in details[0]


def test_wrong_element_order_is_reported_with_its_line() -> None:
    details = _details(_document(OBJECT, _event(EVENT_TYPE, EVENT_ID, EVENT_TIME)))
    assert details[0].startswith("line 7: Element '{http://www.loc.gov/premis/v3}eventType'")
    assert "not expected" in details[0]


def test_every_error_is_listed() -> None:
    empty_outcome = "    <premis:eventOutcomeInformation/>\n"
    detail_with_authority = (
        "    <premis:eventDetailInformation>"
        '<premis:eventDetail authority="x">d</premis:eventDetail>'
        "</premis:eventDetailInformation>\n"
    )
    document = _document(
        OBJECT,
        _event(EVENT_ID, EVENT_TYPE, EVENT_TIME, detail_with_authority),
        _event(EVENT_ID, EVENT_TYPE, EVENT_TIME, empty_outcome),
    )
    details = _details(document)
    assert len(details) == 2
    assert details[0].startswith("line 10: ") and "authority" in details[0]
    assert details[1].startswith("line 16: ") and "eventOutcomeInformation" in details[1]


def test_xml_that_is_not_well_formed_is_a_validation_error_too() -> None:
    details = _details(_document(OBJECT, "  <premis:event>\n"))
    assert any(detail.startswith("line ") and "mismatch" in detail for detail in details)


def test_a_path_and_a_non_seekable_stream_are_read_as_well(tmp_path: Path) -> None:
    good = tmp_path / "good.xml"
    good.write_bytes(_document(OBJECT))
    validate(good)
    bad = _document(OBJECT, _event(EVENT_TYPE, EVENT_ID, EVENT_TIME))

    class Pipe(io.RawIOBase):
        def __init__(self, data: bytes) -> None:
            self._data = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
            chunk = self._data.read(len(buffer))
            buffer[: len(chunk)] = chunk
            return len(chunk)

    with pytest.raises(PremisValidationError) as caught:
        validate(Pipe(bad))  # type: ignore[arg-type]
    assert caught.value.details[0].startswith("line ?: ")


def test_a_seekable_stream_is_read_from_where_it_stands() -> None:
    stream = io.BytesIO(
        b"junk before" + _document(OBJECT, _event(EVENT_TYPE, EVENT_ID, EVENT_TIME))
    )
    stream.seek(len(b"junk before"))
    with pytest.raises(PremisValidationError) as caught:
        validate(stream)
    assert caught.value.details[0].startswith("line 7: ")


# -- the XSD itself ---------------------------------------------------------------------------


@pytest.fixture
def real_xsd() -> bytes:
    return premis_schema.schema_path().read_bytes()


def test_the_cached_xsd_is_the_official_one(real_xsd: bytes) -> None:
    assert hashlib.sha256(real_xsd).hexdigest() == premis_schema.XSD_SHA256
    assert len(real_xsd) == 52845


def test_the_cache_follows_xdg_cache_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("PREMIS_XSD", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert premis_schema.schema_path() == tmp_path / "sdr-provenance" / "premis-v3-0.xsd"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/is/ignored")
    assert premis_schema.schema_path() == Path.home() / ".cache/sdr-provenance/premis-v3-0.xsd"


def test_a_missing_xsd_says_how_to_get_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("PREMIS_XSD", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    with pytest.raises(PremisSchemaError, match=r"not cached: run `python -m premis.schema fetch`"):
        premis_schema.load_schema()


def test_fetch_fills_an_empty_cache_atomically(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, real_xsd: bytes
) -> None:
    monkeypatch.delenv("PREMIS_XSD", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    downloads: list[int] = []

    def download() -> bytes:
        downloads.append(1)
        return real_xsd

    monkeypatch.setattr(premis_schema, "_download", download)
    path = premis_schema.fetch()
    assert path.read_bytes() == real_xsd
    assert list(path.parent.iterdir()) == [path]  # no temporary file left behind
    assert premis_schema.fetch() == path  # cached: no second download
    assert downloads == [1]
    premis_schema.fetch(force=True)
    assert downloads == [1, 1]
    assert premis_schema.load_schema() is not None


def test_fetch_replaces_a_damaged_cache(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, real_xsd: bytes
) -> None:
    monkeypatch.delenv("PREMIS_XSD", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    cached = premis_schema.schema_path()
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"<truncated")
    monkeypatch.setattr(premis_schema, "_download", lambda: real_xsd)
    assert premis_schema.fetch().read_bytes() == real_xsd


def test_a_download_with_the_wrong_hash_is_refused_and_not_cached(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, real_xsd: bytes
) -> None:
    monkeypatch.delenv("PREMIS_XSD", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(premis_schema, "_download", lambda: real_xsd + b" ")
    with pytest.raises(PremisSchemaError, match=r"is not the PREMIS 3\.0 XSD"):
        premis_schema.fetch()
    assert not premis_schema.schema_path().exists()


def test_premis_xsd_is_used_as_is_after_the_hash_check(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, real_xsd: bytes
) -> None:
    mine = tmp_path / "mine.xsd"
    mine.write_bytes(real_xsd)
    monkeypatch.setenv("PREMIS_XSD", str(mine))
    monkeypatch.setattr(premis_schema, "_download", lambda: pytest.fail("must not download"))
    assert premis_schema.fetch() == mine
    assert is_valid(_document(OBJECT))
    mine.write_bytes(real_xsd.replace(b"PREMIS", b"premis"))
    with pytest.raises(PremisSchemaError, match=r"\$PREMIS_XSD .* is not the PREMIS 3\.0 XSD"):
        premis_schema.fetch()
    with pytest.raises(PremisSchemaError, match=r"is not the PREMIS 3\.0 XSD"):
        premis_schema.load_schema()
    monkeypatch.setenv("PREMIS_XSD", str(tmp_path / "absent.xsd"))
    with pytest.raises(PremisSchemaError, match="which is not a file"):
        premis_schema.fetch()
    with pytest.raises(PremisSchemaError, match="which is not a file"):
        premis_schema.load_schema()


def test_the_command_prints_the_cached_path(capsys: pytest.CaptureFixture[str]) -> None:
    assert premis_schema.main(["fetch"]) == 0
    assert capsys.readouterr().out.strip() == str(premis_schema.schema_path())


def test_the_command_reports_failure_on_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PREMIS_XSD", str(tmp_path / "absent.xsd"))
    assert premis_schema.main(["fetch"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("premis.schema: PREMIS_XSD is set to") and err.count("\n") == 1
