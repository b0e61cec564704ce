"""`cloud image …`: VM images registered in the cluster (agents fetch and cache them)."""
from __future__ import annotations

import grpc

from proto.v1 import images_pb2, vm_pb2

from cli import argtypes
from cli.errors import CliError, UsageError
from cli.image_source import file_url, read_source
from cli.output import pairs, since, size, timestamp


def register(subparsers, parents) -> None:
    image = subparsers.add_parser("image", help="VM images", parents=parents)
    actions = image.add_subparsers(dest="action", metavar="ACTION", required=True)

    imp = actions.add_parser("import", parents=parents, help="register an image (agents fetch it on first use)")
    imp.add_argument("name", type=argtypes.resource_name, metavar="NAME")
    source = imp.add_mutually_exclusive_group(required=True)
    source.add_argument("--file", help="a local qcow2 or raw file (registered as file://: every host "
                                       "must see it at the same path, as in the all-in-one)")
    source.add_argument("--url", help="http(s):// URL the hosts fetch the image from")
    imp.add_argument("--format", choices=("qcow2", "raw"), help="checked against the file (default: detected)")
    imp.add_argument("--sha256", help="expected checksum; the import fails if the bytes differ")
    imp.add_argument("--kernel", help="boot property: a kernel file to boot directly")
    imp.add_argument("--initrd", help="boot property: its initrd")
    imp.add_argument("--cmdline", default="", help="boot property: the kernel command line")
    imp.add_argument("--label", type=argtypes.key_value, action="append", default=[], metavar="K=V")
    imp.set_defaults(func=import_command)

    actions.add_parser("list", parents=parents, help="images of the project").set_defaults(func=list_command)
    show = actions.add_parser("show", parents=parents, help="one image in detail")
    show.add_argument("name", metavar="NAME", help="image name or id")
    show.set_defaults(func=show_command)
    delete = actions.add_parser("delete", parents=parents, help="delete an image no VM uses")
    delete.add_argument("name", metavar="NAME", help="image name or id")
    delete.set_defaults(func=delete_command)


def _boot_file(path: str | None) -> vm_pb2.ImageFile | None:
    if not path:
        return None
    facts = read_source(file_url(path))
    return vm_pb2.ImageFile(url=facts.url, sha256=facts.sha256, size_bytes=facts.size_bytes)


def import_command(args, ctx) -> int:
    facts = read_source(file_url(args.file) if args.file else args.url)
    if args.format and args.format != facts.format:
        raise UsageError(f"{args.file or args.url} is a {facts.format} image, not {args.format}")
    if args.sha256 and args.sha256.lower() != facts.sha256:
        raise CliError(f"checksum mismatch: the bytes of {args.file or args.url} are not the "
                       "ones --sha256 names")
    if (args.initrd or args.cmdline) and not args.kernel:
        raise UsageError("--initrd and --cmdline are boot properties of a --kernel")
    request = images_pb2.ImportImageRequest(
        name=args.name, project=ctx.project, format=facts.format,
        disk=vm_pb2.ImageFile(url=facts.url, sha256=facts.sha256, size_bytes=facts.size_bytes),
        virtual_size_bytes=facts.virtual_size, kernel=_boot_file(args.kernel),
        initrd=_boot_file(args.initrd), cmdline=args.cmdline, labels=dict(args.label))
    image = ctx.client.call("Images", "ImportImage", request, write=True)
    if ctx.out.json:
        ctx.out.data(image)
    else:
        ctx.out.line(f"image {image.meta.name} imported ({image.meta.id}): {image.image.format}, "
                     f"{size(image.image.disk.size_bytes)}, disk {size(image.image.virtual_size_bytes)}, "
                     f"sha256 {image.image.disk.sha256[:16]}…")
    return 0


def list_command(args, ctx) -> int:
    result = ctx.client.list_all("Images", "ListImages",
                                 images_pb2.ListImagesRequest(project=ctx.project, page_size=100),
                                 "images")
    if ctx.out.json:
        ctx.out.data(result)
        return 0
    if not result.images:
        ctx.out.line(f"no images in project '{ctx.project}'")
        return 0
    ctx.out.table(["NAME", "FORMAT", "SIZE", "DISK", "SHA256", "VMS", "CREATED"], [
        (i.meta.name, i.image.format, size(i.image.disk.size_bytes), size(i.image.virtual_size_bytes),
         i.image.disk.sha256[:12], i.instances, since(i.meta.created_at)) for i in result.images])
    return 0


def show_command(args, ctx) -> int:
    i = ctx.client.call("Images", "GetImage", images_pb2.GetImageRequest(name=args.name, project=ctx.project))
    if ctx.out.json:
        ctx.out.data(i)
        return 0
    image = i.image
    ctx.out.fields([
        ("name", i.meta.name), ("id", i.meta.id), ("project", i.meta.project),
        ("format", image.format), ("size", size(image.disk.size_bytes)),
        ("disk size", size(image.virtual_size_bytes)), ("sha256", image.disk.sha256),
        ("source", image.disk.url),
        ("kernel", image.kernel.url or None), ("initrd", image.initrd.url or None),
        ("cmdline", image.cmdline or None), ("used by", f"{i.instances} VM(s)"),
        ("labels", pairs(i.meta.labels)), ("created", timestamp(i.meta.created_at)),
    ])
    return 0


def delete_command(args, ctx) -> int:
    request = images_pb2.DeleteImageRequest(name=args.name, project=ctx.project)
    response = ctx.client.call("Images", "DeleteImage", request, write=True,
                               ok_after_retry=(grpc.StatusCode.NOT_FOUND,))
    if ctx.out.json:
        ctx.out.data(response or images_pb2.DeleteImageResponse())
    else:
        ctx.out.line(f"image {args.name} deleted")
    return 0
