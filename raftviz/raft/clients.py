"""Client interactions (the Raft paper's section 8; Ongaro's thesis, chapter 6):
the part of a Node that serves clients. Node inherits it.

Exactly once (thesis 6.3). A command may carry a client id and a sequence
number. The state machine keeps, per client, the last sequence number it
applied and its reply (`sessions`, the client table); a command that comes
again with a sequence number already applied is not applied again, and is
answered with the saved reply. The unsafe switch `unsafe_no_dedup` applies
it again. Simplifications, stated: a client has one request outstanding at a
time, so one saved reply per client is enough (the thesis keeps one per
outstanding request); clients need not register, and sessions never expire.

Linearizable reads (thesis 6.4). A leader serves a read without writing to
its log, by the ReadIndex procedure:
  1. it must have committed an entry of its current term (a new leader does
     not know which entries are committed until then: it appends a no-op);
  2. it records its commitIndex as the read index;
  3. it confirms that it is still the leader: a round of heartbeats sent
     after the read arrived, answered by a majority. Every AppendEntries
     carries the number of the latest round, and the reply echoes it;
  4. it waits until it has applied up to the read index, then answers.
Rounds are batched, as the thesis suggests: one round is out at a time, and
the reads that arrive meanwhile all go with the next one, which leaves as
soon as the current one is confirmed.

Lease reads (thesis 6.4.1, option `lease_reads`). A round confirmed by a
majority, whose heartbeats left at time t, gives the leader a lease until
t + the minimum election timeout: it answers reads without a round until
then (still after step 1, and at its commitIndex). That is safe only if no
other leader can be elected before t + the minimum election timeout, which
rests on these rules and assumptions:
  - clocks run at the same rate (no drift; the simulation's one clock);
  - a server that heard from a leader within the minimum election timeout
    ignores RequestVote and PreVote (thesis 4.2.3), even if its term has
    moved on since;
  - a server that restarts ignores them for a minimum election timeout: it
    may have promised that before it crashed, and does not remember;
  - a leader that starts a leadership transfer gives up its lease for the
    rest of its term (TimeoutNow lets its target be elected at once, and may
    arrive late); one that changes the configuration starts its lease
    afresh, counted in the new configuration; one whose option is switched
    on or off drops its lease (drop_lease).
The unsafe switch `unsafe_local_reads` answers from the leader's own state at
once, so a leader cut off in a minority answers with stale data.

The host gives each request an id and learns the answers from the notes
Answered (a command applied, with its reply) and ReadAnswer (a read), which
the node also puts in `answers` for the host to take: so the host looks at
one list, not at every note of every event, to find them. `now` is the
host's clock at the current input; only leases look at it.
"""
from __future__ import annotations

from typing import NamedTuple

from . import kv
from .messages import Entry
from .notes import (Duplicate, NotLeader, ReadAnswer, ReadConfirmed, ReadIndexRound, ReadLease, ReadNextRound,
                    ReadRoundLeaves, ReadWaitsForTerm, TransferBusy)

NO_LEASE = float("inf")         # lease_from for a leader that may hold no lease again in its term


class Read(NamedTuple):
    """A read a leader is serving: the request, the key, the read index
    (None until an entry of the leader's term is committed) and the heartbeat
    round that must confirm its leadership (0: none needed, a lease)."""
    request: int
    key: str
    index: int | None
    round: int


class ClientRules:
    """Serving clients; mixed into Node, whose fields it uses (see node.py)."""

    def _reset_clients(self) -> None:
        """A leader's client state, cleared with its other leader state."""
        self.waiting: dict[int, int] = {}      # log index -> the request whose command it holds
        self.reads: list[Read] = []
        self.round = 0               # the latest heartbeat round started (its AppendEntries carry it)
        self.confirmed = 0           # the latest round a majority answered
        self.round_sent = 0          # when the latest round's heartbeats left (for the lease)
        self.acked: dict[int, int] = {}        # follower -> the latest round it answered
        self.lease_until = None      # lease reads: answer without a round until then
        self.lease_from = 1          # the first round that may give a lease

    def _client_state(self) -> tuple:
        return (dict(self.waiting), tuple(self.reads), self.round, self.confirmed, self.round_sent,
                dict(self.acked), self.lease_until, self.lease_from)

    def _load_client_state(self, saved: tuple) -> None:
        (waiting, reads, self.round, self.confirmed, self.round_sent, acked, self.lease_until,
         self.lease_from) = saved
        self.waiting, self.reads, self.acked = dict(waiting), list(reads), dict(acked)

    def _answer(self, note, notes: list) -> None:
        notes.append(note)
        self.answers.append(note)

    # ----- writes ------------------------------------------------------------
    def propose(self, command: str | None, client: int | None = None, seq: int | None = None,
                request: int | None = None):
        """Leader: append a client command to the log and start replicating it
        to every follower that is caught up and has nothing outstanding. With
        a request id, the leader answers it once the entry is applied."""
        if self.role != "leader":
            return [], False, [NotLeader(self.role, self.leader_id)]
        if self.transfer_to is not None:
            return [], False, [TransferBusy(self.transfer_to)]
        notes: list = []
        if request is not None:
            self.waiting[self.last_log_index + 1] = request  # answered when applied (_commit_to)
        msgs = self._append(Entry(self.term, command, None, client, seq), notes)
        return msgs, False, notes

    def _apply(self, index: int, entry: Entry, notes: list) -> str | None:
        """Apply one committed entry of a client session to the state machine;
        returns its reply. Applied once however often it was retried (thesis 6.3)."""
        last = self.sessions.get(entry.client)
        if last is not None and entry.seq <= last[0]:
            unsafe = self.options.unsafe_no_dedup
            notes.append(Duplicate(index, entry.client, entry.seq, last[0], unsafe))
            if not unsafe:
                # The saved reply is the latest request's; an older one's is gone (its
                # client has had its answer, since it sent a newer one).
                return last[1] if entry.seq == last[0] else None
        reply = kv.apply(self.store, entry.command)
        self.sessions[entry.client] = (entry.seq, reply)
        return reply

    # ----- reads -------------------------------------------------------------
    def read(self, request: int, key: str):
        """Leader: serve a read of `key` (see the module's docstring)."""
        if self.role != "leader":
            return [], False, [NotLeader(self.role, self.leader_id)]
        if self.transfer_to is not None:
            return [], False, [TransferBusy(self.transfer_to)]
        notes: list = []
        if self.options.unsafe_local_reads:
            self._answer(ReadAnswer(request, key, self.store.get(key), self.last_applied, "local"), notes)
            return [], False, notes
        if not self._term_committed():
            msgs = []
            if self.last_log_term != self.term:           # no entry of its term yet: a no-op
                msgs = self._append(Entry(self.term, None), notes)
            if self._term_committed():                    # a cluster of one commits it at once
                return msgs + self._take_read(request, key, notes), False, notes
            notes.append(ReadWaitsForTerm(request, key, self.term, self.last_log_index))
            self.reads.append(Read(request, key, None, 0))
            return msgs, False, notes
        return self._take_read(request, key, notes), False, notes

    def lease_holds(self) -> bool:
        return self.options.lease_reads and self.lease_until is not None and self.now < self.lease_until

    def _take_read(self, request: int, key: str, notes: list) -> list:
        """Steps 2 and 3: record the read index, then use the lease, start a
        round, or wait for the next round if one is out."""
        index = self.commit_index
        if self.lease_holds():
            notes.append(ReadLease(request, key, index, self.lease_until - self.now))
            return self._answer_or_keep(Read(request, key, index, 0), notes)
        if self.round > self.confirmed:
            # A round is out, but it left before this read arrived, so it cannot
            # confirm it: the read goes with the next round, as do all reads until then.
            notes.append(ReadNextRound(request, key, index, self.round + 1, self.round))
            self.reads.append(Read(request, key, index, self.round + 1))
            return []
        msgs = self._start_round(notes)
        notes.append(ReadIndexRound(request, key, index, self.round))
        return self._answer_or_keep(Read(request, key, index, self.round), notes) + msgs

    def _answer_or_keep(self, r: Read, notes: list) -> list:
        if r.round <= self.confirmed and self.last_applied >= r.index:
            self._answer(ReadAnswer(r.request, r.key, self.store.get(r.key), r.index, "read_index"), notes)
        else:
            self.reads.append(r)
        return []

    def _start_round(self, notes: list) -> list:
        """A new heartbeat round: an AppendEntries to every follower now (or
        its snapshot, to one that needs it: no round in that, so it cannot confirm)."""
        self.round += 1
        self.round_sent = self.now
        if self._alone:                                 # a majority by itself: confirmed at once
            self._confirm(self.round)
            return []
        return [self._append_entries(p, notes) for p in self.peers]

    def _confirm(self, rnd: int) -> None:
        """A majority answered round `rnd` (and so every round before it)."""
        self.confirmed = rnd
        if rnd == self.round and self.options.lease_reads and rnd >= self.lease_from:
            until = self.round_sent + self.lease
            if self.lease_until is None or until > self.lease_until:
                self.lease_until = until

    def _on_round_ack(self, p: int, rnd: int, notes: list) -> list:
        """Follower p answered an AppendEntries of round `rnd`. Returns the
        heartbeats of the next round, if reads wait for it."""
        if rnd <= self.acked.get(p, 0):
            return []
        self.acked[p] = rnd
        if rnd <= self.confirmed:
            return []
        acked = self.acked
        if not self.configuration.quorum({self.id} | {q for q, r in acked.items() if r >= rnd}):
            return []
        self._confirm(rnd)
        if not self.reads:
            return []
        msgs = self._serve_reads(notes)
        waiting = [r.request for r in self.reads if r.round > self.round]
        if not waiting:
            return msgs
        msgs += self._start_round(notes)
        notes.append(ReadRoundLeaves(self.round, tuple(waiting)))
        return msgs

    def _serve_reads(self, notes: list) -> list:
        """Answer the reads whose round a majority confirmed and whose read
        index is applied; give their read index to reads that waited for an
        entry of the leader's term to commit. Returns the heartbeats of a
        round started for those."""
        confirmed, applied = self.confirmed, self.last_applied
        term_ok = None
        still, fresh, done = [], [], []
        for r in self.reads:
            if r.index is None:
                if term_ok is None:
                    term_ok = self._term_committed()
                (fresh if term_ok else still).append(r)
            elif r.round <= confirmed and applied >= r.index:
                done.append(r)
            else:
                still.append(r)
        self.reads = still
        if done:
            rounds = sorted({r.round for r in done if r.round})
            for rnd in rounds:
                notes.append(ReadConfirmed(rnd, tuple(r.request for r in done if r.round == rnd)))
            store = self.store
            for r in done:
                self._answer(ReadAnswer(r.request, r.key, store.get(r.key), r.index, "read_index"), notes)
        msgs: list = []
        for r in fresh:
            msgs += self._take_read(r.request, r.key, notes)
        return msgs

    def _heartbeat_round(self) -> None:
        """Lease reads: a heartbeat starts a round when none is out, so the
        lease keeps being renewed while the leader hears from a majority."""
        if self.round == self.confirmed:
            self.round += 1
            self.round_sent = self.now

    def drop_lease(self, for_good: bool = False) -> None:
        """Give up the lease: only rounds that start from now on may give one
        (none at all in this term, for_good)."""
        self.lease_until = None
        self.lease_from = NO_LEASE if for_good else self.round + 1
