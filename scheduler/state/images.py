"""Commands on VM images: import (register) and delete.

An image record holds what an agent needs to fetch and verify it (source URL,
sha256, size, format, virtual size, optional boot properties); the bytes never
pass through the state. A VM copies the record into its spec when created, so
an image cannot be deleted while VMs made from it exist.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from common.errors import AlreadyExists, FailedPrecondition, NotFound
from scheduler.state import quota, records as r
from scheduler.state.commands import Command, table

COLLECTIONS = ("images", "image_names")


@dataclass(frozen=True)
class ImportImageArgs:
    id: str
    name: str
    project: str
    image: dict[str, Any]                    # the image descriptor (scheduler/api/vm_input.py)
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class DeleteImageArgs:
    id: str


def users(state, image_id: str) -> list[dict]:
    """The instances created from image `image_id`."""
    return [i for i in state.instances.values()
            if i["spec"].get("vm_image", {}).get("id") == image_id]


def import_image(state, args: ImportImageArgs, ctx: dict) -> dict:
    project, name = args.project, args.name
    if r.name_key(project, name) in state.image_names:
        raise AlreadyExists(f"image {name!r} already exists in project {project!r}")
    if args.id in state.images:
        raise AlreadyExists(f"image id {args.id} already exists")
    image = {
        "id": args.id, "name": name, "project": project, "labels": dict(args.labels),
        "image": {**args.image, "id": args.id, "name": name},
        "created_ms": ctx["ts"], "updated_ms": ctx["ts"], "revision": ctx["index"],
    }
    quota.charge(state, project, {"images": 1})
    state.images[image["id"]] = image
    state.image_names[r.name_key(project, name)] = image["id"]
    return {"image": image}


def delete_image(state, args: DeleteImageArgs, ctx: dict) -> dict:
    image = state.images.get(args.id)
    if image is None:
        raise NotFound(f"image {args.id} not found")
    using = users(state, image["id"])
    if using:
        names = ", ".join(sorted(i["name"] for i in using)[:5])
        raise FailedPrecondition(f"image {image['name']!r} is used by {len(using)} instance(s): "
                                 f"{names}; delete them first")
    del state.images[image["id"]]
    quota.release(state, image["project"], {"images": 1})
    state.image_names.pop(r.name_key(image["project"], image["name"]), None)
    return {"deleted": True}


def check_usable(state, spec: dict) -> None:
    """In apply: the VM's image still exists as resolved (it may have been deleted meanwhile)."""
    image_id = spec.get("vm_image", {}).get("id", "")
    image = state.images.get(image_id)
    if image is None or image["image"].get("disk") != spec["vm_image"].get("disk"):
        raise FailedPrecondition(f"image {spec.get('image')!r} no longer exists")


COMMANDS = table(
    image__import=Command(ImportImageArgs, import_image),
    image__delete=Command(DeleteImageArgs, delete_image),
)
