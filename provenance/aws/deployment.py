"""The deployment's ingest options: the zone, the access events' retention and the pseudonym key.

Two places ingest for a deployment: its ingest function (`handlers.ingest`, configured by its
environment) and `prov redrive` on an operator's machine, which ingests again what that function
gave up on. They must build the very same options, or the same records would give other times,
other expiries or other pseudonyms than the function's, for good (a stored event's id exists: a
second ingest is a duplicate). Hence one function, here: it reads the key from the Secrets
Manager secret (`provenance.aws.pseudonym_secret`), so it belongs with the AWS tools.

The settings (environment, or the operator's options): `PROV_TZ` (zone of zone-less log times),
`PROV_ACCESS_POLICY` (the policy file), `PROV_ACCESS_EVENT_DAYS` (a whole number of days from 1
to 36525, or `never`: overrides the policy's access-event expiry), and the pseudonym key, from
the secret `PROV_PSEUDONYM_KEY_SECRET` names, else `PROV_PSEUDONYM_KEY` or the policy's
`clients.key_file` (setting both variables is an error). A key is never made here: one made per
container, or on an operator's machine, would give other pseudonyms. Errors are one line, in the
words of the one who has to fix them (the function's configuration, or the command's options).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from provenance.access.policy import AccessPolicy
from provenance.access.pseudonym_key import KEY_ENV, MissingKeyError
from provenance.access.rules import KEEP_FOREVER, POLICY_ENV, RETENTION_ENV
from provenance.aws.pseudonym_secret import SECRET_ENV, PseudonymSecretError, read_pseudonym_key
from provenance.domain.errors import ProvenanceError
from provenance.domain.timezones import resolve_zone
from provenance.ingest.reader import IngestOptions

SETTINGS = ("PROV_TZ", POLICY_ENV, RETENTION_ENV, KEY_ENV, SECRET_ENV)
"""The environment variables the options are made from (the function's whole configuration
for them: a change means other options)."""


class DeploymentSettingsError(ProvenanceError):
    """The deployment's ingest settings cannot be used (one line, says why)."""


def ingest_options(
    *,
    in_function: bool = False,
    tz: str | None = None,
    access_event_days: str | None = None,
    policy_path: Path | None = None,
    key_secret: str | None = None,
    region: str | None = None,
    endpoint_url: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> IngestOptions:
    """The options the ingest function builds (zone, access policy and its pseudonym key),
    from the deployment's settings: `environ` (default `os.environ`), and what an operator
    gives (`tz`, `access_event_days`, `policy_path`; `key_secret` names the secret, which the
    function takes from PROV_PSEUDONYM_KEY_SECRET and `prov redrive` from its option).

    `in_function=True` is the function itself, in the deployment: the zone defaults to the
    machine's (UTC in Lambda), the retention to the policy's, and the policy is read as
    `prov ingest` reads it. Otherwise it is `prov redrive` on an operator's machine: the zone
    and the access events' retention (days, or `never`) are required, given here or as
    PROV_TZ and PROV_ACCESS_EVENT_DAYS: left to this machine they would give other times, or
    other expiries, than the function's. The policy is the one asked for (`policy_path`, else
    PROV_ACCESS_POLICY) or the defaults, as in the function: never the operator's own config
    file. Either way the key is the deployment's (from the secret `key_secret` names, else
    PROV_PSEUDONYM_KEY or the policy's key file); never one made on this machine, which would
    give other pseudonyms. `region` and `endpoint_url` are for the secret's client."""
    env = dict(os.environ if environ is None else environ)
    if key_secret is None and in_function:
        key_secret = env.get(SECRET_ENV)
    zone_name = tz or env.get("PROV_TZ")
    if not in_function and not zone_name:
        raise DeploymentSettingsError(
            "give --tz (or PROV_TZ): the zone the ingest function reads zone-less log times in "
            "(the deployment's log_time_zone, its PROV_TZ)"
        )
    days = access_event_days or env.get(RETENTION_ENV)
    if not in_function and not days:
        raise DeploymentSettingsError(
            f"give --access-event-days DAYS or {KEEP_FOREVER} (or {RETENTION_ENV}): when the "
            "ingest function lets access events expire (the deployment's "
            f"access_event_expiry_days, its {RETENTION_ENV})"
        )
    zone = resolve_zone(zone_name)
    if days:
        env[RETENTION_ENV] = days
    if key_secret is not None:
        if env.get(KEY_ENV) is not None:
            raise DeploymentSettingsError(
                f"both a pseudonym key secret and {KEY_ENV} are given: give the key one way only"
                if not in_function
                else f"both {SECRET_ENV} and {KEY_ENV} are set: give the pseudonym key one way only"
            )
        try:
            env[KEY_ENV] = read_pseudonym_key(key_secret, region=region, endpoint_url=endpoint_url)
        except PseudonymSecretError as exc:
            raise DeploymentSettingsError(str(exc)) from None
    try:
        policy = AccessPolicy.load(
            policy_path, environ=env, allow_default_key=False, user_config=in_function
        )
    except MissingKeyError:
        raise DeploymentSettingsError(
            "no pseudonym key: give the deployment's, with --pseudonym-key-secret ARN (the "
            f"secret the stack made; env {SECRET_ENV}) or {KEY_ENV}; a key made here would "
            "give other pseudonyms than the ingest function's"
            if not in_function
            else f"no pseudonym key: set {SECRET_ENV} to the ARN of a Secrets Manager secret "
            f"holding it (or set {KEY_ENV}, or clients.key_file in the access policy); "
            "a key made in each container would give each container other pseudonyms"
        ) from None
    return IngestOptions(tz=zone, access_policy=policy)
