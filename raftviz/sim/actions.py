"""User actions, each defined once.

An ActionType says everything about one kind of action: its fields (with
their kinds and ranges), how it is checked (plain-language errors, before
anything changes), what it does to the world, the sentence the trace says,
its form in scenario files, and its entry in the catalogue the page builds
its controls from. Its protocol form is the checked dict itself,
{"type": ..., <fields>}. The engine (World.apply, explain, Cluster), the
scenario loader, the lecture saver, the protocol and the page all read the
REGISTRY; a new action is one more ActionType here.

Checking has two halves. check_fields() needs only the cluster's size, so
scenario files are checked completely at load; check() adds what depends on
the cluster's state (S3 is already down, message #57 has arrived).
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass, replace
from typing import Any, Callable, NamedTuple

from ..raft import LEADER, MESSAGE_TYPES, Options, kv
from ..raft.notes import command_text, name, names
from .network import check_latency, check_loss
from .quote import quote, quote_names
from .records import Added, NoLeader

MAX_COMMAND = 200
MIN_NODES, MAX_NODES = 1, 9
CONFIG_METHODS = ("joint", "single")


class Where(NamedTuple):
    """What a check knows: the servers S1..S`size`, the word for where they are
    ("cluster", or "scenario" in a file), and the live world when there is one."""
    size: int
    noun: str = "cluster"
    world: Any = None


class FieldError(ValueError):
    """A refused field: `field` names it (for a scenario file's path), the
    message says why in a sentence."""

    def __init__(self, field: str | None, message: str):
        super().__init__(message)
        self.field = field


def is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# ----- the kinds of field --------------------------------------------------------------

def check_server(value, where: Where, what: str = "server") -> int:
    if isinstance(value, str) and value[:1] in "Ss" and value[1:].isdigit():
        value = int(value[1:])                    # S3 as well as 3
    if value is None:
        raise ValueError(f"Say which {what}: a server number such as 3.")
    if not is_int(value):
        raise ValueError(f"The {what} must be a server number such as 3, not {quote(value)}.")
    if not 1 <= value <= where.size:
        raise ValueError(f"There is no S{value}: this {where.noun} has S1–S{where.size}.")
    return value


def check_command(command, where: Where = None) -> str:
    if not isinstance(command, str):
        raise ValueError("A command must be text, such as “SET x 1”.")
    command = command.strip()
    if not command:
        raise ValueError("A command cannot be empty.")
    if not command.isprintable():
        raise ValueError("A command can hold only printable characters (no control characters or line breaks).")
    if len(command) > MAX_COMMAND:
        raise ValueError(f"A command can be at most {MAX_COMMAND} characters long (this one has {len(command)}).")
    keyword = command.split()[0].upper()
    if keyword in kv.WRITES and kv.parse(command) is None:
        raise ValueError(f"{keyword} takes {kv.FORMS[keyword]}, e.g. {kv.EXAMPLES[keyword]}.")
    return command


def check_groups(groups, where: Where) -> list[list[int]]:
    """Partition groups: lists of servers, no server twice. The servers not
    named form one more group together."""
    if not isinstance(groups, (list, tuple)) or not groups:
        raise ValueError("A partition needs at least one group of servers, e.g. [[1, 2], [3, 4, 5]].")
    seen: set[int] = set()
    out = []
    for g in groups:
        if not isinstance(g, (list, tuple, set, frozenset)) or not g:
            raise ValueError("Each partition group must be a non-empty list of servers, e.g. [1, 2].")
        group = []
        for i in g:
            i = check_server(i, where, "server in a partition group")
            if i in seen:
                raise ValueError(f"S{i} is in two partition groups; each server can be in only one.")
            seen.add(i)
            group.append(i)
        out.append(sorted(group))
    rest = [i for i in range(1, where.size + 1) if i not in seen]
    if rest:
        out.append(rest)
    if len(out) < 2:
        raise ValueError("A partition needs at least two groups: leave at least one server out of the groups you name.")
    return out


def check_servers(value, where: Where) -> list[int]:
    """A set of servers, e.g. the voters of a configuration: [1, 2, 3]."""
    if not isinstance(value, (list, tuple, set, frozenset)):
        raise ValueError("Name the voters as a list of servers, e.g. [1, 2, 3].")
    if not value:
        raise ValueError("A configuration needs at least one voter, e.g. [1, 2, 3].")
    out = sorted({check_server(i, where, "voter") for i in value})
    if len(out) != len(value):
        raise ValueError("Each server can be named only once.")
    return out


def check_method(value, where: Where) -> str:
    if value not in CONFIG_METHODS:
        raise ValueError(f"The method is joint (joint consensus, C_old,new then C_new) or single (one server at a "
                         f"time), not {quote(value)}.")
    return value


def check_message(value, where: Where) -> int:
    if not is_int(value) or value < 1:
        raise ValueError("Say which message to drop by its number, e.g. 57.")
    return value


def check_options(values, where: Where = None) -> dict:
    if not isinstance(values, dict) or not values:
        raise ValueError("Options must be given as names and values, e.g. {\"fast_backup\": true}.")
    ranges = {name_: range_ for name_, _, _, _, range_ in Options.described()}
    out = {}
    for key, value in values.items():
        if key not in ranges:
            raise ValueError(f"There is no option {quote(key)}. Options: {', '.join(ranges)}.")
        limits = ranges[key]
        if limits:
            lo, hi = limits
            if not is_int(value) or not lo <= value <= hi:
                raise ValueError(f"The option {key} must be a whole number from {lo} to {hi}.")
        elif not isinstance(value, bool):
            raise ValueError(f"The option {key} must be true or false.")
        out[key] = value
    return out


def _loss(value, where: Where) -> float:
    return check_loss(value)


def _latency(value, where: Where) -> list:
    return list(check_latency(value))


@dataclass(frozen=True)
class Field:
    name: str
    kind: str   # server | servers | choice | command | key | count | number | groups | message | loss | latency | options
    doc: str
    required: bool = True
    check: Callable = check_server
    range: tuple | None = None              # for the catalogue: (lowest, highest)
    choices: tuple | None = None            # for the catalogue: a "choice" field's values


def _server(name_: str = "node", doc: str = "the server", required: bool = True, what: str = "server") -> Field:
    return Field(name_, "server", doc, required, lambda value, where: check_server(value, where, what))


# ----- the action types ------------------------------------------------------------------

class ActionType:
    """One kind of user action. Subclasses set `type`, `fields`, `summary` and
    define apply() and text(); the rest has defaults that fit most."""
    type: str = ""
    fields: tuple[Field, ...] = ()
    summary: str = ""

    # -- checking --
    def check_fields(self, raw: dict, where: Where) -> dict:
        """The action in normal form, checked field by field against the
        cluster's size only; raises FieldError."""
        extra = set(raw) - {f.name for f in self.fields} - {"type"}
        if extra:
            raise FieldError(None, f"The {self.type} action does not take {quote_names(extra)}.")
        out = {"type": self.type}
        for f in self.fields:
            value = raw.get(f.name)
            if value is None and not f.required:
                continue                          # a missing required field is refused by its own check
            try:
                out[f.name] = f.check(value, where)
            except ValueError as e:
                raise FieldError(f.name, str(e)) from None
        self.check_together(out)
        return out

    def check_together(self, action: dict) -> None:
        """Rules between fields (a link joins two different servers)."""

    def check_state(self, world, action: dict) -> None:
        """Rules on the cluster as it is now (S3 is already down)."""

    def check(self, world, raw: dict) -> dict:
        action = self.check_fields(raw, Where(len(world.ids), "cluster", world))
        self.check_state(world, action)
        return action

    # -- doing and telling --
    def actor(self, world, action: dict) -> int | None:
        """The server the action happens at (its record's node): by default the one it names."""
        return action.get("node")

    def apply(self, world, action: dict):
        """Change the world; returns (notes, messages sent, violations, result)."""
        raise NotImplementedError

    def text(self, action: dict) -> str:
        raise NotImplementedError

    # -- scenario files: `crash: 2`, `cut: [1, 3]`, `heal`, `submit: {command: ..., node: 2}` --
    def to_file(self, action: dict, dropped: dict | None = None):
        body = {f.name: action[f.name] for f in self.fields if f.name in action}
        if not body:
            return self.type
        if len(self.fields) == 1:
            return {self.type: body[self.fields[0].name]}
        return {self.type: body}

    def from_file(self, arg) -> dict:
        """The raw protocol form of a file's `type: arg` (checked afterwards)."""
        if len(self.fields) == 1:
            return {"type": self.type, self.fields[0].name: arg}
        if arg is True or arg is None:
            return {"type": self.type}
        if not self.fields:
            raise FieldError(None, f"The {self.type} action takes nothing: write just `{self.type}`.")
        if not isinstance(arg, dict):
            raise FieldError(None, f"The {self.type} action takes {', '.join(f.name for f in self.fields)} as a mapping.")
        return {"type": self.type, **arg}

    def file_path(self, field: str | None) -> str:
        """Where a field sits under the action's key in a file."""
        return "" if field is None or len(self.fields) <= 1 else f".{field}"

    # -- Cluster's convenience methods: cluster.crash(2), cluster.cut(1, 3), ... --
    method: str | None = ""                 # the method's name ("" for the type; None for no method)

    def from_call(self, *args, **kwargs) -> dict:
        """The raw action for cluster.<method>(...): positional arguments are the fields in order."""
        if len(args) > len(self.fields):
            raise TypeError(f"{self.method or self.type}() takes {len(self.fields)} argument"
                            f"{'' if len(self.fields) == 1 else 's'} ({len(args)} given)")
        return {"type": self.type, **dict(zip((f.name for f in self.fields), args)), **kwargs}

    def call_signature(self) -> inspect.Signature:
        """The signature of cluster.<method>(...) (what help() shows): the
        fields in order, or from_call's own where a type defines it."""
        me = inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)
        if type(self).from_call is not ActionType.from_call:
            return inspect.signature(self.from_call).replace(
                parameters=[me, *inspect.signature(self.from_call).parameters.values()])
        return inspect.Signature([me, *(inspect.Parameter(f.name, inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                                          default=inspect.Parameter.empty if f.required else None)
                                        for f in self.fields)])

    def catalogue(self) -> dict:
        return {"type": self.type, "summary": self.summary,
                "fields": [{"name": f.name, "kind": f.kind, "doc": f.doc, "required": f.required,
                            "range": list(f.range) if f.range else None,
                            **({"choices": list(f.choices)} if f.choices else {})} for f in self.fields]}


class _NodeAction(ActionType):
    fields = (_server(what="node"),)


class Crash(_NodeAction):
    type = "crash"
    summary = "Crash a server: it keeps its persistent state (term, vote, log) and loses the rest."

    def check_state(self, world, action):
        if not world.nodes[action["node"]].up:
            raise FieldError("node", f"S{action['node']} is already down.")

    def apply(self, world, action):
        return world.crash(action["node"]), (), None, None

    def text(self, a):
        return (f"{name(a['node'])} crashes: it keeps its persistent state (term, vote, log) "
                f"and loses everything else (role, commitIndex, state machine).")


class Restart(_NodeAction):
    type = "restart"
    summary = "Restart a crashed server as a follower."

    def check_state(self, world, action):
        if world.nodes[action["node"]].up:
            raise FieldError("node", f"S{action['node']} is already up.")

    def apply(self, world, action):
        return world.restart(action["node"]), (), None, None

    def text(self, a):
        return (f"{name(a['node'])} restarts as a follower with its saved term, vote and log; it has lost its "
                f"commitIndex and state machine, and re-applies entries as it learns what is committed.")


class Timeout(_NodeAction):
    type = "timeout"
    summary = "Make a server's election timer fire now."

    def check_state(self, world, action):
        i = action["node"]
        node = world.nodes[i]
        if not node.up:
            raise FieldError("node", f"S{i} is down: a crashed server has no timer.")
        if node.role == LEADER:
            raise FieldError("node", f"S{i} is the leader: a leader has no election timer to fire.")

    def apply(self, world, action):
        return world.fire_timeout(action["node"])

    def text(self, a):
        return f"{name(a['node'])}'s election timer is made to fire now."


class Snapshot(_NodeAction):
    type = "snapshot"
    summary = ("A server writes its state machine to a snapshot and discards the log entries it has applied "
               "(section 7).")
    method = None                           # Cluster.snapshot(node): one name with the view, snapshot()

    def check_state(self, world, action):
        i = action["node"]
        node = world.nodes[i]
        if not node.up:
            raise FieldError("node", f"S{i} is down: a crashed server takes no snapshot.")
        if node.last_applied <= node.snapshot_index:
            if node.snapshot_index:
                raise FieldError("node", f"S{i} has applied nothing since its last snapshot (through index "
                                         f"{node.snapshot_index}): there is nothing new to compact.")
            raise FieldError("node", f"S{i} has applied no entries yet: a snapshot holds only what a server has "
                                     f"applied, so there is nothing to compact.")

    def apply(self, world, action):
        return world.take_snapshot(action["node"])

    def text(self, a):
        return f"{name(a['node'])} is asked to take a snapshot."


class Disconnect(_NodeAction):
    type = "disconnect"
    summary = "Isolate a server: no message reaches it or leaves it."

    def apply(self, world, action):
        world.network.disconnect(action["node"])
        return [], (), None, None

    def text(self, a):
        return f"{name(a['node'])} is disconnected: no message reaches it or leaves it."


class Connect(_NodeAction):
    type = "connect"
    summary = "Connect an isolated server again."

    def apply(self, world, action):
        world.network.connect(action["node"])
        return [], (), None, None

    def text(self, a):
        return f"{name(a['node'])} is connected to the network again."


class Partition(ActionType):
    type = "partition"
    fields = (Field("groups", "groups", "groups of servers, e.g. [[1, 2], [3, 4, 5]]; the rest form one more group",
                    check=check_groups),)
    summary = "Split the network into groups; messages travel only within a group."

    def from_call(self, *groups):
        return {"type": self.type, "groups": [list(g) for g in groups]}

    def apply(self, world, action):
        world.network.partition(action["groups"])
        return [], (), None, None

    def text(self, a):
        groups = " | ".join("{" + names(g) + "}" for g in a["groups"])
        return f"The network is partitioned: {groups}. Messages only travel within a group."


class Heal(ActionType):
    type = "heal"
    summary = "Heal the network: every link works again."

    def apply(self, world, action):
        world.network.heal()
        return [], (), None, None

    def text(self, a):
        return "The network is healed: every link works again."


class _LinkAction(ActionType):
    fields = (_server("a", "one end of the link", what="first server"), _server("b", "the other end", what="second server"))

    def check_together(self, action):
        if action["a"] == action["b"]:
            raise FieldError("b", "A link joins two different servers.")
        action["a"], action["b"] = sorted((action["a"], action["b"]))

    def to_file(self, action, dropped=None):
        return {self.type: [action["a"], action["b"]]}

    def from_file(self, arg):
        if not isinstance(arg, (list, tuple)) or len(arg) != 2:
            raise FieldError(None, "A link is two servers, e.g. [1, 3].")
        return {"type": self.type, "a": arg[0], "b": arg[1]}

    def file_path(self, field):
        return ""


class Cut(_LinkAction):
    type = "cut"
    summary = "Cut the link between two servers."

    def apply(self, world, action):
        world.network.cut(action["a"], action["b"])
        return [], (), None, None

    def text(self, a):
        return f"The link {name(a['a'])}–{name(a['b'])} is cut."


class Link(_LinkAction):
    type = "link"
    summary = "Restore the link between two servers."

    def apply(self, world, action):
        world.network.link(action["a"], action["b"])
        return [], (), None, None

    def text(self, a):
        return f"The link {name(a['a'])}–{name(a['b'])} is restored."


class Drop(ActionType):
    type = "drop"
    fields = (Field("message", "message", "the number of a message in flight", check=check_message),)
    summary = "Drop a message in flight."
    PATTERN = {"type", "from", "to", "index", "success", "granted", "all"}

    def check_state(self, world, action):
        if world.message(action["message"]) is None:
            raise FieldError("message", f"Message #{action['message']} is not in flight any more: it has arrived or was lost.")

    def apply(self, world, action):
        return [world.drop(action["message"])], (), None, None

    def text(self, a):
        return f"Message #{a['message']} is dropped by hand."

    # In a file a message is named by what it is, not by its number: a pattern
    # that drops the matching messages sent during the step (the runner applies it).
    def to_file(self, action, dropped=None):
        return {"drop": {"type": dropped["type"], "from": dropped["src"], "to": dropped["dst"]}}

    def from_file(self, arg):
        return {"type": "drop_matching", "pattern": arg}

    def check_pattern(self, raw, where: Where) -> dict:
        if not isinstance(raw, dict):
            raise FieldError(None, "Should name a message by its type, e.g. {type: AppendEntries, from: 2, to: 5}.")
        extra = set(raw) - self.PATTERN
        if extra:
            raise FieldError(None, f"Unknown field {quote_names(extra)} (known: {', '.join(sorted(self.PATTERN))}).")
        if raw.get("type") not in MESSAGE_TYPES:
            raise FieldError("type", f"Should be one of {', '.join(MESSAGE_TYPES)}.")
        out = {"type": raw["type"]}
        for key in ("from", "to"):
            if key in raw:
                try:
                    out[key] = check_server(raw[key], where)
                except ValueError as e:
                    raise FieldError(key, str(e)) from None
        if "index" in raw:
            if not is_int(raw["index"]) or raw["index"] < 1:
                raise FieldError("index", "Should be a whole number from 1.")
            out["index"] = raw["index"]
        for key in ("success", "granted", "all"):
            if key in raw:
                if not isinstance(raw[key], bool):
                    raise FieldError(key, "Should be true or false.")
                out[key] = raw[key]
        return out

    def file_path(self, field):
        return "" if field in (None, "message") else f".{field}"


def _whole(lo: int, hi: int, what: str):
    def check(value, where=None):
        if not is_int(value) or not lo <= value <= hi:
            raise ValueError(f"The {what} must be a whole number from {lo} to {hi}.")
        return value
    return check


def _number(lo: float, hi: float, what: str, unit: str = ""):
    def check(value, where=None):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not lo <= value <= hi:
            raise ValueError(f"The {what} must be a number from {lo:g} to {hi:g}{unit}.")
        return value
    return check


def check_key(value, where=None) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 40 or not value.isprintable() \
            or len(value.split()) != 1:
        raise ValueError("A key is one word of at most 40 characters, such as x.")
    return value.strip()


MAX_CLIENT = 1_000_000


def _client(doc: str) -> Field:
    return Field("client", "count", doc, False, _whole(1, MAX_CLIENT, "client id"), (1, MAX_CLIENT))


def _not_simulated(world, client: int) -> None:
    if client in world.clients.sim:
        raise FieldError("client", f"Client {client} is one of the simulated clients, which numbers its own "
                                   f"requests: give another id.")


class Submit(ActionType):
    type = "submit"
    fields = (Field("command", "command", "a command for the key-value store, e.g. SET x 1 or INCR x",
                    check=check_command, range=(1, MAX_COMMAND)),
              _server("node", "the server to send it to (the leader when left out)", required=False),
              _client("the client's id: with one, the command is a request the client waits for, applied once "
                      "however often it is retried"),
              Field("seq", "count", "the client's sequence number for it (the next one when left out); send the "
                    "same number again to retry", False, _whole(1, MAX_CLIENT, "sequence number"), (1, MAX_CLIENT)))
    summary = "Send a client command to the leader (or to a given server)."

    def from_call(self, command, to=None, *, client=None, seq=None):
        return {"type": self.type, "command": command, **({} if to is None else {"node": to}),
                **({} if client is None else {"client": client}), **({} if seq is None else {"seq": seq})}

    def check_together(self, action):
        if "seq" in action and "client" not in action:
            raise FieldError("seq", "A sequence number belongs to a client: give the client's id too.")

    def check_state(self, world, action):
        client, seq = action.get("client"), action.get("seq")
        if client is None:
            return
        _not_simulated(world, client)
        if seq is None:
            return
        clients = world.clients
        earlier = clients.retry_of(client, seq)
        if earlier is not None:
            if earlier["command"] != action["command"]:
                raise FieldError("command", f"Client {client}'s request {seq} was “{earlier['command']}”: a retry "
                                            f"sends the same command again (a new command takes the next number, "
                                            f"{clients.seqs[client] + 1}).")
        elif seq <= clients.seqs.get(client, 0):
            raise FieldError("seq", f"Client {client} has already used sequence number {seq}: a new request takes "
                                    f"the next one, {clients.seqs[client] + 1} (a retry repeats an earlier write "
                                    f"with its own number).")

    def actor(self, world, action):
        return action.get("node") or world.leader()

    def apply(self, world, action):
        return world.submit(action["command"], action.get("node"), action.get("client"), action.get("seq"))

    def text(self, a):
        who = f"Client {a['client']}" if a.get("client") is not None else "A client"
        seq = f" (its request {a['seq']})" if a.get("seq") is not None else ""
        return (f"{who} sends “{command_text(a['command'])}”{seq} to "
                f"{name(a['node']) if a.get('node') else 'the leader'}.")

    def to_file(self, action, dropped=None):
        return {"submit": {k: action[k] for k in ("command", "node", "client", "seq") if action.get(k) is not None}}

    def from_file(self, arg):
        """`submit: SET x 1`, or `submit: {command: SET x 1, node: 2}`."""
        return {"type": "submit", **arg} if isinstance(arg, dict) else {"type": "submit", "command": arg}


class Read(ActionType):
    type = "read"
    fields = (Field("key", "key", "the key to read, e.g. x", check=check_key, range=(1, 40)),
              _server("node", "the server to ask (the leader when left out)", required=False),
              _client("the client's id (anonymous when left out)"))
    summary = "A client reads a key from the leader (or a given server): a linearizable read (ReadIndex)."

    def from_call(self, key, *, to=None, client=None):
        return {"type": self.type, "key": key, **({} if to is None else {"node": to}),
                **({} if client is None else {"client": client})}

    def check_state(self, world, action):
        if action.get("client") is not None:
            _not_simulated(world, action["client"])

    def actor(self, world, action):
        return action.get("node") or world.leader()

    def apply(self, world, action):
        server = action.get("node") or world.leader()
        return world.clients.read(action["key"], server, action.get("client"))

    def text(self, a):
        who = f"Client {a['client']}" if a.get("client") is not None else "A client"
        return f"{who} asks {name(a['node']) if a.get('node') else 'the leader'} to read {a['key']}."


class StartClients(ActionType):
    type = "clients"
    fields = (Field("n", "count", "how many clients", check=_whole(1, 20, "number of clients"), range=(1, 20)),
              Field("rate", "number", "operations per second each client issues (virtual time)", False,
                    _number(0.1, 100, "rate", " operations per second"), (0.1, 100)),
              Field("keys", "count", "how many keys they use (x, y, z, ...)", False,
                    _whole(1, 10, "number of keys"), (1, 10)),
              Field("read_ratio", "number", "the share of reads, from 0 to 1", False,
                    _number(0, 1, "share of reads"), (0, 1)),
              Field("timeout", "number", "ms a client waits for an answer before it retries at another server",
                    False, _number(10, 60_000, "client timeout", " ms"), (10, 60_000)))
    summary = "Start simulated clients that read and write, retrying on a timeout or at the leader named."
    DEFAULTS = {"rate": 2.0, "keys": 1, "read_ratio": 0.5, "timeout": 500}

    def from_call(self, n, *, rate=2.0, keys=1, read_ratio=0.5, timeout=500):
        return {"type": self.type, "n": n, "rate": rate, "keys": keys, "read_ratio": read_ratio, "timeout": timeout}

    def check_fields(self, raw, where):
        action = super().check_fields(raw, where)
        for key, value in self.DEFAULTS.items():
            action.setdefault(key, value)
        return action

    def apply(self, world, action):
        started = world.clients.start(action["n"], action["rate"], action["keys"], action["read_ratio"],
                                      action["timeout"])
        return [], (), None, started

    def text(self, a):
        return (f"{a['n']} client{'s' if a['n'] > 1 else ''} start: {a['rate']:g} operations a second each, "
                f"{a['read_ratio']:.0%} reads, on {a['keys']} key{'s' if a['keys'] > 1 else ''}, retrying after "
                f"{a['timeout']:g} ms without an answer.")


class StopClients(ActionType):
    type = "stop_clients"
    summary = "Stop the simulated clients (what they have in flight stays in flight)."

    def check_state(self, world, action):
        if not world.clients.sim:
            raise FieldError(None, "No simulated clients are running.")

    def apply(self, world, action):
        world.clients.stop()
        return [], (), None, None

    def text(self, a):
        return "The simulated clients stop issuing requests."


class Network(ActionType):
    type = "network"
    fields = (Field("loss", "loss", "the share of messages lost, from 0 to 1", False, _loss, (0, 1)),
              Field("latency", "latency", "one-way delay [lowest, highest] in ms", False, _latency, (0.001, 10_000)))
    summary = "Set message loss and latency."
    method = None                           # cluster.network.loss / .latency instead

    def check_together(self, action):
        if len(action) == 1:
            raise FieldError(None, "Give a loss (0 to 1) or a latency [lowest, highest] in ms.")

    def apply(self, world, action):
        world.set_network(action.get("loss"), action.get("latency"))
        return [], (), None, None

    def text(self, a):
        parts = []
        if a.get("loss") is not None:
            parts.append(f"message loss {a['loss']:.0%}")
        if a.get("latency") is not None:
            lo, hi = a["latency"]
            parts.append(f"latency {lo:g}–{hi:g} ms")
        return "Network settings change: " + ", ".join(parts) + "."


class SetOptions(ActionType):
    type = "options"
    fields = (Field("options", "options", "engine options and unsafe switches by name, e.g. {fast_backup: true}",
                    check=check_options),)
    summary = "Turn engine options and unsafe switches on or off."
    method = "set_options"

    def from_call(self, **options):
        return {"type": self.type, "options": options}

    def apply(self, world, action):
        world.set_options(replace(world.options, **action["options"]))
        return [], (), None, None

    def text(self, a):
        parts = []
        labels = {key: label for key, _, label, _, _ in Options.described()}
        for key, value in a["options"].items():
            label = labels[key]
            if isinstance(value, bool):
                unsafe = " (UNSAFE: it breaks a rule Raft needs for safety)" if value and key.startswith("unsafe_") else ""
                parts.append(f"{label} {'on' if value else 'off'}{unsafe}")
            else:
                parts.append(f"{label} = {value}")
        return "Options change: " + ", ".join(parts) + "."


class AddServer(ActionType):
    type = "add_server"
    summary = "Start a new, empty server outside the configuration (a leader can then add it)."

    def check_state(self, world, action):
        if len(world.ids) >= MAX_NODES:
            raise FieldError(None, f"A cluster has at most {MAX_NODES} servers.")

    def apply(self, world, action):
        i = world.add_server()
        return [Added(i)], (), None, i

    def text(self, a):
        return "A new server is started."


class _LeaderAction(ActionType):
    """An action the leader carries out."""

    def actor(self, world, action):
        return world.leader()


def _leader_node(world):
    i = world.leader()
    return None if i is None else world.nodes[i]


class ChangeConfig(_LeaderAction):
    type = "change_config"
    fields = (Field("voters", "servers", "the voting members the cluster should have, e.g. [1, 2, 3, 4, 5]",
                    check=check_servers),
              Field("method", "choice", "joint (C_old,new then C_new, section 6) or single (one server at a time, "
                    "thesis 4.1)", False, check_method, choices=CONFIG_METHODS))
    summary = "Ask the leader to change the voting members (new servers first catch up as learners)."

    def from_call(self, voters, *, method="joint"):
        return {"type": self.type, "voters": voters, "method": method}

    def check_fields(self, raw, where):
        action = super().check_fields(raw, where)
        action.setdefault("method", "joint")
        return action

    def check_state(self, world, action):
        leader = _leader_node(world)
        if leader is not None:
            why = leader.change_refused(action["voters"], action["method"])
            if why:
                raise FieldError("voters", why)

    def apply(self, world, action):
        if world.leader() is None:
            return [NoLeader()], (), None, None
        return world.change_config(action["voters"], action["method"])

    def text(self, a):
        how = "by joint consensus" if a.get("method", "joint") == "joint" else "one server at a time"
        return f"A change of members is requested: voters {names(a['voters'])}, {how}."


class TransferLeadership(_LeaderAction):
    type = "transfer_leadership"
    fields = (_server("to", "the voter to hand leadership to", what="server to hand leadership to"),)
    summary = "Ask the leader to hand leadership to another voter."

    def check_state(self, world, action):
        leader, to = _leader_node(world), action["to"]
        if leader is None:
            raise FieldError("to", "There is no leader to hand leadership over.")
        if to == leader.id:
            raise FieldError("to", f"S{to} is already the leader.")
        if not leader.configuration.is_voter(to):
            raise FieldError("to", f"S{to} is not a voter in S{leader.id}'s configuration "
                                   f"{leader.configuration.describe()}: only a voter can become leader.")
        leaving = to not in leader.configuration.voters or (leader.change is not None
                                                            and to not in leader.change.voters)
        if leaving:
            raise FieldError("to", f"S{to} is leaving the configuration (it is not among the new voters): "
                                   f"it could not stay leader.")
        if leader.transfer_to is not None:
            raise FieldError("to", f"S{leader.id} is already handing leadership to S{leader.transfer_to}.")

    def apply(self, world, action):
        return world.transfer_leadership(action["to"])

    def text(self, a):
        return f"The leader is asked to hand leadership to {name(a['to'])}."


REGISTRY: dict[str, ActionType] = {t.type: t for t in (
    Crash(), Restart(), Timeout(), Disconnect(), Connect(), Partition(), Heal(), Cut(), Link(), Drop(), Submit(),
    Network(), SetOptions(), AddServer(), ChangeConfig(), TransferLeadership(), Read(), StartClients(),
    StopClients(), Snapshot())}
TYPES = tuple(REGISTRY)


def check(world, action) -> dict:
    """The action in normal form, or ValueError with a sentence a student understands."""
    if not isinstance(action, dict):
        raise ValueError("An action must be an object with a \"type\".")
    kind = REGISTRY.get(action.get("type")) if isinstance(action.get("type"), str) else None
    if kind is None:
        raise ValueError(f"Unknown action {quote(action.get('type'))}. Known actions: {', '.join(TYPES)}.")
    return kind.check(world, action)


def text(action: dict) -> str:
    return REGISTRY[action["type"]].text(action)


def catalogue() -> dict:
    """What the page builds its controls from: every action with its fields,
    the engine options with their defaults and descriptions, and the cluster
    sizes a new cluster may have."""
    return {
        "actions": [t.catalogue() for t in REGISTRY.values()],
        "options": [{"name": key, "label": label, "doc": doc, "default": default,
                     "range": list(limits) if limits else None, "unsafe": key.startswith("unsafe_")}
                    for key, default, label, doc, limits in Options.described()],
        "nodes": {"min": MIN_NODES, "max": MAX_NODES},
        "command": {"max": MAX_COMMAND},
    }
