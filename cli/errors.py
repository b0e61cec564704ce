"""How the `cloud` command fails: one line on stderr and an exit code a script can test.

Exit codes:
  0  success
  1  the cluster refused the request (NOT_FOUND, ALREADY_EXISTS, FAILED_PRECONDITION,
     RESOURCE_EXHAUSTED, PERMISSION_DENIED, ...), or a waited-for operation failed
  2  usage: bad flags or values, missing configuration (also INVALID_ARGUMENT from the
     server: bad input is bad input whichever side notices it)
  3  unavailable: no scheduler answered in time (UNAVAILABLE, DEADLINE_EXCEEDED)
"""
from __future__ import annotations

import grpc

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_UNAVAILABLE = 3

_EXIT_BY_CODE = {
    grpc.StatusCode.INVALID_ARGUMENT: EXIT_USAGE,
    grpc.StatusCode.OUT_OF_RANGE: EXIT_USAGE,
    grpc.StatusCode.UNAVAILABLE: EXIT_UNAVAILABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED: EXIT_UNAVAILABLE,
}


class CliError(Exception):
    """An error the command reports as `error: <message>` and exits with `exit_code`."""

    def __init__(self, message: str, exit_code: int = EXIT_ERROR):
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code

    def line(self) -> str:
        """The one line printed on stderr."""
        return "error: " + " ".join(self.message.split())


class UsageError(CliError):
    def __init__(self, message: str):
        super().__init__(message, EXIT_USAGE)


class RpcFailure(CliError):
    """A gRPC call that failed with `code`; the message reads "CODE: details"."""

    def __init__(self, code: grpc.StatusCode, details: str):
        self.code = code
        self.details = details
        super().__init__(f"{code.name}: {details}" if details else code.name,
                         _EXIT_BY_CODE.get(code, EXIT_ERROR))

    @classmethod
    def from_rpc_error(cls, err: grpc.RpcError) -> "RpcFailure":
        code = err.code() if hasattr(err, "code") else grpc.StatusCode.UNKNOWN
        details = err.details() if hasattr(err, "details") else str(err)
        return cls(code or grpc.StatusCode.UNKNOWN, details or "")


def is_retryable(code: grpc.StatusCode) -> bool:
    """Codes after which another endpoint (or a later attempt) may succeed."""
    return code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
