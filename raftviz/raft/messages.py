"""The RPC messages of the Raft paper's Figure 2, plus log entries, plus the
three messages of Ongaro's thesis that the options add: PreVote and its
reply (section 9.6) and TimeoutNow (leadership transfer, section 3.10), plus
snapshots and Figure 13's InstallSnapshot RPC (section 7, log compaction).

Field names are Figure 2's in snake_case. A node fills in src, dst, term and
the Figure 2 fields; the simulator fills in the envelope (id, sent, arrives, sent_blocked)
when it puts the message on the wire. Messages are never changed after that,
so the simulator's history can share them freely.
"""
from __future__ import annotations

from typing import NamedTuple


class Entry(NamedTuple):
    """One log entry: the leader's term when it was created and the command.

    A command of None is a leader's no-op entry, unless the entry carries a
    configuration (config.Config): then it is a configuration entry
    (section 6). Entries are immutable values, so logs, messages and history
    checkpoints can all share the same objects.
    """
    term: int
    command: str | None = None
    config: object = None
    client: int | None = None        # client sessions (section 8): who sent the command,
    seq: int | None = None           # and its sequence number, so a retry is applied once

    @property
    def kind(self) -> str:
        """"command", "config" or "noop"."""
        if self.config is not None:
            return "config"
        return "noop" if self.command is None else "command"


def entry_dict(index: int, e: Entry) -> dict:
    """An entry as the page and the trace see it."""
    d = {"index": index, "term": e.term, "command": e.command}
    if e.config is not None:
        d["kind"] = "config"
        d["config"] = e.config.to_dict()
    elif e.command is None:
        d["kind"] = "noop"
    if e.client is not None:
        d["client"], d["seq"] = e.client, e.seq
    return d


class Snapshot(NamedTuple):
    """Section 7 (Figure 12): what a server keeps in place of its log entries
    up through `index`: the last included index and term (so the entry after
    it still has a previous index and term for the AppendEntries consistency
    check), the state machine as it was after applying that entry, and the
    latest configuration in the log as of `index` (section 7: "to enable
    cluster membership changes"), with the index of its entry (0: the
    initial one).

    The state machine lives here in ONE place: the key-value store and the
    client table (`sessions`: client id -> (seq, reply), empty until client
    sessions exist). A snapshot is a value like an entry: logs, messages and
    checkpoints share it, nobody changes it, and a server that loads it
    copies the state machine first (Node._load_machine)."""
    index: int
    term: int
    config: object              # config.Config
    config_index: int
    store: dict
    sessions: dict


def snapshot_data(snapshot: Snapshot) -> dict:
    """A snapshot's contents as the page and the trace see them (Figure 13's data[]);
    the client table only once it holds something."""
    data = {"store": dict(snapshot.store), "config": snapshot.config.to_dict()}
    if snapshot.sessions:
        data["sessions"] = {str(client): list(entry) if isinstance(entry, tuple) else entry
                            for client, entry in snapshot.sessions.items()}
    return data


class Message:
    # The envelope: id, sent and arrives (µs), and sent_blocked: why the link
    # was down when the message was sent (None if it was up).
    __slots__ = ("src", "dst", "term", "id", "sent", "arrives", "sent_blocked")
    type = "Message"

    def to_dict(self) -> dict:
        d = {"type": self.type, "src": self.src, "dst": self.dst, "term": self.term}
        d.update(self.fields())
        return d

    def fields(self) -> dict:  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self.fields().items())
        return f"{self.type}(S{self.src}->S{self.dst}, term={self.term}, {fields})"


class RequestVote(Message):
    """Invoked by candidates to gather votes (Figure 2, RequestVote RPC).
    `transfer` marks an election a leadership transfer started (thesis
    3.10): servers that ignore votes while they hear a leader answer it."""
    __slots__ = ("last_log_index", "last_log_term", "transfer")
    type = "RequestVote"

    def __init__(self, src, dst, term, last_log_index, last_log_term, transfer=False):
        self.src = src
        self.dst = dst
        self.term = term
        self.last_log_index = last_log_index
        self.last_log_term = last_log_term
        self.transfer = transfer

    @property
    def candidate_id(self) -> int:
        return self.src

    def fields(self) -> dict:
        d = {"candidate_id": self.src, "last_log_index": self.last_log_index,
             "last_log_term": self.last_log_term}
        if self.transfer:
            d["transfer"] = True
        return d


class PreVote(RequestVote):
    """Thesis 9.6: "could I win an election for `term`?", asked before
    raising any term. `term` is the candidate's term plus one; nobody adopts it."""
    __slots__ = ()
    type = "PreVote"




class TimeoutNow(Message):
    """Leadership transfer (thesis 3.10): the leader tells an up-to-date
    follower to start an election at once."""
    __slots__ = ()
    type = "TimeoutNow"

    def __init__(self, src, dst, term):
        self.src = src
        self.dst = dst
        self.term = term

    def fields(self) -> dict:
        return {}


class RequestVoteReply(Message):
    __slots__ = ("vote_granted",)
    type = "RequestVoteReply"

    def __init__(self, src, dst, term, vote_granted):
        self.src = src
        self.dst = dst
        self.term = term
        self.vote_granted = vote_granted

    def fields(self) -> dict:
        return {"vote_granted": self.vote_granted}


class PreVoteReply(RequestVoteReply):
    """Granted: `term` is the term asked about. Refused: the voter's own term."""
    __slots__ = ()
    type = "PreVoteReply"


class AppendEntries(Message):
    """Invoked by the leader to replicate log entries; also the heartbeat.
    `round` numbers the heartbeat rounds by which a leader confirms it still
    leads before answering a read (thesis 6.4); the reply echoes it."""
    __slots__ = ("prev_log_index", "prev_log_term", "entries", "leader_commit", "round")
    type = "AppendEntries"

    def __init__(self, src, dst, term, prev_log_index, prev_log_term, entries, leader_commit, round=0):
        self.src = src
        self.dst = dst
        self.term = term
        self.prev_log_index = prev_log_index
        self.prev_log_term = prev_log_term
        self.entries = entries
        self.leader_commit = leader_commit
        self.round = round

    @property
    def leader_id(self) -> int:
        return self.src

    def fields(self) -> dict:
        first = self.prev_log_index + 1
        return {"leader_id": self.src, "prev_log_index": self.prev_log_index,
                "prev_log_term": self.prev_log_term,
                "entries": [entry_dict(first + k, e) for k, e in enumerate(self.entries)],
                "leader_commit": self.leader_commit, **({"round": self.round} if self.round else {})}


class AppendEntriesReply(Message):
    """Figure 2's reply (term, success) plus what every real implementation adds
    so the leader can match a reply to its request: the request's
    prev_log_index, and on success match_index, the last index now known to
    match the leader's log. conflict_term/conflict_index are the optional
    fast-backup hints of the paper's section 5.3 (None unless enabled)."""
    __slots__ = ("success", "prev_log_index", "match_index", "conflict_term", "conflict_index", "round")
    type = "AppendEntriesReply"

    def __init__(self, src, dst, term, success, prev_log_index, match_index,
                 conflict_term=None, conflict_index=None, round=0):
        self.src = src
        self.dst = dst
        self.term = term
        self.success = success
        self.prev_log_index = prev_log_index
        self.match_index = match_index
        self.conflict_term = conflict_term
        self.conflict_index = conflict_index
        self.round = round

    def fields(self) -> dict:
        d = {"success": self.success, "prev_log_index": self.prev_log_index,
             "match_index": self.match_index}
        if self.conflict_index is not None:
            d["conflict_term"] = self.conflict_term
            d["conflict_index"] = self.conflict_index
        if self.round:
            d["round"] = self.round
        return d


class InstallSnapshot(Message):
    """Figure 13: invoked by the leader to send its snapshot to a follower
    that needs an entry the leader has already discarded.

    Simplification: the simulation sends the whole snapshot in one message,
    so Figure 13's offset, data[] chunks and done flag have nothing to do;
    `snapshot` is the whole of data[] (its state machine and configuration)
    with lastIncludedIndex and lastIncludedTerm."""
    __slots__ = ("snapshot",)
    type = "InstallSnapshot"

    def __init__(self, src, dst, term, snapshot: Snapshot):
        self.src = src
        self.dst = dst
        self.term = term
        self.snapshot = snapshot

    @property
    def leader_id(self) -> int:
        return self.src

    @property
    def last_included_index(self) -> int:
        return self.snapshot.index

    @property
    def last_included_term(self) -> int:
        return self.snapshot.term

    def fields(self) -> dict:
        return {"leader_id": self.src, "last_included_index": self.snapshot.index,
                "last_included_term": self.snapshot.term, "data": snapshot_data(self.snapshot)}


class InstallSnapshotReply(Message):
    """Figure 13's result (term), plus, as for AppendEntriesReply, what the
    leader needs to match it to its request: the request's
    last_included_index, and match_index, the last index the follower now
    holds in agreement with the leader (its commitIndex once it has handled
    the snapshot; 0 when it did not take it)."""
    __slots__ = ("last_included_index", "match_index")
    type = "InstallSnapshotReply"

    def __init__(self, src, dst, term, last_included_index, match_index):
        self.src = src
        self.dst = dst
        self.term = term
        self.last_included_index = last_included_index
        self.match_index = match_index

    def fields(self) -> dict:
        return {"last_included_index": self.last_included_index, "match_index": self.match_index}


MESSAGE_TYPES = {cls.type: cls for cls in (RequestVote, RequestVoteReply, AppendEntries, AppendEntriesReply,
                                           PreVote, PreVoteReply, TimeoutNow, InstallSnapshot,
                                           InstallSnapshotReply)}
