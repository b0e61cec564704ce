from google.protobuf import field_mask_pb2 as _field_mask_pb2
from proto.v1 import resources_pb2 as _resources_pb2
from proto.v1 import public_pb2 as _public_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PlacementGroup(_message.Message):
    __slots__ = ("meta", "policy", "domain", "max_per_domain", "soft", "members", "members_per_domain")
    class MembersPerDomainEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    META_FIELD_NUMBER: _ClassVar[int]
    POLICY_FIELD_NUMBER: _ClassVar[int]
    DOMAIN_FIELD_NUMBER: _ClassVar[int]
    MAX_PER_DOMAIN_FIELD_NUMBER: _ClassVar[int]
    SOFT_FIELD_NUMBER: _ClassVar[int]
    MEMBERS_FIELD_NUMBER: _ClassVar[int]
    MEMBERS_PER_DOMAIN_FIELD_NUMBER: _ClassVar[int]
    meta: _resources_pb2.Meta
    policy: str
    domain: str
    max_per_domain: int
    soft: bool
    members: int
    members_per_domain: _containers.ScalarMap[str, int]
    def __init__(self, meta: _Optional[_Union[_resources_pb2.Meta, _Mapping]] = ..., policy: _Optional[str] = ..., domain: _Optional[str] = ..., max_per_domain: _Optional[int] = ..., soft: _Optional[bool] = ..., members: _Optional[int] = ..., members_per_domain: _Optional[_Mapping[str, int]] = ...) -> None: ...

class CreateGroupRequest(_message.Message):
    __slots__ = ("name", "project", "policy", "domain", "max_per_domain", "soft")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    POLICY_FIELD_NUMBER: _ClassVar[int]
    DOMAIN_FIELD_NUMBER: _ClassVar[int]
    MAX_PER_DOMAIN_FIELD_NUMBER: _ClassVar[int]
    SOFT_FIELD_NUMBER: _ClassVar[int]
    name: str
    project: str
    policy: str
    domain: str
    max_per_domain: int
    soft: bool
    def __init__(self, name: _Optional[str] = ..., project: _Optional[str] = ..., policy: _Optional[str] = ..., domain: _Optional[str] = ..., max_per_domain: _Optional[int] = ..., soft: _Optional[bool] = ...) -> None: ...

class GetGroupRequest(_message.Message):
    __slots__ = ("name", "project")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    name: str
    project: str
    def __init__(self, name: _Optional[str] = ..., project: _Optional[str] = ...) -> None: ...

class ListGroupsRequest(_message.Message):
    __slots__ = ("project", "page_size", "page_token")
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    project: str
    page_size: int
    page_token: str
    def __init__(self, project: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListGroupsResponse(_message.Message):
    __slots__ = ("groups", "next_page_token")
    GROUPS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    groups: _containers.RepeatedCompositeFieldContainer[PlacementGroup]
    next_page_token: str
    def __init__(self, groups: _Optional[_Iterable[_Union[PlacementGroup, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UpdateGroupRequest(_message.Message):
    __slots__ = ("group", "update_mask")
    GROUP_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    group: PlacementGroup
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, group: _Optional[_Union[PlacementGroup, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class DeleteGroupRequest(_message.Message):
    __slots__ = ("name", "project")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    name: str
    project: str
    def __init__(self, name: _Optional[str] = ..., project: _Optional[str] = ...) -> None: ...

class DeleteGroupResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class CandidateScore(_message.Message):
    __slots__ = ("host_id", "host_name", "score", "weights")
    class WeightsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    HOST_ID_FIELD_NUMBER: _ClassVar[int]
    HOST_NAME_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    WEIGHTS_FIELD_NUMBER: _ClassVar[int]
    host_id: str
    host_name: str
    score: float
    weights: _containers.ScalarMap[str, float]
    def __init__(self, host_id: _Optional[str] = ..., host_name: _Optional[str] = ..., score: _Optional[float] = ..., weights: _Optional[_Mapping[str, float]] = ...) -> None: ...

class PlacementExplanation(_message.Message):
    __slots__ = ("placed", "host_id", "host_name", "summary", "candidates", "rejected", "hosts_total", "hosts_feasible")
    class RejectedEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    PLACED_FIELD_NUMBER: _ClassVar[int]
    HOST_ID_FIELD_NUMBER: _ClassVar[int]
    HOST_NAME_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    REJECTED_FIELD_NUMBER: _ClassVar[int]
    HOSTS_TOTAL_FIELD_NUMBER: _ClassVar[int]
    HOSTS_FEASIBLE_FIELD_NUMBER: _ClassVar[int]
    placed: bool
    host_id: str
    host_name: str
    summary: str
    candidates: _containers.RepeatedCompositeFieldContainer[CandidateScore]
    rejected: _containers.ScalarMap[str, int]
    hosts_total: int
    hosts_feasible: int
    def __init__(self, placed: _Optional[bool] = ..., host_id: _Optional[str] = ..., host_name: _Optional[str] = ..., summary: _Optional[str] = ..., candidates: _Optional[_Iterable[_Union[CandidateScore, _Mapping]]] = ..., rejected: _Optional[_Mapping[str, int]] = ..., hosts_total: _Optional[int] = ..., hosts_feasible: _Optional[int] = ...) -> None: ...

class CreateInstancesRequest(_message.Message):
    __slots__ = ("template", "count")
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    template: _public_pb2.CreateInstanceRequest
    count: int
    def __init__(self, template: _Optional[_Union[_public_pb2.CreateInstanceRequest, _Mapping]] = ..., count: _Optional[int] = ...) -> None: ...

class CreateInstancesResponse(_message.Message):
    __slots__ = ("instances",)
    INSTANCES_FIELD_NUMBER: _ClassVar[int]
    instances: _containers.RepeatedCompositeFieldContainer[_resources_pb2.Instance]
    def __init__(self, instances: _Optional[_Iterable[_Union[_resources_pb2.Instance, _Mapping]]] = ...) -> None: ...

class SetHostLabelsRequest(_message.Message):
    __slots__ = ("name", "labels", "remove")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    REMOVE_FIELD_NUMBER: _ClassVar[int]
    name: str
    labels: _containers.ScalarMap[str, str]
    remove: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, name: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ..., remove: _Optional[_Iterable[str]] = ...) -> None: ...

class SetHostSchedulableRequest(_message.Message):
    __slots__ = ("name", "mode")
    NAME_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    name: str
    mode: str
    def __init__(self, name: _Optional[str] = ..., mode: _Optional[str] = ...) -> None: ...
