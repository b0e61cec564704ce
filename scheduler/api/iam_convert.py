"""IAM, audit and secret records to protobuf messages."""
from __future__ import annotations

from proto.v1 import audit_pb2, iam_pb2, secrets_pb2
from scheduler.api.convert import timestamp
from scheduler.auth.permissions import BUILTIN_ROLES


def project_pb(record: dict) -> iam_pb2.Project:
    return iam_pb2.Project(id=record["id"], name=record["name"],
                           description=record.get("description", ""), labels=record.get("labels", {}),
                           revision=record.get("revision", 0),
                           created_at=timestamp(record.get("created_ms", 0)))


def principal_pb(record: dict) -> iam_pb2.Principal:
    return iam_pb2.Principal(id=record["id"], name=record["name"], kind=record["kind"],
                             project=record.get("project", ""),
                             description=record.get("description", ""),
                             created_at=timestamp(record.get("created_ms", 0)))


def token_pb(record: dict, principal_name: str) -> iam_pb2.Token:
    return iam_pb2.Token(id=record["id"], principal=principal_name,
                         description=record.get("description", ""),
                         created_at=timestamp(record.get("created_ms", 0)),
                         expires_at=timestamp(record.get("expires_ms", 0)),
                         revoked=record.get("revoked", False),
                         scope_project=record.get("scope_project", ""),
                         scope_role=record.get("scope_role", ""))


def role_pb(name: str, record: dict | None) -> iam_pb2.Role:
    if name in BUILTIN_ROLES:
        builtin = BUILTIN_ROLES[name]
        return iam_pb2.Role(name=name, permissions=builtin["permissions"], builtin=True,
                            description=builtin["description"])
    return iam_pb2.Role(name=name, permissions=record["permissions"],
                        description=record.get("description", ""))


def binding_pb(principal_name: str, role: str, project: str) -> iam_pb2.RoleBinding:
    return iam_pb2.RoleBinding(principal=principal_name, role=role, project=project)


def quota_pb(project: str, report: dict) -> iam_pb2.Quota:
    return iam_pb2.Quota(project=project, items=[
        iam_pb2.QuotaItem(resource=resource, limit=value["limit"], used=value["used"])
        for resource, value in report.items()])


def audit_pb(entry: dict) -> audit_pb2.AuditEvent:
    return audit_pb2.AuditEvent(
        seq=entry["seq"], time=timestamp(entry["ts"]), principal=entry["principal"],
        via=entry["via"], project=entry["project"], action=entry["action"],
        method=entry["method"], resource=entry["resource"], outcome=entry["outcome"],
        address=entry["address"])


def secret_pb(record: dict) -> secrets_pb2.Secret:
    return secrets_pb2.Secret(id=record["id"], name=record["name"], project=record["project"],
                              revision=record.get("revision", 0),
                              created_at=timestamp(record.get("created_ms", 0)),
                              size_bytes=record.get("size_bytes", 0))
