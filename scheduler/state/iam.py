"""Commands on projects, principals, tokens, roles, bindings and quotas.

All of it lives in `state.iam` (one JSON-able dict, see `empty()`). Ids, token
hashes, expiry times and timestamps come from the proposer; apply only checks
and records them. Results are copies: nothing returned aliases the state.
"""
from __future__ import annotations

import copy

from common.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound, ResourceExhausted
from scheduler.state import quota

DEFAULT_PROJECT = "default"
DEFAULT_PROJECT_ID = "p-default"
BUILTIN_ROLE_NAMES = ("admin", "project-admin", "member", "reader")
KINDS = ("user", "service-account")
# Revoked or expired tokens a principal keeps on record (so `token list` shows them);
# older ones are dropped when it creates or revokes a token.
DEAD_TOKENS_KEPT = 20


def empty() -> dict:
    return {"projects": {}, "project_names": {}, "principals": {}, "principal_names": {},
            "tokens": {}, "roles": {}, "bindings": {}, "quotas": {}, "usage": {},
            "bootstrapped": False}


def _touch(record: dict, ctx: dict) -> None:
    record["updated_ms"], record["revision"] = ctx["ts"], ctx["index"]


def _out(record: dict) -> dict:
    return copy.deepcopy(record)


# -- projects -----------------------------------------------------------------

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


def projects(state) -> list[dict]:
    listed = list(state.iam["projects"].values())
    if DEFAULT_PROJECT not in state.iam["project_names"]:
        listed.append(default_project())
    return sorted(listed, key=lambda p: p["name"])


def create_project(state, args: dict, ctx: dict) -> dict:
    iam, name = state.iam, args["name"]
    if project(state, name) is not None:
        raise AlreadyExists(f"project {name!r} already exists")
    if args["id"] in iam["projects"]:
        raise AlreadyExists(f"project id {args['id']} already exists")
    record = {"id": args["id"], "name": name, "description": args.get("description", ""),
              "labels": dict(args.get("labels", {})), "created_ms": ctx["ts"]}
    _touch(record, ctx)
    iam["projects"][record["id"]] = record
    iam["project_names"][name] = record["id"]
    return {"project": _out(record)}


def resources_in(state, name: str) -> list[str]:
    """What still lives in project `name`, across every collection of the state
    (so resource families added later are covered without knowing about them)."""
    found = []
    for attr, table in vars(state).items():
        if attr == "iam" or not isinstance(table, dict):
            continue
        count = sum(1 for record in table.values()
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


def delete_project(state, args: dict, ctx: dict) -> dict:
    iam = state.iam
    record = project(state, args["name"])
    if record is None:
        raise NotFound(f"project {args['name']!r} not found")
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


def create_principal(state, args: dict, ctx: dict) -> dict:
    iam, name, kind = state.iam, args["name"], args.get("kind", "user")
    if kind not in KINDS:
        raise InvalidArgument("kind", f"must be one of {', '.join(KINDS)}")
    if name in iam["principal_names"]:
        raise AlreadyExists(f"principal {name!r} already exists")
    if args["id"] in iam["principals"]:
        raise AlreadyExists(f"principal id {args['id']} already exists")
    owner = args.get("project", "") if kind == "service-account" else ""
    if kind == "service-account" and project(state, owner) is None:
        raise NotFound(f"project {owner!r} not found")
    record = {"id": args["id"], "name": name, "kind": kind, "project": owner,
              "description": args.get("description", ""), "created_ms": ctx["ts"]}
    _touch(record, ctx)
    iam["principals"][record["id"]] = record
    iam["principal_names"][name] = record["id"]
    return {"principal": _out(record)}


def delete_principal(state, args: dict, ctx: dict) -> dict:
    iam = state.iam
    record = principal(state, args["name"])
    if record is None:
        raise NotFound(f"principal {args['name']!r} not found")
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


def create_token(state, args: dict, ctx: dict) -> dict:
    """A token for `principal_id`; refused while the principal holds `max_live_tokens`
    (the proposer's `max_tokens_per_principal`; absent: no cap) live ones."""
    iam = state.iam
    owner = iam["principals"].get(args["principal_id"])
    if owner is None:
        raise NotFound(f"principal {args['principal_id']} not found")
    if args["id"] in iam["tokens"]:
        raise AlreadyExists(f"token id {args['id']} already exists")
    if not isinstance(args["hash"], str) or len(args["hash"]) != 64:
        raise InvalidArgument("hash", "must be a SHA-256 hex digest")
    scope_project, scope_role = args.get("scope_project", ""), args.get("scope_role", "")
    if bool(scope_project) != bool(scope_role):
        raise InvalidArgument("scope_role", "a scoped token names both a project and a role")
    if scope_project and project(state, scope_project) is None:
        raise NotFound(f"project {scope_project!r} not found")
    if scope_role and role(state, scope_role) is None:
        raise NotFound(f"role {scope_role!r} not found")
    cap = int(args.get("max_live_tokens", 0))
    if cap > 0:
        live = sum(1 for t in iam["tokens"].values()
                   if t["principal_id"] == owner["id"] and _live(t, ctx["ts"]))
        if live >= cap:
            raise ResourceExhausted(f"principal {owner['name']!r} already holds {live} live tokens "
                                    f"(at most {cap}); revoke some first")
    _prune_dead_tokens(state, owner["id"], ctx["ts"])
    record = {"id": args["id"], "principal_id": owner["id"], "hash": args["hash"],
              "description": args.get("description", ""), "created_ms": ctx["ts"],
              "expires_ms": int(args.get("expires_ms", 0)), "revoked": False,
              "scope_project": scope_project, "scope_role": scope_role}
    iam["tokens"][record["id"]] = record
    return {"token": _out(record)}


def revoke_token(state, args: dict, ctx: dict) -> dict:
    record = state.iam["tokens"].get(args["id"])
    if record is None:
        raise NotFound(f"token {args['id']} not found")
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


def create_role(state, args: dict, ctx: dict) -> dict:
    name = args["name"]
    if role(state, name) is not None:
        raise AlreadyExists(f"role {name!r} already exists")
    permissions = sorted(set(args["permissions"]))
    if not permissions or not all(isinstance(p, str) and p for p in permissions):
        raise InvalidArgument("permissions", "name at least one permission")
    record = {"name": name, "permissions": permissions, "description": args.get("description", ""),
              "created_ms": ctx["ts"]}
    _touch(record, ctx)
    state.iam["roles"][name] = record
    return {"role": _out(record)}


def delete_role(state, args: dict, ctx: dict) -> dict:
    name = args["name"]
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


def create_binding(state, args: dict, ctx: dict) -> dict:
    owner = principal(state, args["principal"])
    if owner is None:
        raise NotFound(f"principal {args['principal']!r} not found")
    role_name, project_name = args["role"], args.get("project", "")
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


def delete_binding(state, args: dict, ctx: dict) -> dict:
    owner = principal(state, args["principal"])
    key = binding_key(owner["id"] if owner else "", args["role"], args.get("project", ""))
    if key not in state.iam["bindings"]:
        raise NotFound("no such role binding")
    del state.iam["bindings"][key]
    return {"deleted": True}


def bindings_of(state, principal_id: str) -> list[tuple[str, str]]:
    return sorted((b["role"], b["project"]) for b in state.iam["bindings"].values()
                  if b["principal_id"] == principal_id)


# -- the first admin --------------------------------------------------------------

def bootstrap(state, args: dict, ctx: dict) -> dict:
    """The first admin: a user, a cluster-wide admin binding and a token, once."""
    iam = state.iam
    if iam["bootstrapped"]:
        raise FailedPrecondition("the cluster is already initialized; "
                                 "ask an admin for a token (`cloud token create`)")
    user, token_args = args["principal"], dict(args["token"])
    if token_args["id"] in iam["tokens"]:
        raise AlreadyExists(f"token id {token_args['id']} already exists")
    if not isinstance(token_args["hash"], str) or len(token_args["hash"]) != 64:
        raise InvalidArgument("hash", "must be a SHA-256 hex digest")
    existing = principal(state, user["name"])
    if existing is None:
        existing = create_principal(state, {**user, "kind": "user"}, ctx)["principal"]
    token_args["principal_id"] = existing["id"]
    key = binding_key(existing["id"], "admin", "")
    if key not in iam["bindings"]:
        iam["bindings"][key] = {"principal_id": existing["id"], "role": "admin", "project": "",
                                "created_ms": ctx["ts"]}
    token = create_token(state, token_args, ctx)["token"]
    iam["bootstrapped"] = True
    return {"principal": _out(iam["principals"][existing["id"]]), "token": token}


# -- quotas -------------------------------------------------------------------------

def set_quota(state, args: dict, ctx: dict) -> dict:
    name = args["project"]
    if project(state, name) is None:
        raise NotFound(f"project {name!r} not found")
    limits = {}
    for resource, limit in args["limits"].items():
        if resource not in quota.RESOURCES:
            raise InvalidArgument("limits", f"unknown quota {resource!r} "
                                            f"(known: {', '.join(quota.RESOURCES)})")
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < -1:
            raise InvalidArgument("limits", f"{resource}: a limit is -1 (unlimited) or a count")
        limits[resource] = limit
    current = state.iam["quotas"].setdefault(name, {})
    for resource, limit in limits.items():
        if limit == -1 and resource not in quota.DEFAULT_LIMITS:
            current.pop(resource, None)   # absent is unlimited; where a default applies, -1 is kept
        else:
            current[resource] = limit
    return {"quota": quota.report(state, name)}


COMMANDS = {
    "project.create": create_project,
    "project.delete": delete_project,
    "principal.create": create_principal,
    "principal.delete": delete_principal,
    "token.create": create_token,
    "token.revoke": revoke_token,
    "role.create": create_role,
    "role.delete": delete_role,
    "binding.create": create_binding,
    "binding.delete": delete_binding,
    "iam.bootstrap": bootstrap,
    "quota.set": set_quota,
}
