"""One test per rule of the Raft paper's Figure 2, run against a single
sans-IO Node: feed it one input, look at what it says back.

Test names carry the paper's section for the rule.
"""
import pytest

from raftviz.raft import (AppendEntries, AppendEntriesReply, CANDIDATE, Entry, FOLLOWER, LEADER, Node,
                          Options, RequestVote, RequestVoteReply)
from raftviz.raft.notes import RejectMissing

PEERS = (1, 2, 3, 4, 5)


def node(i=1, term=0, log=(), role=FOLLOWER, voted_for=None, commit_index=0, **options):
    n = Node(i, PEERS, Options(**options))
    entries = [Entry(t) if isinstance(t, int) else t for t in log]
    n.load_state(term, voted_for if role == FOLLOWER else i, entries, role, commit_index)
    return n


def codes(notes):
    return [n.code for n in notes]


def append(src, dst, term, prev, prev_term, entries=(), commit=0):
    es = tuple(Entry(t) if isinstance(t, int) else t for t in entries)
    return AppendEntries(src, dst, term, prev, prev_term, es, commit)


# ----- 5.1: terms --------------------------------------------------------------

def test_5_1_higher_term_in_any_message_makes_a_leader_a_follower_and_clears_its_vote():
    n = node(term=3, role=LEADER, log=[3])
    msgs, reset, notes = n.receive(RequestVoteReply(2, 1, 5, False))
    assert (n.term, n.role, n.voted_for) == (5, FOLLOWER, None)
    assert reset, "a deposed leader needs an election timer again"
    assert notes[0][:3] == ("term", 3, 5)


def test_5_1_higher_term_does_not_restart_a_followers_timer_by_itself():
    n = node(term=3, log=[3])
    _, reset, _ = n.receive(RequestVote(2, 1, 4, 0, 0))        # refused: its log is behind
    assert n.term == 4 and not reset


@pytest.mark.parametrize("msg", [RequestVote(2, 1, 2, 9, 9), append(2, 1, 2, 0, 0)])
def test_5_1_requests_with_a_stale_term_are_rejected_with_the_receivers_term(msg):
    n = node(term=3)
    (reply,), reset, notes = n.receive(msg)
    assert reply.term == 3
    assert not getattr(reply, "vote_granted", getattr(reply, "success", None))
    assert not reset
    assert codes(notes)[0] in ("refuse_term", "reject_term")


# ----- 5.2: leader election ----------------------------------------------------

def test_5_2_timeout_starts_an_election_increment_term_vote_for_self_ask_everyone():
    n = node(term=4, log=[1, 4])
    msgs, reset, notes = n.election_timeout()
    assert (n.role, n.term, n.voted_for, n.votes) == (CANDIDATE, 5, 1, {1})
    assert reset
    assert sorted(m.dst for m in msgs) == [2, 3, 4, 5]
    assert all((m.type, m.term, m.last_log_index, m.last_log_term) == ("RequestVote", 5, 2, 4) for m in msgs)
    assert notes == [("election", 5)]


def test_5_2_a_candidate_that_times_out_starts_a_new_election():
    n = node(term=5, role=CANDIDATE)
    n.election_timeout()
    assert (n.role, n.term, n.votes) == (CANDIDATE, 6, {1})


def test_5_2_votes_from_a_majority_make_a_leader_that_sends_empty_append_entries():
    n = node(term=4, role=CANDIDATE, log=[2, 4])
    assert n.receive(RequestVoteReply(2, 1, 4, True))[0] == []
    msgs, _, notes = n.receive(RequestVoteReply(3, 1, 4, True))
    assert n.role == LEADER and ("leader", 4, (1, 2, 3)) in notes
    assert sorted(m.dst for m in msgs) == [2, 3, 4, 5]
    assert all(m.type == "AppendEntries" and m.entries == () and m.prev_log_index == 2 for m in msgs)
    # Reinitialized after election: nextIndex = last log index + 1, matchIndex = 0.
    assert n.next_index == {2: 3, 3: 3, 4: 3, 5: 3} and n.match_index == {2: 0, 3: 0, 4: 0, 5: 0}


def test_5_2_refused_votes_are_counted_as_refusals_not_votes():
    n = node(term=4, role=CANDIDATE)
    n.receive(RequestVoteReply(2, 1, 4, False))
    n.receive(RequestVoteReply(3, 1, 4, False))
    assert n.role == CANDIDATE and n.votes == {1}


def test_5_2_a_candidate_concedes_to_a_leader_of_its_own_term():
    n = node(term=4, role=CANDIDATE)
    (reply,), reset, notes = n.receive(append(2, 1, 4, 0, 0))
    assert (n.role, n.term, n.leader_id) == (FOLLOWER, 4, 2)
    assert reply.success and reset and "concede" in codes(notes)


def test_5_2_one_vote_per_term_first_come_first_served():
    n = node(term=3)
    (r1,), reset1, _ = n.receive(RequestVote(2, 1, 4, 0, 0))
    (r2,), reset2, notes = n.receive(RequestVote(3, 1, 4, 0, 0))
    assert r1.vote_granted and reset1
    assert not r2.vote_granted and not reset2, "refusing a vote does not restart the timer"
    assert notes[-1] == ("refuse_voted", 3, 2, 4)
    (r3,), _, _ = n.receive(RequestVote(2, 1, 4, 0, 0))     # the same candidate asking again
    assert r3.vote_granted


# ----- 5.4.1: election restriction ------------------------------------------------

@pytest.mark.parametrize("mine, theirs, granted", [
    ([1, 1, 3], (3, 1), False),      # my last term 3 > 1
    ([1, 1, 3], (2, 4), True),       # their last term 4 > 3, although shorter
    ([1, 1, 3], (5, 2), False),      # longer, but last term 2 < 3
    ([1, 1, 2], (3, 2), True),       # same last term, same length
    ([1, 1, 2], (2, 2), False),      # same last term, shorter
    ([1, 1, 2], (4, 2), True),       # same last term, longer
])
def test_5_4_1_vote_only_for_a_log_at_least_as_up_to_date(mine, theirs, granted):
    last_index, last_term = theirs
    n = node(term=4, log=mine)
    (reply,), _, notes = n.receive(RequestVote(2, 1, 5, last_index, last_term))
    assert reply.vote_granted is granted
    if not granted:
        assert notes[-1][0] == "refuse_log"


def test_5_4_1_unsafe_switch_skips_the_up_to_date_check():
    n = node(term=4, log=[1, 1, 3], unsafe_vote_without_log_check=True)
    (reply,), _, notes = n.receive(RequestVote(2, 1, 5, 0, 0))
    assert reply.vote_granted and notes[-1] == ("grant", 2, 5, True)


# ----- 5.3: log replication (follower side) ---------------------------------------

def test_5_3_reject_when_no_entry_at_prev_log_index():
    n = node(term=2, log=[1, 2])
    (reply,), reset, notes = n.receive(append(2, 1, 2, 3, 2, [2]))
    assert not reply.success and reset, "a rejection from the current leader still restarts the timer"
    assert notes[-1] == RejectMissing(2, 3, 2, 2, None, None)
    assert (notes[-1].prev_log_index, notes[-1].my_last_index) == (3, 2)
    assert [e.term for e in n.log] == [1, 2]


def test_5_3_reject_when_the_term_at_prev_log_index_differs():
    n = node(term=3, log=[1, 1, 1, 1])
    (reply,), _, notes = n.receive(append(2, 1, 3, 4, 2))
    assert not reply.success and notes[-1][0] == "reject_conflict"


def test_5_3_a_conflicting_entry_and_all_that_follow_it_are_deleted():
    n = node(term=3, log=[Entry(1, "x←3"), Entry(1, "q←8"), Entry(1, "j←2"), Entry(1, "y←6"), Entry(1, "a←x")])
    (reply,), _, notes = n.receive(append(2, 1, 3, 2, 1, [Entry(2, "x←q"), Entry(3, "y←1")]))
    assert reply.success and reply.match_index == 4
    assert n.log == [Entry(1, "x←3"), Entry(1, "q←8"), Entry(2, "x←q"), Entry(3, "y←1")]
    assert ("truncate", 3, 5, 1, 2) in notes


def test_5_3_an_empty_heartbeat_never_deletes_extra_entries():
    n = node(term=2, log=[2, 2, 2, 2, 2])
    (reply,), _, notes = n.receive(append(2, 1, 3, 3, 2))
    assert reply.success and reply.match_index == 3
    assert len(n.log) == 5, "extra entries stay until a conflicting entry actually arrives"
    assert "truncate" not in codes(notes)


def test_5_3_entries_already_present_are_not_appended_twice():
    n = node(term=2, log=[1, 2, 2])
    (reply,), _, notes = n.receive(append(2, 1, 2, 1, 1, [2, 2]))
    assert reply.success and len(n.log) == 3 and "append" not in codes(notes)


def test_5_3_follower_commit_index_is_min_of_leader_commit_and_last_new_entry():
    n = node(term=2, log=[1, 1, 1, 1, 1])
    n.receive(append(2, 1, 2, 2, 1, [], commit=4))
    assert n.commit_index == 2, "only up to the entry verified to match the leader"
    n.receive(append(2, 1, 2, 3, 1, [1], commit=4))
    assert n.commit_index == 4
    n.receive(append(2, 1, 2, 1, 1, [], commit=9))
    assert n.commit_index == 4, "commitIndex never moves backwards"


def test_5_3_committed_entries_are_applied_in_order_to_the_state_machine():
    n = node(term=2, log=[Entry(1, "SET x 1"), Entry(1, "SET y 2"), Entry(2, "DEL x"), Entry(2, "hello")])
    n.receive(append(2, 1, 2, 4, 2, [], commit=2))
    assert (n.last_applied, n.store) == (2, {"x": "1", "y": "2"})
    n.receive(append(2, 1, 2, 4, 2, [], commit=4))
    assert (n.last_applied, n.store) == (4, {"y": "2"})


# ----- 5.3: log replication (leader side) ------------------------------------------

def leader(log, term, **options):
    n = node(term=term, role=LEADER, log=log, **options)
    return n


def test_5_3_client_command_is_appended_to_the_leaders_log_and_sent_to_caught_up_followers():
    n = leader([], 2)
    msgs, _, notes = n.propose("SET x 1")
    assert n.log == [Entry(2, "SET x 1")] and notes[0] == ("propose", 1, "SET x 1")
    assert sorted(m.dst for m in msgs) == [2, 3, 4, 5]
    assert all(m.entries == (Entry(2, "SET x 1"),) and m.prev_log_index == 0 for m in msgs)


def test_5_3_rejection_decrements_next_index_by_one_and_retries_with_one_probe():
    n = leader([1, 1, 1, 2], 3)
    n.heartbeat([2])
    msgs, _, notes = n.receive(AppendEntriesReply(2, 1, 3, False, 4, 0))
    assert n.next_index[2] == 4 and notes == [("retry", 2, 4)]
    (probe,) = msgs
    assert (probe.prev_log_index, probe.prev_log_term, probe.entries) == (3, 1, ())
    # A late duplicate rejection of the earlier probe must not move nextIndex again.
    assert n.receive(AppendEntriesReply(2, 1, 3, False, 4, 0))[0] == []
    assert n.next_index[2] == 4


def test_5_3_success_updates_match_and_next_index_then_sends_what_is_missing():
    n = leader([1, 1, 1, 2], 3, entries_per_append=2)
    n.heartbeat([2])
    msgs, _, _ = n.receive(AppendEntriesReply(2, 1, 3, True, 4, 2))
    assert (n.match_index[2], n.next_index[2]) == (2, 3)
    (m,) = msgs
    assert (m.prev_log_index, [e.term for e in m.entries]) == (2, [1, 2])


# ----- 5.3 / 5.4.2: commitment ------------------------------------------------------

def test_5_4_2_commit_needs_a_majority_and_an_entry_of_the_current_term():
    n = leader([2, 4], 4)
    _, _, notes = n.receive(AppendEntriesReply(2, 1, 4, True, 0, 1))
    _, _, notes = n.receive(AppendEntriesReply(3, 1, 4, True, 0, 1))
    assert n.commit_index == 0, "index 1 (term 2) is on 3 of 5 but not from term 4"
    assert notes[-1][0] == "old_term_majority"
    n.receive(AppendEntriesReply(2, 1, 4, True, 1, 2))
    _, _, notes = n.receive(AppendEntriesReply(3, 1, 4, True, 1, 2))
    assert n.commit_index == 2, "index 2 (term 4) commits, and index 1 with it"
    assert ("commit", 0, 2, (1, 2, 3), False, None) in notes


def test_5_4_2_unsafe_switch_commits_earlier_term_entries_by_counting():
    n = leader([2, 4], 4, unsafe_commit_by_counting=True)
    n.receive(AppendEntriesReply(2, 1, 4, True, 0, 1))
    _, _, notes = n.receive(AppendEntriesReply(3, 1, 4, True, 0, 1))
    assert n.commit_index == 1 and ("commit", 0, 1, (1, 2, 3), True, None) in notes


# ----- 5.6 / Figure 2 persistent state ------------------------------------------------

def test_persistent_state_survives_a_crash_volatile_state_does_not():
    n = node(term=4, role=LEADER, log=[Entry(1, "SET a 1"), Entry(4, "SET b 2")], commit_index=2)
    n.crash()
    n.restart()
    assert (n.term, n.voted_for, [e.term for e in n.log]) == (4, 1, [1, 4])
    assert (n.role, n.commit_index, n.last_applied, n.store) == (FOLLOWER, 0, 0, {})
    n.receive(append(2, 1, 4, 2, 4, [], commit=2))
    assert n.store == {"a": "1", "b": "2"}, "it rebuilds the store by re-applying from index 1"


def test_unsafe_forget_vote_loses_voted_for_in_a_crash():
    n = node(term=4, voted_for=2, unsafe_forget_vote=True)
    n.crash()
    n.restart()
    assert n.voted_for is None


def test_fast_backup_hints_name_the_conflicting_term_and_its_first_index():
    n = node(term=3, log=[1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3], fast_backup=True)
    (reply,), _, _ = n.receive(append(2, 1, 8, 10, 6))
    assert (reply.conflict_term, reply.conflict_index) == (3, 7)
    short = node(term=3, log=[1, 1], fast_backup=True)
    (reply,), _, _ = short.receive(append(2, 1, 8, 10, 6))
    assert (reply.conflict_term, reply.conflict_index) == (None, 3)
