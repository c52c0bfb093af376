"""Scenarios in a session: load one, step through it with narration, and
save a session as a scenario file to edit.

Next runs the step in the engine (so its checks are known at once), then
rewinds to where the step began and lets the scheduler play the recorded
events at the session's speed, pausing where the step ends: the class sees
the messages of the step move. Pressing Next while a step still plays
jumps to its end first.
"""
from __future__ import annotations

import dataclasses
import datetime
import itertools
import json

import yaml

from .. import scenarios
from ..scenarios.format import MAX_FILE_BYTES, MAX_FOR
from ..sim.actions import REGISTRY
from ..sim.budget import Budget
from . import limits
from .sessions import PAUSED, PLAYING, Session


def _paused_on_script(session: Session) -> None:
    """Show the scenario's cluster where the script stands, still."""
    session.cluster = session.scenario.cluster
    session.stop_at = None
    session.set_mode(PAUSED)


def load(session: Session, name: str) -> None:
    # The scenario's cluster keeps its history as the server keeps every session's (limits.KEEP):
    # the runner replays the script when a step's start is no longer kept.
    spec = session.library.spec(name)
    session.scenario = scenarios.Scenario(dataclasses.replace(spec, cluster={**spec.cluster, **limits.KEEP}))
    _paused_on_script(session)


def finish_playing(session: Session) -> None:
    """Jump to the end of a step that is still being played."""
    if session.stop_at is not None:
        session.cluster.seek(session.stop_at)
        session.stop_at = None
        session.set_mode(PAUSED)


def next_step(session: Session, budget: Budget | None = None) -> dict:
    sc = session.scenario
    if session.stop_at is not None:
        finish_playing(session)
        return {"ok": True, "step": sc.index, "finished": True}
    if sc.done:
        if not sc.on_script(session.cluster):
            sc.return_to_script(budget)
            _paused_on_script(session)
            return {"ok": True, "step": sc.index, "returned": True}
        raise ValueError("This scenario has no more steps. Press Restart to play it again.")
    found = sc.next(budget)
    session.cluster = sc.cluster
    start, end = sc.last_start, sc.cluster.seq
    if end > start:
        # Play the step's events on screen, from its start or, for a step longer than the
        # history kept, from the oldest record kept.
        session.cluster.seek(max(start, session.cluster.oldest))
        session.stop_at = end
        session.set_mode(PLAYING)
    else:
        session.set_mode(PAUSED)
    return {"ok": True, "step": sc.index, "failures": found}


def back(session: Session, budget: Budget | None = None) -> dict:
    session.scenario.prev(budget)
    _paused_on_script(session)
    return {"ok": True, "step": session.scenario.index}


def restart(session: Session, budget: Budget | None = None) -> dict:
    session.scenario.restart(budget)
    _paused_on_script(session)
    return {"ok": True, "step": 0}


def close(session: Session) -> dict:
    session.scenario = None
    session.stop_at = None
    return {"ok": True}


# ----- saving a session as a scenario ----------------------------------------------------

# PyYAML's C emitter when it is built with libyaml (same text, faster), else its Python one.
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
_BATCH = 50                      # steps written at once, between two looks at the budget


def _dump(value) -> str:
    return yaml.dump(value, Dumper=_DUMPER, sort_keys=False, allow_unicode=True, width=100)


def _too_long(what: str) -> ValueError:
    return ValueError(f"This session is too long to save as a scenario: {what} more than a scenario file may hold "
                      f"({MAX_FILE_BYTES // 1024} KB). Save history keeps all of it; a scenario is best made of "
                      f"a few moments.")


def save(session: Session, budget: Budget | None = None) -> dict:
    """The session so far as a scenario file skeleton: its cluster and
    initial state, then one step per moment the user acted. The file is
    written a few steps at a time (spending `budget`, which pauses for other
    clients) and refused past what a scenario file may hold, so a session of
    thousands of actions or of a long idle clock costs a bounded effort."""
    c = session.cluster
    data = c.export()
    config = data["config"]
    doc = {
        "id": "my-scenario",
        "title": "My scenario",
        "lecture": "My scenarios",
        "source": f"Saved from raftviz on {datetime.date.today().isoformat()}",
        "summary": "Say here what this scenario shows.",
        "cluster": {"seed": config["seed"], "election_timeout": config["election_timeout"],
                    "heartbeat_interval": config["heartbeat_interval"], "latency": config["latency"],
                    "options": {k: v for k, v in config["options"].items()}},
    }
    if config.get("members") is not None:       # some servers started outside the configuration
        doc["cluster"]["members"] = list(config["members"])
    if data["initial"]:
        if len(json.dumps(data["initial"])) > MAX_FILE_BYTES:
            raise _too_long("its initial state alone is")
        doc["initial"] = data["initial"]
    else:
        doc["cluster"]["size"] = config["size"]
    by_time: list[tuple[float, list]] = []
    for step in data["actions"]:
        if step["seq"] > c.seq:
            break
        recorded = {k: v for k, v in step.items() if k not in ("seq", "time")}
        action = REGISTRY[recorded["type"]].to_file(recorded, c.dropped(step["seq"]))
        if by_time and by_time[-1][0] == step["time"]:
            by_time[-1][1].append(action)
        else:
            by_time.append((step["time"], [action]))
        if budget is not None:
            budget.spend()
    end = c.now

    def wait(step: dict, duration: float):
        """`step`, then steps letting `duration` ms pass at its end, in steps a file may hold."""
        while True:
            chunk = min(duration, MAX_FOR)
            if chunk > 0:
                step["until"] = {"for": round(chunk, 3)}
            duration -= chunk
            yield step
            if duration <= 0:
                return
            step = {"caption": "Time passes."}

    def steps():
        count = 0
        if not by_time or by_time[0][0] > 0:
            for step in wait({"caption": "The cluster runs by itself."}, by_time[0][0] if by_time else end):
                count += 1
                yield step
        for k, (time, acts) in enumerate(by_time):
            step = {"caption": f"Describe what happens here (step {count + 1}).", "actions": acts}
            for step in wait(step, (by_time[k + 1][0] if k + 1 < len(by_time) else end) - time):
                count += 1
                yield step

    parts = [_dump(doc), "steps:\n"]
    size = sum(len(p.encode()) for p in parts)
    if size > MAX_FILE_BYTES:
        raise _too_long("its initial state alone is")
    batch: list[dict] = []
    for step in itertools.chain(steps(), [None]):
        if step is not None:
            batch.append(step)
        if len(batch) == _BATCH or (step is None and batch):
            text = _dump(batch)              # a list at the top level reads as it would under steps:
            size += len(text.encode())
            if size > MAX_FILE_BYTES:
                raise _too_long("its actions and waits are")
            parts.append(text)
            if budget is not None:
                budget.spend(len(batch))
            batch = []
    return {"ok": True, "filename": "my-scenario.yaml", "yaml": "".join(parts)}
