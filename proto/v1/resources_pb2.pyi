import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from proto.v1 import vm_pb2 as _vm_pb2
from proto.v1 import storage_pb2 as _storage_pb2
from proto.v1 import volume_pool_pb2 as _volume_pool_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class HostState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    HOST_STATE_UNSPECIFIED: _ClassVar[HostState]
    HOST_STATE_UP: _ClassVar[HostState]
    HOST_STATE_DOWN: _ClassVar[HostState]

class InstanceState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    INSTANCE_STATE_UNSPECIFIED: _ClassVar[InstanceState]
    INSTANCE_STATE_PENDING: _ClassVar[InstanceState]
    INSTANCE_STATE_RUNNING: _ClassVar[InstanceState]
    INSTANCE_STATE_STOPPED: _ClassVar[InstanceState]
    INSTANCE_STATE_FAILED: _ClassVar[InstanceState]
    INSTANCE_STATE_DELETING: _ClassVar[InstanceState]
    INSTANCE_STATE_LOST: _ClassVar[InstanceState]

class MemberRole(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MEMBER_ROLE_UNSPECIFIED: _ClassVar[MemberRole]
    MEMBER_ROLE_LEADER: _ClassVar[MemberRole]
    MEMBER_ROLE_FOLLOWER: _ClassVar[MemberRole]
    MEMBER_ROLE_CANDIDATE: _ClassVar[MemberRole]
HOST_STATE_UNSPECIFIED: HostState
HOST_STATE_UP: HostState
HOST_STATE_DOWN: HostState
INSTANCE_STATE_UNSPECIFIED: InstanceState
INSTANCE_STATE_PENDING: InstanceState
INSTANCE_STATE_RUNNING: InstanceState
INSTANCE_STATE_STOPPED: InstanceState
INSTANCE_STATE_FAILED: InstanceState
INSTANCE_STATE_DELETING: InstanceState
INSTANCE_STATE_LOST: InstanceState
MEMBER_ROLE_UNSPECIFIED: MemberRole
MEMBER_ROLE_LEADER: MemberRole
MEMBER_ROLE_FOLLOWER: MemberRole
MEMBER_ROLE_CANDIDATE: MemberRole

class Meta(_message.Message):
    __slots__ = ("id", "name", "project", "labels", "revision", "created_at", "updated_at")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    project: str
    labels: _containers.ScalarMap[str, str]
    revision: int
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., project: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ..., revision: _Optional[int] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Resources(_message.Message):
    __slots__ = ("vcpus", "memory_bytes", "disk_bytes")
    VCPUS_FIELD_NUMBER: _ClassVar[int]
    MEMORY_BYTES_FIELD_NUMBER: _ClassVar[int]
    DISK_BYTES_FIELD_NUMBER: _ClassVar[int]
    vcpus: int
    memory_bytes: int
    disk_bytes: int
    def __init__(self, vcpus: _Optional[int] = ..., memory_bytes: _Optional[int] = ..., disk_bytes: _Optional[int] = ...) -> None: ...

class Usage(_message.Message):
    __slots__ = ("cpu_percent", "memory_used_bytes", "memory_total_bytes", "disk_used_bytes", "disk_total_bytes", "load1")
    CPU_PERCENT_FIELD_NUMBER: _ClassVar[int]
    MEMORY_USED_BYTES_FIELD_NUMBER: _ClassVar[int]
    MEMORY_TOTAL_BYTES_FIELD_NUMBER: _ClassVar[int]
    DISK_USED_BYTES_FIELD_NUMBER: _ClassVar[int]
    DISK_TOTAL_BYTES_FIELD_NUMBER: _ClassVar[int]
    LOAD1_FIELD_NUMBER: _ClassVar[int]
    cpu_percent: float
    memory_used_bytes: int
    memory_total_bytes: int
    disk_used_bytes: int
    disk_total_bytes: int
    load1: float
    def __init__(self, cpu_percent: _Optional[float] = ..., memory_used_bytes: _Optional[int] = ..., memory_total_bytes: _Optional[int] = ..., disk_used_bytes: _Optional[int] = ..., disk_total_bytes: _Optional[int] = ..., load1: _Optional[float] = ...) -> None: ...

class Host(_message.Message):
    __slots__ = ("meta", "address", "capacity", "allocated", "usage", "drivers", "state", "last_heartbeat", "agent_version", "reason", "images", "schedulable", "vtep", "unhealthy", "volume_pool")
    META_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    CAPACITY_FIELD_NUMBER: _ClassVar[int]
    ALLOCATED_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    DRIVERS_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    LAST_HEARTBEAT_FIELD_NUMBER: _ClassVar[int]
    AGENT_VERSION_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    IMAGES_FIELD_NUMBER: _ClassVar[int]
    SCHEDULABLE_FIELD_NUMBER: _ClassVar[int]
    VTEP_FIELD_NUMBER: _ClassVar[int]
    UNHEALTHY_FIELD_NUMBER: _ClassVar[int]
    VOLUME_POOL_FIELD_NUMBER: _ClassVar[int]
    meta: Meta
    address: str
    capacity: Resources
    allocated: Resources
    usage: Usage
    drivers: _containers.RepeatedScalarFieldContainer[str]
    state: HostState
    last_heartbeat: _timestamp_pb2.Timestamp
    agent_version: str
    reason: str
    images: _containers.RepeatedScalarFieldContainer[str]
    schedulable: str
    vtep: str
    unhealthy: str
    volume_pool: _volume_pool_pb2.HostVolumePool
    def __init__(self, meta: _Optional[_Union[Meta, _Mapping]] = ..., address: _Optional[str] = ..., capacity: _Optional[_Union[Resources, _Mapping]] = ..., allocated: _Optional[_Union[Resources, _Mapping]] = ..., usage: _Optional[_Union[Usage, _Mapping]] = ..., drivers: _Optional[_Iterable[str]] = ..., state: _Optional[_Union[HostState, str]] = ..., last_heartbeat: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., agent_version: _Optional[str] = ..., reason: _Optional[str] = ..., images: _Optional[_Iterable[str]] = ..., schedulable: _Optional[str] = ..., vtep: _Optional[str] = ..., unhealthy: _Optional[str] = ..., volume_pool: _Optional[_Union[_volume_pool_pb2.HostVolumePool, _Mapping]] = ...) -> None: ...

class InstanceSpec(_message.Message):
    __slots__ = ("kind", "image", "vcpus", "memory_bytes", "disk_bytes", "command", "env", "restart_policy", "host_labels", "constraints", "group", "strategy", "subnet", "ip", "security_groups", "secret_env", "volumes", "user_data", "ssh_keys", "vm_image", "secret_files")
    class EnvEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class HostLabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class SecretEnvEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class SecretFilesEntry(_message.Message):
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
    HOST_LABELS_FIELD_NUMBER: _ClassVar[int]
    CONSTRAINTS_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    STRATEGY_FIELD_NUMBER: _ClassVar[int]
    SUBNET_FIELD_NUMBER: _ClassVar[int]
    IP_FIELD_NUMBER: _ClassVar[int]
    SECURITY_GROUPS_FIELD_NUMBER: _ClassVar[int]
    SECRET_ENV_FIELD_NUMBER: _ClassVar[int]
    VOLUMES_FIELD_NUMBER: _ClassVar[int]
    USER_DATA_FIELD_NUMBER: _ClassVar[int]
    SSH_KEYS_FIELD_NUMBER: _ClassVar[int]
    VM_IMAGE_FIELD_NUMBER: _ClassVar[int]
    SECRET_FILES_FIELD_NUMBER: _ClassVar[int]
    kind: str
    image: str
    vcpus: int
    memory_bytes: int
    disk_bytes: int
    command: _containers.RepeatedScalarFieldContainer[str]
    env: _containers.ScalarMap[str, str]
    restart_policy: str
    host_labels: _containers.ScalarMap[str, str]
    constraints: _containers.RepeatedScalarFieldContainer[str]
    group: str
    strategy: str
    subnet: str
    ip: str
    security_groups: _containers.RepeatedScalarFieldContainer[str]
    secret_env: _containers.ScalarMap[str, str]
    volumes: _containers.RepeatedCompositeFieldContainer[_storage_pb2.VolumeAttachment]
    user_data: str
    ssh_keys: _containers.RepeatedScalarFieldContainer[str]
    vm_image: _vm_pb2.VmImage
    secret_files: _containers.ScalarMap[str, str]
    def __init__(self, kind: _Optional[str] = ..., image: _Optional[str] = ..., vcpus: _Optional[int] = ..., memory_bytes: _Optional[int] = ..., disk_bytes: _Optional[int] = ..., command: _Optional[_Iterable[str]] = ..., env: _Optional[_Mapping[str, str]] = ..., restart_policy: _Optional[str] = ..., host_labels: _Optional[_Mapping[str, str]] = ..., constraints: _Optional[_Iterable[str]] = ..., group: _Optional[str] = ..., strategy: _Optional[str] = ..., subnet: _Optional[str] = ..., ip: _Optional[str] = ..., security_groups: _Optional[_Iterable[str]] = ..., secret_env: _Optional[_Mapping[str, str]] = ..., volumes: _Optional[_Iterable[_Union[_storage_pb2.VolumeAttachment, _Mapping]]] = ..., user_data: _Optional[str] = ..., ssh_keys: _Optional[_Iterable[str]] = ..., vm_image: _Optional[_Union[_vm_pb2.VmImage, _Mapping]] = ..., secret_files: _Optional[_Mapping[str, str]] = ...) -> None: ...

class InstancePort(_message.Message):
    __slots__ = ("vpc", "subnet", "ip", "prefix_len", "gateway", "mac", "mtu", "security_groups", "floating_ip")
    VPC_FIELD_NUMBER: _ClassVar[int]
    SUBNET_FIELD_NUMBER: _ClassVar[int]
    IP_FIELD_NUMBER: _ClassVar[int]
    PREFIX_LEN_FIELD_NUMBER: _ClassVar[int]
    GATEWAY_FIELD_NUMBER: _ClassVar[int]
    MAC_FIELD_NUMBER: _ClassVar[int]
    MTU_FIELD_NUMBER: _ClassVar[int]
    SECURITY_GROUPS_FIELD_NUMBER: _ClassVar[int]
    FLOATING_IP_FIELD_NUMBER: _ClassVar[int]
    vpc: str
    subnet: str
    ip: str
    prefix_len: int
    gateway: str
    mac: str
    mtu: int
    security_groups: _containers.RepeatedScalarFieldContainer[str]
    floating_ip: str
    def __init__(self, vpc: _Optional[str] = ..., subnet: _Optional[str] = ..., ip: _Optional[str] = ..., prefix_len: _Optional[int] = ..., gateway: _Optional[str] = ..., mac: _Optional[str] = ..., mtu: _Optional[int] = ..., security_groups: _Optional[_Iterable[str]] = ..., floating_ip: _Optional[str] = ...) -> None: ...

class Instance(_message.Message):
    __slots__ = ("meta", "spec", "desired_state", "state", "host_id", "host_name", "reason", "runtime_id", "started_at", "finished_at", "exit_code", "port", "cpu_time_ns", "memory_used_bytes")
    META_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    DESIRED_STATE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    HOST_ID_FIELD_NUMBER: _ClassVar[int]
    HOST_NAME_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    RUNTIME_ID_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    FINISHED_AT_FIELD_NUMBER: _ClassVar[int]
    EXIT_CODE_FIELD_NUMBER: _ClassVar[int]
    PORT_FIELD_NUMBER: _ClassVar[int]
    CPU_TIME_NS_FIELD_NUMBER: _ClassVar[int]
    MEMORY_USED_BYTES_FIELD_NUMBER: _ClassVar[int]
    meta: Meta
    spec: InstanceSpec
    desired_state: str
    state: InstanceState
    host_id: str
    host_name: str
    reason: str
    runtime_id: str
    started_at: _timestamp_pb2.Timestamp
    finished_at: _timestamp_pb2.Timestamp
    exit_code: int
    port: InstancePort
    cpu_time_ns: int
    memory_used_bytes: int
    def __init__(self, meta: _Optional[_Union[Meta, _Mapping]] = ..., spec: _Optional[_Union[InstanceSpec, _Mapping]] = ..., desired_state: _Optional[str] = ..., state: _Optional[_Union[InstanceState, str]] = ..., host_id: _Optional[str] = ..., host_name: _Optional[str] = ..., reason: _Optional[str] = ..., runtime_id: _Optional[str] = ..., started_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., finished_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., exit_code: _Optional[int] = ..., port: _Optional[_Union[InstancePort, _Mapping]] = ..., cpu_time_ns: _Optional[int] = ..., memory_used_bytes: _Optional[int] = ...) -> None: ...

class ClusterMember(_message.Message):
    __slots__ = ("name", "api_address", "raft_address", "role", "term", "commit_index", "applied_index", "reachable", "error", "version")
    NAME_FIELD_NUMBER: _ClassVar[int]
    API_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    RAFT_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    TERM_FIELD_NUMBER: _ClassVar[int]
    COMMIT_INDEX_FIELD_NUMBER: _ClassVar[int]
    APPLIED_INDEX_FIELD_NUMBER: _ClassVar[int]
    REACHABLE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    name: str
    api_address: str
    raft_address: str
    role: MemberRole
    term: int
    commit_index: int
    applied_index: int
    reachable: bool
    error: str
    version: str
    def __init__(self, name: _Optional[str] = ..., api_address: _Optional[str] = ..., raft_address: _Optional[str] = ..., role: _Optional[_Union[MemberRole, str]] = ..., term: _Optional[int] = ..., commit_index: _Optional[int] = ..., applied_index: _Optional[int] = ..., reachable: _Optional[bool] = ..., error: _Optional[str] = ..., version: _Optional[str] = ...) -> None: ...
