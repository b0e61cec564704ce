from proto.v1 import resources_pb2 as _resources_pb2
from proto.v1 import agent_pb2 as _agent_pb2
from proto.v1 import floating_pb2 as _floating_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Vpc(_message.Message):
    __slots__ = ("meta", "cidr", "vni", "mtu", "ports", "gateway_host")
    META_FIELD_NUMBER: _ClassVar[int]
    CIDR_FIELD_NUMBER: _ClassVar[int]
    VNI_FIELD_NUMBER: _ClassVar[int]
    MTU_FIELD_NUMBER: _ClassVar[int]
    PORTS_FIELD_NUMBER: _ClassVar[int]
    GATEWAY_HOST_FIELD_NUMBER: _ClassVar[int]
    meta: _resources_pb2.Meta
    cidr: str
    vni: int
    mtu: int
    ports: int
    gateway_host: str
    def __init__(self, meta: _Optional[_Union[_resources_pb2.Meta, _Mapping]] = ..., cidr: _Optional[str] = ..., vni: _Optional[int] = ..., mtu: _Optional[int] = ..., ports: _Optional[int] = ..., gateway_host: _Optional[str] = ...) -> None: ...

class Subnet(_message.Message):
    __slots__ = ("meta", "vpc", "vpc_id", "cidr", "gateway", "ports", "free")
    META_FIELD_NUMBER: _ClassVar[int]
    VPC_FIELD_NUMBER: _ClassVar[int]
    VPC_ID_FIELD_NUMBER: _ClassVar[int]
    CIDR_FIELD_NUMBER: _ClassVar[int]
    GATEWAY_FIELD_NUMBER: _ClassVar[int]
    PORTS_FIELD_NUMBER: _ClassVar[int]
    FREE_FIELD_NUMBER: _ClassVar[int]
    meta: _resources_pb2.Meta
    vpc: str
    vpc_id: str
    cidr: str
    gateway: str
    ports: int
    free: int
    def __init__(self, meta: _Optional[_Union[_resources_pb2.Meta, _Mapping]] = ..., vpc: _Optional[str] = ..., vpc_id: _Optional[str] = ..., cidr: _Optional[str] = ..., gateway: _Optional[str] = ..., ports: _Optional[int] = ..., free: _Optional[int] = ...) -> None: ...

class SecurityGroupRule(_message.Message):
    __slots__ = ("id", "direction", "protocol", "port_min", "port_max", "cidr", "remote_group")
    ID_FIELD_NUMBER: _ClassVar[int]
    DIRECTION_FIELD_NUMBER: _ClassVar[int]
    PROTOCOL_FIELD_NUMBER: _ClassVar[int]
    PORT_MIN_FIELD_NUMBER: _ClassVar[int]
    PORT_MAX_FIELD_NUMBER: _ClassVar[int]
    CIDR_FIELD_NUMBER: _ClassVar[int]
    REMOTE_GROUP_FIELD_NUMBER: _ClassVar[int]
    id: str
    direction: str
    protocol: str
    port_min: int
    port_max: int
    cidr: str
    remote_group: str
    def __init__(self, id: _Optional[str] = ..., direction: _Optional[str] = ..., protocol: _Optional[str] = ..., port_min: _Optional[int] = ..., port_max: _Optional[int] = ..., cidr: _Optional[str] = ..., remote_group: _Optional[str] = ...) -> None: ...

class SecurityGroup(_message.Message):
    __slots__ = ("meta", "rules", "ports")
    META_FIELD_NUMBER: _ClassVar[int]
    RULES_FIELD_NUMBER: _ClassVar[int]
    PORTS_FIELD_NUMBER: _ClassVar[int]
    meta: _resources_pb2.Meta
    rules: _containers.RepeatedCompositeFieldContainer[SecurityGroupRule]
    ports: int
    def __init__(self, meta: _Optional[_Union[_resources_pb2.Meta, _Mapping]] = ..., rules: _Optional[_Iterable[_Union[SecurityGroupRule, _Mapping]]] = ..., ports: _Optional[int] = ...) -> None: ...

class CreateVpcRequest(_message.Message):
    __slots__ = ("name", "project", "cidr", "mtu", "labels", "gateway_host")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    CIDR_FIELD_NUMBER: _ClassVar[int]
    MTU_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    GATEWAY_HOST_FIELD_NUMBER: _ClassVar[int]
    name: str
    project: str
    cidr: str
    mtu: int
    labels: _containers.ScalarMap[str, str]
    gateway_host: str
    def __init__(self, name: _Optional[str] = ..., project: _Optional[str] = ..., cidr: _Optional[str] = ..., mtu: _Optional[int] = ..., labels: _Optional[_Mapping[str, str]] = ..., gateway_host: _Optional[str] = ...) -> None: ...

class CreateSubnetRequest(_message.Message):
    __slots__ = ("name", "project", "vpc", "cidr", "labels")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    VPC_FIELD_NUMBER: _ClassVar[int]
    CIDR_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    name: str
    project: str
    vpc: str
    cidr: str
    labels: _containers.ScalarMap[str, str]
    def __init__(self, name: _Optional[str] = ..., project: _Optional[str] = ..., vpc: _Optional[str] = ..., cidr: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ...) -> None: ...

class CreateSecurityGroupRequest(_message.Message):
    __slots__ = ("name", "project", "labels")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    name: str
    project: str
    labels: _containers.ScalarMap[str, str]
    def __init__(self, name: _Optional[str] = ..., project: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ...) -> None: ...

class NetworkRef(_message.Message):
    __slots__ = ("name", "project")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    name: str
    project: str
    def __init__(self, name: _Optional[str] = ..., project: _Optional[str] = ...) -> None: ...

class ListNetworkRequest(_message.Message):
    __slots__ = ("project", "page_size", "page_token", "vpc")
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    VPC_FIELD_NUMBER: _ClassVar[int]
    project: str
    page_size: int
    page_token: str
    vpc: str
    def __init__(self, project: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., vpc: _Optional[str] = ...) -> None: ...

class ListVpcsResponse(_message.Message):
    __slots__ = ("vpcs", "next_page_token")
    VPCS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    vpcs: _containers.RepeatedCompositeFieldContainer[Vpc]
    next_page_token: str
    def __init__(self, vpcs: _Optional[_Iterable[_Union[Vpc, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListSubnetsResponse(_message.Message):
    __slots__ = ("subnets", "next_page_token")
    SUBNETS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    subnets: _containers.RepeatedCompositeFieldContainer[Subnet]
    next_page_token: str
    def __init__(self, subnets: _Optional[_Iterable[_Union[Subnet, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListSecurityGroupsResponse(_message.Message):
    __slots__ = ("security_groups", "next_page_token")
    SECURITY_GROUPS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    security_groups: _containers.RepeatedCompositeFieldContainer[SecurityGroup]
    next_page_token: str
    def __init__(self, security_groups: _Optional[_Iterable[_Union[SecurityGroup, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class DeleteNetworkResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class AddSecurityGroupRuleRequest(_message.Message):
    __slots__ = ("group", "project", "rule")
    GROUP_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    RULE_FIELD_NUMBER: _ClassVar[int]
    group: str
    project: str
    rule: SecurityGroupRule
    def __init__(self, group: _Optional[str] = ..., project: _Optional[str] = ..., rule: _Optional[_Union[SecurityGroupRule, _Mapping]] = ...) -> None: ...

class RemoveSecurityGroupRuleRequest(_message.Message):
    __slots__ = ("group", "project", "rule_id")
    GROUP_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    RULE_ID_FIELD_NUMBER: _ClassVar[int]
    group: str
    project: str
    rule_id: str
    def __init__(self, group: _Optional[str] = ..., project: _Optional[str] = ..., rule_id: _Optional[str] = ...) -> None: ...

class SecurityGroupMembershipRequest(_message.Message):
    __slots__ = ("group", "instance", "project")
    GROUP_FIELD_NUMBER: _ClassVar[int]
    INSTANCE_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    group: str
    instance: str
    project: str
    def __init__(self, group: _Optional[str] = ..., instance: _Optional[str] = ..., project: _Optional[str] = ...) -> None: ...

class VpcSegment(_message.Message):
    __slots__ = ("vni", "mtu", "remote_vteps", "remote_ports")
    VNI_FIELD_NUMBER: _ClassVar[int]
    MTU_FIELD_NUMBER: _ClassVar[int]
    REMOTE_VTEPS_FIELD_NUMBER: _ClassVar[int]
    REMOTE_PORTS_FIELD_NUMBER: _ClassVar[int]
    vni: int
    mtu: int
    remote_vteps: _containers.RepeatedScalarFieldContainer[str]
    remote_ports: _containers.RepeatedCompositeFieldContainer[RemotePort]
    def __init__(self, vni: _Optional[int] = ..., mtu: _Optional[int] = ..., remote_vteps: _Optional[_Iterable[str]] = ..., remote_ports: _Optional[_Iterable[_Union[RemotePort, _Mapping]]] = ...) -> None: ...

class RemotePort(_message.Message):
    __slots__ = ("mac", "vtep")
    MAC_FIELD_NUMBER: _ClassVar[int]
    VTEP_FIELD_NUMBER: _ClassVar[int]
    mac: str
    vtep: str
    def __init__(self, mac: _Optional[str] = ..., vtep: _Optional[str] = ...) -> None: ...

class FirewallRule(_message.Message):
    __slots__ = ("protocol", "port_min", "port_max", "cidrs")
    PROTOCOL_FIELD_NUMBER: _ClassVar[int]
    PORT_MIN_FIELD_NUMBER: _ClassVar[int]
    PORT_MAX_FIELD_NUMBER: _ClassVar[int]
    CIDRS_FIELD_NUMBER: _ClassVar[int]
    protocol: str
    port_min: int
    port_max: int
    cidrs: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, protocol: _Optional[str] = ..., port_min: _Optional[int] = ..., port_max: _Optional[int] = ..., cidrs: _Optional[_Iterable[str]] = ...) -> None: ...

class PortBinding(_message.Message):
    __slots__ = ("instance_id", "vni", "mac", "ip", "prefix_len", "gateway", "mtu", "filtered", "ingress", "egress", "egress_restricted")
    INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    VNI_FIELD_NUMBER: _ClassVar[int]
    MAC_FIELD_NUMBER: _ClassVar[int]
    IP_FIELD_NUMBER: _ClassVar[int]
    PREFIX_LEN_FIELD_NUMBER: _ClassVar[int]
    GATEWAY_FIELD_NUMBER: _ClassVar[int]
    MTU_FIELD_NUMBER: _ClassVar[int]
    FILTERED_FIELD_NUMBER: _ClassVar[int]
    INGRESS_FIELD_NUMBER: _ClassVar[int]
    EGRESS_FIELD_NUMBER: _ClassVar[int]
    EGRESS_RESTRICTED_FIELD_NUMBER: _ClassVar[int]
    instance_id: str
    vni: int
    mac: str
    ip: str
    prefix_len: int
    gateway: str
    mtu: int
    filtered: bool
    ingress: _containers.RepeatedCompositeFieldContainer[FirewallRule]
    egress: _containers.RepeatedCompositeFieldContainer[FirewallRule]
    egress_restricted: bool
    def __init__(self, instance_id: _Optional[str] = ..., vni: _Optional[int] = ..., mac: _Optional[str] = ..., ip: _Optional[str] = ..., prefix_len: _Optional[int] = ..., gateway: _Optional[str] = ..., mtu: _Optional[int] = ..., filtered: _Optional[bool] = ..., ingress: _Optional[_Iterable[_Union[FirewallRule, _Mapping]]] = ..., egress: _Optional[_Iterable[_Union[FirewallRule, _Mapping]]] = ..., egress_restricted: _Optional[bool] = ...) -> None: ...

class EnsureHostNetworkRequest(_message.Message):
    __slots__ = ("fence", "segments", "ports", "gateways")
    FENCE_FIELD_NUMBER: _ClassVar[int]
    SEGMENTS_FIELD_NUMBER: _ClassVar[int]
    PORTS_FIELD_NUMBER: _ClassVar[int]
    GATEWAYS_FIELD_NUMBER: _ClassVar[int]
    fence: _agent_pb2.Fence
    segments: _containers.RepeatedCompositeFieldContainer[VpcSegment]
    ports: _containers.RepeatedCompositeFieldContainer[PortBinding]
    gateways: _containers.RepeatedCompositeFieldContainer[_floating_pb2.VpcGateway]
    def __init__(self, fence: _Optional[_Union[_agent_pb2.Fence, _Mapping]] = ..., segments: _Optional[_Iterable[_Union[VpcSegment, _Mapping]]] = ..., ports: _Optional[_Iterable[_Union[PortBinding, _Mapping]]] = ..., gateways: _Optional[_Iterable[_Union[_floating_pb2.VpcGateway, _Mapping]]] = ...) -> None: ...

class HostNetworkStatus(_message.Message):
    __slots__ = ("plugged", "waiting", "failed", "rules_replaced")
    PLUGGED_FIELD_NUMBER: _ClassVar[int]
    WAITING_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    RULES_REPLACED_FIELD_NUMBER: _ClassVar[int]
    plugged: _containers.RepeatedScalarFieldContainer[str]
    waiting: _containers.RepeatedScalarFieldContainer[str]
    failed: _containers.RepeatedScalarFieldContainer[str]
    rules_replaced: bool
    def __init__(self, plugged: _Optional[_Iterable[str]] = ..., waiting: _Optional[_Iterable[str]] = ..., failed: _Optional[_Iterable[str]] = ..., rules_replaced: _Optional[bool] = ...) -> None: ...
