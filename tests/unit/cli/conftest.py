"""An in-process stand-in for the schedulers' public API, over real gRPC and mTLS.

It keeps just enough state to drive every `cloud` command: instances go PENDING ->
RUNNING after a few reads (FAILED when the image is "fail"), stop/start/delete move
them along, creates are deduplicated by request id. Several servers can share one
state to play a quorum; `fail_next` makes one answer UNAVAILABLE, after applying
a write or before.
"""
from __future__ import annotations

from concurrent import futures
from dataclasses import dataclass, field

import grpc
import pytest

from common.grpcserve import server_credentials
from common.tls import TlsFiles, ensure_ca, issue
from proto.v1 import public_pb2, public_pb2_grpc, resources_pb2

S = resources_pb2.InstanceState
PAGE = 2  # small pages so that the CLI has to follow next_page_token


@dataclass
class FakeState:
    instances: dict = field(default_factory=dict)
    by_request: dict = field(default_factory=dict)
    revision: int = 10
    reads_until_running: int = 2
    reads: dict = field(default_factory=dict)
    calls: list = field(default_factory=list)

    def bump(self, inst) -> None:
        self.revision += 1
        inst.meta.revision = self.revision
        inst.meta.updated_at.GetCurrentTime()

    def find(self, name: str, context):
        for inst in self.instances.values():
            if name in (inst.meta.name, inst.meta.id):
                return inst
        context.abort(grpc.StatusCode.NOT_FOUND, f"instance {name!r} not found")


def _host() -> resources_pb2.Host:
    host = resources_pb2.Host(
        address="127.0.0.1:7300", drivers=["compute:docker"], state=resources_pb2.HOST_STATE_UP,
        agent_version="0.1.0",
        capacity=resources_pb2.Resources(vcpus=8, memory_bytes=16 << 30, disk_bytes=100 << 30),
        allocated=resources_pb2.Resources(vcpus=1, memory_bytes=128 << 20),
        usage=resources_pb2.Usage(cpu_percent=12.5, memory_used_bytes=3 << 30,
                                  memory_total_bytes=16 << 30, load1=0.42))
    host.meta.name, host.meta.id, host.meta.project = "agent-1", "h-0001", "default"
    host.meta.labels["zone"] = "a"
    host.last_heartbeat.GetCurrentTime()
    return host


class Servicer(public_pb2_grpc.ClusterServicer, public_pb2_grpc.HostsServicer,
               public_pb2_grpc.InstancesServicer):
    def __init__(self, name: str, state: FakeState):
        self.name = name
        self.state = state
        self.fail_next: list[str] = []  # "before" or "after": when to answer UNAVAILABLE

    def _maybe_fail(self, context, moment: str) -> None:
        if self.fail_next and self.fail_next[0] == moment:
            self.fail_next.pop(0)
            context.abort(grpc.StatusCode.UNAVAILABLE, "leader changed (fake)")

    def _record(self, method: str) -> None:
        self.state.calls.append((self.name, method))

    def GetStatus(self, request, context):
        self._record("GetStatus")
        status = public_pb2.ClusterStatus(cluster_name="fake", leader="sched-1", term=3,
                                          hosts_up=1, hosts_total=1,
                                          instances=len(self.state.instances))
        status.members.add(name="sched-1", api_address="127.0.0.1:1", raft_address="127.0.0.1:2",
                           role=resources_pb2.MEMBER_ROLE_LEADER, term=3, commit_index=42,
                           applied_index=42, reachable=True)
        status.members.add(name="sched-2", api_address="127.0.0.1:3", raft_address="127.0.0.1:4",
                           reachable=False, error="connection refused")
        return status

    def ListHosts(self, request, context):
        self._record("ListHosts")
        return public_pb2.ListHostsResponse(hosts=[_host()])

    def GetHost(self, request, context):
        self._record("GetHost")
        if request.name not in ("agent-1", "h-0001"):
            context.abort(grpc.StatusCode.NOT_FOUND, f"host {request.name!r} not found")
        return _host()

    def CreateInstance(self, request, context):
        self._record("CreateInstance")
        self._maybe_fail(context, "before")
        st = self.state
        if request.request_id and request.request_id in st.by_request:
            return st.instances[st.by_request[request.request_id]]
        if any(i.meta.name == request.name for i in st.instances.values()):
            context.abort(grpc.StatusCode.ALREADY_EXISTS, f"instance {request.name!r} already exists")
        if request.spec.memory_bytes > 64 << 30:
            context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, "no host has 64G of free memory")
        inst = resources_pb2.Instance(spec=request.spec, desired_state="running",
                                      state=S.INSTANCE_STATE_PENDING, host_id="h-0001",
                                      host_name="agent-1")
        inst.meta.id = f"i-{len(st.instances) + 1:016x}"
        inst.meta.name, inst.meta.project = request.name, request.project
        inst.meta.labels.update(request.labels)
        inst.meta.created_at.GetCurrentTime()
        st.bump(inst)
        st.instances[inst.meta.id] = inst
        st.by_request[request.request_id] = inst.meta.id
        self._maybe_fail(context, "after")
        return inst

    def GetInstance(self, request, context):
        self._record("GetInstance")
        inst = self.state.find(request.name, context)
        if inst.state == S.INSTANCE_STATE_PENDING:
            reads = self.state.reads[inst.meta.id] = self.state.reads.get(inst.meta.id, 0) + 1
            if reads >= self.state.reads_until_running:
                if inst.spec.image == "fail":
                    inst.state, inst.reason = S.INSTANCE_STATE_FAILED, "image 'fail' not found"
                else:
                    inst.state, inst.runtime_id = S.INSTANCE_STATE_RUNNING, "c0ffee" * 10
                    inst.started_at.GetCurrentTime()
                self.state.bump(inst)
        elif inst.desired_state == "stopped" and inst.state == S.INSTANCE_STATE_RUNNING:
            inst.state, inst.exit_code = S.INSTANCE_STATE_STOPPED, 137
            inst.finished_at.GetCurrentTime()
            self.state.bump(inst)
        return inst

    def ListInstances(self, request, context):
        self._record("ListInstances")
        items = [i for i in self.state.instances.values()
                 if not request.host or request.host in (i.host_name, i.host_id)]
        start = int(request.page_token or 0)
        end = start + PAGE
        return public_pb2.ListInstancesResponse(
            instances=items[start:end], next_page_token=str(end) if end < len(items) else "")

    def StopInstance(self, request, context):
        self._record("StopInstance")
        inst = self.state.find(request.name, context)
        inst.desired_state = "stopped"
        self.state.bump(inst)
        return inst

    def StartInstance(self, request, context):
        self._record("StartInstance")
        inst = self.state.find(request.name, context)
        inst.desired_state, inst.state = "running", S.INSTANCE_STATE_PENDING
        self.state.reads.pop(inst.meta.id, None)
        self.state.bump(inst)
        return inst

    def DeleteInstance(self, request, context):
        self._record("DeleteInstance")
        self._maybe_fail(context, "before")
        inst = self.state.find(request.name, context)
        del self.state.instances[inst.meta.id]
        self._maybe_fail(context, "after")
        return public_pb2.DeleteInstanceResponse()

    def GetInstanceLogs(self, request, context):
        self._record("GetInstanceLogs")
        self.state.find(request.name, context)
        lines = [f"line {n}\n".encode() for n in range(1, 6)]
        if request.tail_lines:
            lines = lines[-request.tail_lines:]
        return public_pb2.InstanceLogs(data=b"".join(lines))


@dataclass
class FakeCluster:
    tls_dir: object
    admin: TlsFiles
    endpoints: list
    servicers: list
    servers: list
    state: FakeState

    def argv(self, *args: str, endpoints: list | None = None) -> list[str]:
        """`cloud` arguments reaching this fake through flags and environment-free config."""
        return ["--endpoint", ",".join(endpoints or self.endpoints), *args]


def _start(name: str, state: FakeState, tls: TlsFiles):
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    port = server.add_secure_port("127.0.0.1:0", server_credentials(tls))
    servicer = Servicer(name, state)
    public_pb2_grpc.add_ClusterServicer_to_server(servicer, server)
    public_pb2_grpc.add_HostsServicer_to_server(servicer, server)
    public_pb2_grpc.add_InstancesServicer_to_server(servicer, server)
    server.start()
    return server, servicer, f"127.0.0.1:{port}"


@pytest.fixture(scope="session")
def cluster_tls(tmp_path_factory):
    """A CA with certificates for two fake schedulers and an admin."""
    base = tmp_path_factory.mktemp("fake-tls")
    ensure_ca(base / "ca", "fake")
    for name, role in (("sched-1", "scheduler"), ("sched-2", "scheduler"), ("admin", "admin")):
        issue(base / "ca", base / "tls", name, role, ["127.0.0.1", "localhost"])
    return base / "tls"


@pytest.fixture
def fake_cluster(cluster_tls, monkeypatch, tmp_path):
    """Two fake schedulers sharing one state; `cloud` is configured for them via env."""
    state = FakeState()
    started = [_start(name, state, TlsFiles.in_dir(cluster_tls, name)) for name in ("sched-1", "sched-2")]
    admin = TlsFiles.in_dir(cluster_tls, "admin")
    for var in ("THECLOUD_ENDPOINTS", "THECLOUD_PROJECT"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("THECLOUD_CONFIG", str(tmp_path / "no-such-cli.toml"))
    monkeypatch.setenv("THECLOUD_CA", str(admin.ca))
    monkeypatch.setenv("THECLOUD_CERT", str(admin.cert))
    monkeypatch.setenv("THECLOUD_KEY", str(admin.key))
    # Waits poll quickly here.
    monkeypatch.setattr("cli.commands.instances.POLL_SECONDS", 0.01)
    cluster = FakeCluster(cluster_tls, admin, [ep for _, _, ep in started],
                          [s for _, s, _ in started], [srv for srv, _, _ in started], state)
    yield cluster
    for server in cluster.servers:
        server.stop(grace=None).wait()
