"""`cloud cluster …`: the scheduler quorum."""
from __future__ import annotations

from proto.v1 import public_pb2, resources_pb2

from cli.commands import cluster_ops
from cli.output import enum_label
from cli.commands import tokens


def register(subparsers, parents) -> None:
    cluster = subparsers.add_parser("cluster", help="the scheduler quorum", parents=parents)
    actions = cluster.add_subparsers(dest="action", metavar="ACTION", required=True)
    status = actions.add_parser("status", parents=parents,
                                help="every scheduler member: role, term, Raft indexes, reachability")
    status.set_defaults(func=status_command)
    tokens.register_init(actions, parents)   # `cloud cluster init`
    cluster_ops.register_actions(actions, parents)


def role(value: int) -> str:
    return enum_label(resources_pb2.MemberRole, value, "MEMBER_ROLE_")


def status_command(args, ctx) -> int:
    status = ctx.client.call("Cluster", "GetStatus", public_pb2.GetClusterStatusRequest())
    if ctx.out.json:
        ctx.out.data(status)
        return 0
    leader = status.leader or "none (election in progress?)"
    ctx.out.line(f"cluster {status.cluster_name or '-'}: leader {leader}, term {status.term}; "
                 f"hosts {status.hosts_up}/{status.hosts_total} up; instances {status.instances}")
    rows = [(m.name, m.api_address, m.raft_address, role(m.role) if m.reachable else "-",
             m.term if m.reachable else "-", m.commit_index if m.reachable else "-",
             m.applied_index if m.reachable else "-", "yes" if m.reachable else "no",
             m.version or "-", m.error) for m in status.members]
    ctx.out.table(["NAME", "API", "RAFT", "ROLE", "TERM", "COMMIT", "APPLIED", "REACHABLE", "VERSION", "ERROR"],
                  rows)
    return 0
