"""Who a request's client is, from what the log says of it: its address in one spelling
(`normalise_address`), the configured network it is in (`NetworkTable`, longest prefix first),
and the crawler, monitor or scripted client its user agent names (`crawler_name`).

crawlerdetect and ua-parser are imported on the first user-agent check only, so that loading a
policy stays cheap.
"""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache

from provenance.access.rules import Network

MAX_CRAWLER_NAME_LENGTH = 64
_DETECTOR_PACKAGES = ("crawlerdetect", "ua-parser", "ua-parser-builtins")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


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


class NetworkTable:
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


def detector_versions() -> dict[str, str]:
    # Imported here, for the ingest function's cold start: only the policy's fingerprint reads
    # package versions, and importlib.metadata is a large import.
    from importlib.metadata import PackageNotFoundError, version  # noqa: PLC0415

    versions = {}
    for package in _DETECTOR_PACKAGES:
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            versions[package] = "missing"
    return versions
