"""What CreateInstance checks for IAM before it places anything: the project still
exists (its id goes into the command, and apply refuses it if the project was
deleted meanwhile), the quota has room (apply checks again, authoritatively), and
the secrets the spec references exist in the project."""
from __future__ import annotations

from common.errors import NotFound
from scheduler.api.secret_input import check_secrets_exist
from scheduler.api.vm_secret_input import check_secret_files_exist
from scheduler.state import iam, quota


def instance_admission(state, project: str, spec: dict) -> str:
    """The project's id for `instance.create` (on a read view); NotFound or
    ResourceExhausted early."""
    record = iam.project(state, project)
    if record is None:
        raise NotFound(f"project {project!r} not found")
    quota.check(state, project, quota.instance_amounts(spec))
    check_secrets_exist(state, project, spec)
    check_secret_files_exist(state, project, spec)
    return record["id"]
