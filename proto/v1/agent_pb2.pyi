from proto.v1 import resources_pb2 as _resources_pb2
from proto.v1 import node_pb2 as _node_pb2
from proto.v1 import vm_pb2 as _vm_pb2
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

class HostInstanceSpec(_message.Message):
    __slots__ = ("kind", "image", "vcpus", "memory_bytes", "disk_bytes", "command", "env", "restart_policy", "env_from_secrets", "vpc_port", "volumes", "vm_image", "user_data", "ssh_keys", "secret_files", "nic")
    class EnvEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    KIND_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    VCPUS_FIELD_NUMBER: _ClassVar[int]
    MEMORY_BYTES_FIELD_NUMBER: _ClassVar[int]
    DISK_BYTES_FIELD_NUMBER: _ClassVar[int]
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    ENV_FIELD_NUMBER: _ClassVar[int]
    RESTART_POLICY_FIELD_NUMBER: _ClassVar[int]
    ENV_FROM_SECRETS_FIELD_NUMBER: _ClassVar[int]
    VPC_PORT_FIELD_NUMBER: _ClassVar[int]
    VOLUMES_FIELD_NUMBER: _ClassVar[int]
    VM_IMAGE_FIELD_NUMBER: _ClassVar[int]
    USER_DATA_FIELD_NUMBER: _ClassVar[int]
    SSH_KEYS_FIELD_NUMBER: _ClassVar[int]
    SECRET_FILES_FIELD_NUMBER: _ClassVar[int]
    NIC_FIELD_NUMBER: _ClassVar[int]
    kind: str
    image: str
    vcpus: int
    memory_bytes: int
    disk_bytes: int
    command: _containers.RepeatedScalarFieldContainer[str]
    env: _containers.ScalarMap[str, str]
    restart_policy: str
    env_from_secrets: bool
    vpc_port: bool
    volumes: _containers.RepeatedCompositeFieldContainer[HostVolume]
    vm_image: _vm_pb2.VmImage
    user_data: str
    ssh_keys: _containers.RepeatedScalarFieldContainer[str]
    secret_files: _containers.RepeatedCompositeFieldContainer[_vm_guest_pb2.GuestFile]
    nic: _vm_guest_pb2.GuestNic
    def __init__(self, kind: _Optional[str] = ..., image: _Optional[str] = ..., vcpus: _Optional[int] = ..., memory_bytes: _Optional[int] = ..., disk_bytes: _Optional[int] = ..., command: _Optional[_Iterable[str]] = ..., env: _Optional[_Mapping[str, str]] = ..., restart_policy: _Optional[str] = ..., env_from_secrets: _Optional[bool] = ..., vpc_port: _Optional[bool] = ..., volumes: _Optional[_Iterable[_Union[HostVolume, _Mapping]]] = ..., vm_image: _Optional[_Union[_vm_pb2.VmImage, _Mapping]] = ..., user_data: _Optional[str] = ..., ssh_keys: _Optional[_Iterable[str]] = ..., secret_files: _Optional[_Iterable[_Union[_vm_guest_pb2.GuestFile, _Mapping]]] = ..., nic: _Optional[_Union[_vm_guest_pb2.GuestNic, _Mapping]] = ...) -> None: ...

class HostVolume(_message.Message):
    __slots__ = ("volume_id", "path")
    VOLUME_ID_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    volume_id: str
    path: str
    def __init__(self, volume_id: _Optional[str] = ..., path: _Optional[str] = ...) -> None: ...

class EnsureInstanceRequest(_message.Message):
    __slots__ = ("fence", "instance_id", "name", "project", "host_spec", "desired_state", "host_id", "spec", "secret_files", "nic")
    FENCE_FIELD_NUMBER: _ClassVar[int]
    INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    HOST_SPEC_FIELD_NUMBER: _ClassVar[int]
    DESIRED_STATE_FIELD_NUMBER: _ClassVar[int]
    HOST_ID_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    SECRET_FILES_FIELD_NUMBER: _ClassVar[int]
    NIC_FIELD_NUMBER: _ClassVar[int]
    fence: Fence
    instance_id: str
    name: str
    project: str
    host_spec: HostInstanceSpec
    desired_state: str
    host_id: str
    spec: _resources_pb2.InstanceSpec
    secret_files: _containers.RepeatedCompositeFieldContainer[_vm_guest_pb2.GuestFile]
    nic: _vm_guest_pb2.GuestNic
    def __init__(self, fence: _Optional[_Union[Fence, _Mapping]] = ..., instance_id: _Optional[str] = ..., name: _Optional[str] = ..., project: _Optional[str] = ..., host_spec: _Optional[_Union[HostInstanceSpec, _Mapping]] = ..., desired_state: _Optional[str] = ..., host_id: _Optional[str] = ..., spec: _Optional[_Union[_resources_pb2.InstanceSpec, _Mapping]] = ..., secret_files: _Optional[_Iterable[_Union[_vm_guest_pb2.GuestFile, _Mapping]]] = ..., nic: _Optional[_Union[_vm_guest_pb2.GuestNic, _Mapping]] = ...) -> None: ...

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
