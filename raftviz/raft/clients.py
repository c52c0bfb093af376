"""Client interactions (the Raft paper's section 8; Ongaro's thesis, chapter 6):
the part of a Node that serves clients. Node inherits it.

Exactly once (thesis 6.3). A command may carry a client id and a sequence
number. The state machine keeps, per client, the last sequence number it
applied and its reply (`sessions`); a command that comes again with a
sequence number already applied is not applied again, and is answered with
the saved reply. The unsafe switch `unsafe_no_dedup` applies it again.

Linearizable reads (thesis 6.4). A leader serves a read without writing to
its log, by the ReadIndex procedure:
  1. it must have committed an entry of its current term (a new leader does
     not know which entries are committed until then: it appends a no-op);
  2. it records its commitIndex as the read index;
  3. it confirms that it is still the leader: a round of heartbeats, each
     AppendEntries carrying the round's number, answered by a majority;
  4. it waits until it has applied up to the read index, then answers.
With `lease_reads` (thesis 6.4.1) step 3 is skipped while the leader holds a
lease: a round confirmed by a majority at time t lets it answer until
t + the minimum election timeout, because no other leader can be elected
before then. That rests on two assumptions the simulation makes true and a
real cluster must: clocks run at the same rate (no drift), and servers that
have heard from a leader within the minimum election timeout ignore
RequestVote (so lease_reads implies ignoring votes while led). The unsafe
switch `unsafe_local_reads` answers from the leader's own state at once, so a
leader cut off in a minority answers with stale data.

The host gives each request an id and learns the answers from the notes:
Answered (a command applied, with its reply) and ReadAnswer (a read).
`now` is the host's clock at the current input; only leases look at it.
"""
from __future__ import annotations

from typing import NamedTuple

from . import kv
from .messages import Entry
from .notes import (Duplicate, NotLeader, ReadAnswer, ReadConfirmed, ReadIndexRound,
                    ReadLease, ReadWaitsForTerm, TransferBusy)


class Read(NamedTuple):
    """A read a leader is serving: the request, the key, the read index
    (None until an entry of the leader's term is committed) and the heartbeat
    round that must confirm its leadership (0: confirmed)."""
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
        self.round = 0                         # heartbeat rounds that confirm leadership for reads
        self.acked: dict[int, int] = {}        # follower -> the latest round it answered
        self.round_time: dict[int, int] = {}   # round -> when its heartbeats left (lease reads)
        self.lease_until = None

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
            self.waiting[len(self.log) + 1] = request       # answered when applied (_commit_to)
        msgs = self._append(Entry(self.term, command, None, client, seq), notes)
        return msgs, False, notes

    def _apply(self, index: int, entry: Entry, notes: list) -> str | None:
        """Apply one committed entry to the state machine; returns its reply.
        A command of a client session is applied once (thesis 6.3)."""
        if entry.client is None:
            return kv.apply(self.store, entry.command)
        last = self.sessions.get(entry.client)
        if last is not None and entry.seq <= last[0]:
            unsafe = self.options.unsafe_no_dedup
            notes.append(Duplicate(index, entry.client, entry.seq, last[0], unsafe))
            if not unsafe:
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
            notes.append(ReadAnswer(request, key, self.store.get(key), self.last_applied, "local"))
            return [], False, notes
        msgs: list = []
        if not self._term_committed():
            if self.last_log_term != self.term:
                msgs = self._append(Entry(self.term, None), notes)
            notes.append(ReadWaitsForTerm(request, key, self.term, self.last_log_index))
            self.reads.append(Read(request, key, None, -1))
            return msgs, False, notes
        msgs = self._start_read(Read(request, key, self.commit_index, 0), notes)
        self._serve_reads(notes)
        return msgs, False, notes

    def _start_read(self, r: Read, notes: list) -> list:
        """Record the read index, then hold a lease or start a heartbeat round."""
        if self.options.lease_reads and self.lease_until is not None and self.now < self.lease_until:
            notes.append(ReadLease(r.request, r.key, r.index, self.lease_until - self.now))
            self.reads.append(r._replace(round=0))
            return []
        self.round += 1
        self.round_time[self.round] = self.now
        notes.append(ReadIndexRound(r.request, r.key, r.index, self.round))
        self.reads.append(r._replace(round=self.round))
        if self._round_confirmed(self.round):           # a cluster of one
            return []
        return [self._append_entries(p) for p in self.peers]

    def _round_confirmed(self, rnd: int) -> bool:
        acked = self.acked
        return self.configuration.quorum({self.id} | {p for p, r in acked.items() if r >= rnd})

    def _on_round_ack(self, p: int, rnd: int, notes: list) -> None:
        """Follower p answered an AppendEntries of round `rnd`."""
        if rnd <= self.acked.get(p, 0):
            return
        self.acked[p] = rnd
        if self.options.lease_reads and self._round_confirmed(rnd):
            until = self.round_time.get(rnd, 0) + self.lease
            if self.lease_until is None or until > self.lease_until:
                self.lease_until = until
            for old in [r for r in self.round_time if r < rnd]:
                del self.round_time[old]
        if self.reads:
            self._serve_reads(notes)

    def _serve_reads(self, notes: list) -> list:
        """Confirm reads whose round a majority answered, and answer those
        the state machine has caught up with. Returns heartbeats for reads
        that just got their read index (their leader's term entry committed)."""
        msgs: list = []
        still = []
        started = []
        for r in self.reads:
            if r.index is None:
                if not self._term_committed():
                    still.append(r)
                    continue
                started.append(r._replace(index=self.commit_index))
                continue
            if r.round > 0 and self._round_confirmed(r.round):
                notes.append(ReadConfirmed(r.request, r.round))
                r = r._replace(round=0)
            if r.round == 0 and self.last_applied >= r.index:
                notes.append(ReadAnswer(r.request, r.key, self.store.get(r.key), r.index, "read_index"))
                continue
            still.append(r)
        self.reads = still
        for r in started:
            msgs += self._start_read(r, notes)
        if started:
            self._serve_reads(notes)
        return msgs

    def _heartbeat_round(self) -> None:
        """With lease reads, every heartbeat starts a round, so the lease keeps being renewed."""
        if self.options.lease_reads:
            self.round += 1
            self.round_time[self.round] = self.now
