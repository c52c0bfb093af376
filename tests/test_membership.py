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
    assert (f"C_old,new is committed, so S{leader} appends C_new {{S1–S5}} at index 4: once it commits, only its "
            f"voters count, and servers outside it can be shut down.") in new["text"]
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
            assert (f"S{leader} checks its quorum: in the last election timeout it heard from no other server "
                    f"(counting itself, not 3 of 5 (S1–S5)): it steps down (CheckQuorum), since the others may "
                    f"have elected a new leader.") in lost["text"]


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
