"""The cluster's clients: their requests, the answers, retries, and the
history the linearizability checker reads (the paper's section 8).

A request reaches the server it is sent to at once, and an answer reaches
its client at once: the lecture's point is what the servers decide, so
clients are not on the simulated network (a partition separates servers,
never a client from a server). Every operation is one entry of `ops`, by
request id, however often it is retried:

    {"id": 7, "client": 2, "seq": 3, "kind": "read" | "write", "op": "SET", "key": "x",
     "value": "2.3", "command": "SET x 2.3", "result": "OK", "invoked": 120.0, "returned": 131.5,
     "status": "ok" | "pending" | "failed", "server": 3, "attempts": 2}

A write carries its client id and sequence number into the log, so a retry
is applied once (thesis 6.3). A command sent without a client id (the
anonymous submit of earlier versions) is an operation too, with client and
seq None, once a leader has taken it: it changes the store, so the checker
must know of it; it is never retried, and a refusal leaves no operation.

Outcomes. An operation is "ok" once its server answered. It is "failed"
when the attempt can get no answer: refused (not the leader), sent to a
server that is down, or waiting at a leader that stopped leading or crashed
(a command may still be committed by the next leader: its outcome is
unknown, and the checker treats it so). A retry makes it "pending" again.

Simulated clients (start()) each issue one operation at a time: a read
(with probability read_ratio) or a write (SET of a value naming the client
and sequence number, or APPEND of one), on a random key, to the server they
believe leads. On "not leader" they retry at once at the leader named in the
refusal, or after a heartbeat interval at another server chosen at random;
on no answer within `timeout` ms, at another server chosen at random (as
section 8 has it); after MAX_ATTEMPTS the operation is
given up (it stays "failed"). After an answer a client thinks for about
1/rate seconds before its next operation.

Checkpoints share the operations: save() hands out the operation dicts
themselves, and an operation is copied before its first change after a
save (_own), so a checkpoint costs a tuple of references, not a copy of
the whole history.
"""
from __future__ import annotations

from ..raft import LEADER, kv
from .records import NoAnswer, NoLeader, Record, RequestsLost

MAX_ATTEMPTS = 10
KEY_NAMES = ("x", "y", "z", "w", "v", "u", "t", "s", "r", "q")
REFUSALS = ("not_leader", "transfer_busy")
PUBLIC = ("id", "client", "seq", "kind", "op", "key", "value", "command", "result", "invoked", "returned", "status",
          "server", "attempts", "appended")


def ms(time_us) -> float:
    return time_us / 1000


class Clients:
    def __init__(self, world):
        self.world = world
        self.ops: list[dict] = []           # request id - 1 -> the operation
        self.pending: dict[int, int] = {}   # request id -> the server it waits at
        self.sim: dict[int, dict] = {}      # simulated client -> {"op", "token", "server"}
        self.config: dict | None = None     # rate, keys, read_ratio, timeout of the simulated clients
        self.seqs: dict[int, int] = {}      # client -> its highest sequence number so far
        self._fresh: set[int] = set()       # operations copied since the last save (safe to change)

    # ----- operations ------------------------------------------------------------
    def _own(self, request: int) -> dict:
        """The operation, ready to be changed: copied first if a checkpoint shares it."""
        op = self.ops[request - 1]
        if request not in self._fresh:
            op = self.ops[request - 1] = dict(op)
            self._fresh.add(request)
        return op

    def _new_op(self, client, seq, kind: str, key, server, command=None) -> dict:
        if client is not None:
            seq = seq if seq is not None else self.seqs.get(client, 0) + 1
            self.seqs[client] = max(self.seqs.get(client, 0), seq)
        write = kv.parse(command) if command is not None else None
        op = {"id": len(self.ops) + 1, "client": client, "seq": seq, "kind": kind,
              "op": write[0] if write else None, "key": key if write is None else write[1],
              "value": write[2] if write else None, "command": command, "result": None,
              "invoked": ms(self.world.now), "returned": None, "status": "pending", "server": server, "attempts": 0,
              "appended": False}
        self.ops.append(op)
        self._fresh.add(op["id"])
        return op

    def retry_of(self, client, seq) -> dict | None:
        """The earlier write of the same client and sequence number, if any: this is its retry."""
        if client is None or seq is None:
            return None
        for op in reversed(self.ops):
            if op["client"] == client and op["seq"] == seq and op["kind"] == "write":
                return op
        return None

    def write(self, command: str, server: int | None, client: int, seq: int | None):
        """A client's command to `server` (the protocol's submit with a client):
        (notes, messages sent, violations, log index or None)."""
        op = self.retry_of(client, seq)
        if op is None:
            op = self._new_op(client, seq, "write", None, server, command)
        op = self._own(op["id"])
        op["server"] = server
        self.pending.pop(op["id"], None)          # an earlier attempt's answer no longer counts
        # Sent again after it was answered: its answer was lost on the way, so
        # the operation takes the outcome of this attempt.
        return self._attempt(op)

    def anonymous(self, command: str, server: int):
        """A command without a client id, which the leader `server` takes:
        an operation of its own, answered when applied, never retried."""
        op = self._new_op(None, None, "write", None, server, command)
        return self._attempt(op)

    def read(self, key: str, server: int | None, client: int | None):
        op = self._new_op(client, None, "read", key, server)
        notes, sent, violations, _ = self._attempt(op)
        return notes, sent, violations, op["id"]

    def _attempt(self, op: dict):
        """Send one attempt of `op` (owned: see _own) to its server now.
        Returns what the server decided: (notes, messages, violations, the
        new log index or None)."""
        world, i = self.world, op["server"]
        op["attempts"] += 1
        op["status"], op["returned"], op["result"] = "pending", None, None
        node = world.nodes.get(i) if i is not None else None
        if node is None:
            op["hint"] = None
            self._finish(op, "failed")
            return [NoLeader()], (), None, None
        if not node.up:
            # A crashed server answers nothing: the client learns at once that
            # this attempt failed (and it cannot have taken effect).
            op["hint"] = None
            self._finish(op, "failed")
            return [NoAnswer(i)], (), None, None
        node.now = world.now
        was_leader = node.role == LEADER
        before = node.last_log_index
        self.pending[op["id"]] = i
        if op["kind"] == "read":
            out = node.read(op["id"], op["key"])
        else:
            out = node.propose(op["command"], op["client"], op["seq"], op["id"])
        if out[2] and out[2][-1].code in REFUSALS:
            self.pending.pop(op["id"], None)
            op["hint"] = getattr(out[2][-1], "leader_id", None)
            self._finish(op, "failed")
        if op["kind"] == "write" and node.last_log_index > before:
            op["appended"] = True       # in some leader's log: it may take effect, even if this leader falls
        violations = world._after(node, out, was_leader)
        return out[2], out[0], violations, node.last_log_index if node.last_log_index > before else None

    def _finish(self, op: dict, status: str, result=None) -> None:
        op["status"], op["returned"], op["result"] = status, ms(self.world.now), result

    # ----- answers -----------------------------------------------------------------
    def heard(self, server: int, answers) -> None:
        """A server's answers (Answered and ReadAnswer notes): answer the requests."""
        for n in answers:
            self._answer(n.request, server, n.reply if n.code == "answered" else n.value)

    def _answer(self, request: int, server: int, result) -> None:
        if self.pending.get(request) != server:
            return                               # an earlier attempt, already answered or given up
        del self.pending[request]
        op = self._own(request)
        self._finish(op, "ok", result)
        client = self.sim.get(op["client"])
        if client is not None and client["op"] == request:
            self._schedule(op["client"], self._think())

    def leader_lost(self, server: int) -> list:
        """`server` stopped leading (or crashed): what waits there will get no
        answer. Its commands may still be committed by the next leader: their
        outcome is unknown. Returns the note that says so, if anything waited."""
        lost = [r for r, s in self.pending.items() if s == server]
        for request in lost:
            del self.pending[request]
            op = self._own(request)
            op["hint"] = None
            self._finish(op, "failed")
            client = self.sim.get(op["client"])
            if client is not None and client["op"] == request:
                self._schedule(op["client"], 0)
        return [RequestsLost(server, tuple(lost))] if lost else []

    # ----- simulated clients --------------------------------------------------------
    def start(self, n: int, rate: float, keys, read_ratio: float, timeout: float) -> list[int]:
        first = max(list(self.seqs) + list(self.sim) + [0]) + 1
        names = list(keys) if not isinstance(keys, int) else list(KEY_NAMES[:keys])
        self.config = {"rate": rate, "keys": names, "read_ratio": read_ratio, "timeout": timeout}
        started = []
        for c in range(first, first + n):
            self.sim[c] = {"op": None, "token": 0, "server": None}
            self.seqs.setdefault(c, 0)                   # its id is taken from now on
            self._schedule(c, self._think())
            started.append(c)
        return started

    def stop(self) -> None:
        """Simulated clients issue nothing more; what they have in flight stays as it is."""
        self.sim = {}
        self.config = None

    def _think(self) -> int:
        mean = 1_000_000 / self.config["rate"]               # µs
        return int(mean * (0.5 + self.world.rng.random()))

    def _schedule(self, c: int, delay: int) -> None:
        client = self.sim[c]
        client["token"] += 1
        self.world._push(self.world.now + delay, CLIENT, c, client["token"])

    def valid(self, c: int, token: int) -> bool:
        client = self.sim.get(c)
        return client is not None and client["token"] == token

    def event(self, time: int, c: int):
        """A simulated client's turn: its next operation, or a retry."""
        world = self.world
        world.now = time
        client, rng = self.sim[c], world.rng
        op = self.ops[client["op"] - 1] if client["op"] is not None else None
        if op is None or op["status"] == "ok":
            cfg = self.config
            key = cfg["keys"][int(rng.random() * len(cfg["keys"]))]
            server = client["server"] or world.ids[int(rng.random() * len(world.ids))]
            if rng.random() < cfg["read_ratio"]:
                op = self._new_op(c, None, "read", key, server)
            else:
                seq = self.seqs.get(c, 0) + 1
                verb = "SET" if rng.random() < 0.7 else "APPEND"
                value = f"{c}.{seq}" if verb == "SET" else f"+{c}.{seq}"
                op = self._new_op(c, seq, "write", key, server, f"{verb} {key} {value}")
            client["op"] = op["id"]
            why = "sends"
        else:
            op = self._own(op["id"])
            self.pending.pop(op["id"], None)              # a late answer to the last attempt no longer counts
            if op["attempts"] >= MAX_ATTEMPTS:
                self._finish(op, "failed")
                client["op"] = None
                self._schedule(c, self._think())
                return Record(time, "client", op["server"], dict(op, note="gave_up"), [], ()), None
            hint = op.pop("hint", None)
            op["server"] = hint if hint is not None and hint in world.nodes else self._next_server(op["server"])
            why = "retries"
        notes, sent, violations, _ = self._attempt(op)
        client["server"] = op["server"]
        if op["status"] == "failed":                      # refused, or the server is down
            self._schedule(c, 0 if op.get("hint") is not None else world.heartbeat_interval)
        elif op["status"] == "pending":
            self._schedule(c, round(self.config["timeout"] * 1000))
        return Record(time, "client", op["server"], dict(op, note=why), list(notes), sent or ()), violations

    def _next_server(self, server) -> int:
        """Section 8: after a timeout, a client tries again with a randomly chosen server (another one)."""
        others = [i for i in self.world.ids if i != server] or list(self.world.ids)
        return others[int(self.world.rng.random() * len(others))]

    # ----- reading ---------------------------------------------------------------------
    def history(self) -> list[dict]:
        return [{k: op[k] for k in PUBLIC} for op in self.ops]

    # ----- checkpoints -------------------------------------------------------------------
    def save(self) -> tuple:
        self._fresh = set()                   # from now on the checkpoint shares every operation
        return (tuple(self.ops), dict(self.pending), {c: dict(s) for c, s in self.sim.items()},
                dict(self.config) if self.config else None, dict(self.seqs))

    def load(self, saved: tuple) -> None:
        ops, pending, sim, config, seqs = saved
        self.ops = list(ops)
        self._fresh = set()
        self.pending, self.seqs = dict(pending), dict(seqs)
        self.sim = {c: dict(s) for c, s in sim.items()}
        self.config = dict(config) if config else None


CLIENT = 3          # the world's queue entries for simulated clients (world.py: DELIVER, ELECTION, HEARTBEAT)
