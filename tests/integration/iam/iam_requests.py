"""Every public RPC the schedulers serve, found from the proto descriptors, and
requests that aim at a given project."""
from __future__ import annotations

import importlib
import pkgutil

import grpc

import proto.v1
from google.protobuf import message_factory

# Served by agents (Agent) or only reached with agent certificates (Node).
NOT_PUBLIC = {"thecloud.v1.Agent"}


def public_methods() -> list[tuple[str, object]]:
    """[(full method name, method descriptor)] of every thecloud.v1 service schedulers serve."""
    return [(name, method) for name, method in all_methods()
            if method.containing_service.full_name not in NOT_PUBLIC]


def all_methods() -> list[tuple[str, object]]:
    """[(full method name, method descriptor)] of every thecloud.v1 service, wherever served."""
    found = []
    for module in pkgutil.iter_modules(proto.v1.__path__):
        if not module.name.endswith("_pb2"):
            continue
        pb2 = importlib.import_module(f"proto.v1.{module.name}")
        for service in pb2.DESCRIPTOR.services_by_name.values():
            for method in service.methods:
                found.append((f"/{service.full_name}/{method.name}", method))
    return sorted(found, key=lambda item: item[0])


def message_class(descriptor):
    return message_factory.GetMessageClass(descriptor)


def aimed_at(method, project: str, name: str = "nothing-here"):
    """A request of `method` naming `project` (and `name`) wherever it has such fields."""
    request = message_class(method.input_type)()
    _aim(request, project, name, depth=2)
    if method.full_name.endswith("Projects.GetProject"):
        request.name = project
    return request


def _aim(message, project: str, name: str, depth: int) -> None:
    for field in message.DESCRIPTOR.fields:
        if field.is_repeated:
            continue
        if field.type == field.TYPE_STRING and field.name == "project":
            setattr(message, field.name, project)
        elif field.type == field.TYPE_STRING and field.name in ("name", "principal", "id"):
            setattr(message, field.name, name)
        elif field.type == field.TYPE_MESSAGE and depth and field.message_type.full_name.startswith("thecloud"):
            _aim(getattr(message, field.name), project, name, depth - 1)


def invoke(channel: grpc.Channel, full_method: str, method, request, metadata=(), timeout=5.0):
    """The status code of one call (OK when it answered)."""
    serializer = request.SerializeToString
    deserializer = message_class(method.output_type).FromString
    try:
        if method.server_streaming:
            stream = channel.unary_stream(full_method, serializer, deserializer)(
                request, metadata=metadata, timeout=timeout)
            for _ in stream:
                break
            stream.cancel()
            return grpc.StatusCode.OK
        channel.unary_unary(full_method, serializer, deserializer)(
            request, metadata=metadata, timeout=timeout)
        return grpc.StatusCode.OK
    except grpc.RpcError as err:
        if err.code() == grpc.StatusCode.CANCELLED:
            return grpc.StatusCode.OK
        return err.code()
