"""gRPC failures become one line and an exit code."""
from __future__ import annotations

import grpc
import pytest

from cli.errors import (EXIT_ERROR, EXIT_UNAVAILABLE, EXIT_USAGE, CliError, RpcFailure,
                        UsageError, is_retryable)


@pytest.mark.parametrize("code, exit_code", [
    (grpc.StatusCode.NOT_FOUND, EXIT_ERROR),
    (grpc.StatusCode.ALREADY_EXISTS, EXIT_ERROR),
    (grpc.StatusCode.FAILED_PRECONDITION, EXIT_ERROR),
    (grpc.StatusCode.RESOURCE_EXHAUSTED, EXIT_ERROR),
    (grpc.StatusCode.PERMISSION_DENIED, EXIT_ERROR),
    (grpc.StatusCode.UNAUTHENTICATED, EXIT_ERROR),
    (grpc.StatusCode.INTERNAL, EXIT_ERROR),
    (grpc.StatusCode.INVALID_ARGUMENT, EXIT_USAGE),
    (grpc.StatusCode.UNAVAILABLE, EXIT_UNAVAILABLE),
    (grpc.StatusCode.DEADLINE_EXCEEDED, EXIT_UNAVAILABLE),
])
def test_status_codes_map_to_exit_codes(code, exit_code):
    assert RpcFailure(code, "x").exit_code == exit_code


def test_message_reads_code_then_details():
    err = RpcFailure(grpc.StatusCode.NOT_FOUND, "instance 'x' not found")
    assert err.line() == "error: NOT_FOUND: instance 'x' not found"
    assert RpcFailure(grpc.StatusCode.INTERNAL, "").line() == "error: INTERNAL"


def test_multi_line_messages_become_one_line():
    assert CliError("a\n  b\tc").line() == "error: a b c"


def test_from_rpc_error():
    class FakeRpcError(grpc.RpcError):
        def code(self):
            return grpc.StatusCode.ALREADY_EXISTS

        def details(self):
            return "instance 'web1' already exists"

    err = RpcFailure.from_rpc_error(FakeRpcError())
    assert err.code == grpc.StatusCode.ALREADY_EXISTS
    assert err.line() == "error: ALREADY_EXISTS: instance 'web1' already exists"


def test_usage_errors_exit_2():
    assert UsageError("bad").exit_code == EXIT_USAGE


def test_only_unavailability_is_retried():
    assert is_retryable(grpc.StatusCode.UNAVAILABLE)
    assert is_retryable(grpc.StatusCode.DEADLINE_EXCEEDED)
    assert not is_retryable(grpc.StatusCode.NOT_FOUND)
    assert not is_retryable(grpc.StatusCode.INTERNAL)
