"""What a scenario step waits for (`until`) and what it claims (`expect`).

State checks (leader, roles, terms, logs, commit, configurations) serve
both, and so does `happened`: which servers made a given decision during the
step (a note code of the trace, e.g. ignore_vote), and the client checks:
claims about requests (`history`) and the linearizability checker's verdict
(`linearizable`). `expect` can also look at
the history: who led each term, the safety violations so far, how many
AppendEntries each server rejected, and why voters refused a candidate
during the step. Each failed check is a sentence.
"""
from __future__ import annotations

from ..raft.config import Config

STATE_KEYS = ("leader", "roles", "terms", "logs", "commit", "match_index", "next_index", "config", "snapshot")


def role_of(node) -> str:
    return node.role if node.up else "down"


def log_matches(log, expected: list) -> bool:
    if len(log) != len(expected):
        return False
    for entry, want in zip(log, expected):
        if isinstance(want, dict):
            if entry.term != want["term"] or ("command" in want and want["command"] is not None
                                              and entry.command != want["command"]):
                return False
        elif entry.term != want:
            return False
    return True


def terms_of(log) -> list[int]:
    return [e.term for e in log]


def state_failures(c, checks: dict) -> list[str]:
    out = []
    if "leader" in checks:
        want, got = checks["leader"], c.leader()
        if want == "none" and got is not None:
            out.append(f"there should be no leader, but S{got} leads term {c.nodes[got].term}")
        elif want == "any" and got is None:
            out.append("there should be a leader, but there is none")
        elif isinstance(want, int) and got != want:
            out.append(f"S{want} should be the leader, but {'S%d is' % got if got else 'there is no leader'}")
    for i, want in checks.get("roles", {}).items():
        got = role_of(c.nodes[i])
        if got != want:
            out.append(f"S{i} should be {want}, but it is {got}")
    for i, want in checks.get("terms", {}).items():
        if c.nodes[i].term != want:
            out.append(f"S{i} should be in term {want}, but it is in term {c.nodes[i].term}")
    for i, want in checks.get("logs", {}).items():
        if not log_matches(c.nodes[i].log, want):
            shown = [w["term"] if isinstance(w, dict) else w for w in want]
            out.append(f"S{i}'s log should be {shown}, but it is {terms_of(c.nodes[i].log)}")
    for i, want in checks.get("commit", {}).items():
        if c.nodes[i].commit_index != want:
            out.append(f"S{i}'s commitIndex should be {want}, but it is {c.nodes[i].commit_index}")
    for key, label in (("match_index", "matchIndex"), ("next_index", "nextIndex")):
        for i, peers in checks.get(key, {}).items():
            node = c.nodes[i]
            seen = getattr(node, key) if node.up and node.role == "leader" else {}
            for peer, want in peers.items():
                if seen.get(peer) != want:
                    got = seen.get(peer, "unknown (not a leader)")
                    out.append(f"S{i}'s {label} for S{peer} should be {want}, but it is {got}")
    for i, want in checks.get("config", {}).items():
        got = c.nodes[i].config
        if got != want:
            out.append(f"S{i} should use {config_words(want)}, but it uses {config_words(got)}")
    for i, want in checks.get("snapshot", {}).items():
        out += snapshot_failures(i, c.nodes[i], want)
    return out


def client_failures(c, checks: dict) -> list[str]:
    """The claims about the clients' requests and the checker's verdict."""
    out = []
    if "history" in checks:
        ops = {op["id"]: op for op in c.history()}
        for want in checks["history"]:
            rid = want["id"]
            got = ops.get(rid)
            if got is None:
                have = f"requests 1–{len(ops)}" if len(ops) > 1 else "request 1" if ops else "no request"
                out.append(f"there should be a request {rid}, but the history has {have}")
                continue
            for field, value in want.items():
                if field != "id" and got[field] != value:
                    out.append(f"request {rid}'s {field} should be {shown(field, value)}, "
                               f"but it is {shown(field, got[field])}")
    if "linearizable" in checks:
        verdict = linearizable_verdict(c)
        if checks["linearizable"] and not verdict["ok"]:
            out.append(f"the history should be linearizable, but it is not: {verdict['explanation']}")
        elif not checks["linearizable"] and verdict["ok"]:
            out.append("the history should not be linearizable, but some order of its operations gives each "
                       "the answer it got")
    return out


_verdicts: dict = {}      # one entry: the history last checked, and the checker's verdict on it


def linearizable_verdict(c) -> dict:
    """The checker's verdict on the cluster's history. An `until` asks after
    every event, and most events change no request, so the verdict of the
    history last checked is kept (it depends on nothing else)."""
    key = tuple(tuple(op.values()) for op in c.history())
    if key not in _verdicts:
        _verdicts.clear()
        _verdicts[key] = c.check_linearizable()
    return _verdicts[key]


def shown(field: str, value) -> str:
    """A request's field in a sentence: a value the store holds quoted (“1”,
    or nothing), a status, kind or number as it is (ok, 2)."""
    if value is None:
        return "nothing"
    return f"“{value}”" if field in ("key", "command", "value", "result") else str(value)


def snapshot_words(index: int, term: int) -> str:
    return f"a snapshot through index {index} (term {term})" if index else "no snapshot"


def snapshot_failures(i: int, node, want: dict | None) -> list[str]:
    """A claim about a server's snapshot: None (it has none), or its index and
    optionally its term and its store."""
    got = snapshot_words(node.snapshot_index, node.snapshot_term)
    if want is None:
        return [] if node.snapshot is None else [f"S{i} should have no snapshot, but it has {got}"]
    if node.snapshot_index != want["index"] or want.get("term", node.snapshot_term) != node.snapshot_term:
        return [f"S{i} should have {snapshot_words(want['index'], want.get('term', '?'))}, but it has {got}"]
    if "store" in want and node.snapshot.store != want["store"]:
        return [f"S{i}'s snapshot should hold {want['store']}, but holds {node.snapshot.store}"]
    return []


def config_words(config: dict) -> str:
    """A configuration as the trace names it: {S1–S3} + learner S4, C_old,new (S1–S3 → S1–S5)."""
    if not config["voters"] and not config["old_voters"]:
        return "no configuration (it knows none yet)"
    return Config.of(config["voters"], config["old_voters"], config["learners"]).describe()


def noted(records, seen: dict | None = None) -> dict[str, set[int]]:
    """Which servers each note code was noted at in these records (added to `seen`)."""
    seen = {} if seen is None else seen
    for r in records:
        if r["node"] is not None:
            for code in r["notes"]:
                seen.setdefault(code, set()).add(r["node"])
    return seen


def happened_failures(seen: dict, want: dict) -> list[str]:
    out = []
    for code, servers in want.items():
        got = sorted(seen.get(code, ()))
        if got != servers:
            out.append(f"during this step {code} should happen at {_names(servers) or 'no server'}, "
                       f"but it happened at {_names(got) or 'no server'}")
    return out


def holds(c, conditions: dict) -> bool:
    """The state part of an `until` holds now (delivered is tracked by the runner)."""
    if "quiet" in conditions and c.message_ids():
        return False
    if "votes_counted" in conditions and any(m.type.startswith("RequestVote") for m in c.in_flight()):
        return False
    return (not state_failures(c, {k: v for k, v in conditions.items() if k in STATE_KEYS})
            and not client_failures(c, conditions))


def matches(message: dict, pattern: dict) -> bool:
    """A message (as a dict) fits a pattern: type, from, to, index carried, success/granted."""
    if message["type"] != pattern["type"]:
        return False
    if "from" in pattern and message["src"] != pattern["from"]:
        return False
    if "to" in pattern and message["dst"] != pattern["to"]:
        return False
    if "index" in pattern and not any(e["index"] == pattern["index"] for e in message.get("entries", [])):
        return False
    if "success" in pattern and message.get("success") != pattern["success"]:
        return False
    if "granted" in pattern and message.get("vote_granted") != pattern["granted"]:
        return False
    return True


def delivered(record: dict, pattern: dict) -> bool:
    return record["kind"] == "deliver" and matches(record["message"], pattern)


def sent(record: dict, pattern: dict) -> bool:
    return any(matches(m, pattern) for m in record.get("sent", []))


def failures(c, expect: dict, since: int = 1) -> list[str]:
    """Every claim of `expect` that does not hold now; `since`: the step's first record."""
    out = state_failures(c, expect) + client_failures(c, expect)
    if "happened" in expect:
        out += happened_failures(noted(c.records(since, c.seq)), expect["happened"])
    for i, want in expect.get("voted_for", {}).items():
        got = c.nodes[i].voted_for
        if got != want:
            out.append(f"S{i} should have voted for {'S%d' % want if want else 'nobody'}, "
                       f"but votedFor is {'S%d' % got if got else 'null'}")
    for i, want in expect.get("votes", {}).items():
        got = sorted(c.nodes[i].votes)
        if got != want:
            out.append(f"S{i} should hold votes from {_names(want)}, but holds {_names(got) or 'none'}")
    if "leaders" in expect:
        led = c.leaders()
        for term, want in expect["leaders"].items():
            got = led.get(term)
            if got != want:
                out.append(f"term {term} should have been led by {'S%d' % want if want else 'nobody'}, "
                           f"but {'S%d led it' % got if got else 'nobody led it'}")
    if "violations" in expect:
        want = set(expect["violations"])
        got = {v["property"] for v in c.violations}
        if got != want:
            out.append(f"the safety monitor should report {_props(want)}, but reports {_props(got)}")
    if "rejections" in expect or "vote_refusals" in expect:
        records = c.records(1, c.seq)
        for i, want in expect.get("rejections", {}).items():
            got = sum(1 for r in records if r["kind"] == "deliver" and r["node"] == i
                      and r["message"]["type"] == "AppendEntries"
                      and any(n.startswith("reject") for n in r["notes"]))
            if got != want:
                out.append(f"S{i} should have rejected {want} AppendEntries, but rejected {got}")
        for cand, reasons in expect.get("vote_refusals", {}).items():
            # Who refused the candidate in its latest election (its highest-term RequestVotes).
            asked = [r for r in records if r["kind"] == "deliver" and r["message"]["type"] == "RequestVote"
                     and r["message"]["src"] == cand]
            latest = max((r["message"]["term"] for r in asked), default=None)
            for why, want in reasons.items():
                got = sorted({r["node"] for r in asked if r["message"]["term"] == latest
                              and f"refuse_{why}" in r["notes"]})
                if got != want:
                    out.append(f"{_names(want) or 'nobody'} should refuse S{cand} {_WHY[why]}, "
                               f"but {_names(got) or 'nobody'} did")
    for i, want in expect.get("stores", {}).items():
        if c.nodes[i].store != want:
            out.append(f"S{i}'s state machine should hold {want}, but holds {c.nodes[i].store}")
    return out


_WHY = {"log": "because of its log", "term": "because of its stale term",
        "voted": "having voted for another candidate"}


def _names(ids) -> str:
    return ", ".join(f"S{i}" for i in ids)


def _props(names) -> str:
    return ", ".join(sorted(names)) if names else "no violation"
