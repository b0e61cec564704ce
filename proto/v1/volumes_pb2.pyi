from proto.v1 import resources_pb2 as _resources_pb2
from proto.v1 import agent_pb2 as _agent_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class VolumeState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    VOLUME_STATE_UNSPECIFIED: _ClassVar[VolumeState]
    VOLUME_STATE_CREATING: _ClassVar[VolumeState]
    VOLUME_STATE_AVAILABLE: _ClassVar[VolumeState]
    VOLUME_STATE_IN_USE: _ClassVar[VolumeState]
    VOLUME_STATE_DELETING: _ClassVar[VolumeState]
    VOLUME_STATE_ERROR: _ClassVar[VolumeState]
    VOLUME_STATE_REVERTING: _ClassVar[VolumeState]
VOLUME_STATE_UNSPECIFIED: VolumeState
VOLUME_STATE_CREATING: VolumeState
VOLUME_STATE_AVAILABLE: VolumeState
VOLUME_STATE_IN_USE: VolumeState
VOLUME_STATE_DELETING: VolumeState
VOLUME_STATE_ERROR: VolumeState
VOLUME_STATE_REVERTING: VolumeState

class Volume(_message.Message):
    __slots__ = ("meta", "size_bytes", "used_bytes", "host_id", "host_name", "state", "reason", "attached_to", "attached_to_id", "attach_path", "source_snapshot", "observed_size_bytes", "snapshots")
    META_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    USED_BYTES_FIELD_NUMBER: _ClassVar[int]
    HOST_ID_FIELD_NUMBER: _ClassVar[int]
    HOST_NAME_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    ATTACHED_TO_FIELD_NUMBER: _ClassVar[int]
    ATTACHED_TO_ID_FIELD_NUMBER: _ClassVar[int]
    ATTACH_PATH_FIELD_NUMBER: _ClassVar[int]
    SOURCE_SNAPSHOT_FIELD_NUMBER: _ClassVar[int]
    OBSERVED_SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOTS_FIELD_NUMBER: _ClassVar[int]
    meta: _resources_pb2.Meta
    size_bytes: int
    used_bytes: int
    host_id: str
    host_name: str
    state: VolumeState
    reason: str
    attached_to: str
    attached_to_id: str
    attach_path: str
    source_snapshot: str
    observed_size_bytes: int
    snapshots: int
    def __init__(self, meta: _Optional[_Union[_resources_pb2.Meta, _Mapping]] = ..., size_bytes: _Optional[int] = ..., used_bytes: _Optional[int] = ..., host_id: _Optional[str] = ..., host_name: _Optional[str] = ..., state: _Optional[_Union[VolumeState, str]] = ..., reason: _Optional[str] = ..., attached_to: _Optional[str] = ..., attached_to_id: _Optional[str] = ..., attach_path: _Optional[str] = ..., source_snapshot: _Optional[str] = ..., observed_size_bytes: _Optional[int] = ..., snapshots: _Optional[int] = ...) -> None: ...

class Snapshot(_message.Message):
    __slots__ = ("meta", "volume", "volume_id", "size_bytes", "host_id", "host_name", "state", "reason")
    META_FIELD_NUMBER: _ClassVar[int]
    VOLUME_FIELD_NUMBER: _ClassVar[int]
    VOLUME_ID_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    HOST_ID_FIELD_NUMBER: _ClassVar[int]
    HOST_NAME_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    meta: _resources_pb2.Meta
    volume: str
    volume_id: str
    size_bytes: int
    host_id: str
    host_name: str
    state: VolumeState
    reason: str
    def __init__(self, meta: _Optional[_Union[_resources_pb2.Meta, _Mapping]] = ..., volume: _Optional[str] = ..., volume_id: _Optional[str] = ..., size_bytes: _Optional[int] = ..., host_id: _Optional[str] = ..., host_name: _Optional[str] = ..., state: _Optional[_Union[VolumeState, str]] = ..., reason: _Optional[str] = ...) -> None: ...

class StoragePool(_message.Message):
    __slots__ = ("host_id", "host_name", "driver", "total_bytes", "used_bytes", "provisioned_bytes", "overcommit")
    HOST_ID_FIELD_NUMBER: _ClassVar[int]
    HOST_NAME_FIELD_NUMBER: _ClassVar[int]
    DRIVER_FIELD_NUMBER: _ClassVar[int]
    TOTAL_BYTES_FIELD_NUMBER: _ClassVar[int]
    USED_BYTES_FIELD_NUMBER: _ClassVar[int]
    PROVISIONED_BYTES_FIELD_NUMBER: _ClassVar[int]
    OVERCOMMIT_FIELD_NUMBER: _ClassVar[int]
    host_id: str
    host_name: str
    driver: str
    total_bytes: int
    used_bytes: int
    provisioned_bytes: int
    overcommit: float
    def __init__(self, host_id: _Optional[str] = ..., host_name: _Optional[str] = ..., driver: _Optional[str] = ..., total_bytes: _Optional[int] = ..., used_bytes: _Optional[int] = ..., provisioned_bytes: _Optional[int] = ..., overcommit: _Optional[float] = ...) -> None: ...

class CreateVolumeRequest(_message.Message):
    __slots__ = ("name", "project", "size_bytes", "host", "near_instance", "from_snapshot", "labels", "request_id")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    HOST_FIELD_NUMBER: _ClassVar[int]
    NEAR_INSTANCE_FIELD_NUMBER: _ClassVar[int]
    FROM_SNAPSHOT_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    name: str
    project: str
    size_bytes: int
    host: str
    near_instance: str
    from_snapshot: str
    labels: _containers.ScalarMap[str, str]
    request_id: str
    def __init__(self, name: _Optional[str] = ..., project: _Optional[str] = ..., size_bytes: _Optional[int] = ..., host: _Optional[str] = ..., near_instance: _Optional[str] = ..., from_snapshot: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ..., request_id: _Optional[str] = ...) -> None: ...

class GetVolumeRequest(_message.Message):
    __slots__ = ("name", "project")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    name: str
    project: str
    def __init__(self, name: _Optional[str] = ..., project: _Optional[str] = ...) -> None: ...

class ListVolumesRequest(_message.Message):
    __slots__ = ("project", "page_size", "page_token", "host")
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    HOST_FIELD_NUMBER: _ClassVar[int]
    project: str
    page_size: int
    page_token: str
    host: str
    def __init__(self, project: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., host: _Optional[str] = ...) -> None: ...

class ListVolumesResponse(_message.Message):
    __slots__ = ("volumes", "next_page_token")
    VOLUMES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    volumes: _containers.RepeatedCompositeFieldContainer[Volume]
    next_page_token: str
    def __init__(self, volumes: _Optional[_Iterable[_Union[Volume, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class DeleteVolumeRequest(_message.Message):
    __slots__ = ("name", "project", "cascade")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    CASCADE_FIELD_NUMBER: _ClassVar[int]
    name: str
    project: str
    cascade: bool
    def __init__(self, name: _Optional[str] = ..., project: _Optional[str] = ..., cascade: _Optional[bool] = ...) -> None: ...

class DeleteVolumeResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ResizeVolumeRequest(_message.Message):
    __slots__ = ("name", "project", "size_bytes")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    name: str
    project: str
    size_bytes: int
    def __init__(self, name: _Optional[str] = ..., project: _Optional[str] = ..., size_bytes: _Optional[int] = ...) -> None: ...

class AttachVolumeRequest(_message.Message):
    __slots__ = ("name", "project", "instance", "path")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    INSTANCE_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    name: str
    project: str
    instance: str
    path: str
    def __init__(self, name: _Optional[str] = ..., project: _Optional[str] = ..., instance: _Optional[str] = ..., path: _Optional[str] = ...) -> None: ...

class DetachVolumeRequest(_message.Message):
    __slots__ = ("name", "project")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    name: str
    project: str
    def __init__(self, name: _Optional[str] = ..., project: _Optional[str] = ...) -> None: ...

class RevertVolumeRequest(_message.Message):
    __slots__ = ("name", "project", "snapshot")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_FIELD_NUMBER: _ClassVar[int]
    name: str
    project: str
    snapshot: str
    def __init__(self, name: _Optional[str] = ..., project: _Optional[str] = ..., snapshot: _Optional[str] = ...) -> None: ...

class ListStoragePoolsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListStoragePoolsResponse(_message.Message):
    __slots__ = ("pools",)
    POOLS_FIELD_NUMBER: _ClassVar[int]
    pools: _containers.RepeatedCompositeFieldContainer[StoragePool]
    def __init__(self, pools: _Optional[_Iterable[_Union[StoragePool, _Mapping]]] = ...) -> None: ...

class CreateSnapshotRequest(_message.Message):
    __slots__ = ("name", "project", "volume", "labels", "request_id")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    VOLUME_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    name: str
    project: str
    volume: str
    labels: _containers.ScalarMap[str, str]
    request_id: str
    def __init__(self, name: _Optional[str] = ..., project: _Optional[str] = ..., volume: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ..., request_id: _Optional[str] = ...) -> None: ...

class GetSnapshotRequest(_message.Message):
    __slots__ = ("name", "project")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    name: str
    project: str
    def __init__(self, name: _Optional[str] = ..., project: _Optional[str] = ...) -> None: ...

class ListSnapshotsRequest(_message.Message):
    __slots__ = ("project", "volume", "page_size", "page_token")
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    VOLUME_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    project: str
    volume: str
    page_size: int
    page_token: str
    def __init__(self, project: _Optional[str] = ..., volume: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListSnapshotsResponse(_message.Message):
    __slots__ = ("snapshots", "next_page_token")
    SNAPSHOTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    snapshots: _containers.RepeatedCompositeFieldContainer[Snapshot]
    next_page_token: str
    def __init__(self, snapshots: _Optional[_Iterable[_Union[Snapshot, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class DeleteSnapshotRequest(_message.Message):
    __slots__ = ("name", "project")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    name: str
    project: str
    def __init__(self, name: _Optional[str] = ..., project: _Optional[str] = ...) -> None: ...

class DeleteSnapshotResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class EnsureVolumeRequest(_message.Message):
    __slots__ = ("fence", "volume_id", "size_bytes", "source_snapshot_id", "revert_snapshot_id", "revert_generation")
    FENCE_FIELD_NUMBER: _ClassVar[int]
    VOLUME_ID_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    SOURCE_SNAPSHOT_ID_FIELD_NUMBER: _ClassVar[int]
    REVERT_SNAPSHOT_ID_FIELD_NUMBER: _ClassVar[int]
    REVERT_GENERATION_FIELD_NUMBER: _ClassVar[int]
    fence: _agent_pb2.Fence
    volume_id: str
    size_bytes: int
    source_snapshot_id: str
    revert_snapshot_id: str
    revert_generation: int
    def __init__(self, fence: _Optional[_Union[_agent_pb2.Fence, _Mapping]] = ..., volume_id: _Optional[str] = ..., size_bytes: _Optional[int] = ..., source_snapshot_id: _Optional[str] = ..., revert_snapshot_id: _Optional[str] = ..., revert_generation: _Optional[int] = ...) -> None: ...

class ObservedVolume(_message.Message):
    __slots__ = ("volume_id", "state", "size_bytes", "used_bytes", "revert_generation", "attached_to", "reason")
    VOLUME_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    USED_BYTES_FIELD_NUMBER: _ClassVar[int]
    REVERT_GENERATION_FIELD_NUMBER: _ClassVar[int]
    ATTACHED_TO_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    volume_id: str
    state: str
    size_bytes: int
    used_bytes: int
    revert_generation: int
    attached_to: str
    reason: str
    def __init__(self, volume_id: _Optional[str] = ..., state: _Optional[str] = ..., size_bytes: _Optional[int] = ..., used_bytes: _Optional[int] = ..., revert_generation: _Optional[int] = ..., attached_to: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class RemoveVolumeRequest(_message.Message):
    __slots__ = ("fence", "volume_id")
    FENCE_FIELD_NUMBER: _ClassVar[int]
    VOLUME_ID_FIELD_NUMBER: _ClassVar[int]
    fence: _agent_pb2.Fence
    volume_id: str
    def __init__(self, fence: _Optional[_Union[_agent_pb2.Fence, _Mapping]] = ..., volume_id: _Optional[str] = ...) -> None: ...

class EnsureSnapshotRequest(_message.Message):
    __slots__ = ("fence", "snapshot_id", "volume_id")
    FENCE_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_ID_FIELD_NUMBER: _ClassVar[int]
    VOLUME_ID_FIELD_NUMBER: _ClassVar[int]
    fence: _agent_pb2.Fence
    snapshot_id: str
    volume_id: str
    def __init__(self, fence: _Optional[_Union[_agent_pb2.Fence, _Mapping]] = ..., snapshot_id: _Optional[str] = ..., volume_id: _Optional[str] = ...) -> None: ...

class ObservedSnapshot(_message.Message):
    __slots__ = ("snapshot_id", "volume_id", "state", "size_bytes", "reason")
    SNAPSHOT_ID_FIELD_NUMBER: _ClassVar[int]
    VOLUME_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    snapshot_id: str
    volume_id: str
    state: str
    size_bytes: int
    reason: str
    def __init__(self, snapshot_id: _Optional[str] = ..., volume_id: _Optional[str] = ..., state: _Optional[str] = ..., size_bytes: _Optional[int] = ..., reason: _Optional[str] = ...) -> None: ...

class RemoveSnapshotRequest(_message.Message):
    __slots__ = ("fence", "snapshot_id")
    FENCE_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_ID_FIELD_NUMBER: _ClassVar[int]
    fence: _agent_pb2.Fence
    snapshot_id: str
    def __init__(self, fence: _Optional[_Union[_agent_pb2.Fence, _Mapping]] = ..., snapshot_id: _Optional[str] = ...) -> None: ...

class RemoveStoredResponse(_message.Message):
    __slots__ = ("existed",)
    EXISTED_FIELD_NUMBER: _ClassVar[int]
    existed: bool
    def __init__(self, existed: _Optional[bool] = ...) -> None: ...

class ListAgentVolumesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class AgentPool(_message.Message):
    __slots__ = ("driver", "total_bytes", "used_bytes")
    DRIVER_FIELD_NUMBER: _ClassVar[int]
    TOTAL_BYTES_FIELD_NUMBER: _ClassVar[int]
    USED_BYTES_FIELD_NUMBER: _ClassVar[int]
    driver: str
    total_bytes: int
    used_bytes: int
    def __init__(self, driver: _Optional[str] = ..., total_bytes: _Optional[int] = ..., used_bytes: _Optional[int] = ...) -> None: ...

class ListAgentVolumesResponse(_message.Message):
    __slots__ = ("volumes", "snapshots", "pool")
    VOLUMES_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOTS_FIELD_NUMBER: _ClassVar[int]
    POOL_FIELD_NUMBER: _ClassVar[int]
    volumes: _containers.RepeatedCompositeFieldContainer[ObservedVolume]
    snapshots: _containers.RepeatedCompositeFieldContainer[ObservedSnapshot]
    pool: AgentPool
    def __init__(self, volumes: _Optional[_Iterable[_Union[ObservedVolume, _Mapping]]] = ..., snapshots: _Optional[_Iterable[_Union[ObservedSnapshot, _Mapping]]] = ..., pool: _Optional[_Union[AgentPool, _Mapping]] = ...) -> None: ...
