from proto.v1 import resources_pb2 as _resources_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class FloatingIp(_message.Message):
    __slots__ = ("meta", "address", "instance", "instance_id", "port_ip", "vpc", "gateway_host")
    META_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    INSTANCE_FIELD_NUMBER: _ClassVar[int]
    INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    PORT_IP_FIELD_NUMBER: _ClassVar[int]
    VPC_FIELD_NUMBER: _ClassVar[int]
    GATEWAY_HOST_FIELD_NUMBER: _ClassVar[int]
    meta: _resources_pb2.Meta
    address: str
    instance: str
    instance_id: str
    port_ip: str
    vpc: str
    gateway_host: str
    def __init__(self, meta: _Optional[_Union[_resources_pb2.Meta, _Mapping]] = ..., address: _Optional[str] = ..., instance: _Optional[str] = ..., instance_id: _Optional[str] = ..., port_ip: _Optional[str] = ..., vpc: _Optional[str] = ..., gateway_host: _Optional[str] = ...) -> None: ...

class CreateFloatingIpRequest(_message.Message):
    __slots__ = ("project", "address", "labels")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    project: str
    address: str
    labels: _containers.ScalarMap[str, str]
    def __init__(self, project: _Optional[str] = ..., address: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ...) -> None: ...

class FloatingIpRef(_message.Message):
    __slots__ = ("address", "project")
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    address: str
    project: str
    def __init__(self, address: _Optional[str] = ..., project: _Optional[str] = ...) -> None: ...

class ListFloatingIpsRequest(_message.Message):
    __slots__ = ("project", "page_size", "page_token")
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    project: str
    page_size: int
    page_token: str
    def __init__(self, project: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListFloatingIpsResponse(_message.Message):
    __slots__ = ("floating_ips", "next_page_token")
    FLOATING_IPS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    floating_ips: _containers.RepeatedCompositeFieldContainer[FloatingIp]
    next_page_token: str
    def __init__(self, floating_ips: _Optional[_Iterable[_Union[FloatingIp, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class AttachFloatingIpRequest(_message.Message):
    __slots__ = ("address", "project", "instance")
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    INSTANCE_FIELD_NUMBER: _ClassVar[int]
    address: str
    project: str
    instance: str
    def __init__(self, address: _Optional[str] = ..., project: _Optional[str] = ..., instance: _Optional[str] = ...) -> None: ...

class DeleteFloatingIpResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SetVpcGatewayRequest(_message.Message):
    __slots__ = ("vpc", "project", "host")
    VPC_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    HOST_FIELD_NUMBER: _ClassVar[int]
    vpc: str
    project: str
    host: str
    def __init__(self, vpc: _Optional[str] = ..., project: _Optional[str] = ..., host: _Optional[str] = ...) -> None: ...

class FloatingBinding(_message.Message):
    __slots__ = ("address", "ip")
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    IP_FIELD_NUMBER: _ClassVar[int]
    address: str
    ip: str
    def __init__(self, address: _Optional[str] = ..., ip: _Optional[str] = ...) -> None: ...

class VpcGateway(_message.Message):
    __slots__ = ("vni", "cidr", "addresses", "floating")
    VNI_FIELD_NUMBER: _ClassVar[int]
    CIDR_FIELD_NUMBER: _ClassVar[int]
    ADDRESSES_FIELD_NUMBER: _ClassVar[int]
    FLOATING_FIELD_NUMBER: _ClassVar[int]
    vni: int
    cidr: str
    addresses: _containers.RepeatedScalarFieldContainer[str]
    floating: _containers.RepeatedCompositeFieldContainer[FloatingBinding]
    def __init__(self, vni: _Optional[int] = ..., cidr: _Optional[str] = ..., addresses: _Optional[_Iterable[str]] = ..., floating: _Optional[_Iterable[_Union[FloatingBinding, _Mapping]]] = ...) -> None: ...
