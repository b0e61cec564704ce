"""Hypothesis strategies for any protobuf request message, built from its descriptor."""
from __future__ import annotations

import hashlib
import json
import math

from google.protobuf.descriptor import FieldDescriptor as F
from hypothesis import strategies as st

from iam_requests import message_class

# Strings a careless servicer trips over: empty, huge, traversal, separators, NUL, control
# characters, newlines, non-ASCII, and names that pass a DNS-label check.
NASTY_STRINGS = ["", " ", "..", "/", "../../etc/passwd", "a/b", "\x00", "a\x00b", "\n", "a\nb",
                 "\r\n\t", "\x1b[31m", "%s%n", "${x}", "'; --", "é漢字🙂", "\ud7ff\ufffd",
                 "-", "-a", "a-", "A", "0", "-1", "*", "*.*", "x" * 300, "y" * 70_000,
                 "10.0.0.0/8", "0.0.0.0/0", "::/0", "300.1.1.1/33", "1.2.3.4", "tcp", "any",
                 "t-0", "tc1.t-0.x", "p-default", "i-0", "h-0"]
LABEL_NAMES = st.from_regex(r"\A[a-z][a-z0-9-]{0,20}\Z")
PROJECTS = ["fuzz", "default"]
MiB = 1024**2

# Values that pass the first checks, so that a draw reaches the later ones; the names of
# what the fuzz test made in project "fuzz" (net, sub, sg, web, vol, db) let references resolve.
_cidrs = st.builds(lambda ip, bits: f"{ip}/{bits}", st.ip_addresses(v=4), st.integers(0, 33))
PLAUSIBLE_STRINGS = {
    "cidr": st.one_of(st.sampled_from(["10.20.0.0/16", "10.20.9.0/24", "10.31.0.0/16", "0.0.0.0/0"]),
                      _cidrs),
    "cidrs": _cidrs,
    "address": st.ip_addresses().map(str), "ip": st.ip_addresses().map(str),
    "gateway": st.ip_addresses().map(str), "vtep": st.ip_addresses().map(str),
    "image": st.just("thecloud/busybox:test"),
    "vpc": st.just("net"), "subnet": st.just("sub"), "group": st.just("sg"),
    "security_groups": st.just("sg"), "remote_group": st.just("sg"),
    "instance": st.just("web"), "volume": st.just("vol"), "near_instance": st.just("web"),
    "principal": st.sampled_from(["admin", "nobody"]),
    "role": st.sampled_from(["member", "reader", "admin", "agent", "scheduler"]),
    "scope_role": st.sampled_from(["member", "reader"]),
    "kind": st.sampled_from(["user", "service-account", "container", "vm", "vpc", "instance"]),
    "InstanceSpec.kind": st.sampled_from(["container", "container", "vm"]),
    "InstanceSpec.group": st.just(""), "InstanceSpec.ip": st.sampled_from(["", "10.20.1.77"]),
    "VolumeAttachment.path": st.just("/data"),
    "protocol": st.sampled_from(["tcp", "udp", "icmp", "any"]),
    "direction": st.sampled_from(["ingress", "egress"]),
    "policy": st.sampled_from(["anti-affinity", "affinity", "spread"]),
    "domain": st.sampled_from(["host", "rack", "zone"]),
    "mode": st.sampled_from(["schedulable", "cordon", "drain"]),
    "format": st.sampled_from(["raw", "qcow2", "iso"]),
    "restart_policy": st.sampled_from(["always", "never", "on-failure"]),
    "permissions": st.sampled_from(["instance.create", "instance.*", "*.get", "*", "secret.read"]),
    "mac": st.binary(min_size=6, max_size=6).map(lambda b: ":".join(f"{x:02x}" for x in b)),
    "path": st.sampled_from(["/data", "/dev/vdb", "/", "/proc/self", "data"]),
    "secret_env": st.just("db"), "secret_files": st.just("db"),
    "url": st.sampled_from(["http://127.0.0.1:1/x.img", "file:///etc/passwd", "ftp://x"]),
}
_EMPTY_STATE_SHA256 = hashlib.sha256(b"{}").hexdigest()   # of json.dumps({}), as backups sum it


def _backup(**fields) -> bytes:
    return json.dumps({"format": "thecloud-backup/1", "state": {}, "sha256": _EMPTY_STATE_SHA256,
                       **fields}).encode()


PLAUSIBLE_BYTES = {   # Restore's archive: nested too deep, or sound but for the fields beside the state
    "archive": st.sampled_from([b"[" * 100_000, b"{}", _backup(), _backup(revision="7"),
                                _backup(revision=1e400), _backup(revision=[1]),
                                _backup(cluster_name={"a": 1})]),
    "value": st.binary(min_size=1, max_size=32),
}
PLAUSIBLE_INTS = {   # valid values only: the wild draws bring the others
    "memory_bytes": st.sampled_from([16 * MiB, 64 * MiB]), "vcpus": st.integers(1, 2),
    "count": st.integers(1, 3), "size_bytes": st.sampled_from([MiB, 16 * MiB]),
    "ttl_seconds": st.integers(0, 4000), "port_min": st.integers(1, 1024),
    "port_max": st.integers(1024, 65535), "page_size": st.integers(0, 1000),
    "mtu": st.integers(576, 9000), "tail_lines": st.integers(0, 10),
    "max_per_domain": st.integers(0, 3), "limit": st.integers(0, 1000),
}

INT_RANGES = {
    F.TYPE_INT32: (-2**31, 2**31 - 1), F.TYPE_SINT32: (-2**31, 2**31 - 1),
    F.TYPE_SFIXED32: (-2**31, 2**31 - 1), F.TYPE_INT64: (-2**63, 2**63 - 1),
    F.TYPE_SINT64: (-2**63, 2**63 - 1), F.TYPE_SFIXED64: (-2**63, 2**63 - 1),
    F.TYPE_UINT32: (0, 2**32 - 1), F.TYPE_FIXED32: (0, 2**32 - 1),
    F.TYPE_UINT64: (0, 2**64 - 1), F.TYPE_FIXED64: (0, 2**64 - 1),
}


def strings(field_name: str = "") -> st.SearchStrategy[str]:
    drawn = st.one_of(st.sampled_from(NASTY_STRINGS), LABEL_NAMES, st.text(max_size=40))
    if field_name in ("project", "scope_project"):
        return st.one_of(st.sampled_from(PROJECTS), st.sampled_from(PROJECTS), drawn)
    if field_name in PLAUSIBLE_STRINGS:
        return st.one_of(PLAUSIBLE_STRINGS[field_name], PLAUSIBLE_STRINGS[field_name], drawn)
    return drawn


def integers(kind, field_name: str = "") -> st.SearchStrategy[int]:
    low, high = INT_RANGES[kind]
    edges = sorted({low, high, 0, 1, -1 if low < 0 else 2, 2**31 - 1, 2**53, 1 << 20, 1 << 40})
    drawn = st.one_of(st.sampled_from([e for e in edges if low <= e <= high]),
                      st.integers(low, high), st.integers(max(low, -10), 1000))
    if field_name in PLAUSIBLE_INTS:
        plausible = PLAUSIBLE_INTS[field_name].filter(lambda n: low <= n <= high)
        return st.one_of(plausible, plausible, drawn)
    return drawn


def floats() -> st.SearchStrategy[float]:
    return st.one_of(st.sampled_from([0.0, -1.0, math.inf, -math.inf, math.nan, 1e308, 5e-324]),
                     st.floats(allow_nan=True, allow_infinity=True))


def scalar(field) -> st.SearchStrategy:
    kind = field.type
    if kind == F.TYPE_STRING:
        return strings(field.name)
    if kind == F.TYPE_BYTES:
        drawn = st.one_of(st.binary(max_size=64), st.just(b""), st.just(b"\x00" * 70_000))
        return st.one_of(PLAUSIBLE_BYTES[field.name], drawn) if field.name in PLAUSIBLE_BYTES else drawn
    if kind == F.TYPE_BOOL:
        return st.booleans()
    if kind in (F.TYPE_FLOAT, F.TYPE_DOUBLE):
        return floats()
    if kind == F.TYPE_ENUM:
        known = [value.number for value in field.enum_type.values]
        # proto3 enums are open: numbers the server has no name for arrive too.
        return st.one_of(st.sampled_from(known), st.integers(-3, 1000))
    return integers(kind, field.name)


def requests(descriptor) -> st.SearchStrategy:
    """Requests of every kind: wild ones, and near-valid ones with a few wild fields, which
    get past the first check and reach the later ones."""
    return st.one_of(messages(descriptor), near_valid(descriptor), near_valid(descriptor))


def near_valid(descriptor, depth: int = 3) -> st.SearchStrategy:
    """Every field with a plausible value set to one, up to two others drawn wild."""
    cls = message_class(descriptor)
    if depth <= 0:
        return st.just(cls())
    plausible, nested = {}, {}
    for field in descriptor.fields:
        if field.type == F.TYPE_MESSAGE and not field.message_type.GetOptions().map_entry:
            single = near_valid(field.message_type, depth - 1)
            nested[field.name] = st.lists(single, min_size=1, max_size=2) if field.is_repeated else single
        elif (value := plausible_value(field)) is not None:
            plausible[field.name] = st.lists(value, min_size=1, max_size=2) if field.is_repeated else value
    names = [field.name for field in descriptor.fields]
    wild = {field.name: field_values(field, depth) for field in descriptor.fields}
    chosen = st.lists(st.sampled_from(names), max_size=2, unique=True) if names else st.just([])
    overrides = chosen.flatmap(lambda picked: st.fixed_dictionaries({n: wild[n] for n in picked}))
    base = st.fixed_dictionaries({**plausible, **nested})
    return st.tuples(base, overrides).map(lambda drawn: build(cls, {**drawn[0], **drawn[1]}))


def plausible_value(field):
    """A strategy of values that should pass `field`'s checks, or None when there is none."""
    if field.type == F.TYPE_STRING and field.name in ("project", "scope_project"):
        return st.just("fuzz")
    if field.type == F.TYPE_STRING and field.name == "name":
        return LABEL_NAMES
    if field.type == F.TYPE_STRING:
        return PLAUSIBLE_STRINGS.get(f"{field.containing_type.name}.{field.name}",
                                     PLAUSIBLE_STRINGS.get(field.name))
    if field.type == F.TYPE_BYTES:
        return PLAUSIBLE_BYTES.get(field.name)
    if field.name in PLAUSIBLE_INTS and field.type in INT_RANGES:
        low, high = INT_RANGES[field.type]
        return PLAUSIBLE_INTS[field.name].filter(lambda n: low <= n <= high)
    return None


def messages(descriptor, depth: int = 3) -> st.SearchStrategy:
    """Instances of `descriptor`'s class, nested messages at most `depth` deep."""
    cls = message_class(descriptor)
    if depth <= 0:
        return st.just(cls())
    optional = {}
    for field in descriptor.fields:
        value = field_values(field, depth)
        if value is not None:
            optional[field.name] = value
    return st.fixed_dictionaries({}, optional=optional).map(lambda drawn: build(cls, drawn))


def field_values(field, depth: int):
    if field.message_type is not None and field.message_type.GetOptions().map_entry:
        key = scalar(field.message_type.fields_by_name["key"])
        value_field = field.message_type.fields_by_name["value"]
        values = (messages(value_field.message_type, depth - 1) if value_field.message_type
                  else scalar(value_field))
        return st.dictionaries(key, values, max_size=3)
    single = (messages(field.message_type, depth - 1) if field.type == F.TYPE_MESSAGE
              else scalar(field))
    if field.is_repeated:
        return st.lists(single, max_size=4)
    return single


def build(cls, drawn: dict):
    message = cls()
    for name, value in drawn.items():
        field = cls.DESCRIPTOR.fields_by_name[name]
        target = getattr(message, name)
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            for key, item in value.items():
                if isinstance(item, (str, bytes, bool, int, float)):
                    target[key] = item
                else:
                    target[key].CopyFrom(item)
        elif field.is_repeated and field.type == F.TYPE_MESSAGE:
            for item in value:
                target.add().CopyFrom(item)
        elif field.is_repeated:
            target.extend(value)
        elif field.type == F.TYPE_MESSAGE:
            target.CopyFrom(value)
        else:
            setattr(message, name, value)
    return message
