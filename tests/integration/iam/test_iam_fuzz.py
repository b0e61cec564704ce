"""Every public request message, drawn by hypothesis and sent through the real API as the
cluster admin and as a project member: no INTERNAL or UNKNOWN answer, and no resource
left behind by a call that answered an error."""
from __future__ import annotations

import os
import threading
import time

import grpc
import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from common.grpcserve import channel_credentials
from common.tls import TlsFiles
from proto.v1 import (floating_pb2, iam_pb2, images_pb2, networks_pb2, public_pb2, resources_pb2 as pb,
                      secrets_pb2, volumes_pb2)
from iam_harness import make_project, make_user, raw_channel
from iam_requests import message_class, public_methods
from iam_strategies import requests

MiB = 1024**2
# A few dozen calls per method keep the run to a couple of minutes; more for a longer hunt.
EXAMPLES_PER_METHOD = int(os.environ.get("THECLOUD_FUZZ_EXAMPLES", "20"))
# Unset: the same draws on every run (CI); a number draws others.
SEED = int(os.environ["THECLOUD_FUZZ_SEED"]) if os.environ.get("THECLOUD_FUZZ_SEED") else None
STREAM_WAIT = 1.0   # seconds a stream may stay silent before the call is cancelled
BROKEN = (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN)
# Codes that leave open whether the call took effect: what it names may exist afterwards.
UNDECIDED = (grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.UNAVAILABLE)

# Succeeding, these would change the cluster under the rest of the run.
SKIPPED = {
    "/thecloud.v1.Operations/AddMember": "adds a Raft member that never comes up",
    "/thecloud.v1.Operations/RemoveMember": "removes a scheduler from the cluster",
    # Its bad input is covered by tests/integration/ops/test_ops_rotate_ca.py and the matrix.
    "/thecloud.v1.Operations/RotateCa": "a begun rotation swaps the certificates under the run",
}

LISTED = [   # (kind, service, method, request class, items field); per project
    ("instance", "Instances", "ListInstances", public_pb2.ListInstancesRequest, "instances"),
    ("volume", "Volumes", "ListVolumes", volumes_pb2.ListVolumesRequest, "volumes"),
    ("secret", "Secrets", "ListSecrets", secrets_pb2.ListSecretsRequest, "secrets"),
    ("vpc", "Networks", "ListVpcs", networks_pb2.ListNetworkRequest, "vpcs"),
    ("subnet", "Networks", "ListSubnets", networks_pb2.ListNetworkRequest, "subnets"),
    ("security-group", "Networks", "ListSecurityGroups", networks_pb2.ListNetworkRequest,
     "security_groups"),
    ("image", "Images", "ListImages", images_pb2.ListImagesRequest, "images"),
    ("floating-ip", "FloatingIps", "ListFloatingIps", floating_pb2.ListFloatingIpsRequest,
     "floating_ips"),
]


def listed(cluster, service, method, request, field):
    if "page_token" in request.DESCRIPTOR.fields_by_name:
        return getattr(cluster.client.list_all(service, method, request, field), field)
    return getattr(cluster.call(service, method, request), field)


def resources(cluster) -> set[tuple[str, str, str, str]]:
    """{(kind, project, id, name)} of everything the fuzz could make, read as the admin."""
    found = set()
    projects = cluster.call("Projects", "ListProjects", iam_pb2.ListProjectsRequest()).projects
    found |= {("project", "", p.id, p.name) for p in projects}
    for project in [p.name for p in projects]:
        for kind, service, method, request_class, field in LISTED:
            for item in listed(cluster, service, method, request_class(project=project), field):
                meta = item.meta if hasattr(item, "meta") else item
                found.add((kind, project, meta.id, meta.name))
    principals = cluster.call("Principals", "ListPrincipals", iam_pb2.ListPrincipalsRequest()).principals
    found |= {("principal", p.project, p.id, p.name) for p in principals}
    tokens = cluster.call("Tokens", "ListTokens", iam_pb2.ListTokensRequest(all=True)).tokens
    found |= {("token", t.scope_project, t.id, t.principal) for t in tokens}
    roles = cluster.call("Roles", "ListRoles", iam_pb2.ListRolesRequest()).roles
    found |= {("role", "", "", r.name) for r in roles}
    return found


def unbalanced(cluster) -> list[str]:
    """Where what the cluster has counted differs from what exists: quota usage against the
    instances and floating IPs there are, port counts against the instances' ports."""
    found = []
    for project in [p.name for p in cluster.call("Projects", "ListProjects",
                                                 iam_pb2.ListProjectsRequest()).projects]:
        instances = listed(cluster, "Instances", "ListInstances",
                           public_pb2.ListInstancesRequest(project=project), "instances")
        floating = listed(cluster, "FloatingIps", "ListFloatingIps",
                          floating_pb2.ListFloatingIpsRequest(project=project), "floating_ips")
        exists = {"instances": len(instances), "vcpus": sum(i.spec.vcpus for i in instances),
                  "memory_bytes": sum(i.spec.memory_bytes for i in instances),
                  "floating_ips": len(floating)}
        quota = cluster.call("Quotas", "GetQuota", iam_pb2.GetQuotaRequest(project=project))
        for item in quota.items:
            if item.resource in exists and item.used != exists[item.resource]:
                found.append(f"{project}: {item.resource} used {item.used}, "
                             f"exist {exists[item.resource]}")
        ports = [i.port for i in instances if i.HasField("port") and i.port.subnet]
        request = networks_pb2.ListNetworkRequest(project=project)
        for subnet in listed(cluster, "Networks", "ListSubnets", request, "subnets"):
            count = sum(p.subnet == subnet.meta.name and p.vpc == subnet.vpc for p in ports)
            if subnet.ports != count:
                found.append(f"{project}: subnet {subnet.meta.name} counts {subnet.ports} ports, "
                             f"{count} exist")
        for group in listed(cluster, "Networks", "ListSecurityGroups", request, "security_groups"):
            count = sum(group.meta.name in p.security_groups for p in ports)
            if group.ports != count:
                found.append(f"{project}: security group {group.meta.name} counts {group.ports} "
                             f"ports, {count} exist")
    return found


def balanced_eventually(cluster, timeout=30.0) -> list[str]:
    """unbalanced() once it is empty, or its last answer after `timeout` (the lists and the
    counts are separate reads; the reconciler may purge an instance in between)."""
    deadline = time.monotonic() + timeout
    while True:
        found = unbalanced(cluster)
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(1.0)


def strings_in(message) -> set[str]:
    """Every string value anywhere in `message`: what a create may have named its result."""
    found = set()
    for field, value in message.ListFields():
        values = value if field.is_repeated else [value]
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            values = list(value.keys()) + list(value.values())
        for item in values:
            if isinstance(item, str):
                found.add(item)
            elif hasattr(item, "ListFields"):
                found |= strings_in(item)
    return found


class Caller:
    """Someone calling any of the schedulers: a channel to each, and what to send along."""

    def __init__(self, name: str, channels: list[grpc.Channel], metadata=()):
        self.name, self.channels, self.metadata = name, channels, metadata

    def call(self, full_method: str, method, request, scheduler: int = 0):
        """(status code, response or None); a stream is read for one message, then cancelled."""
        channel = self.channels[scheduler % len(self.channels)]
        serialize = request.SerializeToString
        parse = message_class(method.output_type).FromString
        try:
            if method.server_streaming:
                stream = channel.unary_stream(full_method, serialize, parse)(
                    request, metadata=self.metadata, timeout=10.0)
                # A stream with nothing to say yet is fine: stop waiting after a while.
                stop = threading.Timer(STREAM_WAIT, stream.cancel)
                stop.start()
                try:
                    first = next(iter(stream), None)
                finally:
                    stop.cancel()
                    stream.cancel()
                return grpc.StatusCode.OK, first
            response = channel.unary_unary(full_method, serialize, parse)(
                request, metadata=self.metadata, timeout=10.0)
            return grpc.StatusCode.OK, response
        except grpc.RpcError as err:
            if err.code() == grpc.StatusCode.CANCELLED and method.server_streaming:
                return grpc.StatusCode.OK, None
            return err.code(), err


def make_world(cluster) -> None:
    """What drawn references may name in project "fuzz": net, sub, sg, web, vol, db."""
    in_fuzz = {"project": "fuzz"}
    cluster.call("Networks", "CreateVpc", networks_pb2.CreateVpcRequest(name="net", cidr="10.20.0.0/16",
                                                                        **in_fuzz))
    cluster.call("Networks", "CreateSubnet", networks_pb2.CreateSubnetRequest(
        name="sub", vpc="net", cidr="10.20.1.0/24", **in_fuzz))
    cluster.call("Networks", "CreateSecurityGroup", networks_pb2.CreateSecurityGroupRequest(
        name="sg", **in_fuzz))
    cluster.call("Instances", "CreateInstance", public_pb2.CreateInstanceRequest(
        name="web", spec=pb.InstanceSpec(image="thecloud/busybox:test", vcpus=1, memory_bytes=16 * MiB,
                                         command=["sleep", "600"]), **in_fuzz))
    cluster.call("Volumes", "CreateVolume", volumes_pb2.CreateVolumeRequest(
        name="vol", size_bytes=16 * MiB, **in_fuzz))
    cluster.call("Secrets", "CreateSecret", secrets_pb2.CreateSecretRequest(
        name="db", value=b"hunter2", **in_fuzz))


@pytest.fixture(scope="module")
def callers(cluster):
    make_project(cluster, "fuzz")
    token = make_user(cluster, "fuzzer", "member", "fuzz")
    make_world(cluster)
    admin_tls = channel_credentials(TlsFiles.in_dir(cluster.home / "tls", "admin"))
    admin = [grpc.secure_channel(endpoint, admin_tls) for endpoint in cluster.aio.endpoints]
    member = [raw_channel(cluster, endpoint) for endpoint in cluster.aio.endpoints]
    yield [Caller("admin", admin), Caller("member", member, (("authorization", f"Bearer {token}"),))]
    for channel in admin + member:
        channel.close()


def served(caller, full_method, method) -> bool:
    """False for the agents' own services, which the schedulers do not serve."""
    code, _ = caller.call(full_method, method, message_class(method.input_type)())
    return code != grpc.StatusCode.UNIMPLEMENTED


def fuzz_method(full_method, method, callers, made: set[str], answered: dict):
    @settings(max_examples=EXAMPLES_PER_METHOD, deadline=None, derandomize=SEED is None,
              database=None, suppress_health_check=list(HealthCheck))
    @seed(SEED)
    @given(request=requests(method.input_type), scheduler=st.integers(0, 2))
    def one(request, scheduler):
        for caller in callers:
            code, reply = caller.call(full_method, method, request, scheduler)
            counts = answered.setdefault(full_method, {})
            counts[code.name] = counts.get(code.name, 0) + 1
            if code == grpc.StatusCode.OK or code in UNDECIDED:
                made.update(strings_in(request))
                if reply is not None and hasattr(reply, "ListFields"):
                    made.update(strings_in(reply))
            assert code not in BROKEN, (
                f"{caller.name} {full_method} on scheduler {scheduler}: {code.name} {reply.details()!r}\n"
                f"request: {str(request)[:2000]}")
    one()


def test_every_public_request_drawn_by_hypothesis_breaks_nothing(cluster, callers):
    assert balanced_eventually(cluster) == []
    before = resources(cluster)
    made: set[str] = set()
    answered: dict[str, dict[str, int]] = {}
    failures, fuzzed = [], 0
    started = time.monotonic()
    for full_method, method in public_methods():
        if full_method in SKIPPED or not served(callers[0], full_method, method):
            continue
        fuzzed += 1
        try:
            fuzz_method(full_method, method, callers, made, answered)
        except AssertionError as err:
            failures.append(str(err))
    elapsed = time.monotonic() - started
    print(f"fuzzed {fuzzed} methods in {elapsed:.0f} s")
    for full_method, counts in sorted(answered.items()):
        print(f"  {full_method}: {counts}")
    assert not failures, "\n\n".join(failures)
    codes = {code for counts in answered.values() for code in counts}
    assert {"OK", "INVALID_ARGUMENT", "NOT_FOUND", "PERMISSION_DENIED"} <= codes
    after = resources(cluster)
    assert before <= after, f"gone after the fuzz: {before - after}"
    half_made = [r for r in after - before if not {r[2], r[3]} & made]
    assert not half_made, f"exist although no call that made them succeeded: {half_made}"
    assert balanced_eventually(cluster) == []
