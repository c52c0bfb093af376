"""User actions: checked here, completely, before anything changes.

check(world, action) returns the action in normal form or raises ValueError
with a sentence a student understands. Only checked actions reach
World.apply, so an action is either carried out whole or not at all.
"""
from __future__ import annotations

from ..raft import LEADER, Options
from .network import check_latency, check_loss
from .quote import quote, quote_names

MAX_COMMAND = 200
NODE_ACTIONS = ("crash", "restart", "timeout", "disconnect", "connect")
TYPES = NODE_ACTIONS + ("partition", "heal", "cut", "link", "drop", "submit", "network", "options")
FIELDS = {
    "crash": {"node"}, "restart": {"node"}, "timeout": {"node"}, "disconnect": {"node"},
    "connect": {"node"}, "partition": {"groups"}, "heal": set(), "cut": {"a", "b"}, "link": {"a", "b"},
    "drop": {"message"}, "submit": {"command", "node"}, "network": {"loss", "latency"},
    "options": {"options"},
}


def is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def node_id(world, value, what: str = "node") -> int:
    if not is_int(value):
        raise ValueError(f"The {what} must be a server number such as 3, not {quote(value)}.")
    if value not in world.nodes:
        raise ValueError(f"There is no S{value}: this cluster has S1–S{len(world.ids)}.")
    return value


def check_command(command) -> str:
    if not isinstance(command, str):
        raise ValueError("A command must be text, such as “SET x 1”.")
    command = command.strip()
    if not command:
        raise ValueError("A command cannot be empty.")
    if len(command) > MAX_COMMAND:
        raise ValueError(f"A command can be at most {MAX_COMMAND} characters long (this one has {len(command)}).")
    return command


def check_options(values) -> dict:
    if not isinstance(values, dict) or not values:
        raise ValueError("Options must be given as names and values, e.g. {\"fast_backup\": true}.")
    known = Options.names()
    out = {}
    for key, value in values.items():
        if key not in known:
            raise ValueError(f"There is no option {quote(key)}. Options: {', '.join(known)}.")
        if key == "entries_per_append":
            if not is_int(value) or not 1 <= value <= 100:
                raise ValueError("entries_per_append must be a whole number from 1 to 100.")
        elif not isinstance(value, bool):
            raise ValueError(f"{key} must be true or false.")
        out[key] = value
    return out


def check(world, action) -> dict:
    if not isinstance(action, dict):
        raise ValueError("An action must be an object with a \"type\".")
    kind = action.get("type")
    if kind not in TYPES:
        raise ValueError(f"Unknown action {quote(kind)}. Known actions: {', '.join(TYPES)}.")
    extra = set(action) - FIELDS[kind] - {"type"}
    if extra:
        raise ValueError(f"The {kind} action does not take {quote_names(extra)}.")
    nodes = world.nodes
    if kind in NODE_ACTIONS:
        i = node_id(world, action.get("node"))
        node = nodes[i]
        if kind == "crash" and not node.up:
            raise ValueError(f"S{i} is already down.")
        if kind == "restart" and node.up:
            raise ValueError(f"S{i} is already up.")
        if kind == "timeout":
            if not node.up:
                raise ValueError(f"S{i} is down: a crashed server has no timer.")
            if node.role == LEADER:
                raise ValueError(f"S{i} is the leader: a leader has no election timer to fire.")
        return {"type": kind, "node": i}
    if kind == "heal":
        return {"type": "heal"}
    if kind in ("cut", "link"):
        a = node_id(world, action.get("a"), "first server")
        b = node_id(world, action.get("b"), "second server")
        if a == b:
            raise ValueError("A link joins two different servers.")
        return {"type": kind, "a": min(a, b), "b": max(a, b)}
    if kind == "partition":
        return {"type": kind, "groups": check_groups(world, action.get("groups"))}
    if kind == "drop":
        message = action.get("message")
        if not is_int(message):
            raise ValueError("Say which message to drop by its number.")
        if world.message(message) is None:
            raise ValueError(f"Message #{message} is not in flight any more: it has arrived or was lost.")
        return {"type": kind, "message": message}
    if kind == "submit":
        out = {"type": kind, "command": check_command(action.get("command"))}
        if action.get("node") is not None:
            out["node"] = node_id(world, action["node"])
        return out
    if kind == "network":
        out = {"type": kind}
        if action.get("loss") is not None:
            out["loss"] = check_loss(action["loss"])
        if action.get("latency") is not None:
            out["latency"] = list(check_latency(action["latency"]))
        if len(out) == 1:
            raise ValueError("Give a loss (0 to 1) or a latency [lowest, highest] in ms.")
        return out
    return {"type": kind, "options": check_options(action.get("options"))}


def check_groups(world, groups) -> list[list[int]]:
    """Partition groups: lists of servers, no server twice. The servers not
    named form one more group together."""
    if not isinstance(groups, (list, tuple)) or not groups:
        raise ValueError("A partition needs at least one group of servers, e.g. [[1, 2], [3, 4, 5]].")
    seen: set[int] = set()
    out = []
    for g in groups:
        if not isinstance(g, (list, tuple, set, frozenset)) or not g:
            raise ValueError("Each partition group must be a non-empty list of servers.")
        group = []
        for i in g:
            node_id(world, i, "server in a partition group")
            if i in seen:
                raise ValueError(f"S{i} is in two partition groups; each server can be in only one.")
            seen.add(i)
            group.append(i)
        out.append(sorted(group))
    rest = [i for i in world.ids if i not in seen]
    if rest:
        out.append(rest)
    return out
