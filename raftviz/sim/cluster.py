"""Cluster: the public face of the simulator.

A Cluster is a World (world.py), the live state of the servers and the
network, plus its History (history.py): the trace, the user actions, the
checkpoints, seeking, forking and trimming. The history file, export() and
replay(), is in replay.py. What is left here is making a cluster, reading
it, and acting on it; the convenience methods (crash, partition, submit,
...) are made from the action registry (actions.py), one per action type.
"""
from __future__ import annotations

from dataclasses import asdict

from ..raft import LEADER, CANDIDATE, Options, kv
from ..raft.messages import snapshot_data
from . import actions as action_rules
from . import linearizable
from . import replay as history_file
from . import state as state_rules
from .budget import Budget
from .explain import entries_list, message_dict, ms
from .history import MAX_TIME, History, Trace
from .network import check_latency, check_loss, number_pair
from .replay import FORMAT, VERSION  # noqa: F401  (the history file's format, where it always was)
from .world import INF, World, us

DEFAULT_HISTORY_LIMIT = 1_000_000        # records: over 30 minutes of a 9-node cluster at full speed
DEFAULT_CHECKPOINT_INTERVAL = 1000


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


def _members(members, size: int) -> list[int] | None:
    """The initial voters: None (all servers) or some of S1..S`size`."""
    if members is None:
        return None
    try:
        voters = action_rules.check_servers(members, action_rules.Where(size))
    except ValueError as e:
        raise ValueError(f"members: {e}") from None
    return voters if len(voters) < size else None


class Cluster:
    def __init__(self, size, *, seed=0, election_timeout=(150, 300), heartbeat_interval=50,
                 latency=(10, 20), members=None, **options):
        """A cluster of `size` servers, all voters, or only `members` (the
        others start outside the configuration, as if added)."""
        if not action_rules.is_int(size) or not action_rules.MIN_NODES <= size <= action_rules.MAX_NODES:
            raise ValueError(f"A cluster has {action_rules.MIN_NODES} to {action_rules.MAX_NODES} servers.")
        self._setup(size, None, seed, election_timeout, heartbeat_interval, latency, members, options)

    @classmethod
    def from_state(cls, state, *, seed=0, election_timeout=(150, 300), heartbeat_interval=50,
                   latency=(10, 20), members=None, **options) -> "Cluster":
        """A cluster in a given state (state.py). The initial voters come from
        `members` or the state's own "members"; logs may hold configuration
        entries, and each server uses the latest in its log."""
        specs = state_rules.parse(state, members)
        cluster = cls.__new__(cls)
        if members is None and isinstance(state, dict):
            members = state.get("members")
        cluster._setup(len(specs), specs, seed, election_timeout, heartbeat_interval, latency, members, options)
        return cluster

    def _setup(self, size, specs, seed, election_timeout, heartbeat_interval, latency, members, options):
        if not action_rules.is_int(seed):
            raise ValueError("seed must be a whole number.")
        raft_options, history = _engine_options(dict(options))
        members = _members(members, size)
        self._config = {"size": size, "seed": seed, **_timing(election_timeout, heartbeat_interval, latency),
                        "options": asdict(raft_options), **history}
        if members is not None:
            self._config["members"] = members
        self._specs = specs
        self._world = world = self._new_world()
        initial = world.start(world.load_initial(specs) if specs else None)
        self._history = History(world, self._new_world, history["checkpoint_interval"],
                                history["history_limit"], initial)

    def _new_world(self) -> World:
        c = self._config
        return World(c["size"], seed=c["seed"], election_timeout=tuple(c["election_timeout"]),
                     heartbeat_interval=c["heartbeat_interval"], latency=tuple(c["latency"]),
                     options=Options(**c["options"]), members=c.get("members"))

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
        return self._history.seq

    @property
    def trace(self) -> Trace:
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
        return self._history.violations()

    @property
    def recorded_actions(self) -> int:
        """How many user actions the history holds (export() lists them all)."""
        return len(self._history.actions)

    @property
    def oldest(self) -> int:
        """The earliest seq that seek() can still reach."""
        return self._history.oldest

    def leader(self) -> int | None:
        return self._world.leader()

    def leaders(self) -> dict[int, int]:
        """Who has led each term so far in this history: {term: node}."""
        return dict(sorted(self._world.monitor.leaders.items()))

    def message(self, message_id: int):
        return self._world.message(message_id)

    def dropped(self, seq: int) -> dict | None:
        """The message (type, src, dst) a drop action at seq took away."""
        return self._history.dropped(seq)

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
    def step(self) -> dict | None:
        """Process exactly the next record: the next scheduled event or, at a
        past position, whatever comes next in the recorded history."""
        history = self._history
        rec = history.advance()
        return None if rec is None else history.record(history.seq, rec)

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
        return self._history.run(until, stop_at, max_events, budget)

    def seek(self, seq) -> None:
        """Go to the state right after record `seq` (0: the initial state)."""
        self._history.seek(seq)

    # ----- actions ---------------------------------------------------------------
    def act(self, action: dict):
        """Carry out one user action (a dict with a "type"; see actions.py).
        Invalid actions raise ValueError and change nothing. At a past
        position the recorded future is cut first. Returns the action's result
        (the new log index for a submit, else None). Each action type also
        has a method of its own, made from the registry below: c.crash(2),
        c.partition([1, 2], [3, 4, 5]), c.submit("SET x 1", to=2),
        c.set_options(fast_backup=True), ..."""
        return self._history.act(action_rules.check(self._world, action))

    def fork(self) -> "Cluster":
        """A copy that goes its own way from here: the same history (its
        checkpoints, which never change, are shared), its own world, at the
        same position. Cheap, so a class of students can each try "what if"
        from the lecturer's cluster; both then continue exactly alike until
        one of them is acted on."""
        twin = Cluster.__new__(Cluster)
        twin._config = self.config
        twin._specs = self._specs
        twin._world = twin._new_world()
        twin._world.load(self._world.save())
        twin._history = self._history.copy(twin._world, twin._new_world)
        return twin

    def forget_future(self) -> None:
        """Drop the recorded future after the current position, as a new
        action here would (the scenario runner does this before a step)."""
        self._history.fork()

    # ----- records and views ---------------------------------------------------------
    def records(self, first: int, last: int) -> list[dict]:
        """Trace records first..last as dicts (what the web layer streams)."""
        return self._history.records(first, last)

    def markers(self, limit: int = 3000) -> list[dict]:
        """Records worth a mark on a timeline (elections, new leaders, commits,
        crashes and restarts, user actions, violations), oldest first. Past
        `limit`, commits are thinned first, evenly, since they are the
        common kind."""
        return self._history.markers(limit)

    def node_view(self, i: int) -> dict:
        """What can be seen of one node, without its log (see snapshot()).
        log_length is its last log index (snapshot included); snapshot_index
        and snapshot_term are 0 without a snapshot, and `snapshot` is then None,
        else {index, term, store, config} (section 7)."""
        w = self._world
        n = w.nodes[i]
        snap = n.snapshot
        d = {"id": i, "up": n.up, "role": n.role, "term": n.term, "voted_for": n.voted_for,
             "commit_index": n.commit_index, "last_applied": n.last_applied, "store": dict(n.store),
             "leader_id": n.leader_id, "log_length": n.last_log_index,
             "snapshot_index": n.snapshot_index, "snapshot_term": n.snapshot_term,
             "snapshot": None if snap is None else {"index": snap.index, "term": snap.term, **snapshot_data(snap)},
             "timer": ms(w.deadline[i]) if n.up and w.deadline[i] != INF else None,
             "config": n.config, "config_index": n.config_index}
        if n.sessions:
            # The state machine's client table (section 8): each client's last request applied, and its reply.
            d["sessions"] = {str(client): {"seq": seq, "reply": reply} for client, (seq, reply) in n.sessions.items()}
        if n.up and n.role == CANDIDATE:
            d["votes"] = sorted(n.votes)
        if n.up and n.pre_votes is not None:
            d["pre_votes"] = sorted(n.pre_votes)
        if n.up and n.role == LEADER:
            d["next_index"] = {str(p): v for p, v in n.next_index.items()}
            d["match_index"] = {str(p): v for p, v in n.match_index.items()}
            d["heartbeat_due"] = {str(p): ms(v) for p, v in (w.heartbeat_due[i] or {}).items()}
            if n.transfer_to is not None:
                d["transfer_to"] = n.transfer_to
            if n.reads or n.round:
                # ReadIndex (thesis 6.4): the reads waiting, the latest heartbeat round and the latest confirmed.
                d["reads"] = {"waiting": [r.request for r in n.reads], "round": n.round, "confirmed": n.confirmed}
            if n.lease_holds():
                d["lease_until"] = ms(n.lease_until)
            if n.rounds:
                d["catch_up"] = {str(p): {"round": r, "target": t} for p, (r, t, *_) in n.rounds.items()}
        return d

    def snapshot(self, node=None):
        """Two things of one name. c.snapshot(2): S2 takes a snapshot, the
        `snapshot` action (section 7: it compacts its log through what it has
        applied). c.snapshot(): the whole visible state, JSON-serializable:
        every node with its log (the entries after its snapshot, each with
        its absolute index), the messages in flight, the network, time and
        position."""
        if node is not None:
            return self.act({"type": "snapshot", "node": node})
        w = self._world
        nodes = []
        for i, n in w.nodes.items():
            d = self.node_view(i)
            d["log"] = entries_list(n.log, n.snapshot_index + 1)
            nodes.append(d)
        return {
            "time": ms(w.now), "seq": self.seq, "length": self._history.length, "oldest": self.oldest,
            "nodes": nodes,
            "messages": [message_dict(m) for m in w.in_flight()],
            "network": w.network.to_dict(),
            "violations": self.violations,
            "options": self.options,
            "config": self.config,
        }

    # ----- clients -------------------------------------------------------------------
    def history(self) -> list[dict]:
        """Every client operation so far (clients.py): client, seq, kind, key,
        value, result, invoked and returned (ms; returned None while pending),
        status ("ok", "pending", "failed"), and the id, op, command, server and
        attempts beside them. A command sent without a client id is here too
        once a leader took it (client and seq None): it changes the store."""
        return self._world.clients.history()

    def check_linearizable(self, keys=None) -> dict:
        """{"ok", "explanation", "operations"}: is the client history
        linearizable for the key-value store (linearizable.py)?"""
        initial, pending = self._initial_store()
        return linearizable.check(self.history() + pending, keys, initial=initial)

    def _initial_store(self) -> tuple[dict, list]:
        """What the state machine held at the start (a lecture's initial state:
        the committed entries of the initial logs), and the initial state's
        uncommitted commands, which may yet take effect (outcome unknown)."""
        if not self._specs:
            return {}, []
        best = max(self._specs, key=lambda n: n["commit_index"])
        done = best["commit_index"]
        store: dict = {}
        for e in best["log"][:done]:
            kv.apply(store, e.command)
        pending, seen = [], set()
        for n in self._specs:
            for e in n["log"][done:]:
                write = kv.parse(e.command)
                if write and (e.term, e.command) not in seen:
                    seen.add((e.term, e.command))
                    pending.append({"id": None, "client": None, "seq": None, "kind": "write", "op": write[0],
                                    "key": write[1], "value": write[2], "command": e.command, "result": None,
                                    "invoked": 0.0, "returned": None, "status": "failed", "appended": True})
        return store, pending

    def check_linearizability(self) -> dict:
        """Check the history now and, if it is not linearizable, report it as
        a violation at the current position (the safety banner shows it).
        The scenario runner does this at the end of every step."""
        verdict = self.check_linearizable()
        if not verdict["ok"]:
            servers = sorted({op["server"] for op in verdict["operations"] if op.get("server") is not None})
            self._history.report({"property": "Linearizability", "nodes": servers,
                                  "text": f"Linearizability is violated: {verdict['explanation']}"})
        return verdict

    # ----- export and replay ---------------------------------------------------------
    def export(self) -> dict:
        """The history file: how the cluster was made, the user actions and the position (replay.py)."""
        return history_file.export(self)

    @classmethod
    def replay(cls, data, *, budget: Budget | None = None, keep: dict | None = None) -> "Cluster":
        """Rebuild an exported cluster: same trace, same position, same states.
        A history no run could have made is refused with the reason. `keep`
        ({"history_limit", "checkpoint_interval"}) overrides how the file asks
        the history to be kept; `budget` bounds the replay (budget.py)."""
        return history_file.replay(cls, data, budget=budget, keep=keep)


# ----- the convenience methods, one per action type of the registry ----------------------
def _action_method(kind: action_rules.ActionType):
    def method(self, *args, **kwargs):
        return self.act(kind.from_call(*args, **kwargs))
    method.__name__ = kind.method or kind.type
    method.__qualname__ = f"Cluster.{method.__name__}"
    method.__doc__ = kind.summary
    method.__signature__ = kind.call_signature()
    return method


for _kind in action_rules.REGISTRY.values():
    if _kind.method is not None:
        if hasattr(Cluster, _kind.method or _kind.type):
            raise TypeError(f"The {_kind.type} action's method name {_kind.method or _kind.type!r} is taken "
                            f"by Cluster itself: give the action type another `method`.")
        setattr(Cluster, _kind.method or _kind.type, _action_method(_kind))
del _kind


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
        """The network as the page sees it: latency, loss, partition, cuts, isolated
        servers and blocked pairs. Changing them is a recorded action
        (cluster.partition, .cut, .disconnect, ...), never a direct edit."""
        return self._cluster._world.network.to_dict()
