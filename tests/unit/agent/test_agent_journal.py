from __future__ import annotations

import pytest

from agent.fencing import TermFence
from agent.journal import Journal, JournalBusy
from common.errors import FailedPrecondition


@pytest.fixture
def journal(tmp_path):
    journal = Journal(tmp_path / "data")
    yield journal
    journal.close()


def test_instances_are_recorded_updated_and_forgotten(journal):
    journal.record_instance("i-1", "web", "default", "c1", "h1", "running")
    record = journal.instance("i-1")
    assert (record.runtime_id, record.spec_hash, record.desired_state) == ("c1", "h1", "running")
    created = record.created_at_ms
    journal.record_instance("i-1", "web", "default", "c2", "h2", "stopped")
    record = journal.instance("i-1")
    assert (record.runtime_id, record.desired_state, record.created_at_ms) == ("c2", "stopped", created)
    journal.update_runtime_id("i-1", "c3")
    assert journal.instance("i-1").runtime_id == "c3"
    journal.record_instance("i-0", "db", "default", "", "h", "running", last_error="image x not found on host")
    assert [r.instance_id for r in journal.instances()] == ["i-0", "i-1"]
    assert journal.instance("i-0").last_error == "image x not found on host"
    assert journal.forget_instance("i-1") and not journal.forget_instance("i-1")
    assert journal.instance("i-1") is None


def test_everything_survives_a_restart(tmp_path):
    journal = Journal(tmp_path)
    journal.set_host_id("h-abc")
    journal.raise_term(5, "s1")
    journal.record_instance("i-1", "web", "default", "c1", "h1", "running")
    journal.close()
    again = Journal(tmp_path)
    assert again.host_id() == "h-abc"
    assert again.highest_term() == 5
    assert again.instance("i-1").runtime_id == "c1"
    again.close()


def test_one_agent_per_data_dir(tmp_path):
    first = Journal(tmp_path)
    with pytest.raises(JournalBusy, match="another agent"):
        Journal(tmp_path)
    first.close()
    Journal(tmp_path).close()


def test_terms_only_go_up(journal):
    assert journal.highest_term() == 0
    assert journal.raise_term(3) == 3
    assert journal.raise_term(2) == 3
    assert journal.highest_term() == 3


def test_fence_admits_equal_or_higher_terms_and_refuses_lower_ones(tmp_path):
    journal = Journal(tmp_path)
    fence = TermFence(journal)
    fence.admit(0)  # nothing seen yet: an unfenced call is fine
    fence.admit(4, "s1")
    fence.admit(4, "s1")
    with pytest.raises(FailedPrecondition, match=r"^stale term 3 < 4$"):
        fence.admit(3, "s2")
    with pytest.raises(FailedPrecondition, match=r"^stale term 0 < 4$"):
        fence.admit(0)
    fence.admit(9, "s3")
    assert fence.highest == 9
    journal.close()
    journal = Journal(tmp_path)
    # The newer term was written before the call was admitted: a restart keeps refusing.
    with pytest.raises(FailedPrecondition, match="stale term 4 < 9"):
        TermFence(journal).admit(4)
    journal.close()
