from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ImageFile(_message.Message):
    __slots__ = ("url", "sha256", "size_bytes")
    URL_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    url: str
    sha256: str
    size_bytes: int
    def __init__(self, url: _Optional[str] = ..., sha256: _Optional[str] = ..., size_bytes: _Optional[int] = ...) -> None: ...

class VmImage(_message.Message):
    __slots__ = ("id", "name", "format", "disk", "virtual_size_bytes", "kernel", "initrd", "cmdline")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    DISK_FIELD_NUMBER: _ClassVar[int]
    VIRTUAL_SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    KERNEL_FIELD_NUMBER: _ClassVar[int]
    INITRD_FIELD_NUMBER: _ClassVar[int]
    CMDLINE_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    format: str
    disk: ImageFile
    virtual_size_bytes: int
    kernel: ImageFile
    initrd: ImageFile
    cmdline: str
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., format: _Optional[str] = ..., disk: _Optional[_Union[ImageFile, _Mapping]] = ..., virtual_size_bytes: _Optional[int] = ..., kernel: _Optional[_Union[ImageFile, _Mapping]] = ..., initrd: _Optional[_Union[ImageFile, _Mapping]] = ..., cmdline: _Optional[str] = ...) -> None: ...
