"""cloud-init documents for a VM's NoCloud seed: the network-config of its VPC NIC and
the user-data that carries its secret files (write_files).

Both are written as JSON where YAML is expected (JSON is YAML): no YAML library, and
every value is quoted safely. The write_files entries are one flow mapping per line,
so even a minimal guest userland can read them.
"""
from __future__ import annotations

import base64
import json
from email import message_from_bytes
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.nonmultipart import MIMENonMultipart

from agent.compute.guest import GuestFile, VmNic

# Our part and the user's are merged by appending lists (both may have write_files)
# instead of cloud-init's default of the later part replacing the earlier one's keys.
MERGE_TYPE = "list(append)+dict(no_replace,recurse_list)+str()"
# What cloud-init itself would sniff from a part's first line.
_STARTS_WITH = (("#!", "text/x-shellscript"), ("#cloud-config", "text/cloud-config"),
                ("#include", "text/x-include-url"), ("#cloud-boothook", "text/cloud-boothook"),
                ("#part-handler", "text/part-handler"), ("## template: jinja", "text/jinja2"))
MAX_SECRET_FILES_BYTES = 1024 * 1024


def network_config(nic: VmNic) -> dict:
    """NoCloud network-config version 2: the NIC found by its MAC, a static address,
    the VPC's MTU and a default route through the subnet's gateway."""
    ethernet = {
        "match": {"macaddress": nic.mac},
        "addresses": [f"{nic.ip}/{nic.prefix_len}"],
        "mtu": nic.mtu,
    }
    if nic.gateway:
        ethernet["routes"] = [{"to": "0.0.0.0/0", "via": nic.gateway}]
    return {"version": 2, "ethernets": {"vpc0": ethernet}}


def write_files_config(files: tuple[GuestFile, ...]) -> str:
    """A #cloud-config document whose write_files writes `files` (base64, root-owned)."""
    lines = ["#cloud-config", "# thecloud: the instance's secret files", "write_files:"]
    for item in files:
        entry = {"path": item.path, "permissions": f"0{item.mode:o}", "owner": "root:root",
                 "encoding": "b64", "content": base64.b64encode(item.content).decode()}
        lines.append("- " + json.dumps(entry))
    return "\n".join(lines) + "\n"


def _part_type(data: bytes) -> str:
    if data.startswith(b"\x1f\x8b"):
        return "application/gzip"   # cloud-init decompresses such parts, then sniffs them
    for prefix, content_type in _STARTS_WITH:
        if data.startswith(prefix.encode()):
            return content_type
    return "text/plain"   # cloud-init sniffs text/plain parts itself


def _user_parts(user_data: bytes) -> list:
    """The user's user-data as MIME parts: a MIME document's own parts, else one part
    (8bit when it is UTF-8 text, so its lines stay readable; base64 otherwise)."""
    if user_data[:200].lower().startswith((b"content-type:", b"mime-version:")):
        message = message_from_bytes(user_data)
        return list(message.get_payload()) if message.is_multipart() else [message]
    maintype, subtype = _part_type(user_data).split("/")
    part = MIMEBase(maintype, subtype)
    try:
        user_data.decode("utf-8")
    except UnicodeDecodeError:
        part.set_payload(base64.encodebytes(user_data).decode())
        part["Content-Transfer-Encoding"] = "base64"
    else:
        # The bytes pass through the generator unchanged (surrogateescape both ways).
        part.set_payload(user_data.decode("ascii", "surrogateescape"))
        part["Content-Transfer-Encoding"] = "8bit"
        part.set_param("charset", "utf-8")
    return [part]


def user_data(user: bytes, files: tuple[GuestFile, ...]) -> bytes:
    """The seed's user-data: the user's own when there are no files; only our
    #cloud-config without user-data; else a MIME multipart of both (ours first)."""
    if not files:
        return user
    if sum(len(item.content) for item in files) > MAX_SECRET_FILES_BYTES:
        raise ValueError(f"the secret files are over {MAX_SECRET_FILES_BYTES} bytes together")
    config = write_files_config(files)
    if not user:
        return config.encode()
    ours = MIMENonMultipart("text", "cloud-config", charset="us-ascii")
    ours.set_payload(config)
    ours["Content-Transfer-Encoding"] = "7bit"
    ours["Merge-Type"] = MERGE_TYPE
    ours["Content-Disposition"] = 'attachment; filename="thecloud-secret-files.cfg"'
    document = MIMEMultipart("mixed")
    document.attach(ours)
    for part in _user_parts(user):
        document.attach(part)
    return document.as_bytes()

