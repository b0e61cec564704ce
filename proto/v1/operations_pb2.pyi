import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from proto.v1 import node_pb2 as _node_pb2
from proto.v1 import resources_pb2 as _resources_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AddMemberRequest(_message.Message):
    __slots__ = ("name", "api_address", "raft_address")
    NAME_FIELD_NUMBER: _ClassVar[int]
    API_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    RAFT_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    name: str
    api_address: str
    raft_address: str
    def __init__(self, name: _Optional[str] = ..., api_address: _Optional[str] = ..., raft_address: _Optional[str] = ...) -> None: ...

class RemoveMemberRequest(_message.Message):
    __slots__ = ("name", "force")
    NAME_FIELD_NUMBER: _ClassVar[int]
    FORCE_FIELD_NUMBER: _ClassVar[int]
    name: str
    force: bool
    def __init__(self, name: _Optional[str] = ..., force: _Optional[bool] = ...) -> None: ...

class RemoveMemberResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class BackupRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class BackupArchive(_message.Message):
    __slots__ = ("revision", "cluster_name", "created_at", "archive", "sha256")
    REVISION_FIELD_NUMBER: _ClassVar[int]
    CLUSTER_NAME_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    ARCHIVE_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    revision: int
    cluster_name: str
    created_at: _timestamp_pb2.Timestamp
    archive: bytes
    sha256: str
    def __init__(self, revision: _Optional[int] = ..., cluster_name: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., archive: _Optional[bytes] = ..., sha256: _Optional[str] = ...) -> None: ...

class RestoreRequest(_message.Message):
    __slots__ = ("archive",)
    ARCHIVE_FIELD_NUMBER: _ClassVar[int]
    archive: bytes
    def __init__(self, archive: _Optional[bytes] = ...) -> None: ...

class RestoreResponse(_message.Message):
    __slots__ = ("revision", "hosts", "instances")
    REVISION_FIELD_NUMBER: _ClassVar[int]
    HOSTS_FIELD_NUMBER: _ClassVar[int]
    INSTANCES_FIELD_NUMBER: _ClassVar[int]
    revision: int
    hosts: int
    instances: int
    def __init__(self, revision: _Optional[int] = ..., hosts: _Optional[int] = ..., instances: _Optional[int] = ...) -> None: ...

class CreateJoinTokenRequest(_message.Message):
    __slots__ = ("ttl_seconds", "role", "name", "addresses")
    TTL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ADDRESSES_FIELD_NUMBER: _ClassVar[int]
    ttl_seconds: int
    role: str
    name: str
    addresses: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, ttl_seconds: _Optional[int] = ..., role: _Optional[str] = ..., name: _Optional[str] = ..., addresses: _Optional[_Iterable[str]] = ...) -> None: ...

class JoinToken(_message.Message):
    __slots__ = ("token", "expires_at", "ca_fingerprint", "enroll_endpoints", "name", "role", "id")
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    CA_FINGERPRINT_FIELD_NUMBER: _ClassVar[int]
    ENROLL_ENDPOINTS_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    token: str
    expires_at: _timestamp_pb2.Timestamp
    ca_fingerprint: str
    enroll_endpoints: _containers.RepeatedScalarFieldContainer[str]
    name: str
    role: str
    id: str
    def __init__(self, token: _Optional[str] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., ca_fingerprint: _Optional[str] = ..., enroll_endpoints: _Optional[_Iterable[str]] = ..., name: _Optional[str] = ..., role: _Optional[str] = ..., id: _Optional[str] = ...) -> None: ...

class RemoveHostRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class RemoveHostResponse(_message.Message):
    __slots__ = ("revoked_serials",)
    REVOKED_SERIALS_FIELD_NUMBER: _ClassVar[int]
    revoked_serials: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, revoked_serials: _Optional[_Iterable[str]] = ...) -> None: ...

class RotateCaRequest(_message.Message):
    __slots__ = ("phase",)
    PHASE_FIELD_NUMBER: _ClassVar[int]
    phase: str
    def __init__(self, phase: _Optional[str] = ...) -> None: ...

class RotateCaResponse(_message.Message):
    __slots__ = ("phase", "new_ca_fingerprint", "old_ca_fingerprint", "pending", "bundle_pem")
    PHASE_FIELD_NUMBER: _ClassVar[int]
    NEW_CA_FINGERPRINT_FIELD_NUMBER: _ClassVar[int]
    OLD_CA_FINGERPRINT_FIELD_NUMBER: _ClassVar[int]
    PENDING_FIELD_NUMBER: _ClassVar[int]
    BUNDLE_PEM_FIELD_NUMBER: _ClassVar[int]
    phase: str
    new_ca_fingerprint: str
    old_ca_fingerprint: str
    pending: _containers.RepeatedScalarFieldContainer[str]
    bundle_pem: bytes
    def __init__(self, phase: _Optional[str] = ..., new_ca_fingerprint: _Optional[str] = ..., old_ca_fingerprint: _Optional[str] = ..., pending: _Optional[_Iterable[str]] = ..., bundle_pem: _Optional[bytes] = ...) -> None: ...

class EnrollRequest(_message.Message):
    __slots__ = ("token", "name", "csr_pem", "addresses")
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CSR_PEM_FIELD_NUMBER: _ClassVar[int]
    ADDRESSES_FIELD_NUMBER: _ClassVar[int]
    token: str
    name: str
    csr_pem: bytes
    addresses: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, token: _Optional[str] = ..., name: _Optional[str] = ..., csr_pem: _Optional[bytes] = ..., addresses: _Optional[_Iterable[str]] = ...) -> None: ...

class EnrollResponse(_message.Message):
    __slots__ = ("certificate_pem", "ca_pem", "role")
    CERTIFICATE_PEM_FIELD_NUMBER: _ClassVar[int]
    CA_PEM_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    certificate_pem: bytes
    ca_pem: bytes
    role: str
    def __init__(self, certificate_pem: _Optional[bytes] = ..., ca_pem: _Optional[bytes] = ..., role: _Optional[str] = ...) -> None: ...
