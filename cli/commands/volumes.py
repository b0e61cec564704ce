"""`cloud volume …` and `cloud snapshot …`: block volumes on the hosts' pools."""
from __future__ import annotations

import argparse
import time

import grpc

from common.ids import new_request_id
from proto.v1 import storage_pb2, volumes_pb2

from cli import argtypes
from cli.errors import CliError, RpcFailure
from cli.output import enum_label, pairs, since, size, timestamp

VS = volumes_pb2.VolumeState
POLL_SECONDS = 0.3


def state(value: int) -> str:
    return enum_label(VS, value, "VOLUME_STATE_")


def volume_size(text: str) -> int:
    """A size that must be positive ("10G")."""
    value = argtypes.size(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive size")
    return value


def add_create_options(parser) -> None:
    """`cloud instance create --volume NAME[:PATH]`."""
    parser.add_argument("--volume", dest="volumes", action="append", default=[], metavar="NAME[:PATH]",
                        help="mount this volume (default at /data) before the start; the instance "
                             "runs on the volume's host (repeatable)")


def apply_create_options(args, spec) -> None:
    for item in getattr(args, "volumes", []):
        name, _, path = item.partition(":")
        spec.volumes.append(storage_pb2.VolumeAttachment(volume=name, path=path or "/data"))


def register(subparsers, parents) -> None:
    volume = subparsers.add_parser("volume", help="block volumes", parents=parents)
    actions = volume.add_subparsers(dest="action", metavar="ACTION", required=True)

    create = actions.add_parser("create", parents=parents, help="create a volume")
    create.add_argument("name", type=argtypes.resource_name, metavar="NAME")
    create.add_argument("--size", type=volume_size, default=0, help="size, e.g. 10G (a clone: at least "
                                                                      "its snapshot's)")
    where = create.add_mutually_exclusive_group()
    where.add_argument("--host", default="", help="on this host (name or id)")
    where.add_argument("--near", default="", metavar="INSTANCE", help="on the host of this instance")
    create.add_argument("--from-snapshot", default="", metavar="SNAPSHOT", help="a thin clone of a snapshot")
    create.add_argument("--label", type=argtypes.key_value, action="append", default=[], metavar="K=V")
    _add_wait(create)
    create.set_defaults(func=create_command)

    listing = actions.add_parser("list", parents=parents, help="volumes of the project")
    listing.add_argument("--host", default="", help="only volumes on this host")
    listing.set_defaults(func=list_command)

    show = actions.add_parser("show", parents=parents, help="one volume in detail")
    show.add_argument("name", metavar="NAME")
    show.set_defaults(func=show_command)

    delete = actions.add_parser("delete", parents=parents, help="delete a volume")
    delete.add_argument("name", metavar="NAME")
    delete.add_argument("--cascade", action="store_true", help="also delete its snapshots")
    _add_wait(delete)
    delete.set_defaults(func=delete_command)

    resize = actions.add_parser("resize", parents=parents, help="grow a volume")
    resize.add_argument("name", metavar="NAME")
    resize.add_argument("--size", type=volume_size, required=True, help="the new size, e.g. 20G")
    _add_wait(resize)
    resize.set_defaults(func=resize_command)

    attach = actions.add_parser("attach", parents=parents, help="attach to an instance on its host")
    attach.add_argument("name", metavar="NAME")
    attach.add_argument("instance", metavar="INSTANCE")
    attach.add_argument("--path", default="", help="mount point in a container (default /data); "
                        "a VM sees the volume as /dev/disk/by-id/virtio-<volume id>")
    attach.set_defaults(func=attach_command)

    detach = actions.add_parser("detach", parents=parents, help="detach from its instance")
    detach.add_argument("name", metavar="NAME")
    detach.set_defaults(func=detach_command)

    revert = actions.add_parser("revert", parents=parents, help="revert a detached volume to a snapshot")
    revert.add_argument("name", metavar="NAME")
    revert.add_argument("--snapshot", required=True)
    _add_wait(revert)
    revert.set_defaults(func=revert_command)

    pools = actions.add_parser("pools", parents=parents, help="every host's volume pool")
    pools.set_defaults(func=pools_command)

    snapshot = subparsers.add_parser("snapshot", help="volume snapshots", parents=parents)
    snap_actions = snapshot.add_subparsers(dest="action", metavar="ACTION", required=True)
    screate = snap_actions.add_parser("create", parents=parents, help="snapshot a volume")
    screate.add_argument("name", type=argtypes.resource_name, metavar="NAME")
    screate.add_argument("--volume", required=True)
    screate.add_argument("--label", type=argtypes.key_value, action="append", default=[], metavar="K=V")
    _add_wait(screate)
    screate.set_defaults(func=snapshot_create_command)
    slist = snap_actions.add_parser("list", parents=parents, help="snapshots of the project")
    slist.add_argument("--volume", default="", help="only this volume's")
    slist.set_defaults(func=snapshot_list_command)
    sdelete = snap_actions.add_parser("delete", parents=parents, help="delete a snapshot")
    sdelete.add_argument("name", metavar="NAME")
    sdelete.set_defaults(func=snapshot_delete_command)


def _add_wait(parser) -> None:
    parser.add_argument("--wait", action="store_true", help="return once the host has done it")
    parser.add_argument("--timeout", type=argtypes.seconds, default=60.0, metavar="SECONDS")


def _wait(ctx, service: str, method: str, request, done, timeout: float, label: str):
    """Poll until `done(item)` (item None: gone); CliError on ERROR or the timeout."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            item = ctx.client.call(service, method, request)
        except RpcFailure as err:
            if err.code != grpc.StatusCode.NOT_FOUND:
                raise
            item = None
        if done(item):
            return item
        if item is not None and item.state == VS.VOLUME_STATE_ERROR:
            raise CliError(f"{label} is in ERROR: {item.reason}")
        if time.monotonic() > deadline:
            raise CliError(f"timed out after {timeout:g}s waiting for {label}")
        time.sleep(POLL_SECONDS)


def _wait_volume(ctx, name: str, args, done) -> volumes_pb2.Volume:
    return _wait(ctx, "Volumes", "GetVolume", volumes_pb2.GetVolumeRequest(name=name, project=ctx.project),
                 done, args.timeout, f"volume {name}")


def _settled(v) -> bool:
    return v is not None and v.state in (VS.VOLUME_STATE_AVAILABLE, VS.VOLUME_STATE_IN_USE) \
        and v.observed_size_bytes >= v.size_bytes


def _print_volume(ctx, v, verb: str) -> None:
    if ctx.out.json:
        ctx.out.data(v)
    else:
        attached = f", attached to {v.attached_to} at {v.attach_path}" if v.attached_to else ""
        ctx.out.line(f"volume {v.meta.name} {verb}: {state(v.state)}, {size(v.size_bytes)} on "
                     f"{v.host_name}{attached}")


def create_command(args, ctx) -> int:
    if not args.size and not args.from_snapshot:
        raise CliError("--size is required (unless --from-snapshot)", 2)
    request = volumes_pb2.CreateVolumeRequest(
        name=args.name, project=ctx.project, size_bytes=args.size, host=args.host,
        near_instance=args.near, from_snapshot=args.from_snapshot, labels=dict(args.label),
        request_id=new_request_id())
    v = ctx.client.call("Volumes", "CreateVolume", request, write=True)
    if args.wait:
        v = _wait_volume(ctx, args.name, args, _settled)
    _print_volume(ctx, v, "created")
    return 0


def list_command(args, ctx) -> int:
    result = ctx.client.list_all("Volumes", "ListVolumes", volumes_pb2.ListVolumesRequest(
        project=ctx.project, page_size=100, host=args.host), "volumes")
    if ctx.out.json:
        ctx.out.data(result)
        return 0
    rows = [(v.meta.name, state(v.state), size(v.size_bytes), size(v.used_bytes), v.host_name,
             f"{v.attached_to}:{v.attach_path}" if v.attached_to else "", v.snapshots,
             since(v.meta.created_at), v.reason) for v in result.volumes]
    if not rows:
        ctx.out.line(f"no volumes in project '{ctx.project}'")
        return 0
    ctx.out.table(["NAME", "STATE", "SIZE", "USED", "HOST", "ATTACHED", "SNAPSHOTS", "CREATED", "REASON"], rows)
    return 0


def show_command(args, ctx) -> int:
    v = ctx.client.call("Volumes", "GetVolume", volumes_pb2.GetVolumeRequest(name=args.name, project=ctx.project))
    if ctx.out.json:
        ctx.out.data(v)
        return 0
    ctx.out.fields([
        ("name", v.meta.name), ("id", v.meta.id), ("project", v.meta.project), ("state", state(v.state)),
        ("reason", v.reason), ("size", size(v.size_bytes)), ("size on host", size(v.observed_size_bytes)),
        ("used", size(v.used_bytes)), ("host", f"{v.host_name} ({v.host_id})"),
        ("attached to", f"{v.attached_to} at {v.attach_path}" if v.attached_to else "-"),
        ("from snapshot", v.source_snapshot or "-"), ("snapshots", v.snapshots),
        ("labels", pairs(v.meta.labels)), ("created", timestamp(v.meta.created_at)),
        ("updated", timestamp(v.meta.updated_at)), ("revision", v.meta.revision),
    ])
    return 0


def delete_command(args, ctx) -> int:
    ctx.client.call("Volumes", "DeleteVolume", volumes_pb2.DeleteVolumeRequest(
        name=args.name, project=ctx.project, cascade=args.cascade), write=True,
        ok_after_retry=(grpc.StatusCode.NOT_FOUND,))
    if args.wait:
        _wait_volume(ctx, args.name, args, lambda v: v is None)
    ctx.out.line(f"volume {args.name} {'deleted' if args.wait else 'is being deleted'}")
    return 0


def resize_command(args, ctx) -> int:
    v = ctx.client.call("Volumes", "ResizeVolume", volumes_pb2.ResizeVolumeRequest(
        name=args.name, project=ctx.project, size_bytes=args.size), write=True)
    if args.wait:
        v = _wait_volume(ctx, args.name, args, _settled)
    _print_volume(ctx, v, "resized")
    return 0


def attach_command(args, ctx) -> int:
    v = ctx.client.call("Volumes", "AttachVolume", volumes_pb2.AttachVolumeRequest(
        name=args.name, project=ctx.project, instance=args.instance, path=args.path), write=True)
    _print_volume(ctx, v, "attached")
    return 0


def detach_command(args, ctx) -> int:
    v = ctx.client.call("Volumes", "DetachVolume", volumes_pb2.DetachVolumeRequest(
        name=args.name, project=ctx.project), write=True)
    _print_volume(ctx, v, "detached")
    return 0


def revert_command(args, ctx) -> int:
    v = ctx.client.call("Volumes", "RevertVolume", volumes_pb2.RevertVolumeRequest(
        name=args.name, project=ctx.project, snapshot=args.snapshot), write=True)
    if args.wait:
        v = _wait_volume(ctx, args.name, args, _settled)
    _print_volume(ctx, v, f"reverted to {args.snapshot}")
    return 0


def pools_command(args, ctx) -> int:
    result = ctx.client.call("Volumes", "ListStoragePools", volumes_pb2.ListStoragePoolsRequest())
    if ctx.out.json:
        ctx.out.data(result)
        return 0
    rows = [(p.host_name, p.driver, size(p.total_bytes), size(p.used_bytes), size(p.provisioned_bytes),
             f"{p.overcommit:g}x") for p in result.pools]
    if not rows:
        ctx.out.line("no host reports a volume pool yet")
        return 0
    ctx.out.table(["HOST", "DRIVER", "SIZE", "USED", "PROVISIONED", "OVERCOMMIT"], rows)
    return 0


def snapshot_create_command(args, ctx) -> int:
    s = ctx.client.call("Snapshots", "CreateSnapshot", volumes_pb2.CreateSnapshotRequest(
        name=args.name, project=ctx.project, volume=args.volume, labels=dict(args.label),
        request_id=new_request_id()), write=True)
    if args.wait:
        s = _wait(ctx, "Snapshots", "GetSnapshot", volumes_pb2.GetSnapshotRequest(name=args.name, project=ctx.project),
                  lambda x: x is not None and x.state == VS.VOLUME_STATE_AVAILABLE, args.timeout,
                  f"snapshot {args.name}")
    if ctx.out.json:
        ctx.out.data(s)
    else:
        ctx.out.line(f"snapshot {s.meta.name} of volume {s.volume}: {state(s.state)}")
    return 0


def snapshot_list_command(args, ctx) -> int:
    result = ctx.client.list_all("Snapshots", "ListSnapshots", volumes_pb2.ListSnapshotsRequest(
        project=ctx.project, volume=args.volume, page_size=100), "snapshots")
    if ctx.out.json:
        ctx.out.data(result)
        return 0
    rows = [(s.meta.name, s.volume, state(s.state), size(s.size_bytes), s.host_name, since(s.meta.created_at),
             s.reason) for s in result.snapshots]
    if not rows:
        ctx.out.line(f"no snapshots in project '{ctx.project}'")
        return 0
    ctx.out.table(["NAME", "VOLUME", "STATE", "SIZE", "HOST", "CREATED", "REASON"], rows)
    return 0


def snapshot_delete_command(args, ctx) -> int:
    ctx.client.call("Snapshots", "DeleteSnapshot", volumes_pb2.DeleteSnapshotRequest(
        name=args.name, project=ctx.project), write=True, ok_after_retry=(grpc.StatusCode.NOT_FOUND,))
    ctx.out.line(f"snapshot {args.name} is being deleted")
    return 0
