from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class GuestNic(_message.Message):
    __slots__ = ("vni", "mac", "ip", "prefix_len", "gateway", "mtu")
    VNI_FIELD_NUMBER: _ClassVar[int]
    MAC_FIELD_NUMBER: _ClassVar[int]
    IP_FIELD_NUMBER: _ClassVar[int]
    PREFIX_LEN_FIELD_NUMBER: _ClassVar[int]
    GATEWAY_FIELD_NUMBER: _ClassVar[int]
    MTU_FIELD_NUMBER: _ClassVar[int]
    vni: int
    mac: str
    ip: str
    prefix_len: int
    gateway: str
    mtu: int
    def __init__(self, vni: _Optional[int] = ..., mac: _Optional[str] = ..., ip: _Optional[str] = ..., prefix_len: _Optional[int] = ..., gateway: _Optional[str] = ..., mtu: _Optional[int] = ...) -> None: ...

class GuestFile(_message.Message):
    __slots__ = ("path", "content", "mode", "secret")
    PATH_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    SECRET_FIELD_NUMBER: _ClassVar[int]
    path: str
    content: bytes
    mode: int
    secret: str
    def __init__(self, path: _Optional[str] = ..., content: _Optional[bytes] = ..., mode: _Optional[int] = ..., secret: _Optional[str] = ...) -> None: ...
