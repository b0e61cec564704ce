"""CreateInstance's one pure step (scheduler/api/instance_create.py): every check and
the host decided over one read view, nothing changed; the command it returns is
what apply accepts."""
import pytest

from common.errors import AlreadyExists, InvalidArgument, NotFound, ResourceExhausted
from proto.v1 import resources_pb2 as pb
from scheduler.api import validate
from scheduler.api.instance_create import CreateRequest, NoHost, prepare
from scheduler.placement.planner import Planner, Settings
from scheduler.state import commands
from scheduler.state.instances import CreateArgs
from state_world import StateWorld

MiB = 1024**2


@pytest.fixture
def world():
    world = StateWorld()
    apply = world.apply
    apply("iam.bootstrap", {"admin_name": "admin", "admin_id": "p-admin", "default_project_id": "pr-default"})
    apply("host.join", {"id": "h-1", "name": "node-1", "address": "127.0.0.1:1", "images": ["busybox"],
                        "drivers": ["compute:docker"],
                        "capacity": {"vcpus": 2, "memory_bytes": 1024 * MiB, "disk_bytes": 0}})
    return world


def request(name="web-1", memory=64 * MiB, request_id="", **spec):
    validated = validate.instance_spec(pb.InstanceSpec(image="busybox", vcpus=1, memory_bytes=memory, **spec))
    return CreateRequest(project="default", name=name, spec=validated, labels={"app": "web"},
                         request_id=request_id, trace_id="t-1")


def test_the_prepared_command_decodes_and_commits_and_nothing_changed_before(world):
    before = world.state.to_dict()
    prepared = prepare(world.state, Planner(Settings()), request())
    assert world.state.to_dict() == before and prepared.existing is None
    args = commands.decode(CreateArgs, prepared.command)
    assert args.host_id == "h-1" and args.project_id and args.trace_id == "t-1"
    result = world.apply("instance.create", prepared.command)
    assert result["instance"]["name"] == "web-1"


def test_a_retry_of_the_same_request_finds_its_instance_and_another_is_refused(world):
    first = prepare(world.state, Planner(Settings()), request(request_id="req-1"))
    world.apply("instance.create", first.command)
    again = prepare(world.state, Planner(Settings()), request(request_id="req-1"))
    assert again.command is None and again.existing["id"] == first.command["id"]
    with pytest.raises(AlreadyExists):
        prepare(world.state, Planner(Settings()), request(request_id="req-2"))


def test_no_host_is_told_apart_from_a_bad_request(world):
    with pytest.raises(NoHost) as no_host:
        prepare(world.state, Planner(Settings()), request(memory=4096 * MiB))
    assert isinstance(no_host.value.error, ResourceExhausted)
    with pytest.raises(NotFound):           # a secret the project lacks: not a placement failure
        prepare(world.state, Planner(Settings()), request(secret_env={"DB": "nope"}))
    with pytest.raises((NotFound, InvalidArgument)):
        prepare(world.state, Planner(Settings()), request(subnet="nowhere"))
