"""The CA rotation (`cloud cluster rotate-ca`), replicated so that every scheduler
writes the same trust bundle and every agent receives it with its heartbeat.

`ca_rotation` (one record, empty before the first rotation): the phase ("begun",
"reissue", "finished"), the trust bundle every node writes as its ca.crt (old +
new until "finished", then the new CA alone), both CA certificates and their
fingerprints, and `members`: each scheduler's report of the CA its own
certificate is from (a scheduler reports once it has written the bundle). Only
certificates travel here, never a key. Agents' certificates are in
`certificates` with the CA that signed them (`ca`).
"""
from __future__ import annotations

from dataclasses import dataclass

from common.errors import FailedPrecondition, InvalidArgument
from scheduler.state.commands import Command, NoArgs, table
from scheduler.state.enrollment import identity_key

UNDER_WAY = ("begun", "reissue")


@dataclass(frozen=True)
class BeginArgs:
    """Both CA certificates (PEM) and their fingerprints; never a key."""
    new_ca: str
    old_ca: str
    new_fp: str
    old_fp: str


@dataclass(frozen=True)
class MemberReportArgs:
    name: str                               # the scheduler
    fp: str = ""                            # the CA its own certificate is from


def _rotation(state) -> dict:
    return state.ca_rotation


def pending(state) -> list[str]:
    """Identities the cluster knows whose certificate is not from the new CA yet:
    every registered host's agent certificate and every scheduler that reported."""
    rotation = _rotation(state)
    new_fp = rotation.get("new_fp", "")
    waiting = []
    for name in sorted(state.host_names):
        record = state.certificates.get(identity_key("agent", name))
        if record is None or record.get("ca") != new_fp:
            waiting.append(f"agent/{name}")
    for name, fp in sorted(rotation.get("members", {}).items()):
        if fp != new_fp:
            waiting.append(f"scheduler/{name}")
    return waiting


def begin(state, args: BeginArgs, ctx: dict) -> dict:
    rotation = _rotation(state)
    if rotation.get("phase") in UNDER_WAY:
        raise FailedPrecondition(f"a CA rotation is under way (phase {rotation['phase']}): "
                                 f"reissue and finish it first")
    for key in ("new_ca", "old_ca", "new_fp", "old_fp"):
        if not getattr(args, key):
            raise InvalidArgument(key, "is required")
    state.ca_rotation = {
        "phase": "begun", "bundle": args.old_ca + args.new_ca,
        "new_ca": args.new_ca, "old_ca": args.old_ca,
        "new_fp": args.new_fp, "old_fp": args.old_fp,
        "begun_ms": ctx["ts"], "reissue_ms": 0, "finished_ms": 0, "members": {}}
    return {"phase": "begun"}


def reissue(state, args: NoArgs, ctx: dict) -> dict:
    rotation = _rotation(state)
    if rotation.get("phase") not in UNDER_WAY:
        raise FailedPrecondition("no CA rotation under way: `cloud cluster rotate-ca begin` first")
    rotation["phase"], rotation["reissue_ms"] = "reissue", rotation["reissue_ms"] or ctx["ts"]
    return {"phase": "reissue"}


def finish(state, args: NoArgs, ctx: dict) -> dict:
    rotation = _rotation(state)
    if rotation.get("phase") != "reissue":
        raise FailedPrecondition("the CA rotation is not in phase reissue "
                                 f"(it is {rotation.get('phase') or 'not begun'})")
    waiting = pending(state)
    if waiting:
        raise FailedPrecondition("certificates still from the old CA: " + ", ".join(waiting))
    rotation.update(phase="finished", bundle=rotation["new_ca"], finished_ms=ctx["ts"])
    return {"phase": "finished"}


def member_report(state, args: MemberReportArgs, ctx: dict) -> dict:
    """A scheduler has written the bundle; its own certificate is from CA `fp`."""
    rotation = _rotation(state)
    if rotation.get("phase") not in UNDER_WAY:
        return {"recorded": False}
    if not args.name:
        raise InvalidArgument("name", "is required")
    rotation["members"][args.name] = args.fp
    return {"recorded": True}


COMMANDS = table(
    ca_rotation__begin=Command(BeginArgs, begin),
    ca_rotation__reissue=Command(NoArgs, reissue),
    ca_rotation__finish=Command(NoArgs, finish),
    ca_rotation__member=Command(MemberReportArgs, member_report),
)
