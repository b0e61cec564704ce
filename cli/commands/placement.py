"""`cloud group …`, the placement options of `cloud instance create`, and the
host operations that steer placement (`cloud host label|cordon|uncordon|drain|maintenance`)."""
from __future__ import annotations

from google.protobuf import field_mask_pb2

from proto.v1 import placement_pb2

from cli import argtypes
from cli.errors import UsageError
from cli.output import pairs

POLICIES = ("anti-affinity", "affinity", "spread")
DOMAINS = ("host", "rack", "zone")


def register(subparsers, parents) -> None:
    group = subparsers.add_parser("group", help="placement groups (affinity, anti-affinity, spread)",
                                  parents=parents)
    actions = group.add_subparsers(dest="action", metavar="ACTION", required=True)
    create = actions.add_parser("create", parents=parents, help="create a placement group")
    create.add_argument("name", type=argtypes.resource_name, metavar="NAME")
    create.add_argument("--policy", choices=POLICIES, required=True)
    create.add_argument("--domain", choices=DOMAINS, default="host",
                        help="failure domain the policy counts members in (default host)")
    create.add_argument("--max-per-domain", type=argtypes.non_negative_int, default=0, metavar="N",
                        help="at most N members per domain (anti-affinity default 1)")
    create.add_argument("--soft", action="store_true", help="prefer, but never refuse a placement")
    create.set_defaults(func=create_group)
    update = actions.add_parser("update", parents=parents, help="change a group's rule")
    update.add_argument("name", metavar="NAME")
    update.add_argument("--policy", choices=POLICIES)
    update.add_argument("--domain", choices=DOMAINS)
    update.add_argument("--max-per-domain", type=argtypes.non_negative_int, metavar="N")
    update.add_argument("--soft", dest="soft", action="store_true", default=None)
    update.add_argument("--hard", dest="soft", action="store_false")
    update.set_defaults(func=update_group)
    actions.add_parser("list", parents=parents, help="placement groups").set_defaults(func=list_groups)
    for verb, func, text in (("show", show_group, "one group and where its members are"),
                             ("delete", delete_group, "delete an empty group")):
        parser = actions.add_parser(verb, parents=parents, help=text)
        parser.add_argument("name", metavar="NAME")
        parser.set_defaults(func=func)


def register_host_actions(actions, parents) -> None:
    """Called by `cloud host`'s own registration."""
    label = actions.add_parser("label", parents=parents, help="set or remove operator labels on a host")
    label.add_argument("name", metavar="HOST")
    label.add_argument("changes", nargs="+", metavar="KEY=VALUE|KEY-",
                       help="zone=a sets a label, zone- removes it")
    label.set_defaults(func=label_host)
    for verb, mode, text in (("cordon", "cordoned", "no new instances on the host"),
                             ("uncordon", "active", "the host takes new instances again"),
                             ("drain", "draining", "no new instances; move those with a restart policy away "
                                          "(see evacuate to move everything, with a report)")):
        parser = actions.add_parser(verb, parents=parents, help=text)
        parser.add_argument("name", metavar="HOST")
        parser.set_defaults(func=set_mode, mode=mode)
    maintenance = actions.add_parser("maintenance", parents=parents,
                                     help="on: drain the host for maintenance; off: back in service")
    maintenance.add_argument("switch", choices=("on", "off"))
    maintenance.add_argument("name", metavar="HOST")
    maintenance.set_defaults(func=set_mode, mode=None)


def add_create_options(create) -> None:
    """The placement options of `cloud instance create`."""
    create.add_argument("--constraint", action="append", default=[], metavar="EXPR",
                        help="host label constraint: zone=a, gpu!=none, 'zone in a,b', 'zone notin c', "
                             "ssd, !ssd (repeatable)")
    create.add_argument("--group", help="placement group the instance joins")
    create.add_argument("--strategy", choices=("spread", "binpack"),
                        help="spread (default from the cluster) or binpack")
    create.add_argument("--dry-run", action="store_true",
                        help="show where the instance would go and the best candidates; create nothing")


def apply_create_options(args, spec) -> None:
    spec.constraints.extend(args.constraint)
    spec.group = args.group or ""
    spec.strategy = args.strategy or ""


def dry_run(ctx, request) -> int:
    found = ctx.client.call("Placement", "ExplainPlacement", request)
    if ctx.out.json:
        ctx.out.data(found)
        return 0
    ctx.out.line(found.summary)
    if found.candidates:
        rows = [(c.host_name, f"{c.score:.3f}", ", ".join(f"{k} {v:+.3f}" for k, v in sorted(c.weights.items())))
                for c in found.candidates]
        ctx.out.table(["HOST", "SCORE", "WEIGHERS"], rows, title=f"top candidates ({found.hosts_feasible} "
                                                                  f"of {found.hosts_total} hosts fit)")
    if found.rejected:
        ctx.out.line("removed: " + ", ".join(f"{n} {reason}" for reason, n in
                                            sorted(found.rejected.items(), key=lambda x: -x[1])))
    return 0 if found.placed else 1


def _show(ctx, g) -> None:
    if ctx.out.json:
        ctx.out.data(g)
        return
    ctx.out.fields([
        ("name", g.meta.name), ("id", g.meta.id), ("policy", g.policy), ("domain", g.domain),
        ("max per domain", g.max_per_domain or ("1" if g.policy == "anti-affinity" else "no limit")),
        ("rule", "soft (weighs)" if g.soft else "hard (refuses)"), ("members", g.members),
        ("members per domain", pairs(g.members_per_domain)),
    ])


def create_group(args, ctx) -> int:
    g = ctx.client.call("Placement", "CreateGroup", placement_pb2.CreateGroupRequest(
        name=args.name, project=ctx.project, policy=args.policy, domain=args.domain,
        max_per_domain=args.max_per_domain, soft=args.soft), write=True)
    _show(ctx, g)
    return 0


def update_group(args, ctx) -> int:
    group = placement_pb2.PlacementGroup()
    group.meta.name, group.meta.project = args.name, ctx.project
    paths = []
    for path in ("policy", "domain", "max_per_domain", "soft"):
        value = getattr(args, path)
        if value is not None:
            setattr(group, path, value)
            paths.append(path)
    if not paths:
        raise UsageError("cloud group update: change at least one of --policy, --domain, "
                         "--max-per-domain, --soft/--hard")
    g = ctx.client.call("Placement", "UpdateGroup", placement_pb2.UpdateGroupRequest(
        group=group, update_mask=field_mask_pb2.FieldMask(paths=paths)), write=True)
    _show(ctx, g)
    return 0


def list_groups(args, ctx) -> int:
    result = ctx.client.list_all("Placement", "ListGroups",
                                 placement_pb2.ListGroupsRequest(project=ctx.project, page_size=100), "groups")
    if ctx.out.json:
        ctx.out.data(result)
        return 0
    if not result.groups:
        ctx.out.line(f"no placement groups in project '{ctx.project}'")
        return 0
    ctx.out.table(["NAME", "POLICY", "DOMAIN", "MAX", "RULE", "MEMBERS"],
                  [(g.meta.name, g.policy, g.domain, g.max_per_domain or "-", "soft" if g.soft else "hard",
                    g.members) for g in result.groups])
    return 0


def show_group(args, ctx) -> int:
    _show(ctx, ctx.client.call("Placement", "GetGroup",
                               placement_pb2.GetGroupRequest(name=args.name, project=ctx.project)))
    return 0


def delete_group(args, ctx) -> int:
    ctx.client.call("Placement", "DeleteGroup",
                    placement_pb2.DeleteGroupRequest(name=args.name, project=ctx.project), write=True)
    ctx.out.line(f"placement group {args.name} deleted")
    return 0


def label_host(args, ctx) -> int:
    labels, remove = {}, []
    for change in args.changes:
        if change.endswith("-") and "=" not in change:
            remove.append(change[:-1])
        elif "=" in change:
            key, _, value = change.partition("=")
            labels[key] = value
        else:
            raise UsageError(f"cloud host label: {change!r} is neither KEY=VALUE nor KEY-")
    h = ctx.client.call("Placement", "SetHostLabels", placement_pb2.SetHostLabelsRequest(
        name=args.name, labels=labels, remove=remove), write=True)
    if ctx.out.json:
        ctx.out.data(h)
    else:
        ctx.out.line(f"host {h.meta.name}: labels {pairs(h.meta.labels) or '(none)'}")
    return 0


def set_mode(args, ctx) -> int:
    mode = args.mode or ("maintenance" if args.switch == "on" else "active")
    h = ctx.client.call("Placement", "SetHostSchedulable",
                        placement_pb2.SetHostSchedulableRequest(name=args.name, mode=mode), write=True)
    if ctx.out.json:
        ctx.out.data(h)
    else:
        ctx.out.line(f"host {h.meta.name} is {h.schedulable}")
    return 0


