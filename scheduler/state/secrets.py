"""Commands on secrets. The state holds only ciphertext: the API encrypts with the
cluster key before proposing, so the Raft journal and snapshots never see a value."""
from __future__ import annotations

import copy
from dataclasses import dataclass

from common.errors import AlreadyExists, InvalidArgument, NotFound
from scheduler.state import quota, records as r
from scheduler.state.commands import Command, table


@dataclass(frozen=True)
class CreateSecretArgs:
    """A sealed value (scheduler/secrets/box.py): base64 nonce and ciphertext, never the value."""
    id: str
    name: str
    project: str
    nonce: str
    ciphertext: str
    size_bytes: int                          # of the plain value, for the quota
    key_id: str = ""


@dataclass(frozen=True)
class DeleteSecretArgs:
    id: str


def create(state, args: CreateSecretArgs, ctx: dict) -> dict:
    project, name = args.project, args.name
    if r.name_key(project, name) in state.secret_names:
        raise AlreadyExists(f"secret {name!r} already exists in project {project!r}")
    if args.id in state.secrets:
        raise AlreadyExists(f"secret id {args.id} already exists")
    for key, value in (("nonce", args.nonce), ("ciphertext", args.ciphertext)):
        if not value:
            raise InvalidArgument(key, "is required (base64)")
    record = {"id": args.id, "name": name, "project": project, "nonce": args.nonce,
              "ciphertext": args.ciphertext, "size_bytes": args.size_bytes,
              "key_id": args.key_id, "created_ms": ctx["ts"], "updated_ms": ctx["ts"],
              "revision": ctx["index"]}
    quota.charge(state, project, quota.secret_amounts(record))
    state.secrets[record["id"]] = record
    state.secret_names[r.name_key(project, name)] = record["id"]
    return {"secret": copy.deepcopy(record)}


def delete(state, args: DeleteSecretArgs, ctx: dict) -> dict:
    record = state.secrets.get(args.id)
    if record is None:
        raise NotFound(f"secret {args.id} not found")
    del state.secrets[record["id"]]
    quota.release(state, record["project"], quota.secret_amounts(record))
    state.secret_names.pop(r.name_key(record["project"], record["name"]), None)
    return {"deleted": True}


def by_name(state, project: str, ref: str) -> dict | None:
    record = state.secrets.get(ref)
    if record is not None and record["project"] == project:
        return record
    secret_id = state.secret_names.get(r.name_key(project, ref))
    return state.secrets.get(secret_id) if secret_id else None


COMMANDS = table(
    secret__create=Command(CreateSecretArgs, create),
    secret__delete=Command(DeleteSecretArgs, delete),
)
