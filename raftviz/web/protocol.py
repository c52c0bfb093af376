"""The client -> server `action` message: checked at the edge, carried out on
one session, answered with an acknowledgement.

Every action is {"type": ..., ...}. The answer is {"ok": true, ...} or
{"ok": false, "error": "<a sentence for the user>"}; a refused action leaves
the session exactly as it was. docs/protocol.md has an example of each.
"""
from __future__ import annotations

import json
import math
import random

from ..sim import Cluster
from ..sim import actions as engine
from ..sim.budget import Budget
from ..sim.quote import quote, quote_names
from . import client_history, lecture, limits
from .limits import MAX_ACTION_BYTES
from .sessions import PAUSED, PLAYING, STEP, Session
from .work import STEP_BUDGET, Work

MIN_SPEED, MAX_SPEED = 0.001, 1.0
MAX_SEED = 2**32 - 1
MAX_RECORDS_PAGE = 500
# Actions whose cost grows with the session's size; refused while the session
# has used up its share of the server (work.py).
EXPENSIVE = {"sync", "seek", "step_back", "reset", "export", "records", "scenario", "scenario_next",
             "scenario_back", "scenario_restart", "save_scenario", "check_linearizable",
             "room_fork", "room_follow"}

# What the server does after an action, besides answering it.
STATE = "state"          # send the full state to everyone watching the session
UPDATES = "updates"      # send what changed to everyone watching the session
SELF_STATE = "self"      # send the full state to the asking connection only


class Refused(ValueError):
    """An action that cannot be carried out; its message is shown to the user."""


def _int(data: dict, key: str, lo: int, hi: int, what: str, required: bool = True):
    value = data.get(key)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise Refused(f"{what} must be a whole number from {lo} to {hi}.")
    if not lo <= value <= hi:
        raise Refused(f"{what} must be from {lo} to {hi}; {quote(value)} is out of range.")
    return value


def _only(data: dict, *allowed: str) -> None:
    extra = sorted(set(data) - set(allowed) - {"type"})
    if extra:
        raise Refused(f"The {data['type']} action does not take {quote_names(extra)}.")


def check_size(data, limit: int) -> None:
    try:
        size = len(json.dumps(data))
    except (TypeError, ValueError, RecursionError):
        raise Refused("The action could not be read: it is not plain JSON data.") from None
    if size > limit:
        raise Refused(f"The action is too large ({size} bytes; the limit is {limit}).")


def handle(session: Session, data, work: Work | None = None) -> tuple[dict, str | None]:
    """Carry out one action on a session (the caller holds its lock). Long
    ones take their budget from `work`. Returns (acknowledgement, what to
    send to watchers)."""
    try:
        if not isinstance(data, dict) or not isinstance(data.get("type"), str):
            raise Refused("An action must be an object with a \"type\", e.g. {\"type\": \"play\"}.")
        kind = data["type"]
        check_size(data, MAX_ACTION_BYTES)
        if kind in _LONG:
            return _LONG[kind](session, data, work or Work(lambda _: None))
        if kind in _WEB:
            return _WEB[kind](session, data)
        if kind in engine.TYPES:
            return _engine_action(session, data)
        raise Refused(f"Unknown action {quote(kind)}. Known actions: {', '.join(sorted(set(_WEB) | set(_LONG) | set(engine.TYPES)))}.")
    except (Refused, ValueError) as e:
        return {"ok": False, "error": str(e)}, None


# ----- the cluster's own actions -------------------------------------------------------

def _engine_action(session: Session, data: dict):
    action = dict(data)
    if action["type"] == "options" and "options" not in action:
        # Accept {"type": "options", "fast_backup": true} as well as {"options": {...}}.
        action = {"type": "options", "options": {k: v for k, v in data.items() if k != "type"}}
    limits.check_action(session.cluster, action)
    forks = session.cluster.seq < len(session.cluster.trace)
    result = session.cluster.act(action)
    session.stop_at = None                      # acting ends the playing of a scenario step
    ack = {"ok": True, "seq": session.cluster.seq}
    if action["type"] in ("submit", "change_config"):
        # The index of the first entry appended; None when no leader took it, and why.
        ack["index"] = result
        if result is None:
            ack["note"] = session.cluster.trace[-1]["text"]
    elif action["type"] == "add_server":
        ack["node"] = result                    # the new server's id: the page names it
    elif action["type"] == "read":
        ack["request"] = result                 # the read's request id: its operation in the client history
    elif action["type"] == "clients":
        ack["clients"] = result                 # the ids of the clients started
    # Acting in the past cut off the recorded future: the page redraws the whole history.
    return ack, STATE if forks else UPDATES


# ----- web-only actions ----------------------------------------------------------------

def _sync(session, data):
    _only(data)
    return {"ok": True}, SELF_STATE


def _play(session, data):
    _only(data)
    session.set_mode(PLAYING)
    return {"ok": True, "mode": PLAYING}, UPDATES


def _pause(session, data):
    _only(data)
    session.set_mode(PAUSED)
    return {"ok": True, "mode": PAUSED}, UPDATES


def _step(session, data):
    _only(data)
    record = session.cluster.step()
    if record is None:
        raise Refused("Nothing is scheduled to happen: no timer is running and no message is in flight.")
    session.set_mode(STEP)
    return {"ok": True, "mode": STEP, "seq": record["seq"]}, UPDATES


def _step_back(session, data):
    _only(data)
    c = session.cluster
    if c.seq <= c.oldest:
        raise Refused("This is the earliest moment kept: there is nothing before it."
                      if c.seq else "This is the beginning: there is nothing before it.")
    session.set_mode(STEP)
    session.stop_at = None
    c.seek(c.seq - 1)
    return {"ok": True, "mode": STEP, "seq": c.seq}, STATE


def _seek(session, data):
    _only(data, "seq")
    c = session.cluster
    seq = _int(data, "seq", 0, len(c.trace), "seq")
    c.seek(seq)
    session.stop_at = None
    if session.mode == PLAYING:
        session.set_mode(PAUSED)
    return {"ok": True, "seq": c.seq, "mode": session.mode}, STATE


def _speed(session, data):
    _only(data, "value")
    value = data.get("value")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or not MIN_SPEED <= value <= MAX_SPEED:
        raise Refused(f"Speed must be a number from {MIN_SPEED} (1/1000 of real time) to {MAX_SPEED} (real time).")
    session.speed = float(value)
    return {"ok": True, "speed": session.speed}, UPDATES


def _members(data: dict, nodes: int) -> list[int] | None:
    """The initial voters of a new cluster: absent (everyone), or a list of
    distinct servers of the cluster (the others start outside the configuration)."""
    members = data.get("members")
    if members is None:
        return None
    if not isinstance(members, list) or not members or not all(
            isinstance(i, int) and not isinstance(i, bool) for i in members):
        raise Refused(f"The voters must be a list of servers, e.g. [1, 2, 3]; got {quote(members)}.")
    outside = [i for i in members if not 1 <= i <= nodes]
    if outside:
        raise Refused(f"There is no S{outside[0]} in a cluster of {nodes}: the voters must be among S1–S{nodes}.")
    if len(set(members)) != len(members):
        raise Refused("Each voter may be named once.")
    return sorted(members)


def _reset(session, data):
    _only(data, "nodes", "seed", "members")
    nodes = _int(data, "nodes", engine.MIN_NODES, engine.MAX_NODES, "The number of servers")
    seed = _int(data, "seed", 0, MAX_SEED, "The seed", required=False)
    members = _members(data, nodes)
    if seed is None:
        seed = random.SystemRandom().randrange(MAX_SEED)
    options = session.cluster.options          # keep the options (and unsafe switches) chosen
    config = session.cluster.config
    session.cluster = Cluster(nodes, seed=seed, election_timeout=config["election_timeout"],
                              heartbeat_interval=config["heartbeat_interval"], latency=config["latency"],
                              members=members, **options, **limits.KEEP)
    lecture.close(session)
    session.last_tick = None
    ack = {"ok": True, "seed": seed, "nodes": nodes}
    if members is not None:
        ack["members"] = members
    return ack, STATE


def _export(session, data):
    _only(data)
    return {"ok": True, "data": session.cluster.export()}, None


def _import(session, data):
    raise Refused("A history file is sent with an HTTP POST to /api/import, not as an action "
                  "(docs/protocol.md): use Load history.")


def _records(session, data):
    """Older trace records for the event log: up to `count` before `before`."""
    _only(data, "before", "count")
    c = session.cluster
    before = _int(data, "before", 1, len(c.trace) + 1, "before")
    count = _int(data, "count", 1, MAX_RECORDS_PAGE, "count", required=False) or 100
    first = max(c.oldest + 1, before - count)
    return {"ok": True, "records": c.records(first, before - 1)}, None


def _scenario(session, data):
    _only(data, "id")
    name = data.get("id")
    if not isinstance(name, str) or name not in session.library.names():
        raise Refused(f"There is no scenario {quote(name)}. Open the Scenarios list to pick one.")
    lecture.load(session, name)
    return {"ok": True, "id": name, "steps": len(session.scenario.steps)}, STATE


def _in_scenario(handler, effect, long: bool = False):
    """A scenario operation; a long one runs under a step's budget."""
    def run(session, data, work=None):
        _only(data)
        if session.scenario is None:
            raise Refused("No scenario is open: pick one from the Scenarios list first.")
        if long:
            budget = work.budget("This scenario step", STEP_BUDGET)
            budget.watch(lambda: session.scenario.cluster.in_flight_count())   # whichever cluster it runs on
            return handler(session, budget), effect
        return handler(session), effect
    return run


def _check_linearizable(session, data):
    """Is the client history linearizable? The verdict, shown in the page too;
    a history that is not is also reported as a violation (the banner)."""
    _only(data)
    c = session.cluster
    total = len(client_history.live_ops(c))
    if not total:
        raise Refused("There is no client operation to check yet: start clients or send a read or a command "
                      "with a client id (Clients tab).")
    try:
        verdict = client_history.check(c, auto=False)
    except client_history.Refused as e:
        raise Refused(f"Not checked: {e}") from None
    session.feed.checked(verdict)
    return {"ok": True, **{k: verdict[k] for k in ("explanation", "operations", "checked")},
            "linearizable": verdict["ok"]}, UPDATES


def _save_scenario(session, data, work):
    _only(data)
    return lecture.save(session, Budget("Saving this session", pause=work.pause)), None


_LONG = {
    "scenario_next": _in_scenario(lecture.next_step, STATE, long=True),
    "scenario_back": _in_scenario(lecture.back, STATE, long=True),
    "scenario_restart": _in_scenario(lecture.restart, STATE, long=True),
    "save_scenario": _save_scenario,
}
_WEB = {
    "scenario": _scenario,
    "scenario_close": _in_scenario(lecture.close, UPDATES),
    "sync": _sync, "play": _play, "pause": _pause, "step": _step, "step_back": _step_back,
    "seek": _seek, "speed": _speed, "reset": _reset, "export": _export, "import": _import,
    "records": _records, "check_linearizable": _check_linearizable,
}

LONG = set(_LONG)
