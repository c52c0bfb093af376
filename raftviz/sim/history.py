"""History: what a Cluster remembers of its run, and how it moves through it.

The trace has one record per event and per user action, numbered by seq
from 1. The History keeps the user actions with their positions, the safety
violations, the messages dropped by hand, the records worth a timeline
marker, and checkpoints of the world every `interval` records. Because the
world is deterministic, that is enough to go anywhere:

- seek(seq) restores the nearest checkpoint at or before seq and replays
  from it, so its cost depends on the checkpoint interval, not on how long
  the history is;
- stepping at a past position follows the recorded future, user actions
  included; a new action at a past position forks: the recorded future is
  cut there;
- trace records are kept for the most recent stretch and rebuilt on demand
  from a checkpoint for older ones, so memory holds checkpoints (which share
  unchanged log chunks) rather than every record or every state.

`limit` caps how many records stay reachable; the oldest checkpoints go
first, and seeking before the oldest one left is refused with a clear
message. The actions are always kept, so an export works whatever was
trimmed.

The History owns the live World and changes it in place (seek loads a
checkpoint into it), so the Cluster's reference to it stays valid.
"""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence

from .actions import is_int
from .budget import Budget
from .explain import marks, ms, record_dict
from .quote import quote
from .world import INF, World

# Stretches of `interval` records held as records: the one being written and the one
# before it (a page's last 200 records may reach into it); older ones are rebuilt when read. Each
# record is a few objects the garbage collector scans in every full pass, over all sessions at
# once and without pausing: more held stretches make those passes longer for everyone.
KEPT_CHUNKS = 2
MAX_TIME = 1e12                          # ms: about 30 years of virtual time; beyond, floats lose microseconds


class History:
    def __init__(self, world: World, new_world: Callable[[], World], interval: int, limit: int,
                 initial_violations: list | None = None):
        """`world` has just started (time 0); `new_world` makes a blank one
        of the same cluster, to rebuild old records in."""
        self.world = world
        self._new_world = new_world
        self.interval = interval
        self.limit = limit
        self.seq = 0                             # the position: the state right after record seq
        self.length = 0                          # how many records the history holds
        self.actions: dict[int, tuple[int, dict]] = {}       # seq -> (µs, checked action)
        self._violations: dict[int, list[dict]] = {}
        self._chunks: OrderedDict[int, list] = OrderedDict()
        self._markers: list[tuple] = []          # (seq, time, marks) of records worth a timeline marker
        self._dropped: dict[int, dict] = {}      # seq of a drop action -> the message it dropped (kept like actions)
        if initial_violations:
            self._violations[0] = [dict(v, seq=0) for v in initial_violations]
        self.checkpoints: dict[int, tuple] = {0: world.save()}

    @property
    def oldest(self) -> int:
        """The earliest seq that seek() can still reach."""
        return next(iter(self.checkpoints))

    def violations(self) -> list[dict]:
        """The violations found up to the current position."""
        return [v for seq, found in self._violations.items() if seq <= self.seq for v in found]

    def report(self, violation: dict) -> bool:
        """Attach a violation found by a check of the whole run (Linearizability)
        to the current position, unless the same was reported already.
        Returns whether it is new."""
        if any(v["property"] == violation["property"] and v["text"] == violation["text"]
               for v in self.violations()):
            return False
        self._violations.setdefault(self.seq, []).append(dict(violation, seq=self.seq))
        return True

    def dropped(self, seq: int) -> dict | None:
        return self._dropped.get(seq)

    # ----- moving forward --------------------------------------------------------------
    def _next(self, world: World, seq: int, until: float):
        """The record at position `seq` (the next one) in `world`: the user
        action recorded there, if any, else the next event due by `until`."""
        recorded = self.actions.get(seq) if seq <= self.length else None
        if recorded is not None:
            time, action = recorded
            if time > until:
                return None
            world.now = time
            rec, violations, _ = world.apply(action)
            return rec, violations
        return world.next_event(until)

    def advance(self, until: float = INF):
        """Process the next record due by `until` (recorded or new); returns it, or None."""
        seq = self.seq + 1
        got = self._next(self.world, seq, until)
        if got is None:
            return None
        rec, violations = got
        self.seq = seq
        self._keep(seq, rec, violations)
        return rec

    def act(self, action: dict):
        """Carry out a checked action here, cutting the recorded future
        first; returns the action's result."""
        self.fork()
        seq = self.seq + 1
        rec, violations, result = self.world.apply(action)
        self.actions[seq] = (self.world.now, action)
        self.seq = seq
        self._keep(seq, rec, violations)
        return result

    def _keep(self, seq: int, rec, violations) -> None:
        if rec.kind == "action" and rec.subject["type"] == "drop":
            m = rec.notes[0].message
            self._dropped[seq] = {"type": m.type, "src": m.src, "dst": m.dst}
        if seq <= self.length:               # following the recorded future
            self._file(seq, [rec])
            return
        self.length = seq
        if violations:
            self._violations[seq] = [dict(v, seq=seq) for v in violations]
        self._mark(seq, [rec])
        self._file(seq, [rec])
        if seq % self.interval == 0:
            self._checkpoint()

    def _checkpoint(self) -> None:
        last = self.checkpoints[next(reversed(self.checkpoints))]
        self.checkpoints[self.seq] = self.world.save(last)
        self._trim()

    def _mark(self, first: int, records: list) -> None:
        for seq, rec in enumerate(records, first):
            found = marks(rec, self._violations.get(seq))
            if found:
                self._markers.append((seq, rec.time, tuple(found)))

    def _trim(self) -> None:
        keys = list(self.checkpoints)
        while len(keys) > 1 and self.length - keys[1] >= self.limit:
            del self.checkpoints[keys.pop(0)]
        if self._markers and self._markers[0][0] <= keys[0]:
            self._markers = [m for m in self._markers if m[0] > keys[0]]
        first_chunk = keys[0] // self.interval
        for k in [k for k in self._chunks if k < first_chunk]:
            del self._chunks[k]

    def run(self, until: int, stop_at: int | None, max_events: int | None, budget: Budget | None) -> bool:
        """Cluster.run_for past its checks: process what is due by `until`
        (µs), following the recorded future first, and move now to `until`
        unless stopped by stop_at or max_events (False: by max_events)."""
        cap = self.seq + max_events if max_events is not None else None
        end = stop_at if cap is None else cap if stop_at is None else min(stop_at, cap)
        while self.seq < self.length and (end is None or self.seq < end):
            if budget is not None:
                budget.spend()
            if self.advance(until) is None:      # follow the recorded future first
                break
        if end is None or self.seq < end:
            if self.seq >= self.length:
                self._run_live(until, end, budget)
        if end is not None and self.seq >= end:
            stopped_by_cap = cap is not None and (stop_at is None or cap < stop_at)
            return not stopped_by_cap
        self.world.now = max(self.world.now, until)
        return True

    def _run_live(self, until: int, stop_at: int | None = None, budget: Budget | None = None) -> None:
        """At the end of the history: let the world run in batches that end
        at checkpoint boundaries, and file the batch's records at once."""
        world, interval = self.world, self.interval
        while True:
            limit = interval - self.seq % interval
            if stop_at is not None:
                limit = min(limit, stop_at - self.seq)
                if limit <= 0:
                    return
            records: list = []
            found: dict = {}
            done = world.run(until, limit, records, found)
            if done == 0:
                return
            first = self.seq + 1
            self.seq = self.length = self.seq + done
            for k, violations in found.items():
                self._violations[first + k] = [dict(v, seq=first + k) for v in violations]
            self._mark(first, records)
            self._file(first, records)
            if self.seq % interval == 0:
                self._checkpoint()
            if budget is not None:               # stop, if need be, with the batch filed
                budget.spend(done)
            if done < limit:
                return

    def _file(self, first: int, records: list) -> None:
        """Store newly made records first.. (all within one stretch)."""
        k, offset = divmod(first - 1, self.interval)
        chunk = self._chunks.get(k)
        if chunk is None:
            if offset != 0:
                return
            chunk = self._chunks[k] = []
            while len(self._chunks) > KEPT_CHUNKS:
                self._chunks.popitem(last=False)
        else:
            self._chunks.move_to_end(k)
        if len(chunk) == offset:
            chunk.extend(records)

    # ----- going back, and cutting the future ----------------------------------------
    def seek(self, seq) -> None:
        """Go to the state right after record `seq` (0: the initial state)."""
        if not is_int(seq) or not 0 <= seq <= self.length:
            raise ValueError(f"There is no record {quote(seq)}: the history runs from 0 to {self.length}.")
        if seq < self.oldest:
            raise ValueError(f"Record {seq} is no longer kept: the history now starts at record {self.oldest} "
                             f"(at most {self.limit} records are kept).")
        base = max(k for k in self.checkpoints if k <= seq)
        if not base <= self.seq < seq:
            self.world.load(self.checkpoints[base])
            self.seq = base
        while self.seq < seq:
            self.advance()

    def fork(self) -> None:
        """Drop the recorded future after the current position."""
        s = self.seq
        if s >= self.length:
            return
        for table in (self.actions, self._violations, self.checkpoints, self._dropped):
            for k in [k for k in table if k > s]:
                del table[k]
        while self._markers and self._markers[-1][0] > s:
            self._markers.pop()
        k, offset = divmod(s, self.interval)
        for c in [c for c in self._chunks if c > k or (c == k and offset == 0)]:
            del self._chunks[c]
        if k in self._chunks:
            del self._chunks[k][offset:]
        self.length = s

    def copy(self, world: World, new_world: Callable[[], World]) -> "History":
        """This history for another world loaded at the same position
        (Cluster.fork). Checkpoints and records never change once made, so
        they are shared; the tables that grow are copied."""
        twin = History.__new__(History)
        twin.__dict__.update(self.__dict__)
        twin.world, twin._new_world = world, new_world
        twin.actions, twin._dropped, twin.checkpoints = dict(self.actions), dict(self._dropped), dict(self.checkpoints)
        twin._violations = {k: list(v) for k, v in self._violations.items()}
        twin._chunks = OrderedDict((k, list(chunk)) for k, chunk in self._chunks.items())
        twin._markers = list(self._markers)
        return twin

    # ----- reading records -------------------------------------------------------------
    def record(self, seq: int, rec) -> dict:
        return record_dict(seq, rec, self._violations.get(seq))

    def _records(self, first: int, last: int) -> list:
        """Compact records first..last (1-based, inclusive), rebuilding
        stretches no longer held from their checkpoint."""
        out = []
        seq = first
        while seq <= last:
            k, offset = divmod(seq - 1, self.interval)
            chunk = self._chunks.get(k)
            if chunk is None or len(chunk) <= min(last - 1 - k * self.interval, self.interval - 1):
                chunk = self._rebuild(k)
            take = min(last, (k + 1) * self.interval) - seq + 1
            out.extend(chunk[offset:offset + take])
            seq += take
        return out

    def _rebuild(self, k: int) -> list:
        start = k * self.interval
        if start not in self.checkpoints:
            raise IndexError(f"Record {start + 1} is no longer kept: the history now starts at record "
                             f"{self.oldest}.")
        world = self._new_world()
        world.load(self.checkpoints[start])
        chunk = []
        for seq in range(start + 1, min(start + self.interval, self.length) + 1):
            chunk.append(self._next(world, seq, INF)[0])
        self._chunks[k] = chunk
        self._chunks.move_to_end(k)
        while len(self._chunks) > KEPT_CHUNKS:
            self._chunks.popitem(last=False)
        return chunk

    def records(self, first: int, last: int) -> list[dict]:
        """Trace records first..last as dicts, within what is kept."""
        first, last = max(first, self.oldest + 1, 1), min(last, self.length)
        if first > last:
            return []
        return [self.record(s, r) for s, r in zip(range(first, last + 1), self._records(first, last))]

    def markers(self, limit: int) -> list[dict]:
        """Records worth a mark on a timeline, oldest first; past `limit`,
        commits are thinned first, evenly, since they are the common kind."""
        kept = self._markers
        if len(kept) > limit:
            rare = [m for m in kept if m[2] != ("commit",)]
            commits = [m for m in kept if m[2] == ("commit",)]
            room = max(0, limit - len(rare))
            step = max(1, -(-len(commits) // room)) if room else len(commits) + 1
            kept = sorted(rare + commits[::step], key=lambda m: m[0])[-limit:]
        return [{"seq": seq, "time": ms(time), "marks": list(found)} for seq, time, found in kept]


class Trace(Sequence):
    """The trace as a read-only list of record dicts, built when read.
    Records older than the kept history raise IndexError when asked for."""

    def __init__(self, cluster):
        self._history: History = cluster._history

    def __len__(self) -> int:
        return self._history.length

    def __getitem__(self, index):
        n = len(self)
        if isinstance(index, slice):
            seqs = range(n)[index]
            if not seqs:
                return []
            if seqs.step == 1:
                return self._history.records(seqs[0] + 1, seqs[-1] + 1)
            return [self[i] for i in seqs]
        if not is_int(index):
            raise TypeError("trace indexes must be integers or slices")
        if index < 0:
            index += n
        if not 0 <= index < n:
            raise IndexError("trace index out of range")
        if index < self._history.oldest:
            raise IndexError(f"Record {index + 1} is no longer kept: the history now starts at record "
                             f"{self._history.oldest}.")
        return self._history.records(index + 1, index + 1)[0]

    def __iter__(self):
        h = self._history
        seq = h.oldest + 1
        while seq <= len(self):
            last = min(seq + h.interval - 1, len(self))
            yield from h.records(seq, last)
            seq = last + 1

    def __eq__(self, other) -> bool:
        if isinstance(other, (Trace, list, tuple)):
            return len(self) == len(other) and list(self) == list(other)
        return NotImplemented

    def __repr__(self) -> str:
        return f"<Trace of {len(self)} records>"
