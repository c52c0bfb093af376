"""Cluster: the public face of the simulator, with its whole history.

A Cluster is a World (world.py) plus a record of what happened: the trace
(one record per event and per user action, numbered by seq from 1), the user
actions with their positions, the safety violations, and checkpoints of the
world every `checkpoint_interval` records. Because the world is
deterministic, that is enough to go anywhere:

- seek(seq) restores the nearest checkpoint at or before seq and replays
  from it, so its cost depends on the checkpoint interval, not on how long
  the history is;
- stepping at a past position follows the recorded future, user actions
  included; a new action at a past position forks: the recorded future is
  cut there;
- trace records are kept for the most recent stretch and rebuilt on demand
  from a checkpoint for older ones, so memory holds checkpoints (which share
  unchanged log chunks) rather than every record or every state.

history_limit caps how many records stay reachable; the oldest checkpoints
go first, and seeking before the oldest one left is refused with a clear
message. The initial state and the actions are always kept, so export()
works whatever was trimmed.
"""
from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import asdict

from ..raft import LEADER, CANDIDATE, Options
from . import actions as action_rules
from . import state as state_rules
from .budget import Budget, OverBudget
from .explain import entries_list, marks, message_dict, ms, record_dict
from .network import check_latency, check_loss, number_pair
from .quote import quote, quote_names
from .world import INF, World, us

FORMAT = "raftviz-history"
VERSION = 1
DEFAULT_HISTORY_LIMIT = 1_000_000        # records: over 30 minutes of a 9-node cluster at full speed
DEFAULT_CHECKPOINT_INTERVAL = 1000
# Stretches of checkpoint_interval records held as records: the one being written and the one
# before it (a page's last 200 records may reach into it); older ones are rebuilt when read. Each
# record is a few objects the garbage collector scans in every full pass, over all sessions at
# once and without pausing: more held stretches make those passes longer for everyone.
KEPT_CHUNKS = 2
MAX_TIME = 1e12                          # ms: about 30 years of virtual time; beyond, floats lose microseconds


def _timing(election_timeout, heartbeat_interval, latency) -> dict:
    pair = number_pair(election_timeout)
    if pair is None:
        raise ValueError("election_timeout must be a pair of numbers (lowest, highest) in ms.")
    lo, hi = pair
    # At least 1 ms each: shorter timers would fire over and over at one instant.
    if not 1 <= lo <= hi <= 1_000_000:
        raise ValueError("The election timeout must be a range from at least 1 ms to at most 1000000 ms, "
                         "the lowest first.")
    if isinstance(heartbeat_interval, bool) or not isinstance(heartbeat_interval, (int, float)) \
            or not 1 <= heartbeat_interval <= 1_000_000:
        raise ValueError("The heartbeat interval must be from 1 to 1000000 ms.")
    return {"election_timeout": [lo, hi], "heartbeat_interval": float(heartbeat_interval),
            "latency": list(check_latency(latency))}


def _engine_options(options: dict) -> tuple[Options, dict]:
    history = {"history_limit": options.pop("history_limit", DEFAULT_HISTORY_LIMIT),
               "checkpoint_interval": options.pop("checkpoint_interval", DEFAULT_CHECKPOINT_INTERVAL)}
    for key, value in history.items():
        if not action_rules.is_int(value) or value < 10:
            raise ValueError(f"{key} must be a whole number of at least 10.")
    raft = Options(**action_rules.check_options(options)) if options else Options()
    return raft, history


class Cluster:
    def __init__(self, size, *, seed=0, election_timeout=(150, 300), heartbeat_interval=50,
                 latency=(10, 20), **options):
        if not action_rules.is_int(size) or not action_rules.MIN_NODES <= size <= action_rules.MAX_NODES:
            raise ValueError(f"A cluster has {action_rules.MIN_NODES} to {action_rules.MAX_NODES} servers.")
        self._setup(size, None, seed, election_timeout, heartbeat_interval, latency, options)

    @classmethod
    def from_state(cls, state, *, seed=0, election_timeout=(150, 300), heartbeat_interval=50,
                   latency=(10, 20), **options) -> "Cluster":
        specs = state_rules.parse(state)
        cluster = cls.__new__(cls)
        cluster._setup(len(specs), specs, seed, election_timeout, heartbeat_interval, latency, options)
        return cluster

    def _setup(self, size, specs, seed, election_timeout, heartbeat_interval, latency, options):
        if not action_rules.is_int(seed):
            raise ValueError("seed must be a whole number.")
        raft_options, history = _engine_options(dict(options))
        self._config = {"size": size, "seed": seed, **_timing(election_timeout, heartbeat_interval, latency),
                        "options": asdict(raft_options), **history}
        self._specs = specs
        self._interval = history["checkpoint_interval"]
        self._limit = history["history_limit"]
        self._world = self._new_world()
        self._seq = 0
        self._length = 0
        self._actions: dict[int, tuple[float, dict]] = {}
        self._violations: dict[int, list[dict]] = {}
        self._chunks: OrderedDict[int, list] = OrderedDict()
        self._markers: list[tuple] = []          # (seq, time, marks) of records worth a timeline marker
        self._dropped: dict[int, dict] = {}      # seq of a drop action -> the message it dropped (kept like actions)
        initial = self._start(self._world)
        if initial:
            self._violations[0] = [dict(v, seq=0) for v in initial]
        self._checkpoints: dict[int, tuple] = {0: self._world.save()}

    def _new_world(self) -> World:
        c = self._config
        return World(c["size"], seed=c["seed"], election_timeout=tuple(c["election_timeout"]),
                     heartbeat_interval=c["heartbeat_interval"], latency=tuple(c["latency"]),
                     options=Options(**c["options"]))

    def _start(self, world: World):
        timers = world.load_initial(self._specs) if self._specs else None
        return world.start(timers)

    # ----- reading ---------------------------------------------------------------
    @property
    def now(self) -> float:
        """Virtual time in ms."""
        return ms(self._world.now)

    @property
    def nodes(self):
        return self._world.nodes

    @property
    def seq(self) -> int:
        return self._seq

    @property
    def trace(self) -> "Trace":
        return Trace(self)

    @property
    def network(self) -> "NetworkControl":
        return NetworkControl(self)

    @property
    def options(self) -> dict:
        return asdict(self._world.options)

    @property
    def config(self) -> dict:
        """How the cluster was made: size, seed, timing, starting options."""
        return {k: (list(v) if isinstance(v, list) else dict(v) if isinstance(v, dict) else v)
                for k, v in self._config.items()}

    @property
    def violations(self) -> list[dict]:
        return [v for seq, found in self._violations.items() if seq <= self._seq for v in found]

    @property
    def recorded_actions(self) -> int:
        """How many user actions the history holds (export() lists them all)."""
        return len(self._actions)

    @property
    def oldest(self) -> int:
        """The earliest seq that seek() can still reach."""
        return next(iter(self._checkpoints))

    def leader(self) -> int | None:
        return self._world.leader()

    def leaders(self) -> dict[int, int]:
        """Who has led each term so far in this history: {term: node}."""
        return dict(sorted(self._world.monitor.leaders.items()))

    def message(self, message_id: int):
        return self._world.message(message_id)

    def dropped(self, seq: int) -> dict | None:
        """The message (type, src, dst) a drop action at seq took away."""
        return self._dropped.get(seq)

    def in_flight(self) -> list:
        """The messages in flight (raft.Message objects), in order of arrival."""
        return self._world.in_flight()

    def message_ids(self) -> list[int]:
        """Ids of the messages in flight, in order of arrival."""
        return [m.id for m in self._world.in_flight()]

    def in_flight_count(self) -> int:
        """About how many messages are in flight, at no cost: the length of
        the world's queue, which also holds a timer or two per server."""
        return len(self._world.queue)

    # ----- moving through time -------------------------------------------------------
    def _next(self, world: World, seq: int, until: float):
        """The record at position `seq` (the next one) in `world`: the user
        action recorded there, if any, else the next event due by `until`."""
        recorded = self._actions.get(seq) if seq <= self._length else None
        if recorded is not None:
            time, action = recorded
            if time > until:
                return None
            world.now = time
            rec, violations, _ = world.apply(action)
            return rec, violations
        return world.next_event(until)

    def _advance(self, until: float = INF):
        seq = self._seq + 1
        got = self._next(self._world, seq, until)
        if got is None:
            return None
        rec, violations = got
        self._seq = seq
        self._keep(seq, rec, violations)
        return rec

    def _keep(self, seq: int, rec, violations) -> None:
        if rec.kind == "action" and rec.subject["type"] == "drop":
            m = rec.notes[0].message
            self._dropped[seq] = {"type": m.type, "src": m.src, "dst": m.dst}
        if seq <= self._length:             # following the recorded future
            self._file(seq, [rec])
            return
        self._length = seq
        if violations:
            self._violations[seq] = [dict(v, seq=seq) for v in violations]
        self._mark(seq, [rec])
        self._file(seq, [rec])
        if seq % self._interval == 0:
            self._checkpoint()

    def _checkpoint(self) -> None:
        last = self._checkpoints[next(reversed(self._checkpoints))]
        self._checkpoints[self._seq] = self._world.save(last)
        self._trim()

    def _mark(self, first: int, records: list) -> None:
        for seq, rec in enumerate(records, first):
            found = marks(rec, self._violations.get(seq))
            if found:
                self._markers.append((seq, rec.time, tuple(found)))

    def _trim(self) -> None:
        keys = list(self._checkpoints)
        while len(keys) > 1 and self._length - keys[1] >= self._limit:
            del self._checkpoints[keys.pop(0)]
        if self._markers and self._markers[0][0] <= keys[0]:
            self._markers = [m for m in self._markers if m[0] > keys[0]]
        first_chunk = keys[0] // self._interval
        for k in [k for k in self._chunks if k < first_chunk]:
            del self._chunks[k]

    def step(self) -> dict | None:
        """Process exactly the next record: the next scheduled event or, at a
        past position, whatever comes next in the recorded history."""
        rec = self._advance()
        return None if rec is None else self._record(self._seq, rec)

    def run_for(self, duration, *, stop_at: int | None = None, max_events: int | None = None,
                budget: Budget | None = None) -> bool:
        """Process every event due within the next `duration` ms, then advance
        now by it. Time is kept in whole µs: a duration is rounded to the
        nearest µs, and a positive one always advances now by at least 1 µs,
        so `while c.now < t: c.run_for(t - c.now)` ends. With stop_at, stop
        instead right after record stop_at (the page plays a scenario step
        this way and pauses where it ends). With
        max_events, stop after that many records, without advancing now
        further; returns False then (the server's guard against a cluster
        that has more to do than it can show). With a budget, the events
        done and the messages in flight count against it (budget.py)."""
        if isinstance(duration, bool) or not isinstance(duration, (int, float)) or not 0 <= duration <= MAX_TIME:
            raise ValueError(f"run_for takes a number of milliseconds, from 0 to {MAX_TIME:g}.")
        until = self._world.now + (max(1, us(duration)) if duration > 0 else 0)
        if budget is not None and not budget.watching:
            budget.watch(self.in_flight_count)
        cap = self._seq + max_events if max_events is not None else None
        end = stop_at if cap is None else cap if stop_at is None else min(stop_at, cap)
        while self._seq < self._length and (end is None or self._seq < end):
            if budget is not None:
                budget.spend()
            if self._advance(until) is None:     # follow the recorded future first
                break
        if end is None or self._seq < end:
            if self._seq >= self._length:
                self._run_live(until, end, budget)
        if end is not None and self._seq >= end:
            stopped_by_cap = cap is not None and (stop_at is None or cap < stop_at)
            return not stopped_by_cap
        self._world.now = max(self._world.now, until)
        return True

    def _run_live(self, until: int, stop_at: int | None = None, budget: Budget | None = None) -> None:
        """At the end of the history: let the world run in batches that end
        at checkpoint boundaries, and file the batch's records at once."""
        world, interval = self._world, self._interval
        while True:
            limit = interval - self._seq % interval
            if stop_at is not None:
                limit = min(limit, stop_at - self._seq)
                if limit <= 0:
                    return
            records: list = []
            found: dict = {}
            done = world.run(until, limit, records, found)
            if done == 0:
                return
            first = self._seq + 1
            self._seq = self._length = self._seq + done
            for k, violations in found.items():
                self._violations[first + k] = [dict(v, seq=first + k) for v in violations]
            self._mark(first, records)
            self._file(first, records)
            if self._seq % interval == 0:
                self._checkpoint()
            if budget is not None:               # stop, if need be, with the batch filed
                budget.spend(done)
            if done < limit:
                return

    def _file(self, first: int, records: list) -> None:
        """Store newly made records first.. (all within one stretch)."""
        k, offset = divmod(first - 1, self._interval)
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

    def seek(self, seq) -> None:
        """Go to the state right after record `seq` (0: the initial state)."""
        if not action_rules.is_int(seq) or not 0 <= seq <= self._length:
            raise ValueError(f"There is no record {quote(seq)}: the history runs from 0 to {self._length}.")
        if seq < self.oldest:
            raise ValueError(f"Record {seq} is no longer kept: the history now starts at record {self.oldest} "
                             f"(at most {self._limit} records are kept).")
        base = max(k for k in self._checkpoints if k <= seq)
        if not base <= self._seq < seq:
            self._world.load(self._checkpoints[base])
            self._seq = base
        while self._seq < seq:
            self._advance()

    # ----- actions ---------------------------------------------------------------
    def act(self, action: dict):
        """Carry out one user action (a dict with a "type"; see actions.py).
        Invalid actions raise ValueError and change nothing. At a past
        position the recorded future is cut first. Returns the action's result
        (the new log index for a submit, else None)."""
        action = action_rules.check(self._world, action)
        self._fork()
        seq = self._seq + 1
        rec, violations, result = self._world.apply(action)
        self._actions[seq] = (self._world.now, action)
        self._seq = seq
        self._keep(seq, rec, violations)
        return result

    def forget_future(self) -> None:
        """Drop the recorded future after the current position, as a new
        action here would (the scenario runner does this before a step)."""
        self._fork()

    def _fork(self) -> None:
        s = self._seq
        if s >= self._length:
            return
        for table in (self._actions, self._violations, self._checkpoints, self._dropped):
            for k in [k for k in table if k > s]:
                del table[k]
        while self._markers and self._markers[-1][0] > s:
            self._markers.pop()
        k, offset = divmod(s, self._interval)
        for c in [c for c in self._chunks if c > k or (c == k and offset == 0)]:
            del self._chunks[c]
        if k in self._chunks:
            del self._chunks[k][offset:]
        self._length = s

    def crash(self, id):
        return self.act({"type": "crash", "node": id})

    def restart(self, id):
        return self.act({"type": "restart", "node": id})

    def timeout(self, id):
        return self.act({"type": "timeout", "node": id})

    def disconnect(self, id):
        return self.act({"type": "disconnect", "node": id})

    def connect(self, id):
        return self.act({"type": "connect", "node": id})

    def partition(self, *groups):
        return self.act({"type": "partition", "groups": [list(g) for g in groups]})

    def heal(self):
        return self.act({"type": "heal"})

    def cut(self, a, b):
        return self.act({"type": "cut", "a": a, "b": b})

    def link(self, a, b):
        return self.act({"type": "link", "a": a, "b": b})

    def drop(self, message):
        return self.act({"type": "drop", "message": message})

    def submit(self, command, to=None) -> int | None:
        action = {"type": "submit", "command": command}
        if to is not None:
            action["node"] = to
        return self.act(action)

    def set_options(self, **options):
        return self.act({"type": "options", "options": options})

    # ----- records and views ---------------------------------------------------------
    def _record(self, seq: int, rec) -> dict:
        return record_dict(seq, rec, self._violations.get(seq))

    def _records(self, first: int, last: int) -> list:
        """Compact records first..last (1-based, inclusive), rebuilding
        stretches no longer held from their checkpoint."""
        out = []
        seq = first
        while seq <= last:
            k, offset = divmod(seq - 1, self._interval)
            chunk = self._chunks.get(k)
            if chunk is None or len(chunk) <= min(last - 1 - k * self._interval, self._interval - 1):
                chunk = self._rebuild(k)
            take = min(last, (k + 1) * self._interval) - seq + 1
            out.extend(chunk[offset:offset + take])
            seq += take
        return out

    def _rebuild(self, k: int) -> list:
        start = k * self._interval
        if start not in self._checkpoints:
            raise IndexError(f"Record {start + 1} is no longer kept: the history now starts at record "
                             f"{self.oldest}.")
        world = self._new_world()
        world.load(self._checkpoints[start])
        chunk = []
        for seq in range(start + 1, min(start + self._interval, self._length) + 1):
            chunk.append(self._next(world, seq, INF)[0])
        self._chunks[k] = chunk
        self._chunks.move_to_end(k)
        while len(self._chunks) > KEPT_CHUNKS:
            self._chunks.popitem(last=False)
        return chunk

    def records(self, first: int, last: int) -> list[dict]:
        """Trace records first..last as dicts (what the web layer streams)."""
        first, last = max(first, self.oldest + 1, 1), min(last, self._length)
        if first > last:
            return []
        return [self._record(s, r) for s, r in zip(range(first, last + 1), self._records(first, last))]

    def markers(self, limit: int = 3000) -> list[dict]:
        """Records worth a mark on a timeline (elections, new leaders, commits,
        crashes and restarts, user actions, violations), oldest first. Past
        `limit`, commits are thinned first, evenly, since they are the
        common kind."""
        kept = self._markers
        if len(kept) > limit:
            rare = [m for m in kept if m[2] != ("commit",)]
            commits = [m for m in kept if m[2] == ("commit",)]
            room = max(0, limit - len(rare))
            step = max(1, -(-len(commits) // room)) if room else len(commits) + 1
            kept = sorted(rare + commits[::step], key=lambda m: m[0])[-limit:]
        return [{"seq": seq, "time": ms(time), "marks": list(found)} for seq, time, found in kept]

    def node_view(self, i: int) -> dict:
        """What can be seen of one node, without its log (see snapshot())."""
        w = self._world
        n = w.nodes[i]
        d = {"id": i, "up": n.up, "role": n.role, "term": n.term, "voted_for": n.voted_for,
             "commit_index": n.commit_index, "last_applied": n.last_applied, "store": dict(n.store),
             "leader_id": n.leader_id, "log_length": len(n.log),
             "timer": ms(w.deadline[i]) if n.up and w.deadline[i] != INF else None}
        if n.up and n.role == CANDIDATE:
            d["votes"] = sorted(n.votes)
        if n.up and n.role == LEADER:
            d["next_index"] = {str(p): v for p, v in n.next_index.items()}
            d["match_index"] = {str(p): v for p, v in n.match_index.items()}
            d["heartbeat_due"] = {str(p): ms(v) for p, v in (w.heartbeat_due[i] or {}).items()}
        return d

    def snapshot(self) -> dict:
        """The whole visible state, JSON-serializable: every node with its
        log, the messages in flight, the network, time and position."""
        w = self._world
        nodes = []
        for i, n in w.nodes.items():
            d = self.node_view(i)
            d["log"] = entries_list(n.log)
            nodes.append(d)
        return {
            "time": ms(w.now), "seq": self._seq, "length": self._length, "oldest": self.oldest,
            "nodes": nodes,
            "messages": [message_dict(m) for m in w.in_flight()],
            "network": w.network.to_dict(),
            "violations": self.violations,
            "options": self.options,
            "config": self.config,
        }

    # ----- export and replay ---------------------------------------------------------
    def export(self) -> dict:
        return {
            "format": FORMAT, "version": VERSION,
            "config": self.config,
            "initial": state_rules.to_state(self._specs) if self._specs else None,
            "actions": [{"seq": seq, "time": ms(time), **action} for seq, (time, action) in self._actions.items()],
            "length": self._length,
            "position": {"seq": self._seq, "time": ms(self._world.now)},
        }

    @classmethod
    def replay(cls, data, *, budget: Budget | None = None, keep: dict | None = None) -> "Cluster":
        """Rebuild an exported cluster: same trace, same position, same states.
        A history no run could have made is refused with the reason. `keep`
        ({"history_limit", "checkpoint_interval"}) overrides how the file asks
        the history to be kept; `budget` bounds the replay (budget.py)."""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError("This is not a raftviz history (its \"format\" is not raftviz-history).")
        if data.get("version") != VERSION:
            raise ValueError(f"This history has version {quote(data.get('version'))}; this raftviz reads version {VERSION}.")
        config, initial = data.get("config"), data.get("initial")
        if not isinstance(config, dict):
            raise ValueError("The history has no config.")
        config = dict(config)
        known = {"size", "seed", "election_timeout", "heartbeat_interval", "latency", "options",
                 "history_limit", "checkpoint_interval"}
        if set(config) - known:
            raise ValueError(f"Unknown config fields: {quote_names(set(config) - known)}.")
        options = config.pop("options", None) or {}
        if not isinstance(options, dict):
            raise ValueError("The config's options must be an object.")
        size = config.pop("size", None)
        kwargs = {**config, **options}
        if keep is not None:
            kwargs.update(keep)
        if initial is None:
            cluster = cls(size, **kwargs)
        else:
            cluster = cls.from_state(initial, **kwargs)
            if size is not None and size != len(cluster.nodes):
                raise ValueError("The config's size does not match the initial state.")
        if budget is not None and not budget.watching:
            budget.watch(cluster.in_flight_count)
        steps, length, position = data.get("actions"), data.get("length"), data.get("position")
        if not isinstance(steps, list):
            raise ValueError("The history's actions must be a list.")
        if not action_rules.is_int(length) or length < 0:
            raise ValueError("The history's length must be a whole number.")
        if not isinstance(position, dict) or not action_rules.is_int(position.get("seq")) \
                or not 0 <= position["seq"] <= length:
            raise ValueError("The history's position must give a seq between 0 and its length.")
        spend = budget.spend if budget is not None else (lambda events=1: None)

        def advance(to: int, why: str) -> None:
            while cluster._seq < to:
                spend()
                if cluster._advance() is None:
                    raise ValueError(why)

        for k, step in enumerate(steps, 1):
            if not isinstance(step, dict):
                raise ValueError(f"Action {k} is not an object.")
            step = dict(step)
            seq, time = step.pop("seq", None), step.pop("time", None)
            if not action_rules.is_int(seq) or not cluster._seq < seq <= length:
                raise ValueError(f"Action {k} has a bad position (seq {quote(seq)}).")
            if isinstance(time, bool) or not isinstance(time, (int, float)) or not 0 <= time <= MAX_TIME:
                raise ValueError(f"Action {k} has no valid time.")
            advance(seq - 1, f"Action {k} comes after the end of the simulated events.")
            time = us(time)
            if time < cluster._world.now:
                raise ValueError(f"Action {k} is earlier than the events before it: the history is not in time order.")
            if cluster._world.due_before(time):
                # The run that made this history would have processed that event before the action.
                raise ValueError(f"Action {k} at {ms(time):g} ms comes after an event that was due before it, "
                                 f"yet is recorded before that event: the history is not in time order.")
            world_now = cluster._world.now
            cluster._world.now = time
            try:
                spend()
                cluster.act(step)
            except ValueError as e:
                cluster._world.now = world_now
                if isinstance(e, OverBudget):
                    raise
                raise ValueError(f"Action {k} ({quote(step.get('type'), 30)}): {e}") from None
        advance(length, "The history is longer than its events allow.")
        if position["seq"] < length:
            cluster.seek(position["seq"])
        time = position.get("time")
        if isinstance(time, (int, float)) and not isinstance(time, bool) and 0 <= time <= MAX_TIME:
            # The clock may have run on past the position's record (run_for): take it up to
            # the saved time, but never past the next recorded event.
            later = us(cluster.trace[cluster.seq]["time"]) if cluster.seq < length else math.inf
            if cluster._world.now <= us(time) <= later and not cluster._world.due_before(us(time)):
                cluster._world.now = us(time)
        return cluster


class Trace(Sequence):
    """The trace as a read-only list of record dicts, built when read.
    Records older than the kept history raise IndexError when asked for."""

    def __init__(self, cluster: Cluster):
        self._cluster = cluster

    def __len__(self) -> int:
        return self._cluster._length

    def __getitem__(self, index):
        n = len(self)
        if isinstance(index, slice):
            seqs = range(n)[index]
            if not seqs:
                return []
            if seqs.step == 1:
                return self._cluster.records(seqs[0] + 1, seqs[-1] + 1)
            return [self[i] for i in seqs]
        if not action_rules.is_int(index):
            raise TypeError("trace indexes must be integers or slices")
        if index < 0:
            index += n
        if not 0 <= index < n:
            raise IndexError("trace index out of range")
        if index < self._cluster.oldest:
            raise IndexError(f"Record {index + 1} is no longer kept: the history now starts at record "
                             f"{self._cluster.oldest}.")
        return self._cluster.records(index + 1, index + 1)[0]

    def __iter__(self):
        c = self._cluster
        seq = c.oldest + 1
        while seq <= len(self):
            last = min(seq + c._interval - 1, len(self))
            yield from c.records(seq, last)
            seq = last + 1

    def __eq__(self, other) -> bool:
        if isinstance(other, (Trace, list, tuple)):
            return len(self) == len(other) and list(self) == list(other)
        return NotImplemented

    def __repr__(self) -> str:
        return f"<Trace of {len(self)} records>"


class NetworkControl:
    """cluster.network: read the network, and set loss and latency as
    recorded actions (so they replay, seek and export like any other)."""

    def __init__(self, cluster: Cluster):
        self._cluster = cluster

    @property
    def loss(self) -> float:
        return self._cluster._world.network.loss

    @loss.setter
    def loss(self, value) -> None:
        self._cluster.act({"type": "network", "loss": check_loss(value)})

    @property
    def latency(self) -> tuple[float, float]:
        return self._cluster._world.network.latency

    @latency.setter
    def latency(self, value) -> None:
        self._cluster.act({"type": "network", "latency": list(check_latency(value))})

    def to_dict(self) -> dict:
        return self._cluster._world.network.to_dict()

    def __getattr__(self, name):
        return getattr(self._cluster._world.network, name)
