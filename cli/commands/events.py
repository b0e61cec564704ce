"""`cloud events`: what happened in the cluster, and (--follow) what happens next."""
from __future__ import annotations

import datetime as dt
import json

from proto.v1 import events_pb2

from cli.errors import UsageError
from cli.events_stream import watch_events
from cli.output import to_dict


def register(subparsers, parents) -> None:
    events = subparsers.add_parser("events", parents=parents,
                                   help="cluster events (instances, hosts, placements, members)")
    events.add_argument("--follow", "-f", action="store_true",
                        help="keep watching; survives the loss of the scheduler it is connected to")
    events.add_argument("--since-revision", type=int, default=0, metavar="N",
                        help="events of Raft revisions after N")
    events.add_argument("--after-sequence", type=int, default=0, metavar="N",
                        help="events after sequence N (the SEQ column; resume from here)")
    events.add_argument("--tail", type=int, default=50, metavar="N",
                        help="with no cursor: only the newest N retained events (0: all; default 50)")
    events.add_argument("--kind", action="append", default=[], metavar="KIND",
                        help="only this kind: instance, host, placement, cluster (repeatable)")
    events.add_argument("--all-projects", action="store_true", help="events of every project")
    events.set_defaults(func=events_command)


def _row(event) -> tuple:
    when = dt.datetime.fromtimestamp(event.time.ToMilliseconds() / 1000).strftime("%H:%M:%S")
    change = event.state if not event.previous_state else f"{event.previous_state}->{event.state}"
    return (event.sequence, event.revision, when, event.type, event.name or event.id, change, event.reason)


def events_command(args, ctx) -> int:
    for value, flag in ((args.since_revision, "--since-revision"), (args.after_sequence, "--after-sequence"),
                        (args.tail, "--tail")):
        if value < 0:
            raise UsageError(f"cloud events: {flag} must not be negative")
    request = events_pb2.WatchEventsRequest(
        after_sequence=args.after_sequence, since_revision=args.since_revision, tail=args.tail,
        follow=args.follow, kinds=args.kind, project="" if args.all_projects else ctx.project)
    columns = ["SEQ", "REV", "TIME", "TYPE", "NAME", "STATE", "REASON"]
    if args.follow:
        def show(event):
            # One line per event, flushed at once: a pipe reader sees each as it happens.
            text = json.dumps(to_dict(event), sort_keys=True) if ctx.out.json else \
                "  ".join(str(cell) for cell in _row(event))
            ctx.out.stream.write(text + "\n")
            ctx.out.stream.flush()

        watch_events(ctx.client, request, show)
        return 0
    collected = []
    watch_events(ctx.client, request, collected.append)
    if ctx.out.json:
        ctx.out.data([to_dict(e) for e in collected])
        return 0
    if not collected:
        ctx.out.line("no events")
        return 0
    ctx.out.table(columns, [_row(e) for e in collected])
    return 0
