"""Finding a project record: what IAM (scheduler/state/iam.py) and quotas
(scheduler/state/quota.py) both need, so neither imports the other for it."""
from __future__ import annotations

DEFAULT_PROJECT = "default"
DEFAULT_PROJECT_ID = "p-default"


def default_project() -> dict:
    return {"id": DEFAULT_PROJECT_ID, "name": DEFAULT_PROJECT, "description": "the built-in project",
            "labels": {}, "created_ms": 0, "updated_ms": 0, "revision": 0}


def project(state, name_or_id: str) -> dict | None:
    """A project record by name or id; the built-in "default" always exists."""
    iam = state.iam
    record = iam["projects"].get(name_or_id) or iam["projects"].get(iam["project_names"].get(name_or_id, ""))
    if record is None and name_or_id in (DEFAULT_PROJECT, DEFAULT_PROJECT_ID):
        return default_project()
    return record
