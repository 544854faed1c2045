"""The agent registry: every name a system is known by -> one agent (identifier, name, type).

The sources name agents as their logs and events do: the preservation catalog is
`preservation_catalog` in its own log lines and `preservation-catalog` in the repository events'
`invoked_by`. PREMIS wants one agent per system (and one agent record per version of it), so the
PREMIS mapping resolves every name through this registry (`AgentRegistry.resolve`, a dictionary
look-up: no I/O after loading).

A name matches a registered agent when it equals its key or one of its aliases, compared without
case and with runs of `_`, `-` and spaces read as one `-` (so `preservation_catalog` and
`Preservation-Catalog` are one name). A robot step, `<workflow>/<step>`, is the agent its
workflow's name stands for (`accessionWF/shelve` is common-accessioning, whose events say
`invoked_by: common-accessioning`), so a step and the notification of it have one agent. A
name nobody registered stays its own agent, identified by its own spelling: `software/<name>`.
A stated version makes a separate agent record, `software/<key>@<version>`, with
`agentVersion`.

Built in: the SDR systems the sources of this repository name (`BUILT_IN`). A TOML file adds
agents or replaces built-in ones of the same key (`prov premis --agents FILE`, `prov serve
--agents FILE`, env `PROV_AGENTS`; the API function, which has no such file, gets its text in
`PROV_AGENTS_TOML`: `registry_from_text`); an alias a file entry names is taken from whichever
built-in agent had it:

    [agents.preservation_catalog]            # the key: the identifier is "<type>/<key>"
    name = "Preservation Catalog"            # agentName, and the program= of eventDetail
    type = "software"                        # software (default) | organization | person |
                                             # hardware
    aliases = ["preservation-catalog", "pres-cat"]

Anything else in the file (an unknown field, a wrong type, two agents claiming one alias) is an
`AgentRegistryError` with a one-line message naming the file.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import get_args

from provenance.domain.errors import ProvenanceError
from provenance.domain.events import AgentKind

_KINDS: tuple[str, ...] = get_args(AgentKind)
_SEPARATORS = re.compile(r"[\s_-]+")
_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_FIELDS = frozenset({"name", "type", "aliases"})
# Resolved agents are few (systems x versions); the cap only bounds a pathological input.
_MAX_CACHED = 10_000


class AgentRegistryError(ProvenanceError):
    """An agents file that cannot be read or does not describe agents."""


def _spelling(name: str) -> str:
    """The form names are compared in: no case, `_`/`-`/space runs as one `-`."""
    return _SEPARATORS.sub("-", name.strip().casefold())


@dataclass(frozen=True, slots=True)
class RegisteredAgent:
    """A system as the registry knows it: its key, its name, its type, its other names."""

    key: str
    name: str
    kind: AgentKind = "software"
    aliases: tuple[str, ...] = ()

    @property
    def identifier(self) -> str:
        return f"{self.kind}/{self.key}"


@dataclass(frozen=True, slots=True)
class ResolvedAgent:
    """The agent a name (and version) stands for: what a PREMIS agent record states."""

    identifier: str
    name: str
    kind: AgentKind
    version: str | None = None


BUILT_IN: tuple[RegisteredAgent, ...] = (
    # Its log lines (source `prescat`) and the repository events' `invoked_by`.
    RegisteredAgent(
        "preservation_catalog",
        "Preservation Catalog",
        aliases=("preservation-catalog", "prescat"),
    ),
    # The repository events' `invoked_by` of registrations, updates and accessioning.
    RegisteredAgent("argo", "Argo"),
    # The robots: a step is named `<workflow>/<step>` by the robots source, and a workflow is
    # run by one system, which the repository events name as `invoked_by`.
    RegisteredAgent("common-accessioning", "common-accessioning", aliases=("accessionWF",)),
    RegisteredAgent("dor-services-app", "DOR Services App", aliases=("dor_services_app",)),
    RegisteredAgent(
        "preservation_robots", "preservation_robots", aliases=("preservationIngestWF",)
    ),
)


class AgentRegistry:
    """Names -> agents: `resolve(name, kind, version)`. Immutable once built."""

    __slots__ = ("_by_spelling", "_cache")

    def __init__(self, agents: Iterable[RegisteredAgent] = BUILT_IN) -> None:
        self._by_spelling: dict[str, RegisteredAgent] = {}
        for agent in agents:
            for name in (agent.key, *agent.aliases):
                spelling = _spelling(name)
                other = self._by_spelling.get(spelling)
                if other is not None and other.key != agent.key:
                    raise AgentRegistryError(
                        f"agent name {name!r} is claimed by both {other.key!r} and {agent.key!r}"
                    )
                self._by_spelling[spelling] = agent
        self._cache: dict[tuple[str, str, str | None], ResolvedAgent] = {}

    def resolve(self, name: str, kind: AgentKind, version: str | None = None) -> ResolvedAgent:
        """The one agent `name` stands for; `kind` is the source's guess, used only for a
        name nobody registered."""
        key = (name, kind, version)
        resolved = self._cache.get(key)
        if resolved is None:
            registered = self._by_spelling.get(_spelling(name))
            if registered is None and "/" in name:
                # A robot step (`accessionWF/shelve`): the system that runs its workflow (the
                # step itself is in the event's detail).
                registered = self._by_spelling.get(_spelling(name.split("/", 1)[0]))
            if registered is None:
                identifier, shown, kind_of = f"{kind}/{name}", name, kind
            else:
                identifier, shown, kind_of = registered.identifier, registered.name, registered.kind
            if version is not None:
                identifier = f"{identifier}@{version}"
            resolved = ResolvedAgent(identifier, shown, kind_of, version)
            if len(self._cache) < _MAX_CACHED:
                self._cache[key] = resolved
        return resolved

    def with_agents(self, agents: Iterable[RegisteredAgent]) -> AgentRegistry:
        """This registry with `agents` added: one of the same key replaces the old one, and
        the names they claim are taken from the old ones."""
        added = list(agents)
        claimed = {_spelling(name) for agent in added for name in (agent.key, *agent.aliases)}
        kept = []
        for old in {agent.key: agent for agent in self._by_spelling.values()}.values():
            if any(agent.key == old.key for agent in added) or _spelling(old.key) in claimed:
                continue
            aliases = tuple(alias for alias in old.aliases if _spelling(alias) not in claimed)
            kept.append(RegisteredAgent(old.key, old.name, old.kind, aliases))
        return AgentRegistry([*kept, *added])


DEFAULT_REGISTRY = AgentRegistry()


def load_registry(path: str | Path, base: AgentRegistry = DEFAULT_REGISTRY) -> AgentRegistry:
    """`base` with the agents of the TOML file at `path` (see the module docstring)."""
    where = f"agents file {path}"
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise AgentRegistryError(f"{where}: cannot read it: {reason}") from None
    return registry_from_text(text, where, base)


def registry_from_text(
    text: str, where: str, base: AgentRegistry = DEFAULT_REGISTRY
) -> AgentRegistry:
    """`base` with the agents of `text`, an agents file's content, checked as `load_registry`
    checks a file; `where` starts every error message (the deployed API has no file: its
    agents come as the text of an environment variable, which `where` names)."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise AgentRegistryError(f"{where}: not TOML: {exc}") from None
    return base.with_agents(_agents_of(document, where))


def _agents_of(document: Mapping[str, object], where: str) -> list[RegisteredAgent]:
    unknown = sorted(set(document) - {"agents"})
    if unknown:
        raise AgentRegistryError(f"{where}: unknown table {unknown[0]!r} (only [agents.<key>])")
    table = document.get("agents", {})
    if not isinstance(table, dict):
        raise AgentRegistryError(f"{where}: 'agents' must be a table of [agents.<key>] tables")
    agents = []
    for key, entry in table.items():
        at = f"{where}: agents.{key}"
        if _KEY.fullmatch(key) is None:
            raise AgentRegistryError(f"{at}: a key is letters, digits, '.', '_' and '-'")
        if not isinstance(entry, dict):
            raise AgentRegistryError(f"{at} must be a table (name, type, aliases)")
        extra = sorted(set(entry) - _FIELDS)
        if extra:
            raise AgentRegistryError(f"{at}: unknown field {extra[0]!r} (name, type, aliases)")
        name = entry.get("name", key)
        if not isinstance(name, str) or not name.strip():
            raise AgentRegistryError(f"{at}.name must be a non-empty string")
        kind = entry.get("type", "software")
        if kind not in _KINDS:
            raise AgentRegistryError(f"{at}.type must be one of {', '.join(_KINDS)}")
        aliases = entry.get("aliases", [])
        if not isinstance(aliases, list) or not all(
            isinstance(alias, str) and alias.strip() for alias in aliases
        ):
            raise AgentRegistryError(f"{at}.aliases must be a list of non-empty strings")
        agents.append(RegisteredAgent(key, name.strip(), kind, tuple(aliases)))
    try:
        AgentRegistry(agents)  # two entries of the file claiming one name: it says which
    except AgentRegistryError as exc:
        raise AgentRegistryError(f"{where}: {exc}") from None
    return agents
