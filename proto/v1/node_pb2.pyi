from proto.v1 import resources_pb2 as _resources_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ObservedInstance(_message.Message):
    __slots__ = ("instance_id", "state", "runtime_id", "reason", "started_at_ms", "finished_at_ms", "exit_code", "cpu_time_ns", "memory_used_bytes")
    INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    RUNTIME_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    FINISHED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    EXIT_CODE_FIELD_NUMBER: _ClassVar[int]
    CPU_TIME_NS_FIELD_NUMBER: _ClassVar[int]
    MEMORY_USED_BYTES_FIELD_NUMBER: _ClassVar[int]
    instance_id: str
    state: _resources_pb2.InstanceState
    runtime_id: str
    reason: str
    started_at_ms: int
    finished_at_ms: int
    exit_code: int
    cpu_time_ns: int
    memory_used_bytes: int
    def __init__(self, instance_id: _Optional[str] = ..., state: _Optional[_Union[_resources_pb2.InstanceState, str]] = ..., runtime_id: _Optional[str] = ..., reason: _Optional[str] = ..., started_at_ms: _Optional[int] = ..., finished_at_ms: _Optional[int] = ..., exit_code: _Optional[int] = ..., cpu_time_ns: _Optional[int] = ..., memory_used_bytes: _Optional[int] = ...) -> None: ...

class JoinRequest(_message.Message):
    __slots__ = ("host_name", "address", "capacity", "drivers", "labels", "agent_version", "images", "vtep")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    HOST_NAME_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    CAPACITY_FIELD_NUMBER: _ClassVar[int]
    DRIVERS_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    AGENT_VERSION_FIELD_NUMBER: _ClassVar[int]
    IMAGES_FIELD_NUMBER: _ClassVar[int]
    VTEP_FIELD_NUMBER: _ClassVar[int]
    host_name: str
    address: str
    capacity: _resources_pb2.Resources
    drivers: _containers.RepeatedScalarFieldContainer[str]
    labels: _containers.ScalarMap[str, str]
    agent_version: str
    images: _containers.RepeatedScalarFieldContainer[str]
    vtep: str
    def __init__(self, host_name: _Optional[str] = ..., address: _Optional[str] = ..., capacity: _Optional[_Union[_resources_pb2.Resources, _Mapping]] = ..., drivers: _Optional[_Iterable[str]] = ..., labels: _Optional[_Mapping[str, str]] = ..., agent_version: _Optional[str] = ..., images: _Optional[_Iterable[str]] = ..., vtep: _Optional[str] = ...) -> None: ...

class JoinResponse(_message.Message):
    __slots__ = ("host_id", "heartbeat_interval_ms")
    HOST_ID_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_INTERVAL_MS_FIELD_NUMBER: _ClassVar[int]
    host_id: str
    heartbeat_interval_ms: int
    def __init__(self, host_id: _Optional[str] = ..., heartbeat_interval_ms: _Optional[int] = ...) -> None: ...

class HeartbeatRequest(_message.Message):
    __slots__ = ("host_id", "usage", "capacity", "instances", "images")
    HOST_ID_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    CAPACITY_FIELD_NUMBER: _ClassVar[int]
    INSTANCES_FIELD_NUMBER: _ClassVar[int]
    IMAGES_FIELD_NUMBER: _ClassVar[int]
    host_id: str
    usage: _resources_pb2.Usage
    capacity: _resources_pb2.Resources
    instances: _containers.RepeatedCompositeFieldContainer[ObservedInstance]
    images: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, host_id: _Optional[str] = ..., usage: _Optional[_Union[_resources_pb2.Usage, _Mapping]] = ..., capacity: _Optional[_Union[_resources_pb2.Resources, _Mapping]] = ..., instances: _Optional[_Iterable[_Union[ObservedInstance, _Mapping]]] = ..., images: _Optional[_Iterable[str]] = ...) -> None: ...

class HeartbeatResponse(_message.Message):
    __slots__ = ("heartbeat_interval_ms", "ca_pem", "renew_certificate", "deny_list")
    HEARTBEAT_INTERVAL_MS_FIELD_NUMBER: _ClassVar[int]
    CA_PEM_FIELD_NUMBER: _ClassVar[int]
    RENEW_CERTIFICATE_FIELD_NUMBER: _ClassVar[int]
    DENY_LIST_FIELD_NUMBER: _ClassVar[int]
    heartbeat_interval_ms: int
    ca_pem: bytes
    renew_certificate: bool
    deny_list: DenyList
    def __init__(self, heartbeat_interval_ms: _Optional[int] = ..., ca_pem: _Optional[bytes] = ..., renew_certificate: _Optional[bool] = ..., deny_list: _Optional[_Union[DenyList, _Mapping]] = ...) -> None: ...

class DenyList(_message.Message):
    __slots__ = ("revision", "names", "serials")
    REVISION_FIELD_NUMBER: _ClassVar[int]
    NAMES_FIELD_NUMBER: _ClassVar[int]
    SERIALS_FIELD_NUMBER: _ClassVar[int]
    revision: int
    names: _containers.RepeatedCompositeFieldContainer[DeniedName]
    serials: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, revision: _Optional[int] = ..., names: _Optional[_Iterable[_Union[DeniedName, _Mapping]]] = ..., serials: _Optional[_Iterable[str]] = ...) -> None: ...

class DeniedName(_message.Message):
    __slots__ = ("name", "revoked_at_ms", "current_serial")
    NAME_FIELD_NUMBER: _ClassVar[int]
    REVOKED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    CURRENT_SERIAL_FIELD_NUMBER: _ClassVar[int]
    name: str
    revoked_at_ms: int
    current_serial: str
    def __init__(self, name: _Optional[str] = ..., revoked_at_ms: _Optional[int] = ..., current_serial: _Optional[str] = ...) -> None: ...

class RenewCertificateRequest(_message.Message):
    __slots__ = ("csr_pem",)
    CSR_PEM_FIELD_NUMBER: _ClassVar[int]
    csr_pem: bytes
    def __init__(self, csr_pem: _Optional[bytes] = ...) -> None: ...

class RenewCertificateResponse(_message.Message):
    __slots__ = ("certificate_pem", "ca_pem")
    CERTIFICATE_PEM_FIELD_NUMBER: _ClassVar[int]
    CA_PEM_FIELD_NUMBER: _ClassVar[int]
    certificate_pem: bytes
    ca_pem: bytes
    def __init__(self, certificate_pem: _Optional[bytes] = ..., ca_pem: _Optional[bytes] = ...) -> None: ...
