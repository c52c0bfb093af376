"""The safety monitor and the unsafe "bug switches": for each switch, a
schedule where it leads to a detected violation, and the same schedule with
the switch off stays clean. (The Figure 8 schedule for
unsafe_commit_by_counting is in test_paper_figures.py.)"""
import pytest

from raftviz.sim import Cluster

from helpers import run_until


def election_restriction_schedule(unsafe: bool) -> Cluster:
    """S1 commits an entry with S2 while S3 is cut off; S1 crashes; S3, whose
    log is empty, asks S2 for its vote."""
    c = Cluster(3, seed=4, election_timeout=(5000, 9000), unsafe_vote_without_log_check=unsafe)
    c.cut(1, 3)
    c.cut(2, 3)
    c.timeout(1)
    run_until(c, lambda c: c.leader() == 1)
    c.submit("SET x 1")
    run_until(c, lambda c: c.nodes[2].commit_index == 1)
    c.crash(1)
    c.heal()
    for _ in range(2):          # term 1 is lost to S2's vote for S1; term 2 is the real test
        c.timeout(3)
        run_until(c, lambda c: not c.snapshot()["messages"])
    return c


def test_skipping_the_up_to_date_check_elects_a_leader_missing_a_committed_entry():
    c = election_restriction_schedule(unsafe=True)
    assert c.leader() == 3
    (v,) = [v for v in c.violations if v["property"] == "Leader Completeness"]
    assert v["nodes"] == [1, 3] and "S3 became leader of term 2 without index 1" in v["text"]
    assert c.trace[v["seq"] - 1]["kind"] == "deliver", "seq points at the event where it broke"


def test_with_the_up_to_date_check_the_stale_server_cannot_win():
    c = election_restriction_schedule(unsafe=False)
    assert c.leader() is None and c.violations == []
    assert any("S2 refuses S3's vote: S2's log is more up-to-date" in r["text"] for r in c.trace)


def vote_persistence_schedule(unsafe: bool) -> Cluster:
    """S2 votes for S1 in term 1, crashes and restarts; then S3 asks it for a
    vote in the same term."""
    c = Cluster(3, seed=1, election_timeout=(5000, 9000), unsafe_forget_vote=unsafe)
    c.cut(1, 3)
    c.timeout(1)
    run_until(c, lambda c: c.leader() == 1)
    c.crash(2)
    c.restart(2)
    c.timeout(3)
    run_until(c, lambda c: not [m for m in c.snapshot()["messages"] if m["type"].startswith("RequestVote")])
    return c


def test_forgetting_voted_for_in_a_crash_allows_two_leaders_in_one_term():
    c = vote_persistence_schedule(unsafe=True)
    assert c.nodes[1].role == c.nodes[3].role == "leader" and c.nodes[1].term == c.nodes[3].term == 1
    (v,) = [v for v in c.violations if v["property"] == "Election Safety"]
    assert v["nodes"] == [1, 3] and "both leaders of term 1" in v["text"]


def test_with_voted_for_persistent_the_second_candidate_is_refused():
    c = vote_persistence_schedule(unsafe=False)
    assert c.nodes[3].role == "candidate" and c.violations == []
    assert any("S2 refuses S3's vote: S2 already voted for S1 in term 1" in r["text"] for r in c.trace)


def test_a_state_that_breaks_log_matching_is_refused_before_the_monitor_sees_it():
    with pytest.raises(ValueError, match="S1 and S2 both hold an entry of term 3 at index 2.*Log Matching"):
        Cluster.from_state({"nodes": [
            {"id": 1, "term": 3, "log": [1, {"term": 3, "command": "SET a 1"}]},
            {"id": 2, "term": 3, "log": [2, {"term": 3, "command": "SET a 1"}]},
        ]})


@pytest.mark.parametrize("switch", ["unsafe_commit_by_counting", "unsafe_vote_without_log_check",
                                    "unsafe_forget_vote"])
def test_switches_are_off_by_default_and_can_be_turned_on_while_running(switch):
    c = Cluster(3)
    assert c.options[switch] is False
    c.set_options(**{switch: True})
    assert c.options[switch] is True and all(getattr(n.options, switch) for n in c.nodes.values())
    assert "UNSAFE" in c.trace[-1]["text"]
