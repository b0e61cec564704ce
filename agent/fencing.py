"""Fencing by Raft term: a deposed leader's calls are refused once a newer leader has spoken."""
from __future__ import annotations

import logging
import threading

from agent.journal import Journal
from common.errors import FailedPrecondition

log = logging.getLogger(__name__)


class TermFence:
    """Admits calls whose term is at least the highest term seen; remembers higher ones durably."""

    def __init__(self, journal: Journal):
        self._journal = journal
        self._lock = threading.Lock()
        self._highest = journal.highest_term()

    @property
    def highest(self) -> int:
        return self._highest

    def admit(self, term: int, leader: str = "") -> None:
        """Raise FailedPrecondition for a stale term; record a newer one before returning."""
        with self._lock:
            if term < self._highest:
                raise FailedPrecondition(f"stale term {term} < {self._highest}")
            if term > self._highest:
                # Durable before acting: after a restart the agent must still refuse
                # the leader this call has deposed.
                self._highest = self._journal.raise_term(term, leader)
                log.info("now obeying term %d (leader %s)", term, leader or "unknown")
