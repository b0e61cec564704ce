"""Proposing commands: the one place the API turns store failures into statuses.

Every command carries a request id; the store deduplicates on it, so a retry
after an "outcome unknown" failure is safe and returns the first outcome.
"""
from __future__ import annotations

import time

from common import errors
from common.ids import new_request_id
from scheduler.store.base import OutcomeUnknown, StoreError
from scheduler.store.base import Unavailable as StoreUnavailable


def now_ms() -> int:
    return int(time.time() * 1000)


def retry_rid(request_id: str, *scope: object) -> str | None:
    """The rid of a command that a caller may retry under its `request_id` (None without
    one: a fresh rid). A request id is the caller's choice, not unique in the cluster,
    while a rid seen before is answered with its first outcome whoever sends it: the rid
    is scoped by what the request names (command, project, name, attempt), so another
    project's request under the same id is a command of its own and never reads this
    one's result. Scope parts never contain ':' (names are checked), which keeps rids
    of different scopes apart."""
    if not request_id:
        return None
    return ":".join([*map(str, scope), request_id])


class Proposer:
    def __init__(self, store, timeout: float = 8.0):
        self.store = store
        self.timeout = timeout

    def propose(self, op: str, args: dict, rid: str | None = None) -> dict:
        """The command's result; raises the CloudError it encodes, or UNAVAILABLE."""
        return errors.raise_for_result(self.propose_raw(op, args, rid))

    def propose_raw(self, op: str, args: dict, rid: str | None = None) -> dict:
        try:
            return self.store.propose_one(op, args, rid=rid or new_request_id(), ts=now_ms(),
                                          timeout=self.timeout)
        except StoreUnavailable as err:
            raise errors.Unavailable(f"no Raft leader reachable, try again: {err}") from err
        except OutcomeUnknown as err:
            raise errors.Unavailable(
                f"outcome unknown (leader changed); retrying with the same request id is safe: {err}"
            ) from err
        except StoreError as err:
            raise errors.Unavailable(f"state store: {err}") from err

    def propose_many(self, commands: list[tuple[str, dict]]) -> list[dict]:
        """Several commands in one batch (one Raft entry); results in order, errors not raised."""
        if not commands:
            return []
        ts = now_ms()
        batch = [{"rid": new_request_id(), "op": op, "args": args, "ts": ts} for op, args in commands]
        try:
            return self.store.propose(batch, timeout=self.timeout)
        except StoreError as err:
            raise errors.Unavailable(f"state store: {err}") from err
