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
unless the configuration asks for raw addresses. The rules come from a TOML file
(`provenance.access.rules`), the key from `provenance.access.pseudonym_key`, and the matching of
addresses, networks and user agents is `provenance.access.agents`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

from provenance.access.agents import (
    NetworkTable,
    crawler_name,
    detector_versions,
    normalise_address,
)
from provenance.access.pseudonym_key import MIN_KEY_LENGTH, pseudonym_key
from provenance.access.rules import (
    POLICY_ENV,
    POLICY_FILE_NAME,
    PSEUDONYM_PREFIX,
    UNKNOWN_AGENT,
    AccessPolicyError,
    PolicyRules,
    read_rules,
    retention_override,
    user_config_dir,
)
from provenance.domain.events import AgentRef

PSEUDONYM_HEX_CHARS = 12
# A user, client or user agent logged as "-" is one the log did not have.
ABSENT = frozenset({"", "-"})


@dataclass(frozen=True, slots=True)
class Resolution:
    """The policy's answer for one request: who made it, and how reports name its client."""

    agent: AgentRef
    client_id: str | None
    # The agent as a stored event holds it (made once per cached answer, not per request).
    agent_data: dict[str, Any] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "agent_data", self.agent.model_dump(mode="json"))


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
        self._networks = NetworkTable(rules.networks)
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
        config_dir = user_config_dir(env)
        if path is None and env.get(POLICY_ENV):
            path = Path(env[POLICY_ENV])
        elif path is None and user_config and (config_dir / POLICY_FILE_NAME).exists():
            path = config_dir / POLICY_FILE_NAME
        rules = retention_override(PolicyRules() if path is None else read_rules(path, env), env)
        return cls(
            rules,
            lambda: pseudonym_key(rules, env, config_dir, allow_default_key=allow_default_key),
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
            "detectors": detector_versions() if rules.detect_crawlers else None,
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
