"""The memory budget of one session (docs/protocol.md, "Limits"), and the
checks that keep a session inside it with a plain message.

With the session cap filled, the server's memory is about MAX_SESSIONS times
what one session may hold, so every way a session grows is bounded: the
history it keeps reachable, its total length (so that its export always
re-imports), the user actions it records, its logs and its key-value stores,
the messages its cluster has in flight, and the files it imports.
"""
from __future__ import annotations

from ..raft import LEADER
from .client_history import live_ops, running

HISTORY_LIMIT = 50_000           # records kept reachable (seek, step back); about 8-25 MB (below)
MAX_RECORDS = 1_000_000          # records in a session's history in all: playing pauses there
MAX_ACTIONS = 10_000             # user actions recorded in a session (an export holds them all)
MAX_LOG = 2_000                  # entries in a server's log (a full state then stays under about 5 MB)
MAX_STORE_KEYS = 1_000           # keys in a server's key-value store
MAX_IN_FLIGHT = 10_000           # messages in flight at once: every checkpoint holds them, so a session
                                 # with thousands in flight holds up to about 25 MB (a busy 9-server one: 8 MB)
MAX_CLIENT_OPS = 20_000          # client operations (requests) in a session's history
MAX_ACTION_BYTES = 16 * 1024     # one action, as JSON
MAX_IMPORT_BYTES = 4 * 1024 * 1024   # one history file, posted to /api/import

KEEP = {"history_limit": HISTORY_LIMIT, "checkpoint_interval": 1000}   # how the server keeps every history

FULL_HISTORY = (f"This cluster's history has reached {MAX_RECORDS:,} records, the most the server keeps for "
                f"one session. Save it (Save history), or start a new cluster.")


def check_initial(data: dict) -> None:
    """Refuse an imported initial state with logs past the budget."""
    initial = data.get("initial")
    nodes = initial.get("nodes") if isinstance(initial, dict) else None
    for node in nodes if isinstance(nodes, list) else []:
        log = node.get("log") if isinstance(node, dict) else None
        if isinstance(log, list) and len(log) > MAX_LOG:
            raise ValueError(f"That history starts with a log of {len(log):,} entries; the server keeps at most "
                             f"{MAX_LOG:,} per server.")


def check_action(cluster, action: dict) -> None:
    """Refuse an engine action that would take the session past its budget."""
    if cluster.recorded_actions >= MAX_ACTIONS:
        raise ValueError(f"This cluster has recorded {MAX_ACTIONS:,} actions, the most the server keeps for one "
                         f"session. Save it (Save history), or start a new cluster.")
    if len(cluster.trace) >= MAX_RECORDS:
        raise ValueError(FULL_HISTORY)
    if action.get("type") == "submit":
        _check_submit(cluster, action)
    if action.get("type") in ("read", "clients") or (action.get("type") == "submit" and "client" in action):
        if len(live_ops(cluster)) >= MAX_CLIENT_OPS:
            raise ValueError(_TOO_MANY_OPS)
    if action.get("type") == "clients":
        longest = max(cluster.nodes.values(), key=lambda n: len(n.log))
        if len(longest.log) >= MAX_LOG:
            raise ValueError(f"S{longest.id}'s log holds {MAX_LOG:,} entries, the most the server keeps: "
                             f"simulated clients would add more. Start a new cluster to go on.")


_TOO_MANY_OPS = (f"This cluster's clients have made {MAX_CLIENT_OPS:,} requests, the most the server keeps for "
                 f"one session. Stop the clients (Clients tab), or start a new cluster.")


def clients_full(cluster) -> str | None:
    """Simulated clients run and the session cannot take more of what they make:
    a log at MAX_LOG entries or MAX_CLIENT_OPS requests. Playing pauses there
    with this sentence; stopping the clients lets it go on."""
    if running(cluster) is None:
        return None
    if len(live_ops(cluster)) >= MAX_CLIENT_OPS:
        return _TOO_MANY_OPS
    for node in cluster.nodes.values():
        if len(node.log) >= MAX_LOG:
            return (f"Paused: S{node.id}'s log holds {MAX_LOG:,} entries, the most the server keeps for one "
                    f"session. Stop the clients (Clients tab) to go on, or start a new cluster.")
    return None


def _check_submit(cluster, action: dict) -> None:
    target = action.get("node")
    node = cluster.nodes.get(target if target is not None else cluster.leader())
    if node is None or not node.up or node.role != LEADER:
        return                           # nobody takes it: the log does not grow
    if len(node.log) >= MAX_LOG:
        raise ValueError(f"S{node.id}'s log holds {MAX_LOG:,} entries, the most the server keeps. "
                         f"Start a new cluster to go on.")
    command = action.get("command")
    parts = command.split(None, 2) if isinstance(command, str) else []
    if len(parts) == 3 and parts[0].upper() == "SET":
        keys = set(node.store)
        keys.update(e.command.split(None, 2)[1] for e in node.log[node.last_applied - node.snapshot_index:]
                    if e.command and e.command[:4].upper() == "SET " and len(e.command.split(None, 2)) == 3)
        if parts[1] not in keys and len(keys) >= MAX_STORE_KEYS:
            raise ValueError(f"S{node.id}'s key-value store would hold more than {MAX_STORE_KEYS:,} keys, the "
                             f"most the server keeps. Set a key it already has, or DEL some.")
