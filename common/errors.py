"""One mapping from the cloud's typed errors to gRPC status codes.

Servicers raise these; `rpc_errors` turns them into the right status with one
clear message. Results from the state machine carry `{"error": {"code", "message"}}`
and `raise_for_result` turns them back into these exceptions.
"""
from __future__ import annotations

import functools
import logging

import grpc

log = logging.getLogger(__name__)


class CloudError(Exception):
    """An error a caller can act on; `code` is the gRPC status it maps to."""

    code = grpc.StatusCode.INTERNAL

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return self.message

    def to_dict(self) -> dict:
        return {"code": self.code.name, "message": self.message}


class InvalidArgument(CloudError):
    code = grpc.StatusCode.INVALID_ARGUMENT

    def __init__(self, field: str, problem: str):
        super().__init__(f"{field}: {problem}", field=field)


class NotFound(CloudError):
    code = grpc.StatusCode.NOT_FOUND


class AlreadyExists(CloudError):
    code = grpc.StatusCode.ALREADY_EXISTS


class FailedPrecondition(CloudError):
    code = grpc.StatusCode.FAILED_PRECONDITION


class ResourceExhausted(CloudError):
    code = grpc.StatusCode.RESOURCE_EXHAUSTED


class Unavailable(CloudError):
    code = grpc.StatusCode.UNAVAILABLE


class DeadlineExceeded(CloudError):
    code = grpc.StatusCode.DEADLINE_EXCEEDED


class Unauthenticated(CloudError):
    code = grpc.StatusCode.UNAUTHENTICATED


class PermissionDenied(CloudError):
    code = grpc.StatusCode.PERMISSION_DENIED


class Internal(CloudError):
    code = grpc.StatusCode.INTERNAL


_BY_CODE_NAME = {cls.code.name: cls for cls in (
    NotFound, AlreadyExists, FailedPrecondition, ResourceExhausted, Unavailable,
    DeadlineExceeded, Unauthenticated, PermissionDenied, Internal)}


def error_result(err: CloudError) -> dict:
    """The state machine's encoding of a typed error."""
    return {"error": err.to_dict()}


def raise_for_result(result: dict) -> dict:
    """Return `result` unless it encodes an error, which is raised as its CloudError."""
    error = result.get("error") if isinstance(result, dict) else None
    if not error:
        return result
    code, message = error.get("code", "INTERNAL"), error.get("message", "")
    if code == "INVALID_ARGUMENT":
        field, _, problem = message.partition(": ")
        raise InvalidArgument(field, problem or message)
    raise _BY_CODE_NAME.get(code, Internal)(message)


def rpc_errors(method):
    """Decorate a servicer method: CloudError -> its status; anything else -> INTERNAL, logged."""

    @functools.wraps(method)
    def wrapper(self, request, context):
        try:
            return method(self, request, context)
        except CloudError as err:
            context.abort(err.code, err.message)
        except grpc.RpcError:
            raise
        except Exception:  # noqa: BLE001 - the boundary: log it, answer INTERNAL
            log.exception("unhandled error in %s", method.__qualname__)
            context.abort(grpc.StatusCode.INTERNAL, "internal error; see the server log")

    return wrapper
