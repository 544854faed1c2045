"""The demo world's web access logs: who the clients are, when and what they ask for, and the
request lines of stacks (Combined), purl (Rails) and the SDR API (lograge)."""

from __future__ import annotations

import ipaddress
import itertools
import math
import random
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from provenance.cli.demo.log_formats import Log
from provenance.cli.demo.model import Object, tree
from provenance.cli.demo.vocabulary import (
    DRUID_LETTERS,
    FILE_SIZES,
    HOUR,
    SEARCH_REFERERS,
    SECOND,
    STATUS_TEXT,
    SUNET_IDS,
    browser_agent,
)

if TYPE_CHECKING:
    from provenance.cli.demo.world_base import WorldBase


# --- web access: the requests ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Client:
    """Who sends requests: the address as logged, the user agent, and when they are active."""

    address: str
    agent: str
    hours: str  # the hourly profile their requests follow: office, daytime or flat
    protocol: str = "HTTP/1.1"
    user: str = "-"  # a campus user logged in to stacks: Apache's `%u`


class AccessLogs:
    """The three access logs, the hours, objects and people requests are drawn from, and each
    service's request lines."""

    def __init__(self, world: WorldBase) -> None:
        self.world = world
        self.rng = world.rng
        self.clock = world.clock
        self.stacks = Log("access/stacks_access.log", "clf", "stacks")
        self.purl = Log("access/purl.log", "rails", "purl")
        self.api = Log("access/sdr-api.log", "lograge", "sdr-api")
        self.hours: list[int] = []
        self.profiles: dict[str, list[float]] = {}
        self.sundays: list[int] = []  # hour indexes of Sunday 01:00, local time
        self.nights: list[int] = []  # hour indexes of 03:00, local time
        self.popularity: list[float] = []
        self.people: list[Client] = []
        self.activity: list[float] = []
        self.sizes: dict[str, int] = {}

    # --- when, what, who ---------------------------------------------------------------------

    def plan_hours(self) -> None:
        """Hourly weights over the whole span, in local time: offices are busy on weekdays
        from 9 to 5, people at large from morning to late evening; crawlers are flat."""
        world = self.world
        office: list[float] = []
        daytime: list[float] = []
        for index in range(world.span // HOUR):
            local = datetime.fromtimestamp((world.begin + index * HOUR) // SECOND, self.clock.zone)
            hour, weekend = local.hour, local.weekday() >= 5
            office.append(
                (10.0 if 9 <= hour < 17 else 3.0 if 7 <= hour < 20 else 0.3)
                * (0.15 if weekend else 1.0)
            )
            daytime.append(
                (6.0 if 9 <= hour < 18 else 4.0 if 7 <= hour < 23 else 0.8)
                * (0.7 if weekend else 1.0)
            )
            if hour == 1 and local.weekday() == 6:
                self.sundays.append(index)
            if hour == 3:
                self.nights.append(index)
        self.hours = list(range(len(office)))
        self.profiles = {
            "office": list(itertools.accumulate(office)),
            "daytime": list(itertools.accumulate(daytime)),
            "flat": list(itertools.accumulate([1.0] * len(office))),
        }

    def when(self, profile: str) -> int:
        index = self.rng.choices(self.hours, cum_weights=self.profiles[profile])[0]
        return self.world.begin + index * HOUR + self.rng.randrange(HOUR)

    def plan_popularity(self) -> None:
        """Zipf-like: a few objects get most requests; the featured object is the most asked."""
        ranks = list(range(1, len(self.world.objects)))
        self.rng.shuffle(ranks)
        weights = [1.0] + [1 / (rank + 1) ** 0.9 for rank in ranks]
        self.popularity = list(itertools.accumulate(weights))

    def pick(self, t: int) -> Object | None:
        """A popular object published by `t`; None if a few picks were not published yet."""
        for _ in range(4):
            obj = self.rng.choices(self.world.objects, cum_weights=self.popularity)[0]
            if obj.versions and obj.versions[0].done <= t:
                return obj
        return None

    def plan_people(self) -> None:
        """Campus (a quarter on IPv6, some logged in), the partner, individuals anywhere."""
        rng = self.rng
        for index in range(16):
            address = _ipv6(rng, 0x2607F6D0) if index % 4 == 3 else campus_ipv4(rng)
            user = SUNET_IDS[index // 2] if index % 2 == 0 and index // 2 < len(SUNET_IDS) else "-"
            self.people.append(self.browser(address, "office", user))
        for _ in range(5):
            self.people.append(self.browser(f"198.51.100.{rng.randrange(1, 255)}", "office"))
        for index in range(36):
            if index % 4 == 3:
                address = _ipv6(rng, 0x20010DB8)
            else:
                address = f"{rng.choice(('192.0.2', '203.0.113'))}.{rng.randrange(1, 255)}"
            self.people.append(self.browser(address, "daytime"))
        # Some people come back far more often than others.
        self.activity = list(
            itertools.accumulate(rng.lognormvariate(0, 1) for _ in range(len(self.people)))
        )

    def browser(self, address: str, hours: str, user: str = "-") -> Client:
        protocol = "HTTP/2.0" if self.rng.random() < 0.8 else "HTTP/1.1"
        return Client(address, browser_agent(self.rng), hours, protocol, user)

    def status(self, *, not_modified: float = 0.0, missing: float = 0.0, error: float = 0.0) -> int:
        """200, or with the given chances 304, 404 or 500."""
        roll = self.rng.random()
        if roll < error:
            return 500
        if roll < error + missing:
            return 404
        if roll < error + missing + not_modified:
            return 304
        return 200

    def referer(self) -> str:
        return self.rng.choice(SEARCH_REFERERS).format(n=self.rng.randrange(10_000_000, 14_000_000))

    def file_size(self, bare: str, name: str) -> int:
        """A content file's size: drawn once, the same at every download."""
        key = f"{bare}/{name}"
        size = self.sizes.get(key)
        if size is None:
            low, high = FILE_SIZES[name.rsplit(".", 1)[1]]
            size = self.sizes[key] = int(math.exp(self.rng.uniform(math.log(low), math.log(high))))
        return size

    # --- the three logs ----------------------------------------------------------------------

    def stacks_request(
        self,
        client: Client,
        t: int,
        method: str,
        target: str,
        status: int,
        size: int,
        *,
        referer: str = "-",
        took: int,
        user: str = "-",
    ) -> int:
        """One Combined Log Format line with the duration in seconds; returns when it ended.

        Apache writes the line when the response is done but logs when the request came, so
        a long download's line comes after shorter requests that started later.
        """
        if method == "HEAD" or status == 304:
            sent = "-"
        elif status >= 400:
            sent = str(self.rng.randrange(1_300, 1_700))  # the error page
        else:
            sent = str(size)
        self.stacks.add(
            t + took,
            f"{client.address} - {user} [{self.clock.apache(t)}] "
            f'"{method} {target} {client.protocol}" {status} {sent} "{referer}" '
            f'"{client.agent}" {took / SECOND:.4f}',
        )
        return t + took

    def purl_line(self, t: int, severity: str, rid: str, message: str) -> None:
        self.purl.add(t, f"[{self.clock.rails(t)}] [{severity}] [{rid}] {message}")

    def purl_request(
        self, address: str, t: int, path: str, route: str, response: str, status: int
    ) -> int:
        """One request in purl's default Rails log, its lines tagged with the request id; lines
        of concurrent requests interleave. Returns when it completed."""
        world, rng = self.world, self.rng
        rid = world.request_id()
        bare = path[1:].partition("/")[0].partition(".")[0]
        self.purl_line(
            t, "INFO", rid, f'Started GET "{path}" for {address} at {self.clock.ruby_time(t)}'
        )
        at = t + world.secs(0.0005, 0.003)
        self.purl_line(at, "INFO", rid, f"Processing by {route} as {response}")
        self.purl_line(at, "INFO", rid, f'  Parameters: {{"id"=>"{bare}"}}')
        if status == 200:
            took = world.secs(0.05, 0.4) if response == "HTML" else world.secs(0.01, 0.15)
        else:
            took = world.secs(0.002, 0.03)
        end = at + took
        ms = (end - t) / 1000
        allocations = rng.randrange(2_000, 9_000) + int(ms * rng.uniform(50, 150))
        if status == 200 and response == "HTML":
            self.purl_line(
                end - took // 10,
                "INFO",
                rid,
                f"  Rendered layout layouts/application.html.erb (Duration: {ms * 0.8:.1f}ms | "
                f"Allocations: {allocations * 3 // 4})",
            )
        if status in (304, 500):
            detail = f"(ActiveRecord: 0.0ms | Allocations: {allocations})"
        else:
            detail = (
                f"(Views: {ms * rng.uniform(0.3, 0.9):.1f}ms | ActiveRecord: 0.0ms | "
                f"Allocations: {allocations})"
            )
        self.purl_line(
            end, "INFO", rid, f"Completed {status} {STATUS_TEXT[status]} in {round(ms)}ms {detail}"
        )
        if status == 500:
            # Rails' DebugExceptions logs the error after the request, one tagged line each.
            for message in (
                "  ",
                f"Errno::ENOENT (No such file or directory @ rb_sysopen - "
                f"/purl/document_cache/{tree(bare).rsplit('/', 1)[0]}/public):",
                "  ",
                "app/models/purl_resource.rb:58:in 'PurlResource#public_xml_body'",
                "app/controllers/purl_controller.rb:25:in 'PurlController#show'",
            ):
                self.purl_line(end, "FATAL", rid, message)
        return end

    def api_request(
        self,
        t: int,
        address: str,
        method: str,
        path: str,
        route: str,
        status: int,
        user: str | None = None,
    ) -> None:
        """One lograge line in the SDR API's Rails log, written when the request is done.
        Requests outside the simulated span are not logged."""
        world = self.world
        if not world.begin <= t < world.end:
            return
        controller, _, action = route.partition("#")
        took = world.secs(0.001, 0.005) if status == 401 else world.secs(0.008, 0.4)
        duration = took / 1000
        view = duration * self.rng.uniform(0.05, 0.3)
        db = 0.0 if status == 401 else duration * self.rng.uniform(0.1, 0.6)
        text = (
            f"method={method} path={path} format=json controller={controller} "
            f"action={action} status={status} duration={duration:.2f} view={view:.2f} "
            f"db={db:.2f} remote_ip={address}"
        )
        if user is not None:
            text += f" user={user}"
        end = t + took
        self.api.add(end, f"[{self.clock.rails(end)}] [INFO] [{world.request_id()}] {text}")


def campus_ipv4(rng: random.Random) -> str:
    """An address in 171.64.0.0/14."""
    return f"171.{rng.randrange(64, 68)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"


def _ipv6(rng: random.Random, prefix: int) -> str:
    """An address in `prefix`::/32: half with a random interface id, half with a short one."""
    subnet = rng.getrandbits(32)
    interface = rng.getrandbits(64) if rng.random() < 0.5 else rng.randrange(1, 0x10000)
    return str(ipaddress.IPv6Address((prefix << 96) | (subnet << 64) | interface))


def image_ids(obj: Object) -> list[str]:
    """The IIIF image ids of an object's images: their file names without the extension."""
    return [name.rsplit(".", 1)[0] for name in obj.files if name.endswith((".tif", ".jp2"))]


def random_bare(rng: random.Random) -> str:
    """A well-formed bare druid of no object in the world: a stale or mistyped link."""
    letters = "".join(rng.choice(DRUID_LETTERS) for _ in range(4))
    return f"{letters[:2]}{rng.randrange(1000):03d}{letters[2:]}{rng.randrange(10000):04d}"
