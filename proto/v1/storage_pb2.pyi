from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class VolumeAttachment(_message.Message):
    __slots__ = ("volume", "path", "volume_id")
    VOLUME_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    VOLUME_ID_FIELD_NUMBER: _ClassVar[int]
    volume: str
    path: str
    volume_id: str
    def __init__(self, volume: _Optional[str] = ..., path: _Optional[str] = ..., volume_id: _Optional[str] = ...) -> None: ...
