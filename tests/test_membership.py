"""Membership changes and the thesis's additions, one test per rule, named
after the section of the Raft paper (section 6, Figures 10-11) or of
Ongaro's thesis (3.10 leadership transfer; 4.1 single-server changes; 4.2.1
catching up; 4.2.2 removing the leader; 4.2.3 disruptive servers; 9.6
PreVote and CheckQuorum). Each checks what happens and, where a lecturer
relies on it, the sentence the trace says.

Single rules run against one sans-IO Node; whole mechanisms against a
Cluster."""
import json

import pytest

from raftviz.raft import (AppendEntries, AppendEntriesReply, CANDIDATE, Entry, FOLLOWER, LEADER, Node, Options,
                          RequestVote, RequestVoteReply)
from raftviz.raft.messages import PreVote, PreVoteReply, TimeoutNow
from raftviz.raft.config import Config
from raftviz.raft.notes import describe
from raftviz.sim import Cluster

from helpers import run_until


# ----- helpers -----------------------------------------------------------------------

def cfg(voters, old=None, learners=()):
    return Config.of(voters, old, learners)


def conf(term, voters, old=None, learners=()):
    """A configuration entry of `term`."""
    return Entry(term, None, cfg(voters, old, learners))


def node(i, voters=(1, 2, 3), term=1, log=(), role=FOLLOWER, commit_index=0, voted_for=None, **options):
    """Node i of a cluster whose initial voters are `voters`, in a given state."""
    n = Node(i, voters, Options(**options), voters=voters)
    log = [Entry(t) if isinstance(t, int) else t for t in log]
    n.load_state(term, i if role != FOLLOWER else voted_for, log, role, commit_index)
    return n


def texts(me, notes):
    return [describe(me, n) for n in notes]


def codes(notes):
    return [n.code for n in notes]


def ack(src, dst, term, prev, match):
    return AppendEntriesReply(src, dst, term, True, prev, match)


def elect(c, who=None, limit_ms=3000):
    """Run until there is a leader (`who`, made to time out first, if given)."""
    if who is not None:
        c.timeout(who)
        run_until(c, lambda c: c.leader() == who, limit_ms)
    else:
        run_until(c, lambda c: c.leader() is not None, limit_ms)
    return c.leader()


def texts_of(c, first=0):
    return [r["text"] for r in c.trace[first:]]


def notes_in(c, code, first=0):
    """Trace records (from index `first`) whose notes include `code`."""
    return [r for r in c.trace[first:] if code in r["notes"]]


def fingerprint(c):
    """Everything visible, to compare before and after."""
    return json.dumps(c.snapshot(), sort_keys=True), c.seq, len(c.trace)


# ----- section 6: configurations are log entries --------------------------------------

def test_6_a_server_uses_the_latest_configuration_in_its_log_before_it_is_committed():
    n = node(2)
    joint = conf(1, (1, 2, 3, 4, 5), old=(1, 2, 3))
    (reply,), _, notes = n.receive(AppendEntries(1, 2, 1, 0, 0, (Entry(1, "SET x 1"), joint), 0))
    assert reply.success and n.commit_index == 0
    assert n.config == {"voters": [1, 2, 3, 4, 5], "old_voters": [1, 2, 3], "learners": []}
    assert n.log[1].kind == "config" and n.log[0].kind == "command"
    assert ("S2 now uses C_old,new (S1–S3 → S1–S5) (index 2), though it is not yet committed: a server always "
            "uses the latest configuration in its log.") in texts(2, notes)
    # It acts on it at once: an election now asks C_old and C_new.
    msgs, _, _ = n.election_timeout()
    assert sorted(m.dst for m in msgs) == [1, 3, 4, 5]


def test_6_a_truncated_configuration_entry_falls_back_to_the_previous_one():
    n = node(2, term=2, log=[conf(1, (1, 2, 3, 4)), Entry(1, "SET x 1"), conf(2, (1, 2, 3, 4, 5), old=(1, 2, 3, 4))])
    assert n.config["old_voters"] == [1, 2, 3, 4]
    # The leader of term 3 has a different entry at index 3: the joint entry goes.
    _, _, notes = n.receive(AppendEntries(1, 2, 3, 2, 1, (Entry(3, "SET y 2"),), 0))
    assert [e.kind for e in n.log] == ["config", "command", "command"]
    assert n.config == {"voters": [1, 2, 3, 4], "old_voters": None, "learners": []} and n.config_index == 1
    assert ("S2 lost the configuration entry it was using: it falls back to {S1–S4} (the entry at index 1)."
            in texts(2, notes))
    # With no configuration entry left, it falls back to its initial configuration.
    _, _, notes = n.receive(AppendEntries(3, 2, 4, 0, 0, (Entry(4, "SET z 3"),), 0))
    assert n.config == {"voters": [1, 2, 3], "old_voters": None, "learners": []} and n.config_index == 0
    assert "S2 lost the configuration entry it was using: it falls back to {S1–S3} (its initial configuration)." \
        in texts(2, notes)


def test_6_joint_consensus_elections_need_both_majorities():
    n = node(3, term=1, log=[conf(1, (3, 4, 5), old=(1, 2, 3))])
    msgs, _, _ = n.election_timeout()
    assert sorted(m.dst for m in msgs) == [1, 2, 4, 5], "it asks everyone in C_old and in C_new"
    _, _, notes = n.receive(RequestVoteReply(4, 3, 2, True))
    assert n.role == CANDIDATE, "2 of 3 in C_new but 1 of 3 in C_old"
    assert texts(3, notes)[-1] == "S3 gets a vote from S4: 1 of 3 in C_old (2 needed) and 2 of 3 in C_new (2 needed)."
    n.receive(RequestVoteReply(5, 3, 2, True))
    assert n.role == CANDIDATE, "all of C_new is not enough"
    _, _, notes = n.receive(RequestVoteReply(1, 3, 2, True))
    assert n.role == LEADER
    assert texts(3, notes)[0] == ("S3 gets a vote from S1: 2 of 3 in C_old (2 needed) and 3 of 3 in C_new "
                                  "(2 needed) — a majority of both.")


def test_6_joint_consensus_commitment_needs_both_majorities():
    joint = conf(2, (3, 4, 5), old=(1, 2, 3))
    n = node(3, term=2, log=[joint, Entry(2, "SET x 1")], role=LEADER)
    assert sorted(n.next_index) == [1, 2, 4, 5]
    n.receive(ack(4, 3, 2, 0, 2))
    n.receive(ack(5, 3, 2, 0, 2))
    assert n.commit_index == 0, "all of C_new stores it, but only S3 of C_old"
    _, _, notes = n.receive(ack(2, 3, 2, 0, 2))
    assert n.commit_index == 2
    assert ("S3 commits indexes 1–2: stored on S3, S2, S4, S5 (a majority of each of C_old and C_new: 2 of 3 in "
            "C_old (S1–S3) and 2 of 3 in C_new (S3–S5)) and from the current term.") in texts(3, notes)


def test_6_once_c_old_new_commits_the_leader_appends_c_new():
    c = Cluster(3, seed=1)
    leader = elect(c)
    c.submit("SET x 1")
    c.run_for(200)
    assert (c.add_server(), c.add_server()) == (4, 5)
    first = len(c.trace)
    assert c.change_config([1, 2, 3, 4, 5]) == 2, "the index of the first entry the change appends"
    c.run_for(1500)
    log = c.nodes[leader].log
    assert [e.kind for e in log] == ["command", "config", "config", "config"]
    assert [e.config for e in log[1:]] == [cfg((1, 2, 3), learners=(4, 5)), cfg((1, 2, 3, 4, 5), old=(1, 2, 3)),
                                            cfg((1, 2, 3, 4, 5))]
    for i, n in c.nodes.items():
        assert n.log == log and n.commit_index == 4 and n.config["voters"] == [1, 2, 3, 4, 5], f"S{i}"
    (joint,) = [r for r in c.trace[first:] if "C_old,new at index 3" in r["text"]]
    assert (f"S{leader} appends C_old,new at index 3 (S1–S3 → S1–S5) and uses it at once: from now on elections "
            f"and commitment need a majority of both, 2 of 3 in C_old (S1–S3) and 3 of 5 in C_new (S1–S5).") \
        in joint["text"]
    (new,) = [r for r in c.trace[first:] if "appends C_new" in r["text"]]
    assert f"S{leader} commits index 3" in new["text"], "C_new comes in the same step that commits C_old,new"
    assert (f"C_old,new is committed, so S{leader} appends C_new {{S1–S5}} at index 4 and uses it at once: from "
            f"now on only its voters count (3 of 5 (S1–S5)); once it commits, servers outside it can be shut "
            f"down.") in new["text"]
    assert c.violations == []


def test_6_leader_not_in_c_new_replicates_without_counting_itself_and_steps_down_when_c_new_commits():
    n = node(1, voters=(1, 2, 3, 4), term=2, role=LEADER, commit_index=1,
             log=[Entry(2, "SET x 1"), conf(2, (2, 3, 4))])
    assert n.config["voters"] == [2, 3, 4] and sorted(n.next_index) == [2, 3, 4]
    _, _, notes = n.receive(ack(2, 1, 2, 0, 2))
    assert n.commit_index == 1 and n.role == LEADER, "S1 and S2 hold it, but S1 does not count: 1 of 3"
    msgs, reset, notes = n.receive(ack(3, 1, 2, 0, 2))
    assert n.commit_index == 2 and n.role == FOLLOWER and reset
    said = texts(1, notes)
    assert ("S1 commits index 2: stored on S2, S3 (a majority of the voters: 2 of 3 (S2–S4); S1 is not a voter, "
            "so it does not count itself) and from the current term.") in said
    assert ("The configuration at index 2, {S2–S4}, is committed and S1 is not in it: S1 steps down. The others "
            "will elect a leader among themselves.") in said
    assert not n.stands, "it knows it is no longer needed: it starts no election"


def test_6_leader_that_removes_itself_keeps_leading_until_c_new_commits_then_the_others_elect():
    c = Cluster(5, seed=3)
    leader = elect(c)
    c.submit("SET x 1")
    c.run_for(200)
    rest = [i for i in c.nodes if i != leader]
    first = len(c.trace)
    c.change_config(rest)
    run_until(c, lambda c: c.nodes[leader].role == FOLLOWER)
    (down,) = notes_in(c, "step_down_removed", first)
    commits = [r for r in notes_in(c, "commit", first) if r["node"] == leader and "does not count itself" in r["text"]]
    assert commits and commits[-1]["seq"] == down["seq"], "it commits C_new without counting itself, then steps down"
    assert c.nodes[leader].log[-1].config == cfg(rest)
    new = elect(c)
    assert new in rest
    c.run_for(1000)
    assert c.leader() == new and c.nodes[leader].role == FOLLOWER
    assert c.snapshot()["nodes"][leader - 1]["timer"] is None, "a removed server that knows it has no election timer"
    assert c.violations == []


def test_6_a_new_leader_that_knows_c_old_new_is_committed_appends_c_new():
    joint = conf(1, (1, 2, 3, 4), old=(1, 2, 3))
    n = node(2, term=1, log=[Entry(1, "SET x 1"), joint], commit_index=2)
    n.election_timeout()
    for voter in (1, 3, 4):
        msgs, _, notes = n.receive(RequestVoteReply(voter, 2, 2, True))
        if n.role == LEADER:
            break
    assert n.role == LEADER and n.log[-1] == conf(2, (1, 2, 3, 4))
    assert "C_old,new is committed, so S2 appends C_new {S1–S4} at index 3" in " ".join(texts(2, notes))
    # Not knowing it committed, a new leader first commits a no-op of its own term.
    m = node(2, term=1, log=[Entry(1, "SET x 1"), joint], commit_index=1)
    m.election_timeout()
    for voter in (1, 3, 4):
        m.receive(RequestVoteReply(voter, 2, 2, True))
    assert m.role == LEADER and m.log[-2:] == [joint, Entry(2, None)]
    for voter in (1, 3):
        _, _, notes = m.receive(ack(voter, 2, 2, 0, 3))
    assert m.commit_index == 3 and m.log[-1] == conf(2, (1, 2, 3, 4)), "then C_new"


def test_6_one_change_at_a_time():
    c = Cluster(5, seed=2)
    elect(c)
    c.change_config([1, 2, 3])
    before = fingerprint(c)
    with pytest.raises(ValueError, match="A configuration change is already in progress: one change at a time, and "
                                         "the latest configuration must be committed first."):
        c.change_config([1, 2, 3, 4])
    assert fingerprint(c) == before
    c.run_for(1000)
    assert c.nodes[c.leader()].config["voters"] == [1, 2, 3]
    c.change_config([1, 2, 3, 4])                     # the next one, once the first is done


# ----- thesis 4.1: single-server changes -----------------------------------------------

def test_thesis_4_1_single_change_waits_for_a_committed_entry_of_the_term():
    c = Cluster(3, seed=1)
    leader = elect(c)
    assert c.nodes[leader].commit_index == 0, "no entry of its term is committed yet"
    first = len(c.trace)
    new = c.add_server()
    assert c.change_config([1, 2, 3, new], method="single") == 1, "it returns the no-op's index"
    noop = c.nodes[leader].log[0]
    assert (noop.kind, noop.term) == ("noop", c.nodes[leader].term)
    assert (f"S{leader} has committed no entry of its term {noop.term} yet, so the change waits: it appends a "
            f"no-op at index 1 and starts the change once that commits (thesis 4.1).") in c.trace[-1]["text"]
    assert len(c.nodes[leader].log) == 1, "no configuration entry before the no-op commits"
    run_until(c, lambda c: len(c.nodes[leader].log) > 1)
    (record,) = notes_in(c, "config_append", first)
    assert f"S{leader} commits index 1" in record["text"], "the change starts in the step that commits the no-op"
    c.run_for(1000)
    assert c.nodes[leader].config == {"voters": [1, 2, 3, 4], "old_voters": None, "learners": []}
    assert c.violations == []


def test_thesis_4_1_single_change_switches_directly_without_a_joint_configuration():
    c = Cluster(5, seed=4)
    leader = elect(c)
    c.submit("SET x 1")
    c.run_for(300)
    gone = next(i for i in c.nodes if i != leader)
    voters = sorted(set(c.nodes) - {gone})
    index = c.change_config(voters, method="single")
    assert index == 2 and c.nodes[leader].log[-1].config == cfg(voters), "straight to C_new"
    verb_text = (f"S{leader} appends {{{', '.join(f'S{i}' for i in voters)}}} at index 2, which removes S{gone}: "
                 f"one server at a time, so every majority of the old voters overlaps every majority of the new "
                 f"(thesis 4.1).")
    assert verb_text.replace("{S1, S2, S3, S4}", "{S1–S4}").replace("{S2, S3, S4, S5}", "{S2–S5}") \
        in c.trace[-1]["text"]
    c.run_for(500)
    assert all(e.config is None or e.config.old_voters is None for n in c.nodes.values() for e in n.log)
    assert c.nodes[leader].commit_index == 2 and c.violations == []


def test_thesis_4_1_a_single_change_of_two_servers_is_refused_and_changes_nothing():
    c = Cluster(3, seed=1)
    elect(c)
    c.add_server()
    c.add_server()
    before = fingerprint(c)
    with pytest.raises(ValueError, match=r"A single-server change adds or removes one server, but 2 differ \(S4, S5\): "
                                         r"use joint consensus, or one change at a time\."):
        c.change_config([1, 2, 3, 4, 5], method="single")
    assert fingerprint(c) == before


# ----- thesis 4.2.1: catching up new servers ------------------------------------------------

def test_thesis_4_2_1_learner_neither_votes_nor_counts():
    with_learner = conf(1, (1, 2, 3), learners=(4,))
    leader = node(1, term=1, role=LEADER, log=[with_learner, Entry(1, "SET x 1")])
    assert sorted(leader.next_index) == [2, 3, 4], "the learner receives the log"
    leader.receive(ack(4, 1, 1, 0, 2))
    assert leader.commit_index == 0, "S1 and the learner S4 hold it: 1 of 3 voters"
    _, _, notes = leader.receive(ack(2, 1, 1, 0, 2))
    assert leader.commit_index == 2
    assert "S1 commits indexes 1–2: stored on S1, S2 (a majority) and from the current term." in texts(1, notes)
    # A candidate does not ask the learner for its vote ...
    candidate = node(2, term=1, log=[with_learner])
    msgs, _, _ = candidate.election_timeout()
    assert sorted(m.dst for m in msgs) == [1, 3]
    # ... nor counts it if it answers anyway.
    candidate.receive(RequestVoteReply(4, 2, 2, True))
    assert candidate.role == CANDIDATE
    # And the learner starts no election of its own.
    learner = node(4, term=1, log=[with_learner])
    msgs, reset, notes = learner.election_timeout()
    assert (msgs, reset, learner.role, learner.term) == ([], False, FOLLOWER, 1) and not learner.stands
    assert texts(4, notes) == ["S4's election timer fires, but S4 is a learner: it does not vote, so it starts "
                               "no election."]


def test_thesis_4_2_1_a_new_server_catches_up_in_rounds_before_it_votes():
    c = Cluster(3, seed=2, entries_per_append=4)
    leader = elect(c)
    for k in range(14):
        c.submit(f"SET k{k} {k}")
    c.run_for(500)
    new = c.add_server()
    first = len(c.trace)
    c.change_config([1, 2, 3, new])
    assert c.nodes[leader].config["learners"] == [new]
    # Commands keep coming while it catches up.
    for k in range(6):
        c.run_for(15)
        c.submit(f"SET late{k} {k}")
    run_until(c, lambda c: c.nodes[leader].config["old_voters"] is not None)
    rounds = notes_in(c, "learner_round", first)
    assert len(rounds) >= 2, "the first round (15 entries and more) cannot be done in one AppendEntries"
    assert f"S{new} finished catch-up round 1 (" in rounds[0]["text"] and "so S" in rounds[0]["text"]
    assert (f"which needed" in rounds[-1]["text"] and "(one AppendEntries at most): it has caught up and may vote."
            in rounds[-1]["text"])
    (joint,) = [r for r in notes_in(c, "config_append", first) if "C_old,new" in r["text"]]
    assert joint["seq"] >= rounds[-1]["seq"], "it becomes a voter only after its last round"
    c.run_for(1000)
    assert c.nodes[new].log == c.nodes[leader].log and c.nodes[leader].config["voters"] == [1, 2, 3, new]


def test_thesis_4_2_1_a_learner_that_holds_the_whole_log_when_a_round_ends_has_caught_up():
    # Round 1 sends 11 entries, two at a time; nothing new comes meanwhile, so
    # round 2 has nothing to send: the learner has caught up.
    c = Cluster(3, seed=2, entries_per_append=2)
    leader = elect(c)
    for k in range(10):
        c.submit(f"SET k{k} {k}")
    c.run_for(500)
    new = c.add_server()
    first = len(c.trace)
    c.change_config([1, 2, 3, new], method="single")
    c.run_for(1500)
    (record,) = notes_in(c, "learner_round", first)
    assert (f"S{new} finished catch-up round 1 (11 entries): still too far behind to vote, so S{leader} starts "
            f"round 2 with the entries added meanwhile. S{new} finished catch-up round 2, which needed 0 entries "
            f"(one AppendEntries at most): it has caught up and may vote.") in record["text"]
    assert c.nodes[leader].config["voters"] == [1, 2, 3, new]


def test_thesis_4_2_1_a_change_is_abandoned_when_the_learner_never_catches_up_in_ten_rounds():
    c = Cluster(3, seed=5, entries_per_append=1)
    leader = elect(c)
    for k in range(3):
        c.submit(f"SET a{k} {k}")
    c.run_for(300)
    new = c.add_server()
    first = len(c.trace)
    c.change_config([1, 2, 3, new])

    def round_now(c):
        return c.node_view(leader).get("catch_up", {}).get(str(new), {}).get("round")

    # Each round, three more commands arrive than one AppendEntries carries.
    for k in range(10):
        seen = round_now(c)
        assert seen == k + 1
        for j in range(3):
            c.submit(f"SET r{k} {j}")
        run_until(c, lambda c: round_now(c) != seen)
    assert round_now(c) is None
    (gave_up,) = notes_in(c, "change_abandoned", first)
    assert (f"S{new} has not caught up after 10 rounds: S{leader} gives up the configuration change "
            f"(thesis 4.2.1).") in gave_up["text"]
    said = [r["text"] for r in notes_in(c, "learner_round", first)]
    assert len(said) == 9 and all("still too far behind to vote" in t for t in said)
    assert c.nodes[leader].config == {"voters": [1, 2, 3], "old_voters": None, "learners": [new]}, \
        "it stays a learner"
    c.change_config([1, 2, 3, new])              # nothing in progress any more: the change can be asked again



def test_thesis_4_2_1_a_change_is_abandoned_when_the_new_server_is_unavailable():
    c = Cluster(3, seed=2)
    leader = elect(c)
    new = c.add_server()
    c.crash(new)
    first = len(c.trace)
    c.change_config([1, 2, 3, new])
    start = c.now
    run_until(c, lambda c: c.nodes[leader].change is None)
    (gave_up,) = notes_in(c, "learner_unavailable", first)
    assert 150 < gave_up["time"] - start <= 300, "within one to two of the leader's timer periods (150 ms)"
    assert (f"S{leader}'s timer fires and S{new}, in catch-up round 1, has not answered for an election timeout: "
            f"S{leader} takes it to be unavailable and gives up the configuration change (thesis 4.2.1).") \
        in gave_up["text"]
    assert c.nodes[leader].config == {"voters": [1, 2, 3], "old_voters": None, "learners": [new]}
    # A learner that answers is not given up, however long it takes.
    c.restart(new)
    first = len(c.trace)
    c.change_config([1, 2, 3, new])
    run_until(c, lambda c: c.nodes[leader].config["voters"] == [1, 2, 3, new])
    assert not notes_in(c, "learner_unavailable", first)

# ----- thesis 4.2.2: removing the current leader -----------------------------------------

def test_thesis_4_2_2_a_server_left_out_by_an_uncommitted_configuration_still_stands():
    # S2 leads {S1, S2} and removes itself; C_new = {S1} reaches nobody before S2
    # restarts. S1 needs S2's vote, and S2 (whose log is longer) refuses it: only
    # S2 can get the cluster going again, though its latest configuration leaves it out.
    c = Cluster(2, seed=1)
    elect(c, 2)
    c.submit("SET x 1")
    c.run_for(200)
    c.cut(1, 2)
    c.change_config([1], method="single")
    assert c.nodes[2].config["voters"] == [1] and c.nodes[1].config["voters"] == [1, 2]
    c.crash(2)
    c.restart(2)
    c.link(1, 2)
    first = len(c.trace)
    run_until(c, lambda c: c.nodes[2].role == FOLLOWER and c.leader() == 1)
    run_until(c, lambda c: c.nodes[1].commit_index == len(c.nodes[1].log))
    stood = notes_in(c, "stands_outside", first)
    assert stood and stood[0]["node"] == 2
    assert ("S2 is not in its latest configuration {S1} (index 2), but that is not known to be committed, so S2 "
            "may still be needed: it stands for election all the same, without counting its own vote "
            "(thesis 4.2.2).") in stood[0]["text"]
    assert any(r["node"] == 2 and "S2 becomes leader" in r["text"] for r in c.trace[first:])
    (won,) = [r for r in notes_in(c, "leader", first) if r["node"] == 2]
    assert ("S2 appends a no-op entry at index 3 of its log. S2 does so because its latest configuration (index 2) "
            "is not known to be committed: only an entry of S2's own term can commit it (Figure 8), and no "
            "configuration change may finish or start before that (thesis 4.1).") in won["text"]
    assert notes_in(c, "step_down_removed", first), "it commits C_new through S1, then steps down"
    assert c.nodes[1].log[:3] == c.nodes[2].log and c.nodes[2].config["voters"] == [1] and not c.nodes[2].stands
    c.run_for(1000)
    assert c.leader() == 1 and c.violations == []


def test_thesis_4_2_2_a_server_that_knows_its_removal_is_committed_starts_no_election():
    n = node(4, voters=(1, 2, 3, 4), term=2, log=[Entry(2, "SET x 1"), conf(2, (1, 2, 3))], commit_index=2)
    assert not n.stands
    msgs, reset, notes = n.election_timeout()
    assert (msgs, reset, n.term, n.role) == ([], False, 2, FOLLOWER)
    assert texts(4, notes) == ["S4's election timer fires, but S4 is not in its configuration {S1–S3}, which it "
                               "knows is committed: it is no longer needed, so it starts no election."]
    # Before it learns that, it may still be needed, and stands.
    m = node(4, voters=(1, 2, 3, 4), term=2, log=[Entry(2, "SET x 1"), conf(2, (1, 2, 3))], commit_index=1)
    msgs, _, notes = m.election_timeout()
    assert m.role == CANDIDATE and sorted(x.dst for x in msgs) == [1, 2, 3] and codes(notes)[0] == "stands_outside"
    assert m.votes == {4} and not m.configuration.quorum(m.votes), "its own vote does not count"


# ----- thesis 9.6: PreVote and CheckQuorum -----------------------------------------------------

def test_thesis_9_6_pre_vote_changes_no_term():
    n = node(1, term=3, log=[2, 3], pre_vote=True)
    msgs, reset, notes = n.election_timeout()
    assert (n.term, n.role, n.voted_for) == (3, FOLLOWER, None) and reset
    assert {(m.type, m.dst, m.term, m.last_log_index, m.last_log_term) for m in msgs} == \
        {("PreVote", 2, 4, 2, 3), ("PreVote", 3, 4, 2, 3)}
    assert texts(1, notes) == ["S1 times out, but before raising its term it asks the others whether they would "
                               "vote for it in term 4 (PreVote): nobody's term changes yet."]
    voter = node(2, term=3, log=[2, 3], pre_vote=True)
    (reply,), reset, notes = voter.receive(msgs[0] if msgs[0].dst == 2 else msgs[1])
    assert reply.vote_granted and not reset
    assert (voter.term, voter.voted_for) == (3, None), "a pre-vote changes no term and records no vote"
    assert texts(2, notes) == ["S2 would vote for S1 in term 4 (its log is at least as up-to-date); a pre-vote "
                               "changes no term and records no vote."]
    ahead = node(3, term=3, log=[2, 3, 3], pre_vote=True)
    (reply,), _, notes = ahead.receive(PreVote(1, 3, 4, 2, 3))
    assert not reply.vote_granted and reply.term == 3 and ahead.term == 3
    assert texts(3, notes) == ["S3 would not vote for S1 in term 4: S3's log is more up-to-date (same last term, "
                               "but index 3 > 2). A pre-vote changes nobody's term."]


def test_thesis_9_6_a_majority_of_pre_votes_starts_the_real_election():
    n = node(1, voters=(1, 2, 3, 4, 5), term=3, pre_vote=True)
    n.election_timeout()
    n.receive(PreVoteReply(2, 1, 4, True))
    assert (n.term, n.role) == (3, FOLLOWER), "2 of the 3 it needs"
    msgs, _, notes = n.receive(PreVoteReply(3, 1, 4, True))
    assert (n.term, n.role, n.voted_for) == (4, CANDIDATE, 1)
    assert {m.type for m in msgs} == {"RequestVote"} and len(msgs) == 4
    assert texts(1, notes)[0] == "S3 would vote for S1: 3 of the 3 it needs, enough to win, so S1 starts the real " \
                                 "election."


def test_thesis_9_6_a_candidate_whose_election_failed_asks_again_with_pre_vote():
    n = node(1, voters=(1, 2), term=4, role=CANDIDATE, pre_vote=True)
    msgs, _, _ = n.election_timeout()
    assert {m.type for m in msgs} == {"PreVote"} and n.term == 4 and n.voted_for == 1, "it keeps its vote of term 4"
    msgs, _, _ = n.receive(PreVoteReply(2, 1, 5, True))
    assert (n.role, n.term) == (CANDIDATE, 5), "the yes counts: the real election of term 5 starts"
    # Two servers that split their votes recover (they used to wait for each other forever).
    c = Cluster(2, seed=3, pre_vote=True)
    c.cut(1, 2)
    c.timeout(1)
    c.timeout(2)
    c.run_for(50)
    c.link(1, 2)
    assert c.leader() is None
    elect(c)


def test_thesis_9_6_a_server_cut_off_with_pre_vote_keeps_its_term_and_does_not_depose_the_leader():
    for pre_vote in (False, True):
        c = Cluster(5, seed=7, pre_vote=pre_vote)
        leader = elect(c)
        term = c.nodes[leader].term
        away = next(i for i in c.nodes if i != leader)
        c.disconnect(away)
        c.run_for(2000)
        if pre_vote:
            assert c.nodes[away].term == term, "its pre-votes get no answer, so its term stays"
        else:
            assert c.nodes[away].term > term + 3, "without PreVote, each timeout raises its term"
        c.connect(away)
        c.run_for(1000)
        assert (c.leader() == leader) is pre_vote, "only without PreVote does its term depose the leader"
        assert c.violations == []


def test_thesis_9_6_check_quorum_a_leader_cut_off_from_a_majority_steps_down():
    for check_quorum in (False, True):
        c = Cluster(5, seed=4, check_quorum=check_quorum)
        leader = elect(c)
        first = len(c.trace)
        c.disconnect(leader)
        c.run_for(400)          # more than two minimum election timeouts (150 ms)
        assert (c.nodes[leader].role == LEADER) is not check_quorum
        if check_quorum:
            (lost,) = notes_in(c, "quorum_lost", first)
            assert lost["node"] == leader and lost["time"] - c.trace[first]["time"] <= 300
            assert (f"S{leader} checks its quorum: in the last election timeout it heard from no other server; "
                    f"with itself that is no majority (3 of 5 (S1–S5) needed): it steps down (CheckQuorum), since "
                    f"the others may have elected a new leader.") in lost["text"]


def test_thesis_9_6_check_quorum_also_watches_a_leader_the_initial_state_starts_with():
    state = {"nodes": [{"id": 1, "term": 2, "role": "leader"}, {"id": 2, "term": 2, "voted_for": 1},
                       {"id": 3, "term": 2, "voted_for": 1}]}
    c = Cluster.from_state(state, seed=1, check_quorum=True)
    c.partition([1], [2, 3])
    c.run_for(400)
    assert c.nodes[1].role != LEADER
    assert [(r["node"], r["time"]) for r in notes_in(c, "quorum_lost", 0)] == [(1, 150.0)]


def test_thesis_9_6_check_quorum_a_leader_that_hears_a_majority_stays():
    c = Cluster(5, seed=4, check_quorum=True)
    leader = elect(c)
    first = len(c.trace)
    others = [i for i in c.nodes if i != leader]
    c.partition([leader] + others[:2], others[2:])
    c.run_for(1000)
    assert c.leader() == leader
    heard = notes_in(c, "quorum_heard", first)
    assert len(heard) >= 5, "it checks every minimum election timeout"
    assert heard[-1]["text"].endswith("with itself a majority: it stays leader (CheckQuorum).")
    assert f"it heard from S{others[0]}, S{others[1]} in the last election timeout" in heard[-1]["text"]


# ----- thesis 4.2.3: disruptive servers --------------------------------------------------------

def led_follower(**options):
    """S2 of S1–S3, following S1 of term 2; the AppendEntries arrived at 1 ms."""
    n = node(2, term=2, ignore_votes_while_led=True, **options)
    n.lease = 150_000                          # the minimum election timeout, in µs
    heartbeat = AppendEntries(1, 2, 2, 0, 0, (), 0)
    heartbeat.arrives = 1_000
    n.receive(heartbeat)
    return n


def arriving(msg, at):
    msg.arrives = at
    return msg


def test_thesis_4_2_3_ignore_votes_while_led():
    n = led_follower()
    msgs, reset, notes = n.receive(arriving(RequestVote(3, 2, 3, 5, 2), 150_999))
    assert (msgs, reset, n.term, n.voted_for, n.leader_id) == ([], False, 2, None, 1), \
        "within the minimum election timeout of hearing S1: neither a new term nor a vote"
    assert texts(2, notes) == ["S2 ignores S3's RequestVote for term 3: it heard from leader S1 149.999 ms ago, "
                               "within the minimum election timeout (150 ms), so it neither moves to term 3 nor "
                               "votes (thesis 4.2.3)."]
    (reply,), _, _ = n.receive(arriving(RequestVote(3, 2, 3, 5, 2), 151_000))
    assert reply.vote_granted and n.term == 3, "a minimum election timeout later, it is heard as usual"
    # Pre-votes are ignored the same way.
    m = led_follower(pre_vote=True)
    msgs, _, notes = m.receive(arriving(PreVote(3, 2, 3, 5, 2), 2_000))
    assert msgs == [] and codes(notes) == ["ignore_vote"] and "pre-vote request" in texts(2, notes)[0]


def test_thesis_4_2_3_a_leader_always_counts_as_led():
    n = node(1, term=2, role=LEADER, ignore_votes_while_led=True)
    msgs, _, notes = n.receive(arriving(RequestVote(3, 1, 9, 5, 2), 10_000_000))
    assert (msgs, n.role, n.term) == ([], LEADER, 2)
    assert texts(1, notes) == ["S1 ignores S3's RequestVote for term 9: S1 is the leader, so it neither moves to "
                               "term 9 nor votes (thesis 4.2.3)."]


def test_thesis_4_2_3_a_request_vote_of_a_leadership_transfer_is_not_ignored():
    n = led_follower()
    (reply,), _, notes = n.receive(arriving(RequestVote(3, 2, 3, 0, 0, transfer=True), 2_000))
    assert reply.vote_granted and n.term == 3 and "ignore_vote" not in codes(notes)


def removed_server_schedule(ignore_votes_while_led):
    """Thesis 4.2.3: S1 is removed from S1–S4 by S4. The leader stops sending to
    S1 once it appends C_new, so S1 never learns of it, stops hearing
    heartbeats and times out again and again."""
    c = Cluster(4, seed=6, ignore_votes_while_led=ignore_votes_while_led)
    elect(c, 4)
    c.submit("SET x 3")
    c.submit("SET y 1")
    c.run_for(300)
    c.change_config([2, 3, 4], method="single")
    first = len(c.trace)
    c.run_for(3000)
    return c, first


def test_thesis_4_2_3_a_removed_server_disrupts_the_cluster_unless_votes_are_ignored_while_led():
    c, first = removed_server_schedule(False)
    assert c.nodes[1].config["voters"] == [1, 2, 3, 4], "S1 never received C_new"
    deposed = [r for r in notes_in(c, "term", first) if "S1" in r["text"] and "stops being leader" in r["text"]]
    assert len(deposed) >= 3, "S1's RequestVotes depose the leader again and again"
    assert c.nodes[1].term > 5
    c, first = removed_server_schedule(True)
    assert c.leader() == 4 and c.nodes[4].term == 1, "the leader of term 1 leads on"
    ignored = notes_in(c, "ignore_vote", first)
    assert ignored and all(r["message"]["src"] == 1 for r in ignored)
    assert not notes_in(c, "leader", first) and c.violations == []


# ----- section 6, Figure 10: the unsafe direct switch ------------------------------------------

def conflicting_majorities(unsafe):
    """The lecture's slide (../shared/SCENARIOS.md E1): S3 leads C_old = S1–S3
    and grows it to C_new = S1–S5. Its new configuration reaches S4 and S5,
    then a partition leaves S1 and S2 with C_old. S1 stands with S2's vote,
    S5 with S3's and S4's."""
    c = Cluster(5, seed=1, members=[1, 2, 3], election_timeout=(5000, 9000),
                unsafe_direct_config_change=unsafe)
    elect(c, 3)
    c.submit("SET x 1")
    run_until(c, lambda c: c.nodes[3].commit_index == 1)
    c.change_config([1, 2, 3, 4, 5])
    run_until(c, lambda c: 4 in c.nodes[3].config["voters"])
    c.partition([1, 2], [3, 4, 5])              # the new configuration's AppendEntries to S1, S2 are lost
    run_until(c, lambda c: c.nodes[4].config == c.nodes[5].config == c.nodes[3].config)
    assert c.nodes[1].config == c.nodes[2].config == {"voters": [1, 2, 3], "old_voters": None, "learners": [4, 5]}
    c.timeout(1)
    run_until(c, lambda c: c.nodes[1].role == LEADER)
    c.timeout(5)
    run_until(c, lambda c: not [m for m in c.in_flight() if m.type.startswith("RequestVote")])
    return c


def test_6_unsafe_direct_switch_lets_two_disjoint_majorities_elect_two_leaders_in_one_term():
    c = conflicting_majorities(unsafe=True)
    assert c.nodes[3].log[-1].config == cfg((1, 2, 3, 4, 5)), "straight from C_old to C_new"
    assert c.nodes[1].role == c.nodes[5].role == LEADER and c.nodes[1].term == c.nodes[5].term == 2
    assert "S5 becomes leader for term 2 with votes from S3, S4, S5." in " ".join(texts_of(c))
    (v,) = [v for v in c.violations if v["property"] == "Election Safety"]
    assert v["nodes"] == [1, 5] and "S1 and S5 are both leaders of term 2" in v["text"]
    (switch,) = [t for t in texts_of(c) if "UNSAFE" in t]
    assert ("S3 switches straight from {S1–S3} + learners S4, S5 to {S1–S5} at index 3 (UNSAFE: servers switch at "
            "different moments, so a majority of the old configuration and a majority of the new one need not "
            "overlap).") in switch


def test_6_with_joint_consensus_the_same_schedule_elects_one_leader():
    c = conflicting_majorities(unsafe=False)
    assert c.nodes[3].log[-1].config == cfg((1, 2, 3, 4, 5), old=(1, 2, 3))
    assert c.nodes[1].role == LEADER and c.nodes[5].role == CANDIDATE and c.violations == []
    assert "S5 gets a vote from S3: 1 of 3 in C_old (2 needed) and 3 of 5 in C_new (3 needed)." in texts_of(c), \
        "a majority of C_new, but not of C_old"
    assert c.leaders() == {1: 3, 2: 1}


# ----- thesis 3.10: leadership transfer -------------------------------------------------------

def test_thesis_3_10_transfer_brings_the_target_up_to_date_then_it_wins_at_once():
    c = Cluster(5, seed=9, election_timeout=(1000, 2000))
    leader = elect(c)
    target = next(i for i in c.nodes if i != leader)
    c.disconnect(target)
    for k in range(3):
        c.submit(f"SET k{k} {k}")
    c.run_for(100)
    c.connect(target)
    first = len(c.trace)
    c.transfer_leadership(target)
    assert (f"S{leader} starts handing leadership to S{target} and stops taking client commands; S{leader} first "
            f"brings S{target}'s log up to date (thesis 3.10).") in c.trace[-1]["text"]
    assert c.submit("SET refused 1") is None
    assert (f"S{leader} is handing leadership to S{target}: it takes no client commands meanwhile."
            in c.trace[-1]["text"])
    run_until(c, lambda c: c.leader() == target, 500)
    said = texts_of(c, first)
    assert any(f"S{target}'s log matches S{leader}'s: S{leader} sends it TimeoutNow." in t for t in said)
    assert any(f"S{target} gets TimeoutNow from S{leader}: it starts an election at once, without waiting for its "
               f"timer, and its RequestVotes say the leader asked for it." in t for t in said)
    assert c.nodes[target].term == c.nodes[leader].term and c.nodes[leader].role == FOLLOWER
    assert c.now - c.trace[first]["time"] < 300, "long before any election timeout (1000 ms or more)"
    assert c.nodes[target].log[:3] == c.nodes[leader].log[:3] and c.violations == []


def test_thesis_3_10_a_transfer_is_abandoned_after_an_election_timeout():
    c = Cluster(5, seed=9)
    leader = elect(c)
    target = next(i for i in c.nodes if i != leader)
    c.crash(target)
    first = len(c.trace)
    c.transfer_leadership(target)
    start = c.now
    run_until(c, lambda c: c.nodes[leader].transfer_to is None)
    (gave_up,) = notes_in(c, "transfer_abandoned", first)
    assert gave_up["time"] - start == 150, "the leader's timer: the minimum election timeout"
    assert (f"An election timeout has passed and S{target} has not taken over: S{leader} gives up the transfer and "
            f"takes client commands again.") in gave_up["text"]
    assert c.leader() == leader and c.submit("SET x 1") is not None


# ----- the API: refusals change nothing -------------------------------------------------------

def cluster_with_leader(size=5, seed=2, **options):
    c = Cluster(size, seed=seed, **options)
    return c, elect(c)


REFUSALS = [
    ("unknown server", lambda c, l: c.change_config([1, 2, 7]), "There is no S7: this cluster has S1–S5."),
    ("no voters", lambda c, l: c.change_config([]), r"A configuration needs at least one voter, e.g. \[1, 2, 3\]."),
    ("same voters", lambda c, l: c.change_config([1, 2, 3, 4, 5]), r"The voters are already \{S1–S5\}."),
    ("bad method", lambda c, l: c.change_config([1, 2, 3], method="triple"),
     "The method is joint .* or single .*, not 'triple'."),
    ("two at once", lambda c, l: c.change_config([1, 2, 3], method="single"),
     r"A single-server change adds or removes one server, but 2 differ \(S4, S5\)"),
    ("transfer to itself", lambda c, l: c.transfer_leadership(l), r"S\d is already the leader."),
    ("transfer to no one", lambda c, l: c.transfer_leadership(6), "There is no S6: this cluster has S1–S5."),
]


@pytest.mark.parametrize("what, act, message", REFUSALS, ids=[r[0] for r in REFUSALS])
def test_refused_changes_and_transfers_say_why_and_leave_the_cluster_unchanged(what, act, message):
    c, leader = cluster_with_leader()
    before = fingerprint(c)
    with pytest.raises(ValueError, match=message):
        act(c, leader)
    assert fingerprint(c) == before


def test_a_transfer_needs_a_leader_and_a_voter_and_one_at_a_time():
    c = Cluster(3, seed=1)
    before = fingerprint(c)
    with pytest.raises(ValueError, match="There is no leader to hand leadership over."):
        c.transfer_leadership(2)
    assert fingerprint(c) == before
    leader = elect(c)
    new = c.add_server()
    before = fingerprint(c)
    with pytest.raises(ValueError, match=f"S{new} is not a voter in S{leader}'s configuration {{S1–S3}}: only a "
                                         f"voter can become leader."):
        c.transfer_leadership(new)
    assert fingerprint(c) == before
    c.change_config([1, 2, 3, new])                # S4 becomes a learner first: still not a voter
    with pytest.raises(ValueError, match=f"S{new} is not a voter in S{leader}'s configuration {{S1–S3}} \\+ "
                                         f"learner S{new}"):
        c.transfer_leadership(new)
    other = next(i for i in (1, 2, 3) if i != leader)
    c.crash(other)
    c.transfer_leadership(other)
    before = fingerprint(c)
    with pytest.raises(ValueError, match=f"S{leader} is already handing leadership to S{other}."):
        c.transfer_leadership(next(i for i in (1, 2, 3) if i not in (leader, other)))
    assert fingerprint(c) == before


def test_no_change_of_members_during_a_transfer_and_none_without_a_leader():
    c, leader = cluster_with_leader(3)
    other = next(i for i in c.nodes if i != leader)
    c.crash(other)
    c.transfer_leadership(other)
    before = fingerprint(c)
    with pytest.raises(ValueError, match=f"S{leader} is handing leadership to S{other}: it starts no change meanwhile."):
        c.change_config([1, 2])
    assert fingerprint(c) == before
    quiet = Cluster(3)
    assert quiet.change_config([1, 2]) is None, "no leader: nothing is appended"
    assert quiet.trace[-1]["text"] == ("A change of members is requested: voters S1, S2, by joint consensus. There "
                                       "is no leader right now: nobody accepts the request.")


def test_add_server_starts_an_empty_server_outside_every_configuration_up_to_nine():
    c, leader = cluster_with_leader(3)
    assert c.add_server() == 4
    n = c.nodes[4]
    assert (n.up, n.role, n.term, n.log, n.config) == \
        (True, FOLLOWER, 0, [], {"voters": [], "old_voters": None, "learners": []})
    assert c.trace[-1]["text"] == ("A new server is started. It is S4, with an empty log. It knows no configuration, "
                                   "so it starts no election: it waits until a leader adds it.")
    assert c.snapshot()["nodes"][3]["timer"] is None
    assert c.nodes[leader].config["voters"] == [1, 2, 3], "adding a server changes no configuration"
    c.run_for(1000)
    assert n.term == 0 and c.leader() == leader, "it waits quietly"
    big = Cluster(8)
    assert big.add_server() == 9
    before = fingerprint(big)
    with pytest.raises(ValueError, match="A cluster has at most 9 servers."):
        big.add_server()
    assert fingerprint(big) == before


def test_cluster_members_are_the_initial_voters_and_the_others_know_no_configuration():
    c = Cluster(5, seed=3, members=[1, 2, 3])
    assert [c.nodes[i].config["voters"] for i in c.nodes] == [[1, 2, 3]] * 3 + [[]] * 2
    assert c.config["members"] == [1, 2, 3]
    leader = elect(c)
    assert leader in (1, 2, 3)
    c.submit("SET x 1")
    c.run_for(500)
    assert c.nodes[leader].commit_index == 1 and c.nodes[4].log == c.nodes[5].log == [], "they are not replicated to"
    assert c.nodes[4].term == c.nodes[5].term == 0
    for bad, message in (([1, 6], "members: There is no S6"), ([], "members: A configuration needs at least one voter"),
                         ([2, 2], "members: Each server can be named only once")):
        with pytest.raises(ValueError, match=message):
            Cluster(5, members=bad)


def test_entries_say_their_kind():
    assert [Entry(1, "SET x 1").kind, Entry(1).kind, conf(1, (1, 2)).kind] == ["command", "noop", "config"]


# ----- from_state with members and configuration entries --------------------------------------

def test_from_state_with_members_and_configuration_entries():
    joint = {"term": 2, "config": {"voters": [1, 2, 3, 4], "old_voters": [1, 2, 3], "learners": []}}
    learners = {"term": 1, "config": {"voters": [1, 2, 3], "learners": [4]}}
    c = Cluster.from_state({"members": [1, 2, 3], "nodes": [
        {"id": 1, "term": 2, "role": "leader", "log": [learners, joint], "commit_index": 1},
        {"id": 2, "term": 2, "voted_for": 1, "log": [learners, joint]},
        {"id": 3, "term": 2, "voted_for": 1, "log": [learners]},
        {"id": 4, "term": 1, "log": [learners]},
    ]})
    s1, s3, s4 = c.nodes[1], c.nodes[3], c.nodes[4]
    assert s1.config == {"voters": [1, 2, 3, 4], "old_voters": [1, 2, 3], "learners": []} and s1.config_index == 2
    assert s3.config == s4.config == {"voters": [1, 2, 3], "old_voters": None, "learners": [4]}
    assert sorted(s1.next_index) == [2, 3, 4]
    assert [e.kind for e in s1.log] == ["config", "config"]
    c.run_for(500)
    assert s1.commit_index == 3 and c.nodes[1].log[-1].config == cfg((1, 2, 3, 4)), "then C_new, committed"
    exported = c.export()
    assert exported["initial"]["nodes"][0]["log"][1] == joint
    assert exported["config"]["members"] == [1, 2, 3]
    again = Cluster.replay(json.loads(json.dumps(exported)))
    assert list(again.trace) == list(c.trace)
    # The members may also be given beside the state.
    state = {"nodes": [{"id": 1, "term": 1, "role": "leader"}, {"id": 2, "term": 1, "voted_for": 1}, {"id": 3}]}
    by_argument = Cluster.from_state(state, members=[1, 2])
    assert [n.config["voters"] for n in by_argument.nodes.values()] == [[1, 2], [1, 2], []]
    assert by_argument.export()["config"]["members"] == [1, 2]


IMPOSSIBLE_STATES = [
    ("learner that votes", {"nodes": [{"id": 1, "term": 1, "log": [{"term": 1, "config": {"voters": [1], "learners": [1]}}]}]},
     "a learner is a server that does not vote; it cannot also be a voter"),
    ("command and configuration", {"nodes": [{"id": 1, "term": 1, "log": [{"term": 1, "command": "x", "config": {"voters": [1]}}]}]},
     "an entry holds a command or a configuration, not both"),
    ("unknown configuration field", {"nodes": [{"id": 1, "term": 1, "log": [{"term": 1, "config": {"voters": [1], "old": [1]}}]}]},
     "a configuration is"),
    ("voter that does not exist", {"nodes": [{"id": 1, "term": 1, "log": [{"term": 1, "config": {"voters": [1, 3]}}]}, {"id": 2}]},
     "There is no S3"),
    ("commit without C_old's majority", {"nodes": [
        {"id": 1, "term": 1, "log": [{"term": 1, "config": {"voters": [1, 4, 5], "old_voters": [1, 2, 3]}}], "commit_index": 1},
        {"id": 2, "term": 1}, {"id": 3, "term": 1},
        {"id": 4, "term": 1, "log": [{"term": 1, "config": {"voters": [1, 4, 5], "old_voters": [1, 2, 3]}}]},
        {"id": 5, "term": 1, "log": [{"term": 1, "config": {"voters": [1, 4, 5], "old_voters": [1, 2, 3]}}]}]},
     r"S1's commit_index 1 is impossible: an entry is committed only once a majority of the voters \(2 of 3 in C_old"),
    ("leader outside the members", {"members": [1, 2], "nodes": [
        {"id": 1, "term": 1, "voted_for": 3}, {"id": 2, "term": 1, "voted_for": 3},
        {"id": 3, "term": 1, "role": "leader"}]},
     "S3 cannot lead term 1: it is not one of the initial members and its log holds no configuration entry"),
    ("unknown member", {"members": [1, 4], "nodes": [{"id": 1}, {"id": 2}]}, "members: There is no S4"),
    ("progress for an outsider", {"members": [1, 2], "nodes": [
        {"id": 1, "term": 1, "role": "leader", "next_index": {"3": 1}}, {"id": 2, "term": 1, "voted_for": 1},
        {"id": 3}]},
     r"S1: next_index names S3, outside its configuration \{S1, S2\}: a leader keeps them only for the servers it "
     r"replicates to\."),
]


@pytest.mark.parametrize("what, state, message", IMPOSSIBLE_STATES, ids=[s[0] for s in IMPOSSIBLE_STATES])
def test_from_state_refuses_impossible_configurations_with_the_reason(what, state, message):
    with pytest.raises(ValueError, match=message):
        Cluster.from_state(state)


# ----- the history: seek, step back, export and replay ----------------------------------------

def membership_history():
    c = Cluster(3, seed=11, checkpoint_interval=50)
    leader = elect(c)
    c.submit("SET x 1")
    c.run_for(200)
    marks = {"before_add": c.seq}
    c.add_server()
    c.add_server()
    marks["added"] = c.seq
    c.change_config([1, 2, 3, 4, 5])
    c.run_for(120)
    marks["joint"] = c.seq
    c.run_for(600)
    assert c.nodes[leader].config["voters"] == [1, 2, 3, 4, 5]
    c.transfer_leadership(4)
    c.run_for(400)
    assert c.leader() == 4
    marks["transferred"] = c.seq
    c.change_config([i for i in range(1, 6) if i != leader], method="single")
    c.run_for(800)
    assert c.nodes[4].config["voters"] == [i for i in range(1, 6) if i != leader]
    marks["end"] = c.seq
    return c, marks


def full_state(c):
    return json.dumps(c.snapshot(), sort_keys=True), [repr(n.save()) for n in c.nodes.values()]


def test_seek_and_step_back_across_new_servers_and_configuration_changes_restore_exactly():
    c, marks = membership_history()
    seqs = sorted(set(marks.values()) | {1, marks["added"] - 1, marks["joint"] + 1, c.seq // 2, c.seq - 1})
    first = {}
    for s in seqs:
        c.seek(s)
        first[s] = full_state(c)
    for s in reversed(seqs):
        c.seek(s)
        assert full_state(c) == first[s], f"seq {s}"
    c.seek(marks["before_add"])
    assert sorted(c.nodes) == [1, 2, 3], "servers added later are gone again"
    c.seek(marks["end"])
    assert sorted(c.nodes) == [1, 2, 3, 4, 5]
    # Stepping back one record at a time across the additions gives the same states.
    for s in range(marks["added"] + 2, marks["before_add"] - 1, -1):
        c.seek(s)
        assert len(c.nodes) == 3 + min(2, max(0, s - marks["before_add"]))
    c.seek(marks["joint"])
    assert full_state(c) == first[marks["joint"]]
    assert c.violations == []


def test_export_and_replay_round_trip_a_history_with_membership_actions():
    c, marks = membership_history()
    data = json.loads(json.dumps(c.export()))
    kinds = [a["type"] for a in data["actions"]]
    assert {"add_server", "change_config", "transfer_leadership"} <= set(kinds)
    again = Cluster.replay(data)
    assert list(again.trace) == list(c.trace)
    assert full_state(again) == full_state(c)
    c.seek(marks["joint"])
    data = json.loads(json.dumps(c.export()))
    again = Cluster.replay(data)
    assert again.seq == marks["joint"] and full_state(again) == full_state(c)
    again.seek(marks["end"])
    c.seek(marks["end"])
    assert full_state(again) == full_state(c)


def state_of(c, size):
    """A cluster's state as Cluster.from_state takes it, configuration entries included."""
    out = []
    for i, n in c.nodes.items():
        log = [{"term": e.term, "config": e.config.to_dict()} if e.config is not None
               else {"term": e.term, "command": e.command} for e in n.log]
        out.append({"id": i, "term": n.term, "voted_for": n.voted_for, "up": n.up,
                    "role": n.role if n.up else "follower", "commit_index": n.commit_index if n.up else 0,
                    "log": log})
    return {"members": list(range(1, size + 1)), "nodes": out}


def test_every_state_a_run_with_configuration_changes_reaches_is_accepted_by_from_state():
    """The state rules never refuse a reachable state: after every event of
    random runs with faults, new servers, changes of members and transfers."""
    from faults import faulty_run
    seen = []

    for seed in range(16):
        size = 2 + seed % 4

        def accept(c):
            try:
                Cluster.from_state(state_of(c, size))
            except ValueError as e:
                pytest.fail(f"seed {seed}, seq {c.seq}: a reachable state was refused: {e}")
            seen.append(c.seq)

        faulty_run(seed, size=size, fault_ms=2000, settle_ms=600, membership=0.4, calm=seed % 2 == 1,
                   watch=accept, pre_vote=seed % 3 == 0)
    assert len(seen) > 4000


def test_a_leaders_timer_that_has_nothing_left_to_watch_stops():
    c = Cluster(3, seed=1, check_quorum=True)
    leader = elect(c)
    c.set_options(check_quorum=False)
    first = len(c.trace)
    c.run_for(400)
    (stopped,) = [r for r in c.trace[first:] if r["kind"] == "timeout"]
    assert stopped["node"] == leader and stopped["text"] == (f"S{leader} is the leader: its timer has nothing left "
                                                              f"to watch, and stops.")
    assert c.snapshot()["nodes"][leader - 1]["timer"] is None and c.leader() == leader
    # Turned on again, CheckQuorum starts the leader's timer afresh.
    c.set_options(check_quorum=True)
    c.disconnect(leader)
    c.run_for(400)
    assert c.nodes[leader].role == FOLLOWER


def test_thesis_3_10_timeout_now_starts_a_real_election_at_once_even_with_pre_vote():
    n = node(2, term=3, log=[3], pre_vote=True, ignore_votes_while_led=True)
    msgs, reset, notes = n.receive(TimeoutNow(1, 2, 3))
    assert (n.role, n.term, n.voted_for) == (CANDIDATE, 4, 2) and reset
    assert {(m.type, m.transfer) for m in msgs} == {("RequestVote", True)}, "no pre-vote first, and marked as a transfer"
    assert codes(notes) == ["timeout_now_taken", "election"]
    # A server that is not a voter does not take it.
    learner = node(4, term=3, log=[conf(3, (1, 2, 3), learners=(4,))])
    msgs, _, notes = learner.receive(TimeoutNow(1, 4, 3))
    assert (msgs, learner.role, learner.term) == ([], FOLLOWER, 3) and codes(notes) == ["not_voter"]


# ----- rules added after the review ------------------------------------------------------

def test_thesis_9_6_a_server_that_hears_its_leader_refuses_a_pre_vote_even_to_an_up_to_date_log():
    """The purpose of PreVote: a server back from a partition, with a log as
    up-to-date as anyone's, times out but cannot start a needless election."""
    c = Cluster(5, seed=3, pre_vote=True)
    leader = elect(c)
    other = next(i for i in c.nodes if i != leader)
    c.disconnect(other)
    c.run_for(1500)
    c.connect(other)
    c.run_for(30)
    first = len(c.trace)
    c.timeout(other)
    c.run_for(600)
    assert c.leader() == leader and c.nodes[leader].term == 1
    refusals = notes_in(c, "pre_refuse_led", first)
    assert {r["node"] for r in refusals} == set(c.nodes) - {other}
    assert notes_in(c, "pre_grant", first) == [] and notes_in(c, "election", first) == []
    assert any(f"S{leader} would not vote for S{other} in term 2: S{leader} is the leader" in r["text"]
               for r in refusals)


def test_thesis_4_2_1_a_learner_too_slow_ever_to_catch_up_is_given_up():
    c = Cluster(3, seed=4, entries_per_append=1, latency=(5, 10))
    elect(c)
    new = c.add_server()
    c.change_config([1, 2, 3, new], method="single")
    for _ in range(600):                    # commands arrive faster than one entry per round trip
        c.submit("SET x 1")
        c.run_for(4)
    given_up = notes_in(c, "learner_unavailable")
    assert given_up and "too slow ever to catch up" in given_up[0]["text"]
    assert c.nodes[c.leader()].config["voters"] == [1, 2, 3]
    assert c.change_config([1, 2], method="single") is not None, "the next change may start"


def test_thesis_3_10_no_transfer_to_a_server_the_change_under_way_removes():
    c, leader = cluster_with_leader()
    leaving = next(i for i in c.nodes if i != leader)
    c.change_config([i for i in c.nodes if i != leaving])
    before = fingerprint(c)
    with pytest.raises(ValueError, match=f"S{leaving} is leaving the configuration"):
        c.transfer_leadership(leaving)
    assert fingerprint(c) == before
