"""The replicated state machine: a small key-value store.

    SET k v      stores v under k                     reply OK
    DEL k        removes k                            reply OK
    INCR k       adds one to the number under k       reply the new value
                 (absent counts as 0)                 (ERR not a number, and no change, if it is not one)
    APPEND k v   adds v to the end of the text        reply the new value

Any other command (and a leader's no-op entry, whose command is None)
changes nothing and has no reply. Commands are case-insensitive in their
keyword only: `set x 1` works, keys keep their case. INCR and APPEND make a
command applied twice show: INCR x retried leaves 2 where 1 was meant.

step() is the store's rule for one key; the linearizability checker uses the
same rule as its model, so the two can never disagree.
"""
from __future__ import annotations

WRITES = ("SET", "DEL", "INCR", "APPEND")
FORMS = {"SET": "a key and a value", "DEL": "one key", "INCR": "one key", "APPEND": "a key and a value"}
EXAMPLES = {"SET": "SET x 1", "DEL": "DEL x", "INCR": "INCR x", "APPEND": "APPEND x abc"}
NOT_A_NUMBER = "ERR not a number"


def parse(command: str | None) -> tuple[str, str, str | None] | None:
    """(keyword, key, argument) of a write this store knows, else None."""
    if not command:
        return None
    parts = command.split(None, 2)
    keyword = parts[0].upper()
    if keyword in ("SET", "APPEND") and len(parts) == 3:
        return keyword, parts[1], parts[2]
    if keyword in ("DEL", "INCR") and len(parts) == 2:
        return keyword, parts[1], None
    return None


def step(value: str | None, keyword: str, arg: str | None) -> tuple[str | None, str]:
    """One write on one key holding `value` (None: absent): (new value, reply)."""
    if keyword == "SET":
        return arg, "OK"
    if keyword == "DEL":
        return None, "OK"
    if keyword == "APPEND":
        new = (value or "") + arg
        return new, new
    # INCR
    try:
        new = str(int(value or "0") + 1)
    except ValueError:
        return value, NOT_A_NUMBER
    return new, new


def apply(store: dict, command: str | None) -> str | None:
    """Apply one command to the store; returns its reply (None: not a write)."""
    write = parse(command)
    if write is None:
        return None
    keyword, key, arg = write
    new, reply = step(store.get(key), keyword, arg)
    if new is None:
        store.pop(key, None)
    else:
        store[key] = new
    return reply
