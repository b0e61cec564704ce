"""The VM parts of `cloud instance …`: create options, console-log, reboot, stats in show."""
from __future__ import annotations

import argparse
from pathlib import Path

from proto.v1 import images_pb2

from cli import argtypes
from cli.errors import UsageError
from cli.output import size

MAX_USER_DATA = 64 * 1024


def add_create_options(parser) -> None:
    parser.add_argument("--kind", choices=("container", "vm"), default="container",
                        help="container (default) or vm; a VM's --image names an image of `cloud image`")
    parser.add_argument("--user-data", dest="user_data", metavar="FILE",
                        help="VMs: cloud-init user-data file (at most 64 KiB)")
    parser.add_argument("--ssh-key", dest="ssh_keys", action="append", default=[], metavar="FILE",
                        help="VMs: an OpenSSH public key file for cloud-init (repeatable)")
    parser.add_argument("--secret-file", dest="secret_files", action="append", default=[],
                        type=secret_file, metavar="SECRET:/PATH",
                        help="VMs: a secret of the project written by cloud-init at PATH in the guest, "
                             "mode 0600 (repeatable)")


def secret_file(text: str) -> tuple[str, str]:
    """(guest path, secret name) from SECRET:/PATH."""
    name, sep, path = text.partition(":")
    if not sep or not name.strip() or not path.startswith("/"):
        raise argparse.ArgumentTypeError(f"{text!r} is not SECRET:/PATH (an absolute path in the guest)")
    return path, name.strip()


def _read(path: str, what: str) -> str:
    try:
        return Path(path).expanduser().read_text()
    except (OSError, UnicodeDecodeError) as err:
        raise UsageError(f"{what} {path}: {err}") from None


def apply_create_options(args, spec) -> None:
    spec.kind = args.kind
    if args.kind != "vm":
        if args.user_data or args.ssh_keys or args.secret_files:
            raise UsageError("--user-data, --ssh-key and --secret-file are for --kind vm "
                             "(containers take secrets with --secret-env)")
        return
    for path, name in args.secret_files:
        if path in spec.secret_files:
            raise UsageError(f"--secret-file: {path} is given twice")
        spec.secret_files[path] = name
    if args.user_data:
        spec.user_data = _read(args.user_data, "--user-data")
        if len(spec.user_data.encode()) > MAX_USER_DATA:
            raise UsageError(f"--user-data {args.user_data} is over the NoCloud limit of {MAX_USER_DATA} bytes")
    for path in args.ssh_keys:
        spec.ssh_keys.extend(line.strip() for line in _read(path, "--ssh-key").splitlines() if line.strip())


def add_instance_actions(actions, parents, logs_command) -> None:
    """`logs_command` prints an instance's logs; for a VM they are its serial console."""
    console = actions.add_parser("console-log", parents=parents, help="a VM's serial console, as kept on its host")
    console.add_argument("name", metavar="NAME", help="instance name or id")
    console.add_argument("--tail", type=argtypes.non_negative_int, default=0, metavar="N",
                         help="only the last N lines")
    console.set_defaults(func=logs_command)
    reboot = actions.add_parser("reboot", parents=parents, help="reboot a running VM")
    reboot.add_argument("name", metavar="NAME", help="instance name or id")
    reboot.add_argument("--hard", action="store_true", help="reset at once instead of an ACPI reboot")
    reboot.set_defaults(func=reboot_command)


def reboot_command(args, ctx) -> int:
    request = images_pb2.RebootInstanceRequest(name=args.name, project=ctx.project, hard=args.hard)
    inst = ctx.client.call("Machines", "RebootInstance", request, write=True)
    if ctx.out.json:
        ctx.out.data(inst)
    else:
        ctx.out.line(f"instance {inst.meta.name}: {'reset' if args.hard else 'ACPI reboot'} sent")
    return 0


def show_fields(i) -> list[tuple[str, object]]:
    if i.spec.kind != "vm":
        return []
    return [("vm image", f"{i.spec.vm_image.name} ({i.spec.vm_image.id}, sha256 "
                         f"{i.spec.vm_image.disk.sha256[:12]}…)"),
            ("cpu time", f"{i.cpu_time_ns / 1e9:.1f}s" if i.cpu_time_ns else None),
            ("memory used", size(i.memory_used_bytes) if i.memory_used_bytes else None),
            ("user-data", f"{len(i.spec.user_data.encode())} bytes" if i.spec.user_data else None),
            ("ssh keys", len(i.spec.ssh_keys) or None)]
