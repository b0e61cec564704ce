"""Join tokens, issued certificates and the certificate deny-list.

* `join_tokens`: single-use tokens an admin made, by id: the secret's hash, the one
  name and role they enroll, the addresses the certificate may name, expiry, and
  when and by whom the token was used. A used token stays (for the audit) until a
  week after it expired.
* `certificates`: the certificate last issued to each identity ("role/name") by
  enrollment or renewal: its serial, expiry and the fingerprint of its CA.
* `revoked_serials`: serials (hex) refused on every call, until they expire.
* `revoked_names`: identities removed by an admin, with the time: a certificate of
  that role and name issued before then is refused, whatever its serial (this
  covers certificates issued before serials were recorded, and every renewal).
* `deny_list`: {"revision": ts of the last revocation or readmission}. Agents keep
  the schedulers' part of the deny-list (`schedulers_denied`) from the newest
  revision they saw, so a removed scheduler cannot hand them an older one.

Everything here is decided from the command's arguments and the proposer's
timestamp (`ctx["ts"]`), never from a clock.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from common.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied, Unauthenticated
from scheduler.state import events
from scheduler.state.commands import Command, table

# `ca_rotation`: scheduler/state/trust.py.
COLLECTIONS = ("join_tokens", "certificates", "revoked_serials", "revoked_names", "ca_rotation",
               "deny_list")
TOKEN_ROLES = ("agent", "scheduler")
KEEP_USED_MS = 7 * 24 * 3600 * 1000

ALREADY_USED = "join token already used"


@dataclass(frozen=True)
class CreateTokenArgs:
    token_id: str
    secret_hash: str
    role: str                               # one of TOKEN_ROLES
    name: str                               # the one identity it enrolls
    expires_ms: int
    addresses: list[str] = field(default_factory=list)     # more names the certificate may carry
    created_by: str = ""


@dataclass(frozen=True)
class UseTokenArgs:
    token_id: str
    secret_hash: str
    name: str
    serial: str                             # of the certificate signed for it (hex)
    not_after_ms: int
    used_by: str = ""                       # the caller's address
    ca: str = ""                            # fingerprint of the signing CA (older journals lack it)


@dataclass(frozen=True)
class PreviousCertificate:
    """The certificate a renewal is asked with."""
    serial: str
    issued_ms: int


@dataclass(frozen=True)
class RenewArgs:
    role: str
    name: str
    serial: str
    not_after_ms: int
    old: PreviousCertificate
    ca: str = ""


@dataclass(frozen=True)
class RemoveHostArgs:
    ref: str                                # the host's id or name


def identity_key(role: str, name: str) -> str:
    return f"{role}/{name}"


def _prune(state, now_ms: int) -> None:
    for token_id in [t for t, rec in state.join_tokens.items() if rec["expires_ms"] + KEEP_USED_MS < now_ms]:
        del state.join_tokens[token_id]
    for serial in [s for s, rec in state.revoked_serials.items() if rec["not_after_ms"] < now_ms]:
        del state.revoked_serials[serial]


def _check_name_free(state, role: str, name: str) -> None:
    if role == "agent" and name in state.host_names:
        raise FailedPrecondition(f"host {name} exists: renew with its current certificate, "
                                 f"or remove it first (`cloud host remove {name}`)")
    member = state.members.get(name)
    if role == "scheduler" and member is not None and not member["removed"]:
        raise FailedPrecondition(f"scheduler {name} is a member: remove it first "
                                 f"(`cloud cluster remove-node {name}`)")


def create_token(state, args: CreateTokenArgs, ctx: dict) -> dict:
    token_id, role, name = args.token_id, args.role, args.name
    if role not in TOKEN_ROLES:
        raise InvalidArgument("role", f"must be one of {', '.join(TOKEN_ROLES)}")
    if token_id in state.join_tokens:
        raise InvalidArgument("token_id", f"join token id {token_id} already in use")
    _check_name_free(state, role, name)
    _prune(state, ctx["ts"])
    state.join_tokens[token_id] = {
        "id": token_id, "secret_hash": args.secret_hash, "role": role, "name": name,
        "addresses": list(args.addresses), "created_ms": ctx["ts"],
        "expires_ms": args.expires_ms, "created_by": args.created_by,
        "used_ms": 0, "used_by": "",
    }
    return {"id": token_id}


def check_token(state, record: dict | None, name: str, now_ms: int) -> dict:
    """The token `record` if it may enroll `name` now; the error to answer with otherwise.

    Both the enrollment endpoint (before it signs) and apply (atomically, when the
    use is recorded) ask this."""
    if record is None:
        raise Unauthenticated("join token refused: unknown or wrong secret")
    if record["used_ms"]:
        raise PermissionDenied(ALREADY_USED)
    if record["expires_ms"] <= now_ms:
        raise Unauthenticated("join token refused: expired")
    if record["name"] != name:
        raise PermissionDenied(f"this join token enrolls {record['name']!r}, not {name!r}")
    _check_name_free(state, record["role"], name)
    return record


def use_token(state, args: UseTokenArgs, ctx: dict) -> dict:
    """Spend a token on the certificate the enrollment endpoint signed (serial, expiry)."""
    record = state.join_tokens.get(args.token_id)
    if record is not None and record["secret_hash"] != args.secret_hash:
        record = None
    check_token(state, record, args.name, ctx["ts"])
    record["used_ms"], record["used_by"] = ctx["ts"], args.used_by
    _record_certificate(state, record["role"], record["name"], args.serial, args.not_after_ms,
                        args.ca, ctx)
    return {"role": record["role"], "name": record["name"]}


def _record_certificate(state, role: str, name: str, serial: str, not_after_ms: int, ca: str,
                        ctx: dict) -> None:
    state.certificates[identity_key(role, name)] = {
        "role": role, "name": name, "serial": serial.lower(),
        "issued_ms": ctx["ts"], "not_after_ms": not_after_ms, "ca": ca}


def renew(state, args: RenewArgs, ctx: dict) -> dict:
    """Record a renewed certificate of an identity that still exists and is not revoked."""
    role, name, old = args.role, args.name, args.old
    if role == "agent" and name not in state.host_names:
        raise NotFound(f"host {name} is not registered")
    if role == "scheduler" and state.members.get(name, {}).get("removed"):
        raise FailedPrecondition(f"scheduler {name} was removed from the cluster")
    if is_revoked(state, role, name, old.serial, old.issued_ms):
        raise Unauthenticated("certificate revoked")
    _record_certificate(state, role, name, args.serial, args.not_after_ms, args.ca, ctx)
    return {"serial": state.certificates[identity_key(role, name)]["serial"]}


def revoke_identity(state, role: str, name: str, ctx: dict) -> list[str]:
    """Refuse every certificate of (role, name) issued until now; the serials revoked."""
    key = identity_key(role, name)
    state.deny_list["revision"] = max(int(ctx["ts"]), int(state.deny_list.get("revision", 0)) + 1)
    state.revoked_names[key] = {"role": role, "name": name, "revoked_ms": ctx["ts"]}
    current = state.certificates.pop(key, None)
    serials = []
    if current is not None:
        state.revoked_serials[current["serial"]] = {
            "serial": current["serial"], "role": role, "name": name, "revoked_ms": ctx["ts"],
            "not_after_ms": current["not_after_ms"]}
        serials.append(current["serial"])
    for token in state.join_tokens.values():
        # An unused token for the removed name was made for the old host: spend it.
        if token["role"] == role and token["name"] == name and not token["used_ms"]:
            token["used_ms"], token["used_by"] = ctx["ts"], "revoked"
    _prune(state, ctx["ts"])
    return serials


def readmit_identity(state, role: str, name: str, ctx: dict) -> None:
    """Undo `revoke_identity` (an admin adds a removed scheduler back with its certificate)."""
    if identity_key(role, name) in state.revoked_names:
        state.deny_list["revision"] = max(int(ctx["ts"]), int(state.deny_list.get("revision", 0)) + 1)
    state.revoked_names.pop(identity_key(role, name), None)
    for serial in [s for s, rec in state.revoked_serials.items() if (rec["role"], rec["name"]) == (role, name)]:
        del state.revoked_serials[serial]


def is_revoked(state, role: str, name: str, serial: str, issued_ms: int) -> bool:
    """Whether a certificate with these facts is on the deny-list."""
    if serial in state.revoked_serials:
        return True
    removed = state.revoked_names.get(identity_key(role, name))
    if removed is None:
        return False
    current = state.certificates.get(identity_key(role, name))
    if current is not None and current["serial"] == serial:
        return False    # issued by enrollment after the removal
    return issued_ms <= removed["revoked_ms"]


def schedulers_denied(state) -> dict:
    """The schedulers' part of the deny-list, for agents (HeartbeatResponse.deny_list):
    {"revision", "names": [{"name", "revoked_ms", "current_serial"}], "serials": [...]}."""
    names = []
    for record in state.revoked_names.values():
        if record["role"] == "scheduler":
            current = state.certificates.get(identity_key("scheduler", record["name"]))
            names.append({"name": record["name"], "revoked_ms": record["revoked_ms"],
                          "current_serial": current["serial"] if current else ""})
    serials = sorted(s for s, rec in state.revoked_serials.items() if rec["role"] == "scheduler")
    return {"revision": int(state.deny_list.get("revision", 0)),
            "names": sorted(names, key=lambda n: n["name"]), "serials": serials}


def remove_host(state, args: RemoveHostArgs, ctx: dict) -> dict:
    """Forget a host (it must carry no instances, volumes or snapshots) and revoke it."""
    host = state.host_by_ref(args.ref)
    if host is None:
        raise NotFound(f"host {args.ref} not found")
    host_id, name = host["id"], host["name"]
    instances = [i["name"] for i in state.instances_on(host_id)]
    if instances:
        raise FailedPrecondition(f"host {name} still has instances ({', '.join(instances[:5])}); "
                                 f"evacuate or delete them first")
    stored = [v["name"] for v in list(state.volumes.values()) + list(state.snapshots.values())
              if v.get("host_id") == host_id]
    if stored:
        raise FailedPrecondition(f"host {name} still holds volumes or snapshots ({', '.join(stored[:5])})")
    del state.hosts[host_id]
    state.host_names.pop(name, None)
    state.pools.pop(host_id, None)
    state.evacuations.pop(host_id, None)
    state.placement.rebuild(state)
    serials = revoke_identity(state, "agent", name, ctx)
    events.record_cluster_event(state, ctx, "host.removed", name, f"host {host_id}, certificates revoked")
    return {"host_id": host_id, "name": name, "revoked_serials": serials}


COMMANDS = table(
    join_token__create=Command(CreateTokenArgs, create_token),
    join_token__use=Command(UseTokenArgs, use_token),
    certificate__renew=Command(RenewArgs, renew),
    host__remove=Command(RemoveHostArgs, remove_host),
)
