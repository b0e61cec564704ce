"""What every RPC needs: one table from full method name to permission and scope.

A permission is "<resource>.<verb>" (`instance.create`, `volume.attach`,
`host.drain`). The scope says where the caller's roles are looked up:

* PROJECT: the project named in the request (a `project` field, or `meta.project`
  of its top-level message, default "default");
* CLUSTER: cluster-wide bindings only (host and cluster operations, creating
  projects and users, setting quotas) — in practice cluster admins;
* SELF: any authenticated principal; the servicer narrows it (its own tokens,
  the projects it may see);
* AGENT: agent certificates only (the Node API; the servicer checks the host);
* NODE: agent or scheduler certificates (a node renewing its own certificate);
* PUBLIC: any peer with a certificate of the cluster CA (health, reflection).

A method missing from the table is admin-only (CLUSTER scope, mutating): a new
RPC is safe until someone decides otherwise.
"""
from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from typing import Callable

from common import imageurl
from common.errors import InvalidArgument

PROJECT, CLUSTER, SELF, AGENT, NODE, PUBLIC = "project", "cluster", "self", "agent", "node", "public"

DEFAULT_PROJECT = "default"

# Verbs that change nothing: calls with these are not written to the audit log.
READ_VERBS = frozenset({"get", "list", "watch", "logs", "read", "whoami", "status", "explain"})

PERMISSION_RE = re.compile(r"^(\*|[a-z][a-z0-9-]*)\.(\*|[a-z][a-z0-9-]*)\Z")


@dataclass(frozen=True)
class Rule:
    """What a method needs. `resolve(request)` may override permission and scope
    when they depend on the request (binding a role cluster-wide vs in a project)."""

    permission: str
    scope: str
    project_field: str = "project"
    resolve: Callable | None = None

    @property
    def verb(self) -> str:
        return self.permission.rpartition(".")[2]

    @property
    def mutating(self) -> bool:
        return self.verb not in READ_VERBS


ADMIN_ONLY = Rule("cluster.admin", CLUSTER)


def _project_or_cluster(permission: str, getter: Callable) -> Callable:
    """A resolver: PROJECT scope when the request names a project, CLUSTER otherwise."""
    def resolve(request):
        project = getter(request)
        return (permission, PROJECT, project) if project else (permission, CLUSTER, "")
    return resolve


def _principal_create(request):
    if request.kind == "service-account":
        return "serviceaccount.create", PROJECT, request.project or DEFAULT_PROJECT
    return "user.create", CLUSTER, ""


def _principals_list(request):
    if request.project:
        return "serviceaccount.list", PROJECT, request.project
    return "user.list", CLUSTER, ""


def _reads_host_files(url: str) -> bool:
    """Decided on the URL as the servicer and the agent read it (common/imageurl.py); one
    that does not parse is judged a file: URL, so its caller learns nothing but the refusal."""
    try:
        return imageurl.parse(url).is_file
    except InvalidArgument:
        return True


def _image_import(request):
    urls = (request.disk.url, request.kernel.url, request.initrd.url)
    if any(_reads_host_files(url) for url in urls if url):
        return "image.import-file", CLUSTER, ""
    return "image.import", PROJECT, request.project or DEFAULT_PROJECT


V1 = "/thecloud.v1."
METHOD_RULES: dict[str, Rule] = {
    # Cluster and hosts: admin-only.
    V1 + "Cluster/GetStatus": Rule("cluster.status", CLUSTER),
    V1 + "Cluster/GetMemberStatus": Rule("cluster.status", CLUSTER),
    V1 + "Hosts/GetHost": Rule("host.get", CLUSTER),
    V1 + "Hosts/ListHosts": Rule("host.list", CLUSTER),
    # Membership, backup and restore, join tokens: cluster admins, and the servicer
    # (scheduler/api/operations.py) wants the admin's certificate itself.
    **{V1 + f"Operations/{name}": Rule("cluster.admin", CLUSTER) for name in (
        "AddMember", "RemoveMember", "Backup", "Restore", "CreateJoinToken", "RemoveHost",
        "RotateCa", "RenewCertificate")},
    # Instances.
    V1 + "Instances/CreateInstance": Rule("instance.create", PROJECT),
    V1 + "Instances/GetInstance": Rule("instance.get", PROJECT),
    V1 + "Instances/ListInstances": Rule("instance.list", PROJECT),
    V1 + "Instances/UpdateInstance": Rule("instance.update", PROJECT),
    V1 + "Instances/DeleteInstance": Rule("instance.delete", PROJECT),
    V1 + "Instances/StartInstance": Rule("instance.start", PROJECT),
    V1 + "Instances/StopInstance": Rule("instance.stop", PROJECT),
    V1 + "Instances/GetInstanceLogs": Rule("instance.logs", PROJECT),
    V1 + "Instances/WatchInstances": Rule("instance.watch", PROJECT),
    # Projects.
    V1 + "Projects/CreateProject": Rule("project.create", CLUSTER),
    V1 + "Projects/GetProject": Rule("project.get", PROJECT, project_field="name"),
    V1 + "Projects/ListProjects": Rule("project.list", SELF),
    V1 + "Projects/DeleteProject": Rule("project.delete", CLUSTER),
    # Users and service accounts.
    V1 + "Principals/CreatePrincipal": Rule("user.create", CLUSTER, resolve=_principal_create),
    V1 + "Principals/GetPrincipal": Rule("user.get", SELF),
    V1 + "Principals/ListPrincipals": Rule("user.list", CLUSTER, resolve=_principals_list),
    V1 + "Principals/DeletePrincipal": Rule("user.delete", SELF),
    # Tokens: the servicer decides whose tokens the caller may handle.
    V1 + "Tokens/CreateToken": Rule("token.create", SELF),
    V1 + "Tokens/ListTokens": Rule("token.list", SELF),
    V1 + "Tokens/RevokeToken": Rule("token.revoke", SELF),
    V1 + "Tokens/WhoAmI": Rule("token.whoami", SELF),
    V1 + "Tokens/Bootstrap": Rule("cluster.bootstrap", CLUSTER),
    # Roles.
    V1 + "Roles/CreateRole": Rule("role.create", CLUSTER),
    V1 + "Roles/ListRoles": Rule("role.list", SELF),
    V1 + "Roles/DeleteRole": Rule("role.delete", CLUSTER),
    V1 + "Roles/BindRole": Rule("role.bind", CLUSTER, resolve=_project_or_cluster(
        "role.bind", lambda req: req.binding.project)),
    V1 + "Roles/UnbindRole": Rule("role.bind", CLUSTER, resolve=_project_or_cluster(
        "role.bind", lambda req: req.binding.project)),
    V1 + "Roles/ListBindings": Rule("binding.list", CLUSTER, resolve=_project_or_cluster(
        "binding.list", lambda req: req.project)),
    # Quotas: project members see theirs, only cluster admins change them.
    V1 + "Quotas/GetQuota": Rule("quota.get", PROJECT),
    V1 + "Quotas/SetQuota": Rule("quota.set", CLUSTER),
    # Audit log: a project's (project-admin) or the whole cluster's (admin).
    # ("read", not "list": the reader and member roles' "*.list" must not cover it.)
    V1 + "Audit/ListAuditEvents": Rule("audit.read", CLUSTER, resolve=_project_or_cluster(
        "audit.read", lambda req: req.project)),
    # Secrets: reading a value is its own permission, beyond listing names.
    V1 + "Secrets/CreateSecret": Rule("secret.create", PROJECT),
    V1 + "Secrets/ListSecrets": Rule("secret.list", PROJECT),
    V1 + "Secrets/GetSecretValue": Rule("secret.read", PROJECT),
    V1 + "Secrets/DeleteSecret": Rule("secret.delete", PROJECT),
    # Volumes and snapshots (scheduler/api/volumes.py); pools are hosts' business.
    **{V1 + f"Volumes/{verb}Volume": Rule(f"volume.{verb.lower()}", PROJECT) for verb in (
        "Create", "Get", "Delete", "Resize", "Attach", "Detach", "Revert")},
    V1 + "Volumes/ListVolumes": Rule("volume.list", PROJECT),
    V1 + "Volumes/ListStoragePools": Rule("host.list", CLUSTER),
    **{V1 + f"Snapshots/{verb}Snapshot": Rule(f"snapshot.{verb.lower()}", PROJECT) for verb in (
        "Create", "Get", "Delete")},
    V1 + "Snapshots/ListSnapshots": Rule("snapshot.list", PROJECT),
    # VM images (scheduler/api/images.py): a file:// source is read by agents as root
    # on their hosts, so only cluster admins may name one.
    V1 + "Images/ImportImage": Rule("image.import", PROJECT, resolve=_image_import),
    **{V1 + f"Images/{verb}Image": Rule(f"image.{verb.lower()}", PROJECT) for verb in ("Get", "Delete")},
    V1 + "Images/ListImages": Rule("image.list", PROJECT),
    V1 + "Machines/RebootInstance": Rule("instance.reboot", PROJECT),
    # VPC networking (issue 4).
    V1 + "Networks/CreateVpc": Rule("vpc.create", PROJECT),
    V1 + "Networks/GetVpc": Rule("vpc.get", PROJECT),
    V1 + "Networks/ListVpcs": Rule("vpc.list", PROJECT),
    V1 + "Networks/DeleteVpc": Rule("vpc.delete", PROJECT),
    V1 + "Networks/CreateSubnet": Rule("subnet.create", PROJECT),
    V1 + "Networks/GetSubnet": Rule("subnet.get", PROJECT),
    V1 + "Networks/ListSubnets": Rule("subnet.list", PROJECT),
    V1 + "Networks/DeleteSubnet": Rule("subnet.delete", PROJECT),
    V1 + "Networks/CreateSecurityGroup": Rule("securitygroup.create", PROJECT),
    V1 + "Networks/GetSecurityGroup": Rule("securitygroup.get", PROJECT),
    V1 + "Networks/ListSecurityGroups": Rule("securitygroup.list", PROJECT),
    V1 + "Networks/DeleteSecurityGroup": Rule("securitygroup.delete", PROJECT),
    V1 + "Networks/AddSecurityGroupRule": Rule("securitygroup.update", PROJECT),
    V1 + "Networks/RemoveSecurityGroupRule": Rule("securitygroup.update", PROJECT),
    V1 + "Networks/AttachSecurityGroup": Rule("securitygroup.attach", PROJECT),
    V1 + "Networks/DetachSecurityGroup": Rule("securitygroup.detach", PROJECT),
    # Choosing a VPC's gateway host names a host, but only for the project's own VPC.
    V1 + "Networks/SetVpcGateway": Rule("vpc.update", PROJECT),
    **{V1 + f"FloatingIps/{verb}FloatingIp": Rule(f"floatingip.{verb.lower()}", PROJECT) for verb in (
        "Create", "Get", "Delete", "Attach", "Detach")},
    V1 + "FloatingIps/ListFloatingIps": Rule("floatingip.list", PROJECT),
    # Placement groups (issue 6); host operations stay cluster-wide.
    V1 + "Placement/CreateGroup": Rule("placementgroup.create", PROJECT),
    V1 + "Placement/GetGroup": Rule("placementgroup.get", PROJECT),
    V1 + "Placement/ListGroups": Rule("placementgroup.list", PROJECT),
    V1 + "Placement/UpdateGroup": Rule("placementgroup.update", PROJECT),
    V1 + "Placement/DeleteGroup": Rule("placementgroup.delete", PROJECT),
    V1 + "Placement/CreateInstances": Rule("instance.create", PROJECT),
    V1 + "Placement/ExplainPlacement": Rule("instance.explain", PROJECT),
    V1 + "Placement/SetHostLabels": Rule("host.label", CLUSTER),
    V1 + "Placement/SetHostSchedulable": Rule("host.drain", CLUSTER),
    V1 + "Evacuations/EvacuateHost": Rule("host.evacuate", CLUSTER),
    V1 + "Evacuations/GetEvacuation": Rule("host.get", CLUSTER),
    # Events (issue 8): one project's, or the whole cluster's for admins.
    V1 + "Events/WatchEvents": Rule("event.watch", CLUSTER, resolve=_project_or_cluster(
        "event.watch", lambda req: req.project)),
    # A scheduler without the CA key renews its own certificate at a peer that has it.
    V1 + "Node/RenewCertificate": Rule("certificate.renew", NODE),
}

# Whole services with one rule.
SERVICE_RULES: dict[str, Rule] = {
    V1 + "Node/": Rule("node.call", AGENT),
    # Enrolling nodes prove themselves with a join token, checked by the servicer.
    V1 + "Enrollment/": Rule("node.enroll", PUBLIC),
    "/grpc.health.v1.Health/": Rule("health.get", PUBLIC),
    "/grpc.reflection.v1alpha.ServerReflection/": Rule("reflection.get", PUBLIC),
    "/grpc.reflection.v1.ServerReflection/": Rule("reflection.get", PUBLIC),
}


def rule_for(method: str) -> Rule:
    """The rule of a full method name ("/thecloud.v1.Instances/CreateInstance")."""
    rule = METHOD_RULES.get(method)
    if rule is not None:
        return rule
    for prefix, service_rule in SERVICE_RULES.items():
        if method.startswith(prefix):
            return service_rule
    return ADMIN_ONLY


# -- roles --------------------------------------------------------------------

# Resource families a project member creates and changes; new families of other
# features belong here once their permission names exist.
MEMBER_FAMILIES = ("instance", "volume", "snapshot", "image", "vpc", "subnet", "securitygroup",
                   "floatingip", "placementgroup", "port")

BUILTIN_ROLES: dict[str, dict] = {
    "admin": {"permissions": ["*"],
              "description": "everything, cluster-wide (bind without a project)"},
    "project-admin": {"permissions": ["*"],
                      "description": "everything within the project: members, service accounts, "
                                     "secret values, its audit log"},
    "member": {"permissions": [f"{family}.*" for family in MEMBER_FAMILIES] + [
                   "*.get", "*.list", "*.watch", "secret.create", "secret.delete"],
               "description": "create, change and delete the project's resources; "
                              "not secret values, roles or the audit log"},
    "reader": {"permissions": ["*.get", "*.list", "*.watch"],
               "description": "read the project's resources (secret names, not values)"},
}
CLUSTER_ONLY_ROLES = ("admin",)


def check_permission(value: str) -> bool:
    return bool(PERMISSION_RE.match(value))


def grants(patterns, permission: str) -> bool:
    """Whether any of `patterns` ("instance.*", "*.get", "*") covers `permission`."""
    return any(pattern == "*" or fnmatch.fnmatchcase(permission, pattern) for pattern in patterns)
