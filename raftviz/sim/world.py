"""The deterministic world the Raft nodes live in: virtual time, one event
queue, one seeded random generator, the network, and the safety monitor.

Everything here is plain state that save()/load() can copy, so the history
(history.py) can restore any checkpoint and replay from it exactly.

Virtual time is kept in whole microseconds, so sums of delays are exact and
every machine computes the same times; the Cluster shows it in ms.

The queue holds (time, order, kind, payload, token) tuples; `order` is a
counter, so simultaneous events keep the order in which they were scheduled
and tuples never compare further. Timers use absolute deadlines and lazy
queue entries: restarting an election timer usually only moves the node's
deadline, and the queued entry, when it comes up, is re-queued at the new
deadline. That keeps the queue small although followers restart their
timers on every heartbeat.
"""
from __future__ import annotations

import random
from dataclasses import replace
from heapq import heapify, heappop, heappush

from ..raft import LEADER, AppendEntries, Node, Options
from .frozen import freeze, thaw
from .monitor import Monitor
from .network import Network

DELIVER, ELECTION, HEARTBEAT = 0, 1, 2
INF = float("inf")
NO_MESSAGES = ()


def us(ms) -> int:
    """Milliseconds to whole microseconds of virtual time."""
    return round(ms * 1000)


class World:
    def __init__(self, size: int, *, seed, election_timeout, heartbeat_interval, latency,
                 options: Options):
        """Durations are given in ms, as everywhere outside this module."""
        self.ids = tuple(range(1, size + 1))
        self.options = options
        self.election_timeout = (us(election_timeout[0]), us(election_timeout[1]))
        self.heartbeat_interval = us(heartbeat_interval)
        self.rng = random.Random(seed)
        self.nodes = {i: Node(i, self.ids, options) for i in self.ids}
        self.network = Network(self.ids, latency)
        self._latency_us = self._latency()
        self.monitor = Monitor()
        self.now = 0                            # µs
        self.queue: list[tuple] = []
        self.order = 0
        self.next_message_id = 1
        slots = size + 1                        # lists indexed by node id
        self.deadline = [INF] * slots           # absolute election deadline
        self.timer_token = [0] * slots          # the valid queue entry for it
        self.timer_entry = [INF] * slots        # when that entry comes up
        self.heartbeat_due: list[dict | None] = [None] * slots   # leader: peer -> deadline
        self.heartbeat_token = [0] * slots

    # ----- starting ------------------------------------------------------------
    def load_initial(self, specs: list[dict]) -> dict:
        """Put the nodes in a checked initial state (state.parse); returns
        the election deadlines the state fixes, by node."""
        timers = {}
        for spec in specs:
            i = spec["id"]
            node = self.nodes[i]
            node.load_state(spec["term"], spec["voted_for"], spec["log"], spec["role"],
                            spec["commit_index"], spec["up"])
            node.next_index.update(spec.get("next_index", {}))
            node.match_index.update(spec.get("match_index", {}))
            if "timer" in spec:
                timers[i] = spec["timer"]
        return timers

    def start(self, timers: dict | None = None) -> list | None:
        """Time 0: every up node gets an election timer (randomized unless the
        initial state fixed it); a loaded leader sends AppendEntries at once."""
        timers = timers or {}
        for i, node in self.nodes.items():
            if not node.up:
                continue
            if node.role == LEADER:
                self.heartbeat_due[i] = {p: 0 for p in node.peers}
                self._schedule_heartbeat(i)
            elif i in timers:
                self._set_deadline(i, us(timers[i]))
            else:
                self._reset_timer(i)
        return self.monitor.seed(self.nodes.values())

    # ----- queue and timers ----------------------------------------------------
    def _push(self, time: float, kind: int, payload, token=None) -> None:
        self.order += 1
        heappush(self.queue, (time, self.order, kind, payload, token))

    def _reset_timer(self, i: int) -> None:
        lo, hi = self.election_timeout
        self._set_deadline(i, self.now + lo + int((hi - lo) * self.rng.random()))

    def _set_deadline(self, i: int, deadline: float) -> None:
        self.deadline[i] = deadline
        if deadline < self.timer_entry[i]:
            token = self.timer_token[i] + 1
            self.timer_token[i] = token
            self.timer_entry[i] = deadline
            self._push(deadline, ELECTION, i, token)

    def _schedule_heartbeat(self, i: int) -> None:
        self.heartbeat_token[i] += 1
        if self.heartbeat_due[i]:                # a cluster of one has nobody to ping
            self._push(min(self.heartbeat_due[i].values()), HEARTBEAT, i, self.heartbeat_token[i])

    def _latency(self) -> tuple[int, int]:
        lo, hi = self.network.latency
        return us(lo), us(hi) - us(lo)

    def _send(self, msgs) -> None:
        now = self.now
        lo, spread = self._latency_us
        rnd = self.rng.random
        queue = self.queue
        order = self.order
        next_id = self.next_message_id
        for m in msgs:
            m.id = next_id
            next_id += 1
            m.sent = now
            m.arrives = arrives = now + lo + int(spread * rnd())
            order += 1
            heappush(queue, (arrives, order, DELIVER, m, None))
            if m.__class__ is AppendEntries:
                self.heartbeat_due[m.src][m.dst] = now + self.heartbeat_interval
        self.order = order
        self.next_message_id = next_id

    def _after(self, node, out, was_leader: bool) -> list | None:
        """Carry out a node's Output: send, fix timers, and let the monitor look."""
        msgs, reset, notes = out
        i = node.id
        is_leader = node.role == LEADER
        if is_leader != was_leader:
            if is_leader:
                self.deadline[i] = INF               # a leader has no election timer
                self.heartbeat_due[i] = {}
            else:
                self.heartbeat_token[i] += 1         # its heartbeat timer is void
                self.heartbeat_due[i] = None
        if msgs:
            self._send(msgs)
        if is_leader and not was_leader:
            self._schedule_heartbeat(i)
        elif reset and not is_leader:
            self._reset_timer(i)
        return self.monitor.observe(node, notes)

    # ----- events --------------------------------------------------------------
    def run(self, until: float, limit: int, records: list, violations: dict) -> int:
        """Process up to `limit` events due by `until`, appending their records
        to `records` and any violations to `violations` (keyed by position in
        `records`). Returns how many were processed. The Cluster's fast path
        while it runs at the end of its history."""
        step = self.next_event
        append = records.append
        done = 0
        while done < limit:
            got = step(until)
            if got is None:
                break
            append(got[0])
            if got[1]:
                violations[len(records) - 1] = got[1]
            done += 1
        return done

    def next_event(self, until: float = INF):
        """Process the next event due at or before `until`. Returns
        (record, violations) or None if nothing is due. A record is the tuple
        (time, kind, node, subject, notes, sent)."""
        queue = self.queue
        while queue:
            entry = queue[0]
            time = entry[0]
            if time > until:
                return None
            heappop(queue)
            kind = entry[2]
            if kind == DELIVER:
                return self._deliver(time, entry[3])
            i = entry[3]
            if kind == ELECTION:
                if entry[4] != self.timer_token[i]:
                    continue
                deadline = self.deadline[i]
                if deadline != time:
                    # The timer was restarted since this entry was queued: follow it.
                    self.timer_entry[i] = deadline
                    if deadline != INF:
                        self._push(deadline, ELECTION, i, entry[4])
                    continue
                self.timer_entry[i] = INF
                self.now = time
                node = self.nodes[i]
                out = node.election_timeout()
                return (time, "timeout", i, None, out[2], out[0]), self._after(node, out, False)
            # HEARTBEAT
            if entry[4] != self.heartbeat_token[i]:
                continue
            due_at = self.heartbeat_due[i]
            due = [p for p, d in due_at.items() if d <= time]
            if not due:
                self._push(min(due_at.values()), HEARTBEAT, i, entry[4])
                continue
            self.now = time
            node = self.nodes[i]
            out = node.heartbeat(due)
            violations = self._after(node, out, True)
            self._push(min(due_at.values()), HEARTBEAT, i, entry[4])
            return (time, "heartbeat", i, None, out[2], out[0]), violations
        return None

    def _deliver(self, time: float, m):
        self.now = time
        dst = m.dst
        node = self.nodes[dst]
        if not node.up:
            return (time, "drop", dst, m, [("lost", f"S{dst} is down")], NO_MESSAGES), None
        if (m.src, dst) in self.network.blocked:
            why = self.network.why_blocked(m.src, dst)
            return (time, "drop", dst, m, [("lost", why)], NO_MESSAGES), None
        loss = self.network.loss
        if loss and self.rng.random() < loss:
            return (time, "drop", dst, m, [("lost", f"the network lost it (loss {loss:.0%})")], NO_MESSAGES), None
        was_leader = node.role == LEADER
        out = node.receive(m)
        return (time, "deliver", dst, m, out[2], out[0]), self._after(node, out, was_leader)

    def due_before(self, time: float) -> bool:
        """Is some event due strictly before `time` (µs)? Looks only: queue
        entries of restarted or void timers are followed, not processed."""
        for at, _, kind, payload, token in self.queue:
            if at >= time:
                continue
            if kind == DELIVER:
                return True
            if kind == ELECTION:
                if token == self.timer_token[payload] and self.deadline[payload] < time:
                    return True
            elif token == self.heartbeat_token[payload] and self.heartbeat_due[payload] \
                    and min(self.heartbeat_due[payload].values()) < time:
                return True
        return False

    def in_flight(self):
        return sorted((e[3] for e in self.queue if e[2] == DELIVER), key=lambda m: (m.arrives, m.id))

    # ----- actions ---------------------------------------------------------------
    def apply(self, action: dict):
        """Carry out one validated user action at the current time. Returns
        (record, violations, result)."""
        kind = action["type"]
        i = action.get("node")
        node = self.nodes.get(i)
        notes: list = []
        sent = NO_MESSAGES
        violations = None
        result = None
        net = self.network
        if kind == "crash":
            node.crash()
            self.deadline[i] = INF
            self.heartbeat_token[i] += 1
            self.heartbeat_due[i] = None
        elif kind == "restart":
            node.restart()
            self._reset_timer(i)
        elif kind == "timeout":
            out = node.election_timeout()
            notes, sent = out[2], out[0]
            violations = self._after(node, out, False)
        elif kind == "submit":
            if i is None:
                i = self.leader()
                node = self.nodes.get(i)
            if node is None:
                notes = [("no_leader",)]
            elif node.up and node.role == LEADER:
                out = node.propose(action["command"])
                notes, sent = out[2], out[0]
                violations = self._after(node, out, True)
                result = len(node.log)
            else:
                notes = [("not_leader", node.role if node.up else "down server", node.leader_id)]
        elif kind == "drop":
            notes = [self._drop(action["message"])]
        elif kind == "disconnect":
            net.disconnect(i)
        elif kind == "connect":
            net.connect(i)
        elif kind == "partition":
            net.partition(action["groups"])
        elif kind == "heal":
            net.heal()
        elif kind == "cut":
            net.cut(action["a"], action["b"])
        elif kind == "link":
            net.link(action["a"], action["b"])
        elif kind == "network":
            if action.get("loss") is not None:
                net.loss = action["loss"]
            if action.get("latency") is not None:
                net.latency = action["latency"]
                self._latency_us = self._latency()
        elif kind == "options":
            self.set_options(replace(self.options, **action["options"]))
        else:  # validated before, so this is a programming error
            raise AssertionError(f"unknown action {kind!r}")
        return (self.now, "action", i, action, notes, sent), violations, result

    def _drop(self, message_id: int) -> tuple:
        for k, e in enumerate(self.queue):
            if e[2] == DELIVER and e[3].id == message_id:
                self.queue[k] = self.queue[-1]
                self.queue.pop()
                heapify(self.queue)
                return ("dropped", e[3])
        raise AssertionError("validated message id not in flight")

    def set_options(self, options: Options) -> None:
        self.options = options
        for node in self.nodes.values():
            node.options = options

    def leader(self) -> int | None:
        """The up leader with the highest term."""
        best = None
        for i, n in self.nodes.items():
            if n.up and n.role == LEADER and (best is None or n.term > self.nodes[best].term):
                best = i
        return best

    def message(self, message_id: int):
        for e in self.queue:
            if e[2] == DELIVER and e[3].id == message_id:
                return e[3]
        return None

    # ----- checkpoints -----------------------------------------------------------
    def save(self, earlier: tuple | None = None) -> tuple:
        """Everything needed to continue exactly from here. Logs, stores and
        monitor lists share storage with `earlier` (the previous checkpoint)."""
        prev_nodes = earlier[7] if earlier else {}
        nodes = {}
        frozen_logs: list = []
        stores: list = []
        for i, n in self.nodes.items():
            before = prev_nodes.get(i)
            log = freeze(n.log, before[2] if before else None, *frozen_logs)
            frozen_logs.append(log)
            store = next((s for s in stores if s == n.store), None)
            if store is None:
                store = dict(n.store)
                stores.append(store)
            nodes[i] = (n.term, n.voted_for, log, n.up, n.role, n.commit_index, n.last_applied, store,
                        n.leader_id, frozenset(n.votes), dict(n.next_index), dict(n.match_index),
                        dict(n.in_flight))
        return (self.now, self.order, self.next_message_id, self.rng.getstate(), list(self.queue),
                self.network.save(), self.options, nodes,
                list(self.deadline), list(self.timer_token), list(self.timer_entry),
                [dict(d) if d is not None else None for d in self.heartbeat_due], list(self.heartbeat_token),
                self.monitor.save(earlier[13] if earlier else None))

    def load(self, saved: tuple) -> None:
        (self.now, self.order, self.next_message_id, rng_state, queue, network, options, nodes,
         deadline, timer_token, timer_entry, heartbeat_due, heartbeat_token, monitor) = saved
        self.rng.setstate(rng_state)
        self.queue = list(queue)
        self.network.load(network)
        self._latency_us = self._latency()
        self.set_options(options)
        for i, (term, voted_for, log, up, role, commit_index, last_applied, store, leader_id, votes,
                next_index, match_index, in_flight) in nodes.items():
            n = self.nodes[i]
            n.term, n.voted_for, n.log, n.up, n.role = term, voted_for, thaw(log), up, role
            n.commit_index, n.last_applied, n.store, n.leader_id = commit_index, last_applied, dict(store), leader_id
            n.votes, n.next_index, n.match_index = set(votes), dict(next_index), dict(match_index)
            n.in_flight = dict(in_flight)
        self.deadline, self.timer_token, self.timer_entry = list(deadline), list(timer_token), list(timer_entry)
        self.heartbeat_due = [dict(d) if d is not None else None for d in heartbeat_due]
        self.heartbeat_token = list(heartbeat_token)
        self.monitor.load(monitor)
