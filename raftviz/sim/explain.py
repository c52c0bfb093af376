"""Trace records as the plain dicts the rest of the world sees.

The world stores a record as a compact tuple (time, kind, node, subject,
notes, sent); nothing is formatted while the cluster runs. record_dict()
builds the dict with its plain-language `text` only when someone reads it.
"""
from __future__ import annotations

from ..raft.notes import command_text, describe, name, names


def ms(time_us) -> float:
    """Virtual time (whole µs inside the world) as the ms everyone else sees."""
    return time_us / 1000


def entries_list(entries, first: int = 1) -> list[dict]:
    """Log entries as dicts, with their index."""
    return [{"index": k, "term": e.term, "command": e.command} for k, e in enumerate(entries, first)]


def message_dict(m) -> dict:
    """A message with its envelope: id, send and arrival times (ms)."""
    d = {"id": m.id, "sent": ms(m.sent), "arrives": ms(m.arrives)}
    d.update(m.to_dict())
    return d


def _groups(groups) -> str:
    return " | ".join("{" + names(g) + "}" for g in groups)


def _network(action) -> str:
    parts = []
    if action.get("loss") is not None:
        parts.append(f"message loss {action['loss']:.0%}")
    if action.get("latency") is not None:
        lo, hi = action["latency"]
        parts.append(f"latency {lo:g}–{hi:g} ms")
    return "Network settings change: " + ", ".join(parts) + "."


def _options(action) -> str:
    parts = []
    for key, value in action["options"].items():
        label = key.replace("_", " ")
        if isinstance(value, bool):
            state = "on" if value else "off"
            parts.append(f"{label} {state}" + (" (UNSAFE: breaks a rule of Figure 2)" if value and key.startswith("unsafe_") else ""))
        else:
            parts.append(f"{label} = {value}")
    return "Options change: " + "; ".join(parts) + "."


_ACTION_TEXT = {
    "crash": lambda a: (f"{name(a['node'])} crashes: it keeps its persistent state (term, vote, log) "
                        f"and loses everything else (role, commitIndex, state machine)."),
    "restart": lambda a: (f"{name(a['node'])} restarts as a follower with its saved term, vote and log; "
                          f"its commitIndex starts again at 0 and it re-applies entries as it learns what is committed."),
    "timeout": lambda a: f"{name(a['node'])}'s election timer is made to fire now.",
    "submit": lambda a: (f"A client sends “{command_text(a['command'])}” to "
                         f"{name(a['node']) if a.get('node') else 'the leader'}."),
    "drop": lambda a: f"Message #{a['message']} is dropped by hand.",
    "disconnect": lambda a: f"{name(a['node'])} is disconnected: no message reaches it or leaves it.",
    "connect": lambda a: f"{name(a['node'])} is connected to the network again.",
    "partition": lambda a: f"The network is partitioned: {_groups(a['groups'])}. Messages only travel within a group.",
    "heal": lambda a: "The network is healed: every link works again.",
    "cut": lambda a: f"The link {name(a['a'])}–{name(a['b'])} is cut.",
    "link": lambda a: f"The link {name(a['a'])}–{name(a['b'])} is restored.",
    "network": _network,
    "options": _options,
}


def _sim_note(me, note) -> str:
    code = note[0]
    if code == "dropped":
        m = note[1]
        return f"It was the {m.type} from {name(m.src)} to {name(m.dst)}; it never arrives."
    if code == "no_leader":
        return "There is no leader right now: nobody accepts the command."
    return describe(me, note)


def text(rec) -> str:
    time, kind, node, subject, notes, sent = rec
    if kind == "drop":
        m = subject
        return f"The {m.type} from {name(m.src)} to {name(m.dst)} is lost: {notes[0][1]}."
    sentences = [_sim_note(node, n) for n in notes]
    if kind == "action":
        sentences.insert(0, _ACTION_TEXT[subject["type"]](subject))
    return " ".join(sentences)


_MARKED = {"election", "leader"}            # note codes that are timeline marks of the same name


def marks(rec, violations) -> list[str]:
    kind, subject, notes = rec[1], rec[3], rec[4]
    out = []
    for n in notes:
        code = n[0]
        if code in _MARKED:
            out.append(code)
        elif code == "commit" and n[3] is not None:
            out.append("commit")
    if kind == "action":
        out.append("action")
        if subject["type"] in ("crash", "restart"):
            out.append(subject["type"])
    if violations:
        out.append("violation")
    return out


def record_dict(seq: int, rec, violations=None) -> dict:
    time, kind, node, subject, notes, sent = rec
    d = {"seq": seq, "time": ms(time), "kind": kind, "text": text(rec), "node": node}
    involved = {node} if node is not None else set()
    if kind in ("deliver", "drop"):
        d["message"] = message_dict(subject)
        involved.add(subject.src)
    elif kind == "action":
        d["action"] = dict(subject)
        if notes and notes[0][0] == "dropped":
            d["message"] = message_dict(notes[0][1])      # the message dropped by hand
        for key in ("a", "b"):
            if key in subject:
                involved.add(subject[key])
    if sent:
        d["sent"] = [message_dict(m) for m in sent]
    d["nodes"] = sorted(involved)
    d["notes"] = [n[0] for n in notes]          # what was decided, as codes (raft/notes.py)
    d["marks"] = marks(rec, violations)
    if violations:
        d["violations"] = violations
    return d
