"""Commands on projects, principals, tokens, roles, bindings and quotas.

All of it lives in `state.iam` (one JSON-able dict, see `empty()`). Ids, token
hashes, expiry times and timestamps come from the proposer; apply only checks
and records them. Results are copies: nothing returned aliases the state.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field

from common.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound, ResourceExhausted
from scheduler.state import quota
from scheduler.state.projects import DEFAULT_PROJECT, DEFAULT_PROJECT_ID, default_project, project  # noqa: F401
from scheduler.state.commands import Command, table

BUILTIN_ROLE_NAMES = ("admin", "project-admin", "member", "reader")
KINDS = ("user", "service-account")
# Revoked or expired tokens a principal keeps on record (so `token list` shows them);
# older ones are dropped when it creates or revokes a token.
DEAD_TOKENS_KEPT = 20


@dataclass(frozen=True)
class CreateProjectArgs:
    id: str
    name: str
    description: str = ""
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class NameArgs:
    name: str                                # a project, principal (name or id) or role


@dataclass(frozen=True)
class CreatePrincipalArgs:
    id: str
    name: str
    kind: str = "user"
    project: str = ""                        # a service account's; users have none
    description: str = ""


@dataclass(frozen=True)
class TokenArgs:
    """A token to record: only its hash, never the bearer secret."""
    id: str
    hash: str                                # SHA-256, hex
    expires_ms: int = 0                      # 0: never
    description: str = ""
    scope_project: str = ""                  # a scoped token names both, or neither
    scope_role: str = ""
    max_live_tokens: int = 0                 # the proposer's max_tokens_per_principal; 0: no cap


@dataclass(frozen=True, kw_only=True)
class CreateTokenArgs(TokenArgs):
    principal_id: str


@dataclass(frozen=True)
class RevokeTokenArgs:
    id: str


@dataclass(frozen=True)
class CreateRoleArgs:
    name: str
    permissions: list[str]
    description: str = ""


@dataclass(frozen=True)
class BindingArgs:
    principal: str                           # name or id
    role: str
    project: str = ""                        # "": cluster-wide


@dataclass(frozen=True)
class FirstAdmin:
    id: str
    name: str
    description: str = ""


@dataclass(frozen=True)
class BootstrapArgs:
    principal: FirstAdmin
    token: TokenArgs


@dataclass(frozen=True)
class SetQuotaArgs:
    project: str
    limits: dict[str, int]                   # resource -> limit; -1: unlimited


def empty() -> dict:
    return {"projects": {}, "project_names": {}, "principals": {}, "principal_names": {},
            "tokens": {}, "roles": {}, "bindings": {}, "quotas": {}, "usage": {},
            "bootstrapped": False}


def _touch(record: dict, ctx: dict) -> None:
    record["updated_ms"], record["revision"] = ctx["ts"], ctx["index"]


def _out(record: dict) -> dict:
    return copy.deepcopy(record)


# -- projects -----------------------------------------------------------------

def projects(state) -> list[dict]:
    listed = list(state.iam["projects"].values())
    if DEFAULT_PROJECT not in state.iam["project_names"]:
        listed.append(default_project())
    return sorted(listed, key=lambda p: p["name"])


def create_project(state, args: CreateProjectArgs, ctx: dict) -> dict:
    iam, name = state.iam, args.name
    if project(state, name) is not None:
        raise AlreadyExists(f"project {name!r} already exists")
    if args.id in iam["projects"]:
        raise AlreadyExists(f"project id {args.id} already exists")
    record = {"id": args.id, "name": name, "description": args.description,
              "labels": dict(args.labels), "created_ms": ctx["ts"]}
    _touch(record, ctx)
    iam["projects"][record["id"]] = record
    iam["project_names"][name] = record["id"]
    return {"project": _out(record)}


def resources_in(state, name: str) -> list[str]:
    """What still lives in project `name`, across every collection of the state
    (so resource families added later are covered without knowing about them)."""
    found = []
    for attr, records in vars(state).items():
        if attr == "iam" or not isinstance(records, dict):
            continue
        count = sum(1 for record in records.values()
                    if isinstance(record, dict) and record.get("project") == name)
        if count:
            found.append(f"{count} {attr}")
    accounts = sum(1 for p in state.iam["principals"].values() if p.get("project") == name)
    if accounts:
        found.append(f"{accounts} service accounts")
    used = {k: v for k, v in state.iam["usage"].get(name, {}).items() if v}
    if used and not found:
        found.extend(f"{v} {k}" for k, v in sorted(used.items()))
    return found


def delete_project(state, args: NameArgs, ctx: dict) -> dict:
    iam = state.iam
    record = project(state, args.name)
    if record is None:
        raise NotFound(f"project {args.name!r} not found")
    if record["id"] == DEFAULT_PROJECT_ID:
        raise FailedPrecondition("the default project cannot be deleted")
    held = resources_in(state, record["name"])
    if held:
        raise FailedPrecondition(f"project {record['name']!r} still holds {', '.join(held)}")
    del iam["projects"][record["id"]]
    del iam["project_names"][record["name"]]
    iam["quotas"].pop(record["name"], None)
    iam["usage"].pop(record["name"], None)
    for key in [k for k, b in iam["bindings"].items() if b["project"] == record["name"]]:
        del iam["bindings"][key]
    return {"deleted": True}


# -- principals ---------------------------------------------------------------

def principal(state, name_or_id: str) -> dict | None:
    iam = state.iam
    return iam["principals"].get(name_or_id) or iam["principals"].get(
        iam["principal_names"].get(name_or_id, ""))


def _check_new_principal(state, principal_id: str, name: str, kind: str, owner: str) -> None:
    iam = state.iam
    if kind not in KINDS:
        raise InvalidArgument("kind", f"must be one of {', '.join(KINDS)}")
    if name in iam["principal_names"]:
        raise AlreadyExists(f"principal {name!r} already exists")
    if principal_id in iam["principals"]:
        raise AlreadyExists(f"principal id {principal_id} already exists")
    if kind == "service-account" and project(state, owner) is None:
        raise NotFound(f"project {owner!r} not found")


def _add_principal(state, principal_id: str, name: str, kind: str, owner: str, description: str,
                   ctx: dict) -> dict:
    """Record a principal `_check_new_principal` accepted."""
    record = {"id": principal_id, "name": name, "kind": kind, "project": owner,
              "description": description, "created_ms": ctx["ts"]}
    _touch(record, ctx)
    state.iam["principals"][record["id"]] = record
    state.iam["principal_names"][name] = record["id"]
    return record


def create_principal(state, args: CreatePrincipalArgs, ctx: dict) -> dict:
    owner = args.project if args.kind == "service-account" else ""
    _check_new_principal(state, args.id, args.name, args.kind, owner)
    record = _add_principal(state, args.id, args.name, args.kind, owner, args.description, ctx)
    return {"principal": _out(record)}


def delete_principal(state, args: NameArgs, ctx: dict) -> dict:
    iam = state.iam
    record = principal(state, args.name)
    if record is None:
        raise NotFound(f"principal {args.name!r} not found")
    del iam["principals"][record["id"]]
    del iam["principal_names"][record["name"]]
    for token_id in [t for t, rec in iam["tokens"].items() if rec["principal_id"] == record["id"]]:
        del iam["tokens"][token_id]
    for key in [k for k, b in iam["bindings"].items() if b["principal_id"] == record["id"]]:
        del iam["bindings"][key]
    return {"deleted": True}


# -- tokens -------------------------------------------------------------------

def _live(token: dict, now_ms: int) -> bool:
    return not token["revoked"] and (not token["expires_ms"] or token["expires_ms"] > now_ms)


def _prune_dead_tokens(state, principal_id: str, now_ms: int) -> None:
    dead = sorted((t for t in state.iam["tokens"].values()
                   if t["principal_id"] == principal_id and not _live(t, now_ms)),
                  key=lambda t: (t.get("revoked_ms") or t["expires_ms"], t["created_ms"], t["id"]))
    for token in dead[:max(0, len(dead) - DEAD_TOKENS_KEPT)]:
        del state.iam["tokens"][token["id"]]


def _check_new_token(state, token: TokenArgs, owner_id: str, owner_name: str, now_ms: int) -> None:
    """Refuse `token` for principal `owner_id` (which may be about to be created) while
    it holds `max_live_tokens` (the proposer's `max_tokens_per_principal`; 0: no cap) live ones."""
    iam = state.iam
    if token.id in iam["tokens"]:
        raise AlreadyExists(f"token id {token.id} already exists")
    if len(token.hash) != 64:
        raise InvalidArgument("hash", "must be a SHA-256 hex digest")
    if bool(token.scope_project) != bool(token.scope_role):
        raise InvalidArgument("scope_role", "a scoped token names both a project and a role")
    if token.scope_project and project(state, token.scope_project) is None:
        raise NotFound(f"project {token.scope_project!r} not found")
    if token.scope_role and role(state, token.scope_role) is None:
        raise NotFound(f"role {token.scope_role!r} not found")
    cap = token.max_live_tokens
    if cap > 0:
        live = sum(1 for t in iam["tokens"].values()
                   if t["principal_id"] == owner_id and _live(t, now_ms))
        if live >= cap:
            raise ResourceExhausted(f"principal {owner_name!r} already holds {live} live tokens "
                                    f"(at most {cap}); revoke some first")


def _add_token(state, token: TokenArgs, owner_id: str, ctx: dict) -> dict:
    """Record a token `_check_new_token` accepted."""
    _prune_dead_tokens(state, owner_id, ctx["ts"])
    record = {"id": token.id, "principal_id": owner_id, "hash": token.hash,
              "description": token.description, "created_ms": ctx["ts"],
              "expires_ms": token.expires_ms, "revoked": False,
              "scope_project": token.scope_project, "scope_role": token.scope_role}
    state.iam["tokens"][record["id"]] = record
    return record


def create_token(state, args: CreateTokenArgs, ctx: dict) -> dict:
    """A token for `principal_id`, capped by `max_live_tokens`."""
    owner = state.iam["principals"].get(args.principal_id)
    if owner is None:
        raise NotFound(f"principal {args.principal_id} not found")
    _check_new_token(state, args, owner["id"], owner["name"], ctx["ts"])
    return {"token": _out(_add_token(state, args, owner["id"], ctx))}


def revoke_token(state, args: RevokeTokenArgs, ctx: dict) -> dict:
    record = state.iam["tokens"].get(args.id)
    if record is None:
        raise NotFound(f"token {args.id} not found")
    # Kept (marked) so that `token list` shows what was revoked; the hash is dropped.
    record["revoked"], record["hash"], record["revoked_ms"] = True, "", ctx["ts"]
    result = {"token": _out(record)}
    _prune_dead_tokens(state, record["principal_id"], ctx["ts"])
    return result


# -- roles and bindings ----------------------------------------------------------

def role(state, name: str) -> dict | None:
    """A custom role record, or a stub for a built-in one (its permissions live in code)."""
    if name in BUILTIN_ROLE_NAMES:
        return {"name": name, "builtin": True}
    return state.iam["roles"].get(name)


def create_role(state, args: CreateRoleArgs, ctx: dict) -> dict:
    name = args.name
    if role(state, name) is not None:
        raise AlreadyExists(f"role {name!r} already exists")
    permissions = sorted(set(args.permissions))
    if not permissions or not all(permissions):
        raise InvalidArgument("permissions", "name at least one permission")
    record = {"name": name, "permissions": permissions, "description": args.description,
              "created_ms": ctx["ts"]}
    _touch(record, ctx)
    state.iam["roles"][name] = record
    return {"role": _out(record)}


def delete_role(state, args: NameArgs, ctx: dict) -> dict:
    name = args.name
    if name in BUILTIN_ROLE_NAMES:
        raise FailedPrecondition(f"role {name!r} is built in")
    if name not in state.iam["roles"]:
        raise NotFound(f"role {name!r} not found")
    if any(b["role"] == name for b in state.iam["bindings"].values()):
        raise FailedPrecondition(f"role {name!r} is still bound; unbind it first")
    if any(t["scope_role"] == name for t in state.iam["tokens"].values() if not t["revoked"]):
        raise FailedPrecondition(f"role {name!r} scopes live tokens; revoke them first")
    del state.iam["roles"][name]
    return {"deleted": True}


def binding_key(principal_id: str, role_name: str, project_name: str) -> str:
    return f"{principal_id}|{role_name}|{project_name}"


def create_binding(state, args: BindingArgs, ctx: dict) -> dict:
    owner = principal(state, args.principal)
    if owner is None:
        raise NotFound(f"principal {args.principal!r} not found")
    role_name, project_name = args.role, args.project
    if role(state, role_name) is None:
        raise NotFound(f"role {role_name!r} not found")
    if role_name == "admin" and project_name:
        raise InvalidArgument("binding.role", "admin is cluster-wide; bind project-admin in a project")
    if project_name and project(state, project_name) is None:
        raise NotFound(f"project {project_name!r} not found")
    key = binding_key(owner["id"], role_name, project_name)
    if key in state.iam["bindings"]:
        raise AlreadyExists(f"{owner['name']} already has {role_name} in "
                            f"{project_name or 'the cluster'}")
    record = {"principal_id": owner["id"], "role": role_name, "project": project_name,
              "created_ms": ctx["ts"]}
    state.iam["bindings"][key] = record
    return {"binding": _out(record), "principal": owner["name"]}


def delete_binding(state, args: BindingArgs, ctx: dict) -> dict:
    owner = principal(state, args.principal)
    key = binding_key(owner["id"] if owner else "", args.role, args.project)
    if key not in state.iam["bindings"]:
        raise NotFound("no such role binding")
    del state.iam["bindings"][key]
    return {"deleted": True}


def bindings_of(state, principal_id: str) -> list[tuple[str, str]]:
    return sorted((b["role"], b["project"]) for b in state.iam["bindings"].values()
                  if b["principal_id"] == principal_id)


# -- the first admin --------------------------------------------------------------

def bootstrap(state, args: BootstrapArgs, ctx: dict) -> dict:
    """The first admin: a user, a cluster-wide admin binding and a token, once."""
    iam, user, token = state.iam, args.principal, args.token
    if iam["bootstrapped"]:
        raise FailedPrecondition("the cluster is already initialized; "
                                 "ask an admin for a token (`cloud token create`)")
    existing = principal(state, user.name)
    # Everything is checked before the user is created: a token refused after it
    # would leave a user behind.
    if existing is None:
        _check_new_principal(state, user.id, user.name, "user", "")
    owner_id, owner_name = (existing["id"], existing["name"]) if existing is not None else (user.id, user.name)
    _check_new_token(state, token, owner_id, owner_name, ctx["ts"])
    if existing is None:
        _add_principal(state, user.id, user.name, "user", "", user.description, ctx)
    key = binding_key(owner_id, "admin", "")
    if key not in iam["bindings"]:
        iam["bindings"][key] = {"principal_id": owner_id, "role": "admin", "project": "",
                                "created_ms": ctx["ts"]}
    record = _add_token(state, token, owner_id, ctx)
    iam["bootstrapped"] = True
    return {"principal": _out(iam["principals"][owner_id]), "token": _out(record)}


# -- quotas -------------------------------------------------------------------------

def set_quota(state, args: SetQuotaArgs, ctx: dict) -> dict:
    name = args.project
    if project(state, name) is None:
        raise NotFound(f"project {name!r} not found")
    for resource, limit in args.limits.items():
        if resource not in quota.RESOURCES:
            raise InvalidArgument("limits", f"unknown quota {resource!r} "
                                            f"(known: {', '.join(quota.RESOURCES)})")
        if limit < -1:
            raise InvalidArgument("limits", f"{resource}: a limit is -1 (unlimited) or a count")
    current = state.iam["quotas"].setdefault(name, {})
    for resource, limit in args.limits.items():
        if limit == -1 and resource not in quota.DEFAULT_LIMITS:
            current.pop(resource, None)   # absent is unlimited; where a default applies, -1 is kept
        else:
            current[resource] = limit
    return {"quota": quota.report(state, name)}


COMMANDS = table(
    project__create=Command(CreateProjectArgs, create_project),
    project__delete=Command(NameArgs, delete_project),
    principal__create=Command(CreatePrincipalArgs, create_principal),
    principal__delete=Command(NameArgs, delete_principal),
    token__create=Command(CreateTokenArgs, create_token),
    token__revoke=Command(RevokeTokenArgs, revoke_token),
    role__create=Command(CreateRoleArgs, create_role),
    role__delete=Command(NameArgs, delete_role),
    binding__create=Command(BindingArgs, create_binding),
    binding__delete=Command(BindingArgs, delete_binding),
    iam__bootstrap=Command(BootstrapArgs, bootstrap),
    quota__set=Command(SetQuotaArgs, set_quota),
)
