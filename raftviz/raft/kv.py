"""The replicated state machine: a small key-value store.

`SET k v` stores v under k, `DEL k` removes k; any other command (and a
leader's no-op entry, whose command is None) changes nothing. Commands are
case-insensitive in their keyword only: `set x 1` works, keys keep their case.
"""
from __future__ import annotations


def apply(store: dict, command: str | None) -> None:
    if not command:
        return
    parts = command.split(None, 2)
    keyword = parts[0].upper()
    if keyword == "SET" and len(parts) == 3:
        store[parts[1]] = parts[2]
    elif keyword == "DEL" and len(parts) == 2:
        store.pop(parts[1], None)
