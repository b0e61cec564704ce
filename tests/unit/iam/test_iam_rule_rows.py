"""Every RPC has its row: each method of each thecloud.v1 service the schedulers serve
is named in the permission table (or its whole service is), and the table names no
method that does not exist. A new RPC without a deliberate rule fails here, before
the matrix (tests/integration/iam/test_iam_matrix.py) runs it against real daemons."""
from __future__ import annotations

import importlib
import pkgutil

import proto.v1
from scheduler.auth.permissions import METHOD_RULES, SERVICE_RULES

# Served by agents, whose own interceptor admits schedulers only.
AGENT_SERVICES = {"thecloud.v1.Agent", "thecloud.v1.AgentMachines", "thecloud.v1.AgentVolumes",
                  "thecloud.v1.AgentNetwork"}


def methods() -> set[str]:
    found = set()
    for module in pkgutil.iter_modules(proto.v1.__path__):
        if module.name.endswith("_pb2"):
            pb2 = importlib.import_module(f"proto.v1.{module.name}")
            for service in pb2.DESCRIPTOR.services_by_name.values():
                found |= {f"/{service.full_name}/{m.name}" for m in service.methods}
    return found


def test_every_scheduler_rpc_has_a_rule_of_its_own():
    missing = [m for m in sorted(methods())
               if m.split("/")[1] not in AGENT_SERVICES and m not in METHOD_RULES
               and not any(m.startswith(prefix) for prefix in SERVICE_RULES)]
    assert not missing, "RPCs without a row in scheduler/auth/permissions.py:\n" + "\n".join(missing)


def test_the_table_names_only_rpcs_that_exist():
    known = methods()
    stale = sorted(set(METHOD_RULES) - known)
    assert not stale, f"rules for RPCs that no proto declares: {stale}"
    services = {m.rsplit("/", 1)[0] + "/" for m in known}
    grpc_services = [p for p in SERVICE_RULES if not p.startswith("/thecloud.")]
    assert not sorted(set(SERVICE_RULES) - services - set(grpc_services))


def test_agent_services_are_all_behind_the_agents_interceptor():
    from agent.authz import OPEN_SERVICES

    served = {m.split("/")[1] for m in methods()}
    assert AGENT_SERVICES <= served
    assert not {s for s in OPEN_SERVICES if s.startswith("thecloud.")}, \
        "an agent service open to any certificate"
