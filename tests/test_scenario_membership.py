"""The membership presets (issue 12) show what their captions say, looked at
in the trace itself rather than through their own `expect` claims."""
import pytest

from raftviz.raft.config import Config
from raftviz.scenarios import load
from helpers import only_bundled, run_to, step_records  # noqa: F401  (only_bundled: an autouse fixture)


def test_conflicting_majorities_two_winners_with_disjoint_majorities_of_different_configurations():
    sc = load("conflicting-majorities")
    c = run_to(sc, 3)
    s1, s5 = c.nodes[1], c.nodes[5]
    assert s1.term == s5.term == 2 and s1.role == s5.role == "leader"
    assert s1.configuration.voters == (1, 2, 3) and s5.configuration.voters == (1, 2, 3, 4, 5)
    assert s1.configuration.quorum(s1.votes) and s5.configuration.quorum(s5.votes)
    assert not set(s1.votes) & set(s5.votes), "no server voted for both"
    c = run_to(sc, 6)                             # joint consensus: S5 has the same voters but needs C_old too
    s5 = c.nodes[5]
    assert s5.configuration.joint and sorted(s5.votes) == [3, 4, 5] and not s5.configuration.quorum(s5.votes)
    assert Config.of((1, 2, 3, 4, 5)).quorum(s5.votes), "the votes are a majority of C_new alone"


def test_removed_server_prevote_is_granted_by_servers_whose_logs_lack_c_new_and_who_lost_their_leader():
    """Thesis 4.2.3 and 9.6, shown and not only claimed: when S2 and S3 say
    they would vote for S1, C_new has not reached them, their logs are no
    more up-to-date than S1's, and they have not heard from S4 within the
    minimum election timeout."""
    sc = load("removed-server-disruption")
    c = run_to(sc, 8)
    granted = [r for r in step_records(sc) if r["kind"] == "deliver" and "pre_grant" in r["notes"]]
    assert sorted(r["node"] for r in granted) == [2, 3]
    end = c.seq
    for r in granted:
        c.seek(r["seq"])
        voter, removed = c.nodes[r["node"]], c.nodes[1]
        assert all(e.config is None or 1 in e.config.voters for e in voter.log), "C_new is not in its log"
        assert (voter.last_log_term, len(voter.log)) <= (removed.last_log_term, len(removed.log))
        assert r["time"] * 1000 - voter.heard_leader_at >= voter.lease, "it has not heard S4 lately"
    c.seek(end)
    assert c.leader() == 1 and c.nodes[4].role == "follower"


def test_removed_server_deposes_again_and_again_without_ever_winning():
    sc = load("removed-server-disruption")
    c = run_to(sc, 5)
    deposed = [r for r in c.records(1, c.seq) if r["kind"] == "deliver" and r["message"]["src"] == 1
               and "term" in r["notes"] and "stops being leader" in r["text"]]
    assert len(deposed) == 3
    assert 1 not in c.leaders().values()


def test_leader_not_in_new_config_commits_c_new_without_counting_itself():
    sc = load("leader-not-in-new-config")
    run_to(sc, 3)
    commits = [r for r in step_records(sc) if r["node"] == 1 and "commit" in r["notes"]]
    assert len(commits) == 1 and "S1 is not a voter, so it does not count itself" in commits[0]["text"]
    assert "step_down_removed" in commits[0]["notes"]


def test_catch_up_learner_commits_during_catch_up_and_the_voter_at_once_stalls():
    sc = load("catch-up-learner")
    c = run_to(sc, 2)
    assert c.nodes[1].commit_index == 10 and len(c.nodes[4].log) < 10
    c = run_to(sc, 5)                            # the branch where S4 votes from the start
    commit = next(r for r in step_records(sc) if r["node"] == 1 and "commit" in r["notes"])
    c.seek(commit["seq"])
    assert len(c.nodes[4].log) == 9, "S1 commits only once S4 holds the whole log"


def test_check_quorum_steps_down_within_two_election_timeouts_of_the_split():
    sc = load("check-quorum")
    c = run_to(sc, 4)
    split = next(r for r in step_records(sc) if r["kind"] == "action")["time"]
    lost = next(r for r in step_records(sc) if "quorum_lost" in r["notes"])
    assert 0 < lost["time"] - split <= 2 * c.config["election_timeout"][0]
    assert c.nodes[1].role == "follower" and c.nodes[1].term == 2, "no message told it: its term did not change"
