"""From a call's credentials to an `Identity`: bearer token first, else the certificate."""
from __future__ import annotations

import time

from common.errors import Unauthenticated
from common.tls import peer_certificate
from scheduler.auth import tokens
from scheduler.auth.identity import CERTIFICATE, TOKEN, Identity
from scheduler.auth.permissions import BUILTIN_ROLES
from scheduler.auth.ratelimit import FailureLimiter
from scheduler.state import enrollment, iam

# One message for every token failure: malformed, unknown, wrong secret, revoked,
# expired, or its principal deleted all read alike.
BAD_TOKEN = "invalid, expired or revoked API token"
REVOKED = "certificate revoked"
THROTTLED = "too many failed authentications from this address; try again later"


def bearer_of(metadata) -> str | None:
    """The token of an `authorization: Bearer …` header; "" when the header is malformed."""
    for key, value in metadata or ():
        if key.lower() == "authorization":
            scheme, _, token = (value if isinstance(value, str) else value.decode()).partition(" ")
            return token.strip() if scheme.lower() == "bearer" else ""
    return None


def role_permissions(state, role: str) -> tuple[str, ...]:
    if role in BUILTIN_ROLES:
        return tuple(BUILTIN_ROLES[role]["permissions"])
    record = state.iam["roles"].get(role)
    return tuple(record["permissions"]) if record else ()


def principal_identity(state, principal: dict, via: str, token: dict | None = None,
                       address: str = "") -> Identity:
    bindings = tuple(iam.bindings_of(state, principal["id"]))
    roles = {role for role, _ in bindings}
    scope_project = scope_role = ""
    if token and token.get("scope_project"):
        scope_project, scope_role = token["scope_project"], token["scope_role"]
    return Identity(
        name=principal["name"], kind=principal["kind"], via=via, principal_id=principal["id"],
        token_id=token["id"] if token else "", superuser=("admin", "") in bindings,
        bindings=bindings, role_permissions={role: role_permissions(state, role) for role in roles},
        scope_project=scope_project, scope_role=scope_role,
        scope_permissions=role_permissions(state, scope_role) if scope_role else (),
        address=address)


class Resolver:
    def __init__(self, store, limiter: FailureLimiter, clock=time.time):
        self.store = store
        self.limiter = limiter
        self.clock = clock

    def identity(self, metadata, auth_context: dict, source: str) -> Identity:
        facts = peer_certificate(auth_context or {})
        if facts is not None:
            self._check_not_revoked(facts)
        bearer = bearer_of(metadata)
        if bearer is not None:
            return self._from_token(bearer, source)
        if facts is None:
            raise Unauthenticated("no client certificate")
        name, role = facts.common_name, facts.role
        if role in ("admin", "scheduler"):
            # A peer scheduler holds the cluster secret and could propose anything to
            # Raft itself; treating it as an admin grants nothing new.
            return Identity(name=name, kind=role, via=CERTIFICATE, superuser=True, address=source)
        if role == "agent":
            return Identity(name=name, kind="agent", via=CERTIFICATE, address=source)
        raise Unauthenticated("this certificate carries no identity: send an API token "
                              "(`authorization: Bearer <token>`, see `cloud login`)")

    def _check_not_revoked(self, facts) -> None:
        # The deny-list (finding 6): removed hosts and schedulers, on every call.
        with self.store.read_lock:
            revoked = enrollment.is_revoked(self.store.read(), facts.role, facts.common_name,
                                            facts.serial, facts.issued_ms)
        if revoked:
            raise Unauthenticated(REVOKED)

    def _from_token(self, bearer: str, source: str) -> Identity:
        if self.limiter.blocked(source):
            raise Unauthenticated(THROTTLED)
        parsed = tokens.parse(bearer)
        now_ms = int(self.clock() * 1000)
        with self.store.read_lock:
            state = self.store.read()
            record = state.iam["tokens"].get(parsed[0]) if parsed else None
            principal = state.iam["principals"].get(record["principal_id"]) if record else None
            valid = (record is not None and principal is not None and not record["revoked"]
                     and tokens.matches(record, parsed[1])
                     and not (record["expires_ms"] and record["expires_ms"] <= now_ms))
            if valid:
                return principal_identity(state, principal, TOKEN, dict(record), source)
        self.limiter.failed(source)
        raise Unauthenticated(BAD_TOKEN)
