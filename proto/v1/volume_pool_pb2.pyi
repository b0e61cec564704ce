from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class HostVolumePool(_message.Message):
    __slots__ = ("driver", "total_bytes", "used_bytes", "provisioned_bytes", "overcommit", "volumes")
    DRIVER_FIELD_NUMBER: _ClassVar[int]
    TOTAL_BYTES_FIELD_NUMBER: _ClassVar[int]
    USED_BYTES_FIELD_NUMBER: _ClassVar[int]
    PROVISIONED_BYTES_FIELD_NUMBER: _ClassVar[int]
    OVERCOMMIT_FIELD_NUMBER: _ClassVar[int]
    VOLUMES_FIELD_NUMBER: _ClassVar[int]
    driver: str
    total_bytes: int
    used_bytes: int
    provisioned_bytes: int
    overcommit: float
    volumes: int
    def __init__(self, driver: _Optional[str] = ..., total_bytes: _Optional[int] = ..., used_bytes: _Optional[int] = ..., provisioned_bytes: _Optional[int] = ..., overcommit: _Optional[float] = ..., volumes: _Optional[int] = ...) -> None: ...
