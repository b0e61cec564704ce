"""`cloud audit list`: who changed what, when, from where."""
from __future__ import annotations

from google.protobuf.timestamp_pb2 import Timestamp

from proto.v1 import audit_pb2

from cli import argtypes
from cli.commands.iam_args import since
from cli.output import timestamp


def register(subparsers, parents) -> None:
    audit = subparsers.add_parser("audit", help="the audit log", parents=parents)
    actions = audit.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", parents=parents,
                                 help="mutating calls, oldest first (the whole cluster unless --project)")
    listing.add_argument("--since", type=since, default=None, metavar="WHEN",
                         help="1h, 30m, 2d back, or an ISO time")
    listing.add_argument("--user", default="", help="only this principal (cert:NAME for certificates)")
    listing.add_argument("--action", dest="audit_action", default="", metavar="ACTION",
                         help="like instance.create, or instance.*")
    listing.add_argument("--limit", type=argtypes.positive_int, default=100)
    listing.set_defaults(func=list_command)


def list_command(args, ctx) -> int:
    request = audit_pb2.ListAuditEventsRequest(principal=args.user, action=args.audit_action,
                                               project=args.project or "", limit=args.limit)
    if args.since is not None:
        ts = Timestamp()
        ts.FromDatetime(args.since)
        request.since.CopyFrom(ts)
    reply = ctx.client.call("Audit", "ListAuditEvents", request)
    if ctx.out.json:
        ctx.out.data(reply)
        return 0
    ctx.out.table(["TIME", "PRINCIPAL", "PROJECT", "ACTION", "RESOURCE", "OUTCOME", "ADDRESS"],
                  [(timestamp(e.time), e.principal, e.project, e.action, e.resource, e.outcome,
                    e.address) for e in reply.events])
    return 0
