"""The demo world's web traffic: people's visits, crawlers, the uptime monitor, scripts, calls
to the SDR API, and the bad lines of the access logs."""

from __future__ import annotations

from provenance.cli.demo.access_logs import Client, campus_ipv4, image_ids, random_bare
from provenance.cli.demo.people import People
from provenance.cli.demo.vocabulary import (
    AHREFSBOT,
    ARGO_RATE,
    BINGBOT,
    BINGBOT_RATE,
    DAY,
    GOOGLEBOT,
    GOOGLEBOT_IMAGE,
    GOOGLEBOT_RATE,
    GOOGLEBOT_SMARTPHONE,
    HARVEST_SHARE,
    HOUR,
    MINUTE,
    SECOND,
    UNAUTHENTICATED_RATE,
    UPTIMEROBOT,
    VISITS_RATE,
)


class Traffic(People):
    """The world's web traffic: requests to stacks, purl and the SDR API, each written in its
    service's log layout. An object is asked for once published (its first version ingested),
    popular objects far more often than others; people mostly in working hours."""

    def run(self) -> None:
        world, rng = self.world, self.rng
        self.plan_hours()
        self.plan_popularity()
        self.plan_people()
        load = len(world.objects) * world.span / DAY
        for _ in range(round(VISITS_RATE * load)):
            person = rng.choices(self.people, cum_weights=self.activity)[0]
            self.visit(person, self.when(person.hours))
        self.crawlers(load)
        self.monitor()
        curl = Client(f"203.0.113.{rng.randrange(1, 255)}", "curl/8.5.0", "daytime")
        self.scripts(load, curl)
        self.api_calls(load, curl)
        self.bad_lines()
        self.cut_off()

    def crawlers(self, load: float) -> None:
        """Googlebot and bingbot around the clock; AhrefsBot in bursts every few days."""
        rng, world = self.rng, self.world
        google = [
            Client(f"66.249.{rng.choice((66, 68, 79))}.{rng.randrange(1, 255)}", agent, "flat")
            for agent in (GOOGLEBOT, GOOGLEBOT, GOOGLEBOT_SMARTPHONE)
        ]
        bing = [
            Client(f"{prefix}.{rng.randrange(1, 255)}", BINGBOT, "flat")
            for prefix in ("157.55.39", "40.77.167")
        ]
        for bots, rate in ((google, GOOGLEBOT_RATE), (bing, BINGBOT_RATE)):
            for _ in range(round(rate * load)):
                self.crawl(rng.choice(bots), self.when("flat"))
        images = Client(f"66.249.66.{rng.randrange(1, 255)}", GOOGLEBOT_IMAGE, "flat")
        for _ in range(round(GOOGLEBOT_RATE / 2 * load)):
            t = self.when("flat")
            obj = self.pick(t)
            ids = image_ids(obj) if obj is not None else []
            if obj is not None and ids:
                self.stacks_request(
                    images,
                    t,
                    "GET",
                    f"/image/iiif/{obj.bare}%2F{rng.choice(ids)}/full/!400,400/0/default.jpg",
                    self.status(not_modified=0.2),
                    rng.randrange(15_000, 60_000),
                    took=world.secs(0.05, 1.2),
                )
        ahrefs = [
            Client(f"54.36.{148 + i}.{rng.randrange(1, 255)}", AHREFSBOT, "flat") for i in (0, 1)
        ]
        t = world.begin + world.between(0, 2 * DAY)
        while t < world.end:
            for _ in range(rng.randint(10, 10 + len(world.objects) // 10)):
                # Requests overlap: the next starts before the last is done.
                self.crawl(rng.choice(ahrefs), t, stale=0.3)
                t += world.secs(0.3, 3)
            t += world.between(2 * DAY, 4 * DAY)

    def crawl(self, bot: Client, t: int, *, stale: float = 0.03) -> None:
        """A PURL page or a file; `stale` of the links lead nowhere (404)."""
        rng = self.rng
        obj = self.pick(t)
        if rng.random() < 0.65:
            if obj is None or rng.random() < stale:
                path, status = f"/{random_bare(rng)}", 404
            else:
                path, status = f"/{obj.bare}", self.status(not_modified=0.1)
            self.purl_request(bot.address, t, path, "PurlController#show", "HTML", status)
        elif obj is not None:
            name = rng.choice(obj.files)
            if rng.random() < stale:
                name = f"{obj.bare}_{rng.randrange(1, 999):03d}.pdf"
            self.download(bot, t, obj, name, "-")

    def monitor(self) -> None:
        """UptimeRobot asks for stacks' home page every hour; in one outage it sees 503s."""
        world, rng = self.world, self.rng
        probes = [
            Client(address, UPTIMEROBOT, "flat")
            for address in ("216.144.248.21", "69.162.124.231", "63.143.42.245")
        ]
        outage = world.begin + world.between(world.span // 4, 3 * world.span // 4)
        t = world.begin + world.secs(0, 3600)
        while t < world.end:
            down = outage <= t < outage + 2 * HOUR
            self.stacks_request(
                rng.choice(probes),
                t,
                "HEAD",
                "/",
                503 if down else 200,
                0,
                took=world.secs(0.001, 0.02),
            )
            t += HOUR + world.secs(-3, 3)

    def scripts(self, load: float, curl: Client) -> None:
        """The partner's weekly harvest of PURL XML, a campus script fetching datasets every
        night (If-Modified-Since: mostly 304), and someone's curl."""
        world, rng = self.world, self.rng
        harvester = Client(f"198.51.100.{rng.randrange(1, 255)}", "python-requests/2.31.0", "flat")
        for index in self.sundays:
            start = world.begin + index * HOUR + world.secs(60, 900)
            published = [o for o in world.objects if o.versions and o.versions[0].done <= start]
            if not published:
                continue
            chosen = rng.sample(published, max(1, round(HARVEST_SHARE * len(published))))
            # Three requests at a time: their lines interleave in purl's log.
            for worker in range(3):
                t = start + world.secs(0, 0.05)
                for obj in chosen[worker::3]:
                    t = self.purl_request(
                        harvester.address,
                        t,
                        f"/{obj.bare}.xml",
                        "PurlController#show",
                        "XML",
                        self.status(error=0.002),
                    )
                    t += world.secs(0.02, 0.3)
        script = Client(campus_ipv4(rng), "python-requests/2.32.3", "flat")
        datasets = [obj for obj in world.objects if "dataset.csv" in obj.files][:3]
        for index in self.nights:
            t = world.begin + index * HOUR + world.secs(0, 120)
            for obj in datasets:
                if obj.versions[0].done > t:
                    continue
                size = self.file_size(obj.bare, "dataset.csv")
                fresh = rng.random() < 0.8
                t = self.stacks_request(
                    script,
                    t,
                    "GET",
                    f"/file/druid:{obj.bare}/dataset.csv",
                    304 if fresh else 200,
                    size,
                    took=world.secs(0.003, 0.02) + (0 if fresh else size * SECOND // 50_000_000),
                )
        for _ in range(round(UNAUTHENTICATED_RATE * load)):
            t = self.when("daytime")
            wanted = self.pick(t)
            if wanted is not None:
                self.download(curl, t, wanted, rng.choice(wanted.files), "-")

    def api_calls(self, load: float, curl: Client) -> None:
        """The SDR API: Argo opening and closing versions and showing objects to staff, the
        preservation robots reading an object before ingest, and calls without a token."""
        world, rng = self.world, self.rng
        argo = [campus_ipv4(rng) for _ in range(2)]
        robots = campus_ipv4(rng)
        for obj in world.objects:
            path = f"/v1/objects/druid:{obj.bare}"
            previous = obj.registered
            for version in obj.versions:
                if version.number > 1:
                    opened = world.between(
                        max(previous + MINUTE, version.closed - DAY), version.closed - MINUTE
                    )
                    self.api_request(
                        opened, rng.choice(argo), "POST", f"{path}/versions",
                        "VersionsController#create", 201, "argo",
                    )  # fmt: skip
                self.api_request(
                    version.closed - world.secs(0.05, 0.5), rng.choice(argo), "POST",
                    f"{path}/versions/current/close", "VersionsController#close_current", 200,
                    "argo",
                )  # fmt: skip
                start = version.done - world.secs(600, 3600)
                self.api_request(
                    start, robots, "GET", path, "ObjectsController#show", 200,
                    "preservation-robots",
                )  # fmt: skip
                self.api_request(
                    start + world.secs(0.5, 2), robots, "GET", f"{path}/versions",
                    "VersionsController#index", 200, "preservation-robots",
                )  # fmt: skip
                previous = version.done
        routes = (
            ("", "ObjectsController#show"),
            ("", "ObjectsController#show"),
            ("/events", "EventsController#index"),
            ("/versions", "VersionsController#index"),
        )
        for _ in range(round(ARGO_RATE * load)):
            t = self.when("office")
            shown = self.pick(t)
            suffix, route = rng.choice(routes)
            if shown is None:
                path, status = f"/v1/objects/druid:{random_bare(rng)}{suffix}", 404
            else:
                path, status = f"/v1/objects/druid:{shown.bare}{suffix}", self.status(error=0.003)
            self.api_request(t, rng.choice(argo), "GET", path, route, status, "argo")
        for _ in range(round(UNAUTHENTICATED_RATE * load)):
            t = self.when("daytime")
            shown = self.pick(t)
            bare = shown.bare if shown is not None else random_bare(rng)
            address = rng.choice((curl.address, rng.choice(self.people).address))
            self.api_request(
                t, address, "GET", f"/v1/objects/druid:{bare}", "ObjectsController#show", 401
            )

    def bad_lines(self) -> None:
        """What real front ends log too: a request line that never came, a TLS handshake sent
        to the plain HTTP port (Apache escapes its bytes), and a torn write of binary junk."""
        world, rng = self.world, self.rng
        t = world.between(world.begin, world.end)
        self.stacks.add(
            t,
            f"203.0.113.{rng.randrange(1, 255)} - - [{self.clock.apache(t)}] "
            '"-" 400 - "-" "-" 0.0000',
        )
        t = world.between(world.begin, world.end)
        # A ClientHello's record header, then random bytes, as Apache escapes them.
        hello = "".join(f"\\x{byte:02x}" for byte in (0x16, 3, 1, 2, 0, 1, 0, 1, 0xFC, 3, 3))
        hello += "".join(f"\\x{rng.randrange(256):02x}" for _ in range(20))
        self.stacks.add(
            t,
            f"192.0.2.{rng.randrange(1, 255)} - - [{self.clock.apache(t)}] "
            f'"{hello}" 400 226 "-" "-" 0.0011',
        )
        # A lone UTF-8 continuation byte first: the line is never valid UTF-8.
        other = [byte for byte in range(1, 256) if byte not in (10, 13)]
        junk = bytes([rng.randrange(0x80, 0xC0)] + [rng.choice(other) for _ in range(60)])
        self.stacks.add(
            world.between(world.begin, world.end), junk.decode("utf-8", "surrogateescape")
        )

    def cut_off(self) -> None:
        """The log ends inside a request: it started, but the process was stopped."""
        world, rng = self.world, self.rng
        last = max((record[0] for record in self.purl.records), default=world.end - MINUTE)
        t = last + world.secs(0.01, 0.5)
        rid = world.request_id()
        obj = self.pick(t) or world.objects[0]
        address = rng.choice(self.people).address
        self.purl_line(
            t, "INFO", rid, f'Started GET "/{obj.bare}" for {address} at {self.clock.ruby_time(t)}'
        )
        self.purl_line(t + 1000, "INFO", rid, "Processing by PurlController#show as HTML")
        self.purl_line(t + 1000, "INFO", rid, f'  Parameters: {{"id"=>"{obj.bare}"}}')
