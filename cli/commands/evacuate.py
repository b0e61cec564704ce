"""`cloud host evacuate H`: empty a host for planned work, and the progress shown by
`cloud host show H`."""
from __future__ import annotations

import argparse
import time

import grpc

from proto.v1 import evacuate_pb2

from cli import argtypes
from cli.errors import CliError, RpcFailure
from cli.output import timestamp

HELP = ("cordon the host and move every instance that can move (restart policy 'never' and stopped "
        "ones too, unlike drain); report what cannot move and why")

DESCRIPTION = """\
Cordon HOST (no new instances) and move its instances to other hosts, a few at a
time, placed like a create (capacity, constraints, hard group rules). Every
instance that can move is moved, whatever its restart policy; a stopped instance
is re-homed without starting. A moved instance starts afresh from its image on
its new host (a cold move). What cannot move stays, with the reason: an attached
volume (volumes live on their host), no host with room, a hard group rule.

`cloud host drain` is different: it is a host mode that keeps moving only the
instances with a restart policy, and has no end or report. An evacuation ends
once everything has moved or is known to be stuck; the host stays cordoned
(`cloud host uncordon` puts it back, and stops an evacuation still running).
Run it again to retry what was blocked."""

POLL_S = 0.5


def register_host_actions(actions, parents) -> None:
    """Called by `cloud host`'s own registration."""
    parser = actions.add_parser("evacuate", parents=parents, help=HELP, description=DESCRIPTION,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("name", metavar="HOST", help="host name or id")
    parser.add_argument("--parallel", type=argtypes.non_negative_int, default=0, metavar="N",
                        help="moves in flight at once (default 4)")
    parser.add_argument("--wait", action="store_true", help="show progress until the evacuation ends")
    parser.add_argument("--timeout", type=argtypes.seconds, default=600.0, metavar="SECONDS",
                        help="how long --wait waits (default 600)")
    parser.set_defaults(func=evacuate_command)


def evacuate_command(args, ctx) -> int:
    evacuation = ctx.client.call("Evacuations", "EvacuateHost", evacuate_pb2.EvacuateHostRequest(
        name=args.name, parallel=args.parallel), write=True)
    if args.wait:
        evacuation = _wait(ctx, args.name, evacuation, args.timeout)
    show(ctx, evacuation)
    if evacuation.state == "running":
        return 0
    # Ended: non-zero when something stayed behind, so scripts notice.
    return 1 if any(i.status in ("blocked", "failed") for i in evacuation.items) else 0


def _wait(ctx, name: str, evacuation, timeout: float):
    deadline = time.monotonic() + timeout
    last = ""
    while evacuation.state == "running":
        if not ctx.out.json and evacuation.summary != last:
            ctx.out.line(f"evacuating {evacuation.host_name}: {evacuation.summary}")
            last = evacuation.summary
        if time.monotonic() > deadline:
            raise CliError(f"timed out after {timeout:g}s; the evacuation of {evacuation.host_name} goes on "
                           f"(`cloud host show {evacuation.host_name}`): {evacuation.summary}")
        time.sleep(POLL_S)
        evacuation = ctx.client.call("Evacuations", "GetEvacuation",
                                     evacuate_pb2.GetEvacuationRequest(name=name))
    return evacuation


def latest(ctx, name: str):
    """The host's latest evacuation, or None when it never had one (or the scheduler,
    older than this CLI during an upgrade, has no Evacuations service)."""
    try:
        return ctx.client.call("Evacuations", "GetEvacuation", evacuate_pb2.GetEvacuationRequest(name=name))
    except RpcFailure as err:
        if err.code in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.UNIMPLEMENTED):
            return None
        raise


def show(ctx, evacuation) -> None:
    if ctx.out.json:
        ctx.out.data(evacuation)
        return
    ctx.out.fields([
        ("evacuation", evacuation.id),
        ("state", evacuation.state),
        ("progress", evacuation.summary),
        ("parallel", evacuation.parallel),
        ("started", timestamp(evacuation.started_at)),
        ("finished", timestamp(evacuation.finished_at)),
    ], title=f"evacuation of {evacuation.host_name}")
    if evacuation.items:
        ctx.out.table(["INSTANCE", "PROJECT", "STATUS", "TO", "REASON"],
                      [(i.instance_name, i.project, i.status, i.to_host_name or "-", i.reason or "")
                       for i in evacuation.items])
