"""VM image records to protobuf messages."""
from __future__ import annotations

from proto.v1 import images_pb2
from scheduler.api.convert import meta_pb
from scheduler.vm_image_pb import vm_image_pb


def image_pb(record: dict, users: int) -> images_pb2.Image:
    return images_pb2.Image(meta=meta_pb(record), image=vm_image_pb(record["image"]), instances=users)
