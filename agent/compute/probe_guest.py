"""The two-sector guest the KVM probe boots, assembled from probe_guest.asm (its source,
beside this file; a unit test checks that these bytes match it)."""
from __future__ import annotations

SECTOR = 512
# COM1 output, in order, as the guest gets through each stage.
STAGES = (("R", "real mode"), ("D", "a BIOS disk read"), ("P", "protected mode"),
          ("L", "long mode"), ("S", "SSE"))
DONE = STAGES[-1][0]

_SECTOR0 = bytes.fromhex(
    "fafc31c08ed88ec08ed0bc007c8816377cb052e81c00fbbe387cb4428a16377ccd13fa720ab044e80800ea00"
    "800000f4ebfdbaf803eec300100001000080000001")
_SECTOR1 = bytes.fromhex(
    "e4920c02e692bf0010b9000c6631c0f366ab66c70600100320000066c70600200330000066c7060030830000"
    "000f0116e0800f20c06683c8010f22c0ea4180080066b810008ed88ec08ed0bc0070000066baf803b050ee0f"
    "20e083c8200f22e0b8001000000f22d8b9800000c00f320d000100000f300f20c00d000000800f22c0ea8880"
    "0000180066baf803b04cee0f20c06683e0fb6683c8020f22c00f20e0660d00060f22e00f31660f6ec0660ffe"
    "c0660f7ec066baf803b053eef4ebfd900000000000000000ffff0000009acf00ffff00000092cf00ffff0000"
    "009aaf001f00c080")


def disk_image(size: int = 1 << 20) -> bytes:
    """A raw disk: the boot sector (with its signature), the second stage, zeros up to `size`."""
    boot = _SECTOR0.ljust(SECTOR - 2, b"\0") + b"\x55\xaa"
    return (boot + _SECTOR1.ljust(SECTOR, b"\0")).ljust(size, b"\0")


def stages_reached(console: bytes) -> list[str]:
    """The names of the stages whose marks the guest wrote, in order."""
    return [name for mark, name in STAGES if mark.encode() in console]
