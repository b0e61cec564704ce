"""Sizes, ages, timestamps and JSON as the CLI prints them."""
from __future__ import annotations

import io
import json

from google.protobuf.timestamp_pb2 import Timestamp

from cli.output import Output, age, enum_label, pairs, since, size, timestamp, to_dict
from proto.v1 import resources_pb2


def test_sizes_are_human_readable():
    assert size(128 * 1024 * 1024) == "128M"
    assert size(3 * 1024**3 // 2) == "1.5G"
    assert size(0) == "0"
    assert size(512) == "512B"


def test_ages():
    assert age(3) == "3s ago"
    assert age(59.9) == "59s ago"
    assert age(60) == "1m ago"
    assert age(2 * 3600 + 5) == "2h ago"
    assert age(3 * 86400) == "3d ago"
    assert age(-5) == "in 5s"


def test_timestamps_are_local_iso_with_age():
    ts = Timestamp(seconds=1_700_000_000)
    text = timestamp(ts, now=1_700_000_003)
    assert text.endswith("(3s ago)")
    assert text[:4] == "2023" and "T" in text
    assert timestamp(Timestamp()) == "-"
    assert since(ts, now=1_700_000_120) == "2m ago"
    assert since(Timestamp()) == "-"


def test_enum_labels_drop_the_prefix():
    assert enum_label(resources_pb2.InstanceState, 2, "INSTANCE_STATE_") == "RUNNING"
    assert enum_label(resources_pb2.HostState, 2, "HOST_STATE_") == "DOWN"
    assert enum_label(resources_pb2.HostState, 99, "HOST_STATE_") == "99"


def test_pairs():
    assert pairs({"b": "2", "a": "1"}) == "a=1,b=2"
    assert pairs({}) == "-"


def test_json_uses_proto_names_zeros_and_numeric_int64():
    inst = resources_pb2.Instance(spec=resources_pb2.InstanceSpec(memory_bytes=128 << 20))
    inst.meta.name = "web1"
    data = to_dict(inst)
    assert data["meta"]["name"] == "web1"
    assert data["spec"]["memory_bytes"] == 128 << 20
    assert data["exit_code"] == 0 and data["state"] == "INSTANCE_STATE_UNSPECIFIED"


def test_tables_keep_whole_values_and_do_not_interpret_markup():
    stream = io.StringIO()
    out = Output("table", stream)
    out.table(["NAME", "REASON"], [("web1", "[red]x[/red] " + "y" * 150)])
    text = stream.getvalue()
    assert "[red]x[/red]" in text and "y" * 150 in text


def test_json_output_is_parseable():
    stream = io.StringIO()
    Output("json", stream).data(resources_pb2.Host(address="127.0.0.1:7300"))
    assert json.loads(stream.getvalue())["address"] == "127.0.0.1:7300"
