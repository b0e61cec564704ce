"""A VM's NIC as the network driver sees it: a tap that libvirt made on the VPC bridge.

libvirt creates the tap when the domain starts (and qemu's exit removes it), with
the name derived here, so the network driver can recognise it as a port's NIC and
put it back on its bridge when the bridge was recreated underneath it. The tap is
libvirt's: the driver never creates or deletes one (its name does not start with
the driver's own prefixes, so it is never swept up as an unwanted link).
"""
from __future__ import annotations

import hashlib
import logging

log = logging.getLogger(__name__)

TAP_PREFIX = "tct"


def tap_name(instance_id: str) -> str:
    """The tap of the instance's port: 15 characters, the kernel's limit for link names."""
    return TAP_PREFIX + hashlib.sha256(instance_id.encode()).hexdigest()[:12]


def plug_tap(ipr, instance_id: str, bridge_index: int, mtu: int) -> bool:
    """Whether the instance has a tap (a running VM); if so it is made to sit, up,
    on `bridge_index` with the VPC's MTU."""
    found = ipr.link_lookup(ifname=tap_name(instance_id))
    if not found:
        return False
    link = ipr.get_links(found[0])[0]
    if link.get("master") != bridge_index or not link["flags"] & 1 or link.get("mtu") != mtu:
        ipr.link("set", index=found[0], master=bridge_index, mtu=mtu, state="up")
        log.info("put tap %s of %s on its bridge", tap_name(instance_id), instance_id,
                 extra={"instance_id": instance_id})
    return True
