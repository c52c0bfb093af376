"""The simulator's named records: what the trace and the checkpoints hold.

NamedTuples rather than dataclasses: a Record is made for every event, and
tuples are made and stored fastest, yet every field is read by name.
"""
from __future__ import annotations

from typing import NamedTuple

from ..raft.notes import note_type


class Record(NamedTuple):
    """One line of the trace: an event or a user action."""
    time: int                # µs of virtual time
    kind: str                # "deliver", "drop", "timeout", "heartbeat", "action" or "client"
    node: int | None         # the server it happened at (None: an action on the network)
    subject: object          # the message delivered or dropped, the action dict, or a client's request
    notes: list              # what was decided and why (raft/notes.py and the notes below)
    sent: tuple              # the messages sent in answer


# Notes of the simulator itself, beside the Node's own (raft/notes.py).
Lost = note_type("Lost", "lost", "why")                  # a message did not arrive: why, in words
Dropped = note_type("Dropped", "dropped", "message")     # a message dropped by hand
NoLeader = note_type("NoLeader", "no_leader", "")        # a command found no leader to take it
Added = note_type("Added", "added", "node")               # add_server: the new server's id
NoAnswer = note_type("NoAnswer", "no_answer", "server")   # a request sent to a server that is down
RequestsLost = note_type("RequestsLost", "requests_lost", "server requests")   # a leader lost what waited at it


class Checkpoint(NamedTuple):
    """Everything World.load needs to continue exactly from one moment."""
    now: int
    order: int
    next_message_id: int
    rng: tuple
    queue: list
    network: tuple
    options: object
    nodes: dict              # id -> raft.node.SavedNode (logs frozen, see frozen.py)
    deadline: list
    timer_token: list
    timer_entry: list
    heartbeat_due: list
    heartbeat_token: list
    monitor: tuple
    clients: tuple           # clients.Clients.save()
