"""The access policy's rules file: what it says (`PolicyRules`: named networks, user-agent
rules, crawler detection, addresses shown or pseudonymised, the key file, retention), where it
is found, and reading and validating it.

The configuration is a TOML file (`docs/access-policy.example.toml` explains every key); a
missing default file means the built-in defaults. `PROV_ACCESS_EVENT_DAYS`, when set,
overrides the file's `[retention] access_event_days`: a deployment sets expiry without a file.
The file is read by `provenance.files.small_file`: regular files only, with a bound.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, get_args

from provenance.domain.errors import ProvenanceError
from provenance.domain.events import AgentKind, AgentRef
from provenance.files.small_file import SmallFileError, read_small_file

POLICY_ENV = "PROV_ACCESS_POLICY"
RETENTION_ENV = "PROV_ACCESS_EVENT_DAYS"
# The value of RETENTION_ENV that keeps access events forever.
KEEP_FOREVER = "never"
CONFIG_DIR_NAME = "sdr-provenance"
POLICY_FILE_NAME = "access-policy.toml"
# Policies are a few KiB: the bound keeps a wrong name (a log, a disk image) out of memory.
MAX_POLICY_BYTES = 1024 * 1024
PSEUDONYM_PREFIX = "anon:"
# Longer retention would overflow datetime arithmetic; leaving the key out keeps events forever.
MAX_RETENTION_DAYS = 36_525
MAX_NAME_LENGTH = 100

# Constructed, not validated: validating it here would build AgentRef's validator (and load
# pydantic's plugins) on import, in the ingest function's cold start (events.py, defer_build).
UNKNOWN_AGENT = AgentRef.model_construct(name="unknown", kind="hardware")
# Agent names the policy makes itself; configured names must not look like them.
RESERVED_PREFIXES = ("user:", "client:", "crawler:", PSEUDONYM_PREFIX)

_AGENT_KINDS: tuple[str, ...] = get_args(AgentKind)
_SECTIONS = ("clients", "crawlers", "networks", "retention", "user_agents")
_CLIENTS_KEYS = ("key_file", "show_addresses")
_CRAWLERS_KEYS = ("detect",)
_NETWORK_KEYS = ("cidrs", "kind", "name")
_RETENTION_KEYS = ("access_event_days",)
_USER_AGENT_KEYS = ("name", "pattern")

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class AccessPolicyError(ProvenanceError):
    """An access policy that cannot be used: a bad file, key or setting (one line, says why)."""


@dataclass(frozen=True, slots=True)
class Network:
    """Named address ranges: every client inside them is this agent."""

    name: str
    kind: AgentKind
    cidrs: tuple[IPNetwork, ...]


@dataclass(frozen=True, slots=True)
class UserAgentRule:
    """A configured user-agent pattern (searched, not anchored) naming a software agent."""

    name: str
    pattern: re.Pattern[str]


@dataclass(frozen=True, slots=True)
class PolicyRules:
    """Everything a policy file says, validated."""

    networks: tuple[Network, ...] = ()
    user_agent_rules: tuple[UserAgentRule, ...] = ()
    detect_crawlers: bool = True
    show_addresses: bool = False
    key_file: Path | None = None
    retention_days: int | None = None


def read_rules(path: Path, environ: Mapping[str, str] | None = None) -> PolicyRules:
    """The validated rules of a policy file; AccessPolicyError names the file and the key."""
    # Imported here, for the ingest function's cold start: a deployment without a policy file
    # (its defaults, retention from the environment) never parses TOML.
    import tomllib  # noqa: PLC0415

    env = os.environ if environ is None else environ
    try:
        text = read_small_file(path, MAX_POLICY_BYTES).decode("utf-8")
        # The line ends `read_text` gave (universal newlines), as before the read was bounded.
        data = tomllib.loads(text.replace("\r\n", "\n").replace("\r", "\n"))
    except FileNotFoundError:
        raise AccessPolicyError(
            f"access policy {path}: no such file (give an existing TOML file, or unset "
            f"{POLICY_ENV} to use the defaults)"
        ) from None
    except SmallFileError as exc:
        raise AccessPolicyError(f"access policy {path}: {exc.reason}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise AccessPolicyError(f"access policy {path}: cannot read it: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise AccessPolicyError(f"access policy {path}: not valid TOML: {exc}") from None
    return _RulesReader(path, env).read(data)


class _RulesReader:
    """Validates one parsed policy file; every complaint names the file and the key."""

    def __init__(self, path: Path, environ: Mapping[str, str]) -> None:
        self.path = path
        self.environ = environ
        self.names: dict[str, str] = {}
        self.cidrs: dict[IPNetwork, str] = {}

    def error(self, key: str, problem: str) -> AccessPolicyError:
        return AccessPolicyError(f"access policy {self.path}: {key}: {problem}")

    def read(self, data: dict[str, Any]) -> PolicyRules:
        self.known_keys(data, "", _SECTIONS)
        clients = self.table(data, "clients", _CLIENTS_KEYS)
        crawlers = self.table(data, "crawlers", _CRAWLERS_KEYS)
        retention = self.table(data, "retention", _RETENTION_KEYS)
        networks = tuple(
            self.network(f"networks[{i}]", item)
            for i, item in enumerate(self.array(data, "networks", _NETWORK_KEYS, ("name", "cidrs")))
        )
        user_agent_rules = tuple(
            self.user_agent_rule(f"user_agents[{i}]", item)
            for i, item in enumerate(
                self.array(data, "user_agents", _USER_AGENT_KEYS, _USER_AGENT_KEYS)
            )
        )
        key_file = clients.get("key_file")
        return PolicyRules(
            networks=networks,
            user_agent_rules=user_agent_rules,
            detect_crawlers=self.boolean(crawlers, "crawlers.detect", default=True),
            show_addresses=self.boolean(clients, "clients.show_addresses", default=False),
            key_file=None if key_file is None else self.key_file(key_file),
            retention_days=self.retention_days(retention.get("access_event_days")),
        )

    def known_keys(self, table: dict[str, Any], prefix: str, allowed: tuple[str, ...]) -> None:
        for key in table:
            if key not in allowed:
                raise self.error(f"{prefix}{key}", f"unknown key; allowed: {', '.join(allowed)}")

    def table(self, data: dict[str, Any], key: str, allowed: tuple[str, ...]) -> dict[str, Any]:
        table = data.get(key, {})
        if not isinstance(table, dict):
            raise self.error(key, f"must be a table ([{key}])")
        self.known_keys(table, f"{key}.", allowed)
        return table

    def array(
        self, data: dict[str, Any], key: str, allowed: tuple[str, ...], required: tuple[str, ...]
    ) -> list[dict[str, Any]]:
        items = data.get(key, [])
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            raise self.error(key, f"must be an array of tables ([[{key}]])")
        for i, item in enumerate(items):
            self.known_keys(item, f"{key}[{i}].", allowed)
            for needed in required:
                if needed not in item:
                    raise self.error(f"{key}[{i}].{needed}", "missing; it is required")
        return items

    def boolean(self, table: dict[str, Any], key: str, *, default: bool) -> bool:
        value = table.get(key.rpartition(".")[2], default)
        if not isinstance(value, bool):
            raise self.error(key, f"must be true or false, not {value!r}")
        return value

    def name(self, key: str, value: object) -> str:
        if not isinstance(value, str) or not value or value.strip() != value:
            raise self.error(key, f"must be a non-empty string without outer spaces, not {value!r}")
        if len(value) > MAX_NAME_LENGTH or not value.isprintable():
            raise self.error(key, f"must be printable and at most {MAX_NAME_LENGTH} characters")
        if value == UNKNOWN_AGENT.name or value.startswith(RESERVED_PREFIXES):
            raise self.error(
                key,
                f"{value!r} is reserved for names the policy makes itself "
                f"(unknown, {', '.join(p + '...' for p in RESERVED_PREFIXES)})",
            )
        if value in self.names:
            raise self.error(key, f"{value!r} is already the name of {self.names[value]}")
        self.names[value] = key.rpartition(".")[0]
        return value

    def network(self, key: str, item: dict[str, Any]) -> Network:
        name = self.name(f"{key}.name", item["name"])
        kind = item.get("kind", "organization")
        if kind not in _AGENT_KINDS:
            raise self.error(f"{key}.kind", f"must be one of {', '.join(_AGENT_KINDS)}")
        cidrs = item["cidrs"]
        if not isinstance(cidrs, list) or not cidrs:
            raise self.error(f"{key}.cidrs", "must be a non-empty list of CIDR strings")
        return Network(
            name=name,
            kind=kind,
            cidrs=tuple(self.cidr(f"{key}.cidrs[{i}]", text) for i, text in enumerate(cidrs)),
        )

    def cidr(self, key: str, text: object) -> IPNetwork:
        if not isinstance(text, str):
            raise self.error(key, f"must be a string such as '171.64.0.0/14', not {text!r}")
        try:
            cidr = ipaddress.ip_network(text.strip())
        except ValueError as exc:
            raise self.error(
                key,
                f"{text!r} is not a CIDR range ({exc}); write e.g. 171.64.0.0/14 or 2607:f6d0::/32",
            ) from None
        if cidr in self.cidrs:
            raise self.error(
                key, f"{cidr} is already in {self.cidrs[cidr]}: a range names one agent"
            )
        self.cidrs[cidr] = key
        return cidr

    def user_agent_rule(self, key: str, item: dict[str, Any]) -> UserAgentRule:
        name = self.name(f"{key}.name", item["name"])
        pattern = item["pattern"]
        if not isinstance(pattern, str) or not pattern:
            raise self.error(
                f"{key}.pattern", f"must be a non-empty regular expression, not {pattern!r}"
            )
        try:
            compiled = re.compile(pattern)
        except re.error as exc:
            raise self.error(f"{key}.pattern", f"not a regular expression: {exc}") from None
        return UserAgentRule(name=name, pattern=compiled)

    def key_file(self, value: object) -> Path:
        if not isinstance(value, str) or not value.strip():
            raise self.error("clients.key_file", f"must be a file path, not {value!r}")
        if value.startswith("~/"):
            return _home(self.environ) / value[2:]
        # Relative paths are read from the policy file's folder, not the working directory.
        return self.path.parent / value

    def retention_days(self, value: object) -> int | None:
        if value is None:
            return None
        # bool is an int in Python, and `true` is no number of days.
        if type(value) is not int or not 1 <= value <= MAX_RETENTION_DAYS:
            raise self.error(
                "retention.access_event_days",
                f"must be a whole number of days from 1 to {MAX_RETENTION_DAYS}, not {value!r} "
                "(leave it out to keep access events forever)",
            )
        return value


def retention_override(rules: PolicyRules, environ: Mapping[str, str]) -> PolicyRules:
    """`rules` with the retention `$PROV_ACCESS_EVENT_DAYS` sets, if it is set."""
    text = environ.get(RETENTION_ENV)
    if text is None:
        return rules
    value = text.strip()
    if value.lower() == KEEP_FOREVER:
        return replace(rules, retention_days=None)
    # ASCII digits only: int() would also take "+30", "3_0" and other scripts' digits.
    if re.fullmatch(r"[0-9]{1,9}", value) and 1 <= int(value) <= MAX_RETENTION_DAYS:
        return replace(rules, retention_days=int(value))
    raise AccessPolicyError(
        f"{RETENTION_ENV}: must be a whole number of days from 1 to {MAX_RETENTION_DAYS}, or "
        f"{KEEP_FOREVER} to keep access events forever, not {text!r}"
    )


def _home(environ: Mapping[str, str]) -> Path:
    return Path(environ.get("HOME") or os.path.expanduser("~"))


def user_config_dir(environ: Mapping[str, str]) -> Path:
    """$XDG_CONFIG_HOME/sdr-provenance; the XDG spec says to ignore an empty or relative value."""
    base = environ.get("XDG_CONFIG_HOME", "")
    root = Path(base) if os.path.isabs(base) else _home(environ) / ".config"
    return root / CONFIG_DIR_NAME
