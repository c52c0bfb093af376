"""One Raft server as a pure state machine: exactly the rules of Figure 2.

A Node never touches a clock, a socket or a random number. It is fed one
input at a time:

    node.election_timeout()       its election timer fired
    node.heartbeat(peers)         (leader) these followers are due an AppendEntries
    node.receive(message)         an RPC or a reply arrived
    node.propose(command)         (leader) a client command
    node.change_config(voters, method)    (leader) change who votes (section 6, thesis 4)
    node.transfer_leadership(to)          (leader) hand leadership to `to` (thesis 3.10)
    node.take_snapshot()                  compact the log through lastApplied (section 7)

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

Configurations (config.py) are log entries: a node uses the latest one in
its log, committed or not, and its initial configuration before it has
one. A leader's election timer, which Figure 2 does not have, runs only for
the thesis's additions that need one: CheckQuorum, and abandoning a
leadership transfer; its length is the minimum election timeout.

Log compaction (section 7): a node may replace the entries it has applied
with a snapshot (messages.Snapshot). `log` keeps its meaning, the entries
AFTER the snapshot, so every index in the code is absolute: the entry at
index i is log[i - snapshot_index - 1], and entry(i) gives it or None.
A leader whose follower needs an entry it has discarded sends
InstallSnapshot (Figure 13) instead of AppendEntries. When to take a
snapshot is the server's policy, not a rule of Raft: the host calls
take_snapshot() (the simulator does so on request, and after an event that
brings a server snapshot_every applied entries past its last snapshot).
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import NamedTuple

from . import kv
from .clients import ClientRules
from .config import Config, differences
from .messages import (AppendEntries, AppendEntriesReply, Entry, InstallSnapshot, InstallSnapshotReply, PreVote,
                       PreVoteReply, RequestVote, RequestVoteReply, Snapshot, TimeoutNow)
from .notes import (Accept, Answered, Append, Apply, ChangeAbandoned, ChangeWaits, Commit, Concede, ConfigAppend, ConfigNoop,
                    ConfigUse,
                    Election, Grant, Heartbeat, IgnoredTimeout, IgnoreVote, IgnoreVoteRestarted, LearnerRound, Leader, Match, NotLeader,
                    NotVoter, OldTermMajority, PreElection, PreGrant, PreRefuse, PreRefuseLed, PreVotes, Propose, QuorumHeard,
                    QuorumLost, RefuseLog, RefuseTerm, RefuseVoted, RejectConflict, RejectMissing, StandsOutside,
                    LearnerUnavailable, CatchUpGoesOn,
                    RejectSameTermLeader, RejectTerm, Retry, StaleReply, StepDownRemoved, Term, TimeoutNowSent,
                    TimeoutNowTaken, TransferAbandoned, TransferStart, Truncate, Votes,
                    CoveredEntries, LoadSnapshot, NoSnapshot, RejectSnapshotLeader, RejectSnapshotTerm, SendSnapshot,
                    SnapshotCovered, SnapshotInstalled, TakeSnapshot)

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
    pre_vote: bool = _option(False, "PreVote",
                             "Before raising its term, a server asks whether it could win (thesis 9.6).")
    check_quorum: bool = _option(False, "CheckQuorum",
                                 "A leader that has not heard from a majority for an election timeout steps down "
                                 "(thesis 9.6).")
    ignore_votes_while_led: bool = _option(
        False, "Ignore votes while led",
        "A server that heard from a leader within the minimum election timeout ignores RequestVote "
        "(thesis 4.2.3).")
    snapshot_every: int = _option(
        0, "Snapshot every (entries; 0: off)",
        "A server writes its state machine to a snapshot and discards those log entries once it has applied this "
        "many since its last snapshot (section 7); 0: only when asked.", (0, 1000))
    unsafe_commit_by_counting: bool = _option(
        False, "Commit earlier-term entries by counting",
        "Breaks the rule of Figure 8: a leader commits an old-term entry once a majority stores it.")
    unsafe_vote_without_log_check: bool = _option(
        False, "Vote without the up-to-date check",
        "Breaks the election restriction (5.4.1): a server with a stale log can win.")
    unsafe_forget_vote: bool = _option(
        False, "Forget votedFor in a crash",
        "Breaks the persistence rule: a restarted server may vote twice in one term.")
    lease_reads: bool = _option(
        False, "Lease reads",
        "A leader answers reads without a heartbeat round while its lease holds (thesis 6.4.1). Assumes clocks "
        "without drift; servers then ignore votes while led, and for a minimum election timeout after a restart.")
    unsafe_local_reads: bool = _option(
        False, "Answer reads locally",
        "Breaks section 8: a leader answers reads from its own state at once, even cut off in a minority.")
    unsafe_no_dedup: bool = _option(
        False, "Apply retried commands again",
        "Breaks client sessions (section 8): a command retried by its client is applied a second time.")
    unsafe_direct_config_change: bool = _option(
        False, "Switch configurations directly",
        "Breaks section 6: the leader goes from C_old straight to C_new, so two majorities can disagree.")

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


MAX_ROUNDS = 10        # thesis 4.2.1: catch-up rounds before a leader gives up adding a server
# The state machine, by the node's attributes (each a dict): what a snapshot keeps (Snapshot has
# a field of each name) and what a restart or an InstallSnapshot loads from one (section 7).
# The client table of client sessions joins as "sessions".
MACHINE = ("store", "sessions")


class Change(NamedTuple):
    """A leader's configuration change not yet under way: the voters it is
    heading for and how ("joint" or "single")."""
    voters: tuple
    method: str


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
    config_index: int
    config: Config
    pre_votes: frozenset | None
    heard_leader_at: int | None
    heard: frozenset
    transfer_to: int | None
    change: Change | None
    rounds: dict
    caught_up: frozenset
    sessions: dict           # the state machine's client table: client -> (last seq applied, its reply)
    clients: tuple           # a leader's client state (ClientRules._client_state)
    restarted_at: int | None  # when it last restarted (lease reads: it keeps quiet for a while)
    snapshot: Snapshot | None


class Node(ClientRules):
    def __init__(self, id: int, peers, options: Options | None = None, voters=None):
        """peers: the servers of the cluster as it starts (this one may be
        among them); voters: its initial configuration, by default all of
        them and this one. A server added later starts with no voters at all:
        it knows no configuration until a leader sends it one."""
        self.id = id
        self.options = options or Options()
        self.initial = Config.of(set(peers) | {id} if voters is None else voters)
        # The minimum election timeout, in the host's unit of time (the
        # simulator's µs): how long ignore_votes_while_led trusts a leader.
        self.lease = 0
        self.now = 0             # the host's clock at the current input (lease reads)
        # Persistent state on all servers.
        self.term = 0
        self.voted_for: int | None = None
        self.log: list[Entry] = []         # the entries after the snapshot: index snapshot_index + 1 first
        self.up = True
        self.answers: list = []  # Answered and ReadAnswer notes, for the host to take (clients.py)
        # Section 7: the snapshot that replaces the entries up through snapshot_index (persistent too).
        self._use_snapshot(None)
        self._use_config(0, self.initial)
        self._reset_volatile()

    def _reset_volatile(self) -> None:
        """Volatile state starts empty, as after a restart: a follower that
        knows no leader and has applied nothing."""
        # A snapshot holds only committed, applied entries: a server restarts from it.
        self.commit_index = self.last_applied = self.snapshot_index
        self._load_machine(self.snapshot)     # the state machine (kv.py) and its client table (clients.py)
        self.heard_leader_at = None          # when it last heard its leader (message arrival time)
        self.restarted_at = None             # when it restarted, if it did (lease reads)
        self.become_follower(self.term)

    # ----- configuration ---------------------------------------------------
    @property
    def config(self) -> dict:
        """The configuration this server uses: {"voters", "old_voters", "learners"}."""
        return self.configuration.to_dict()

    def _use_config(self, index: int, config: Config) -> None:
        """Use `config`, found at log index `index` (0: the initial one).
        peers: everyone else the configuration names, whom a leader replicates to."""
        self.config_index = index
        self.configuration = config
        self.peers = tuple(p for p in config.members if p != self.id)
        self.is_voter = config.is_voter(self.id)
        # The common case, kept fast: one group, this server in it, everyone
        # else it replicates to a voter. Then a majority of matchIndex values
        # plus its own log decides commitment (Figure 2), as before configurations.
        self._plain = self.is_voter and not config.joint and not config.learners
        self._majority = len(config.voters) // 2 + 1
        self._alone = config.quorum((self.id,))           # a majority by itself: it commits at once

    def _find_config(self) -> None:
        """The latest configuration in the log, else the snapshot's, else the initial one."""
        self._use_config(*self._config_at(self.last_log_index))

    def _config_at(self, index: int) -> tuple[int, Config]:
        """(its index, the configuration) in force at log index `index`: the
        latest configuration entry up to it, else the snapshot's, else the
        initial one."""
        log, off = self.log, self.snapshot_index
        for k in range(index - off, 0, -1):
            c = log[k - 1].config
            if c is not None:
                return k + off, c
        if self.snapshot is not None:
            return self.snapshot.config_index, self.snapshot.config
        return 0, self.initial

    # ----- snapshots (section 7) -------------------------------------------
    def _use_snapshot(self, snapshot: Snapshot | None) -> None:
        """Keep `snapshot` in place of the entries up through its index."""
        self.snapshot = snapshot
        self.snapshot_index = snapshot.index if snapshot is not None else 0
        self.snapshot_term = snapshot.term if snapshot is not None else 0

    def _load_machine(self, snapshot: Snapshot | None) -> None:
        """Reset the state machine (MACHINE) to a snapshot's, or empty it without one."""
        for part in MACHINE:
            setattr(self, part, dict(getattr(snapshot, part)) if snapshot is not None else {})

    def _capture(self, index: int) -> Snapshot:
        """A snapshot of the state machine, which has applied exactly up to `index`."""
        config_index, config = self._config_at(index)
        machine = {"store": {}, "sessions": {}}
        machine.update((part, dict(getattr(self, part))) for part in MACHINE)
        return Snapshot(index, self.term_at(index), config, config_index, **machine)

    def take_snapshot(self, every: int | None = None):
        """Compact the log (section 7, Figure 12): write the state machine to a
        snapshot through lastApplied, the last entry it has applied (so only
        committed entries), and discard the log entries up through it and the
        previous snapshot. every: the snapshot_every policy that asked for
        it, for the explanation (None: a user asked)."""
        index, first = self.last_applied, self.snapshot_index + 1
        if index < first or not self.up:
            return [], False, [NoSnapshot(index, self.snapshot_index)]
        snapshot = self._capture(index)
        del self.log[:index - self.snapshot_index]
        self._use_snapshot(snapshot)
        return [], False, [TakeSnapshot(index, snapshot.term, first, every)]

    # ----- role changes ----------------------------------------------------
    def become_follower(self, term: int, leader_id: int | None = None) -> None:
        """Follow in `term`: on seeing a newer term, on hearing the current
        term's leader, and after a restart. A newer term clears votedFor (no
        vote given in it yet). Sets role, term, leader_id; clears the votes,
        a pre-vote in progress and all of a leader's state."""
        if term > self.term:
            self.term = term
            self.voted_for = None
        self.role = FOLLOWER
        self.leader_id = leader_id           # the leader this node last heard from in its term
        self.votes: set[int] = set()         # candidates: who granted a vote this term
        self.pre_votes: set[int] | None = None   # PreVote: who said they would vote for us
        self._clear_progress()

    def become_candidate(self) -> None:
        """Start an election (section 5.2): increment currentTerm and vote
        for self; no leader is known in the new term. Sets role, term,
        voted_for, votes, leader_id; clears the leader's bookkeeping."""
        self.term += 1
        self.role = CANDIDATE
        self.voted_for = self.id
        self.votes = {self.id}
        self.pre_votes = None
        self.leader_id = None
        self._clear_progress()

    def become_leader(self) -> None:
        """Lead the current term. Sets role and leader_id, and reinitializes
        after election nextIndex = last log index + 1 and matchIndex = 0 for
        every follower, with nothing in flight. Keeps votes, so the picture
        can still count late votes."""
        self.role = LEADER
        self.leader_id = self.id
        nxt = self.last_log_index + 1
        self.next_index = {p: nxt for p in self.peers}
        self.match_index = {p: 0 for p in self.peers}
        self.in_flight = {}

    def _clear_progress(self) -> None:
        self.next_index: dict[int, int] = {}
        self.match_index: dict[int, int] = {}
        # Leaders: prev_log_index of the AppendEntries outstanding to each follower.
        # One at a time, so each rejection moves nextIndex exactly one step.
        self.in_flight: dict[int, int] = {}
        self.heard: set[int] = set()           # CheckQuorum: who answered since the last check
        self.transfer_to: int | None = None    # leadership transfer in progress
        self.change: Change | None = None      # a configuration change waiting to start
        # learner -> (round, target index, match at the round's start, answered since the last check)
        self.rounds: dict[int, tuple] = {}
        self.caught_up: set[int] = set()       # learners that finished their rounds
        self._reset_clients()

    def load_state(self, term: int, voted_for, log, role: str, commit_index: int, up: bool = True,
                   snapshot: Snapshot | None = None) -> None:
        """Start from a given state (a lecture case): `log` holds the entries
        after `snapshot`, if there is one. Entries up to commit_index count as
        already applied to the state machine."""
        self.term, self.voted_for, self.log, self.up = term, voted_for, list(log), up
        self._use_snapshot(snapshot)
        self._find_config()
        self._reset_volatile()
        if role == LEADER:
            self.become_leader()
        elif role == CANDIDATE:
            # In the middle of its election for `term`: become_candidate()
            # moves to the term, then the state's own votedFor is kept.
            self.term -= 1
            self.become_candidate()
            self.voted_for = voted_for
        if commit_index > self.commit_index:
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
                         dict(self.in_flight), self.config_index, self.configuration,
                         None if self.pre_votes is None else frozenset(self.pre_votes), self.heard_leader_at,
                         frozenset(self.heard), self.transfer_to, self.change, dict(self.rounds),
                         frozenset(self.caught_up), dict(self.sessions), self._client_state(), self.restarted_at,
                         self.snapshot)

    def restore(self, saved: SavedNode, log: list | None = None) -> None:
        """Become exactly the node save() saw. `log`: the log as a list, when
        saved.log is in the host's own frozen form."""
        self.term, self.voted_for, self.up, self.role = saved.term, saved.voted_for, saved.up, saved.role
        self.log = list(saved.log) if log is None else log
        self._use_snapshot(saved.snapshot)
        self.commit_index, self.last_applied = saved.commit_index, saved.last_applied
        self.store, self.leader_id = dict(saved.store), saved.leader_id
        self.votes = set(saved.votes)
        self.next_index, self.match_index = dict(saved.next_index), dict(saved.match_index)
        self.in_flight = dict(saved.in_flight)
        self._use_config(saved.config_index, saved.config)
        self.pre_votes = None if saved.pre_votes is None else set(saved.pre_votes)
        self.heard_leader_at, self.heard = saved.heard_leader_at, set(saved.heard)
        self.transfer_to, self.change = saved.transfer_to, saved.change
        self.rounds, self.caught_up = dict(saved.rounds), set(saved.caught_up)
        self.sessions = dict(saved.sessions)
        self._load_client_state(saved.clients)
        self.restarted_at = saved.restarted_at
        self.answers = []

    # ----- helpers ---------------------------------------------------------
    @property
    def last_log_index(self) -> int:
        return self.snapshot_index + len(self.log)

    @property
    def last_log_term(self) -> int:
        return self.log[-1].term if self.log else self.snapshot_term

    def term_at(self, index: int) -> int | None:
        """The term of the entry at `index`: 0 before the log, the snapshot's
        last included term at its index, None where the snapshot has
        compacted it or beyond the end."""
        k = index - self.snapshot_index
        if k > 0:
            return self.log[k - 1].term if k <= len(self.log) else None
        if k == 0:
            return self.snapshot_term
        return 0 if index == 0 else None

    def entry(self, index: int) -> Entry | None:
        """The entry at absolute `index`, or None where the snapshot has compacted it (or beyond the end)."""
        k = index - self.snapshot_index
        return self.log[k - 1] if 0 < k <= len(self.log) else None

    def _voters_but_me(self) -> list[int]:
        return [p for p in self.configuration.electorate if p != self.id]

    def _votes_note(self, make, voter: int, granted: bool, votes) -> tuple:
        """Votes or PreVotes: the count against what this configuration needs
        (one group), or the tally of each group while joint."""
        cfg = self.configuration
        tally = cfg.tally(votes)
        if cfg.joint:
            return make(voter, granted, len(votes), None, tally)
        return make(voter, granted, tally[0][0], tally[0][1], None)

    @property
    def stands(self) -> bool:
        """May this server start an election? A voter may. So may a server
        its latest configuration leaves out while it does not know that
        configuration is committed: thesis 4.2.2, "it might still be needed
        until the C_new entry is committed" (a leader that removed itself and
        restarted may hold the only copy of C_new that the others would vote
        for); its own vote then does not count. Learners never do, nor a
        server that knows no configuration yet."""
        if self.is_voter:
            return True
        cfg = self.configuration
        return bool(cfg.voters) and self.id not in cfg.learners and self.config_index > self.commit_index

    def _wants_leader_timer(self) -> bool:
        """A leader runs an election timer only for CheckQuorum, to give up a
        transfer, and to give up a change whose new server is unavailable."""
        return self.options.check_quorum or self.transfer_to is not None or self.change is not None

    # ----- crash and restart -----------------------------------------------
    def crash(self) -> None:
        self.up = False
        self._reset_volatile()
        # Nothing runs on a crashed server: no state machine and no commitIndex until it
        # restarts and loads its snapshot (restart()), which stays on its disk meanwhile.
        self.commit_index = self.last_applied = 0
        self._load_machine(None)
        if self.options.unsafe_forget_vote:
            self.voted_for = None

    def restart(self) -> list:
        """Up again with its persistent state; returns its notes (a snapshot to load)."""
        self.up = True
        self._reset_volatile()
        self.restarted_at = self.now
        return [LoadSnapshot(self.snapshot_index, self.snapshot_term)] if self.snapshot is not None else []

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
        """Advance commitIndex and apply newly committed entries in order;
        a leader answers the requests whose commands it applied."""
        self.commit_index = index
        first = self.last_applied + 1
        if first > index:
            return
        store, log, off, waiting = self.store, self.log, self.snapshot_index, self.waiting
        answered = []
        for i in range(first - 1 - off, index - off):
            e = log[i]
            reply = kv.apply(store, e.command) if e.client is None else self._apply(i + 1 + off, e, notes)
            if waiting and i + 1 + off in waiting:
                answered.append(Answered(waiting.pop(i + 1 + off), i + 1 + off, reply))
        self.last_applied = index
        notes.append(Apply(first, index))
        if answered:
            notes.extend(answered)
            self.answers.extend(answered)

    # ----- timers ------------------------------------------------------------
    def election_timeout(self):
        """Followers and candidates: start an election (section 5.2), or with
        PreVote first ask whether it could be won. A leader's timer: give up a
        transfer, with CheckQuorum check it still hears from a majority, and
        check that the learners of a change still answer."""
        if not self.up:
            return [], False, [IgnoredTimeout(self.role, self.up)]
        if self.role == LEADER:
            return self._leader_timeout()
        if not self.stands:
            return [], False, [NotVoter(self.configuration)]
        notes: list = []
        if not self.is_voter:
            notes.append(StandsOutside(self.config_index, self.configuration))
        if self.options.pre_vote:
            return self._start_pre_vote(notes), True, notes
        msgs = self._start_election(notes, False)
        return msgs, self.role != LEADER or self._wants_leader_timer(), notes

    def _start_election(self, notes: list, transfer: bool) -> list:
        self.become_candidate()
        notes.append(Election(self.term))
        if self.configuration.quorum(self.votes):          # a cluster of one
            return self._win_election(notes)
        last_index, last_term = self.last_log_index, self.last_log_term
        return [RequestVote(self.id, p, self.term, last_index, last_term, transfer) for p in self._voters_but_me()]

    def _start_pre_vote(self, notes: list) -> list:
        """Thesis 9.6: ask for votes in term + 1 without moving to it. Only a
        majority of yeses starts the real election. A candidate whose election
        failed asks again the same way: it stops being a candidate of its term
        (keeping its vote) and waits for the answers as a follower would, else
        it would count no pre-vote and never stand again (etcd's pre-candidate)."""
        if self.role == CANDIDATE:
            self.become_follower(self.term)
        self.pre_votes = {self.id}
        notes.append(PreElection(self.term + 1))
        if self.configuration.quorum(self.pre_votes):
            return self._start_election(notes, False)
        last_index, last_term = self.last_log_index, self.last_log_term
        return [PreVote(self.id, p, self.term + 1, last_index, last_term) for p in self._voters_but_me()]

    def _leader_timeout(self):
        """The leader's own timer (the minimum election timeout), which runs
        only while something needs it (_wants_leader_timer)."""
        notes: list = []
        if self.transfer_to is not None:
            notes.append(TransferAbandoned(self.transfer_to))
            self.transfer_to = None
        if self.options.check_quorum:
            heard = self.heard | {self.id}
            self.heard = set()
            if not self.configuration.quorum(heard):
                notes.append(QuorumLost(tuple(sorted(heard)), self.configuration))
                self.become_follower(self.term)
                return [], True, notes
            notes.append(QuorumHeard(tuple(sorted(heard))))
        if self.rounds:
            self._check_catch_up(notes)
        elif self.change is not None:
            notes.append(CatchUpGoesOn(()))        # waiting for an entry of its term to commit
        if not notes:
            notes.append(IgnoredTimeout(self.role, self.up))
        return [], self._wants_leader_timer(), notes

    def _check_catch_up(self, notes: list) -> None:
        """Thesis 4.2.1: the leader gives up a change whose new server is
        unavailable. On the leader's timer (the minimum election timeout), a
        learner that has not answered since the last check is taken to be
        unavailable (so within one to two election timeouts)."""
        for p, (rnd, target, start, answered, age) in list(self.rounds.items()):
            if not answered or age >= MAX_ROUNDS:
                # Unavailable, or so slow that one round outlasts MAX_ROUNDS election
                # timeouts: it would never catch up (thesis 4.2.1 says: abort).
                self.rounds.clear()
                self.caught_up = set()
                self.change = None
                notes.append(LearnerUnavailable(p, rnd, not answered))
                return
            self.rounds[p] = (rnd, target, start, False, age + 1)
        notes.append(CatchUpGoesOn(tuple(sorted(self.rounds))))

    def heartbeat(self, peers):
        """Leader: these followers heard nothing from us for a heartbeat
        interval. Send each its current AppendEntries: empty if it is caught
        up, the next entries otherwise; it doubles as the retry of a lost one."""
        if self.role != LEADER:
            return [], False, []
        peers = [p for p in peers if p in self.next_index]
        off = self.snapshot_index
        snapshot = tuple(p for p in peers if self.next_index[p] <= off) if off else ()
        notes: list = [Heartbeat(tuple(peers), snapshot)]
        if self.options.lease_reads:
            self._heartbeat_round()
        return [self._append_entries(p, notes) for p in peers], False, notes

    # ----- client commands (propose and read: clients.py) --------------------
    def _append(self, entry: Entry, notes: list) -> list:
        """Leader: append an entry of its own and send it to every follower
        that is caught up and has nothing outstanding."""
        self.log.append(entry)
        index = self.last_log_index
        if entry.config is None:
            notes.append(Propose(index, entry.command))
        msgs = [self._append_entries(p, notes) for p in self.peers
                if p not in self.in_flight and self.match_index[p] + 1 == self.next_index[p] == index]
        if self._alone:                                     # a cluster of one commits at once
            msgs += self._advance_commit(notes)
        return msgs

    # ----- configuration changes (section 6; thesis 4) ---------------------------
    def change_refused(self, voters, method: str) -> str | None:
        """Why this leader cannot start changing the voters to `voters` now,
        in a sentence; None if it can."""
        cfg = self.configuration
        voters = set(voters)
        if not voters:
            return "A configuration needs at least one voter."
        if self.transfer_to is not None:
            return f"S{self.id} is handing leadership to S{self.transfer_to}: it starts no change meanwhile."
        if self.change is not None or cfg.joint or self.config_index > self.commit_index:
            return ("A configuration change is already in progress: one change at a time, and the latest "
                    "configuration must be committed first.")
        diff = differences(cfg, voters)
        if not diff:
            return f"The voters are already {cfg.describe()}."
        if method == "single" and len(diff) > 1 and not self.options.unsafe_direct_config_change:
            return (f"A single-server change adds or removes one server, but {len(diff)} differ "
                    f"({', '.join(f'S{i}' for i in sorted(diff))}): use joint consensus, or one change at a time.")
        return None

    def change_config(self, voters, method: str = "joint"):
        """Leader: start changing the voters to `voters` ("joint": C_old,new
        then C_new, section 6; "single": one server, thesis 4.1). Servers not
        yet in the configuration first join as learners and catch up (thesis
        4.2.1). The host checks change_refused() first."""
        if self.role != LEADER:
            return [], False, [NotLeader(self.role, self.leader_id)]
        notes: list = []
        self.change = Change(tuple(sorted(voters)), method)
        msgs: list = []
        if method == "single" and not self.options.unsafe_direct_config_change and not self._term_committed():
            # Thesis 4.1 (the 2015 correction): no change before an entry of this term commits.
            msgs = self._append(Entry(self.term, None), notes)
            notes.append(ChangeWaits(self.last_log_index, self.term))
        msgs += self._continue_change(notes)
        # While the change is under way, the leader's timer watches its learners.
        return msgs, self.change is not None, notes

    def _term_committed(self) -> bool:
        return self.commit_index > 0 and self.term_at(self.commit_index) == self.term

    def _continue_change(self, notes: list) -> list:
        """Take the next step of a configuration change, if one is due: after
        C_old,new commits, C_new; for a waiting change, the learners, then
        (once they caught up) the new configuration. One configuration entry at
        a time: nothing while the latest is uncommitted."""
        if self.role != LEADER or self.config_index > self.commit_index:
            return []
        cfg = self.configuration
        if cfg.joint:
            return self._append_config(Config.of(cfg.voters, None, cfg.learners), "new", notes)
        change = self.change
        if change is None:
            return []
        unsafe = self.options.unsafe_direct_config_change
        if change.method == "single" and not unsafe and not self._term_committed():
            return []
        new = [p for p in change.voters if p not in cfg.voters and p not in cfg.learners]
        if new:
            msgs = self._append_config(Config.of(cfg.voters, None, cfg.learners + tuple(new)), "learners", notes)
            for p in new:
                # (A leader that is a majority by itself has committed that entry
                # already, and the next step has started the rounds.)
                if p not in self.rounds and p not in self.caught_up:
                    self._start_rounds(p, notes)
            return msgs
        waiting = [p for p in change.voters if p in cfg.learners and p not in self.caught_up]
        for p in waiting:
            if p not in self.rounds:
                self._start_rounds(p, notes)
        if any(p not in self.caught_up for p in waiting):
            return []
        self.change = None
        self.caught_up = set()
        learners = tuple(p for p in cfg.learners if p not in change.voters)
        if unsafe:
            return self._append_config(Config.of(change.voters, None, learners), "direct", notes)
        if change.method == "single":
            return self._append_config(Config.of(change.voters, None, learners), "single", notes)
        return self._append_config(Config.of(change.voters, cfg.voters, learners), "joint", notes)

    def _append_config(self, config: Config, why: str, notes: list) -> list:
        """Leader: append a configuration entry and use it at once (section 6)."""
        previous = self.configuration
        self.log.append(Entry(self.term, None, config))
        index = self.last_log_index
        self._use_config(index, config)
        self.drop_lease()               # a lease is counted in one configuration
        notes.append(ConfigAppend(index, config, previous, why))
        nxt = index + 1
        added = [p for p in self.peers if p not in self.next_index]
        for p in added:
            self.next_index[p], self.match_index[p] = nxt, 0
        for p in [p for p in self.next_index if p not in self.peers]:
            for table in (self.next_index, self.match_index, self.in_flight, self.rounds):
                table.pop(p, None)
            self.caught_up.discard(p)
            self.heard.discard(p)
        msgs = [self._append_entries(p, notes) for p in self.peers
                if p not in self.in_flight and (p in added or self.match_index[p] + 1 == self.next_index[p] == index)]
        if self._alone:
            msgs += self._advance_commit(notes)
        return msgs

    def _start_rounds(self, p: int, notes: list) -> None:
        """Thesis 4.2.1: replicate to a learner in rounds; each round sends
        what the leader's log held when the round began."""
        # Counted as answered: the first check of the leader's timer may come at
        # once, so a learner is judged over a whole timer period from the next.
        self.rounds[p] = (1, self.last_log_index, self.match_index.get(p, 0), True, 0)
        self._round_done(p, notes)

    def _round_done(self, p: int, notes: list) -> bool:
        """If learner p has finished its round: caught up when the round
        needed at most one AppendEntries of entries (so it took about one round
        trip, far less than an election timeout); else another round, up to
        MAX_ROUNDS. A round that finds the learner already holding the whole
        log needs nothing and ends at once. Returns True when p has just
        caught up."""
        rnd, target, start, answered, _ = self.rounds[p]
        match = self.match_index.get(p, 0)
        while match >= target:
            sent = target - start
            if sent <= self.options.entries_per_append:
                del self.rounds[p]
                self.caught_up.add(p)
                notes.append(LearnerRound(p, rnd, sent, True))
                return True
            if rnd >= MAX_ROUNDS:
                # The whole change is given up: no learner's rounds matter any more.
                self.rounds.clear()
                self.caught_up = set()
                self.change = None
                notes.append(ChangeAbandoned(p, rnd))
                return False
            notes.append(LearnerRound(p, rnd, sent, False))
            rnd, target, start = rnd + 1, self.last_log_index, match
            self.rounds[p] = (rnd, target, start, answered, 0)
        return False

    # ----- leadership transfer (thesis 3.10) ---------------------------------------
    def transfer_leadership(self, to: int):
        """Leader: stop taking commands, bring `to` up to date, then tell it to
        time out at once. The host restarts the leader's timer, whose firing gives up."""
        if self.role != LEADER:
            return [], False, [NotLeader(self.role, self.leader_id)]
        self.transfer_to = to
        # Thesis 6.4.1: TimeoutNow lets `to` be elected at once, before any lease
        # ends; and it may arrive late, after the transfer is given up.
        self.drop_lease(for_good=True)
        caught = self.match_index.get(to, 0) == self.last_log_index
        notes: list = [TransferStart(to, caught)]
        if caught:
            notes.append(TimeoutNowSent(to))
            return [TimeoutNow(self.id, to, self.term)], True, notes
        return ([self._append_entries(to, notes)] if to not in self.in_flight else []), True, notes

    def _on_timeout_now(self, m: TimeoutNow, notes):
        if m.term < self.term or self.role == LEADER:
            notes.append(StaleReply(m.type, m.src, m.term))
            return [], False
        if not self.stands:
            notes.append(NotVoter(self.configuration))
            return [], False
        notes.append(TimeoutNowTaken(m.src))
        msgs = self._start_election(notes, True)
        return msgs, self.role != LEADER or self._wants_leader_timer()

    # ----- receiving ---------------------------------------------------------
    def receive(self, msg):
        notes: list = []
        kind = msg.type
        if kind in _VOTE_RULES:                 # AppendEntries and its reply go straight on
            return self._receive_vote(msg, kind, notes)
        reset = msg.term > self.term and self._observe_term(msg.term, msg.src, notes)
        msgs, reset_now = _HANDLERS[kind](self, msg, notes)
        return msgs, reset or reset_now, notes

    def _receive_vote(self, msg, kind: str, notes: list):
        """receive() for the messages of elections, where the thesis adds
        rules: ignoring votes while led (4.2.3), and pre-votes, which move
        nobody's term (9.6)."""
        if kind in _ASKS_VOTE and not msg.transfer and (self.options.ignore_votes_while_led
                                                         or self.options.lease_reads):
            led = self._led_by(msg)
            if led is not None:
                notes.append(IgnoreVote(msg.src, msg.term, kind, led[0], led[1], self.lease))
                return [], False, notes
            if self.options.lease_reads and self.restarted_at is not None:
                # It may have answered a leader's heartbeats just before it crashed,
                # and so promised not to vote for a minimum election timeout: it cannot
                # remember, so it keeps quiet that long from its restart.
                since = getattr(msg, "arrives", self.now) - self.restarted_at
                if since < self.lease:
                    notes.append(IgnoreVoteRestarted(msg.src, msg.term, kind, since, self.lease))
                    return [], False, notes
        if kind in _OWN_TERM_RULES:
            msgs, reset_now = _HANDLERS[kind](self, msg, notes)
            return msgs, reset_now, notes
        reset = msg.term > self.term and self._observe_term(msg.term, msg.src, notes)
        msgs, reset_now = _HANDLERS[kind](self, msg, notes)
        return msgs, reset or reset_now, notes

    def _led_by(self, m) -> tuple | None:
        """Thesis 4.2.3: (leader, how long ago it was heard) if this server has
        heard from a current leader within the minimum election timeout. A
        leader hears itself. Times are the messages' arrival times."""
        if self.role == LEADER:
            return (self.id, 0)
        arrives = getattr(m, "arrives", None)
        if self.heard_leader_at is None or arrives is None:
            return None
        # With lease reads, what it heard is a promise that holds however its term
        # moved on since (a reply of a newer term sets leader_id to None).
        if self.leader_id is None and not self.options.lease_reads:
            return None
        since = arrives - self.heard_leader_at
        return (self.leader_id, since) if since < self.lease else None

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

    def _on_pre_vote(self, m: PreVote, notes):
        """Would this server vote for the candidate in term m.term? Thesis
        9.6: yes if the candidate's log is up-to-date enough and this server
        has not heard from a valid leader for the minimum election timeout
        (a leader hears itself). Nobody changes term or records a vote."""
        cand = m.src
        led = self._led_by(m)
        if m.term <= self.term:
            reason = "term"
        elif led is not None:
            notes.append(PreRefuseLed(cand, m.term, led[0], led[1], self.lease))
            return [PreVoteReply(self.id, cand, self.term, False)], False
        elif not self._up_to_date(m):
            reason = "log"
        else:
            notes.append(PreGrant(cand, m.term))
            return [PreVoteReply(self.id, cand, m.term, True)], False
        notes.append(PreRefuse(cand, m.term, reason, self.term, self.last_log_term, self.last_log_index,
                               m.last_log_term, m.last_log_index))
        return [PreVoteReply(self.id, cand, self.term, False)], False

    def _on_pre_vote_reply(self, m: PreVoteReply, notes):
        if not m.vote_granted and m.term > self.term:
            return [], self._observe_term(m.term, m.src, notes)
        if self.pre_votes is None or self.role != FOLLOWER or (m.vote_granted and m.term != self.term + 1):
            notes.append(StaleReply(m.type, m.src, m.term))
            return [], False
        if not m.vote_granted:
            notes.append(self._votes_note(PreVotes, m.src, False, self.pre_votes))
            return [], False
        self.pre_votes.add(m.src)
        notes.append(self._votes_note(PreVotes, m.src, True, self.pre_votes))
        if self.configuration.quorum(self.pre_votes):
            msgs = self._start_election(notes, False)
            return msgs, self.role != LEADER or self._wants_leader_timer()
        return [], False

    def _on_request_vote_reply(self, m: RequestVoteReply, notes):
        if self.role == LEADER and m.term == self.term and m.vote_granted:
            # A late vote for an election already won: count it, so the
            # picture shows everyone who voted for this leader.
            self.votes.add(m.src)
            notes.append(self._votes_note(Votes, m.src, True, self.votes))
            return [], False
        if self.role != CANDIDATE or m.term != self.term:
            notes.append(StaleReply(m.type, m.src, m.term))
            return [], False
        if not m.vote_granted:
            notes.append(self._votes_note(Votes, m.src, False, self.votes))
            return [], False
        self.votes.add(m.src)
        notes.append(self._votes_note(Votes, m.src, True, self.votes))
        if self.configuration.quorum(self.votes):
            return self._win_election(notes), self._wants_leader_timer()
        return [], False

    def _win_election(self, notes):
        """Become leader and send every follower an AppendEntries at once
        (empty, or the no-op entry if that option is on)."""
        notes.append(Leader(self.term, tuple(sorted(self.votes))))
        if self.options.noop_on_election:
            self.log.append(Entry(self.term, None))
            notes.append(Propose(self.last_log_index, None))
        elif self.config_index > self.commit_index:
            # Its latest configuration may be uncommitted (a change an earlier
            # leader left half done). Only an entry of this term can commit it
            # (Figure 8), and no change may finish or start before (thesis 4.1):
            # so a no-op of this term, as the thesis's LogCabin always appends.
            self.log.append(Entry(self.term, None))
            notes.append(Propose(self.last_log_index, None))
            notes.append(ConfigNoop(self.last_log_index, self.config_index))
        self.become_leader()
        extra = []
        if self._alone:
            extra = self._advance_commit(notes)
        if self.configuration.joint and self.role == LEADER:
            # A change an earlier leader left in C_old,new: if this leader
            # already knows C_old,new is committed, C_new is due now (section 6);
            # else it follows once an entry of this term commits.
            extra += self._continue_change(notes)
        return [self._append_entries(p, notes) for p in self.peers if p not in self.in_flight] + extra

    def _on_append_entries(self, m: AppendEntries, notes):
        leader = m.src
        if m.term < self.term:
            notes.append(RejectTerm(leader, m.term, self.term))
            return [AppendEntriesReply(self.id, leader, self.term, False, m.prev_log_index, 0,
                                       round=m.round)], False
        if self.role == LEADER:
            # Two leaders in one term: impossible unless an unsafe switch is on.
            notes.append(RejectSameTermLeader(leader, self.term))
            return [AppendEntriesReply(self.id, leader, self.term, False, m.prev_log_index, 0,
                                       round=m.round)], False
        if self.role == CANDIDATE:
            notes.append(Concede(leader, self.term))
            self.become_follower(self.term, leader)
        else:
            self.leader_id = leader          # a follower already: no role change
            self.pre_votes = None
        self.heard_leader_at = getattr(m, "arrives", None)
        prev = m.prev_log_index
        log = self.log
        entries = m.entries
        last_new = prev + len(entries)
        off = self.snapshot_index          # log[k] is the entry at index off + k + 1
        if prev < off:
            # The snapshot covers the entries up to `off`: they are committed,
            # so they match the leader's (it holds every committed entry,
            # Leader Completeness). Only what follows them is checked.
            notes.append(CoveredEntries(leader, prev, off))
            entries = entries[off - prev:]
            prev = off
        # Consistency check: reply false if the log has no entry at prevLogIndex
        # whose term matches prevLogTerm.
        elif prev - off > len(log) or (prev > off and log[prev - off - 1].term != m.prev_log_term) \
                or (prev == off and off and self.snapshot_term != m.prev_log_term):
            return [self._reject(m, notes)], True
        # Append any new entries; delete an existing entry and all that follow
        # it only where it conflicts (same index, different term).
        notes.append(Accept(leader, prev, len(entries)))
        for k, e in enumerate(entries):
            pos = prev + k - off           # where the entry goes in `log`
            if pos == len(log):
                added = entries[k:]
                log.extend(added)
                notes.append(Append(prev + k + 1, last_new))
                for a in added:            # nothing was deleted: only a new configuration entry matters
                    if a.config is not None:
                        self._adopt_config(prev + k, added, notes)
                        break
                break
            if log[pos].term != e.term:
                notes.append(Truncate(prev + k + 1, off + len(log), log[pos].term, e.term))
                del log[pos:]
                log.extend(entries[k:])
                notes.append(Append(prev + k + 1, last_new))
                self._adopt_config(prev + k, entries[k:], notes)
                break
        last_new = max(last_new, off)
        if m.leader_commit > self.commit_index:
            # commitIndex = min(leaderCommit, index of last new entry), never backwards.
            new = min(m.leader_commit, last_new)
            if new > self.commit_index:
                notes.append(Commit(self.commit_index, new, None, False, None))
                self._commit_to(new, notes)
        return [AppendEntriesReply(self.id, leader, self.term, True, m.prev_log_index, last_new, round=m.round)], True

    def _adopt_config(self, pos: int, added, notes) -> None:
        """After the log changed from index pos + 1 on: use the latest
        configuration now in it (section 6), falling back to an earlier one if
        the entry of the one in use was deleted."""
        before = self.config_index
        for k in range(len(added) - 1, -1, -1):
            if added[k].config is not None:
                self._use_config(pos + 1 + k, added[k].config)
                break
        else:
            if self.config_index <= pos:
                return
            self._find_config()
        if self.config_index != before:
            notes.append(ConfigUse(self.config_index, self.configuration, self.config_index < before))

    def _reject(self, m: AppendEntries, notes) -> AppendEntriesReply:
        prev, last = m.prev_log_index, self.last_log_index
        conflict_term = conflict_index = None
        if prev > last:
            if self.options.fast_backup:
                conflict_index = last + 1
            notes.append(RejectMissing(m.src, prev, m.prev_log_term, last, conflict_index, None))
        else:
            mine = self.term_at(prev)
            if self.options.fast_backup:
                # Section 5.3's optimization: name the conflicting term and
                # the first index this follower stores for it (its snapshot
                # ends the search: the entries it covers are committed).
                conflict_term, conflict_index = mine, prev
                while conflict_index > self.snapshot_index + 1 and self.term_at(conflict_index - 1) == mine:
                    conflict_index -= 1
            notes.append(RejectConflict(m.src, prev, m.prev_log_term, mine, conflict_index, None))
        return AppendEntriesReply(self.id, m.src, self.term, False, prev, 0,
                                  conflict_term, conflict_index, m.round)

    def _on_append_entries_reply(self, m: AppendEntriesReply, notes):
        p = m.src
        if self.role != LEADER or m.term != self.term or p not in self.next_index:
            notes.append(StaleReply(m.type, p, m.term))
            return [], False
        self._heard_from(p)
        if not m.round:
            return self._on_append_result(m, p, notes)
        msgs, reset = self._on_append_result(m, p, notes)
        if self.role == LEADER:
            # Read rounds (clients.py): after the reply's own rules, so the next
            # round's AppendEntries carry what they taught (it replaces one to p).
            more = self._on_round_ack(p, m.round, notes)
            if more:
                msgs = [x for x in msgs if x.dst != p or x.__class__ is not AppendEntries] + more
        return msgs, reset

    def _on_append_result(self, m: AppendEntriesReply, p: int, notes):
        """The leader's rules for a success or a rejection from follower p."""
        msgs: list = []
        if m.success:
            if self.in_flight.get(p) == m.prev_log_index:
                del self.in_flight[p]
            if m.match_index <= self.match_index[p]:
                notes.append(Match(p, m.match_index, False))    # e.g. a heartbeat's ack
                return [], False
            msgs = self._matched(p, m.match_index, notes)
            if self.role != LEADER:                             # it removed itself and stepped down
                return msgs, True
        else:
            if m.prev_log_index != self.next_index[p] - 1:
                # Answer to an earlier probe that was retried: already handled.
                notes.append(StaleReply(m.type, p, m.term))
                return [], False
            self.in_flight.pop(p, None)
            self.next_index[p] = self._backed_up_next(p, m)
            if self.next_index[p] > self.snapshot_index:   # (else InstallSnapshot next, whose note says so)
                notes.append(Retry(p, self.next_index[p]))
        # (_keep_going, inline: every reply comes this way.)
        if p in self.next_index and p not in self.in_flight and (
                self.next_index[p] <= self.snapshot_index + len(self.log)
                or self.match_index[p] + 1 < self.next_index[p]):
            msgs.append(self._append_entries(p, notes))
        return msgs, False

    def _heard_from(self, p: int) -> None:
        """A follower answered: CheckQuorum counts it, and a learner that answers is available."""
        self.heard.add(p)
        if self.rounds and p in self.rounds:
            self.rounds[p] = self.rounds[p][:3] + (True,) + self.rounds[p][4:]

    def _matched(self, p: int, match: int, notes) -> list:
        """Follower p is known to match this leader's log through `match`, further
        than before: update matchIndex and nextIndex, commit what a majority
        now stores, and take the next step of a catch-up or a transfer.
        Returns the messages that sends (the caller checks whether this
        leader is still one: committing C_new may remove it)."""
        # A follower whose snapshot covers entries counts them as the leader's:
        # they are committed, so they are (Leader Completeness). Only a leader
        # elected against the rules (an unsafe switch) can lack them: it then
        # counts the follower as far as its own log goes, no further.
        match = min(match, self.snapshot_index + len(self.log))
        self.match_index[p] = match
        self.next_index[p] = match + 1
        notes.append(Match(p, match, True))
        msgs = self._advance_commit(notes)
        if self.role != LEADER:
            return msgs
        if self.rounds and p in self.rounds and self._round_done(p, notes):
            msgs += self._continue_change(notes)
        if self.transfer_to == p and match == self.last_log_index:
            notes.append(TimeoutNowSent(p))
            msgs.append(TimeoutNow(self.id, p, self.term))
        return msgs

    def _keep_going(self, p: int, notes) -> list:
        """Keep going at once while the follower still needs entries or a probe,
        unless another AppendEntries (or InstallSnapshot) to it is still outstanding."""
        if p in self.next_index and p not in self.in_flight and (
                self.next_index[p] <= self.snapshot_index + len(self.log)
                or self.match_index[p] + 1 < self.next_index[p]):
            return [self._append_entries(p, notes)]
        return []

    def _backed_up_next(self, p: int, m: AppendEntriesReply) -> int:
        """After a rejection: decrement nextIndex (Figure 2), or with the
        fast-backup option jump using the follower's conflict hints. (A
        nextIndex at or below this leader's snapshot means InstallSnapshot next.)"""
        floor = self.match_index[p] + 1
        if not self.options.fast_backup or m.conflict_index is None:
            return max(floor, self.next_index[p] - 1)
        if m.conflict_term is None:
            return max(floor, min(m.conflict_index, self.next_index[p] - 1))
        # If we have entries of the conflicting term, retry just after our last
        # one. Below the snapshot the terms are gone: then use the hint.
        for i in range(min(m.prev_log_index, self.last_log_index), self.snapshot_index - 1, -1):
            t = self.term_at(i)
            if t == m.conflict_term:
                return max(floor, i + 1)
            if t < m.conflict_term:
                break
        return max(floor, m.conflict_index)

    # ----- leader internals --------------------------------------------------
    def _append_entries(self, p: int, notes: list) -> AppendEntries | InstallSnapshot:
        """The AppendEntries this leader owes follower p right now. While the
        match point is unknown (matchIndex + 1 < nextIndex) it is an empty
        probe; once found, it carries up to entries_per_append entries. If the
        leader has discarded the entry before nextIndex in its snapshot, it
        cannot send AppendEntries (no prevLogTerm, no entries): it sends its
        snapshot instead (section 7, Figure 13)."""
        nxt = self.next_index[p]
        prev = nxt - 1
        off = self.snapshot_index
        if prev < off:
            notes.append(SendSnapshot(p, nxt, off, self.snapshot_term))
            self.in_flight[p] = _SNAPSHOT_SENT
            return InstallSnapshot(self.id, p, self.term, self.snapshot)
        log = self.log
        if self.match_index[p] == prev and prev - off < len(log):
            entries = tuple(log[prev - off:prev - off + self.options.entries_per_append])
        else:
            entries = ()
        self.in_flight[p] = prev
        prev_term = log[prev - off - 1].term if prev > off else self.snapshot_term
        return AppendEntries(self.id, p, self.term, prev, prev_term, entries, self.commit_index, self.round)

    # ----- InstallSnapshot (section 7, Figure 13) --------------------------------
    def _on_install_snapshot(self, m: InstallSnapshot, notes):
        """Figure 13's receiver, the whole snapshot in one message: reply at
        once to an older term; else take the sender as leader (as AppendEntries
        does), and keep the entries after the snapshot if the log has the
        snapshot's last included entry, else discard the whole log; load the
        snapshot's state machine and configuration unless it had already
        applied beyond them."""
        leader, snap = m.src, m.snapshot
        index = snap.index
        if m.term < self.term:
            notes.append(RejectSnapshotTerm(leader, m.term, self.term))
            return [InstallSnapshotReply(self.id, leader, self.term, index, 0)], False
        if self.role == LEADER:
            notes.append(RejectSnapshotLeader(leader, self.term))
            return [InstallSnapshotReply(self.id, leader, self.term, index, 0)], False
        if self.role == CANDIDATE:
            notes.append(Concede(leader, self.term))
            self.become_follower(self.term, leader)
        else:
            self.leader_id = leader
            self.pre_votes = None
        self.heard_leader_at = getattr(m, "arrives", None)
        off = self.snapshot_index
        if index <= off:
            # Step 5 keeps only the larger snapshot: its own already covers this one.
            notes.append(SnapshotCovered(leader, index, off))
            return [InstallSnapshotReply(self.id, leader, self.term, index, self.commit_index)], True
        first, last, applied = off + 1, self.last_log_index, self.last_applied
        # Step 6: a snapshot of a prefix of its log (a retransmission, say): the
        # entries after it are still valid. Step 7: else the whole log goes.
        kept = self.term_at(index) == snap.term
        del self.log[:index - off if kept else len(self.log)]
        self._use_snapshot(snap)
        notes.append(SnapshotInstalled(leader, index, snap.term, first, last, kept, applied, snap.config))
        if applied < index or not kept:
            # Step 8: reset the state machine to the snapshot's. Its entries are
            # committed: commitIndex and lastApplied move up to its index. (A
            # server that had applied beyond the snapshot holds its last included
            # entry, committed, so it kept its log and keeps its state machine.)
            self._load_machine(snap)
            self.commit_index = self.last_applied = index
        before = self.config_index
        self._find_config()
        # (A configuration the snapshot holds is committed, and its note says it is loaded.)
        if self.config_index != before and self.config_index > index:
            notes.append(ConfigUse(self.config_index, self.configuration, self.config_index < before))
        return [InstallSnapshotReply(self.id, leader, self.term, index, self.commit_index)], True

    def _on_install_snapshot_reply(self, m: InstallSnapshotReply, notes):
        """The follower has the snapshot: it matches this leader's log through
        m.match_index. Continue with AppendEntries from there (section 7)."""
        p = m.src
        if self.role != LEADER or m.term != self.term or p not in self.next_index:
            notes.append(StaleReply(m.type, p, m.term))
            return [], False
        self._heard_from(p)
        if self.in_flight.get(p) == _SNAPSHOT_SENT:
            del self.in_flight[p]
        if m.match_index <= self.match_index[p]:
            notes.append(Match(p, m.match_index, False))        # a duplicate: it knew that already
            return [], False
        msgs = self._matched(p, m.match_index, notes)
        if self.role != LEADER:
            return msgs, True
        return msgs + self._keep_going(p, notes), False

    def _advance_commit(self, notes) -> list:
        """If there exists an N > commitIndex such that a majority of
        matchIndex[i] >= N (a majority of each group while joint, counting
        this leader only if it is a voter), and log[N].term == currentTerm:
        set commitIndex = N. Then a configuration change may take its next
        step, and a leader the committed configuration leaves out steps down.
        Returns the messages that next step sends."""
        cfg = self.configuration
        me = self.id
        last = self.snapshot_index + len(self.log)
        if self._plain:
            matches = sorted(self.match_index.values(), reverse=True)
            matches.insert(0, last)
            n = matches[self._majority - 1]
        else:
            n = cfg.agreed_index(self.match_index, me, last)
        if n <= self.commit_index:
            return []
        match = self.match_index
        if self._plain:
            holders = (me,) + tuple(p for p in self.peers if match[p] >= n)
        else:
            voters = cfg.electorate
            holders = ((me,) if me in voters else ()) + tuple(p for p in self.peers if p in voters and match[p] >= n)
        # Terms in a log never decrease, so if entry n is from an earlier term,
        # so is every entry below it: nothing can be committed by counting.
        # (n > commitIndex >= snapshot_index: entry n is in the log.)
        n_term = self.log[n - self.snapshot_index - 1].term
        old_term = n_term != self.term
        if old_term and not self.options.unsafe_commit_by_counting:
            notes.append(OldTermMajority(n, n_term, holders))
            return []
        notes.append(Commit(self.commit_index, n, holders, old_term,
                            cfg if cfg.joint or not self.is_voter else None))
        self._commit_to(n, notes)
        if not self.config_index and self.change is None:     # no change to follow up (the common case)
            return self._serve_reads(notes) if self.reads else []
        if self.config_index <= n and not cfg.joint and not self.is_voter:
            notes.append(StepDownRemoved(self.config_index, cfg))
            self.become_follower(self.term)
            return []
        msgs = self._continue_change(notes)
        # Reads after the change's next step: a round they start goes to the servers
        # of the configuration now in use, not to one it just left out.
        return msgs + self._serve_reads(notes) if self.reads else msgs


# in_flight's mark for an InstallSnapshot outstanding (an AppendEntries has its prev_log_index, >= 0).
_SNAPSHOT_SENT = -1

# The messages receive() hands to _receive_vote().
_VOTE_RULES = frozenset(("RequestVote", "RequestVoteReply", "PreVote", "PreVoteReply", "TimeoutNow"))
# RequestVote and PreVote: what ignore_votes_while_led may ignore.
_ASKS_VOTE = frozenset(("RequestVote", "PreVote"))
# Messages that must not move the receiver's term by the rule for all servers:
# a pre-vote asks about a term nobody is in yet.
_OWN_TERM_RULES = frozenset(("PreVote", "PreVoteReply"))

_HANDLERS = {
    "RequestVote": Node._on_request_vote,
    "RequestVoteReply": Node._on_request_vote_reply,
    "AppendEntries": Node._on_append_entries,
    "AppendEntriesReply": Node._on_append_entries_reply,
    "PreVote": Node._on_pre_vote,
    "PreVoteReply": Node._on_pre_vote_reply,
    "TimeoutNow": Node._on_timeout_now,
    "InstallSnapshot": Node._on_install_snapshot,
    "InstallSnapshotReply": Node._on_install_snapshot_reply,
}
