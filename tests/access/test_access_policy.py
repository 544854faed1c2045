"""The access policy: agent precedence, networks, crawler detection, pseudonyms and their key,
retention, configuration errors. Every test runs with HOME and XDG_CONFIG_HOME in tmp_path."""

from __future__ import annotations

import multiprocessing
import os
import re
import stat
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from itertools import product
from pathlib import Path
from typing import Any

import pytest

from provenance.access.policy import AccessPolicy, Resolution
from provenance.access.pseudonym_key import KEY_ENV, MissingKeyError
from provenance.access.rules import POLICY_ENV, RETENTION_ENV, AccessPolicyError
from provenance.domain.events import AgentRef

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "docs" / "access-policy.example.toml"
KEY = "0123456789abcdef-test-key"
OTHER_KEY = "fedcba9876543210-test-key"
PSEUDONYM = re.compile(r"anon:[0-9a-f]{12}\Z")
RETENTION_7 = "[retention]\naccess_event_days = 7\n"

GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
CRAWLERS = {
    GOOGLEBOT: "Googlebot",
    "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like "
    "Gecko) Chrome/126.0.6478.126 Mobile Safari/537.36 (compatible; Googlebot/2.1; "
    "+http://www.google.com/bot.html)": "Googlebot",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)": "bingbot",
    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; bingbot/2.0; "
    "+http://www.bing.com/bingbot.htm) Chrome/116.0.1938.76 Safari/537.36": "bingbot",
    "Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)": (
        "Baiduspider"
    ),
    "Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)": "YandexBot",
    "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)": "AhrefsBot",
    "Mozilla/5.0+(compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)": "UptimeRobot",
    "Pingdom.com_bot_version_1.4_(http://www.pingdom.com/)": "PingdomBot",
    "Mozilla/5.0 (Unknown; Linux x86_64) AppleWebKit/538.1 (KHTML, like Gecko) "
    "PingdomTMS/0.8.5 Safari/538.1": "PingdomBot",
    # Web archiving crawlers.
    "Mozilla/5.0 (compatible; heritrix/3.4.0 +https://www.loc.gov/)": "heritrix",
    "Mozilla/5.0 (compatible; archive.org_bot +http://archive.org/details/archive.org_bot)": (
        "archive.org_bot"
    ),
    # Scripted clients: ua-parser's family where the user agent starts with it.
    "curl/8.5.0": "curl",
    "Wget/1.21.4": "Wget",
    "PycURL/7.45.2 libcurl/8.4.0": "PycURL",
    "libwww-perl/6.72": "libwww-perl",
    "Java/17.0.2": "Java",
    # Unknown to ua-parser: crawlerdetect's match without its version.
    "python-requests/2.31.0": "python-requests",
    "Dart/2.19 (dart:io)": "Dart",
    "npm/10.2.4 node/v20.11.0": "npm",
}
BROWSERS = [
    CHROME,
    "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.4; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4.1 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.51",
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Mobile Safari/537.36",
]

RULES = """
[[networks]]
name = "stanford"
cidrs = ["171.64.0.0/14", "2607:f6d0::/32"]

[[networks]]
name = "sul-lab"
kind = "software"
cidrs = ["171.64.10.0/24", "2607:f6d0:1:2::/64"]

[[user_agents]]
name = "sul-uptime"
pattern = "^sul-uptime/"
"""


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private HOME and XDG_CONFIG_HOME: no test reads or writes the real ones."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.delenv(KEY_ENV, raising=False)
    monkeypatch.delenv(POLICY_ENV, raising=False)
    return home


def config_dir(home: Path) -> Path:
    return home / ".config" / "sdr-provenance"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def policy(tmp_path: Path, text: str = "", key: str = KEY) -> AccessPolicy:
    path = write(tmp_path / "policy.toml", text)
    return AccessPolicy.load(path, environ={**os.environ, KEY_ENV: key})


def agent(resolution: Resolution) -> tuple[str, str]:
    return resolution.agent.name, resolution.agent.kind


# -- who: precedence -------------------------------------------------------------------------

USERS = {None: None, "-": None, "": None, " ": None, "jdoe": ("user:jdoe", "person")}
# client -> the network it is in (None: in none, or no client)
CLIENTS = {
    None: None,
    "-": None,
    "171.64.1.2": ("stanford", "organization"),
    "171.64.10.7": ("sul-lab", "software"),
    "8.8.8.8": None,
    "crawl-66-249-66-1.googlebot.com": None,
}
USER_AGENTS = {
    None: None,
    "-": None,
    "sul-uptime/2.3": ("sul-uptime", "software"),
    GOOGLEBOT: ("crawler:Googlebot", "software"),
    CHROME: None,
}


def test_precedence_in_every_combination(tmp_path: Path) -> None:
    access = policy(tmp_path, RULES)
    for user, client, user_agent in product(USERS, CLIENTS, USER_AGENTS):
        present = client not in (None, "-")
        client_id = access.pseudonym(client) if client is not None and present else None
        expected = (
            USERS[user]
            or CLIENTS[client]
            or USER_AGENTS[user_agent]
            or (("client:" + client_id, "hardware") if client_id else ("unknown", "hardware"))
        )
        resolution = access.resolve(client, user, user_agent)
        assert agent(resolution) == expected, (user, client, user_agent)
        # Reports name the client whoever the agent is.
        assert resolution.client_id == client_id


def test_configured_user_agent_rules_come_before_detection_first_match_wins(
    tmp_path: Path,
) -> None:
    access = policy(
        tmp_path,
        """
        [[user_agents]]
        name = "our-monitor"
        pattern = "UptimeRobot/2"
        [[user_agents]]
        name = "any-robot"
        pattern = "(?i)robot"
        """,
    )
    uptime = "Mozilla/5.0+(compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)"
    assert agent(access.resolve("8.8.8.8", None, uptime)) == ("our-monitor", "software")
    assert access.resolve("8.8.8.8", None, "SomeRobot").agent.name == "any-robot"
    assert access.resolve("8.8.8.8", None, GOOGLEBOT).agent.name == "crawler:Googlebot"


def test_crawler_detection_can_be_switched_off(tmp_path: Path) -> None:
    access = policy(tmp_path, "[crawlers]\ndetect = false\n" + RULES)
    resolution = access.resolve("8.8.8.8", None, GOOGLEBOT)
    assert resolution.agent.name == f"client:{resolution.client_id}"
    assert access.resolve("8.8.8.8", None, "sul-uptime/1").agent.name == "sul-uptime"


def test_resolve_is_cached() -> None:
    access = AccessPolicy.default(key=KEY.encode())
    assert access.resolve("8.8.8.8", None, CHROME) is access.resolve("8.8.8.8", None, CHROME)


# -- networks ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("client", "network"),
    [
        ("171.64.0.0", "stanford"),
        ("171.67.255.255", "stanford"),
        ("171.63.255.255", None),
        ("171.68.0.0", None),
        ("171.64.10.0", "sul-lab"),
        ("171.64.10.255", "sul-lab"),
        ("171.64.11.0", "stanford"),
        ("::ffff:171.64.10.9", "sul-lab"),
        ("2607:f6d0::1", "stanford"),
        ("2607:F6D0:0001:0002:0000:0000:0000:0001", "sul-lab"),
        ("2607:f6d0:1:3::1", "stanford"),
        ("2607:f6d1::1", None),
        ("stanford.edu", None),
        ("171.64.1.1.example.org", None),
        (" 171.64.1.1 ", "stanford"),
    ],
)
def test_network_longest_prefix_wins(tmp_path: Path, client: str, network: str | None) -> None:
    resolution = policy(tmp_path, RULES).resolve(client, None, None)
    assert resolution.agent.name == (network or f"client:{resolution.client_id}")


def test_catch_all_range_loses_to_any_more_specific_one(tmp_path: Path) -> None:
    access = policy(
        tmp_path,
        RULES + '[[networks]]\nname = "internet"\ncidrs = ["0.0.0.0/0", "::/0"]\n',
    )
    assert access.resolve("171.64.10.1", None, None).agent.name == "sul-lab"
    assert access.resolve("8.8.8.8", None, None).agent.name == "internet"
    assert access.resolve("2001:db8::1", None, None).agent.name == "internet"
    assert access.resolve("example.org", None, None).agent.name.startswith("client:")


# -- crawlers ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("user_agent", "name"), CRAWLERS.items())
def test_real_crawlers_and_monitors_are_named(user_agent: str, name: str) -> None:
    access = AccessPolicy.default(key=KEY.encode())
    expected = AgentRef(name=f"crawler:{name}", kind="software")
    assert access.resolve("8.8.8.8", None, user_agent).agent == expected


@pytest.mark.parametrize("user_agent", BROWSERS)
def test_real_browsers_are_their_client(user_agent: str) -> None:
    access = AccessPolicy.default(key=KEY.encode())
    resolution = access.resolve("8.8.8.8", None, user_agent)
    assert resolution.agent == AgentRef(name=f"client:{resolution.client_id}", kind="hardware")


def test_loading_and_resolving_without_a_user_agent_import_no_detector() -> None:
    code = (
        "import sys\n"
        "from provenance.access.policy import AccessPolicy\n"
        "p = AccessPolicy.default(key=b'k' * 16)\n"
        "p.resolve('8.8.8.8', 'jdoe', 'curl/8')\n"
        "p.resolve('8.8.8.8', None, None)\n"
        "print(sorted(m for m in sys.modules if m.startswith(('crawlerdetect', 'ua_parser'))))\n"
        "p.resolve('8.8.8.8', None, 'curl/8')\n"
        "print('crawlerdetect' in sys.modules and 'ua_parser' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    )
    assert result.stdout.splitlines() == ["[]", "True"]


# -- pseudonyms ----------------------------------------------------------------------------------

ADDRESSES = ["171.64.1.2", "8.8.8.8", "2001:db8::1", "::1", "crawl.example.org", "0.0.0.0"]


def test_pseudonyms_are_stable_across_loads_and_change_with_the_key(tmp_path: Path) -> None:
    first, second = policy(tmp_path), policy(tmp_path)
    other = policy(tmp_path, key=OTHER_KEY)
    for address in ADDRESSES:
        pseudonym = first.pseudonym(address)
        assert PSEUDONYM.match(pseudonym)
        assert pseudonym != address
        assert second.pseudonym(address) == pseudonym
        assert other.pseudonym(address) != pseudonym
        assert first.resolve(address, None, None).client_id == pseudonym
    assert len({first.pseudonym(address) for address in ADDRESSES}) == len(ADDRESSES)


@pytest.mark.parametrize(
    ("spelling", "address"),
    [
        ("::ffff:171.64.1.2", "171.64.1.2"),
        ("::FFFF:ab40:102", "171.64.1.2"),
        ("2001:0DB8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
        ("Crawl.Example.ORG.", "crawl.example.org"),
    ],
)
def test_one_host_has_one_pseudonym_however_spelled(spelling: str, address: str) -> None:
    access = AccessPolicy.default(key=KEY.encode())
    assert access.pseudonym(spelling) == access.pseudonym(address)
    assert access.resolve(spelling, None, None) == access.resolve(address, None, None)


def test_show_addresses_names_clients_by_normalised_address(tmp_path: Path, home: Path) -> None:
    path = write(tmp_path / "policy.toml", "[clients]\nshow_addresses = true\n" + RULES)
    access = AccessPolicy.load(path)
    assert access.show_addresses
    assert access.resolve("::ffff:8.8.8.8", None, CHROME) == Resolution(
        agent=AgentRef(name="client:8.8.8.8", kind="hardware"), client_id="8.8.8.8"
    )
    assert access.resolve("2001:DB8:0::1", "jdoe", None).client_id == "2001:db8::1"
    # No pseudonyms, so no key file made for them.
    assert not (config_dir(home) / "pseudonym.key").exists()


# -- the key -------------------------------------------------------------------------------------


def test_key_from_environment_beats_key_file_beats_default_file(
    tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = tmp_path / "keys"
    write(keys / "site.key", "a site key of enough bytes")
    path = write(keys / "policy.toml", '[clients]\nkey_file = "site.key"\n')
    from_file = AccessPolicy.load(path)
    # The configured key file was used: no default one was made.
    assert not (config_dir(home) / "pseudonym.key").exists()
    from_default = AccessPolicy.load()
    monkeypatch.setenv(KEY_ENV, KEY)
    from_env = AccessPolicy.load(path)
    assert from_env.pseudonym("8.8.8.8") == AccessPolicy.default(key=KEY.encode()).pseudonym(
        "8.8.8.8"
    )
    site = AccessPolicy.default(key=b"a site key of enough bytes")
    assert from_file.pseudonym("8.8.8.8") == site.pseudonym("8.8.8.8")
    assert len({p.pseudonym("8.8.8.8") for p in (from_env, from_file, from_default)}) == 3


def test_key_file_paths_relative_to_the_policy_or_home(tmp_path: Path, home: Path) -> None:
    write(home / "secrets" / "p.key", "x" * 20)
    path = write(tmp_path / "policy.toml", '[clients]\nkey_file = "~/secrets/p.key"\n')
    assert AccessPolicy.load(path).pseudonym("::1") == AccessPolicy.default(
        key=b"x" * 20
    ).pseudonym("::1")


def test_default_key_file_is_made_private_once_and_reused(home: Path) -> None:
    first = AccessPolicy.load()
    key_file = config_dir(home) / "pseudonym.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(key_file.read_bytes()) == 32
    assert AccessPolicy.load().pseudonym("8.8.8.8") == first.pseudonym("8.8.8.8")
    assert os.listdir(key_file.parent) == ["pseudonym.key"]


def test_a_key_published_by_another_process_meanwhile_is_used(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key_file = config_dir(home) / "pseudonym.key"
    theirs = b"the other process's key"
    real_link = os.link

    def lose_the_race(source: str, target: Path) -> None:
        target.write_bytes(theirs)
        real_link(source, target)

    monkeypatch.setattr(os, "link", lose_the_race)
    access = AccessPolicy.load()
    assert key_file.read_bytes() == theirs
    assert access.pseudonym("8.8.8.8") == AccessPolicy.default(key=theirs).pseudonym("8.8.8.8")
    assert os.listdir(key_file.parent) == ["pseudonym.key"]


def _load_and_report(barrier: Any, results: Any) -> None:
    barrier.wait()
    results.put(AccessPolicy.load().pseudonym("8.8.8.8"))


def test_processes_racing_to_make_the_default_key_agree(home: Path) -> None:
    context = multiprocessing.get_context("fork")
    count = 6
    barrier = context.Barrier(count)
    results = context.Queue()
    processes = [
        context.Process(target=_load_and_report, args=(barrier, results)) for _ in range(count)
    ]
    for process in processes:
        process.start()
    pseudonyms = {results.get(timeout=30) for _ in processes}
    for process in processes:
        process.join(timeout=30)
        assert process.exitcode == 0
    assert pseudonyms == {AccessPolicy.load().pseudonym("8.8.8.8")}
    assert os.listdir(config_dir(home)) == ["pseudonym.key"]


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        ({KEY_ENV: "too short"}, f"{KEY_ENV} is 9 characters long"),
        ({KEY_ENV: ""}, f"{KEY_ENV} is 0 characters long"),
        ({"key_file": None}, "clients.key_file"),
        ({"key_file": "short"}, "clients.key_file"),
        ({"XDG_CONFIG_HOME": "a file"}, "pseudonym key file"),
        ({"default_key": "short"}, "pseudonym key file"),
    ],
)
def test_unusable_keys_are_one_line_errors(
    tmp_path: Path, home: Path, setup: dict[str, str | None], expected: str
) -> None:
    environ = {"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config")}
    text = ""
    for name, value in setup.items():
        if name == "key_file":
            text = '[clients]\nkey_file = "p.key"\n'
            if value is not None:
                write(tmp_path / "p.key", value)
        elif name == "default_key":
            write(config_dir(home) / "pseudonym.key", str(value))
        elif name == "XDG_CONFIG_HOME":
            environ[name] = str(write(tmp_path / "not-a-directory", ""))
        else:
            environ[name] = str(value)
    path = write(tmp_path / "policy.toml", text)
    with pytest.raises(AccessPolicyError) as raised:
        AccessPolicy.load(path, environ=environ)
    assert expected in str(raised.value)
    assert "\n" not in str(raised.value)


def test_an_explicit_key_must_be_long_enough() -> None:
    with pytest.raises(AccessPolicyError, match="at least 16"):
        AccessPolicy.default(key=b"short")


def test_without_the_default_key_file_a_key_must_be_given(tmp_path: Path, home: Path) -> None:
    default_file = write(config_dir(home) / "pseudonym.key", "a key made on this machine")
    with pytest.raises(MissingKeyError) as raised:
        AccessPolicy.load(allow_default_key=False)
    assert str(raised.value).startswith(f"no pseudonym key: set {KEY_ENV} (at least 16 ")
    assert "\n" not in str(raised.value)
    default_file.unlink()
    with pytest.raises(MissingKeyError):
        AccessPolicy.load(allow_default_key=False)
    assert not default_file.exists()  # and none was made
    # A given key, a key file, or no need for a key.
    given = AccessPolicy.load(environ={**os.environ, KEY_ENV: KEY}, allow_default_key=False)
    assert given.pseudonym("8.8.8.8") == AccessPolicy.default(key=KEY.encode()).pseudonym("8.8.8.8")
    write(tmp_path / "p.key", OTHER_KEY)
    key_file = write(tmp_path / "key-file.toml", '[clients]\nkey_file = "p.key"\n')
    assert AccessPolicy.load(key_file, allow_default_key=False).pseudonym("8.8.8.8") == (
        AccessPolicy.default(key=OTHER_KEY.encode()).pseudonym("8.8.8.8")
    )
    shown = write(tmp_path / "shown.toml", "[clients]\nshow_addresses = true\n")
    assert AccessPolicy.load(shown, allow_default_key=False).resolve("8.8.8.8", None, None) == (
        Resolution(agent=AgentRef(name="client:8.8.8.8", kind="hardware"), client_id="8.8.8.8")
    )
    assert not default_file.exists()


# -- where the policy comes from -------------------------------------------------------------------


def test_policy_file_from_argument_environment_user_config_or_defaults(
    tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def retention() -> int | None:
        return AccessPolicy.load().retention_days

    assert retention() is None
    write(config_dir(home) / "access-policy.toml", "[retention]\naccess_event_days = 30\n")
    assert retention() == 30
    monkeypatch.setenv(POLICY_ENV, str(write(tmp_path / "env.toml", RETENTION_7)))
    assert retention() == 7
    given = write(tmp_path / "given.toml", "[retention]\naccess_event_days = 1\n")
    assert AccessPolicy.load(given).retention_days == 1
    monkeypatch.setenv("XDG_CONFIG_HOME", "relative/is/ignored")
    monkeypatch.delenv(POLICY_ENV)
    assert retention() == 30


def test_without_the_user_config_only_a_policy_asked_for_is_read(
    tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(config_dir(home) / "access-policy.toml", "[clients]\nshow_addresses = true\n")
    assert AccessPolicy.load().show_addresses  # the user's own file, by default
    policy = AccessPolicy.load(user_config=False)
    assert not policy.show_addresses and policy.retention_days is None
    monkeypatch.setenv(POLICY_ENV, str(write(tmp_path / "env.toml", RETENTION_7)))
    assert AccessPolicy.load(user_config=False).retention_days == 7
    given = write(tmp_path / "given.toml", "[retention]\naccess_event_days = 1\n")
    assert AccessPolicy.load(given, user_config=False).retention_days == 1


def test_a_policy_file_that_was_asked_for_must_exist(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "missing.toml"
    with pytest.raises(AccessPolicyError, match="no such file"):
        AccessPolicy.load(missing)
    monkeypatch.setenv(POLICY_ENV, str(missing))
    with pytest.raises(AccessPolicyError, match=re.escape(str(missing))):
        AccessPolicy.load()


# -- retention ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "occurred_at",
    [
        datetime(2026, 3, 5, 14, 0, tzinfo=UTC),
        datetime(2026, 3, 5, 14, 59, 59, 999_999, tzinfo=UTC),
        datetime(2026, 3, 5, 6, 30, tzinfo=timezone(timedelta(hours=-8))),
        datetime(2026, 3, 5, 20, 15, tzinfo=timezone(timedelta(hours=5, minutes=45))),
    ],
)
def test_events_of_one_utc_hour_expire_together(tmp_path: Path, occurred_at: datetime) -> None:
    access = policy(tmp_path, RETENTION_7)
    assert access.retention_days == 7
    assert access.expires_at(occurred_at) == datetime(2026, 3, 12, 14, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("policy_days", "setting", "days"),
    [
        (7, "30", 30),
        (None, "30", 30),
        (7, "never", None),
        (7, "NEVER", None),
        (None, " 1 ", 1),
        (7, "36525", 36525),
        (7, None, 7),
    ],
)
def test_the_environment_overrides_the_access_event_expiry(
    tmp_path: Path, policy_days: int | None, setting: str | None, days: int | None
) -> None:
    text = "" if policy_days is None else f"[retention]\naccess_event_days = {policy_days}\n"
    path = write(tmp_path / "policy.toml", text)
    environ = {KEY_ENV: KEY} if setting is None else {KEY_ENV: KEY, RETENTION_ENV: setting}
    access = AccessPolicy.load(path, environ=environ)
    assert access.retention_days == days
    occurred_at = datetime(2026, 3, 5, 14, 30, tzinfo=UTC)
    expected = None if days is None else datetime(2026, 3, 5, 14, tzinfo=UTC) + timedelta(days)
    assert access.expires_at(occurred_at) == expected
    # The fingerprint covers the retention in force, whichever way it was set.
    same = write(
        tmp_path / "same.toml", "" if days is None else f"[retention]\naccess_event_days = {days}\n"
    )
    assert access.fingerprint == AccessPolicy.load(same, environ={KEY_ENV: KEY}).fingerprint


def test_the_expiry_setting_applies_to_every_policy_source(
    tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_ENV, KEY)
    monkeypatch.setenv(RETENTION_ENV, "30")
    assert AccessPolicy.load().retention_days == 30  # the built-in defaults
    write(config_dir(home) / "access-policy.toml", RETENTION_7)
    assert AccessPolicy.load().retention_days == 30  # the user's file
    monkeypatch.setenv(POLICY_ENV, str(write(tmp_path / "env.toml", RETENTION_7)))
    assert AccessPolicy.load().retention_days == 30  # $PROV_ACCESS_POLICY


@pytest.mark.parametrize(
    "setting",
    [
        "0",
        "abc",
        "",
        " ",
        "36526",
        "-5",
        "+30",
        "3_0",
        "1.5",
        "30d",
        "30 days",
        "٣٠",
        "7\n8",
        "9" * 40,
    ],
)
def test_an_expiry_setting_that_is_no_number_of_days_is_a_one_line_error(
    tmp_path: Path, setting: str
) -> None:
    path = write(tmp_path / "policy.toml", RETENTION_7)
    with pytest.raises(AccessPolicyError) as raised:
        AccessPolicy.load(path, environ={KEY_ENV: KEY, RETENTION_ENV: setting})
    assert str(raised.value) == (
        f"{RETENTION_ENV}: must be a whole number of days from 1 to 36525, or never to keep "
        f"access events forever, not {setting!r}"
    )
    assert "\n" not in str(raised.value)


def test_without_retention_access_events_are_kept(tmp_path: Path) -> None:
    access = policy(tmp_path)
    assert access.retention_days is None
    assert access.expires_at(datetime(2026, 3, 5, tzinfo=UTC)) is None
    with pytest.raises(ValueError, match="timezone-aware"):
        policy(tmp_path, RETENTION_7).expires_at(datetime(2026, 3, 5))


# -- fingerprint -----------------------------------------------------------------------------------


def test_fingerprint_changes_with_rules_and_key_and_hides_the_key(tmp_path: Path) -> None:
    base = policy(tmp_path, RULES).fingerprint
    assert re.fullmatch(r"[0-9a-f]{16}", base)
    assert policy(tmp_path, RULES).fingerprint == base
    variants = [
        policy(tmp_path, RULES, key=OTHER_KEY),
        policy(tmp_path, RULES.replace("171.64.10.0/24", "171.64.11.0/24")),
        policy(tmp_path, RULES.replace("^sul-uptime/", "^sul-uptime")),
        policy(tmp_path, RULES + RETENTION_7),
        policy(tmp_path, "[crawlers]\ndetect = false\n" + RULES),
        policy(tmp_path, "[clients]\nshow_addresses = true\n" + RULES),
    ]
    fingerprints = {variant.fingerprint for variant in variants}
    assert len(fingerprints) == len(variants) and base not in fingerprints
    assert KEY.encode().hex()[:8] not in base


# -- configuration errors ------------------------------------------------------------------------

NETWORK = '[[networks]]\nname = "n"\ncidrs = ["10.0.0.0/8"]\n'


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[retention\n", "not valid TOML"),
        ("colour = 1\n", "colour: unknown key"),
        ("[clients]\nshow_address = true\n", "clients.show_address: unknown key"),
        ("[clients]\nshow_addresses = 'yes'\n", "clients.show_addresses: must be true or false"),
        ("[clients]\nkey_file = 3\n", "clients.key_file: must be a file path"),
        ("clients = 3\n", "clients: must be a table"),
        ("[crawlers]\ndetect = 1\n", "crawlers.detect: must be true or false"),
        ("[retention]\naccess_event_days = 0\n", "retention.access_event_days: must be"),
        ("[retention]\naccess_event_days = 1.5\n", "retention.access_event_days: must be"),
        ("[retention]\naccess_event_days = true\n", "retention.access_event_days: must be"),
        ("[retention]\naccess_event_days = '30'\n", "retention.access_event_days: must be"),
        ("[retention]\ndays = 30\n", "retention.days: unknown key"),
        ("[networks]\nname = 'n'\n", "networks: must be an array of tables"),
        ('[[networks]]\nname = "n"\n', "networks[0].cidrs: missing"),
        ('[[networks]]\ncidrs = ["10.0.0.0/8"]\n', "networks[0].name: missing"),
        (NETWORK + "cidr = 1\n", "networks[0].cidr: unknown key"),
        (NETWORK + 'kind = "campus"\n', "networks[0].kind: must be one of"),
        (NETWORK.replace("10.0.0.0/8", "10.0.0.1/8"), "networks[0].cidrs[0]: '10.0.0.1/8'"),
        (NETWORK.replace("10.0.0.0/8", "10.0.0.0/33"), "networks[0].cidrs[0]: '10.0.0.0/33'"),
        (NETWORK.replace("10.0.0.0/8", "campus"), "networks[0].cidrs[0]: 'campus'"),
        (NETWORK.replace('["10.0.0.0/8"]', "[]"), "networks[0].cidrs: must be a non-empty"),
        (NETWORK.replace('["10.0.0.0/8"]', '"10.0.0.0/8"'), "networks[0].cidrs: must be"),
        (NETWORK.replace('["10.0.0.0/8"]', "[10]"), "networks[0].cidrs[0]: must be a string"),
        (NETWORK + NETWORK.replace('"n"', '"m"'), "networks[1].cidrs[0]: 10.0.0.0/8 is already"),
        (NETWORK + NETWORK, "networks[1].name: 'n' is already the name of networks[0]"),
        (NETWORK.replace('"n"', '""'), "networks[0].name: must be a non-empty string"),
        (NETWORK.replace('"n"', '"user:x"'), "networks[0].name: 'user:x' is reserved"),
        (NETWORK.replace('"n"', '"unknown"'), "networks[0].name: 'unknown' is reserved"),
        (NETWORK.replace('"n"', '"a\\nb"'), "networks[0].name: must be printable"),
        ('[[user_agents]]\nname = "m"\npattern = "("\n', "user_agents[0].pattern: not a regular"),
        ('[[user_agents]]\nname = "m"\npattern = ""\n', "user_agents[0].pattern: must be"),
        ('[[user_agents]]\nname = "m"\n', "user_agents[0].pattern: missing"),
        ('[[user_agents]]\nname = "m"\npattern = "x"\nkind = "person"\n', "user_agents[0].kind"),
        (NETWORK + '[[user_agents]]\nname = "n"\npattern = "x"\n', "user_agents[0].name: 'n'"),
        ('[[user_agents]]\nname = "crawler:me"\npattern = "x"\n', "user_agents[0].name"),
    ],
)
def test_configuration_errors_name_the_file_and_key_on_one_line(
    tmp_path: Path, text: str, key: str
) -> None:
    path = write(tmp_path / "policy.toml", text)
    with pytest.raises(AccessPolicyError) as raised:
        AccessPolicy.load(path, environ={KEY_ENV: KEY})
    message = str(raised.value)
    assert message.startswith(f"access policy {path}: ")
    assert key in message
    assert "\n" not in message


# -- the documented example ------------------------------------------------------------------------


@pytest.fixture
def example() -> Iterator[AccessPolicy]:
    yield AccessPolicy.load(EXAMPLE, environ={KEY_ENV: KEY})


def test_the_documented_example_loads_and_answers_as_it_says(example: AccessPolicy) -> None:
    assert example.retention_days == 365
    assert not example.show_addresses
    assert example.resolve("171.64.20.1", None, CHROME).agent == AgentRef(
        name="stanford", kind="organization"
    )
    assert example.resolve("171.67.34.5", None, None).agent.name == "sul-systems"
    assert example.resolve("8.8.8.8", None, "sul-uptime/1.4").agent.name == "sul-uptime"
    assert example.resolve("8.8.8.8", "jdoe", GOOGLEBOT).agent.name == "user:jdoe"
