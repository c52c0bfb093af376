"""The deterministic world the Raft nodes live in: virtual time, one event
queue, one seeded random generator, the network, and the safety monitor.

Everything here is plain state that save()/load() can copy, so the history
(history.py) can restore any checkpoint and replay from it exactly.

Virtual time is kept in whole microseconds, so sums of delays are exact and
every machine computes the same times; the Cluster shows it in ms.

A message crosses the network only if its link is up both when it is sent
and when it arrives: a disconnected server neither sends nor receives, even
if it is connected again while its message is on the way.

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
from heapq import heapify, heappop, heappush

from ..raft import LEADER, AppendEntries, Node, Options
from ..raft.messages import InstallSnapshot
from ..raft.notes import NotLeader
from .frozen import freeze, thaw
from .actions import MAX_NODES, REGISTRY
from .clients import CLIENT, Clients
from .monitor import Monitor
from .network import Network
from .records import Checkpoint, Dropped, Lost, NoLeader, Record

DELIVER, ELECTION, HEARTBEAT = 0, 1, 2
INF = float("inf")
NO_MESSAGES = ()
# Record((time, ...)) without the Python-level __new__ of a named tuple: a record is
# made for every event, and this makes it nearly as cheap as a plain tuple.
_record = Record._make


def us(ms) -> int:
    """Milliseconds to whole microseconds of virtual time (the nearest one:
    the engine's resolution is 1 µs)."""
    return round(ms * 1000)


class World:
    def __init__(self, size: int, *, seed, election_timeout, heartbeat_interval, latency,
                 options: Options, members=None):
        """Durations are given in ms, as everywhere outside this module.
        members: the initial voters (all servers when None); servers added
        later (add_server) start knowing no configuration."""
        self.size = size
        self.members = tuple(members) if members is not None else None
        self.ids = tuple(range(1, size + 1))
        self.options = options
        self.snapshot_every = options.snapshot_every      # read after every event: kept at hand
        self.election_timeout = (us(election_timeout[0]), us(election_timeout[1]))
        self.heartbeat_interval = us(heartbeat_interval)
        self.rng = random.Random(seed)
        self.nodes = {i: self._new_node(i) for i in self.ids}
        self.network = Network(self.ids, latency)
        self._latency_us = self._latency()
        self.monitor = Monitor()
        self.clients = Clients(self)
        self.now = 0                            # µs
        self.queue: list[tuple] = []
        self.order = 0
        self.next_message_id = 1
        slots = MAX_NODES + 1                   # lists indexed by node id: room for added servers
        self.deadline = [INF] * slots           # absolute election deadline
        self.timer_token = [0] * slots          # the valid queue entry for it
        self.timer_entry = [INF] * slots        # when that entry comes up
        self.heartbeat_due: list[dict | None] = [None] * slots   # leader: peer -> deadline
        self.heartbeat_token = [0] * slots
        # Leader: its peers tuple when heartbeat_due last followed them (identity
        # tells a change of configuration at the cost of one comparison per event).
        self._followed: list = [None] * slots

    def _new_node(self, i: int) -> Node:
        # Servers outside the initial members start as if added: knowing no configuration.
        outside = i > self.size or (self.members is not None and i not in self.members)
        node = Node(i, self.ids, self.options, voters=() if outside else self.members)
        node.lease = self.election_timeout[0]
        return node

    # ----- starting ------------------------------------------------------------
    def load_initial(self, specs: list[dict]) -> dict:
        """Put the nodes in a checked initial state (state.parse); returns
        the election deadlines the state fixes, by node."""
        timers = {}
        for spec in specs:
            i = spec["id"]
            node = self.nodes[i]
            node.load_state(spec["term"], spec["voted_for"], spec["log"], spec["role"],
                            spec["commit_index"], spec["up"], spec.get("snapshot"))
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
                if self.options.check_quorum:            # its CheckQuorum timer, as for an elected leader
                    self._set_deadline(i, self.election_timeout[0])
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
        """A fresh random election timeout, for a server that may start
        elections (Node.stands): none for a learner, for a server that knows no
        configuration, or for one a committed configuration leaves out."""
        node = self.nodes[i]
        if not (node.is_voter or node.stands):
            self.deadline[i] = INF
            return
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
        blocked = self.network.blocked
        for m in msgs:
            m.id = next_id
            next_id += 1
            m.sent = now
            # A link down now loses the message, even if it is up again when it arrives.
            m.sent_blocked = (self.network.why_blocked(m.src, m.dst, past=True)
                              if blocked and (m.src, m.dst) in blocked else None)
            m.arrives = arrives = now + lo + int(spread * rnd())
            order += 1
            heappush(queue, (arrives, order, DELIVER, m, None))
            cls = m.__class__
            if cls is AppendEntries or cls is InstallSnapshot:      # a leader's: the follower hears from it
                self.heartbeat_due[m.src][m.dst] = now + self.heartbeat_interval
        self.order = order
        self.next_message_id = next_id

    def _after(self, node, out, was_leader: bool) -> list | None:
        """Carry out a node's Output: send, fix timers, and let the monitor look.
        A leader's reset starts its own election timer (CheckQuorum, a
        transfer): the minimum election timeout, not random. Then the
        snapshot_every policy: a server that has applied that many entries
        since its last snapshot takes one now, once the monitor has seen the
        entries it applied; its note joins the event's."""
        msgs, reset, notes = out
        i = node.id
        if node.answers:
            self.clients.heard(i, node.answers)
            node.answers = []
        if was_leader and node.role != LEADER and self.clients.pending:
            notes.extend(self.clients.leader_lost(i))
        if node.role == LEADER:
            if not was_leader:
                self.deadline[i] = INF               # a leader's election timer runs only if it asks
                self.heartbeat_due[i] = {}
                self._followed[i] = None
            if node.peers is not self._followed[i]:  # a new leader, or its configuration changed
                self._follow_peers(i, node)
            if msgs:
                self._send(msgs)
            if not was_leader:
                self._schedule_heartbeat(i)
            if reset:
                self._set_deadline(i, self.now + self.election_timeout[0])
        else:
            if was_leader:
                self.heartbeat_token[i] += 1         # its heartbeat timer is void
                self.heartbeat_due[i] = None
            if msgs:
                self._send(msgs)
            if reset:
                self._reset_timer(i)
        found = self.monitor.observe(node, notes)
        every = self.snapshot_every
        if every and node.last_applied - node.snapshot_index >= every and node.up:
            more = node.take_snapshot(every)[2]
            notes.extend(more)
            also = self.monitor.observe(node, more)
            if also:
                found = (found or []) + also
        return found

    def _follow_peers(self, i: int, node) -> None:
        """A leader's configuration changed: heartbeats for its new members
        (due now), none for those it left out."""
        due = self.heartbeat_due[i]
        self._followed[i] = node.peers
        if due.keys() == node.next_index.keys():       # the same servers (a loaded leader, C_new after C_old,new)
            return
        for p in [p for p in due if p not in node.next_index]:
            del due[p]
        for p in node.next_index:
            due.setdefault(p, self.now)
        self._schedule_heartbeat(i)

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
        (record, violations) or None if nothing is due (records.Record)."""
        queue = self.queue
        while queue:
            if queue[0][0] > until:                 # the earliest entry's time
                return None
            time, _, kind, payload, token = heappop(queue)
            if kind == DELIVER:
                return self._deliver(time, payload)
            i = payload
            if kind == CLIENT:
                if self.clients.valid(i, token):
                    return self.clients.event(time, i)
                continue
            if kind == ELECTION:
                if token != self.timer_token[i]:
                    continue
                deadline = self.deadline[i]
                if deadline != time:
                    # The timer was restarted since this entry was queued: follow it.
                    self.timer_entry[i] = deadline
                    if deadline != INF:
                        self._push(deadline, ELECTION, i, token)
                    continue
                self.timer_entry[i] = INF
                self.deadline[i] = INF           # it has fired: a new one only if the node asks (reset)
                self.now = time
                node = self.nodes[i]
                node.now = time
                was_leader = node.role == LEADER
                out = node.election_timeout()
                return _record((time, "timeout", i, None, out[2], out[0])), self._after(node, out, was_leader)
            # HEARTBEAT
            if token != self.heartbeat_token[i]:
                continue
            due_at = self.heartbeat_due[i]
            due = [p for p, d in due_at.items() if d <= time]
            if not due:
                self._push(min(due_at.values()), HEARTBEAT, i, token)
                continue
            self.now = time
            node = self.nodes[i]
            node.now = time
            out = node.heartbeat(due)
            for p in due:
                if p not in node.next_index:       # no longer its follower: nothing more is due to it
                    del due_at[p]
            violations = self._after(node, out, True)
            if due_at:
                self._push(min(due_at.values()), HEARTBEAT, i, token)
            return _record((time, "heartbeat", i, None, out[2], out[0])), violations
        return None

    def _deliver(self, time: float, m):
        self.now = time
        dst = m.dst
        node = self.nodes[dst]
        if not node.up:
            return _record((time, "drop", dst, m, [Lost(f"S{dst} is down")], NO_MESSAGES)), None
        if (m.src, dst) in self.network.blocked:
            why = self.network.why_blocked(m.src, dst)
            return _record((time, "drop", dst, m, [Lost(why)], NO_MESSAGES)), None
        if m.sent_blocked is not None:
            return _record((time, "drop", dst, m, [Lost(m.sent_blocked)], NO_MESSAGES)), None
        loss = self.network.loss
        if loss and self.rng.random() < loss:
            return _record((time, "drop", dst, m, [Lost(f"the network lost it (loss {loss:.0%})")], NO_MESSAGES)), None
        was_leader = node.role == LEADER
        node.now = time
        out = node.receive(m)
        replies = out[0]
        if replies and m.__class__ is AppendEntries and not replies[0].success:
            self._tell_leader_now(m, out[2])
        return _record((time, "deliver", dst, m, out[2], out[0])), self._after(node, out, was_leader)

    def _tell_leader_now(self, m, notes: list) -> None:
        """Fill in a rejection's note what its leader is now, so the
        explanation promises a retry only from a leader that still leads."""
        last = notes[-1]
        if last.code not in ("reject_missing", "reject_conflict"):
            return
        leader = self.nodes[m.src]
        if not leader.up:
            now = "crashed"
        elif leader.role != LEADER or leader.term != m.term:
            now = "deposed"
        else:
            now = "leads"
        notes[-1] = last._replace(leader_now=now)

    def due_before(self, time: float) -> bool:
        """Is some event due strictly before `time` (µs)? Looks only: queue
        entries of restarted or void timers are followed, not processed."""
        for at, _, kind, payload, token in self.queue:
            if at >= time:
                continue
            if kind == DELIVER:
                return True
            if kind == CLIENT:
                if self.clients.valid(payload, token):
                    return True
            elif kind == ELECTION:
                if token == self.timer_token[payload] and self.deadline[payload] < time:
                    return True
            elif token == self.heartbeat_token[payload] and self.heartbeat_due[payload] \
                    and min(self.heartbeat_due[payload].values()) < time:
                return True
        return False

    def in_flight(self):
        return sorted((payload for _, _, kind, payload, _ in self.queue if kind == DELIVER),
                      key=lambda m: (m.arrives, m.id))

    # ----- actions ---------------------------------------------------------------
    def apply(self, action: dict):
        """Carry out one validated user action at the current time (its
        definition in actions.py says what it does). Returns (record,
        violations, result)."""
        kind = REGISTRY[action["type"]]
        for node in self.nodes.values():
            node.now = self.now                       # the servers' clock, for what the action asks of them
        actor = kind.actor(self, action)              # whose decisions the notes tell, before they change
        notes, sent, violations, result = kind.apply(self, action)
        return Record(self.now, "action", actor, action, list(notes), sent or NO_MESSAGES), violations, result

    # What actions do to the world, for actions.py.
    def crash(self, i: int) -> list:
        """Returns the notes: what waited at it for an answer will get none."""
        self.nodes[i].crash()
        self.deadline[i] = INF
        self.heartbeat_token[i] += 1
        self.heartbeat_due[i] = None
        return self.clients.leader_lost(i) if self.clients.pending else []

    def restart(self, i: int) -> list:
        """Returns the node's notes (it loads its snapshot, if it has one)."""
        notes = self.nodes[i].restart()
        self._reset_timer(i)
        return notes

    def fire_timeout(self, i: int):
        node = self.nodes[i]
        out = node.election_timeout()
        return out[2], out[0], self._after(node, out, False), None

    def add_server(self) -> int:
        """A new, empty, up server outside every configuration: it knows none,
        so it starts no election and waits for a leader to contact it."""
        i = len(self.ids) + 1
        self.ids += (i,)
        self.nodes[i] = self._new_node(i)
        self.network.add(i)
        return i

    def change_config(self, voters, method: str):
        """The leader starts a configuration change (checked by actions.py).
        Returns the log index of the first entry it appended, if any."""
        node = self.nodes[self.leader()]
        before = node.last_log_index
        out = node.change_config(voters, method)
        return out[2], out[0], self._after(node, out, True), before + 1 if node.last_log_index > before else None

    def take_snapshot(self, i: int):
        """Server i compacts its log through what it has applied (the snapshot action)."""
        node = self.nodes[i]
        out = node.take_snapshot()
        return out[2], (), self._after(node, out, node.role == LEADER), None

    def transfer_leadership(self, to: int):
        node = self.nodes[self.leader()]
        out = node.transfer_leadership(to)
        return out[2], out[0], self._after(node, out, True), None

    def submit(self, command: str, i: int | None, client: int | None = None, seq: int | None = None):
        """A client command to server i, or to the leader when i is None.
        With a client id it is a request the client waits for (clients.py)."""
        if i is None:
            i = self.leader()
        if client is not None:
            return self.clients.write(command, i, client, seq)
        node = self.nodes.get(i)
        if node is None:
            return [NoLeader()], (), None, None
        if not (node.up and node.role == LEADER):
            return [NotLeader(node.role if node.up else "down server", node.leader_id)], (), None, None
        if node.transfer_to is None:
            # Taken: an operation of the history, answered when applied (clients.py).
            return self.clients.anonymous(command, i)
        node.now = self.now
        out = node.propose(command)                  # refused during a transfer
        return out[2], out[0], self._after(node, out, True), None

    def set_network(self, loss, latency) -> None:
        if loss is not None:
            self.network.loss = loss
        if latency is not None:
            self.network.latency = latency
            self._latency_us = self._latency()

    def drop(self, message_id: int) -> tuple:
        """Take a message out of flight (the drop action)."""
        for k, e in enumerate(self.queue):
            _, _, kind, m, _ = e
            if kind == DELIVER and m.id == message_id:
                self.queue[k] = self.queue[-1]
                self.queue.pop()
                heapify(self.queue)
                return Dropped(m)
        raise AssertionError("validated message id not in flight")

    def set_options(self, options: Options) -> None:
        lease_switched = options.lease_reads != self.options.lease_reads
        self._use_options(options)
        if lease_switched:
            # A lease counts on servers that ignored votes all along: one from
            # before the switch, or from a time it was off, cannot be trusted.
            for node in self.nodes.values():
                node.drop_lease()
        for i, node in self.nodes.items():
            # CheckQuorum just turned on: a leader's election timer starts now.
            if options.check_quorum and node.up and node.role == LEADER and self.deadline[i] == INF:
                self._set_deadline(i, self.now + self.election_timeout[0])

    def _use_options(self, options: Options) -> None:
        self.options = options
        self.snapshot_every = options.snapshot_every
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
            _, _, kind, m, _ = e
            if kind == DELIVER and m.id == message_id:
                return m
        return None

    # ----- checkpoints -----------------------------------------------------------
    def save(self, earlier: Checkpoint | None = None) -> Checkpoint:
        """Everything needed to continue exactly from here. Logs, stores and
        monitor lists share storage with `earlier` (the previous checkpoint)
        and with each other: most servers hold the same log and store."""
        prev_nodes = earlier.nodes if earlier else {}
        nodes = {}
        frozen_logs: list = []
        stores: list = []
        for i, n in self.nodes.items():
            before = prev_nodes.get(i)
            log = freeze(n.log, before.log if before else None, *frozen_logs)
            frozen_logs.append(log)
            store = next((s for s in stores if s == n.store), None)
            if store is None:
                store = dict(n.store)
                stores.append(store)
            nodes[i] = n.save(log=log, store=store)
        return Checkpoint(self.now, self.order, self.next_message_id, self.rng.getstate(), list(self.queue),
                          self.network.save(), self.options, nodes,
                          list(self.deadline), list(self.timer_token), list(self.timer_entry),
                          [dict(d) if d is not None else None for d in self.heartbeat_due],
                          list(self.heartbeat_token),
                          self.monitor.save(earlier.monitor if earlier else None), self.clients.save())

    def load(self, saved: Checkpoint) -> None:
        self.now, self.order, self.next_message_id = saved.now, saved.order, saved.next_message_id
        # The servers that existed then: those added later are taken away again.
        self.ids = tuple(sorted(saved.nodes))
        self.nodes = {i: self.nodes.get(i) or self._new_node(i) for i in self.ids}
        self.rng.setstate(saved.rng)
        self.queue = list(saved.queue)
        self.network.load(saved.network)
        self._latency_us = self._latency()
        self._use_options(saved.options)
        for i, node in saved.nodes.items():
            self.nodes[i].restore(node, log=thaw(node.log))
        self.deadline, self.timer_token = list(saved.deadline), list(saved.timer_token)
        self.timer_entry = list(saved.timer_entry)
        self.heartbeat_due = [dict(d) if d is not None else None for d in saved.heartbeat_due]
        self.heartbeat_token = list(saved.heartbeat_token)
        self._followed = [None] * len(self.deadline)     # followed again at each leader's next event
        self.monitor.load(saved.monitor)
        self.clients.load(saved.clients)
