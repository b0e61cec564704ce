"""cloud-init NoCloud seed: an ISO 9660 image labelled `cidata`, built with pycdlib.

It holds `meta-data` (instance-id, local-hostname, public-keys), `user-data` and
`network-config`, the three files cloud-init's NoCloud datasource reads from any
disk with that label. Rock Ridge and Joliet names keep the dashes in the names.
"""
from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import pycdlib

from agent.compute import cloudinit
from agent.compute.guest import GuestFile

VOLUME_LABEL = "cidata"
# OpenStack's limit for user data (nova: 65535 bytes); cloud-init has no smaller one.
MAX_USER_DATA = 64 * 1024

# DHCP on every ethernet-looking interface: what a cloud image expects by default.
DEFAULT_NETWORK_CONFIG = {
    "version": 2,
    "ethernets": {"all": {"match": {"name": "e*"}, "dhcp4": True}},
}


@dataclass(frozen=True)
class SeedData:
    instance_id: str
    hostname: str
    user_data: bytes = b""
    ssh_keys: tuple[str, ...] = ()
    network_config: dict = field(default_factory=lambda: dict(DEFAULT_NETWORK_CONFIG))
    secret_files: tuple[GuestFile, ...] = ()   # written by cloud-init (write_files) beside user_data

    def meta_data(self) -> bytes:
        # JSON is YAML: no YAML library needed, and values are quoted safely.
        lines = [f"instance-id: {json.dumps(self.instance_id)}",
                 f"local-hostname: {json.dumps(self.hostname)}"]
        if self.ssh_keys:
            lines.append("public-keys:")
            lines.extend(f"  - {json.dumps(key)}" for key in self.ssh_keys)
        return ("\n".join(lines) + "\n").encode()

    def files(self) -> dict[str, bytes]:
        return {
            "meta-data": self.meta_data(),
            "user-data": cloudinit.user_data(self.user_data, self.secret_files),
            "network-config": (json.dumps(self.network_config, indent=1) + "\n").encode(),
        }


def write_seed_iso(path: Path, seed: SeedData) -> None:
    """Write the seed ISO to `path` (atomically: a crash leaves no half-written file)."""
    if len(seed.user_data) > MAX_USER_DATA:
        raise ValueError(f"user-data is {len(seed.user_data)} bytes; the limit is {MAX_USER_DATA}")
    iso = pycdlib.PyCdlib()
    iso.new(interchange_level=3, vol_ident=VOLUME_LABEL, joliet=3, rock_ridge="1.09")
    try:
        for index, (name, data) in enumerate(seed.files().items()):
            iso.add_fp(io.BytesIO(data), len(data), f"/SEED{index};1", rr_name=name,
                       joliet_path=f"/{name}")
        tmp = path.with_name(f".{path.name}.tmp")
        # It may hold secrets: only root (and qemu, which libvirt makes its owner) reads it.
        os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
        os.chmod(tmp, 0o600)
        iso.write(str(tmp))
    finally:
        iso.close()
    os.replace(tmp, path)
