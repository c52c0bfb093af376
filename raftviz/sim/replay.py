"""The history file: export a Cluster's history, and replay one, checking it.

A history file holds how the cluster was made (config and initial state),
the user actions with their positions and times, its length and the
position it was at. Because the world is deterministic, replaying the
actions at their positions rebuilds the same trace, position and states; a
file no run could have made (actions out of time order, or beyond the end
of the events) is refused with the reason.
"""
from __future__ import annotations

import math

from . import state as state_rules
from .actions import is_int
from .budget import Budget, OverBudget
from .explain import ms
from .history import MAX_TIME
from .quote import quote, quote_names
from .world import us

FORMAT = "raftviz-history"
VERSION = 1
CONFIG_FIELDS = {"size", "seed", "election_timeout", "heartbeat_interval", "latency", "options",
                 "history_limit", "checkpoint_interval", "members"}


# A file's action sits beside its own position, "seq"; a client's sequence
# number (submit's "seq") is written "client_seq" there, and read back.
def _in_file(action: dict) -> dict:
    if "seq" not in action:
        return action
    out = dict(action)
    out["client_seq"] = out.pop("seq")
    return out


def _from_file(step: dict) -> dict:
    if "client_seq" in step:
        step["seq"] = step.pop("client_seq")
    return step


def export(cluster) -> dict:
    history = cluster._history
    return {
        "format": FORMAT, "version": VERSION,
        "config": cluster.config,
        "initial": state_rules.to_state(cluster._specs) if cluster._specs else None,
        "actions": [{"seq": seq, "time": ms(time), **_in_file(action)} for seq, (time, action) in history.actions.items()],
        "length": history.length,
        "position": {"seq": history.seq, "time": ms(history.world.now)},
    }


def _new_cluster(cls, data, keep: dict | None):
    """The cluster a history file starts from, its fields checked."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError("This is not a raftviz history (its \"format\" is not raftviz-history).")
    if data.get("version") != VERSION:
        raise ValueError(f"This history has version {quote(data.get('version'))}; this raftviz reads version {VERSION}.")
    config, initial = data.get("config"), data.get("initial")
    if not isinstance(config, dict):
        raise ValueError("The history has no config.")
    config = dict(config)
    if set(config) - CONFIG_FIELDS:
        raise ValueError(f"Unknown config fields: {quote_names(set(config) - CONFIG_FIELDS)}.")
    options = config.pop("options", None) or {}
    if not isinstance(options, dict):
        raise ValueError("The config's options must be an object.")
    size = config.pop("size", None)
    kwargs = {**config, **options}
    if keep is not None:
        kwargs.update(keep)
    if initial is None:
        return cls(size, **kwargs)
    cluster = cls.from_state(initial, **kwargs)
    if size is not None and size != len(cluster.nodes):
        raise ValueError("The config's size does not match the initial state.")
    return cluster


def replay(cls, data, *, budget: Budget | None = None, keep: dict | None = None):
    """Cluster.replay: a new `cls` cluster rebuilt from the history file `data`."""
    cluster = _new_cluster(cls, data, keep)
    history, world = cluster._history, cluster._world
    if budget is not None and not budget.watching:
        budget.watch(cluster.in_flight_count)
    steps, length, position = data.get("actions"), data.get("length"), data.get("position")
    if not isinstance(steps, list):
        raise ValueError("The history's actions must be a list.")
    if not is_int(length) or length < 0:
        raise ValueError("The history's length must be a whole number.")
    if not isinstance(position, dict) or not is_int(position.get("seq")) or not 0 <= position["seq"] <= length:
        raise ValueError("The history's position must give a seq between 0 and its length.")
    spend = budget.spend if budget is not None else (lambda events=1: None)

    def advance(to: int, why: str) -> None:
        while history.seq < to:
            spend()
            if history.advance() is None:
                raise ValueError(why)

    for k, step in enumerate(steps, 1):
        if not isinstance(step, dict):
            raise ValueError(f"Action {k} is not an object.")
        step = dict(step)
        seq, time = step.pop("seq", None), step.pop("time", None)
        step = _from_file(step)
        if not is_int(seq) or not history.seq < seq <= length:
            raise ValueError(f"Action {k} has a bad position (seq {quote(seq)}).")
        if isinstance(time, bool) or not isinstance(time, (int, float)) or not 0 <= time <= MAX_TIME:
            raise ValueError(f"Action {k} has no valid time.")
        advance(seq - 1, f"Action {k} comes after the end of the simulated events.")
        time = us(time)
        if time < world.now:
            raise ValueError(f"Action {k} is earlier than the events before it: the history is not in time order.")
        if world.due_before(time):
            # The run that made this history would have processed that event before the action.
            raise ValueError(f"Action {k} at {ms(time):g} ms comes after an event that was due before it, "
                             f"yet is recorded before that event: the history is not in time order.")
        world_now = world.now
        world.now = time
        try:
            spend()
            cluster.act(step)
        except ValueError as e:
            world.now = world_now
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
        if world.now <= us(time) <= later and not world.due_before(us(time)):
            world.now = us(time)
    return cluster
