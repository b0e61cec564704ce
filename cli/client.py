"""A client for the public API that tries every scheduler it knows.

Any scheduler answers reads from its replica and forwards writes to the leader, so
the client only has to find one that answers: on UNAVAILABLE, DEADLINE_EXCEEDED or
a failed connection it moves to the next endpoint, round after round, until the
call's retry budget is spent. Writes get a budget long enough to outlast a leader
election; they are only retried when a repeat is harmless (the request carries a
request id, or the operation is idempotent by nature).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Iterable

import grpc

from common.grpcserve import channel_credentials, expect_server, files_stamp
from common.tls import SCHEDULER_NAME, TlsFiles
from common import requestid
from proto.v1 import evacuate_pb2_grpc
from proto.v1 import events_pb2_grpc, networks_pb2_grpc, operations_pb2_grpc, placement_pb2_grpc, public_pb2_grpc
from proto.v1 import images_pb2_grpc

from proto.v1 import audit_pb2_grpc, iam_pb2_grpc, secrets_pb2_grpc
from proto.v1 import volumes_pb2_grpc
from proto.v1 import floating_pb2_grpc

from cli.errors import RpcFailure, is_retryable

_CHANNEL_OPTIONS = [
    ("grpc.keepalive_time_ms", 20_000),
    ("grpc.keepalive_timeout_ms", 5_000),
    ("grpc.max_receive_message_length", 64 * 1024 * 1024),
    # A scheduler that comes back should be used again within a second, not after
    # gRPC's default reconnect backoff of up to two minutes.
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 1_000),
    # Only a scheduler's certificate will do: an agent's (or any other) is refused
    # in the handshake, whatever address the endpoint is.
    *expect_server(SCHEDULER_NAME),
]

_STUBS = {
    "Cluster": public_pb2_grpc.ClusterStub,
    "Hosts": public_pb2_grpc.HostsStub,
    "Instances": public_pb2_grpc.InstancesStub,
    "Placement": placement_pb2_grpc.PlacementStub,
    "Networks": networks_pb2_grpc.NetworksStub,
    "Events": events_pb2_grpc.EventsStub,
    "Operations": operations_pb2_grpc.OperationsStub,
}

_STUBS.update({
    "Projects": iam_pb2_grpc.ProjectsStub,
    "Principals": iam_pb2_grpc.PrincipalsStub,
    "Tokens": iam_pb2_grpc.TokensStub,
    "Roles": iam_pb2_grpc.RolesStub,
    "Quotas": iam_pb2_grpc.QuotasStub,
    "Audit": audit_pb2_grpc.AuditStub,
    "Secrets": secrets_pb2_grpc.SecretsStub,
})

_STUBS.update({"Volumes": volumes_pb2_grpc.VolumesStub, "Snapshots": volumes_pb2_grpc.SnapshotsStub})
_STUBS.update({"Images": images_pb2_grpc.ImagesStub, "Machines": images_pb2_grpc.MachinesStub})
_STUBS.update({"Evacuations": evacuate_pb2_grpc.EvacuationsStub})
_STUBS.update({"FloatingIps": floating_pb2_grpc.FloatingIpsStub})


@dataclass(frozen=True)
class RetryPolicy:
    """`call_timeout` bounds one attempt; rounds over all endpoints go on until `budget` is spent."""

    call_timeout: float = 5.0
    budget: float = 3.0
    first_backoff: float = 0.2
    max_backoff: float = 1.0


READ = RetryPolicy(call_timeout=5.0, budget=3.0)
WRITE = RetryPolicy(call_timeout=5.0, budget=15.0)


def _never_reached(err: grpc.RpcError) -> bool:
    """True when the call failed before any scheduler could have seen it."""
    details = ((err.details() or "") if hasattr(err, "details") else "").lower()
    return "failed to connect" in details or "connection refused" in details


def _short_details(err: grpc.RpcError) -> str:
    details = (err.details() or "") if hasattr(err, "details") else str(err)
    lowered = details.lower()
    if "connection refused" in lowered:
        return "connection refused"
    if "deadline exceeded" in lowered or err.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
        return "no answer before the deadline"
    if "handshake" in lowered or "ssl" in lowered or "certificate" in lowered:
        return "TLS handshake failed (is the CA/certificate right?)"
    return details if len(details) <= 160 else details[:157] + "..."


class ClusterClient:
    """Calls `Service.Method` on the first scheduler that answers."""

    def __init__(self, endpoints: Iterable[str], tls: TlsFiles,
                 read_policy: RetryPolicy = READ, write_policy: RetryPolicy = WRITE,
                 token: str = ""):
        """`token`: an API token sent with every call (else the certificate's identity)."""
        self.endpoints = tuple(endpoints)
        self._auth = (("authorization", f"Bearer {token}"),) if token else ()
        if not self.endpoints:
            raise ValueError("at least one endpoint is needed")
        self.read_policy = read_policy
        self.write_policy = write_policy
        self._tls = tls
        self._stamp = files_stamp(tls)
        self._credentials = channel_credentials(tls)
        self._channels: dict[str, grpc.Channel] = {}
        self._replaced: list[grpc.Channel] = []
        self._preferred = 0
        self.last_request_id = ""  # x-request-id of the latest call, to find it in the servers' logs

    def __enter__(self) -> "ClusterClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        for channel in list(self._channels.values()) + self._replaced:
            channel.close()
        self._channels.clear()
        self._replaced.clear()

    def _stub(self, endpoint: str, service: str):
        stamp = files_stamp(self._tls)
        if stamp != self._stamp:
            # New certificate or trust bundle (a CA rotation): new connections use them;
            # the old channels are closed with the client (streams under way go on).
            self._stamp, self._credentials = stamp, channel_credentials(self._tls)
            self._replaced += self._channels.values()
            self._channels = {}
        channel = self._channels.get(endpoint)
        if channel is None:
            channel = grpc.secure_channel(endpoint, self._credentials, options=_CHANNEL_OPTIONS)
            self._channels[endpoint] = channel
        return _STUBS[service](channel)

    def stub(self, endpoint: str, service: str):
        """The stub of `service` on one endpoint (for streams, which resume themselves)."""
        return self._stub(endpoint, service)

    def call(self, service: str, method: str, request, *, write: bool = False,
             timeout: float | None = None, policy: RetryPolicy | None = None,
             ok_after_retry: tuple[grpc.StatusCode, ...] = ()):
        """The response of the first scheduler that answers; RpcFailure otherwise.

        `write` selects the longer retry budget: only pass it for calls that are safe to
        repeat. When an attempt's outcome was unknown (it timed out or the connection
        broke) and a later attempt fails with one of `ok_after_retry` (say NOT_FOUND
        for a delete), the first attempt did the work: the call returns None.
        """
        policy = policy or (self.write_policy if write else self.read_policy)
        # One id for every attempt: the servers' logs show the retries as one request.
        self.last_request_id = request_id = requestid.current() or requestid.new()
        metadata = ((requestid.METADATA_KEY, request_id),) + self._auth
        call_timeout = timeout or policy.call_timeout
        deadline = time.monotonic() + policy.budget
        backoff = policy.first_backoff
        failures: dict[str, grpc.RpcError] = {}
        outcome_unknown = False
        count = len(self.endpoints)
        while True:
            start = self._preferred
            for step in range(count):
                index = (start + step) % count
                endpoint = self.endpoints[index]
                try:
                    response = getattr(self._stub(endpoint, service), method)(
                        request, timeout=call_timeout, metadata=metadata)
                except grpc.RpcError as err:
                    code = err.code()
                    if outcome_unknown and code in ok_after_retry:
                        self._preferred = index
                        return None
                    if not is_retryable(code):
                        raise RpcFailure.from_rpc_error(err) from None
                    failures[endpoint] = err
                    # A scheduler that was reached may have applied the write even
                    # though it reported a failure (or none reached us in time).
                    outcome_unknown = outcome_unknown or not _never_reached(err)
                    continue
                self._preferred = index
                return response
            if time.monotonic() + backoff >= deadline:
                break
            time.sleep(backoff)
            backoff = min(backoff * 2, policy.max_backoff)
        raise self._exhausted(failures)

    def _exhausted(self, failures: dict[str, grpc.RpcError]) -> RpcFailure:
        codes = {err.code() for err in failures.values()}
        details = {_short_details(err) for err in failures.values()}
        code = (grpc.StatusCode.UNAVAILABLE if grpc.StatusCode.UNAVAILABLE in codes
                else grpc.StatusCode.DEADLINE_EXCEEDED)
        if len(details) == 1:
            detail = next(iter(details))
            if len(failures) == 1:
                return RpcFailure(code, f"{next(iter(failures))}: {detail}")
            return RpcFailure(code, f"no scheduler answered ({', '.join(failures)}: {detail})")
        per_endpoint = "; ".join(f"{ep}: {_short_details(err)}" for ep, err in failures.items())
        return RpcFailure(code, f"no scheduler answered ({per_endpoint})")

    def list_all(self, service: str, method: str, request, items_field: str):
        """Every page of a List call, merged into one response message."""
        merged = None
        seen_tokens: set[str] = set()
        while True:
            response = self.call(service, method, request)
            if merged is None:
                merged = response
            else:
                getattr(merged, items_field).extend(getattr(response, items_field))
            if not response.next_page_token or response.next_page_token in seen_tokens:
                merged.next_page_token = ""
                return merged
            seen_tokens.add(response.next_page_token)
            request.page_token = response.next_page_token
