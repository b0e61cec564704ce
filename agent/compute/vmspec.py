"""What a VM needs beyond an instance's common spec: its image, cloud-init user-data, keys."""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass

from agent.compute.guest import GuestFile, VmNic
from agent.compute.imagecache import ImageFileRef
from proto.v1 import vm_pb2


def _file(ref: vm_pb2.ImageFile) -> ImageFileRef | None:
    return ImageFileRef(ref.url, ref.sha256, ref.size_bytes) if ref.url else None


@dataclass(frozen=True)
class VmImageRef:
    """The image as the scheduler resolved it at create."""

    id: str
    name: str
    format: str
    disk: ImageFileRef
    virtual_size_bytes: int = 0
    kernel: ImageFileRef | None = None
    initrd: ImageFileRef | None = None
    cmdline: str = ""

    @classmethod
    def from_proto(cls, image: vm_pb2.VmImage) -> "VmImageRef":
        return cls(id=image.id, name=image.name, format=image.format or "qcow2",
                   disk=ImageFileRef(image.disk.url, image.disk.sha256, image.disk.size_bytes),
                   virtual_size_bytes=image.virtual_size_bytes, kernel=_file(image.kernel),
                   initrd=_file(image.initrd), cmdline=image.cmdline)


@dataclass(frozen=True)
class VmSpec:
    image: VmImageRef
    user_data: str = ""
    ssh_keys: tuple[str, ...] = ()
    nic: VmNic | None = None                  # a VPC port: set by the agent's servicer
    secret_files: tuple[GuestFile, ...] = ()  # from the EnsureInstance call, never stored

    @classmethod
    def from_proto(cls, spec) -> "VmSpec":
        """From an agent_pb2.HostInstanceSpec of kind "vm" (its secret files and NIC
        are the servicer's to add: agent/vm_guest.py)."""
        return cls(image=VmImageRef.from_proto(spec.vm_image), user_data=spec.user_data,
                   ssh_keys=tuple(spec.ssh_keys))

    def digest(self) -> str:
        fields = asdict(self)
        # Only when set, so that the digest of every VM without them stays as it was; a
        # secret file by path, mode and secret name, never by value (the digest is stored).
        del fields["nic"], fields["secret_files"]
        if self.nic is not None:
            fields["nic"] = asdict(self.nic)
        if self.secret_files:
            fields["secret_files"] = [[f.path, f.mode, f.secret] for f in self.secret_files]
        canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]
