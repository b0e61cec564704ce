"""The Docker Engine and the busybox test image work the way the rest of the suite assumes."""

from __future__ import annotations

import io
import tarfile
import uuid

import docker.errors
import pytest

from tests.conftest import BUSYBOX_IMAGE_HASH_LABEL

pytestmark = [pytest.mark.integration, pytest.mark.docker]

# Retried because httpd binds its port a moment after the container starts.
FETCH_PAGE = (
    "i=0; while [ $i -lt 50 ]; do "
    "wget -qO- http://127.0.0.1:8080/page.txt && exit 0; "
    "i=$((i+1)); sleep 0.1; done; exit 1"
)


def tar_of(name: str, content: bytes) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.size = len(content)
        info.mode = 0o644
        tar.addfile(info, io.BytesIO(content))
    return buf.getvalue()


def test_busybox_image_records_its_sources(docker_client, busybox_image):
    image = docker_client.images.get(busybox_image)

    assert len(image.labels[BUSYBOX_IMAGE_HASH_LABEL]) == 64
    assert image.attrs["Config"]["Cmd"] == ["/bin/sh"]


def test_container_serves_a_file_over_http_and_is_removed(
    docker_client, busybox_image, docker_labels
):
    token = uuid.uuid4().hex
    name = f"thecloud-test-httpd-{token[:12]}"
    container = docker_client.containers.create(
        busybox_image,
        ["httpd", "-f", "-p", "127.0.0.1:8080", "-h", "/var/www"],
        name=name,
        labels=docker_labels,
    )
    try:
        assert container.put_archive("/var/www", tar_of("page.txt", f"{token}\n".encode()))
        container.start()

        exit_code, output = container.exec_run(["sh", "-c", FETCH_PAGE])

        assert exit_code == 0, output
        assert output.decode().strip() == token
        container.reload()
        assert container.status == "running"
    finally:
        container.remove(force=True)

    with pytest.raises(docker.errors.NotFound):
        docker_client.containers.get(name)


def test_image_has_the_applets_tests_rely_on(docker_client, busybox_image, docker_labels):
    applets = (
        "sh ls cat echo sleep httpd nc ip ping wget hostname ps kill mkdir true false env date"
    )
    script = f"for a in {applets}; do which $a >/dev/null || echo missing $a; done"

    output = docker_client.containers.run(
        busybox_image, ["sh", "-c", script], remove=True, labels=docker_labels
    )

    assert output.decode() == ""
