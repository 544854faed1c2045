"""What `prov` options take: the click types for text, numbers and times, checked at the edge,
so a value that cannot be used is one line from click rather than a traceback further in.

Every option that takes free text (a host, a service, a stream, a name, a URL: anything but a
file name) is `Text`, which refuses bytes that are not UTF-8; `tests/cli/test_option_text.py` walks
the command tree for options left as plain strings.

Every integer option is a `WholeNumber`, a `click.IntRange` with both ends (the largest count is
`eventstore.store.MAX_LIMIT`, what both store backends take as a read limit) that takes ASCII
digits alone, as the query API does (`provenance.domain.whole_numbers`); every float option
is a `FiniteFloat` (a FloatRange with both ends that also refuses NaN, which compares false with
any bound, and takes ASCII digits and a decimal point alone); --from/--to are `IsoTime`.
`tests/cli/test_bounds.py` walks the command tree and fuzzes every option of these types.

`provenance.access.report` is imported only when a time is given, `eventstore.url` only when a
URL is.
"""

from __future__ import annotations

import math
import re
from typing import Any

import click
from click.core import ParameterSource

from provenance.domain.shown import shown
from provenance.domain.whole_numbers import is_whole_number, read_whole_number

MAX_SERVE_THREADS = 256
"""`prov serve --threads`: each thread holds a store connection; more only wait on the store."""
MAX_SHIP_RECORD_BYTES = 5_000_000
"""`prov ship --record-bytes`: provenance.aws.ship_options.MAX_CALL_BYTES, what one PutRecords
call carries (ship imports botocore, too slow to import for --help)."""
MAX_SHIP_ATTEMPTS = 100
"""`prov ship --max-attempts`: with the 5 s backoff cap, some 8 minutes of trying."""


class Text(click.ParamType[str, Any]):
    """Text that is stored, written or sent on: UTF-8 only.

    An argument or environment variable whose bytes are not UTF-8 (typed in a Latin-1 terminal,
    say) reaches Python with each such byte as a lone surrogate (`surrogateescape`), which no
    event payload, JSON document, XML file or AWS request can carry. File names are another
    matter (they are bytes, and `click.Path` options take them as they are)."""

    name = "text"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = value if isinstance(value, str) else str(value)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            # A message for a person: readable is enough, nothing reads the name back from it.
            from premis.escaping import visible_surrogates  # noqa: PLC0415

            raise click.BadParameter(
                f"'{visible_surrogates(text)}' is not UTF-8 text: give it in UTF-8",
                ctx,
                param,
                _environment_hint(param, ctx),
            ) from None
        return text


class EndpointUrl(Text):
    """The URL of an endpoint requests are sent to (`--endpoint-url`, `--api`, `PROV_API`),
    checked by `eventstore.url.endpoint_url_problem`, the rule a store URL's `endpoint_url=`
    follows too: a malformed one is one line naming the option and the value before anything
    is read or sent, not a ValueError from inside botocore or urllib."""

    name = "url"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = super().convert(value, param, ctx)
        from eventstore.url import endpoint_url_problem  # noqa: PLC0415  (only when given)

        problem = endpoint_url_problem(text)
        if problem is not None:
            raise click.BadParameter(
                f"{shown(text)!r}: {problem}", ctx, param, _environment_hint(param, ctx)
            )
        return text


class BaseUri(Text):
    """The base of the URIs Turtle and JSON-LD mint (`prov premis --base-uri`), checked by
    `premis.rdf_triples.base_uri_problem`, the rule the library and the query API follow: one
    line naming the option and the value, not a traceback from the writer."""

    name = "iri"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = super().convert(value, param, ctx)
        from premis.rdf_triples import base_uri_problem  # noqa: PLC0415  (only when given)

        problem = base_uri_problem(text)
        if problem is not None:
            raise click.BadParameter(
                f"{shown(text)!r} {problem}", ctx, param, _environment_hint(param, ctx)
            )
        return text


def _environment_hint(param: click.Parameter | None, ctx: click.Context | None) -> str | None:
    """How to name `param` when its value came from its environment variable, not the command
    line (the user typed no such option)."""
    if (
        isinstance(param, click.Option)
        and isinstance(param.envvar, str)
        and ctx is not None
        and ctx.get_parameter_source(param.name or "") is ParameterSource.ENVIRONMENT
    ):
        return f"'{param.opts[0]}' (from {param.envvar})"
    return None


class WholeNumber(click.IntRange):
    """A whole number from `low` to `high` (both given), written with the digits 0-9 alone:
    no sign, underscore, blank or other script's digits, which click's int() would take."""

    def __init__(self, low: int, high: int) -> None:
        if low < 0:
            raise ValueError("a WholeNumber has no sign: its low end is 0 or more")
        super().__init__(low, high)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, int):
            return super().convert(value, param, ctx)
        text = str(value)
        if not is_whole_number(text):
            self.fail(
                f"{shown(text)!r} is not a whole number in the range {self._describe_range()} "
                "(the digits 0-9 alone)",
                param,
                ctx,
            )
        number = read_whole_number(text, self.min, self.max)  # type: ignore[arg-type]
        if number is None:
            self.fail(f"{shown(text)} is not in the range {self._describe_range()}.", param, ctx)
        return number


class FiniteFloat(click.FloatRange):
    """A number from `low` to `high` (both given, so `inf` and `1e400` are out), never NaN,
    written with the digits 0-9 and a decimal point alone (`2.5`, `.5`, `10`): no sign,
    exponent, underscore, blank or other script's digits, which click's float() would take,
    as the whole numbers refuse them (no option takes a number below 0 or needs an exponent)."""

    def __init__(self, low: float, high: float) -> None:
        if low < 0:
            raise ValueError("a FiniteFloat has no sign: its low end is 0 or more")
        super().__init__(low, high)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if not isinstance(value, int | float):  # a default given as a number needs no reading
            text = str(value)
            if _DECIMAL.fullmatch(text) is None:
                self.fail(
                    f"{shown(text)!r} is not a number in the range {self._describe_range()} "
                    "(the digits 0-9 and a decimal point alone)",
                    param,
                    ctx,
                )
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a number", param, ctx)
        return number

    def _describe_range(self) -> str:
        # 1e12, not 1000000000000.0
        return f"{self.min:g}<=x<={self.max:g}"


# [0-9], not \d: \d matches every script's digits.
_DECIMAL = re.compile(r"[0-9]+(?:\.[0-9]*)?|\.[0-9]+")


class AccessDays(click.ParamType[int | None, Any]):
    """A number of days from 1 to `high`, or `never`."""

    name = "DAYS|never"

    def __init__(self, high: int) -> None:
        self.high = high

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> int | None:
        if value is None or isinstance(value, int):
            return value
        text = str(value).strip().lower()
        if text == "never":
            return None
        days = read_whole_number(text, 1, self.high)
        if days is None:
            self.fail(
                f"{value!r} is neither a number of days from 1 to {self.high:,} nor 'never'",
                param,
                ctx,
            )
        return days


class IsoTime(click.ParamType[str, Any]):
    """An ISO date or time (checked here; read in the command's zone by `parse_time`)."""

    name = "T"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        from provenance.access.report import ReportError, read_time  # noqa: PLC0415

        text = str(value)
        try:
            read_time(text)
        except ReportError as exc:
            self.fail(str(exc), param, ctx)
        return text
