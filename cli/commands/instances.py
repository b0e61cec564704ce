"""`cloud instance …`: workloads (containers today)."""
from __future__ import annotations

import time

import grpc

from common.ids import new_request_id
from proto.v1 import public_pb2, resources_pb2

from cli import argtypes
from cli.commands import placement, volumes
from cli.commands import vms
from cli.errors import EXIT_ERROR, CliError, RpcFailure, is_retryable
from cli.output import enum_label, pairs, since, size, timestamp

S = resources_pb2.InstanceState
POLL_SECONDS = 0.5
LOG_TIMEOUT = 15.0


def register(subparsers, parents) -> None:
    instance = subparsers.add_parser("instance", help="workloads", parents=parents)
    actions = instance.add_subparsers(dest="action", metavar="ACTION", required=True)

    create = actions.add_parser("create", parents=parents, help="create and start an instance")
    create.add_argument("name", type=argtypes.resource_name, metavar="NAME")
    create.add_argument("--image", required=True, help="container image, e.g. thecloud/busybox:test")
    create.add_argument("--cpus", type=argtypes.positive_int, default=1, help="vCPUs (default 1)")
    create.add_argument("--memory", type=argtypes.size, default="128M",
                        help="memory, e.g. 128M, 2G (default 128M)")
    create.add_argument("--disk", type=argtypes.size, default="0", help="disk, e.g. 1G (default 0)")
    create.add_argument("--command", type=argtypes.command,
                        help="command line, split like a shell would: 'httpd -f -p 8080'")
    create.add_argument("--env", type=argtypes.key_value, action="append", default=[],
                        metavar="K=V", help="environment variable (repeatable)")
    create.add_argument("--secret-env", type=argtypes.key_value, action="append", default=[],
                        metavar="VAR=SECRET", help="environment variable from a secret of the project "
                                                   "(repeatable)")
    create.add_argument("--label", type=argtypes.key_value, action="append", default=[],
                        metavar="K=V", help="label on the instance (repeatable)")
    create.add_argument("--restart", choices=("never", "on-failure", "always"), default="never",
                        help="restart policy (default never)")
    create.add_argument("--host-label", type=argtypes.key_value, action="append", default=[],
                        metavar="K=V", help="only place on hosts carrying this label (repeatable)")
    create.add_argument("--subnet", default="", help="give it a NIC in this VPC subnet (name or id)")
    create.add_argument("--ip", default="", help="the NIC's address (default: the next free one)")
    volumes.add_create_options(create)
    vms.add_create_options(create)
    create.add_argument("--security-group", dest="security_groups", action="append", default=[],
                        metavar="GROUP", help="security group of the NIC (repeatable)")
    create.add_argument("--request-id", default=None,
                        help="idempotency key; repeating a create with the same id is harmless "
                             "(default: a fresh one, reused for this command's own retries)")
    placement.add_create_options(create)
    _add_wait(create, "RUNNING")
    create.set_defaults(func=create_command)

    listing = actions.add_parser("list", parents=parents, help="instances of the project")
    listing.add_argument("--host", help="only instances on this host (name or id)")
    listing.set_defaults(func=list_command)

    show = actions.add_parser("show", parents=parents, help="one instance in detail")
    show.add_argument("name", metavar="NAME", help="instance name or id")
    show.set_defaults(func=show_command)

    for verb, goal, func, text in (("stop", "STOPPED", stop_command, "stop an instance"),
                                   ("start", "RUNNING", start_command, "start a stopped instance"),
                                   ("delete", "gone", delete_command, "delete an instance")):
        parser = actions.add_parser(verb, parents=parents, help=text)
        parser.add_argument("name", metavar="NAME", help="instance name or id")
        _add_wait(parser, goal)
        parser.set_defaults(func=func)

    logs = actions.add_parser("logs", parents=parents, help="what the instance printed")
    logs.add_argument("name", metavar="NAME", help="instance name or id")
    logs.add_argument("--tail", type=argtypes.non_negative_int, default=0, metavar="N",
                      help="only the last N lines (default: everything)")
    logs.set_defaults(func=logs_command)
    vms.add_instance_actions(actions, parents, logs_command)


def _add_wait(parser, goal: str) -> None:
    parser.add_argument("--wait", action="store_true",
                        help=f"return only once the instance is {goal} (non-zero exit if it fails)")
    parser.add_argument("--timeout", type=argtypes.seconds, default=60.0, metavar="SECONDS",
                        help="how long --wait waits (default 60)")


def state(value: int) -> str:
    return enum_label(S, value, "INSTANCE_STATE_")


def _where(inst) -> str:
    return f" on {inst.host_name}" if inst.host_name else ""


def wait_for(ctx, ref: str, goal: set[int], failed: set[int] = frozenset(), *,
             timeout: float, min_revision: int = 0, gone: bool = False,
             what: str | None = None, label: str | None = None):
    """Poll instance `ref` until its state is in `goal` (or it is gone, with `gone`).

    States older than `min_revision` (a replica that has not caught up with our own
    change yet) are not judged. A state in `failed` ends the wait with CliError;
    so does the timeout. Returns the instance (None when waiting for it to be gone).
    """
    what = what or ("gone" if gone else " or ".join(state(s) for s in sorted(goal)))
    label = label or ref
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            inst = ctx.client.call("Instances", "GetInstance",
                                   public_pb2.GetInstanceRequest(name=ref, project=ctx.project))
        except RpcFailure as err:
            if err.code == grpc.StatusCode.NOT_FOUND:
                if gone:
                    return None
                # Before the first answer this may be a replica that has not seen a
                # create yet; afterwards it really is gone.
                if last is not None:
                    raise CliError(f"instance '{label}' was deleted while waiting for it to be {what}")
            elif not is_retryable(err.code):
                raise
        else:
            last = inst
            if not gone and inst.meta.revision >= min_revision:
                if inst.state in goal:
                    return inst
                if inst.state in failed:
                    reason = inst.reason or "no reason given"
                    raise CliError(f"instance '{label}' is {state(inst.state)}: {reason}",
                                   EXIT_ERROR)
        if time.monotonic() >= deadline:
            now = f" (it is {state(last.state)}{': ' + last.reason if last.reason else ''})" if last else ""
            raise CliError(f"timed out after {timeout:g}s waiting for instance '{label}' to be {what}{now}")
        time.sleep(POLL_SECONDS)


def create_command(args, ctx) -> int:
    spec = resources_pb2.InstanceSpec(
        kind="container", image=args.image, vcpus=args.cpus, memory_bytes=args.memory,
        disk_bytes=args.disk, command=args.command or [], env=dict(args.env),
        restart_policy=args.restart, host_labels=dict(args.host_label),
        secret_env=dict(args.secret_env),
        subnet=args.subnet, ip=args.ip, security_groups=args.security_groups)
    request = public_pb2.CreateInstanceRequest(
        name=args.name, project=ctx.project, spec=spec, labels=dict(args.label),
        request_id=args.request_id or new_request_id())
    placement.apply_create_options(args, request.spec)
    volumes.apply_create_options(args, request.spec)
    vms.apply_create_options(args, request.spec)
    if args.dry_run:
        return placement.dry_run(ctx, request)
    inst = ctx.client.call("Instances", "CreateInstance", request, write=True)
    if args.wait:
        inst = wait_for(ctx, inst.meta.id or args.name, {S.INSTANCE_STATE_RUNNING},
                        {S.INSTANCE_STATE_FAILED}, timeout=args.timeout,
                        min_revision=inst.meta.revision, label=args.name)
    if ctx.out.json:
        ctx.out.data(inst)
    elif args.wait:
        runtime = f" (container {inst.runtime_id[:12]})" if inst.runtime_id else ""
        ctx.out.line(f"instance {inst.meta.name} is {state(inst.state)}{_where(inst)}{runtime}")
    else:
        ctx.out.line(f"instance {inst.meta.name} created ({inst.meta.id}): "
                     f"{state(inst.state)}{_where(inst)}")
    return 0


def list_command(args, ctx) -> int:
    request = public_pb2.ListInstancesRequest(project=ctx.project, page_size=100,
                                              host=args.host or "")
    result = ctx.client.list_all("Instances", "ListInstances", request, "instances")
    if ctx.out.json:
        ctx.out.data(result)
        return 0
    rows = [(i.meta.name, state(i.state), i.host_name, i.spec.image, i.spec.vcpus,
             size(i.spec.memory_bytes), since(i.meta.created_at), i.reason)
            for i in result.instances]
    if not rows:
        where = f" on host {args.host}" if args.host else ""
        ctx.out.line(f"no instances in project '{ctx.project}'{where}")
        return 0
    ctx.out.table(["NAME", "STATE", "HOST", "IMAGE", "VCPUS", "MEMORY", "CREATED", "REASON"], rows)
    return 0


def show_command(args, ctx) -> int:
    i = ctx.client.call("Instances", "GetInstance",
                        public_pb2.GetInstanceRequest(name=args.name, project=ctx.project))
    if ctx.out.json:
        ctx.out.data(i)
        return 0
    spec = i.spec
    ended = i.state in (S.INSTANCE_STATE_STOPPED, S.INSTANCE_STATE_FAILED)
    ctx.out.fields([
        ("name", i.meta.name),
        ("id", i.meta.id),
        ("project", i.meta.project),
        ("state", state(i.state)),
        ("desired", i.desired_state),
        ("reason", i.reason),
        ("host", f"{i.host_name} ({i.host_id})" if i.host_id else i.host_name),
        ("runtime id", i.runtime_id),
        ("started", timestamp(i.started_at)),
        ("finished", timestamp(i.finished_at)),
        ("exit code", i.exit_code if ended else None),
        ("created", timestamp(i.meta.created_at)),
        ("updated", timestamp(i.meta.updated_at)),
        ("revision", i.meta.revision),
        ("labels", pairs(i.meta.labels)),
        ("kind", spec.kind or "container"),
        ("image", spec.image),
        ("vcpus", spec.vcpus),
        ("memory", size(spec.memory_bytes)),
        ("disk", size(spec.disk_bytes)),
        ("command", " ".join(spec.command) if spec.command else "(image default)"),
        ("env", pairs(spec.env)),
        ("restart", spec.restart_policy or "never"),
        *vms.show_fields(i),
        ("host labels", pairs(spec.host_labels)),
        ("port", f"{i.port.ip}/{i.port.prefix_len} in {i.port.subnet} (vpc {i.port.vpc}), mac {i.port.mac}, "
                 f"gateway {i.port.gateway}, mtu {i.port.mtu}, groups: "
                 f"{', '.join(i.port.security_groups) or 'none'}" if i.HasField("port") else None),
    ])
    return 0


def _state_change(args, ctx, method: str, request, goal: set[int], failed: set[int], verb: str) -> int:
    inst = ctx.client.call("Instances", method, request, write=True)
    if args.wait:
        inst = wait_for(ctx, inst.meta.id or args.name, goal, failed, timeout=args.timeout,
                        min_revision=inst.meta.revision, label=args.name)
    if ctx.out.json:
        ctx.out.data(inst)
    elif args.wait:
        ctx.out.line(f"instance {inst.meta.name} is {state(inst.state)}{_where(inst)}")
    else:
        ctx.out.line(f"instance {inst.meta.name}: {verb} requested (now {state(inst.state)})")
    return 0


def stop_command(args, ctx) -> int:
    request = public_pb2.StopInstanceRequest(name=args.name, project=ctx.project)
    # Stopped is the goal; a FAILED state (killed with a non-zero exit) is not running either.
    return _state_change(args, ctx, "StopInstance", request,
                         {S.INSTANCE_STATE_STOPPED, S.INSTANCE_STATE_FAILED}, set(), "stop")


def start_command(args, ctx) -> int:
    request = public_pb2.StartInstanceRequest(name=args.name, project=ctx.project)
    return _state_change(args, ctx, "StartInstance", request,
                         {S.INSTANCE_STATE_RUNNING}, {S.INSTANCE_STATE_FAILED}, "start")


def delete_command(args, ctx) -> int:
    request = public_pb2.DeleteInstanceRequest(name=args.name, project=ctx.project)
    # NOT_FOUND after an attempt whose outcome was unknown: that attempt deleted it.
    response = ctx.client.call("Instances", "DeleteInstance", request, write=True,
                               ok_after_retry=(grpc.StatusCode.NOT_FOUND,))
    if args.wait:
        wait_for(ctx, args.name, set(), timeout=args.timeout, gone=True)
    if ctx.out.json:
        ctx.out.data(response or public_pb2.DeleteInstanceResponse())
    else:
        ctx.out.line(f"instance {args.name} {'deleted' if args.wait else 'is being deleted'}")
    return 0


def logs_command(args, ctx) -> int:
    request = public_pb2.GetInstanceLogsRequest(name=args.name, project=ctx.project,
                                                tail_lines=args.tail)
    logs = ctx.client.call("Instances", "GetInstanceLogs", request, timeout=LOG_TIMEOUT)
    if ctx.out.json:
        ctx.out.data(logs)
        return 0
    stream = getattr(ctx.out.stream, "buffer", None)
    if stream is not None:
        stream.write(logs.data)
    else:
        ctx.out.stream.write(logs.data.decode("utf-8", "replace"))
    ctx.out.stream.flush()
    return 0
