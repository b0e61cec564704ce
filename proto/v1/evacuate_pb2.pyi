import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class EvacuateHostRequest(_message.Message):
    __slots__ = ("name", "parallel", "request_id")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PARALLEL_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    name: str
    parallel: int
    request_id: str
    def __init__(self, name: _Optional[str] = ..., parallel: _Optional[int] = ..., request_id: _Optional[str] = ...) -> None: ...

class GetEvacuationRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class EvacuationItem(_message.Message):
    __slots__ = ("instance_id", "instance_name", "project", "status", "reason", "to_host_id", "to_host_name")
    INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    INSTANCE_NAME_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    TO_HOST_ID_FIELD_NUMBER: _ClassVar[int]
    TO_HOST_NAME_FIELD_NUMBER: _ClassVar[int]
    instance_id: str
    instance_name: str
    project: str
    status: str
    reason: str
    to_host_id: str
    to_host_name: str
    def __init__(self, instance_id: _Optional[str] = ..., instance_name: _Optional[str] = ..., project: _Optional[str] = ..., status: _Optional[str] = ..., reason: _Optional[str] = ..., to_host_id: _Optional[str] = ..., to_host_name: _Optional[str] = ...) -> None: ...

class Evacuation(_message.Message):
    __slots__ = ("id", "host_id", "host_name", "state", "parallel", "started_at", "finished_at", "items", "counts", "summary")
    class CountsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    HOST_ID_FIELD_NUMBER: _ClassVar[int]
    HOST_NAME_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    PARALLEL_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    FINISHED_AT_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    COUNTS_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    id: str
    host_id: str
    host_name: str
    state: str
    parallel: int
    started_at: _timestamp_pb2.Timestamp
    finished_at: _timestamp_pb2.Timestamp
    items: _containers.RepeatedCompositeFieldContainer[EvacuationItem]
    counts: _containers.ScalarMap[str, int]
    summary: str
    def __init__(self, id: _Optional[str] = ..., host_id: _Optional[str] = ..., host_name: _Optional[str] = ..., state: _Optional[str] = ..., parallel: _Optional[int] = ..., started_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., finished_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., items: _Optional[_Iterable[_Union[EvacuationItem, _Mapping]]] = ..., counts: _Optional[_Mapping[str, int]] = ..., summary: _Optional[str] = ...) -> None: ...
