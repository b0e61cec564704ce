"""VM image records to protobuf messages."""
from __future__ import annotations

from proto.v1 import images_pb2, vm_pb2
from scheduler.api.convert import meta_pb


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


def image_pb(record: dict, users: int) -> images_pb2.Image:
    return images_pb2.Image(meta=meta_pb(record), image=vm_image_pb(record["image"]), instances=users)
