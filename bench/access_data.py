"""A synthetic stacks access log for the clf benchmark: Combined Log Format with the duration.

Writes N lines as stacks' front end logs them (reference/sdr-logs.md, section 4): Apache
Combined Log Format with the request's duration in seconds last (Rack's `%0.4f`), file
downloads (`/file/druid:bb123cd4567/thesis.pdf`, some `?download=true`), IIIF image requests
(`/image/iiif/bb123cd4567%2Fpage_0001/full/!400,400/0/default.jpg`, tiles, `info.json`) and the
monitor's `HEAD /`, over 30 days from 2026-03-01 in America/Los_Angeles (so the zone offset
changes on March 8), more by day than by night:

- about 4,000 people (a quarter on IPv6; campus 171.64.0.0/14 and 2607:f6d0::/32, the partner
  198.51.100.0/24, the rest anywhere; a tenth of the campus people logged in, Apache's `%u`),
  each with one browser user agent from a few hundred (Chrome, Edge, Firefox, Safari on
  desktop and mobile, many versions), some far busier than others;
- crawlers from their operators' ranges (Googlebot, Googlebot-Image, bingbot, AhrefsBot,
  YandexBot, SemrushBot, archive.org_bot), an UptimeRobot monitor, scripts (python-requests,
  curl, Wget of several versions);
- 20,000 druids, each with one to eight files, asked for with Zipf-like popularity; statuses
  200, 206 (audio and video ranges), 304, 403, 404, 500, with sizes and durations that go with
  them (a file has one size);
- five bad lines whatever N is, as real logs have: a `"-" 400` request, a TLS handshake sent to
  the HTTP port (escaped by Apache), a line of binary junk.

Deterministic for a seed; 1,000,000 lines take about 10 s to write (not timed by the bench).
Run alone to write a file: `.venv/bin/python bench/access_data.py FILE [--lines N]`.

Imports the demo's user agents, druid letters and content file names (`provenance.cli.demo`)
and the standard library.
"""

from __future__ import annotations

import argparse
import ipaddress
import itertools
import math
import random
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from provenance.cli.demo.vocabulary import (
    AHREFSBOT,
    BINGBOT,
    BROWSER_AGENTS,
    CONTENT_NAMES,
    DRUID_LETTERS,
    FILE_SIZES,
    GOOGLEBOT,
    GOOGLEBOT_IMAGE,
    GOOGLEBOT_SMARTPHONE,
    MONTHS,
    UPTIMEROBOT,
)

TZ = "America/Los_Angeles"
START = datetime(2026, 3, 1, tzinfo=ZoneInfo(TZ))
DAYS = 30
OBJECTS = 20_000
PEOPLE = 4_000
SEED = 20261127
# Shares of the lines by kind of client.
SHARES = {"person": 0.70, "crawler": 0.22, "monitor": 0.03, "script": 0.05}
CRAWLERS: tuple[tuple[str, tuple[str, ...], float], ...] = (
    # user agent, address prefixes, share of the crawlers' lines
    (GOOGLEBOT, ("66.249.66", "66.249.68", "66.249.79"), 0.25),
    (GOOGLEBOT_SMARTPHONE, ("66.249.66", "66.249.68", "66.249.79"), 0.12),
    (GOOGLEBOT_IMAGE, ("66.249.66", "66.249.72"), 0.08),
    (BINGBOT, ("157.55.39", "40.77.167", "207.46.13"), 0.15),
    (AHREFSBOT, ("54.36.148", "54.36.149"), 0.25),
    ("Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)", ("5.255.231",), 0.06),
    (
        "Mozilla/5.0 (compatible; SemrushBot/7~bl; +http://www.semrush.com/bot.html)",
        ("185.191.171",),
        0.06,
    ),
    (
        "Mozilla/5.0 (compatible; archive.org_bot +http://archive.org/details/archive.org_bot)",
        ("207.241.225", "207.241.229"),
        0.03,
    ),
)
SCRIPTS = tuple(
    [f"python-requests/2.{minor}.{patch}" for minor in range(25, 33) for patch in range(3)]
    + [f"curl/{version}" for version in ("7.58.0", "7.68.0", "7.81.0", "8.1.2", "8.5.0")]
    + [f"curl/{version}" for version in ("8.7.1", "8.9.1", "8.11.0")]
    + ["Wget/1.20.3 (linux-gnu)", "Wget/1.21.2", "Wget/1.21.4"]
)
SAFARI = (
    ("15.6", "15_6"),
    ("16.5", "16_5"),
    ("16.6", "16_6"),
    ("17.0", "17_0"),
    ("17.2", "17_2"),
    ("17.4.1", "17_4_1"),
    ("17.5", "17_5"),
    ("17.6", "17_6"),
    ("18.0", "18_0"),
    ("18.1", "18_1"),
)
REFERERS = (
    "https://www.google.com/",
    "https://www.bing.com/",
    "https://duckduckgo.com/",
    "https://searchworks.stanford.edu/view/{n}",
    "https://exhibits.stanford.edu/virtual-tribunals/catalog/{n}",
)
# First octets of the addresses of people "anywhere": public unicast, not the ranges above.
PUBLIC_FIRST_OCTETS = tuple(
    n for n in range(1, 224) if n not in (10, 100, 127, 169, 171, 172, 192, 198, 203)
)


@dataclass(frozen=True, slots=True)
class Client:
    address: str
    agent: str
    kind: str  # person, crawler, monitor or script
    user: str = "-"
    protocol: str = "HTTP/1.1"


@dataclass(frozen=True, slots=True)
class Stats:
    """What was written: enough to describe the input in the benchmark's report."""

    lines: int
    bad_lines: int
    size_bytes: int
    clients: int
    ipv6_clients: int
    agents: int
    druids: int
    files: int


def _ipv6(rng: random.Random, prefix: int) -> str:
    return str(ipaddress.IPv6Address((prefix << 96) | rng.getrandbits(96)))


def _browsers() -> tuple[list[str], list[float]]:
    """A few hundred browser user agents, every template at many versions, and cumulative
    weights making the newest versions the commonest."""
    agents: list[str] = []
    weights: list[float] = []
    for template in BROWSER_AGENTS:
        if "{chrome}" in template:
            versions = [template.format(chrome=v) for v in range(100, 132)]
        elif "{firefox}" in template:
            versions = [template.format(firefox=v) for v in range(100, 134)]
        else:
            versions = [template.format(safari=s, ios=i) for s, i in SAFARI]
        agents += versions
        weights += [1.0 + position**2 for position in range(len(versions))]
    return agents, list(itertools.accumulate(weights))


def _people(rng: random.Random) -> list[Client]:
    browsers, popular = _browsers()
    people = []
    for index in range(PEOPLE):
        where = rng.random()
        ipv6 = index % 4 == 3
        user = "-"
        if where < 0.2:  # campus
            if ipv6:
                address = _ipv6(rng, 0x2607F6D0)
            else:
                address = (
                    f"171.{rng.randrange(64, 68)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
                )
            if rng.random() < 0.1:
                letters = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(6))
                user = letters[: rng.randrange(3, 7)] + str(rng.randrange(10)) * (index % 2)
        elif where < 0.25 and not ipv6:
            address = f"198.51.100.{rng.randrange(1, 255)}"
        elif ipv6:
            address = _ipv6(rng, rng.choice((0x26010000, 0x26001700, 0x2A010E0A, 0x24098000)))
        else:
            address = (
                f"{rng.choice(PUBLIC_FIRST_OCTETS)}.{rng.randrange(256)}."
                f"{rng.randrange(256)}.{rng.randrange(1, 255)}"
            )
        agent = rng.choices(browsers, cum_weights=popular)[0]
        protocol = "HTTP/2.0" if rng.random() < 0.8 else "HTTP/1.1"
        people.append(Client(address, agent, "person", user, protocol))
    return people


def _clients(rng: random.Random) -> tuple[list[Client], list[float]]:
    """Every client, and cumulative weights giving each kind its share of the lines."""
    people = _people(rng)
    busy = [rng.lognormvariate(0, 1.2) for _ in people]
    clients: list[Client] = list(people)
    weights = [SHARES["person"] * b / sum(busy) for b in busy]
    for agent, prefixes, share in CRAWLERS:
        for prefix in prefixes:
            for _ in range(4):
                clients.append(Client(f"{prefix}.{rng.randrange(1, 255)}", agent, "crawler"))
                weights.append(SHARES["crawler"] * share / len(prefixes) / 4)
    for address in ("216.144.248.21", "69.162.124.231", "63.143.42.245"):
        clients.append(Client(address, UPTIMEROBOT, "monitor"))
        weights.append(SHARES["monitor"] / 3)
    for agent in SCRIPTS:
        address = f"171.67.{rng.randrange(256)}.{rng.randrange(1, 255)}"
        clients.append(Client(address, agent, "script"))
        weights.append(SHARES["script"] / len(SCRIPTS))
    return clients, list(itertools.accumulate(weights))


def _objects(rng: random.Random) -> list[tuple[str, list[str], list[str]]]:
    """(bare druid, file names, image ids) for OBJECTS objects."""
    objects = []
    seen: set[str] = set()
    while len(objects) < OBJECTS:
        letters = "".join(rng.choice(DRUID_LETTERS) for _ in range(4))
        bare = f"{letters[:2]}{rng.randrange(1000):03d}{letters[2:]}{rng.randrange(10000):04d}"
        if bare in seen:
            continue
        seen.add(bare)
        files = sorted({rng.choice(CONTENT_NAMES).format(n=n) for n in range(1, rng.randint(2, 9))})
        images = [name.rsplit(".", 1)[0] for name in files if name.endswith((".tif", ".jp2"))]
        objects.append((bare, files, images))
    return objects


def _times(rng: random.Random, count: int) -> list[int]:
    """`count` request times (Unix seconds), sorted; busier by day in the zone than by night."""
    begin = int(START.timestamp())
    hours = DAYS * 24
    weights = []
    for hour in range(hours):
        local = datetime.fromtimestamp(begin + hour * 3600, START.tzinfo)
        weights.append(3.0 if 8 <= local.hour < 18 else 1.5 if 6 <= local.hour < 23 else 0.6)
    chosen = rng.choices(range(hours), cum_weights=list(itertools.accumulate(weights)), k=count)
    return sorted(begin + hour * 3600 + rng.randrange(3600) for hour in chosen)


class _Stamps:
    """Apache's `%t` per Unix second, the zone looked up once a minute."""

    def __init__(self) -> None:
        self.minutes: dict[int, tuple[str, str]] = {}

    def __call__(self, second: int) -> str:
        minute, rest = divmod(second, 60)
        parts = self.minutes.get(minute)
        if parts is None:
            local = datetime.fromtimestamp(minute * 60, START.tzinfo)
            parts = self.minutes[minute] = (
                f"{local.day:02d}/{MONTHS[local.month - 1]}/{local.year}:{local:%H:%M}:",
                f" {local:%z}",
            )
        return f"{parts[0]}{rest:02d}{parts[1]}"


def write_access_log(path: Path, lines: int, *, seed: int = SEED) -> Stats:
    """Write `lines` lines to `path` (see the module docstring); say what they hold."""
    rng = random.Random(seed)
    objects = _objects(rng)
    popularity = list(itertools.accumulate(1 / (rank + 1) for rank in range(len(objects))))
    clients, client_weights = _clients(rng)
    times = _times(rng, lines)
    who = rng.choices(clients, cum_weights=client_weights, k=lines)
    what = rng.choices(objects, cum_weights=popularity, k=lines)
    # Where the bad lines go, and which kind each is.
    bad_at = {lines * k // 6: k for k in range(1, 6)} if lines >= 6 else {}
    stamp = _Stamps()
    sizes: dict[str, int] = {}
    used_clients: set[str] = set()
    used_agents: set[str] = set()
    used_druids: set[str] = set()
    chunk: list[str] = []
    written = 0
    with path.open("wb") as out:
        for index in range(lines):
            second, client = times[index], who[index]
            if index in bad_at:
                chunk.append(_bad_line(rng, bad_at[index], stamp(second)))
            else:
                used_clients.add(client.address)
                used_agents.add(client.agent)
                line, druid = _line(rng, client, what[index], stamp(second), sizes)
                if druid:
                    used_druids.add(druid)
                chunk.append(line)
            if len(chunk) == 10_000 or index == lines - 1:
                data = ("\n".join(chunk) + "\n").encode("utf-8", "surrogateescape")
                out.write(data)
                written += len(data)
                chunk.clear()
    return Stats(
        lines=lines,
        bad_lines=len(bad_at),
        size_bytes=written,
        clients=len(used_clients),
        ipv6_clients=sum(1 for address in used_clients if ":" in address),
        agents=len(used_agents),
        druids=len(used_druids),
        files=len(sizes),
    )


def _line(
    rng: random.Random,
    client: Client,
    obj: tuple[str, list[str], list[str]],
    when: str,
    sizes: dict[str, int],
) -> tuple[str, str]:
    """One request's line, and the druid it asks for ("" for none)."""
    bare, files, images = obj
    kind = client.kind
    referer = "-"
    roll = rng.random()
    if kind == "monitor":
        return (
            f'{client.address} - - [{when}] "HEAD / HTTP/1.1" 200 - "-" "{client.agent}" '
            f"{rng.uniform(0.001, 0.02):.4f}",
            "",
        )
    if kind == "person":
        roll2 = rng.random()
        if roll2 < 0.6:
            referer = f"https://purl.stanford.edu/{bare}"
        elif roll2 < 0.8:
            referer = rng.choice(REFERERS).format(n=rng.randrange(10_000_000, 14_000_000))
    image = images and roll < (0.55 if kind == "person" else 0.3 if kind == "crawler" else 0.0)
    if image:
        base = f"/image/iiif/{bare}%2F{rng.choice(images)}"
        part = rng.random()
        if part < 0.25:
            target, size, took = f"{base}/info.json", 700 + rng.randrange(8) * 60, 0.01
        elif part < 0.7 or kind == "crawler":
            target = f"{base}/full/!400,400/0/default.jpg"
            size, took = rng.randrange(15_000, 60_000), 0.05
        else:
            x, y = rng.randrange(4) * 1024, rng.randrange(4) * 1024
            target = f"{base}/{x},{y},1024,1024/512,/0/default.jpg"
            size, took = rng.randrange(20_000, 150_000), 0.05
        took += rng.uniform(0, 1.0)
        status = 304 if rng.random() < 0.12 else 500 if rng.random() < 0.003 else 200
    else:
        name = rng.choice(files)
        target = f"/file/druid:{bare}/{name}"
        if kind == "person" and rng.random() < 0.15:
            target += "?download=true"
        key = f"{bare}/{name}"
        size = sizes.get(key) or 0
        if not size:
            low, high = FILE_SIZES[name.rsplit(".", 1)[1]]
            size = sizes[key] = int(math.exp(rng.uniform(math.log(low), math.log(high))))
        fail = rng.random()
        if fail < (0.05 if kind == "crawler" else 0.015):
            status = 404
        elif fail < 0.018:
            status = 403  # stanford-only file, not logged in
        elif fail < 0.021:
            status = 500
        elif fail < (0.3 if kind == "script" else 0.1):
            status = 304
        elif name.endswith((".wav", ".mp4")) and rng.random() < 0.6:
            status, size = 206, rng.randrange(65_536, 8 * 1024**2)
        else:
            status = 200
        took = rng.uniform(0.005, 0.05)
        if status in (200, 206):
            took += size / rng.uniform(2e6, 60e6)
    if status == 304:
        sent = "-"
    elif status >= 400:
        sent = str(rng.randrange(1_300, 1_700))
    else:
        sent = str(size)
    user = client.user if target.startswith("/file/") else "-"
    return (
        f'{client.address} - {user} [{when}] "GET {target} {client.protocol}" {status} {sent} '
        f'"{referer}" "{client.agent}" {took:.4f}',
        bare,
    )


def _bad_line(rng: random.Random, number: int, when: str) -> str:
    """The `number`th bad line: an empty request, a TLS handshake, binary junk, in turn."""
    kind = number % 3
    if kind == 1:
        return f'203.0.113.{rng.randrange(1, 255)} - - [{when}] "-" 400 - "-" "-" 0.0000'
    if kind == 2:
        hello = "".join(f"\\x{rng.randrange(256):02x}" for _ in range(24))
        return (
            f"192.0.2.{rng.randrange(1, 255)} - - [{when}] "
            f'"\\x16\\x03\\x01{hello}" 400 226 "-" "-" 0.0011'
        )
    junk = bytes([rng.randrange(0x80, 0xC0)] + [rng.randrange(14, 256) for _ in range(60)])
    return junk.decode("utf-8", "surrogateescape")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    print(write_access_log(args.file, args.lines, seed=args.seed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
