from proto.v1 import resources_pb2 as _resources_pb2
from proto.v1 import node_pb2 as _node_pb2
from proto.v1 import vm_guest_pb2 as _vm_guest_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Fence(_message.Message):
    __slots__ = ("term", "leader")
    TERM_FIELD_NUMBER: _ClassVar[int]
    LEADER_FIELD_NUMBER: _ClassVar[int]
    term: int
    leader: str
    def __init__(self, term: _Optional[int] = ..., leader: _Optional[str] = ...) -> None: ...

class EnsureInstanceRequest(_message.Message):
    __slots__ = ("fence", "instance_id", "name", "project", "spec", "desired_state", "host_id", "secret_files", "nic")
    FENCE_FIELD_NUMBER: _ClassVar[int]
    INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    DESIRED_STATE_FIELD_NUMBER: _ClassVar[int]
    HOST_ID_FIELD_NUMBER: _ClassVar[int]
    SECRET_FILES_FIELD_NUMBER: _ClassVar[int]
    NIC_FIELD_NUMBER: _ClassVar[int]
    fence: Fence
    instance_id: str
    name: str
    project: str
    spec: _resources_pb2.InstanceSpec
    desired_state: str
    host_id: str
    secret_files: _containers.RepeatedCompositeFieldContainer[_vm_guest_pb2.GuestFile]
    nic: _vm_guest_pb2.GuestNic
    def __init__(self, fence: _Optional[_Union[Fence, _Mapping]] = ..., instance_id: _Optional[str] = ..., name: _Optional[str] = ..., project: _Optional[str] = ..., spec: _Optional[_Union[_resources_pb2.InstanceSpec, _Mapping]] = ..., desired_state: _Optional[str] = ..., host_id: _Optional[str] = ..., secret_files: _Optional[_Iterable[_Union[_vm_guest_pb2.GuestFile, _Mapping]]] = ..., nic: _Optional[_Union[_vm_guest_pb2.GuestNic, _Mapping]] = ...) -> None: ...

class RemoveInstanceRequest(_message.Message):
    __slots__ = ("fence", "instance_id", "host_id")
    FENCE_FIELD_NUMBER: _ClassVar[int]
    INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    HOST_ID_FIELD_NUMBER: _ClassVar[int]
    fence: Fence
    instance_id: str
    host_id: str
    def __init__(self, fence: _Optional[_Union[Fence, _Mapping]] = ..., instance_id: _Optional[str] = ..., host_id: _Optional[str] = ...) -> None: ...

class RemoveInstanceResponse(_message.Message):
    __slots__ = ("existed",)
    EXISTED_FIELD_NUMBER: _ClassVar[int]
    existed: bool
    def __init__(self, existed: _Optional[bool] = ...) -> None: ...

class ListAgentInstancesRequest(_message.Message):
    __slots__ = ("host_id",)
    HOST_ID_FIELD_NUMBER: _ClassVar[int]
    host_id: str
    def __init__(self, host_id: _Optional[str] = ...) -> None: ...

class ListAgentInstancesResponse(_message.Message):
    __slots__ = ("instances",)
    INSTANCES_FIELD_NUMBER: _ClassVar[int]
    instances: _containers.RepeatedCompositeFieldContainer[_node_pb2.ObservedInstance]
    def __init__(self, instances: _Optional[_Iterable[_Union[_node_pb2.ObservedInstance, _Mapping]]] = ...) -> None: ...

class AgentInstanceLogsRequest(_message.Message):
    __slots__ = ("instance_id", "tail_lines")
    INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    TAIL_LINES_FIELD_NUMBER: _ClassVar[int]
    instance_id: str
    tail_lines: int
    def __init__(self, instance_id: _Optional[str] = ..., tail_lines: _Optional[int] = ...) -> None: ...

class AgentInstanceLogsResponse(_message.Message):
    __slots__ = ("data",)
    DATA_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    def __init__(self, data: _Optional[bytes] = ...) -> None: ...

class GetAgentInfoRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class AgentInfo(_message.Message):
    __slots__ = ("host_name", "host_id", "capacity", "usage", "drivers", "highest_term", "agent_version")
    HOST_NAME_FIELD_NUMBER: _ClassVar[int]
    HOST_ID_FIELD_NUMBER: _ClassVar[int]
    CAPACITY_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    DRIVERS_FIELD_NUMBER: _ClassVar[int]
    HIGHEST_TERM_FIELD_NUMBER: _ClassVar[int]
    AGENT_VERSION_FIELD_NUMBER: _ClassVar[int]
    host_name: str
    host_id: str
    capacity: _resources_pb2.Resources
    usage: _resources_pb2.Usage
    drivers: _containers.RepeatedScalarFieldContainer[str]
    highest_term: int
    agent_version: str
    def __init__(self, host_name: _Optional[str] = ..., host_id: _Optional[str] = ..., capacity: _Optional[_Union[_resources_pb2.Resources, _Mapping]] = ..., usage: _Optional[_Union[_resources_pb2.Usage, _Mapping]] = ..., drivers: _Optional[_Iterable[str]] = ..., highest_term: _Optional[int] = ..., agent_version: _Optional[str] = ...) -> None: ...
