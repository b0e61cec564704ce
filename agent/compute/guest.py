"""What a VM's guest receives beside its image: a NIC on its VPC and secret files.

Plain data, filled in by the agent's servicer (which asks the network driver for
the bridge and tap names) and turned into domain XML (vmnic.py) and the cloud-init
seed (cloudinit.py) by the libvirt driver.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class VmNic:
    """A tap on the VPC's bridge with the port's MAC; the address reaches the guest
    through cloud-init's network-config."""

    bridge: str          # the VPC's bridge on this host (made before the domain starts)
    tap: str             # the tap's name: stable, derived from the instance's port
    mac: str
    ip: str
    prefix_len: int
    gateway: str
    mtu: int


@dataclass(frozen=True)
class GuestFile:
    """A file cloud-init writes in the guest (write_files). `content` is a secret's
    plaintext: kept out of repr, logs and the spec hash."""

    path: str
    content: bytes = field(repr=False)
    mode: int = 0o600
    secret: str = ""     # the secret's name, for the spec hash and messages
