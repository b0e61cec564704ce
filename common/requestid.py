"""Request ids that follow one call from the CLI through the scheduler to the agent.

The caller sends `x-request-id` as gRPC metadata; servers bind it (or a new one)
to the handling thread's context, every log record made meanwhile carries it
(`RequestIdFilter`; the JSON log format prints it), and calls the server makes
on the caller's behalf pass it on (`ClientInterceptor`). Work done later on the
caller's behalf (the reconciler starting an instance) binds the id recorded
with the resource (`bound`).
"""
from __future__ import annotations

import contextlib
import contextvars
import logging
import uuid

import grpc

METADATA_KEY = "x-request-id"
_MAX_LEN = 128

_current: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")


def new() -> str:
    return "req-" + uuid.uuid4().hex[:16]


def current() -> str:
    """The id bound to this thread's context ('' outside a request)."""
    return _current.get()


def clean(value: str | None) -> str:
    """A caller's id, made safe for logs (printable, bounded); '' when unusable."""
    if not value:
        return ""
    value = "".join(ch for ch in value if ch.isprintable() and not ch.isspace())
    return value[:_MAX_LEN]


@contextlib.contextmanager
def bound(request_id: str | None):
    """Bind `request_id` (a new one when empty) for the duration of the block."""
    token = _current.set(clean(request_id) or new())
    try:
        yield _current.get()
    finally:
        _current.reset(token)


def from_metadata(metadata) -> str:
    for key, value in metadata or ():
        if key == METADATA_KEY:
            return clean(value)
    return ""


class RequestIdFilter(logging.Filter):
    """Put the bound request id on every record as `request_id` (when there is one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            request_id = _current.get()
            if request_id:
                record.request_id = request_id
        return True


class _CallDetails(grpc.ClientCallDetails):
    def __init__(self, details, metadata):
        self.method = details.method
        self.timeout = details.timeout
        self.metadata = metadata
        self.credentials = details.credentials
        self.wait_for_ready = getattr(details, "wait_for_ready", None)
        self.compression = getattr(details, "compression", None)


class ClientInterceptor(grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor):
    """Adds the bound request id to outgoing calls that carry none."""

    def _details(self, details):
        request_id = _current.get()
        metadata = list(details.metadata or ())
        if not request_id or any(k == METADATA_KEY for k, _ in metadata):
            return details
        return _CallDetails(details, metadata + [(METADATA_KEY, request_id)])

    def intercept_unary_unary(self, continuation, client_call_details, request):
        return continuation(self._details(client_call_details), request)

    def intercept_unary_stream(self, continuation, client_call_details, request):
        return continuation(self._details(client_call_details), request)


def intercept_channel(channel: grpc.Channel) -> grpc.Channel:
    return grpc.intercept_channel(channel, ClientInterceptor())
