"""Importing a saved history into a session (POST /api/import).

The file is checked for size and shape first, then replayed into a new
cluster beside the session's, under a budget that pauses for other clients;
only a history that replays completely replaces the session's cluster, so a
refused import loses nothing.
"""
from __future__ import annotations

import json

from ..sim import Cluster
from ..sim.budget import OverBudget
from . import lecture, limits
from .sessions import PAUSED, Session
from .work import IMPORT_BUDGET, Work


class ImportRefused(ValueError):
    """The history cannot be imported; the message says why, for the user."""


def parse(body: bytes) -> dict:
    """The posted file as a history object, or ImportRefused."""
    if len(body) > limits.MAX_IMPORT_BYTES:
        raise ImportRefused(too_large(len(body)))
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        raise ImportRefused("That file is not a raftviz history: it is not JSON.") from None
    if not isinstance(data, dict):
        raise ImportRefused("That file is not a raftviz history: it is not a JSON object.")
    return data


def too_large(size: int | None) -> str:
    got = f" (this one has {size / 2**20:.1f} MB)" if size else ""
    return f"A history file can be at most {limits.MAX_IMPORT_BYTES // 2**20} MB{got}."


def run(session: Session, data: dict, work: Work) -> dict:
    """Replace the session's cluster by the imported history (the caller holds
    the session's lock); returns the acknowledgement."""
    length, actions = data.get("length"), data.get("actions")
    if isinstance(length, int) and length > limits.MAX_RECORDS:
        raise ImportRefused(f"That history has {length:,} records; this server imports at most "
                            f"{limits.MAX_RECORDS:,}.")
    if isinstance(actions, list) and len(actions) > limits.MAX_ACTIONS:
        raise ImportRefused(f"That history has {len(actions):,} actions; this server imports at most "
                            f"{limits.MAX_ACTIONS:,}.")
    try:
        limits.check_initial(data)
    except ValueError as e:
        raise ImportRefused(str(e)) from None
    # How much history to keep, and how often to checkpoint it, is the server's business.
    config = data.get("config")
    if isinstance(config, dict):
        config = {k: v for k, v in config.items() if k not in limits.KEEP}
        if isinstance(config.get("options"), dict):
            config["options"] = {k: v for k, v in config["options"].items() if k not in limits.KEEP}
        data = dict(data, config=config)
    budget = work.budget("Importing this history", IMPORT_BUDGET)
    try:
        cluster = Cluster.replay(data, budget=budget, keep=limits.KEEP)
    except OverBudget as e:
        raise ImportRefused(f"{e} Nothing was changed.") from None
    except (ValueError, TypeError, ArithmeticError, RecursionError) as e:
        raise ImportRefused(f"That history cannot be imported: {e}") from None
    session.cluster = cluster
    lecture.close(session)
    session.set_mode(PAUSED)
    return {"ok": True, "seq": cluster.seq, "length": len(cluster.trace)}
