"""The control loop on the leader: make every host run what the state says.

Level-triggered: each pass compares the desired state (Raft) with what each
agent reports, and does what is missing. A lost call, a restarted agent or a
new leader simply makes the next pass do the work again. Every call carries the
leader's Raft term as a fencing token. Hosts are reconciled in parallel, one
pass per host at a time, each call with a deadline, so one slow host does not
stall the others.
"""
from __future__ import annotations

import logging
import threading
import time
from concurrent import futures

import grpc

from common import requestid
from common.errors import CloudError
from proto.v1 import agent_pb2
from scheduler.agent_spec import ensure_request
from scheduler.leader.leader_loop import LeaderLoop
from scheduler.observed import differs, observed_args, state_from_pb, state_to_pb
from scheduler.leader import host_health, liveness
from scheduler.leader.host_health import HostHealth
from scheduler.proposer import now_ms
from scheduler.leader.drain import Drainer, orphans
from scheduler.leader.reconcile_pacing import ReconcilePacer
from scheduler.leader.rescheduler import Rescheduler
from scheduler.state import records as r

log = logging.getLogger(__name__)


MAX_BACKOFF = 30.0
ENSURES_PER_HOST = 4


def needs_ensure(instance: dict, observed) -> bool:
    """Whether the agent must be asked to converge this instance now."""
    if instance["desired_generation"] > instance["ensured_generation"]:
        return True
    if instance["state"] in (r.DELETING, r.LOST):
        return False
    policy = instance["spec"].get("restart_policy", "never")
    if instance["desired_state"] == r.DESIRED_STOPPED:
        return observed is not None and observed.state == state_to_pb(r.RUNNING)
    if observed is None:
        return policy != "never"
    state = state_from_pb(observed.state)
    if state in (r.STOPPED, r.FAILED):
        return policy == "always" or (policy == "on-failure" and (state == r.FAILED or observed.exit_code != 0))
    return False


class Reconciler(LeaderLoop):
    def __init__(self, store, proposer, agents, config):
        super().__init__(store, config, "reconciler", workers=16)
        self.proposer = proposer
        self.agents = agents
        self._busy: set[str] = set()
        self._busy_lock = threading.Lock()
        self._backoff: dict[str, tuple[float, float]] = {}   # instance id -> (delay, not before)
        self.rescheduler = Rescheduler(store, proposer, config)
        self.pacer = ReconcilePacer(store, config)      # which hosts a pass visits (large fleets)
        self.drainer = Drainer(store, proposer, config)
        self.health = HostHealth()          # per-host backoff and the unhealthy mark

    def start(self) -> None:
        self.pacer.start()
        self.health.watch(self.store)
        super().start()

    def stop(self) -> None:
        super().stop()
        self.pacer.stop()
        self.health.stop()

    def reconcile(self, term: int) -> None:
        with self.store.read_lock:
            if not self.pacer.pass_due(len(self.store.read().hosts)):
                return
            hosts = [dict(h) for h in self.store.read().hosts.values()]
        self._mark_silent_hosts_down(hosts)
        self.rescheduler.run()
        self.drainer.run()
        self.health.forget({h["id"] for h in hosts})
        for host, full in self.pacer.due_visits(hosts):
            if host["state"] != r.HOST_UP:
                continue
            if not self.health.due(host["id"]):
                self.pacer.revisit(host["id"], full)       # backing off this host alone
                continue
            with self._busy_lock:
                if host["id"] in self._busy:
                    self.pacer.revisit(host["id"], full)
                    continue
                self._busy.add(host["id"])
            self._pool.submit(self._reconcile_host_guarded, host, term, full)

    def _mark_silent_hosts_down(self, hosts: list[dict]) -> None:
        ttl_ms = liveness.down_after_ms(self.config, len(hosts))   # stretches with the fleet
        silent = [h for h in hosts if h["state"] == r.HOST_UP and now_ms() - h["last_heartbeat_ms"] > ttl_ms]
        for host in silent:
            log.warning("host %s missed heartbeats for %.1fs: marking it down", host["name"],
                        (now_ms() - host["last_heartbeat_ms"]) / 1000)
            self.proposer.propose("host.mark_down", {"id": host["id"], "ttl_ms": ttl_ms})

    def _reconcile_host_guarded(self, host: dict, term: int, full: bool = True) -> None:
        try:
            if full:
                self.reconcile_host(host, term)
            else:
                self.ensure_new(host, term)
            self._healthy(host)
        except grpc.RpcError as err:
            log.info("host %s: %s %s", host["name"], err.code().name, err.details())
            if host_health.transport_failure(err):
                self._unhealthy(host, err, full)
        except CloudError as err:
            log.info("host %s: %s", host["name"], err)
        except Exception:  # noqa: BLE001
            log.exception("reconciling host %s failed", host["name"])
        finally:
            with self._busy_lock:
                self._busy.discard(host["id"])

    def _healthy(self, host: dict) -> None:
        self.health.succeeded(host["id"])
        if host.get("unhealthy"):
            log.info("host %s answers again: healthy", host["name"])
            self.proposer.propose("host.set_health", {"id": host["id"], "unhealthy": ""})

    def _unhealthy(self, host: dict, err: grpc.RpcError, full: bool) -> None:
        self.pacer.revisit(host["id"], full)      # retried once its backoff is over
        if self.health.failed(host["id"]):
            reason = host_health.reason_of(err)
            if host.get("unhealthy") != reason:
                log.warning("host %s is unhealthy: %s", host["name"], reason)
                self.proposer.propose("host.set_health", {"id": host["id"], "unhealthy": reason})

    def reconcile_host(self, host: dict, term: int) -> None:
        stub = self.agents.stub(host)
        fence = agent_pb2.Fence(term=term, leader=self.config.name)
        timeout = self.config.agent_call_timeout
        observed = {o.instance_id: o for o in stub.ListInstances(
            agent_pb2.ListAgentInstancesRequest(host_id=host["id"]), timeout=timeout).instances}
        with self.store.read_lock:
            desired = {i["id"]: dict(i) for i in self.store.read().instances_on(host["id"])}
        updates: list[tuple[str, dict]] = []
        ensures = []
        for instance in desired.values():
            seen = observed.get(instance["id"])
            if instance["state"] == r.DELETING:
                stub.RemoveInstance(agent_pb2.RemoveInstanceRequest(fence=fence, instance_id=instance["id"],
                                                                    host_id=host["id"]), timeout=timeout)
                updates.append(("instance.purge", {"id": instance["id"]}))
            elif needs_ensure(instance, seen) and self._due(instance["id"]):
                ensures.append(instance)
            elif seen is None and instance["state"] in (r.RUNNING,):
                updates.append(("instance.observe", {
                    "id": instance["id"], "host_id": host["id"], "state": r.FAILED,
                    "reason": "vanished from its host"}))
            elif seen is not None and differs(instance, observed_args(host["id"], seen)):
                updates.append(("instance.observe", observed_args(host["id"], seen)))
        for instance_id in orphans(observed, desired):
            # Deleted meanwhile, or moved away (drain, host loss) while this host was down.
            log.info("host %s runs %s which is no longer its own: removing", host["name"], instance_id)
            stub.RemoveInstance(agent_pb2.RemoveInstanceRequest(fence=fence, instance_id=instance_id,
                                                                host_id=host["id"]), timeout=timeout)
        if updates:
            self.proposer.propose_many(updates)
        if ensures:
            # A few at a time: the engine overlaps container starts; each result is
            # written as soon as it is known, so progress shows while the rest start.
            with futures.ThreadPoolExecutor(max_workers=ENSURES_PER_HOST) as pool:
                done = pool.map(lambda i: self._ensure_and_record(stub, fence, host, i, timeout), ensures)
                list(done)

    def ensure_new(self, host: dict, term: int) -> None:
        """A quick visit (scheduler/leader/reconcile_pacing.py): ensure the host's instances at a
        new generation, without listing what the agent runs first; the next full
        visit compares everything."""
        with self.store.read_lock:
            fresh = [dict(i) for i in self.store.read().instances_on(host["id"])
                     if i["desired_generation"] > i["ensured_generation"] and i["state"] != r.DELETING]
        fresh = [i for i in fresh if self._due(i["id"])]
        if not fresh:
            return
        stub = self.agents.stub(host)
        fence = agent_pb2.Fence(term=term, leader=self.config.name)
        timeout = self.config.agent_call_timeout
        if len(fresh) == 1:     # the common case on a large fleet: no pool threads to start
            self._ensure_and_record(stub, fence, host, fresh[0], timeout)
            return
        with futures.ThreadPoolExecutor(max_workers=ENSURES_PER_HOST) as pool:
            list(pool.map(lambda i: self._ensure_and_record(stub, fence, host, i, timeout), fresh))

    def _ensure_and_record(self, stub, fence, host: dict, instance: dict, timeout: float) -> None:
        result = self._ensure(stub, fence, instance, timeout)
        self.proposer.propose("instance.observe",
                              observed_args(host["id"], result, instance["desired_generation"]))

    def _ensure(self, stub, fence, instance: dict, timeout: float):
        # Under the id of the request that asked for it, so the agent's log names it too.
        with requestid.bound(instance.get("trace_id")):
            log.info("ensuring %s (%s) is %s", instance["name"], instance["id"], instance["desired_state"])
            result = stub.EnsureInstance(
                ensure_request(self.store, self.config.secret_file, instance, fence), timeout=timeout)
        if result.state == state_to_pb(r.FAILED):
            self._delay(instance["id"])
        else:
            self._backoff.pop(instance["id"], None)
        return result

    def _due(self, instance_id: str) -> bool:
        delay, not_before = self._backoff.get(instance_id, (0.0, 0.0))
        return time.monotonic() >= not_before

    def _delay(self, instance_id: str) -> None:
        delay, _ = self._backoff.get(instance_id, (0.5, 0.0))
        delay = min(delay * 2, MAX_BACKOFF)
        self._backoff[instance_id] = (delay, time.monotonic() + delay)
