"""A VM image as the state keeps it (an instance's resolved `vm_image`, an image
record's `image`), as vm.proto's VmImage: for the public API and for the agents."""
from __future__ import annotations

from proto.v1 import vm_pb2


def image_file_pb(data: dict | None) -> vm_pb2.ImageFile | None:
    if not data:
        return None
    return vm_pb2.ImageFile(url=data["url"], sha256=data["sha256"], size_bytes=data["size_bytes"])


def vm_image_pb(data: dict) -> vm_pb2.VmImage:
    return vm_pb2.VmImage(
        id=data.get("id", ""), name=data.get("name", ""), format=data.get("format", ""),
        disk=image_file_pb(data.get("disk")), virtual_size_bytes=data.get("virtual_size_bytes", 0),
        kernel=image_file_pb(data.get("kernel")), initrd=image_file_pb(data.get("initrd")),
        cmdline=data.get("cmdline", ""))
