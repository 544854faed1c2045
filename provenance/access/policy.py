"""The access policy: who made a web request, how reports name its client, when it may expire.

Ingest asks the policy about every `ServiceAccessed` event (`AccessPolicy.resolve`) and sets
the event's `agent` and `client_id` from the answer, and its expiry from `expires_at`.
The agent is decided by the first rule that applies, in this order:

1. an authenticated user or token subject (`user:<name>`, a person), when the log has one;
2. a named network: the client address in a configured CIDR range (the most specific range
   wins), e.g. a campus or a known partner;
3. a user-agent rule: first the configured patterns (a site's own monitor), then crawlers and
   monitors recognised by maintained libraries (`crawler:<name>`): crawlerdetect decides,
   ua-parser names the ones it knows as spiders;
4. otherwise the client itself (`client:<client_id>`), or `unknown` without a client.

Client addresses are personal data, so `client_id` is a keyed pseudonym (`anon:` + HMAC-SHA256)
unless the configuration asks for raw addresses. The key comes from `PROV_PSEUDONYM_KEY`, a
configured key file, or a key file made on first use (unless the caller forbids that: where
that file would not be shared, as in a Lambda container, a key must be given).
The configuration is a TOML file (`docs/access-policy.example.toml` explains every key); a
missing default file means the built-in defaults. `PROV_ACCESS_EVENT_DAYS`, when set,
overrides the file's `[retention] access_event_days`: a deployment sets expiry without a file.

Imports `provenance.domain.errors`, `provenance.domain.events`, `provenance.files.output_file` (the
key file it makes), `provenance.files.small_file` (the files it reads: regular files only, with a
bound) and the standard library; crawlerdetect and ua-parser are imported on the first user-agent
check only, so that loading stays cheap.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import cached_property, lru_cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, get_args

from provenance.domain.errors import ProvenanceError
from provenance.domain.events import AgentKind, AgentRef
from provenance.files.small_file import SmallFileError, read_small_file

POLICY_ENV = "PROV_ACCESS_POLICY"
KEY_ENV = "PROV_PSEUDONYM_KEY"
RETENTION_ENV = "PROV_ACCESS_EVENT_DAYS"
# The value of RETENTION_ENV that keeps access events forever.
KEEP_FOREVER = "never"
CONFIG_DIR_NAME = "sdr-provenance"
POLICY_FILE_NAME = "access-policy.toml"
KEY_FILE_NAME = "pseudonym.key"
MIN_KEY_LENGTH = 16
# Keys are a few dozen bytes: a larger "key file" is some other file, named by mistake.
MAX_KEY_BYTES = 4096
# Policies are a few KiB: the bound keeps a wrong name (a log, a disk image) out of memory.
MAX_POLICY_BYTES = 1024 * 1024
NEW_KEY_BYTES = 32
PSEUDONYM_PREFIX = "anon:"
PSEUDONYM_HEX_CHARS = 12
# Longer retention would overflow datetime arithmetic; leaving the key out keeps events forever.
MAX_RETENTION_DAYS = 36_525
MAX_NAME_LENGTH = 100
MAX_CRAWLER_NAME_LENGTH = 64

UNKNOWN_AGENT = AgentRef(name="unknown", kind="hardware")
# Agent names the policy makes itself; configured names must not look like them.
RESERVED_PREFIXES = ("user:", "client:", "crawler:", PSEUDONYM_PREFIX)
# A user, client or user agent logged as "-" is one the log did not have.
ABSENT = frozenset({"", "-"})

_AGENT_KINDS: tuple[str, ...] = get_args(AgentKind)
_SECTIONS = ("clients", "crawlers", "networks", "retention", "user_agents")
_CLIENTS_KEYS = ("key_file", "show_addresses")
_CRAWLERS_KEYS = ("detect",)
_NETWORK_KEYS = ("cidrs", "kind", "name")
_RETENTION_KEYS = ("access_event_days",)
_USER_AGENT_KEYS = ("name", "pattern")
_DETECTOR_PACKAGES = ("crawlerdetect", "ua-parser", "ua-parser-builtins")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class AccessPolicyError(ProvenanceError):
    """An access policy that cannot be used: a bad file, key or setting (one line, says why)."""


class MissingKeyError(AccessPolicyError):
    """Pseudonyms need a key, none is configured, and making one was not allowed."""


@dataclass(frozen=True, slots=True)
class Resolution:
    """The policy's answer for one request: who made it, and how reports name its client."""

    agent: AgentRef
    client_id: str | None


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


class AccessPolicy:
    """Decides `agent`, `client_id` and the expiry of each access event (see the module doc)."""

    def __init__(self, rules: PolicyRules, key_source: Callable[[], bytes]) -> None:
        self.rules = rules
        self.retention_days = rules.retention_days
        self.show_addresses = rules.show_addresses
        self._key_source = key_source
        self._mac: hmac.HMAC | None = None
        # Shown addresses need no key: don't create a key file nobody will use.
        if not rules.show_addresses:
            self._mac = hmac.new(key_source(), digestmod=hashlib.sha256)
        self._networks = _NetworkTable(rules.networks)
        self._network_agents = {
            network.name: AgentRef(name=network.name, kind=network.kind)
            for network in rules.networks
        }
        self._user_agent_agents = tuple(
            (rule.pattern, AgentRef(name=rule.name, kind="software"))
            for rule in rules.user_agent_rules
        )
        # Requests repeat (client, user, user agent) a lot, and one client often changes only
        # its user agent: two bounded caches cover both.
        self._resolve_cached = lru_cache(maxsize=16_384)(self._resolve)
        self._client_cached = lru_cache(maxsize=16_384)(self._client)

    @classmethod
    def load(
        cls,
        path: Path | None = None,
        *,
        environ: Mapping[str, str] | None = None,
        allow_default_key: bool = True,
        user_config: bool = True,
    ) -> AccessPolicy:
        """The policy in `path`; without one `$PROV_ACCESS_POLICY`, then the user's config file
        (`$XDG_CONFIG_HOME/sdr-provenance/access-policy.toml`) if it exists, else the defaults.

        A path that was asked for (argument or environment) and does not exist is an error.
        `user_config=False` never reads the user's config file: a deployment's policy is the
        one given, not the rules of whoever runs the command.
        `$PROV_ACCESS_EVENT_DAYS` (days, or `never`) overrides the retention of any of them.
        `allow_default_key=False` never uses the default key file (one per machine, made on
        first use): pseudonyms that need a key then need `$PROV_PSEUDONYM_KEY` or
        `clients.key_file`, else `MissingKeyError`.
        """
        env = os.environ if environ is None else environ
        config_dir = _config_dir(env)
        if path is None and env.get(POLICY_ENV):
            path = Path(env[POLICY_ENV])
        elif path is None and user_config and (config_dir / POLICY_FILE_NAME).exists():
            path = config_dir / POLICY_FILE_NAME
        rules = _retention_override(PolicyRules() if path is None else read_rules(path, env), env)
        return cls(
            rules,
            lambda: _pseudonym_key(rules, env, config_dir, allow_default_key=allow_default_key),
        )

    @classmethod
    def default(cls, *, key: bytes) -> AccessPolicy:
        """The built-in defaults with an explicit pseudonym key (tests, the demo)."""
        if len(key) < MIN_KEY_LENGTH:
            raise AccessPolicyError(
                f"pseudonym key is {len(key)} bytes: give at least {MIN_KEY_LENGTH}"
            )
        return cls(PolicyRules(), lambda: key)

    def resolve(self, client: str | None, user: str | None, user_agent: str | None) -> Resolution:
        """Who made a request, and its `client_id`, from what the log says (cached)."""
        return self._resolve_cached(client, user, user_agent)

    def pseudonym(self, address: str) -> str:
        """`anon:` + 12 hex digits of HMAC-SHA256(key, the normalised address)."""
        return self._pseudonym(normalise_address(address)[0])

    def _pseudonym(self, normalised: str) -> str:
        return PSEUDONYM_PREFIX + self._keyed_digest(normalised.encode())

    def _keyed_digest(self, data: bytes) -> str:
        if self._mac is None:
            self._mac = hmac.new(self._key_source(), digestmod=hashlib.sha256)
        # Copying the keyed state skips re-hashing the key for every address.
        mac = self._mac.copy()
        mac.update(data)
        return mac.hexdigest()[:PSEUDONYM_HEX_CHARS]

    def expires_at(self, occurred_at: datetime) -> datetime | None:
        """When an access event that occurred at `occurred_at` may be deleted; None = never.

        The start of its UTC hour plus the retention days: every event of one hour expires at
        the same instant, so an hour is either fully present or fully expired and hourly counts
        rebuilt from the remaining events are never partial.
        """
        if self.retention_days is None:
            return None
        if occurred_at.tzinfo is None:
            raise ValueError("expires_at needs a timezone-aware time")
        hour = occurred_at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        try:
            return hour + timedelta(days=self.retention_days)
        except OverflowError:
            # Past the calendar's end (year 9999): a time no clock will reach, so never.
            return None

    @cached_property
    def fingerprint(self) -> str:
        """16 hex digits that change when any answer of the policy may change.

        Covers the rules, the key's identity (a one-way digest, never the key), and the
        versions of the crawler-detection libraries, whose lists change what they recognise.
        """
        rules = self.rules
        identity = {
            "networks": sorted(
                (n.name, n.kind, sorted(str(cidr) for cidr in n.cidrs)) for n in rules.networks
            ),
            "user_agents": [(r.name, r.pattern.pattern) for r in rules.user_agent_rules],
            "detectors": _detector_versions() if rules.detect_crawlers else None,
            "show_addresses": rules.show_addresses,
            "key": None if rules.show_addresses else self._keyed_digest(b"key identity"),
            "retention_days": rules.retention_days,
        }
        canonical = json.dumps(identity, sort_keys=True).encode()
        return hashlib.sha256(canonical).hexdigest()[:16]

    def _resolve(self, client: str | None, user: str | None, user_agent: str | None) -> Resolution:
        known = None if client is None or client.strip() in ABSENT else self._client_cached(client)
        client_id = None if known is None else known[0]
        if user is not None and user.strip() not in ABSENT:
            agent = AgentRef(name=f"user:{user.strip()}", kind="person")
        elif known is not None and known[1] is not None:
            agent = known[1]
        elif (software := self._software(user_agent)) is not None:
            agent = software
        elif client_id is not None:
            agent = AgentRef(name=f"client:{client_id}", kind="hardware")
        else:
            agent = UNKNOWN_AGENT
        return Resolution(agent=agent, client_id=client_id)

    def _client(self, client: str) -> tuple[str, AgentRef | None]:
        """(client_id, the named network it is in, if any) of a logged client."""
        address, ip = normalise_address(client)
        client_id = address if self.show_addresses else self._pseudonym(address)
        name = None if ip is None else self._networks.lookup(ip)
        return client_id, None if name is None else self._network_agents[name]

    def _software(self, user_agent: str | None) -> AgentRef | None:
        """The agent a user agent names: a configured rule, else a recognised crawler."""
        if user_agent is None or user_agent.strip() in ABSENT:
            return None
        for pattern, agent in self._user_agent_agents:
            if pattern.search(user_agent):
                return agent
        if not self.rules.detect_crawlers:
            return None
        name = crawler_name(user_agent)
        return None if name is None else AgentRef(name=f"crawler:{name}", kind="software")


def normalise_address(client: str) -> tuple[str, IPAddress | None]:
    """(the address in one canonical spelling, its IP or None for a hostname).

    IPv6 compressed and lower case; an IPv4-mapped IPv6 address is its IPv4 address, so one
    host gets one pseudonym and matches IPv4 ranges. Hostnames: lower case, no trailing dot.
    """
    text = client.strip()
    try:
        ip: IPAddress = ipaddress.ip_address(text)
    except ValueError:
        return text.lower().rstrip("."), None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return str(ip), ip


class _NetworkTable:
    """Longest-prefix match of an address against the configured ranges.

    Per IP version, one dict per prefix length from network number (the address shifted right
    by the host bits) to network name, probed longest prefix first: a few dict look-ups per
    address however many ranges are configured.
    """

    def __init__(self, networks: tuple[Network, ...]) -> None:
        tables: dict[int, dict[int, dict[int, str]]] = {4: {}, 6: {}}
        for network in networks:
            for cidr in network.cidrs:
                by_prefix = tables[cidr.version].setdefault(cidr.prefixlen, {})
                by_prefix[int(cidr.network_address) >> (cidr.max_prefixlen - cidr.prefixlen)] = (
                    network.name
                )
        bits = {4: 32, 6: 128}
        # (host bits to shift away, {network number: name}), longest prefix first.
        self._tables = {
            version: [(bits[version] - prefix, table[prefix]) for prefix in sorted(table)[::-1]]
            for version, table in tables.items()
        }

    def lookup(self, ip: IPAddress) -> str | None:
        value = int(ip)
        for host_bits, networks in self._tables[ip.version]:
            name = networks.get(value >> host_bits)
            if name is not None:
                return name
        return None


# A matched fragment's trailing "/", version number and separators ("npm/", "Dart/2").
_VERSION_TAIL = re.compile(r"[\s/;:]+v?[\d.]*\s*\Z")


@lru_cache(maxsize=4096)
def crawler_name(user_agent: str) -> str | None:
    """A short readable name if the user agent is a crawler, monitor or scripted client.

    crawlerdetect decides: one precompiled pattern over a maintained list that includes
    monitors and HTTP tools (curl, python-requests), with browsers' tokens excluded first.
    Its match is only a fragment of the user agent (`Yandex`, `npm/`, `cURL` in PycURL), so
    ua-parser's family names it where ua-parser is sure of it: the device is a Spider
    (`YandexBot`, `AhrefsBot`), or the user agent starts with the family (`PycURL/7.45`).
    Otherwise the match is the name, without a trailing version (`Dart/2` -> `Dart`). A family
    found elsewhere in the string is not used: an unknown bot imitating Chrome is not Chrome.
    ua-parser is slower per string, which is why it only sees user agents already judged.
    """
    # Lazy imports (noqa): loading a policy must not pay for the detectors' pattern lists.
    from crawlerdetect import CrawlerDetect  # type: ignore[import-untyped]  # noqa: PLC0415

    # One detector per call: `is_crawler` keeps its match on the instance.
    detector = CrawlerDetect()
    if not detector.is_crawler(user_agent):
        return None
    import ua_parser  # noqa: PLC0415

    parsed = ua_parser.parser(user_agent, ua_parser.Domain.USER_AGENT | ua_parser.Domain.DEVICE)
    family = "Other" if parsed.user_agent is None else parsed.user_agent.family
    spider = parsed.device is not None and parsed.device.family == "Spider"
    if family != "Other" and (spider or user_agent.lower().startswith(family.lower())):
        return family[:MAX_CRAWLER_NAME_LENGTH]
    match: str = detector.get_matches() or ""
    name = " ".join(_VERSION_TAIL.sub("", match).split())
    return name[:MAX_CRAWLER_NAME_LENGTH] or "unknown"


def _detector_versions() -> dict[str, str]:
    versions = {}
    for package in _DETECTOR_PACKAGES:
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            versions[package] = "missing"
    return versions


# -- configuration -------------------------------------------------------------------------


def read_rules(path: Path, environ: Mapping[str, str] | None = None) -> PolicyRules:
    """The validated rules of a policy file; AccessPolicyError names the file and the key."""
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


def _retention_override(rules: PolicyRules, environ: Mapping[str, str]) -> PolicyRules:
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


# -- the pseudonym key ---------------------------------------------------------------------


def _pseudonym_key(
    rules: PolicyRules, environ: Mapping[str, str], config_dir: Path, *, allow_default_key: bool
) -> bytes:
    """$PROV_PSEUDONYM_KEY, else the configured key file, else (if allowed) the default one."""
    from_env = environ.get(KEY_ENV)
    if from_env is not None:
        if len(from_env) < MIN_KEY_LENGTH:
            raise AccessPolicyError(
                f"{KEY_ENV} is {len(from_env)} characters long: give at least {MIN_KEY_LENGTH} "
                "(for instance the output of `openssl rand -hex 32`)"
            )
        return from_env.encode()
    if rules.key_file is not None:
        try:
            return _read_key(rules.key_file, "clients.key_file")
        except FileNotFoundError:
            raise AccessPolicyError(
                f"clients.key_file {rules.key_file}: no such file (make one with "
                f"`head -c 32 /dev/urandom > {rules.key_file}; chmod 600 {rules.key_file}`)"
            ) from None
    if not allow_default_key:
        raise MissingKeyError(
            f"no pseudonym key: set {KEY_ENV} (at least {MIN_KEY_LENGTH} characters) or "
            "clients.key_file in the access policy; a key made here would not be shared"
        )
    return _default_key(config_dir / KEY_FILE_NAME)


def _read_key(path: Path, what: str) -> bytes:
    """The key bytes, as stored (a random key may end in a newline byte: nothing is stripped)."""
    try:
        key = read_small_file(path, MAX_KEY_BYTES)
    except SmallFileError as exc:
        raise AccessPolicyError(f"{what} {path}: {exc.reason}") from None
    if len(key) < MIN_KEY_LENGTH:
        raise AccessPolicyError(
            f"{what} {path}: the key is {len(key)} bytes, give at least {MIN_KEY_LENGTH}"
        )
    return key


def _default_key(path: Path) -> bytes:
    """The default key file's key, made with 32 random bytes if there is none.

    Made by `output_file.write_new`: private (0600), complete before anyone can read it, and
    never replacing a key another process made first (everyone then uses that one).
    """
    # Imported here: only a machine without a key makes one, never the ingest Lambda (whose
    # cold start would pay for it).
    from provenance.files.output_file import OutputError, write_new  # noqa: PLC0415

    what = "pseudonym key file"
    try:
        return _read_key(path, what)
    except FileNotFoundError:
        pass
    try:
        write_new(path, os.urandom(NEW_KEY_BYTES), private=True)
    except OutputError as exc:
        raise AccessPolicyError(
            f"{what} {path}: cannot create it ({exc.reason}); set {KEY_ENV} or "
            "clients.key_file in the access policy"
        ) from None
    return _read_key(path, what)


def _home(environ: Mapping[str, str]) -> Path:
    return Path(environ.get("HOME") or os.path.expanduser("~"))


def _config_dir(environ: Mapping[str, str]) -> Path:
    """$XDG_CONFIG_HOME/sdr-provenance; the XDG spec says to ignore an empty or relative value."""
    base = environ.get("XDG_CONFIG_HOME", "")
    root = Path(base) if os.path.isabs(base) else _home(environ) / ".config"
    return root / CONFIG_DIR_NAME
