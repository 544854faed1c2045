"""The registry of sources: one parser per input format, looked up by name.

Modules are imported on first use so that `prov --help` stays fast.
"""

from __future__ import annotations

from importlib import import_module

from provenance.domain.errors import UnknownSourceError
from provenance.sources.base import Source, SourceContext

# name -> (module, class). `auto` is listed last: it dispatches to the others.
_REGISTRY: dict[str, tuple[str, str]] = {
    "prescat": ("provenance.sources.prescat", "PrescatSource"),
    "robots": ("provenance.sources.robots", "RobotsSource"),
    "sdr-events": ("provenance.sources.sdr_events", "SdrEventsSource"),
    "clf": ("provenance.sources.clf", "ClfSource"),
    "lograge": ("provenance.sources.lograge", "LogrageSource"),
    "rails": ("provenance.sources.rails", "RailsSource"),
    "auto": ("provenance.sources.auto", "AutoSource"),
}
SOURCE_NAMES: tuple[str, ...] = tuple(_REGISTRY)
# The order `auto` tries formats in: cheapest and most specific first.
# Access formats go before prescat: its Rails layout would otherwise claim lograge and Rails
# request lines, which share the `[time] [LEVEL] [request id]` prefix.
DETECTION_ORDER: tuple[str, ...] = ("sdr-events", "robots", "clf", "lograge", "rails", "prescat")


def source_class(name: str) -> type[Source]:
    """The class of the named source; UnknownSourceError lists the names there are."""
    try:
        module_name, class_name = _REGISTRY[name]
    except KeyError:
        raise UnknownSourceError(
            f"unknown source {name!r}: choose one of {', '.join(SOURCE_NAMES)}"
        ) from None
    cls: type[Source] = getattr(import_module(module_name), class_name)
    return cls


def create_source(name: str, context: SourceContext) -> Source:
    return source_class(name)(context)
