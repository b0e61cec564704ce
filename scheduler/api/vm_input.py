"""Public API input for virtual machines: the VM parts of an InstanceSpec, images to import,
and resolving the image a VM names into what its agent needs."""
from __future__ import annotations

import re

from common import imageurl
from common.errors import InvalidArgument, NotFound
from scheduler.state import records as r

MAX_USER_DATA = 64 * 1024          # bytes; the same limit the agent's seed builder keeps
MAX_SSH_KEYS, MAX_SSH_KEY = 32, 16 * 1024
IMAGE_FORMATS = ("qcow2", "raw")
_SHA256_RE = re.compile(r"^[0-9a-f]{64}\Z")
_SSH_KEY_RE = re.compile(r"^(ssh-|ecdsa-|sk-)[A-Za-z0-9@.-]+ [A-Za-z0-9+/=]+( .*)?\Z")


def instance_vm(spec) -> dict:
    """The spec dict's VM keys (empty for containers, which must not carry them)."""
    if (spec.kind or "container") != "vm":
        if spec.user_data or spec.ssh_keys:
            raise InvalidArgument("spec.user_data", "user-data and ssh keys are for kind 'vm' only")
        return {}
    if len(spec.user_data.encode()) > MAX_USER_DATA:
        raise InvalidArgument("spec.user_data", f"is {len(spec.user_data.encode())} bytes; the "
                                                f"NoCloud limit here is {MAX_USER_DATA}")
    if len(spec.ssh_keys) > MAX_SSH_KEYS:
        raise InvalidArgument("spec.ssh_keys", f"at most {MAX_SSH_KEYS} keys")
    for key in spec.ssh_keys:
        if len(key) > MAX_SSH_KEY or "\n" in key.strip() or not _SSH_KEY_RE.match(key.strip()):
            raise InvalidArgument("spec.ssh_keys", f"{key[:40]!r}… is not an OpenSSH public key")
    if spec.command or spec.env:
        raise InvalidArgument("spec.command", "a VM runs its image's own boot; use user_data")
    return {"user_data": spec.user_data, "ssh_keys": [k.strip() for k in spec.ssh_keys]}


def resolve_image(state, project: str, spec: dict) -> None:
    """Put the image a VM names into spec["vm_image"]; NOT_FOUND or INVALID_ARGUMENT.

    Also checks the disk: at least the image's virtual size (0 means exactly that).
    """
    image_id = state.image_names.get(r.name_key(project, spec["image"])) or spec["image"]
    image = state.images.get(image_id)
    if image is None or image["project"] != project:
        raise NotFound(f"image {spec['image']!r} not found in project {project!r}")
    descriptor = dict(image["image"])
    virtual = descriptor.get("virtual_size_bytes", 0)
    if spec["disk_bytes"] == 0:
        spec["disk_bytes"] = virtual
    elif spec["disk_bytes"] < virtual:
        raise InvalidArgument("spec.disk_bytes", f"{spec['disk_bytes']} bytes is smaller than image "
                                                 f"{image['name']!r} ({virtual} bytes)")
    spec["vm_image"] = descriptor


def image_file(message, field: str, required: bool = True) -> dict | None:
    """A checked ImageFile as a dict, or None when optional and empty."""
    if not message.url:
        if required:
            raise InvalidArgument(f"{field}.url", "is required")
        return None
    url = imageurl.parse(message.url, f"{field}.url")
    sha256 = message.sha256.lower()
    if not _SHA256_RE.match(sha256):
        raise InvalidArgument(f"{field}.sha256", "must be 64 hex digits")
    if message.size_bytes <= 0:
        raise InvalidArgument(f"{field}.size_bytes", "must be positive")
    return {"url": url.url, "sha256": sha256, "size_bytes": message.size_bytes}


def import_request(request) -> dict:
    """The image descriptor from an ImportImageRequest."""
    fmt = request.format or "qcow2"
    if fmt not in IMAGE_FORMATS:
        raise InvalidArgument("format", f"must be one of {', '.join(IMAGE_FORMATS)}, not {fmt!r}")
    disk = image_file(request.disk, "disk")
    virtual = request.virtual_size_bytes or (disk["size_bytes"] if fmt == "raw" else 0)
    if virtual <= 0:
        raise InvalidArgument("virtual_size_bytes", "is required for qcow2 images")
    kernel = image_file(request.kernel, "kernel", required=False)
    initrd = image_file(request.initrd, "initrd", required=False)
    if initrd and not kernel:
        raise InvalidArgument("initrd", "needs a kernel")
    if request.cmdline and not kernel:
        raise InvalidArgument("cmdline", "needs a kernel")
    if len(request.cmdline) > 4096:
        raise InvalidArgument("cmdline", "at most 4096 characters")
    descriptor = {"format": fmt, "disk": disk, "virtual_size_bytes": virtual}
    if kernel:
        descriptor.update(kernel=kernel, cmdline=request.cmdline)
    if initrd:
        descriptor["initrd"] = initrd
    return descriptor
