"""A server interceptor every daemon installs: request ids, an access log, latency metrics.

For each call it binds the caller's `x-request-id` (or a new id) to the handling
thread, logs one line when the call ends (method, status, milliseconds: at info
for calls that change things, at debug for reads and heartbeats, which come
every second), and observes the handling time in a histogram labelled by
service, method and status code.
"""
from __future__ import annotations

import logging
import time

import grpc
from prometheus_client import CollectorRegistry, Histogram

from common import requestid

log = logging.getLogger("thecloud.rpc")

_QUIET_PREFIXES = ("Get", "List", "Heartbeat", "Watch")
# Latency buckets from a millisecond (a read from the mirror) to a minute (an
# agent pulling an image).
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


def rpc_histogram(registry: CollectorRegistry, prefix: str) -> Histogram:
    return Histogram(f"{prefix}_rpc_duration_seconds",
                     "Time to handle one gRPC call, by service, method and status code.",
                     ["service", "method", "code"], buckets=BUCKETS, registry=registry)


def _split(full_method: str) -> tuple[str, str]:
    service, _, method = full_method.rpartition("/")
    return service.strip("/").rsplit(".", 1)[-1], method


class ObservingInterceptor(grpc.ServerInterceptor):
    def __init__(self, histogram: Histogram | None = None):
        self.histogram = histogram

    def intercept_service(self, continuation, handler_call_details):
        handler = continuation(handler_call_details)
        if handler is None:
            return None
        service, method = _split(handler_call_details.method)
        if service in ("Health", "ServerReflection"):
            return handler
        caller_id = requestid.from_metadata(handler_call_details.invocation_metadata)
        level = logging.DEBUG if method.startswith(_QUIET_PREFIXES) else logging.INFO

        def finish(context, started: float, error: BaseException | None) -> None:
            code = _code(context, error)
            elapsed = time.monotonic() - started
            if self.histogram is not None:
                self.histogram.labels(service, method, code).observe(elapsed)
            log.log(logging.WARNING if code == "INTERNAL" else level, "rpc %s/%s %s %.1fms",
                    service, method, code, elapsed * 1000)

        if handler.unary_unary is not None:
            inner = handler.unary_unary

            def unary_unary(request, context):
                with requestid.bound(caller_id):
                    started, error = time.monotonic(), None
                    try:
                        return inner(request, context)
                    except BaseException as exc:
                        error = exc
                        raise
                    finally:
                        finish(context, started, error)

            return handler._replace(unary_unary=unary_unary)
        if handler.unary_stream is not None:
            inner_stream = handler.unary_stream

            def unary_stream(request, context):
                with requestid.bound(caller_id):
                    started, error = time.monotonic(), None
                    try:
                        yield from inner_stream(request, context)
                    except BaseException as exc:
                        error = exc
                        raise
                    finally:
                        finish(context, started, error)

            return handler._replace(unary_stream=unary_stream)
        return handler


def _code(context, error: BaseException | None) -> str:
    code = None
    try:
        code = context.code()
    except Exception:  # noqa: BLE001 - older grpcio has no code(); fall back below
        code = None
    if isinstance(code, grpc.StatusCode):
        return code.name
    if isinstance(code, int):
        return next((c.name for c in grpc.StatusCode if c.value[0] == code), "UNKNOWN")
    if error is None or isinstance(error, GeneratorExit):
        return "OK"
    return "UNKNOWN" if isinstance(error, grpc.RpcError) else "INTERNAL"
