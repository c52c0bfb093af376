"""Is a client history linearizable for the key-value store?

A history is a list of client operations, each a dict:

    {"client": 2, "seq": 5, "kind": "read" | "write", "key": "x",
     "op": "SET" | "INCR" | "APPEND" | "DEL"    (writes; SET when absent)
     "value": "3"            (what a SET or APPEND writes),
     "result": "3" or None   (what a read saw, or a write's reply; None: absent or unknown),
     "invoked": 120.0, "returned": 150.5 or None (virtual ms), "status": "ok" | "pending" | "failed"}

It is linearizable if every operation can be given one instant between its
invocation and its response such that, taken in the order of those
instants, each operation is legal for a sequential key-value store: a read
sees the latest value written before it, a write's reply is what the store
would answer (Herlihy and Wing, 1990).

An operation without a definite outcome (pending, or failed by a timeout:
the client cannot know whether it took effect) has no response: it may take
effect at any instant after its invocation, or never. Giving it a response
at infinity says exactly that, since an operation placed after every other
one changes nothing anyone saw. Reads without an answer constrain nothing
and are left out.

The search is Wing and Gong's (1993) with Lowe's improvements (2017), as
Porcupine implements it: operations on different keys are checked apart
(linearizability is local); within one key, walk the calls and returns in
time order, linearize a call whenever the model allows it, backtrack when a
return is reached whose call is not yet linearized, and remember every
(set of linearized operations, state) already explored, so no state is
explored twice.
"""
from __future__ import annotations

from bisect import bisect_left
from typing import NamedTuple

from ..raft import kv

INFINITY = float("inf")


# ----- the sequential model: one key of the store ---------------------------------

def step(value: str | None, op: dict) -> tuple[bool, str | None]:
    """(legal, new value) for `op` applied to a key holding `value` (None:
    absent): the store's own rule (kv.step). A write's reply, when known,
    must be the one the store gives at that point."""
    if op["kind"] == "read":
        return op.get("result") == value, value
    keyword = op.get("op") or "SET"
    if keyword not in kv.WRITES:
        raise ValueError(f"Unknown write {keyword!r}: the store knows {', '.join(kv.WRITES)}.")
    new, reply = kv.step(value, keyword, op.get("value"))
    if op.get("result") is not None and op["result"] != reply:
        return False, value
    return True, new


# ----- the search ---------------------------------------------------------------------

class _Entry:
    """One call or return in the doubly linked list of events."""
    __slots__ = ("op", "is_call", "match", "prev", "next")

    def __init__(self, op: int, is_call: bool):
        self.op, self.is_call = op, is_call
        self.match = self.prev = self.next = None


def _events(ops: list[dict]) -> _Entry:
    """The calls and returns in time order, linked; returns the head sentinel.
    At one instant calls come before returns: operations that touch in time
    overlap, and may be ordered either way."""
    points = []
    for k, op in enumerate(ops):
        ret = op["returned"] if op["returned"] is not None else INFINITY
        points.append((op["invoked"], 0, k))
        points.append((ret, 1, k))
    points.sort()
    head = _Entry(-1, False)
    calls: dict[int, _Entry] = {}
    last = head
    for _, is_return, k in points:
        e = _Entry(k, not is_return)
        if is_return:
            e.match = calls[k]
            calls[k].match = e
        else:
            calls[k] = e
        last.next, e.prev = e, last
        last = e
    return head


def _lift(call: _Entry) -> None:
    """Take a call and its return out of the list."""
    for e in (call, call.match):
        e.prev.next = e.next
        if e.next is not None:
            e.next.prev = e.prev


def _unlift(call: _Entry) -> None:
    for e in (call.match, call):
        e.prev.next = e
        if e.next is not None:
            e.next.prev = e


def _linearizable(ops: list[dict], initial=None, reach: list | None = None) -> bool:
    """Wing–Gong–Lowe on the operations of one key. `reach`, if given, gets
    the latest time of a return the search was stopped at: every cut of the
    history before it is linearizable (some order got that far)."""
    if not ops:
        return True
    head = _events(ops)
    seen: set = set()
    stack: list = []
    state, done = initial, 0
    entry = head.next
    while head.next is not None:
        if entry.is_call:
            legal, new = step(state, ops[entry.op])
            if legal:
                key = (done | (1 << entry.op), new)
                if key not in seen:
                    seen.add(key)
                    stack.append((entry, state))
                    state, done = new, key[0]
                    _lift(entry)
                    entry = head.next
                    continue
            entry = entry.next
        else:
            # A return whose call is still waiting: this order cannot be
            # completed. Undo the last choice and try the next call after it.
            if reach is not None:
                t = ops[entry.op]["returned"]
                if t is not None and t > reach[0]:
                    reach[0] = t
            if not stack:
                return False
            call, state = stack.pop()
            done &= ~(1 << call.op)
            _unlift(call)
            entry = call.next
    return True


# ----- the whole check -----------------------------------------------------------------

class Verdict(NamedTuple):
    ok: bool
    explanation: str | None
    operations: list


def _usable(op: dict) -> bool:
    """Operations that say something: not reads without an answer, nor
    commands the store does not know (they change nothing: no key)."""
    if op["key"] is None:
        return False
    if op["kind"] == "read":
        return op["status"] == "ok" and op["returned"] is not None
    # A write that failed without ever reaching a leader's log (refused, or
    # sent to a server that was down) certainly did not take effect.
    return not (op["status"] == "failed" and op.get("appended") is False)


def _definite(op: dict) -> dict:
    """The operation as the search sees it: without a definite outcome, it has no response."""
    if op["status"] == "ok" and op["returned"] is not None:
        return op
    return {**op, "returned": None, "result": None}


def initial_write(key, value) -> dict:
    """The value a key held before any operation, as a write that was over before anything began."""
    return {"id": None, "client": None, "seq": None, "kind": "write", "op": "SET", "key": key, "value": value,
            "command": None, "result": None, "invoked": -INFINITY, "returned": -INFINITY, "status": "ok",
            "initial": True}


def _unseen(op: dict, observed: list[str]) -> bool:
    """An operation of unknown outcome that nobody could have seen: a SET or
    APPEND whose text is in no answer. It can always take effect last, after
    everything else, or never, so the search may leave it out; that keeps
    many such operations (a partition's timed-out writes) from making the
    search exponential."""
    if op["status"] == "ok" or op["kind"] != "write" or (op.get("op") or "SET") not in ("SET", "APPEND"):
        return False
    text = op.get("value")
    return text is not None and not any(text in seen for seen in observed)


def check(history: list[dict], keys=None, minimize_limit: int = 60, initial: dict | None = None) -> dict:
    """{"ok", "explanation", "operations"} for the history (see the module's
    docstring); `keys` limits the check to those keys; `initial` gives the
    values keys held before the first operation (absent otherwise). When it
    is not linearizable, `operations` is a smallest set of operations (none
    can be left out) that is already not linearizable, and the explanation
    says what in it no order allows."""
    if isinstance(keys, str):
        keys = [keys]
    elif keys is not None and not isinstance(keys, (list, tuple, set, frozenset)):
        raise ValueError("keys is a list of keys, such as [\"x\", \"y\"] (or one key, or None for all).")
    by_key: dict = {}
    for k, op in enumerate(history):
        if (keys is None or op["key"] in keys) and _usable(op):
            by_key.setdefault(op["key"], []).append({**_definite(op), "_at": k})
    for key in sorted(by_key, key=str):
        ops = by_key[key]
        observed = [str(op["result"]) for op in ops if op["status"] == "ok" and op.get("result") is not None]
        if not any(op.get("op") == "INCR" and op.get("result") == kv.NOT_A_NUMBER for op in ops):
            ops = [op for op in ops if not _unseen(op, observed)]
        if initial and initial.get(key) is not None:
            ops.append({**initial_write(key, initial[key]), "_at": None})
        ops = sorted(ops, key=lambda o: (o["invoked"], o["_at"] if o["_at"] is not None else -1))
        reach = [-INFINITY]
        if not _linearizable(ops, reach=reach):
            culprit, window = _first_failure(ops, reach[0])
            # Say it with the operations as they were given, not as the search cut them.
            given = lambda op: history[op["_at"]] if op["_at"] is not None else initial_write(key, initial[key])
            involved = [given(op) for op in _minimize(window, culprit, minimize_limit)]
            culprit = given(culprit)
            return Verdict(False, explain(involved, culprit), involved)._asdict()
    return Verdict(True, None, [])._asdict()


def _cut(ops: list[dict], at: float) -> list[dict]:
    """The history as it stood at time `at`: what was invoked by then, and
    what had not answered by then as not answered yet."""
    out = []
    for op in ops:
        if op["invoked"] > at:
            continue
        if op["returned"] is not None and op["returned"] > at:
            if op["kind"] == "read":
                continue                    # a read not answered yet says nothing
            op = {**op, "returned": None, "result": None}
        out.append(op)
    return out


def _first_failure(ops: list[dict], floor: float = -INFINITY) -> tuple[dict, list[dict]]:
    """The operation whose answer first makes the history non-linearizable,
    and the history as it stood at that answer: a search over the answers
    (once a history is not linearizable, no later one is). Answers before
    `floor` need no look (see _linearizable's reach); the failure is most
    often right there, so the search gallops up from it, then halves."""
    answered = sorted((op for op in ops if op["returned"] is not None), key=lambda o: o["returned"])
    lo, hi = bisect_left([op["returned"] for op in answered], floor), len(answered) - 1
    lo = min(lo, hi)
    probe, jump = lo, 1
    while probe < hi:                         # failing checks cost the most: try few
        if not _linearizable(_cut(ops, answered[probe]["returned"])):
            hi = probe
            break
        lo = probe + 1
        probe, jump = min(hi, probe + jump), jump * 2
    while lo < hi:
        mid = (lo + hi) // 2
        if _linearizable(_cut(ops, answered[mid]["returned"])):
            lo = mid + 1
        else:
            hi = mid
    culprit = answered[lo]
    return culprit, _cut(ops, culprit["returned"])


def _needed(op: dict, ops: list[dict]) -> bool:
    """Must `op` stay for the others to make sense? A write whose value some
    read saw, and every INCR or APPEND while another saw their answers:
    without them a read would see a value nobody wrote, which proves nothing."""
    if op["kind"] == "read":
        return False
    kind = op.get("op") or "SET"
    if kind in ("INCR", "APPEND"):
        return True
    return any(o["kind"] == "read" and o.get("result") is not None and o["result"] == op.get("value")
               for o in ops if o is not op)


def _minimize(window: list[dict], culprit: dict, limit: int) -> list[dict]:
    """Leave out, one at a time, every operation without which the window is
    still not linearizable (reads first, then writes no read depends on).
    The culprit stays. Past `limit` operations only the `limit` nearest in
    time to the culprit are tried, if they alone are not linearizable."""
    ops = sorted(window, key=lambda o: o["invoked"])
    if len(ops) > limit:
        nearest = sorted(ops, key=lambda o: abs(o["invoked"] - culprit["invoked"]))[:limit]
        near = [o for o in ops if any(o is n for n in nearest) or o is culprit or _needed(o, [culprit])]
        if not _linearizable(near):
            ops = near
    for kind in ("read", "write"):
        k = 0
        while k < len(ops):
            op = ops[k]
            if op is not culprit and op["kind"] == kind and not _needed(op, ops):
                rest = ops[:k] + ops[k + 1:]
                if not _linearizable(rest):
                    ops = rest
                    continue
            k += 1
    return ops


# ----- words ------------------------------------------------------------------------------

def _ms(t) -> str:
    return f"{t:g} ms"


def describe(op: dict, reply: bool = True) -> str:
    """client 2's read of x (120–150.5 ms) saw “3”; client 1's INCR x (0–10 ms) was answered “1”."""
    if op.get("initial"):
        return f"the initial state, where {op['key']} held “{op['value']}”"
    who = f"client {op['client']}" if op.get("client") is not None else "an anonymous client"
    where = f" at S{op['server']}" if op.get("server") is not None else ""
    span = (f"{_ms(op['invoked'])}–{_ms(op['returned'])}" if op["returned"] is not None
            else f"from {_ms(op['invoked'])}, outcome unknown")
    if op["kind"] == "read":
        seen = "nothing" if op.get("result") is None else f"“{op['result']}”"
        return f"{who}'s read of {op['key']}{where} ({span}) saw {seen}"
    kind = op.get("op") or "SET"
    what = {"SET": f"SET {op['key']} {op.get('value')}", "DEL": f"DEL {op['key']}",
            "APPEND": f"APPEND {op['key']} {op.get('value')}", "INCR": f"INCR {op['key']}"}[kind]
    if reply and op.get("result") is not None and kind in ("INCR", "APPEND"):
        return f"{who}'s {what} ({span}) was answered “{op['result']}”"
    return f"{who}'s {what} ({span})"


def _writes(op: dict, value) -> bool:
    """Does write `op` leave the key holding `value` (as far as can be told)?"""
    kind = op.get("op") or "SET"
    if kind == "SET":
        return op.get("value") == value
    if kind == "DEL":
        return value is None
    return op.get("result") == value          # INCR and APPEND answer the new value


def explain(involved: list[dict], culprit: dict) -> str:
    """Why these operations have no legal order, in a few sentences."""
    others = [op for op in involved if op is not culprit]
    first = describe(culprit)
    text = first[0].upper() + first[1:] + "."
    before = [op for op in others if op["kind"] == "write" and op["returned"] is not None
              and op["returned"] < culprit["invoked"] and not op.get("initial")]
    if culprit["kind"] == "read" and before:
        last = max(before, key=lambda o: o["returned"])
        if not _writes(last, culprit.get("result")):
            text += (f" But {describe(last, reply=False)} was answered before that read began, so the read must see "
                     f"its effect or a later one.")
    if others:
        text += " The operations involved: " + "; ".join(describe(op) for op in others) + "."
    text += (" No order of these operations that puts each one between its call and its answer gives every "
             "operation the answer it got: the history is not linearizable.")
    return text
