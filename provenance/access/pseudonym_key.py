"""The pseudonym key: the secret that keys the `anon:` pseudonyms of client addresses.

The key comes from `PROV_PSEUDONYM_KEY`, a configured key file, or a key file made on first use
(unless the caller forbids that: where that file would not be shared, as in a Lambda container,
a key must be given).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from provenance.access.rules import AccessPolicyError, PolicyRules
from provenance.files.small_file import SmallFileError, read_small_file

KEY_ENV = "PROV_PSEUDONYM_KEY"
KEY_FILE_NAME = "pseudonym.key"
MIN_KEY_LENGTH = 16
# Keys are a few dozen bytes: a larger "key file" is some other file, named by mistake.
MAX_KEY_BYTES = 4096
NEW_KEY_BYTES = 32


class MissingKeyError(AccessPolicyError):
    """Pseudonyms need a key, none is configured, and making one was not allowed."""


def pseudonym_key(
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
