"""`cloud cluster add-node | remove-node | backup | restore | join-token | rotate-ca`."""
from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path

from proto.v1 import operations_pb2

from cli import own_certificate
from cli.errors import CliError, UsageError

_TTL_RE = re.compile(r"^(\d+)([smhd]?)\Z")
_TTL_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_ttl(text: str) -> int:
    match = _TTL_RE.match(text.strip().lower())
    if not match:
        raise UsageError(f"cloud cluster join-token: --ttl {text!r} is not like 90s, 30m, 1h or 2d")
    return int(match.group(1)) * _TTL_UNITS[match.group(2)]


def register_actions(actions, parents) -> None:
    add = actions.add_parser("add-node", parents=parents, help="add a scheduler to the Raft quorum")
    add.add_argument("raft_address", metavar="RAFT_ADDR", help="the new node's Raft address (host:port)")
    add.add_argument("--name", required=True, help="its name (its certificate's CN)")
    add.add_argument("--api", required=True, metavar="HOST:PORT", help="its public API address")
    add.set_defaults(func=add_node_command)
    remove = actions.add_parser("remove-node", parents=parents,
                                help="remove a scheduler (refused if the rest would lose quorum)")
    remove.add_argument("node", metavar="NAME|RAFT_ADDR")
    remove.add_argument("--force", action="store_true", help="remove even if the rest lose quorum")
    remove.set_defaults(func=remove_node_command)
    backup = actions.add_parser("backup", parents=parents,
                                help="write a consistent snapshot of the cluster state to FILE")
    backup.add_argument("file", metavar="FILE")
    backup.set_defaults(func=backup_command)
    restore = actions.add_parser("restore", parents=parents,
                                 help="load a backup into a new, empty cluster")
    restore.add_argument("file", metavar="FILE")
    restore.set_defaults(func=restore_command)
    token = actions.add_parser("join-token", parents=parents,
                               help="a short-lived, single-use token that enrolls the host NAME "
                                    "(`thecloud-agent enroll`)")
    token.add_argument("name", metavar="NAME", help="the host (or, with --role scheduler, the scheduler) "
                       "it enrolls: its certificate's name")
    token.add_argument("--address", action="append", default=[],
                       help="an IP or DNS name its certificate carries (repeatable; default: the "
                            "address it enrolls from)")
    token.add_argument("--ttl", default="1h", help="lifetime: 90s, 30m, 1h, 2d (default 1h)")
    token.add_argument("--role", default="agent", choices=("agent", "scheduler"))
    token.set_defaults(func=join_token_command)
    rotate = actions.add_parser("rotate-ca", parents=parents,
                                help="a new cluster CA without downtime: begin, reissue, finish")
    rotate.add_argument("phase", choices=("begin", "reissue", "finish", "status"),
                        help="begin: new CA, every node trusts old + new; reissue: agents, schedulers "
                             "and this admin renew now (other admins at their next command); finish: "
                             "only the new CA is trusted (refused while a certificate is from the old one)")
    rotate.set_defaults(func=rotate_ca_command)


def add_node_command(args, ctx) -> int:
    member = ctx.client.call("Operations", "AddMember", operations_pb2.AddMemberRequest(
        name=args.name, api_address=args.api, raft_address=args.raft_address), timeout=30.0)
    if ctx.out.json:
        ctx.out.data(member)
    else:
        ctx.out.line(f"added {member.name} (raft {member.raft_address}, api {member.api_address})")
    return 0


def remove_node_command(args, ctx) -> int:
    ctx.client.call("Operations", "RemoveMember",
                    operations_pb2.RemoveMemberRequest(name=args.node, force=args.force), timeout=30.0)
    ctx.out.line(f"removed {args.node}")
    return 0


def backup_command(args, ctx) -> int:
    reply = ctx.client.call("Operations", "Backup", operations_pb2.BackupRequest(), timeout=60.0)
    path = Path(args.file)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # it holds every secret the state has
        with os.fdopen(fd, "wb") as f:
            f.write(reply.archive)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as err:
        raise CliError(f"cannot write {path}: {err.strerror}") from None
    if ctx.out.json:
        ctx.out.data({"file": str(path), "revision": reply.revision, "sha256": reply.sha256,
                      "bytes": len(reply.archive)})
    else:
        ctx.out.line(f"wrote {path}: cluster {reply.cluster_name} at revision {reply.revision}, "
                     f"{len(reply.archive)} bytes, sha256 {reply.sha256[:16]}…")
    return 0


def restore_command(args, ctx) -> int:
    try:
        archive = Path(args.file).read_bytes()
    except OSError as err:
        raise UsageError(f"cloud cluster restore: cannot read {args.file}: {err.strerror}") from None
    reply = ctx.client.call("Operations", "Restore", operations_pb2.RestoreRequest(archive=archive),
                            timeout=60.0)
    ctx.out.line(f"restored {reply.hosts} hosts and {reply.instances} instances at revision {reply.revision}")
    return 0


def join_token_command(args, ctx) -> int:
    ttl = parse_ttl(args.ttl)
    token = ctx.client.call("Operations", "CreateJoinToken",
                            operations_pb2.CreateJoinTokenRequest(ttl_seconds=ttl, role=args.role,
                                                                  name=args.name, addresses=args.address))
    if ctx.out.json:
        ctx.out.data(token)
        return 0
    expires = dt.datetime.fromtimestamp(token.expires_at.seconds).astimezone().isoformat(timespec="seconds")
    ctx.out.line(token.token)
    ctx.out.line(f"# single use, for {args.role} {token.name}, expires {expires}; on the new host, "
                 f"with the token in a file only root reads:")
    endpoint = token.enroll_endpoints[0] if token.enroll_endpoints else "SCHEDULER:PORT"
    ctx.out.line(f"#   thecloud-agent enroll --name {token.name} --token-file FILE --scheduler {endpoint} "
                 f"--ca-fingerprint {token.ca_fingerprint}")
    return 0


def rotate_ca_command(args, ctx) -> int:
    phase = "" if args.phase == "status" else args.phase
    reply = ctx.client.call("Operations", "RotateCa", operations_pb2.RotateCaRequest(phase=phase),
                            timeout=30.0)
    # The trust bundle and, from reissue on, a certificate from the new CA for this admin.
    own_certificate.keep_fresh(ctx.settings.endpoints, ctx.settings.tls, reply)
    if ctx.out.json:
        ctx.out.data(reply)
        return 0
    if not reply.phase:
        ctx.out.line("no CA rotation: `cloud cluster rotate-ca begin` starts one")
        return 0
    ctx.out.line(f"CA rotation: {reply.phase}")
    ctx.out.line(f"new CA: {reply.new_ca_fingerprint}")
    ctx.out.line(f"old CA: {reply.old_ca_fingerprint}")
    if reply.pending:
        ctx.out.line(f"still from the old CA: {', '.join(reply.pending)}")
    return 0
