"""Trace records as the plain dicts the rest of the world sees.

The world stores a record as a compact named tuple (records.Record: time,
kind, node, subject, notes, sent); nothing is formatted while the cluster runs. record_dict()
builds the dict with its plain-language `text` only when someone reads it.
"""
from __future__ import annotations

from ..raft.messages import entry_dict
from ..raft.notes import describe, name
from .actions import REGISTRY


def ms(time_us) -> float:
    """Virtual time (whole µs inside the world) as the ms everyone else sees."""
    return time_us / 1000


def entries_list(entries, first: int = 1) -> list[dict]:
    """Log entries as dicts, with their index."""
    return [entry_dict(k, e) for k, e in enumerate(entries, first)]


def message_dict(m) -> dict:
    """A message with its envelope: id, send and arrival times (ms)."""
    d = {"id": m.id, "sent": ms(m.sent), "arrives": ms(m.arrives)}
    d.update(m.to_dict())
    return d


def _sim_note(me, note) -> str:
    code = note.code
    if code == "dropped":
        m = note.message
        return f"It was the {m.type} from {name(m.src)} to {name(m.dst)}; it never arrives."
    if code == "no_leader":
        return "There is no leader right now: nobody accepts the request."
    if code == "no_answer":
        return (f"{name(note.server)} is down: the request gets no answer, and the client must try another "
                f"server.")
    if code == "requests_lost":
        ids = ", ".join(str(r) for r in note.requests)
        many = len(note.requests) > 1
        return (f"{name(note.server)} is no longer the leader: request{'s' if many else ''} {ids} waiting at it "
                f"will get no answer from it, and {'their clients' if many else 'its client'} must retry elsewhere "
                f"(a command may still be committed by the next leader: its outcome is unknown).")
    if code == "added":
        return (f"It is {name(note.node)}, with an empty log. It knows no configuration, so it starts no "
                f"election: it waits until a leader adds it.")
    return describe(me, note)


def request_text(op: dict) -> str:
    """What a simulated client does at one of its turns."""
    who = f"Client {op['client']}"
    what = f"“{op['command']}”" if op["kind"] == "write" else f"a read of {op['key']}"
    if op.get("note") == "gave_up":
        return (f"{who} gives up request {op['id']} ({what}) after {op['attempts']} attempts: it cannot know "
                f"whether it took effect.")
    again = f", attempt {op['attempts']}" if op["attempts"] > 1 else ""
    return f"{who} sends {what} to {name(op['server'])} (request {op['id']}{again})."


def text(rec) -> str:
    kind, node, subject, notes = rec.kind, rec.node, rec.subject, rec.notes
    if kind == "drop":
        m = subject
        return f"The {m.type} from {name(m.src)} to {name(m.dst)} is lost: {notes[0].why}."
    sentences = [_sim_note(node, n) for n in notes]
    if kind == "client":
        sentences.insert(0, request_text(subject))
    if kind == "action":
        sentences.insert(0, REGISTRY[subject["type"]].text(subject))
    return " ".join(sentences)


_MARKED = {"election", "leader"}            # note codes that are timeline marks of the same name


def marks(rec, violations) -> list[str]:
    kind, subject = rec.kind, rec.subject
    out = []
    for n in rec.notes:
        code = n.code
        if code in _MARKED:
            out.append(code)
        elif code == "commit" and n.holders is not None:        # a leader's own decision
            out.append("commit")
    if kind == "action":
        out.append("action")
        if subject["type"] in ("crash", "restart"):
            out.append(subject["type"])
    if violations:
        out.append("violation")
    return out


def record_dict(seq: int, rec, violations=None) -> dict:
    time, kind, node, subject, notes, sent = rec.time, rec.kind, rec.node, rec.subject, rec.notes, rec.sent
    d = {"seq": seq, "time": ms(time), "kind": kind, "text": text(rec), "node": node}
    involved = {node} if node is not None else set()
    if kind in ("deliver", "drop"):
        d["message"] = message_dict(subject)
        involved.add(subject.src)
    elif kind == "client":
        d["request"] = {k: subject[k] for k in ("id", "client", "seq", "kind", "key", "command", "attempts")}
    elif kind == "action":
        d["action"] = dict(subject)
        if notes and notes[0].code == "dropped":
            d["message"] = message_dict(notes[0].message)      # the message dropped by hand
        for key in ("a", "b"):
            if key in subject:
                involved.add(subject[key])
    if sent:
        d["sent"] = [message_dict(m) for m in sent]
    d["nodes"] = sorted(involved)
    d["notes"] = [n.code for n in notes]          # what was decided, as codes (raft/notes.py)
    d["marks"] = marks(rec, violations)
    if violations:
        d["violations"] = violations
    return d
