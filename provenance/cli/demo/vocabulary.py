"""The demo world's vocabulary: time units, and the names, hosts, users, workflow steps, file
names, backtraces, networks, user agents, referers, file sizes and rates the generator draws
from (`provenance.cli.demo.world`)."""

from __future__ import annotations

import random

# Time is kept as integer microseconds since the Unix epoch (UTC): cheap to add and sort.
SECOND = 1_000_000
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
DAY = 24 * HOUR

# Druid letters exclude vowels and `l` (reference/sdr-logs.md, "Identifiers").
DRUID_LETTERS = "bcdfghjkmnpqrstvwxyz"
ROOTS = ("services-disk02", "services-disk03", "services-disk05", "services-disk12")
ENDPOINTS = ("aws_s3_west_2", "aws_s3_east_1", "gcp_s3_south_1")
BUCKETS = {
    "aws_s3_west_2": "sul-sdr-aws-us-west-2-archive",
    "aws_s3_east_1": "sul-sdr-aws-us-east-1-archive",
    "gcp_s3_south_1": "sul-sdr-gcp-us-south1-archive",
}
# preservation_catalog splits a version's zip into 10 GiB parts (.zip, .z01, ...).
ZIP_PART_BYTES = 10 * 1024**3

PRESCAT_HOSTS = (
    "preservation-catalog-prod-02.stanford.edu",
    "preservation-catalog-prod-04.stanford.edu",
)
DSA_HOSTS = ("dor-services-app-prod-a.stanford.edu", "dor-services-app-prod-b.stanford.edu")
ACCESSION_HOST = "common-accessioning-prod-a.stanford.edu"
USERS = ("amcollie", "jdoe", "pjreed", "lwrubel", "ndushay", "tcramer", "jcoyne", "mjgiarlo")

# Steps and how long they take, in seconds (transfer-object also grows with the bag size).
INGEST_STEPS: tuple[tuple[str, float, float], ...] = (
    ("start-ingest", 0.2, 1.5),
    ("transfer-object", 2.0, 30.0),
    ("validate-bag", 1.0, 90.0),
    ("update-moab", 1.0, 60.0),
    ("validate-moab", 2.0, 120.0),
    ("update-catalog", 0.3, 2.5),
    ("complete-ingest", 0.2, 1.5),
)
ACCESSION_STEPS: tuple[tuple[str, float, float], ...] = (
    ("start-accession", 0.3, 3.0),
    ("technical-metadata", 2.0, 150.0),
    ("shelve", 1.0, 80.0),
    ("publish", 0.5, 20.0),
)
END_ACCESSION = ("end-accession", 0.3, 3.0)
INGEST_WF = "preservationIngestWF"
ACCESSION_WF = "accessionWF"

CONTENT_NAMES = (
    "page_{n:04d}.tif",
    "image_{n:03d}.jp2",
    "thesis.pdf",
    "dissertation-final.pdf",
    "interview-{n:02d}.wav",
    "dataset.csv",
    "readme.txt",
    "transcript.xml",
    "map_sheet_{n:03d}.tif",
    "recording-{n:02d}.mp4",
)

TRANSFER_BACKTRACE = (
    "  /opt/app/pres/preservation_robots/lib/robots/sdr_repo/preservation_ingest/"
    "transfer_object.rb:52:in `transfer_bag'",
    "  /opt/app/pres/preservation_robots/lib/robots/sdr_repo/preservation_ingest/"
    "transfer_object.rb:21:in `perform_work'",
    "  /opt/app/pres/preservation_robots/shared/bundle/ruby/3.3.0/gems/lyber-core-7.7.0/"
    "lib/lyber_core/robot.rb:76:in `perform'",
)
BAG_BACKTRACE = (
    "  /opt/app/pres/preservation_robots/lib/robots/sdr_repo/preservation_ingest/"
    "validate_bag.rb:19:in `perform_work'",
    "  /opt/app/pres/preservation_robots/shared/bundle/ruby/3.3.0/gems/lyber-core-7.7.0/"
    "lib/lyber_core/robot.rb:76:in `perform'",
)

# Apache's `%t` months, in English whatever the locale.
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

# --- web access: who sends the requests ------------------------------------------------------

# The networks the access logs' clients come from, by the agent name a rule could give them.
# Crawlers and the monitor use their operators' published ranges: in purl's Rails log, which
# has no user agent, only the network tells them apart.
AGENT_NETWORKS: dict[str, tuple[str, ...]] = {
    "campus": ("171.64.0.0/14", "2607:f6d0::/32"),
    "partner": ("198.51.100.0/24",),
    "Googlebot": ("66.249.64.0/19",),
    "bingbot": ("157.55.39.0/24", "40.77.167.0/24"),
    "AhrefsBot": ("54.36.148.0/23",),
    "UptimeRobot": ("216.144.248.16/28", "69.162.124.224/28", "63.143.42.240/28"),
}
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
GOOGLEBOT_SMARTPHONE = (
    "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, "
    "like Gecko) Chrome/131.0.6778.204 Mobile Safari/537.36 (compatible; Googlebot/2.1; "
    "+http://www.google.com/bot.html)"
)
GOOGLEBOT_IMAGE = "Googlebot-Image/1.0"
BINGBOT = (
    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; bingbot/2.0; "
    "+http://www.bing.com/bingbot.htm) Chrome/131.0.6778.204 Safari/537.36"
)
AHREFSBOT = "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)"
UPTIMEROBOT = "Mozilla/5.0+(http://www.uptimerobot.com/)"
# Browser user agents as browsers send them; `browser_agent` fills in the versions.
BROWSER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/{chrome}.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/{chrome}.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/{chrome}.0.0.0 Safari/537.36 Edg/{chrome}.0.0.0",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/{chrome}.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:{firefox}.0) Gecko/20100101 Firefox/{firefox}.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:{firefox}.0) Gecko/20100101 "
    "Firefox/{firefox}.0",
    "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:{firefox}.0) Gecko/20100101 Firefox/{firefox}.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/{safari} Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS {ios} like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
    "like Gecko) Version/{safari} Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (iPad; CPU OS {ios} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/{safari} Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/{chrome}.0.0.0 Mobile Safari/537.36",
)
SAFARI_VERSIONS = (("17.4.1", "17_4_1"), ("17.5", "17_5"), ("17.6", "17_6"), ("18.1", "18_1"))
SEARCH_REFERERS = (
    "https://www.google.com/",
    "https://www.bing.com/",
    "https://duckduckgo.com/",
    "https://searchworks.stanford.edu/view/{n}",
    "https://exhibits.stanford.edu/virtual-tribunals/catalog/{n}",
    "-",
)
# Logged-in campus users of stacks (Apache `%u`); made-up SUNet ids.
SUNET_IDS = ("akhan7", "bchen", "dlopez2", "eokafor", "mrivera", "tnguyen4")
STATUS_TEXT = {
    200: "OK",
    201: "Created",
    206: "Partial Content",
    304: "Not Modified",
    401: "Unauthorized",
    404: "Not Found",
    500: "Internal Server Error",
    503: "Service Unavailable",
}
# Sizes of content files in bytes by extension: (smallest, largest), drawn log-uniformly.
FILE_SIZES = {
    "pdf": (200_000, 30_000_000),
    "tif": (20_000_000, 200_000_000),
    "jp2": (2_000_000, 30_000_000),
    "wav": (50_000_000, 700_000_000),
    "mp4": (50_000_000, 2_000_000_000),
    "csv": (10_000, 50_000_000),
    "txt": (1_000, 20_000),
    "xml": (5_000, 300_000),
}
# Requests per object per day (the demo's volume scales with objects x days).
VISITS_RATE = 0.02  # people looking at an object (PURL page, viewer, maybe a download)
GOOGLEBOT_RATE = 0.004
BINGBOT_RATE = 0.002
ARGO_RATE = 0.004  # staff looking at objects in Argo, which asks the SDR API
UNAUTHENTICATED_RATE = 0.001  # SDR API calls without a token
HARVEST_SHARE = 0.06  # of the published objects, fetched as XML by the partner every week


def browser_agent(rng: random.Random) -> str:
    """A browser's user agent string, versions of the last year or so."""
    safari, ios = rng.choice(SAFARI_VERSIONS)
    return rng.choice(BROWSER_AGENTS).format(
        chrome=rng.randrange(120, 132), firefox=rng.randrange(121, 134), safari=safari, ios=ios
    )
