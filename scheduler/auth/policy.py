"""The decision: may this identity use this permission in this project?

Cluster-scope permissions (project "") are granted only by cluster-wide bindings;
project-scope ones by a binding in that project or a cluster-wide one. A caller
with no role at all in the project gets NOT_FOUND (the project's existence is not
revealed); one with a role that lacks the permission gets PERMISSION_DENIED.
A scoped token narrows all of this to its project and role.
"""
from __future__ import annotations

from common.errors import CloudError, NotFound, PermissionDenied
from scheduler.auth.identity import Identity, current
from scheduler.auth.permissions import grants


def _role_grants(identity: Identity, role: str, permission: str) -> bool:
    return grants(identity.role_permissions.get(role, ()), permission)


def decide(identity: Identity, permission: str, project: str) -> CloudError | None:
    """None when allowed, else the error to answer with."""
    if identity.scope_project:
        if not project:
            return PermissionDenied(f"this token is limited to project {identity.scope_project!r}")
        if project != identity.scope_project:
            return NotFound(f"project {project!r} not found")
        if not grants(identity.scope_permissions, permission):
            return PermissionDenied(f"this token's role does not allow {permission}")
    if identity.superuser:
        return None
    if not project:
        if any(p == "" and _role_grants(identity, role, permission) for role, p in identity.bindings):
            return None
        return PermissionDenied(f"{permission} needs a cluster-wide role (cluster admins)")
    relevant = [role for role, p in identity.bindings if p in ("", project)]
    if not relevant:
        return NotFound(f"project {project!r} not found")
    if any(_role_grants(identity, role, permission) for role in relevant):
        return None
    return PermissionDenied(f"{permission} is not allowed in project {project!r}")


def require(permission: str, project: str = "") -> None:
    """Raise unless the current caller holds `permission` in `project` ("" = cluster-wide)."""
    reason = decide(current(), permission, project)
    if reason is not None:
        raise reason


def permitted(permission: str, project: str = "") -> bool:
    return decide(current(), permission, project) is None
