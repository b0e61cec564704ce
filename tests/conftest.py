"""Fixtures shared by the whole suite.

Real engines: a test that needs the Docker Engine asks for ``docker_client``
(or ``busybox_image``). When the engine is not there the test is skipped on a
developer machine and fails under CI (``CI=true``), where ``make test`` has
already started it. ``engine_missing()`` applies the same rule for other
engines (libvirt, qemu, ...) in the subdirectories' conftest files.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator, NoReturn

import pytest

if TYPE_CHECKING:
    import docker

REPO_ROOT = Path(__file__).resolve().parent.parent

BUSYBOX_IMAGE = "thecloud/busybox:test"
BUSYBOX_IMAGE_HASH_LABEL = "thecloud.image.hash"

# Engine objects a test creates carry TEST_LABEL=TEST_SESSION; whatever a
# session leaves behind is removed when it ends, without touching the objects
# of another test run sharing the same engine.
TEST_LABEL = "thecloud.test"
TEST_SESSION = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "docker: needs a running Docker Engine")
    config.addinivalue_line("markers", "integration: starts real processes")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    integration_dir = Path(__file__).parent / "integration"
    for item in items:
        if integration_dir in Path(item.path).parents:
            item.add_marker(pytest.mark.integration)
        if {"docker_client", "busybox_image"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.docker)


def in_ci() -> bool:
    return os.environ.get("CI") == "true"


def engine_missing(reason: str) -> NoReturn:
    """Skip the calling test, or fail it under CI where every engine must exist."""
    if in_ci():
        pytest.fail(f"{reason} [CI=true: engines must be available]", pytrace=False)
    pytest.skip(reason)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free on ``host`` a moment ago (bound to port 0, then closed)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def make_data_dir(parent: Path, name: str) -> Path:
    """Create ``parent/name`` as an empty directory only its owner may enter."""
    path = Path(parent) / name
    path.mkdir(mode=0o700, parents=True)
    return path


@pytest.fixture
def free_tcp_port() -> int:
    return free_port()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """An empty 0700 data directory for one daemon, removed with tmp_path."""
    return make_data_dir(tmp_path, "data")


@pytest.fixture
def data_dir_factory(tmp_path: Path) -> Callable[[str], Path]:
    """``data_dir_factory("scheduler-1")`` -> a fresh 0700 directory under tmp_path."""
    return lambda name: make_data_dir(tmp_path, name)


@pytest.fixture
def short_tmp_dir() -> Iterator[Path]:
    """A directory with a short path (/tmp/tc-XXXX), for AF_UNIX sockets (108-byte limit)."""
    path = Path(tempfile.mkdtemp(prefix="tc-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def docker_labels() -> dict[str, str]:
    """Labels to put on every container/network/volume a test creates."""
    return {TEST_LABEL: TEST_SESSION}


@pytest.fixture(scope="session")
def docker_client() -> Iterator[docker.DockerClient]:
    """A docker SDK client for the local engine; leftovers of this session are removed at its end."""
    try:
        import docker
    except ImportError as exc:
        engine_missing(f"the docker SDK is not installed ({exc}); run `make venv`")
    try:
        client = docker.from_env(timeout=60)
        client.ping()
    except Exception as exc:  # the SDK raises DockerException or a requests error
        engine_missing(
            f"the Docker Engine does not answer ({exc}); start it with `make images` "
            "or scripts/start-docker.sh"
        )
    yield client
    leftovers = {"label": f"{TEST_LABEL}={TEST_SESSION}"}
    for container in client.containers.list(all=True, filters=leftovers):
        container.remove(force=True, v=True)
    client.networks.prune(filters=leftovers)
    client.volumes.prune(filters=leftovers)
    client.close()


@pytest.fixture(scope="session")
def busybox_image(docker_client) -> str:
    """The name of the busybox test image, built or refreshed by scripts/build-busybox-image.sh."""
    script = REPO_ROOT / "scripts" / "build-busybox-image.sh"
    try:
        proc = subprocess.run(
            ["bash", str(script)], capture_output=True, text=True, timeout=300, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        engine_missing(f"could not build {BUSYBOX_IMAGE}: {exc}")
    if proc.returncode != 0:
        engine_missing(f"could not build {BUSYBOX_IMAGE}: {proc.stderr.strip()}")
    return BUSYBOX_IMAGE
