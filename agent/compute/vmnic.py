"""A VM's VPC NIC in libvirt's domain XML: `<interface type='bridge'>`.

The tap gets the stable name the network driver derived from the port (so the
network driver can find it and put it back on the bridge if the bridge was
recreated), the port's MAC, virtio, and the VPC's MTU (libvirt sets it on the tap
and offers it to the guest's virtio-net as its host MTU).
"""
from __future__ import annotations

import xml.etree.ElementTree as ET

from agent.compute.guest import VmNic


def add_interface(devices: ET.Element, nic: VmNic) -> ET.Element:
    """Append the NIC's <interface> to a domain's <devices>; the element."""
    interface = ET.SubElement(devices, "interface", type="bridge")
    ET.SubElement(interface, "mac", address=nic.mac)
    ET.SubElement(interface, "source", bridge=nic.bridge)
    ET.SubElement(interface, "target", dev=nic.tap)
    ET.SubElement(interface, "model", type="virtio")
    ET.SubElement(interface, "mtu", size=str(nic.mtu))
    return interface


def read_interfaces(xml_text: str) -> list[dict]:
    """[{"mac", "bridge", "tap", "model", "mtu"}] of a domain's bridge interfaces
    (as libvirt reports them, e.g. from XMLDesc)."""
    found = []
    for interface in ET.fromstring(xml_text).iterfind("devices/interface[@type='bridge']"):
        def attr(tag: str, name: str) -> str:
            element = interface.find(tag)
            return element.get(name, "") if element is not None else ""
        found.append({"mac": attr("mac", "address"), "bridge": attr("source", "bridge"),
                      "tap": attr("target", "dev"), "model": attr("model", "type"),
                      "mtu": int(attr("mtu", "size") or 0)})
    return found
