"""What the leader hands an agent beside a VM's spec: its secret files, decrypted for
this one EnsureInstance call (over mTLS), and its VPC NIC from the instance's port.

The plaintext exists only in the call and on the host that runs the VM — never in
the state, the Raft journal, a log or the audit log (which records no bodies).
"""
from __future__ import annotations

from common.errors import FailedPrecondition
from proto.v1 import vm_guest_pb2
from scheduler.secrets.box import SecretBox
from scheduler.state import secrets as secret_state

SECRET_FILE_MODE = 0o600


def secret_files(store, secret_file, instance: dict) -> list[vm_guest_pb2.GuestFile]:
    """The instance's secret files with their values; FailedPrecondition names a secret
    that is gone or cannot be read."""
    wanted = instance["spec"].get("secret_files") or {}
    if not wanted:
        return []
    with store.read_lock:
        state = store.read()
        records = {path: secret_state.by_name(state, instance["project"], name)
                   for path, name in wanted.items()}
        records = {path: dict(rec) if rec else None for path, rec in records.items()}
    box = SecretBox.from_secret_file(secret_file)
    files = []
    for path, record in sorted(records.items()):
        if record is None:
            raise FailedPrecondition(f"secret {wanted[path]!r} (for {path}) not found in project "
                                     f"{instance['project']!r}")
        files.append(vm_guest_pb2.GuestFile(path=path, content=box.open(record), mode=SECRET_FILE_MODE,
                                            secret=wanted[path]))
    return files


def guest_nic(store, instance: dict) -> vm_guest_pb2.GuestNic | None:
    """The VM's NIC on its VPC (None: no port, or its VPC is gone)."""
    port = instance.get("port")
    if not port or instance["spec"].get("kind") != "vm":
        return None
    with store.read_lock:
        vpc = store.read().vpcs.get(port["vpc_id"])
        vni = vpc["vni"] if vpc else 0
    if not vni:
        return None
    return vm_guest_pb2.GuestNic(vni=vni, mac=port["mac"], ip=port["ip"], prefix_len=port["prefix_len"],
                                 gateway=port.get("gateway", ""), mtu=port["mtu"])


def guest_fields(store, secret_file, instance: dict) -> dict:
    """Extra fields of the instance's EnsureInstanceRequest (empty for containers)."""
    if instance["spec"].get("kind") != "vm":
        return {}
    fields = {}
    files = secret_files(store, secret_file, instance)
    if files:
        fields["secret_files"] = files
    nic = guest_nic(store, instance)
    if nic is not None:
        fields["nic"] = nic
    return fields
