"""One Raft server as a pure state machine: exactly the rules of Figure 2.

A Node never touches a clock, a socket or a random number. It is fed one
input at a time:

    node.election_timeout()       its election timer fired
    node.heartbeat(peers)         (leader) these followers are due an AppendEntries
    node.receive(message)         an RPC or a reply arrived
    node.propose(command)         (leader) a client command

and each call returns an Output tuple ``(messages, reset_timer, notes)``:
the messages to send; whether to restart the election timer with a fresh
random timeout (the host picks the duration); and notes, small named tuples
that say what the node decided and why, which the host turns into plain
language (see notes.py). The host also restarts a leader's heartbeat timer for every
follower it sends an AppendEntries to.

crash() and restart() model a server losing its volatile state; currentTerm,
votedFor and the log survive, as Figure 2 requires of persistent state.

Every change of role goes through become_follower(), become_candidate() or
become_leader() (etcd raft.go's pattern), each of which sets one documented
set of fields, so no path can leave a field of the old role behind.
save() and restore() copy the whole node, for the host's checkpoints.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import NamedTuple

from . import kv
from .messages import AppendEntries, AppendEntriesReply, Entry, RequestVote, RequestVoteReply
from .notes import (Accept, Append, Apply, Commit, Concede, Election, Grant, Heartbeat, IgnoredTimeout, Leader,
                    Match, NotLeader, OldTermMajority, Propose, RefuseLog, RefuseTerm, RefuseVoted, RejectConflict,
                    RejectMissing, RejectSameTermLeader, RejectTerm, Retry, StaleReply, Term, Truncate, Votes)

FOLLOWER, CANDIDATE, LEADER = "follower", "candidate", "leader"


def _option(default, label: str, doc: str, range_: tuple | None = None):
    return field(default=default, metadata={"label": label, "doc": doc, "range": range_})


@dataclass(frozen=True)
class Options:
    """Engine options. The unsafe_* switches break one rule of Figure 2 each,
    so a class can watch the safety monitor catch what the rule prevents."""
    # Each option's label and description (what the page shows) are its metadata.
    entries_per_append: int = _option(4, "Entries per AppendEntries",
                                      "At most this many log entries in one AppendEntries.", (1, 100))
    noop_on_election: bool = _option(False, "No-op entry on election",
                                     "A new leader appends an empty entry of its own term.")
    fast_backup: bool = _option(False, "Fast log backup",
                                "Rejections say where the follower's conflicting term starts (section 5.3).")
    unsafe_commit_by_counting: bool = _option(
        False, "Commit earlier-term entries by counting",
        "Breaks the rule of Figure 8: a leader commits an old-term entry once a majority stores it.")
    unsafe_vote_without_log_check: bool = _option(
        False, "Vote without the up-to-date check",
        "Breaks the election restriction (5.4.1): a server with a stale log can win.")
    unsafe_forget_vote: bool = _option(
        False, "Forget votedFor in a crash",
        "Breaks the persistence rule: a restarted server may vote twice in one term.")

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    @classmethod
    def described(cls) -> list:
        """(name, default, label, description, (lowest, highest) or None) for each option."""
        return [(f.name, f.default, f.metadata["label"], f.metadata["doc"], f.metadata["range"]) for f in fields(cls)]

    @classmethod
    def unsafe_names(cls) -> tuple[str, ...]:
        return tuple(n for n in cls.names() if n.startswith("unsafe_"))


class SavedNode(NamedTuple):
    """A node's whole state at one moment (Node.save). The containers are
    copies nobody changes, so checkpoints can share them."""
    term: int
    voted_for: int | None
    log: object              # a tuple of entries, or the host's own frozen form of the log
    up: bool
    role: str
    commit_index: int
    last_applied: int
    store: dict
    leader_id: int | None
    votes: frozenset
    next_index: dict
    match_index: dict
    in_flight: dict


class Node:
    def __init__(self, id: int, peers, options: Options | None = None):
        self.id = id
        self.peers = tuple(p for p in peers if p != id)
        self.options = options or Options()
        self.majority = (len(self.peers) + 1) // 2 + 1
        # Persistent state on all servers.
        self.term = 0
        self.voted_for: int | None = None
        self.log: list[Entry] = []
        self.up = True
        self._reset_volatile()

    def _reset_volatile(self) -> None:
        """Volatile state starts empty, as after a restart: a follower that
        knows no leader and has applied nothing."""
        self.commit_index = 0
        self.last_applied = 0
        self.store: dict[str, str] = {}      # the state machine (kv.py)
        self.become_follower(self.term)

    # ----- role changes ----------------------------------------------------
    def become_follower(self, term: int, leader_id: int | None = None) -> None:
        """Follow in `term`: on seeing a newer term, on hearing the current
        term's leader, and after a restart. A newer term clears votedFor (no
        vote given in it yet). Sets role, term, leader_id; clears the votes
        and the leader's nextIndex, matchIndex and in-flight probes."""
        if term > self.term:
            self.term = term
            self.voted_for = None
        self.role = FOLLOWER
        self.leader_id = leader_id           # the leader this node last heard from in its term
        self.votes: set[int] = set()         # candidates: who granted a vote this term
        self._clear_progress()

    def become_candidate(self) -> None:
        """Start an election (section 5.2): increment currentTerm and vote
        for self; no leader is known in the new term. Sets role, term,
        voted_for, votes, leader_id; clears the leader's bookkeeping."""
        self.term += 1
        self.role = CANDIDATE
        self.voted_for = self.id
        self.votes = {self.id}
        self.leader_id = None
        self._clear_progress()

    def become_leader(self) -> None:
        """Lead the current term. Sets role and leader_id, and reinitializes
        after election nextIndex = last log index + 1 and matchIndex = 0 for
        every follower, with nothing in flight. Keeps votes, so the picture
        can still count late votes."""
        self.role = LEADER
        self.leader_id = self.id
        nxt = len(self.log) + 1
        self.next_index = {p: nxt for p in self.peers}
        self.match_index = {p: 0 for p in self.peers}
        self.in_flight = {}

    def _clear_progress(self) -> None:
        self.next_index: dict[int, int] = {}
        self.match_index: dict[int, int] = {}
        # Leaders: prev_log_index of the AppendEntries outstanding to each follower.
        # One at a time, so each rejection moves nextIndex exactly one step.
        self.in_flight: dict[int, int] = {}

    def load_state(self, term: int, voted_for, log, role: str, commit_index: int, up: bool = True) -> None:
        """Start from a given state (a lecture case). Entries up to
        commit_index count as already applied to the state machine."""
        self.term, self.voted_for, self.log, self.up = term, voted_for, list(log), up
        self._reset_volatile()
        if role == LEADER:
            self.become_leader()
        elif role == CANDIDATE:
            # In the middle of its election for `term`: become_candidate()
            # moves to the term, then the state's own votedFor is kept.
            self.term -= 1
            self.become_candidate()
            self.voted_for = voted_for
        if commit_index:
            self._commit_to(commit_index, [])

    # ----- checkpoints -----------------------------------------------------
    def save(self, log=None, store=None) -> SavedNode:
        """This node's whole state. The host may pass its own immutable
        copies of the log and the store, to share them between checkpoints;
        by default they are copied here."""
        return SavedNode(self.term, self.voted_for, tuple(self.log) if log is None else log, self.up,
                         self.role, self.commit_index, self.last_applied,
                         dict(self.store) if store is None else store, self.leader_id,
                         frozenset(self.votes), dict(self.next_index), dict(self.match_index),
                         dict(self.in_flight))

    def restore(self, saved: SavedNode, log: list | None = None) -> None:
        """Become exactly the node save() saw. `log`: the log as a list, when
        saved.log is in the host's own frozen form."""
        self.term, self.voted_for, self.up, self.role = saved.term, saved.voted_for, saved.up, saved.role
        self.log = list(saved.log) if log is None else log
        self.commit_index, self.last_applied = saved.commit_index, saved.last_applied
        self.store, self.leader_id = dict(saved.store), saved.leader_id
        self.votes = set(saved.votes)
        self.next_index, self.match_index = dict(saved.next_index), dict(saved.match_index)
        self.in_flight = dict(saved.in_flight)

    # ----- helpers ---------------------------------------------------------
    @property
    def last_log_index(self) -> int:
        return len(self.log)

    @property
    def last_log_term(self) -> int:
        return self.log[-1].term if self.log else 0

    def term_at(self, index: int) -> int:
        return self.log[index - 1].term if index > 0 else 0

    # ----- crash and restart -----------------------------------------------
    def crash(self) -> None:
        self.up = False
        self._reset_volatile()
        if self.options.unsafe_forget_vote:
            self.voted_for = None

    def restart(self) -> None:
        self.up = True
        self._reset_volatile()

    # ----- rules for all servers -------------------------------------------
    def _observe_term(self, term: int, src: int | None, notes: list) -> bool:
        """If RPC request or response contains term T > currentTerm: set
        currentTerm = T, convert to follower. Returns True if a leader stepped
        down, which then needs an election timer again."""
        if term <= self.term:
            return False
        was = self.role
        notes.append(Term(self.term, term, src, was))
        self.become_follower(term)
        return was == LEADER

    def _commit_to(self, index: int, notes: list) -> None:
        """Advance commitIndex and apply newly committed entries in order."""
        self.commit_index = index
        first = self.last_applied + 1
        if first > index:
            return
        store, log = self.store, self.log
        for i in range(first - 1, index):
            kv.apply(store, log[i].command)
        self.last_applied = index
        notes.append(Apply(first, index))

    # ----- timers ------------------------------------------------------------
    def election_timeout(self):
        """Followers and candidates: start an election (section 5.2)."""
        if self.role == LEADER or not self.up:
            return [], False, [IgnoredTimeout(self.role, self.up)]
        self.become_candidate()
        notes = [Election(self.term)]
        if len(self.votes) >= self.majority:        # a cluster of one
            return self._win_election(notes), True, notes
        last_index, last_term = self.last_log_index, self.last_log_term
        msgs = [RequestVote(self.id, p, self.term, last_index, last_term) for p in self.peers]
        return msgs, True, notes

    def heartbeat(self, peers):
        """Leader: these followers heard nothing from us for a heartbeat
        interval. Send each its current AppendEntries: empty if it is caught
        up, the next entries otherwise; it doubles as the retry of a lost one."""
        if self.role != LEADER:
            return [], False, []
        return [self._append_entries(p) for p in peers], False, [Heartbeat(tuple(peers))]

    # ----- client commands ---------------------------------------------------
    def propose(self, command: str | None):
        """Leader: append a client command to the log and start replicating it
        to every follower that is caught up and has nothing outstanding."""
        if self.role != LEADER:
            return [], False, [NotLeader(self.role, self.leader_id)]
        self.log.append(Entry(self.term, command))
        index = len(self.log)
        notes = [Propose(index, command)]
        msgs = [self._append_entries(p) for p in self.peers
                if p not in self.in_flight and self.match_index[p] + 1 == self.next_index[p] == index]
        if self.majority == 1:
            self._advance_commit(notes)                 # a cluster of one commits at once
        return msgs, False, notes

    # ----- receiving ---------------------------------------------------------
    def receive(self, msg):
        notes: list = []
        reset = msg.term > self.term and self._observe_term(msg.term, msg.src, notes)
        msgs, reset_now = _HANDLERS[msg.type](self, msg, notes)
        return msgs, reset or reset_now, notes

    def _on_request_vote(self, m: RequestVote, notes):
        cand = m.src
        granted = False
        if m.term < self.term:
            notes.append(RefuseTerm(cand, m.term, self.term))
        elif self.voted_for is not None and self.voted_for != cand:
            notes.append(RefuseVoted(cand, self.voted_for, self.term))
        elif not self.options.unsafe_vote_without_log_check and not self._up_to_date(m):
            notes.append(RefuseLog(cand, self.last_log_term, self.last_log_index,
                                   m.last_log_term, m.last_log_index))
        else:
            granted = True
            self.voted_for = cand
            notes.append(Grant(cand, self.term, self.options.unsafe_vote_without_log_check
                               and not self._up_to_date(m)))
        # Granting a vote restarts the timer; refusing does not (Figure 2).
        return [RequestVoteReply(self.id, cand, self.term, granted)], granted

    def _up_to_date(self, m: RequestVote) -> bool:
        """Section 5.4.1: compare the terms of the last entries; if they are
        equal, the longer log is more up-to-date."""
        my_term = self.last_log_term
        if m.last_log_term != my_term:
            return m.last_log_term > my_term
        return m.last_log_index >= self.last_log_index

    def _on_request_vote_reply(self, m: RequestVoteReply, notes):
        if self.role == LEADER and m.term == self.term and m.vote_granted:
            # A late vote for an election already won: count it, so the
            # picture shows everyone who voted for this leader.
            self.votes.add(m.src)
            notes.append(Votes(m.src, True, len(self.votes), self.majority))
            return [], False
        if self.role != CANDIDATE or m.term != self.term:
            notes.append(StaleReply(m.type, m.src, m.term))
            return [], False
        if not m.vote_granted:
            notes.append(Votes(m.src, False, len(self.votes), self.majority))
            return [], False
        self.votes.add(m.src)
        notes.append(Votes(m.src, True, len(self.votes), self.majority))
        if len(self.votes) >= self.majority:
            return self._win_election(notes), False
        return [], False

    def _win_election(self, notes):
        """Become leader and send every follower an AppendEntries at once
        (empty, or the no-op entry if that option is on)."""
        notes.append(Leader(self.term, tuple(sorted(self.votes))))
        if self.options.noop_on_election:
            self.log.append(Entry(self.term, None))
            notes.append(Propose(len(self.log), None))
        self.become_leader()
        if self.majority == 1:
            self._advance_commit(notes)
        return [self._append_entries(p) for p in self.peers]

    def _on_append_entries(self, m: AppendEntries, notes):
        leader = m.src
        if m.term < self.term:
            notes.append(RejectTerm(leader, m.term, self.term))
            return [AppendEntriesReply(self.id, leader, self.term, False, m.prev_log_index, 0)], False
        if self.role == LEADER:
            # Two leaders in one term: impossible unless an unsafe switch is on.
            notes.append(RejectSameTermLeader(leader, self.term))
            return [AppendEntriesReply(self.id, leader, self.term, False, m.prev_log_index, 0)], False
        if self.role == CANDIDATE:
            notes.append(Concede(leader, self.term))
            self.become_follower(self.term, leader)
        else:
            self.leader_id = leader          # a follower already: no role change
        prev = m.prev_log_index
        log = self.log
        # Consistency check: reply false if the log has no entry at prevLogIndex
        # whose term matches prevLogTerm.
        if prev > len(log) or (prev > 0 and log[prev - 1].term != m.prev_log_term):
            return [self._reject(m, notes)], True
        # Append any new entries; delete an existing entry and all that follow
        # it only where it conflicts (same index, different term).
        entries = m.entries
        notes.append(Accept(leader, prev, len(entries)))
        for k, e in enumerate(entries):
            pos = prev + k
            if pos == len(log):
                log.extend(entries[k:])
                notes.append(Append(pos + 1, prev + len(entries)))
                break
            if log[pos].term != e.term:
                notes.append(Truncate(pos + 1, len(log), log[pos].term, e.term))
                del log[pos:]
                log.extend(entries[k:])
                notes.append(Append(pos + 1, prev + len(entries)))
                break
        last_new = prev + len(entries)
        if m.leader_commit > self.commit_index:
            # commitIndex = min(leaderCommit, index of last new entry), never backwards.
            new = min(m.leader_commit, last_new)
            if new > self.commit_index:
                notes.append(Commit(self.commit_index, new, None, False))
                self._commit_to(new, notes)
        return [AppendEntriesReply(self.id, leader, self.term, True, prev, last_new)], True

    def _reject(self, m: AppendEntries, notes) -> AppendEntriesReply:
        prev, log = m.prev_log_index, self.log
        conflict_term = conflict_index = None
        if prev > len(log):
            if self.options.fast_backup:
                conflict_index = len(log) + 1
            notes.append(RejectMissing(m.src, prev, m.prev_log_term, len(log), conflict_index, None))
        else:
            mine = log[prev - 1].term
            if self.options.fast_backup:
                # Section 5.3's optimization: name the conflicting term and
                # the first index this follower stores for it.
                conflict_term, conflict_index = mine, prev
                while conflict_index > 1 and log[conflict_index - 2].term == mine:
                    conflict_index -= 1
            notes.append(RejectConflict(m.src, prev, m.prev_log_term, mine, conflict_index, None))
        return AppendEntriesReply(self.id, m.src, self.term, False, prev, 0,
                                  conflict_term, conflict_index)

    def _on_append_entries_reply(self, m: AppendEntriesReply, notes):
        if self.role != LEADER or m.term != self.term:
            notes.append(StaleReply(m.type, m.src, m.term))
            return [], False
        p = m.src
        if m.success:
            if self.in_flight.get(p) == m.prev_log_index:
                del self.in_flight[p]
            if m.match_index <= self.match_index[p]:
                notes.append(Match(p, m.match_index, False))    # e.g. a heartbeat's ack
                return [], False
            self.match_index[p] = m.match_index
            self.next_index[p] = m.match_index + 1
            notes.append(Match(p, m.match_index, True))
            self._advance_commit(notes)
        else:
            if m.prev_log_index != self.next_index[p] - 1:
                # Answer to an earlier probe that was retried: already handled.
                notes.append(StaleReply(m.type, p, m.term))
                return [], False
            self.in_flight.pop(p, None)
            self.next_index[p] = self._backed_up_next(p, m)
            notes.append(Retry(p, self.next_index[p]))
        # Keep going at once while the follower still needs entries or a probe,
        # unless another AppendEntries to it is still outstanding.
        if p not in self.in_flight and (self.next_index[p] <= len(self.log)
                                        or self.match_index[p] + 1 < self.next_index[p]):
            return [self._append_entries(p)], False
        return [], False

    def _backed_up_next(self, p: int, m: AppendEntriesReply) -> int:
        """After a rejection: decrement nextIndex (Figure 2), or with the
        fast-backup option jump using the follower's conflict hints."""
        floor = self.match_index[p] + 1
        if not self.options.fast_backup or m.conflict_index is None:
            return max(floor, self.next_index[p] - 1)
        if m.conflict_term is None:
            return max(floor, min(m.conflict_index, self.next_index[p] - 1))
        # If we have entries of the conflicting term, retry just after our last one.
        for i in range(min(m.prev_log_index, len(self.log)), 0, -1):
            t = self.log[i - 1].term
            if t == m.conflict_term:
                return max(floor, i + 1)
            if t < m.conflict_term:
                break
        return max(floor, m.conflict_index)

    # ----- leader internals --------------------------------------------------
    def _append_entries(self, p: int) -> AppendEntries:
        """The AppendEntries this leader owes follower p right now. While the
        match point is unknown (matchIndex + 1 < nextIndex) it is an empty
        probe; once found, it carries up to entries_per_append entries."""
        nxt = self.next_index[p]
        prev = nxt - 1
        log = self.log
        if self.match_index[p] == prev and nxt <= len(log):
            entries = tuple(log[prev:prev + self.options.entries_per_append])
        else:
            entries = ()
        self.in_flight[p] = prev
        return AppendEntries(self.id, p, self.term, prev, log[prev - 1].term if prev else 0,
                             entries, self.commit_index)

    def _advance_commit(self, notes) -> None:
        """If there exists an N > commitIndex such that a majority of
        matchIndex[i] >= N, and log[N].term == currentTerm: set commitIndex = N."""
        matches = sorted(self.match_index.values(), reverse=True)
        matches.insert(0, len(self.log))
        n = matches[self.majority - 1]
        if n <= self.commit_index:
            return
        holders = (self.id,) + tuple(p for p in self.peers if self.match_index[p] >= n)
        # Terms in a log never decrease, so if entry n is from an earlier term,
        # so is every entry below it: nothing can be committed by counting.
        old_term = self.log[n - 1].term != self.term
        if old_term and not self.options.unsafe_commit_by_counting:
            notes.append(OldTermMajority(n, self.log[n - 1].term, holders))
            return
        notes.append(Commit(self.commit_index, n, holders, old_term))
        self._commit_to(n, notes)


_HANDLERS = {
    "RequestVote": Node._on_request_vote,
    "RequestVoteReply": Node._on_request_vote_reply,
    "AppendEntries": Node._on_append_entries,
    "AppendEntriesReply": Node._on_append_entries_reply,
}
