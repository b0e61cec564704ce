"""API tokens: "tc1.<token id>.<secret>".

The id is public and indexes the stored record, so a lookup is one dict access; the
secret is 32 random bytes, of which the state keeps only the SHA-256. A token can
be checked without knowing whether its principal exists, and every failure reads
the same to the caller.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

from common.ids import new_id

PREFIX = "tc1"
_TOKEN_RE = re.compile(r"^tc1\.(t-[0-9a-f]{16})\.([A-Za-z0-9_-]{43})\Z")


def new_token() -> tuple[str, str, str]:
    """(token id, the bearer string shown once, the hash to store)."""
    token_id = new_id("t")
    secret = base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()
    return token_id, f"{PREFIX}.{token_id}.{secret}", digest(secret)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def parse(bearer: str) -> tuple[str, str] | None:
    """(token id, secret) of a well-formed token, else None."""
    match = _TOKEN_RE.match(bearer or "")
    return (match.group(1), match.group(2)) if match else None


def matches(record: dict, secret: str) -> bool:
    return hmac.compare_digest(record.get("hash", ""), digest(secret))
