"""Quotas under concurrent creates on every scheduler, secrets that never touch the
disk in plaintext, the audit log, the CLI, and fuzzed requests."""
import base64
import os
import secrets as random_secrets
import threading
import time

import grpc
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from cli.errors import RpcFailure
from cli.main import run as cloud
from proto.v1 import audit_pb2, iam_pb2, placement_pb2, public_pb2, resources_pb2 as pb, secrets_pb2
from iam_harness import make_project, make_user, raw_channel, token_client
from iam_requests import invoke, message_class, public_methods

MiB = 1024**2


def spec(**kw):
    base = dict(image="thecloud/busybox:test", vcpus=1, memory_bytes=16 * MiB, command=["sleep", "600"])
    base.update(kw)
    return pb.InstanceSpec(**base)


def test_concurrent_creates_on_all_nodes_admit_exactly_the_quota(cluster):
    make_project(cluster, "quota")
    cluster.call("Quotas", "SetQuota", iam_pb2.SetQuotaRequest(project="quota", limits={"instances": 3}))
    token = make_user(cluster, "quinn", "member", "quota")
    clients = [token_client(cluster, token, [endpoint]) for endpoint in cluster.aio.endpoints]
    outcomes, lock = [], threading.Lock()

    def create(i):
        client = clients[i % len(clients)]
        try:
            client.call("Instances", "CreateInstance", public_pb2.CreateInstanceRequest(
                name=f"q{i}", project="quota", spec=spec()))
            outcome = "OK"
        except RpcFailure as err:
            outcome = err.code.name
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=create, args=(i,)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["OK"] * 3 + ["RESOURCE_EXHAUSTED"] * 9
    listed = cluster.call("Instances", "ListInstances", public_pb2.ListInstancesRequest(project="quota"))
    assert len(listed.instances) == 3
    usage = {i.resource: (i.used, i.limit) for i in cluster.call(
        "Quotas", "GetQuota", iam_pb2.GetQuotaRequest(project="quota")).items}
    assert usage["instances"] == (3, 3) and usage["vcpus"] == (3, -1)
    # A project with resources cannot be deleted.
    with pytest.raises(RpcFailure) as err:
        cluster.call("Projects", "DeleteProject", iam_pb2.DeleteProjectRequest(name="quota"))
    assert err.value.code == grpc.StatusCode.FAILED_PRECONDITION


def _files_containing(root, needles):
    hits = []
    for directory, _, names in os.walk(root):
        for name in names:
            path = os.path.join(directory, name)
            try:
                with open(path, "rb") as f:
                    data = f.read()
            except OSError:
                continue
            hits += [f"{path}: {needle!r}" for needle in needles if needle in data]
    return hits


def test_secret_reaches_the_container_and_nowhere_on_disk(cluster, docker_client):
    make_project(cluster, "vault")
    value = f"s3cr3t-{random_secrets.token_hex(12)}".encode()
    token = make_user(cluster, "sam", "project-admin", "vault")
    owner = token_client(cluster, token)
    owner.call("Secrets", "CreateSecret", secrets_pb2.CreateSecretRequest(name="db", project="vault",
                                                                          value=value))
    with pytest.raises(RpcFailure) as err:
        owner.call("Instances", "CreateInstance", public_pb2.CreateInstanceRequest(
            name="app", project="vault", spec=spec(secret_env={"DB_PASSWORD": "missing"})))
    assert err.value.code == grpc.StatusCode.NOT_FOUND
    owner.call("Instances", "CreateInstance", public_pb2.CreateInstanceRequest(
        name="app", project="vault", spec=spec(secret_env={"DB_PASSWORD": "db"})))
    running = None
    deadline = time.monotonic() + 60
    while running is None or running.state != pb.INSTANCE_STATE_RUNNING:
        assert time.monotonic() < deadline, f"app did not start: {running}"
        time.sleep(0.2)
        running = owner.call("Instances", "GetInstance", public_pb2.GetInstanceRequest(
            name="app", project="vault"))
    assert dict(running.spec.secret_env) == {"DB_PASSWORD": "db"} and not running.spec.env
    env = docker_client.containers.get(running.runtime_id).attrs["Config"]["Env"]
    assert f"DB_PASSWORD={value.decode()}" in env
    assert owner.call("Secrets", "GetSecretValue", secrets_pb2.GetSecretValueRequest(
        name="db", project="vault")).value == value
    needles = [value, base64.b64encode(value), value.hex().encode()]
    home = cluster.home
    hits = []
    for name in ("sched-1", "sched-2", "sched-3"):
        hits += _files_containing(home / "data" / name, needles)
    hits += _files_containing(home / "log", needles)
    assert not hits, hits


def test_putting_a_secret_into_an_instance_needs_secret_use(cluster):
    """Finding 7: `instance.create` alone does not let a member read a secret through an
    instance's environment (and its logs); `secret.use` must be granted."""
    make_project(cluster, "usage")
    cluster.call("Secrets", "CreateSecret", secrets_pb2.CreateSecretRequest(
        name="db", project="usage", value=b"members-may-not-see-this"))
    mel = token_client(cluster, make_user(cluster, "mel", "member", "usage"))
    leaky = spec(secret_env={"DB_PASSWORD": "db"}, command=["env"])
    with pytest.raises(RpcFailure) as err:
        mel.call("Instances", "CreateInstance", public_pb2.CreateInstanceRequest(
            name="leak", project="usage", spec=leaky))
    assert err.value.code == grpc.StatusCode.PERMISSION_DENIED and "secret.use" in err.value.details
    with pytest.raises(RpcFailure) as err:
        mel.call("Placement", "CreateInstances", placement_pb2.CreateInstancesRequest(
            template=public_pb2.CreateInstanceRequest(name="leaks", project="usage", spec=leaky), count=2))
    assert err.value.code == grpc.StatusCode.PERMISSION_DENIED and "secret.use" in err.value.details
    # Nothing was created; a member still creates instances without secrets.
    assert not cluster.call("Instances", "ListInstances", public_pb2.ListInstancesRequest(
        project="usage")).instances
    mel.call("Instances", "CreateInstance", public_pb2.CreateInstanceRequest(
        name="plain", project="usage", spec=spec()))

    # Granted: a role naming secret.use, bound beside member in this project only.
    cluster.call("Roles", "CreateRole", iam_pb2.CreateRoleRequest(name="secret-user",
                                                                   permissions=["secret.use"]))
    cluster.call("Roles", "BindRole", iam_pb2.BindRoleRequest(
        binding=iam_pb2.RoleBinding(principal="mel", role="secret-user", project="usage")))
    mel.call("Instances", "CreateInstance", public_pb2.CreateInstanceRequest(
        name="app", project="usage", spec=spec(secret_env={"DB_PASSWORD": "db"})))
    # Elsewhere the grant does not reach: mel is a member of "elsewhere" without it.
    make_project(cluster, "elsewhere")
    cluster.call("Roles", "BindRole", iam_pb2.BindRoleRequest(
        binding=iam_pb2.RoleBinding(principal="mel", role="member", project="elsewhere")))
    cluster.call("Secrets", "CreateSecret", secrets_pb2.CreateSecretRequest(
        name="db", project="elsewhere", value=b"nor-this"))
    with pytest.raises(RpcFailure) as err:
        mel.call("Instances", "CreateInstance", public_pb2.CreateInstanceRequest(
            name="app", project="elsewhere", spec=spec(secret_env={"DB_PASSWORD": "db"})))
    assert err.value.code == grpc.StatusCode.PERMISSION_DENIED and "secret.use" in err.value.details
    names = {i.meta.name for i in cluster.call("Instances", "ListInstances",
                                               public_pb2.ListInstancesRequest(project="usage")).instances}
    assert names == {"plain", "app"}
    for name in names:
        cluster.call("Instances", "DeleteInstance", public_pb2.DeleteInstanceRequest(
            name=name, project="usage"))


def test_audit_log_names_who_did_what_and_never_values(cluster):
    make_project(cluster, "audited")
    token = make_user(cluster, "ann", "member", "audited")
    ann = token_client(cluster, token)
    ann.call("Secrets", "CreateSecret", secrets_pb2.CreateSecretRequest(
        name="api-key", project="audited", value=b"do-not-log-me"))
    with pytest.raises(RpcFailure):
        ann.call("Quotas", "SetQuota", iam_pb2.SetQuotaRequest(project="audited", limits={"vcpus": 1}))
    deadline = time.monotonic() + 10
    while True:
        events = cluster.call("Audit", "ListAuditEvents", audit_pb2.ListAuditEventsRequest(
            principal="ann")).events
        if len(events) >= 2 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    by_action = {e.action: e for e in events}
    created = by_action["secret.create"]
    assert (created.project, created.resource, created.outcome, created.via) == \
        ("audited", "api-key", "OK", "token")
    assert created.address == "127.0.0.1"
    assert by_action["quota.set"].outcome == "PERMISSION_DENIED"
    assert "do-not-log-me" not in str(events)
    # Project admins read their project's log; members may not.
    with pytest.raises(RpcFailure) as err:
        ann.call("Audit", "ListAuditEvents", audit_pb2.ListAuditEventsRequest(project="audited"))
    assert err.value.code == grpc.StatusCode.PERMISSION_DENIED


def test_cli_login_token_quota_and_audit(cluster, tmp_path, capsys):
    config = tmp_path / "cli.toml"
    tls = cluster.aio.admin_tls
    config.write_text(f'endpoints = {list(cluster.aio.endpoints)!r}\nca = "{tls.ca}"\n'
                      f'cert = "{tls.cert}"\nkey = "{tls.key}"\n'.replace("'", '"'))
    base = ["--config", str(config)]
    assert cloud(base + ["project", "create", "clip"]) == 0
    assert cloud(base + ["user", "create", "cleo"]) == 0
    assert cloud(base + ["--project", "clip", "role", "bind", "cleo", "member"]) == 0
    capsys.readouterr()
    assert cloud(base + ["token", "create", "--user", "cleo", "--expires", "1d"]) == 0
    token = capsys.readouterr().out.strip().splitlines()[-1]
    assert cloud(base + ["login", "--token", token]) == 0
    assert config.stat().st_mode & 0o777 == 0o600 and token in config.read_text()
    capsys.readouterr()
    assert cloud(base + ["whoami"]) == 0
    assert "cleo" in capsys.readouterr().out
    assert cloud(base + ["--project", "clip", "quota", "set", "--vcpus", "4"]) == 1   # not an admin
    assert "PERMISSION_DENIED" in capsys.readouterr().err
    assert cloud(base + ["--project", "clip", "quota", "show"]) == 0
    assert "vcpus" in capsys.readouterr().out
    assert cloud(base + ["logout"]) == 0
    assert token not in config.read_text()
    capsys.readouterr()
    assert cloud(base + ["-o", "json", "audit", "list", "--since", "1h", "--user", "cleo",
                         "--action", "quota.*"]) == 0
    assert '"quota.set"' in capsys.readouterr().out


def test_a_member_hits_the_secrets_quota_and_quota_show_lists_it(cluster, tmp_path, capsys):
    make_project(cluster, "capped")
    cluster.call("Quotas", "SetQuota", iam_pb2.SetQuotaRequest(project="capped", limits={"secrets": 2}))
    token = make_user(cluster, "cass", "member", "capped")
    cass = token_client(cluster, token)
    for name in ("one", "two"):
        cass.call("Secrets", "CreateSecret", secrets_pb2.CreateSecretRequest(
            name=name, project="capped", value=b"v"))
    with pytest.raises(RpcFailure) as err:
        cass.call("Secrets", "CreateSecret", secrets_pb2.CreateSecretRequest(
            name="three", project="capped", value=b"v"))
    assert err.value.code == grpc.StatusCode.RESOURCE_EXHAUSTED and "secrets limit 2" in str(err.value)
    listed = cass.call("Secrets", "ListSecrets", secrets_pb2.ListSecretsRequest(project="capped", page_size=1))
    assert [s.name for s in listed.secrets] == ["one"] and listed.next_page_token
    # The CLI, as the member: the same refusal, every page of the list, the new quotas.
    tls = cluster.aio.admin_tls
    config = tmp_path / "cli.toml"
    config.write_text(f'endpoints = {list(cluster.aio.endpoints)!r}\nca = "{tls.ca}"\n'
                      f'cert = "{tls.cert}"\nkey = "{tls.key}"\ntoken = "{token}"\n'.replace("'", '"'))
    value = tmp_path / "value"
    value.write_bytes(b"v")
    base = ["--config", str(config), "--project", "capped"]
    capsys.readouterr()
    assert cloud(base + ["secret", "create", "three", "--from-file", str(value)]) == 1
    assert "RESOURCE_EXHAUSTED" in capsys.readouterr().err
    assert cloud(base + ["-o", "json", "secret", "list"]) == 0
    out = capsys.readouterr().out
    assert '"one"' in out and '"two"' in out and '"three"' not in out
    assert cloud(base + ["quota", "show"]) == 0
    shown = capsys.readouterr().out
    for resource in ("secrets", "secret_bytes", "images", "security_groups", "security_group_rules"):
        assert resource in shown
    usage = {i.resource: (i.used, i.limit) for i in cluster.call(
        "Quotas", "GetQuota", iam_pb2.GetQuotaRequest(project="capped")).items}
    assert usage["secrets"] == (2, 2) and usage["secret_bytes"] == (2, 16 << 20)
    assert usage["images"][1] > 0 and usage["security_group_rules"][1] > 0   # finite defaults


# -- fuzzing -------------------------------------------------------------------------

def _value(field, depth):
    if field.type == field.TYPE_MESSAGE:
        if field.message_type.GetOptions().map_entry:
            return st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=3)
        if depth <= 0:
            return st.none()
        return _message(field.message_type, depth - 1)
    scalar = {
        field.TYPE_STRING: st.one_of(st.text(max_size=40), st.sampled_from(
            ["default", "alpha", "web", "db", "admin", "i-0", "*", "instance.*", "-1", ""])),
        field.TYPE_BYTES: st.binary(max_size=64),
        field.TYPE_BOOL: st.booleans(),
        field.TYPE_INT32: st.integers(-2**31, 2**31 - 1),
        field.TYPE_INT64: st.integers(-2**63, 2**63 - 1),
        field.TYPE_UINT32: st.integers(0, 2**32 - 1),
        field.TYPE_UINT64: st.integers(0, 2**64 - 1),
        field.TYPE_DOUBLE: st.floats(allow_nan=True),
        field.TYPE_FLOAT: st.floats(width=32),
        field.TYPE_ENUM: st.sampled_from([v.number for v in field.enum_type.values] if field.enum_type else [0]),
    }.get(field.type, st.none())
    return st.lists(scalar, max_size=3) if field.is_repeated else scalar


def _message(descriptor, depth=2):
    cls = message_class(descriptor)
    fields = {f.name: _value(f, depth) for f in descriptor.fields
              if not (f.type == f.TYPE_MESSAGE and f.is_repeated)}

    def build(values):
        message = cls()
        for name, value in values.items():
            if value is None:
                continue
            field = descriptor.fields_by_name[name]
            target = getattr(message, name)
            if field.type == field.TYPE_MESSAGE and field.message_type.GetOptions().map_entry:
                target.update(value)
            elif field.type == field.TYPE_MESSAGE:
                target.CopyFrom(value)
            elif field.is_repeated:
                target.extend(value)
            else:
                setattr(message, name, value)
        return message
    return st.fixed_dictionaries({}, optional=fields).map(build)


# Safe to fuzz as the cluster admin: the IAM services and reads. Every other method
# (hosts drain, membership, ...) is fuzzed as a project member, whom the interceptor
# must refuse or serve without crashing.
ADMIN_FUZZED = ("Projects", "Principals", "Roles", "Quotas", "Audit", "Secrets", "Tokens")
METHODS = [(name, m) for name, m in public_methods() if not m.client_streaming]


@pytest.fixture(scope="module")
def fuzz_token(cluster):
    make_project(cluster, "fuzz")
    return make_user(cluster, "fuzzer", "project-admin", "fuzz")


@pytest.mark.parametrize("full_method,method", METHODS, ids=[name for name, _ in METHODS])
def test_fuzzed_requests_answer_with_a_status_never_internal(cluster, fuzz_token, full_method, method):
    service = full_method.split("/")[1].rsplit(".", 1)[1]
    as_admin = service in ADMIN_FUZZED and not full_method.endswith("/Bootstrap")
    metadata = () if as_admin else (("authorization", f"Bearer {fuzz_token}"),)
    endpoint = cluster.aio.endpoints[0]
    with raw_channel(cluster, endpoint) as channel:
        if as_admin:
            from common.grpcserve import secure_channel
            channel = secure_channel(endpoint, cluster.aio.admin_tls)

        @settings(max_examples=12, deadline=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        @given(_message(method.input_type))
        def check(request):
            code = invoke(channel, full_method, method, request, metadata, timeout=5.0)
            assert code not in (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN), \
                f"{full_method} answered {code.name} to {request}"

        check()
    # And the servers are still there: no daemon exited (that fails at once) and the
    # cluster is healthy. Not a leader at this very instant: on a loaded machine an
    # election may be under way (the leader named nobody here once, in term 2).
    cluster.aio.wait_healthy(timeout=30)
