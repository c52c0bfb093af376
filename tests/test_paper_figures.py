"""The Raft paper's Figures 7 and 8, played on a whole simulated cluster."""
import pytest

from raftviz.sim import Cluster

from helpers import deliveries, drop_appends_of, run_until, terms

LEADER_LOG = [1, 1, 1, 4, 4, 5, 5, 6, 6, 6]
FIGURE_7 = {   # follower log, rejections before the first success with decrement-by-one
    "a": ([1, 1, 1, 4, 4, 5, 5, 6, 6], 1),
    "b": ([1, 1, 1, 4], 6),
    "c": ([1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6], 0),
    "d": ([1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7], 0),
    "e": ([1, 1, 1, 4, 4, 4, 4], 5),
    "f": ([1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3], 7),
}


def figure_7_cluster(follower_log, **options):
    # S3, down, is the vote that elected S1 with its own (a majority of 3); S2 is the figure's follower.
    state = {"nodes": [
        {"id": 1, "term": 8, "log": LEADER_LOG, "role": "leader"},
        {"id": 2, "term": max(follower_log), "log": follower_log},
        {"id": 3, "term": 8, "voted_for": 1, "log": LEADER_LOG[:3], "up": False},
    ]}
    return Cluster.from_state(state, entries_per_append=1, election_timeout=(1000, 2000), **options)


def rejections_before_first_success(c):
    replies = deliveries(c, "AppendEntriesReply", src=2)
    first_ok = next(k for k, r in enumerate(replies) if r["message"]["success"])
    assert all(r["message"]["success"] for r in replies[first_ok:]), "no rejection after the match point"
    return first_ok


@pytest.mark.parametrize("case", sorted(FIGURE_7))
def test_figure_7_each_follower_is_repaired_with_the_papers_number_of_rejections(case):
    log, expected = FIGURE_7[case]
    c = figure_7_cluster(log)
    c.run_for(1500)
    assert rejections_before_first_success(c) == expected
    if case in "cd":
        # Extra entries are replaced only when the leader sends its own index 11;
        # until then they stay (no empty AppendEntries deletes them).
        assert terms(c, 2) == log
        c.submit("SET x 8")
        c.run_for(500)
    assert terms(c, 2) == terms(c, 1) == LEADER_LOG + ([8] if case in "cd" else [])
    assert c.violations == []


def test_figure_7_every_probe_is_one_step_and_there_is_one_in_flight_at_a_time():
    c = figure_7_cluster(FIGURE_7["f"][0])
    c.run_for(1500)
    sent = [m for r in c.trace for m in r.get("sent", []) if m["type"] == "AppendEntries" and m["dst"] == 2]
    probes = [m["prev_log_index"] for m in sent][:8]
    assert probes == [10, 9, 8, 7, 6, 5, 4, 3]


def test_figure_7_fast_backup_repairs_f_in_two_rejections():
    c = figure_7_cluster(FIGURE_7["f"][0], fast_backup=True)
    c.run_for(1500)
    assert rejections_before_first_success(c) == 2
    assert terms(c, 2) == LEADER_LOG


# ----- Figure 8 --------------------------------------------------------------------

def figure_8(unsafe: bool, variant: str = "d") -> Cluster:
    """The sequence of the paper's Figure 8, (a) to (d) or (e). Timers are
    long and elections are started by hand, so the schedule is exactly the
    figure's."""
    state = {"nodes": [{"id": i, "term": 2, "log": [{"term": 1, "command": "SET x 0"}], "commit_index": 1,
                        "role": "leader" if i == 1 else "follower", "voted_for": 1} for i in range(1, 6)]}
    c = Cluster.from_state(state, seed=8, election_timeout=(5000, 9000), entries_per_append=1,
                           unsafe_commit_by_counting=unsafe)
    leader_is = lambda i: (lambda c: c.leader() == i)

    # (a) S1 leads term 2 and replicates index 2 only to S2.
    for peer in (3, 4, 5):
        c.cut(1, peer)
    c.submit("SET x 2")
    run_until(c, lambda c: terms(c, 2) == [1, 2])
    # (b) S1 crashes; S5 wins term 3 with S3 and S4 (S2 refuses: (2,2) beats (1,1)),
    # appends index 2 of term 3 and crashes before sending it.
    c.crash(1)
    c.heal()
    c.timeout(5)
    run_until(c, leader_is(5))
    c.submit("SET x 3")
    c.crash(5)
    # (c) S1 restarts and wins term 4 (after failing in term 3, where S3 and S4 had voted),
    # takes a command, repairs S3 to [1, 2]; index 3 must not spread yet.
    c.restart(1)
    c.timeout(1)
    quiet = lambda c: not c.snapshot()["messages"]
    run_until(c, quiet)
    assert c.nodes[1].term == 3 and c.leader() is None, "S3 and S4 had voted in term 3: S1 cannot win it"
    c.timeout(1)
    run_until(c, leader_is(1))
    c.submit("SET x 4")
    if variant == "e":
        # (e) S1 replicates index 3 (term 4) to S2 and S3 before it crashes.
        run_until(c, lambda c: terms(c, 2) == terms(c, 3) == [1, 2, 4])
        run_until(c, lambda c: c.nodes[1].commit_index == 3)
    else:
        run_until(c, lambda c: terms(c, 3) == [1, 2] and c.nodes[1].match_index[2] == 2
                  and c.nodes[1].match_index[3] == 2, on_step=lambda c: drop_appends_of(c, 1, 3))
        drop_appends_of(c, 1, 3)
    # (d) S1 crashes; S5 restarts; refused in term 4, it wins term 5 with S2, S3, S4.
    c.crash(1)
    c.restart(5)
    c.timeout(5)
    run_until(c, quiet)
    assert c.nodes[5].term == 4 and c.leader() is None
    if variant == "e":
        return c
    c.timeout(5)
    run_until(c, leader_is(5))
    c.submit("SET x 5")
    run_until(c, lambda c: all(terms(c, i) == [1, 3, 5] for i in (2, 3, 4)) and c.nodes[5].commit_index == 3)
    c.run_for(200)
    return c


def test_figure_8_an_earlier_term_entry_on_a_majority_is_not_committed_by_counting():
    c = figure_8(unsafe=False)
    records = c.trace
    # (c): index 2 of term 2 stood on S1, S2, S3, yet S1 never committed it.
    note = [r for r in records if "does not commit it by counting" in r["text"]]
    assert note and "Index 2 is stored on a majority (S1, S2, S3)" in note[0]["text"]
    assert not any(r["node"] == 1 and "S1 commits index 2" in r["text"] for r in records)
    # (d): S5 won term 5 and overwrote index 2 everywhere; nothing committed was lost.
    assert all(terms(c, i) == [1, 3, 5] for i in (2, 3, 4, 5))
    assert c.violations == []


def test_figure_8_s5_is_refused_in_term_4_and_s2_refuses_it_in_term_3():
    c = figure_8(unsafe=False)
    texts = [r["text"] for r in c.trace]
    assert any("S2 refuses S5's vote: S2's log is more up-to-date (last term 2 > 1)" in t for t in texts)
    assert any("refuses S5's vote: S3 already voted for S1 in term 4" in t for t in texts)


def test_figure_8_unsafe_counting_commits_index_2_and_the_monitor_catches_it():
    c = figure_8(unsafe=True)
    assert any("S1 commits index 2 by counting replicas" in r["text"] for r in c.trace)
    props = [v["property"] for v in c.violations]
    assert "Leader Completeness" in props, "S5 led term 5 without the entry S1 had committed"
    assert "State Machine Safety" in props, "S1 applied term 2's command at index 2, the others term 3's"
    sms = next(v for v in c.violations if v["property"] == "State Machine Safety")
    assert 1 in sms["nodes"] and "index 2" in sms["text"]


def test_figure_8_e_committing_a_current_term_entry_commits_index_2_and_s5_cannot_win():
    c = figure_8(unsafe=False, variant="e")
    for _ in range(3):
        c.timeout(5)
        run_until(c, lambda c: not c.snapshot()["messages"])
        assert c.leader() is None
    granted = deliveries(c, "RequestVoteReply", dst=5, success=True)
    assert {r["message"]["src"] for r in granted if r["message"]["term"] >= 5} <= {4}
    assert c.violations == []
