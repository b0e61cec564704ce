from proto.v1 import resources_pb2 as _resources_pb2
from proto.v1 import vm_pb2 as _vm_pb2
from proto.v1 import agent_pb2 as _agent_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Image(_message.Message):
    __slots__ = ("meta", "image", "instances")
    META_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    INSTANCES_FIELD_NUMBER: _ClassVar[int]
    meta: _resources_pb2.Meta
    image: _vm_pb2.VmImage
    instances: int
    def __init__(self, meta: _Optional[_Union[_resources_pb2.Meta, _Mapping]] = ..., image: _Optional[_Union[_vm_pb2.VmImage, _Mapping]] = ..., instances: _Optional[int] = ...) -> None: ...

class ImportImageRequest(_message.Message):
    __slots__ = ("name", "project", "format", "disk", "virtual_size_bytes", "kernel", "initrd", "cmdline", "labels")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    DISK_FIELD_NUMBER: _ClassVar[int]
    VIRTUAL_SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    KERNEL_FIELD_NUMBER: _ClassVar[int]
    INITRD_FIELD_NUMBER: _ClassVar[int]
    CMDLINE_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    name: str
    project: str
    format: str
    disk: _vm_pb2.ImageFile
    virtual_size_bytes: int
    kernel: _vm_pb2.ImageFile
    initrd: _vm_pb2.ImageFile
    cmdline: str
    labels: _containers.ScalarMap[str, str]
    def __init__(self, name: _Optional[str] = ..., project: _Optional[str] = ..., format: _Optional[str] = ..., disk: _Optional[_Union[_vm_pb2.ImageFile, _Mapping]] = ..., virtual_size_bytes: _Optional[int] = ..., kernel: _Optional[_Union[_vm_pb2.ImageFile, _Mapping]] = ..., initrd: _Optional[_Union[_vm_pb2.ImageFile, _Mapping]] = ..., cmdline: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ...) -> None: ...

class GetImageRequest(_message.Message):
    __slots__ = ("name", "project")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    name: str
    project: str
    def __init__(self, name: _Optional[str] = ..., project: _Optional[str] = ...) -> None: ...

class ListImagesRequest(_message.Message):
    __slots__ = ("project", "page_size", "page_token")
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    project: str
    page_size: int
    page_token: str
    def __init__(self, project: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListImagesResponse(_message.Message):
    __slots__ = ("images", "next_page_token")
    IMAGES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    images: _containers.RepeatedCompositeFieldContainer[Image]
    next_page_token: str
    def __init__(self, images: _Optional[_Iterable[_Union[Image, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class DeleteImageRequest(_message.Message):
    __slots__ = ("name", "project")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    name: str
    project: str
    def __init__(self, name: _Optional[str] = ..., project: _Optional[str] = ...) -> None: ...

class DeleteImageResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class RebootInstanceRequest(_message.Message):
    __slots__ = ("name", "project", "hard")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    HARD_FIELD_NUMBER: _ClassVar[int]
    name: str
    project: str
    hard: bool
    def __init__(self, name: _Optional[str] = ..., project: _Optional[str] = ..., hard: _Optional[bool] = ...) -> None: ...

class AgentRebootRequest(_message.Message):
    __slots__ = ("fence", "instance_id", "hard")
    FENCE_FIELD_NUMBER: _ClassVar[int]
    INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    HARD_FIELD_NUMBER: _ClassVar[int]
    fence: _agent_pb2.Fence
    instance_id: str
    hard: bool
    def __init__(self, fence: _Optional[_Union[_agent_pb2.Fence, _Mapping]] = ..., instance_id: _Optional[str] = ..., hard: _Optional[bool] = ...) -> None: ...

class AgentRebootResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
