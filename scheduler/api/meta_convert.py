"""What every resource message shares: its Meta and timestamps (the leaf the
per-family converters build on, so they need not import each other)."""
from __future__ import annotations

from google.protobuf.timestamp_pb2 import Timestamp

from proto.v1 import resources_pb2 as pb


def timestamp(ms: int) -> Timestamp | None:
    if not ms:
        return None
    ts = Timestamp()
    ts.FromMilliseconds(int(ms))
    return ts


def meta_pb(record: dict, project: str = "") -> pb.Meta:
    return pb.Meta(id=record["id"], name=record["name"], project=record.get("project", project),
                   labels=record.get("labels", {}), revision=record.get("revision", 0),
                   created_at=timestamp(record.get("created_ms", 0)),
                   updated_at=timestamp(record.get("updated_ms", 0)))
