"""Log compaction, the Raft paper's section 7 (Figures 12 and 13): one test
per rule, first against a single sans-IO Node, then on whole clusters
(InstallSnapshot for a follower behind the leader's first entry, seeking,
replay and export across snapshots, the safety monitor), then the edges:
bad input for the snapshot action and option, and initial states with
snapshots. Test names carry the section."""
import pytest

from raftviz.raft import AppendEntries, Entry, FOLLOWER, LEADER, Node, Options
from raftviz.raft.config import Config
from raftviz.raft.messages import InstallSnapshot, InstallSnapshotReply, Snapshot
from raftviz.sim import Cluster

from helpers import run_until

PEERS = (1, 2, 3, 4, 5)
# Figure 12: the log before compaction, indexes 1-7; 1-5 are committed.
FIGURE_12 = [Entry(1, "SET x 3"), Entry(1, "SET y 1"), Entry(1, "SET y 9"), Entry(2, "SET x 2"),
             Entry(3, "SET x 0"), Entry(3, "SET y 7"), Entry(3, "SET x 5")]
ALL = Config.of(PEERS)


def node(i=1, term=3, log=(), role=FOLLOWER, commit_index=0, snapshot=None, **options):
    n = Node(i, PEERS, Options(**options))
    n.load_state(term, i if role != FOLLOWER else None, list(log), role, commit_index, snapshot=snapshot)
    return n


def figure_12_snapshot(config=ALL):
    return Snapshot(5, 3, config, 0, {"x": "0", "y": "9"}, {})


def codes(notes):
    return [n.code for n in notes]


# ----- a server compacts its own log (Figure 12) -------------------------------------------

def test_7_compaction_replaces_the_committed_entries_by_a_snapshot_and_keeps_the_entries_after_it():
    n = node(log=FIGURE_12, commit_index=5)
    _, _, notes = n.take_snapshot()
    assert (n.snapshot_index, n.snapshot_term) == (5, 3)
    assert n.snapshot.store == {"x": "0", "y": "9"}, "the state machine after entries 1-5"
    assert n.log == FIGURE_12[5:], "node.log keeps its meaning: the entries after the snapshot"
    assert [n.entry(i) for i in range(1, 9)] == [None] * 5 + FIGURE_12[5:] + [None]
    assert (n.last_log_index, n.last_log_term) == (7, 3)
    assert [n.term_at(i) for i in (0, 4, 5, 6, 7, 8)] == [0, None, 3, 3, 3, None]
    assert notes == [("snapshot", 5, 3, 1, None)]
    assert n.store == {"x": "0", "y": "9"} and (n.commit_index, n.last_applied) == (5, 5)


def test_7_a_snapshot_holds_only_what_the_server_has_applied():
    n = node(log=FIGURE_12, commit_index=3)
    n.take_snapshot()
    assert (n.snapshot_index, n.snapshot.store) == (3, {"x": "3", "y": "9"})
    _, _, notes = n.take_snapshot()
    assert codes(notes) == ["no_snapshot"] and n.snapshot_index == 3, "nothing new applied: nothing to compact"
    fresh = node(log=FIGURE_12)
    assert codes(fresh.take_snapshot()[2]) == ["no_snapshot"] and fresh.snapshot is None


def test_7_without_a_snapshot_the_indexes_are_the_old_ones():
    n = node(log=FIGURE_12, commit_index=5)
    assert (n.snapshot, n.snapshot_index, n.snapshot_term) == (None, 0, 0)
    assert n.entry(1) == FIGURE_12[0] and n.entry(0) is None and n.term_at(0) == 0


def test_7_a_snapshot_keeps_the_configuration_in_force_at_its_last_index():
    change = Entry(2, None, Config.of((1, 2, 3)))
    later = Entry(3, None, Config.of((1, 2, 3, 4)))
    n = node(log=[Entry(1, "SET a 1"), change, Entry(2, "SET b 2"), later], commit_index=3)
    assert n.config["voters"] == [1, 2, 3, 4], "a server uses the latest configuration in its log"
    n.take_snapshot()
    assert (n.snapshot.config, n.snapshot.config_index) == (Config.of((1, 2, 3)), 2)
    n.log.clear()                                  # (what a truncation of index 4 would leave)
    n._find_config()
    assert n.config["voters"] == [1, 2, 3], "without later entries the snapshot's configuration is in force"


def test_7_a_restarted_server_loads_its_snapshot():
    n = node(log=FIGURE_12, commit_index=6)
    n.take_snapshot()
    n.crash()
    assert (n.commit_index, n.store) == (0, {}), "nothing runs on a crashed server"
    assert n.snapshot_index == 6, "the snapshot stays on its disk"
    notes = n.restart()
    assert notes == [("load_snapshot", 6, 3)]
    assert (n.commit_index, n.last_applied) == (6, 6), "a snapshot holds only committed entries"
    assert n.store == {"x": "0", "y": "7"} and n.log == FIGURE_12[6:]


# ----- the leader: InstallSnapshot instead of AppendEntries (Figure 13) -----------------------

def leader_with_snapshot(**options):
    n = node(term=3, role=LEADER, log=FIGURE_12[5:], commit_index=5, snapshot=figure_12_snapshot(), **options)
    return n


def test_7_a_leader_sends_install_snapshot_when_the_next_entry_a_follower_needs_is_compacted():
    n = leader_with_snapshot()
    n.next_index[4] = 3
    (m,), _, notes = n.heartbeat([4])
    assert isinstance(m, InstallSnapshot) and (m.last_included_index, m.last_included_term) == (5, 3)
    assert m.to_dict()["data"]["store"] == {"x": "0", "y": "9"}
    assert ("send_snapshot", 4, 3, 5, 3) in notes
    n.next_index[4] = 6
    (m,), _, _ = n.heartbeat([4])
    assert isinstance(m, AppendEntries) and (m.prev_log_index, m.prev_log_term) == (5, 3), \
        "the entry right after the snapshot has its previous term from the snapshot"


def test_7_after_install_snapshot_the_leader_continues_with_append_entries():
    n = leader_with_snapshot()
    n.next_index[4] = 1
    n.heartbeat([4])
    msgs, _, notes = n.receive(InstallSnapshotReply(4, 1, 3, 5, 5))
    assert (n.match_index[4], n.next_index[4]) == (5, 6)
    (m,) = msgs
    assert isinstance(m, AppendEntries) and (m.prev_log_index, m.prev_log_term) == (5, 3)
    assert list(m.entries) == FIGURE_12[5:7]
    assert ("match", 4, 5, True) in notes


def test_7_a_stale_install_snapshot_reply_changes_nothing():
    n = leader_with_snapshot()
    n.match_index[4], n.next_index[4] = 6, 7
    msgs, _, notes = n.receive(InstallSnapshotReply(4, 1, 3, 5, 5))
    assert msgs == [] and (n.match_index[4], n.next_index[4]) == (6, 7)
    msgs, _, notes = n.receive(InstallSnapshotReply(4, 1, 2, 5, 5))
    assert codes(notes) == ["stale_reply"]


def test_7_a_higher_term_in_an_install_snapshot_reply_deposes_the_leader():
    n = leader_with_snapshot()
    n.receive(InstallSnapshotReply(4, 1, 7, 5, 0))
    assert (n.role, n.term) == (FOLLOWER, 7)


def test_7_fast_backup_hints_below_the_leaders_snapshot_lead_to_install_snapshot():
    n = leader_with_snapshot(fast_backup=True)
    from raftviz.raft import AppendEntriesReply
    n.next_index[4] = 7
    n.in_flight[4] = 6
    msgs, _, _ = n.receive(AppendEntriesReply(4, 1, 3, False, 6, 0, 1, 2))
    assert n.next_index[4] == 2 and isinstance(msgs[0], InstallSnapshot)


# ----- the follower (Figure 13's receiver) ---------------------------------------------------------

def install(n, term=3, snapshot=None):
    return n.receive(InstallSnapshot(1, n.id, term, snapshot or figure_12_snapshot()))


def test_7_install_snapshot_replaces_a_stale_log():
    n = node(i=4, term=2, log=[Entry(1, "SET x 3"), Entry(1, "SET y 1"), Entry(2, "SET z 1"), Entry(2, "SET z 2")],
             commit_index=2)
    (reply,), reset, notes = install(n)
    assert n.log == [] and (n.snapshot_index, n.snapshot_term) == (5, 3)
    assert n.store == {"x": "0", "y": "9"}, "its state machine is the snapshot's"
    assert (n.commit_index, n.last_applied, n.term, n.leader_id) == (5, 5, 3, 1)
    assert (reply.term, reply.last_included_index, reply.match_index) == (3, 5, 5)
    assert reset, "InstallSnapshot comes from the current leader: the election timer restarts"
    note = notes[-1]
    assert (note.code, note.first, note.last, note.kept, note.applied) == ("install_snapshot", 1, 4, False, 2)
    assert "discards its whole log" in n_text(4, note)


def n_text(i, note):
    from raftviz.raft.notes import describe
    return describe(i, note)


def test_7_install_snapshot_keeps_the_entries_after_it_when_the_log_has_its_last_included_entry():
    n = node(i=4, log=FIGURE_12, commit_index=2)
    (reply,), _, notes = install(n)
    assert n.log == FIGURE_12[5:], "entries 6 and 7 follow a matching entry 5: still valid"
    assert n.store == {"x": "0", "y": "9"} and (n.commit_index, n.last_applied) == (5, 5)
    assert reply.match_index == 5
    text = n_text(4, notes[-1])
    assert "keeps indexes 6–7" in text and "discards indexes 1–5" in text


def test_7_a_snapshot_of_a_prefix_of_an_applied_log_keeps_the_state_machine():
    n = node(i=4, log=FIGURE_12, commit_index=7)
    (reply,), _, notes = install(n)
    assert n.log == FIGURE_12[5:] and n.snapshot_index == 5
    assert n.store == {"x": "5", "y": "7"}, "it had applied beyond the snapshot"
    assert (n.commit_index, reply.match_index) == (7, 7)
    assert "its state machine stays" in n_text(4, notes[-1])


def test_7_install_snapshot_discards_a_log_whose_entry_at_its_index_has_another_term():
    other = FIGURE_12[:4] + [Entry(2, "SET x 9"), Entry(2, "SET x 8")]
    n = node(i=4, term=2, log=other, commit_index=4)
    install(n)
    assert n.log == [] and n.store == {"x": "0", "y": "9"} and n.commit_index == 5


def test_7_install_snapshot_from_an_older_term_is_rejected_with_the_receivers_term():
    n = node(i=4, term=5, log=FIGURE_12[:2], commit_index=1)
    (reply,), reset, notes = install(n, term=3)
    assert (reply.term, reply.match_index) == (5, 0) and not reset
    assert codes(notes) == ["reject_snapshot_term"] and n.snapshot is None and len(n.log) == 2


def test_7_a_snapshot_the_followers_own_covers_changes_nothing():
    n = node(i=4, log=FIGURE_12[6:], commit_index=6, snapshot=Snapshot(6, 3, ALL, 0, {"x": "0", "y": "7"}, {}))
    (reply,), _, notes = install(n)
    assert codes(notes) == ["snapshot_covered"] and n.snapshot_index == 6 and n.log == FIGURE_12[6:]
    assert reply.match_index == 6


def test_7_install_snapshot_loads_the_snapshots_configuration():
    n = node(i=4, log=FIGURE_12[:2], commit_index=1)
    install(n, snapshot=figure_12_snapshot(Config.of((1, 2, 3, 4))))
    assert n.config["voters"] == [1, 2, 3, 4]


def test_7_a_candidate_that_receives_install_snapshot_of_its_term_concedes():
    n = node(i=4, term=3, role="candidate", log=FIGURE_12[:2])
    install(n)
    assert n.role == FOLLOWER and n.leader_id == 1 and n.snapshot_index == 5


# ----- AppendEntries next to a snapshot -------------------------------------------------------------

def follower_with_snapshot():
    return node(i=4, log=FIGURE_12[5:6], commit_index=5, snapshot=figure_12_snapshot())


def test_7_the_consistency_check_at_the_snapshot_uses_its_last_included_term():
    n = follower_with_snapshot()
    (ok,), _, _ = n.receive(AppendEntries(1, 4, 3, 5, 3, (FIGURE_12[5],), 5))
    assert ok.success and ok.match_index == 6
    n = follower_with_snapshot()
    (no,), _, notes = n.receive(AppendEntries(1, 4, 3, 5, 2, (), 5))
    assert not no.success and notes[-1].code == "reject_conflict" and notes[-1].my_term == 3


def test_7_append_entries_below_the_snapshot_checks_only_what_follows_it():
    n = follower_with_snapshot()
    (reply,), _, notes = n.receive(AppendEntries(1, 4, 3, 3, 1, tuple(FIGURE_12[3:7]), 7))
    assert reply.success and reply.prev_log_index == 3 and reply.match_index == 7
    assert n.log == FIGURE_12[5:7] and n.commit_index == 7 and n.store == {"x": "5", "y": "7"}
    assert codes(notes)[:2] == ["covered_entries", "accept"]
    (reply,), _, _ = n.receive(AppendEntries(1, 4, 3, 1, 1, (FIGURE_12[1],), 7))
    assert reply.success and reply.match_index == 5 and n.log == FIGURE_12[5:7], "an old retry changes nothing"


def test_7_a_rejection_with_fast_backup_points_no_lower_than_after_the_snapshot():
    n = node(i=4, log=[Entry(3, "SET a 1"), Entry(3, "SET a 2")], commit_index=5, snapshot=figure_12_snapshot(),
             fast_backup=True)
    (reply,), _, _ = n.receive(AppendEntries(1, 4, 4, 7, 4, (), 7))
    assert (reply.conflict_term, reply.conflict_index) == (3, 6)


# ----- whole clusters --------------------------------------------------------------------------------

def busy(c, n=12, every_ms=60, prefix="k"):
    for k in range(n):
        c.submit(f"SET {prefix}{k % 5} {k}")
        c.run_for(every_ms)


def test_7_servers_take_snapshots_by_themselves_with_snapshot_every():
    c = Cluster(5, seed=3, snapshot_every=4)
    run_until(c, lambda c: c.leader() is not None)
    busy(c)
    c.run_for(300)
    for n in c.nodes.values():
        assert n.snapshot_index > n.last_applied - 4, "never 4 applied entries beyond the snapshot"
    taken = [r for r in c.trace if "snapshot" in r["notes"]]
    assert taken and all("(snapshot every 4)" in r["text"] for r in taken)
    assert c.violations == []


def test_7_snapshot_every_is_off_by_default():
    c = Cluster(5, seed=3)
    assert c.options["snapshot_every"] == 0
    run_until(c, lambda c: c.leader() is not None)
    busy(c)
    assert all(n.snapshot is None for n in c.nodes.values())


def test_7_a_follower_behind_the_leaders_first_entry_catches_up_by_install_snapshot():
    c = Cluster(5, seed=7, snapshot_every=3)
    run_until(c, lambda c: c.leader() is not None)
    leader = c.leader()
    slow = leader % 5 + 1
    c.crash(slow)
    busy(c, 10)
    c.run_for(300)
    first = c.nodes[leader].snapshot_index + 1
    assert c.nodes[slow].last_log_index < first - 1, "the leader has discarded what the follower needs"
    c.restart(slow)
    run_until(c, lambda c: c.nodes[slow].commit_index == c.nodes[leader].commit_index
              and c.nodes[slow].last_log_index == c.nodes[leader].last_log_index)
    sent = [r for r in c.trace if r["kind"] == "deliver" and r["message"]["type"] == "InstallSnapshot"
            and r["node"] == slow]
    assert sent and "install_snapshot" in sent[0]["notes"]
    assert c.nodes[slow].store == c.nodes[leader].store and c.violations == []
    after = [r for r in c.trace if r["seq"] > sent[0]["seq"] and r["node"] == slow and r["kind"] == "deliver"
             and r["message"]["type"] == "AppendEntries"]
    assert after and after[0]["message"]["prev_log_index"] >= sent[0]["message"]["last_included_index"], \
        "then the leader continues with AppendEntries after the snapshot"


def snapshot_run():
    """S(leader+1) misses 8 commands and gets a snapshot; the leader is asked for one as well."""
    c = Cluster(3, seed=11, snapshot_every=3, checkpoint_interval=50)
    run_until(c, lambda c: c.leader() is not None)
    leader = c.leader()
    c.crash(leader % 3 + 1)
    busy(c, 8)
    c.restart(leader % 3 + 1)
    assert c.nodes[leader].last_applied > c.nodes[leader].snapshot_index
    c.snapshot(leader)
    c.run_for(600)
    return c


def test_7_seek_step_back_and_replay_restore_snapshots_exactly():
    c = snapshot_run()
    assert any("install_snapshot" in r["notes"] for r in c.trace)
    views = {}
    for seq in range(0, c.seq + 1, 7):
        c.seek(seq)
        views[seq] = c.snapshot()
    c.seek(len(c.trace))
    end = c.snapshot()
    for seq in sorted(views, reverse=True):          # backwards, across checkpoints and installs
        c.seek(seq)
        assert c.snapshot() == views[seq], f"seq {seq}"
    c.seek(len(c.trace))
    assert c.snapshot() == end
    replayed = Cluster.replay(c.export())
    assert replayed.snapshot() == end
    assert [n.snapshot for n in replayed.nodes.values()] == [n.snapshot for n in c.nodes.values()]
    c.seek(30)
    assert Cluster.replay(c.export()).snapshot() == c.snapshot(), "an export made in the past replays to there"


def test_7_a_new_action_in_the_past_forks_across_a_snapshot():
    c = snapshot_run()
    taken = next(r["seq"] for r in c.trace if "snapshot" in r["notes"])
    c.seek(taken - 1)
    node = c.trace[taken]["node"]
    before = c.nodes[node].snapshot_index
    c.run_for(0)
    c.crash(node)
    assert len(c.trace) == c.seq and c.nodes[node].snapshot_index == before


def test_7_the_view_carries_snapshots_and_absolute_log_indexes():
    c = Cluster.from_state({"nodes": [
        {"id": 1, "term": 3, "role": "leader", "commit_index": 5,
         "snapshot": {"index": 5, "term": 3, "store": {"x": "0", "y": "9"}},
         "log": [{"term": 3, "command": "SET y 7"}, {"term": 3, "command": "SET x 5"}]},
        {"id": 2, "term": 3, "voted_for": 1, "commit_index": 5, "log": [
            {"term": e.term, "command": e.command} for e in FIGURE_12]},
        {"id": 3, "term": 3, "voted_for": 1, "commit_index": 5, "log": [
            {"term": e.term, "command": e.command} for e in FIGURE_12[:5]]}]})
    view = c.snapshot()["nodes"][0]
    assert (view["snapshot_index"], view["snapshot_term"], view["log_length"]) == (5, 3, 7)
    assert view["snapshot"] == {"index": 5, "term": 3, "store": {"x": "0", "y": "9"},
                                "config": {"voters": [1, 2, 3], "old_voters": None, "learners": []}}
    assert [e["index"] for e in view["log"]] == [6, 7]
    assert c.snapshot()["nodes"][1]["snapshot"] is None and c.node_view(2)["snapshot_index"] == 0


def test_7_cluster_snapshot_with_a_server_is_the_snapshot_action():
    c = Cluster(3, seed=2)
    run_until(c, lambda c: c.leader() is not None)
    c.submit("SET x 1")
    run_until(c, lambda c: all(n.commit_index == 1 for n in c.nodes.values()))
    assert c.snapshot(2) is None
    assert c.trace[-1]["action"] == {"type": "snapshot", "node": 2}
    assert c.trace[-1]["text"].startswith("S2 is asked to take a snapshot. S2 has applied up to index 1")
    assert c.nodes[2].snapshot_index == 1 and c.nodes[2].log == []
    assert isinstance(c.snapshot(), dict), "without a server, the view as before"


# ----- the safety monitor across snapshots ----------------------------------------------------------

def test_7_no_false_violation_when_leaders_have_compacted_everything():
    c = Cluster(3, seed=5, snapshot_every=1)
    for round_ in range(4):
        run_until(c, lambda c: c.leader() is not None)
        busy(c, 3, prefix=f"r{round_}")
        c.run_for(200)
        assert all(n.log == [] for n in c.nodes.values() if n.up), "every applied entry is compacted"
        c.crash(c.leader())
        c.run_for(50)
        for i, n in c.nodes.items():
            if not n.up:
                c.restart(i)
    run_until(c, lambda c: c.leader() is not None)
    assert len(c.leaders()) >= 4 and c.violations == []


def figure_8_unsafe_then_snapshots(snapshots: bool):
    """The paper's Figure 8 with commitment by counting (test_paper_figures.figure_8),
    then the servers that applied S5's index 2 compact their logs, and S2 is elected."""
    from test_paper_figures import figure_8
    c = figure_8(unsafe=True)
    if snapshots:
        for i in (2, 3, 4):
            c.snapshot(i)
        assert all(c.nodes[i].snapshot_index == 3 and c.nodes[i].log == [] for i in (2, 3, 4))
    c.crash(5)
    c.timeout(2)
    run_until(c, lambda c: c.leader() == 2)
    return c


@pytest.mark.parametrize("snapshots", [False, True])
def test_7_a_real_violation_is_still_caught_when_the_entries_are_compacted(snapshots):
    c = figure_8_unsafe_then_snapshots(snapshots)
    found = [v for v in c.violations if v["property"] == "Leader Completeness" and "term 6" in v["text"]]
    assert found, "S2 leads term 6 without index 2 of term 2, which S1 committed (by counting)"
    assert "S2 became leader of term 6 without index 2 (term 2, SET x 2)" in found[0]["text"]
    if snapshots:
        assert "its snapshot stands for another entry there" in found[0]["text"]


def test_7_a_violation_travels_with_an_installed_snapshot():
    """S5 compacts the history in which index 2 is its own term-3 entry and sends it
    to S1, which had committed term 2's; S1, elected again, holds no term-2 entry."""
    from test_paper_figures import figure_8
    c = figure_8(unsafe=True)
    c.snapshot(5)
    c.restart(1)
    run_until(c, lambda c: c.nodes[1].snapshot_index == 3)
    assert any(r["node"] == 1 and "install_snapshot" in r["notes"] for r in c.trace)
    c.crash(5)
    c.timeout(1)
    run_until(c, lambda c: c.leader() == 1)
    term = c.nodes[1].term
    assert any(v["property"] == "Leader Completeness" and f"S1 became leader of term {term}" in v["text"]
               for v in c.violations)


def test_7_snapshots_change_no_outcome_of_the_randomized_monitor_runs():
    """Safe runs with snapshots on stay silent (tests/test_randomized_faults.py has 200 more)."""
    from faults import faulty_run
    for seed in range(10):
        c, _, _ = faulty_run(seed, size=3, fault_ms=1500, settle_ms=1500, snapshots=0.2, snapshot_every=1)
        assert c.violations == [], c.violations[:1]


# ----- bad input: plain-language errors, nothing changes ---------------------------------------------

def settled():
    c = Cluster(3, seed=2)
    run_until(c, lambda c: c.leader() is not None)
    return c


@pytest.mark.parametrize("prepare, node, words", [
    (lambda c: None, 1, "has applied no entries yet"),
    (lambda c: c.crash(1), 1, "S1 is down"),
    (lambda c: (c.submit("SET x 1"), c.run_for(300), c.snapshot(1)), 1, "applied nothing since its last snapshot"),
    (lambda c: None, 7, "There is no S7"),
    (lambda c: None, "one", "must be a server number"),
    (lambda c: None, None, "Say which node: a server number"),
])
def test_7_a_snapshot_that_cannot_be_taken_is_refused_in_plain_words_and_changes_nothing(prepare, node, words):
    c = settled()
    prepare(c)
    before = (c.seq, c.snapshot())
    with pytest.raises(ValueError) as e:
        c.act({"type": "snapshot", "node": node})
    assert words in str(e.value) and str(e.value).endswith("."), str(e.value)
    assert (c.seq, c.snapshot()) == before


@pytest.mark.parametrize("value", [-1, 1001, "5", True, 2.5, None])
def test_7_a_bad_snapshot_every_is_refused_in_plain_words(value):
    c = settled()
    before = (c.seq, c.options)
    with pytest.raises(ValueError, match="The option snapshot_every must be a whole number from 0 to 1000."):
        c.set_options(snapshot_every=value)
    assert (c.seq, c.options) == before
    with pytest.raises(ValueError, match="snapshot_every must be a whole number from 0 to 1000"):
        Cluster(3, snapshot_every=value)


def test_7_snapshot_every_can_be_turned_on_while_running():
    c = settled()
    busy(c, 5)
    c.set_options(snapshot_every=2)
    assert "Snapshot every (entries; 0: off) = 2" in c.trace[-1]["text"]
    busy(c, 4)
    c.run_for(300)
    assert all(n.snapshot_index for n in c.nodes.values())


# ----- initial states with snapshots (Cluster.from_state) --------------------------------------------

def entries(log):
    return [{"term": e.term, "command": e.command} for e in log]


def figure_12_state(**s1):
    spec = {"id": 1, "term": 3, "role": "leader", "commit_index": 5,
            "snapshot": {"index": 5, "term": 3, "store": {"x": "0", "y": "9"}}, "log": entries(FIGURE_12[5:])}
    spec.update(s1)
    return {"nodes": [spec,
                      {"id": 2, "term": 3, "voted_for": 1, "commit_index": 5, "log": entries(FIGURE_12)},
                      {"id": 3, "term": 3, "voted_for": 1, "commit_index": 5, "log": entries(FIGURE_12[:5])}]}


def test_7_from_state_starts_a_server_from_a_snapshot():
    c = Cluster.from_state(figure_12_state())
    s1 = c.nodes[1]
    assert (s1.snapshot_index, s1.snapshot_term, s1.log, s1.store) == (5, 3, FIGURE_12[5:], {"x": "0", "y": "9"})
    assert (s1.commit_index, s1.last_applied, s1.next_index) == (5, 5, {2: 8, 3: 8})
    assert c.violations == []
    again = Cluster.replay(c.export())
    assert again.nodes[1].snapshot == s1.snapshot
    omitted = figure_12_state()
    del omitted["nodes"][0]["commit_index"]
    assert Cluster.from_state(omitted).nodes[1].commit_index == 5, "by default, the snapshot's index"


@pytest.mark.parametrize("change, words", [
    ({"commit_index": 4}, "S1: commit_index must be at least 5"),
    ({"snapshot": {"index": 5, "term": 4, "store": {}}}, "only in term 3"),
    ({"snapshot": {"index": 5, "term": 3, "store": {"x": "0", "y": "1"}}},
     "S1's snapshot through index 5 holds x=0, y=1, but S2's entries 1–5"),
    ({"commit_index": 8}, "S1: commit_index must be between 0 and the length of its log (7)"),
    ({"snapshot": {"index": 5, "term": 3, "store": {"x": "0", "y": "9"}}, "log": [{"term": 2, "command": "SET a 1"}]},
     "index 6 has term 2 after its snapshot's last included term 3"),
    ({"snapshot": {"index": 0, "term": 3}}, "a snapshot's index"),
    ({"snapshot": {"index": 5, "term": 3, "extra": 1}}, "a snapshot is"),
    ({"snapshot": {"index": 5, "term": 3, "store": {"x": ["0"]}}}, "text values"),
    ({"snapshot": {"index": 5, "term": 3, "store": {"x y": "0"}}}, "keys without spaces"),
    ({"snapshot": "5"}, "a snapshot is"),
    ({"snapshot": {"index": 5, "term": 2, "store": {"x": "0", "y": "9"}}}, "but only S1 has term 2 at index 5"),
])
def test_7_from_state_refuses_an_impossible_snapshot_with_the_reason(change, words):
    with pytest.raises(ValueError) as e:
        Cluster.from_state(figure_12_state(**change))
    assert words in str(e.value), str(e.value)


def test_7_log_matching_is_checked_from_a_snapshots_last_included_entry():
    state = figure_12_state()
    state["nodes"][2] = {"id": 3, "term": 3, "voted_for": 1,
                         "log": entries(FIGURE_12[:4]) + [{"term": 2, "command": "SET x 1"}, FIGURE_12[5]._asdict()]}
    with pytest.raises(ValueError, match="S1 and S3 both hold an entry of term 3 at index 6, but differ at index 5 "
                                         r"\(term 3 on S1, term 2 on S3\)"):
        Cluster.from_state(state)


def test_7_two_snapshots_of_one_index_and_term_hold_the_same_state():
    state = figure_12_state()
    state["nodes"][2] = {"id": 3, "term": 3, "voted_for": 1, "commit_index": 5,
                         "snapshot": {"index": 5, "term": 3, "store": {"x": "1"}}}
    with pytest.raises(ValueError, match="S1 and S3 both hold a snapshot through index 5 .term 3., with different"):
        Cluster.from_state(state)


def test_7_a_leaders_match_index_is_checked_across_a_followers_snapshot():
    ok = figure_12_state(match_index={"2": 7, "3": 5})
    Cluster.from_state(ok)
    with pytest.raises(ValueError, match="match_index 6 for S3"):
        Cluster.from_state(figure_12_state(match_index={"3": 6}))


def test_7_a_leader_elected_against_the_rules_counts_a_follower_only_as_far_as_its_own_log():
    """Only an unsafe switch elects a leader that lacks what a follower's snapshot
    covers; the follower's answer must not take the leader past its own log."""
    n = node(term=4, role=LEADER, log=[Entry(1, "SET a 1"), Entry(4, "SET b 2")], commit_index=0)
    n.next_index[2] = 3
    n.in_flight[2] = 2
    from raftviz.raft import AppendEntriesReply
    n.receive(AppendEntriesReply(2, 1, 4, True, 2, 9))       # "matches through 9": its snapshot reaches 9
    assert (n.match_index[2], n.next_index[2]) == (2, 3)
    (m,), _, _ = n.heartbeat([2])
    assert isinstance(m, AppendEntries) and m.prev_log_index == 2


@pytest.mark.parametrize("switch", ["unsafe_commit_by_counting", "unsafe_vote_without_log_check",
                                    "unsafe_forget_vote", "unsafe_direct_config_change"])
def test_7_with_an_unsafe_switch_and_snapshots_the_engine_keeps_going_and_replays_exactly(switch, monkeypatch):
    """Unsafe switches may break safety (the monitor says so), never the simulator:
    with snapshots on it runs, and its history replays to the same picture."""
    import faults
    monkeypatch.setattr(faults.Oracle, "check", lambda self, c, every_event=True: None)   # safety may break here
    for seed in range(12):
        try:
            c, _, _ = faults.faulty_run(seed, size=3 + seed % 3, fault_ms=2000, settle_ms=1500, snapshots=0.2,
                                        snapshot_every=seed % 3, membership=0.2 if "config" in switch else 0.0,
                                        **{switch: True})
        except AssertionError as e:                          # a broken cluster may not recover: that is fine
            assert "no leader committed" in str(e)
            continue
        assert Cluster.replay(c.export()).snapshot() == c.snapshot()
