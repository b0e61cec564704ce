"""What the authorization path costs, old tree vs this one, side by side in one run.

    .venv/bin/python bench/security_auth_path.py [--base REF] [--calls 400] [--rounds 2]

REF (default: the commit before issue 14's changes, `security-base` in
bench/results or 5b144ed) is extracted with `git archive` into a temporary
directory; each round starts a throw-away all-in-one cluster from the old tree, then
one from this tree, and measures in each:
- a read through the scheduler's interceptor (`Instances.ListInstances` of an empty
  project) with the admin certificate and with a member's bearer token;
- a read through the agent's interceptor (`Agent.ListInstances`) with a scheduler's
  certificate, as the leader calls it.
Prints JSON: p50/p99 per tree and the new/old ratio of the p50s (target ≤ 1.10).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DEFAULT_BASE = "5b144ed"


def timed(fn, n: int) -> list[float]:
    out = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def measure(calls: int) -> dict:
    """Run inside one tree (this file copied into its bench/): a cluster, three read paths."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _cluster import allinone, client_for, summary_ms

    import grpc

    from cli.client import ClusterClient, RetryPolicy
    from common.grpcserve import secure_channel
    from common.tls import TlsFiles, issue
    from proto.v1 import agent_pb2, agent_pb2_grpc, iam_pb2, public_pb2

    with allinone() as (aio, home):
        admin = client_for(aio, home)
        admin.call("Projects", "CreateProject", iam_pb2.CreateProjectRequest(name="bench"))
        admin.call("Principals", "CreatePrincipal", iam_pb2.CreatePrincipalRequest(name="bencher"))
        admin.call("Roles", "BindRole", iam_pb2.BindRoleRequest(
            binding=iam_pb2.RoleBinding(principal="bencher", role="member", project="bench")))
        token = admin.call("Tokens", "CreateToken", iam_pb2.CreateTokenRequest(principal="bencher")).secret
        issue(home / "ca", home / "tls", "bench-user", "client", ["127.0.0.1"])
        policy = RetryPolicy(call_timeout=5.0, budget=0.0)
        pinned = [aio.endpoints[0]]
        user = ClusterClient(pinned, TlsFiles.in_dir(home / "tls", "bench-user"), token=token,
                             read_policy=policy, write_policy=policy)
        cert = ClusterClient(pinned, TlsFiles.in_dir(home / "tls", "admin"),
                             read_policy=policy, write_policy=policy)
        request = public_pb2.ListInstancesRequest(project="bench")
        scheduler_tls = TlsFiles.in_dir(home / "tls", aio.schedulers[0].name)
        options = _agent_channel_options(aio.agent_name)
        channel = secure_channel(aio.agent.api, scheduler_tls, options=options)
        agent = agent_pb2_grpc.AgentStub(channel)
        agent_request = agent_pb2.ListAgentInstancesRequest()
        for fn in (lambda: cert.call("Instances", "ListInstances", request),
                   lambda: user.call("Instances", "ListInstances", request),
                   lambda: agent.ListInstances(agent_request, timeout=5.0)):
            for _ in range(20):
                fn()        # warm channels and caches
        result = {
            "read_admin_certificate": summary_ms(timed(
                lambda: cert.call("Instances", "ListInstances", request), calls)),
            "read_bearer_token": summary_ms(timed(
                lambda: user.call("Instances", "ListInstances", request), calls)),
            "agent_read_scheduler_certificate": summary_ms(timed(
                lambda: agent.ListInstances(agent_request, timeout=5.0), calls)),
        }
        channel.close()
        del grpc
        return result


def _agent_channel_options(agent_name: str) -> tuple:
    """The leader's channel options to its agent, where this tree has them (role names)."""
    try:
        from common.tls import role_name
    except ImportError:
        return ()
    return (("grpc.ssl_target_name_override", role_name("agent", agent_name)),)


def _run_tree(tree: Path, calls: int) -> dict:
    target = tree / "bench" / Path(__file__).name
    if tree != REPO:
        shutil.copy(__file__, target)
    env = {**os.environ, "PYTHONPATH": str(tree)}
    proc = subprocess.run([sys.executable, str(target), "--measure", "--calls", str(calls)],
                          cwd=tree, env=env, capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        raise RuntimeError(f"measuring {tree} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _merge(rounds: list[dict]) -> dict:
    """Per path, the best (lowest) p50 and p99 over the rounds: the least disturbed run."""
    merged = {}
    for path in rounds[0]:
        merged[path] = {key: min(r[path][key] for r in rounds) for key in ("p50_ms", "p99_ms")}
    return merged


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default=DEFAULT_BASE)
    parser.add_argument("--calls", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.calls)))
        return 0
    sys.path.insert(0, str(HERE))
    from _cluster import write

    old_tree = Path(tempfile.mkdtemp(prefix="thecloud-bench-base-"))
    try:
        archive = subprocess.run(["git", "-C", str(REPO), "archive", args.base], check=True,
                                 capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(old_tree)], input=archive, check=True)
        old, new = [], []
        for _ in range(args.rounds):
            old.append(_run_tree(old_tree, args.calls))
            new.append(_run_tree(REPO, args.calls))
    finally:
        shutil.rmtree(old_tree, ignore_errors=True)
    before, after = _merge(old), _merge(new)
    write("security_auth_path", {
        "base": args.base, "calls_per_path": args.calls, "rounds": args.rounds,
        "old": before, "new": after,
        "p50_ratio_new_over_old": {path: round(after[path]["p50_ms"] / before[path]["p50_ms"], 3)
                                   for path in before},
        "target_ratio": 1.10,
    })
    return 0


if __name__ == "__main__":
    sys.exit(main())
