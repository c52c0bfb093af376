"""The scenario file format (docs/scenarios.md): YAML a lecturer can read
and write by hand, checked here completely before anything runs.

A malformed file raises ScenarioError naming the file, the field (as a path
like steps[2].until.leader) and what is wrong. A file is read as a lecturer
might write it by mistake or anyone might write it on purpose: its size, its
nesting and what its YAML aliases expand to are bounded before any value is
built, and a message quotes at most 80 characters of what the file holds.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ..sim import state as state_rules
from ..sim.actions import (MAX_NODES as MAX_SERVERS, MIN_NODES, REGISTRY, TYPES, FieldError, Where,
                           check_options, check_servers)
from ..sim.cluster import Cluster
from ..sim.quote import quote, quote_names

ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
TOP = {"id", "title", "source", "lecture", "summary", "labels", "cluster", "initial", "steps"}
CLUSTER = {"size", "seed", "election_timeout", "heartbeat_interval", "latency", "options", "members"}
STEP = {"caption", "from", "members", "actions", "until", "expect", "question"}
STATE = {"leader", "roles", "terms", "logs", "commit", "match_index", "next_index", "config", "snapshot"}
CLIENTS = {"history", "linearizable"}     # the clients' requests and the checker's verdict (section 8)
UNTIL = STATE | CLIENTS | {"for", "delivered", "sent", "quiet", "votes_counted", "happened", "within"}
EXPECT = STATE | CLIENTS | {"voted_for", "votes", "leaders", "violations", "rejections", "vote_refusals",
                            "stores", "happened"}
CONFIG = {"voters", "old_voters", "learners"}
QUESTION = {"prompt", "choices", "answer", "explanation"}
ROLES = ("follower", "candidate", "leader", "down")
# What a `history` item may claim of a request: the fields of Cluster.history()
# a lecturer can see in the clients panel (not the times, which the seed decides).
REQUEST = ("id", "client", "seq", "kind", "key", "command", "value", "result", "status", "server", "attempts")
STATUSES = ("ok", "pending", "failed")
KINDS = ("read", "write")
REFUSALS = ("log", "term", "voted")
DEFAULT_WITHIN = 20_000          # ms of virtual time a step may take to reach its `until`
MAX_FOR = 60_000                 # a step runs at most this long: the server does it in one go
MAX_WITHIN = 120_000
MAX_FILE_BYTES = 256 * 1024      # the largest bundled scenario is about 6 KB
MAX_DEPTH = 40                   # nesting of lists and mappings
MAX_NODES = 100_000              # values in the file once its aliases are expanded


class ScenarioError(ValueError):
    def __init__(self, where: str, path: str, problem: str):
        self.where, self.path, self.problem = where, path, problem
        super().__init__(f"{where}: {path}: {problem}" if path else f"{where}: {problem}")


@dataclass
class Question:
    prompt: str
    choices: list[str]
    answer: int                      # 1-based: the number of the right choice
    explanation: str

    def to_dict(self) -> dict:
        return {"prompt": self.prompt, "choices": self.choices, "answer": self.answer,
                "explanation": self.explanation}


@dataclass
class Step:
    caption: str
    actions: list[dict] = field(default_factory=list)   # [{"type": ..., ...}] in the engine's form or a drop pattern
    until: dict = field(default_factory=dict)
    expect: dict = field(default_factory=dict)
    question: Question | None = None
    from_start: bool = False         # `from: start`: begin from the initial state again (a branch)
    members: list[int] | None = None     # a branch that starts with these voters instead


@dataclass
class Spec:
    id: str
    title: str
    source: str
    lecture: str
    summary: str
    cluster: dict
    initial: dict | None
    steps: list[Step]
    path: str = ""
    labels: dict[int, str] = field(default_factory=dict)   # short names shown beside servers, e.g. {2: "(a)"}

    @property
    def size(self) -> int:
        return len(self.initial["nodes"]) if self.initial else self.cluster.get("size", 5)

    def catalogue_entry(self) -> dict:
        return {"id": self.id, "title": self.title, "source": self.source, "lecture": self.lecture,
                "summary": self.summary, "steps": len(self.steps)}


class _Checker:
    """Walks a parsed YAML document, raising ScenarioError with a path."""

    def __init__(self, where: str):
        self.where = where

    def fail(self, path: str, problem: str):
        raise ScenarioError(self.where, path, problem)

    def mapping(self, value, path: str, allowed: set, required: tuple = ()) -> dict:
        if not isinstance(value, dict):
            self.fail(path, f"should be a mapping (key: value lines), not {type(value).__name__}")
        unknown = [k for k in value if k not in allowed]
        if unknown:
            self.fail(path, f"unknown field {quote_names(unknown)} (known: {', '.join(sorted(allowed))})")
        for key in required:
            if key not in value:
                self.fail(path, f"the field {key} is missing")
        return value

    def text(self, value, path: str, limit: int = 2000) -> str:
        if not isinstance(value, str) or not value.strip():
            self.fail(path, "should be some text")
        if len(value) > limit:
            self.fail(path, f"is too long ({len(value)} characters; at most {limit})")
        return value.strip()

    def node(self, value, path: str, size: int) -> int:
        if isinstance(value, str) and re.fullmatch(r"[Ss]\d+", value):
            value = int(value[1:])
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(path, f"should be a server number such as 3, not {quote(value)}")
        if not 1 <= value <= size:
            self.fail(path, f"there is no S{value}: this scenario has S1–S{size}")
        return value

    def node_map(self, value, path: str, size: int, check_value) -> dict[int, object]:
        if not isinstance(value, dict):
            self.fail(path, "should map servers to values, e.g. {1: leader, 2: follower}")
        return {self.node(k, f"{path}.{_key(k)}", size): check_value(v, f"{path}.{_key(k)}")
                for k, v in value.items()}

    def number(self, value, path: str, lo: float = 0, hi: float = 10_000_000) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not lo <= value <= hi:
            self.fail(path, f"should be a number from {lo:g} to {hi:g}")
        return value

    def whole(self, value, path: str, lo: int = 0, hi: int = 10_000_000) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            self.fail(path, f"should be a whole number from {lo} to {hi}")
        return value

    def terms(self, value, path: str) -> list:
        if not isinstance(value, list):
            self.fail(path, "should be a log: a list of terms such as [1, 1, 2]")
        out = []
        for k, item in enumerate(value):
            if isinstance(item, dict):
                self.mapping(item, f"{path}[{k}]", {"term", "command"}, ("term",))
                out.append({"term": self.whole(item["term"], f"{path}[{k}].term", 1), "command": item.get("command")})
            else:
                out.append(self.whole(item, f"{path}[{k}]", 1))
        return out


def _key(key) -> str:
    """A mapping key as part of a field's path, short whatever the file holds."""
    text = str(key) if isinstance(key, (str, int)) and not isinstance(key, bool) else quote(key, 20)
    return text if len(text) <= 20 else text[:19] + "…"


def _bounded(text: str, where: str):
    """Check the YAML's nesting and alias expansion from its event stream
    (which builds nothing), then build its values. An alias bomb is refused
    before it expands; a 20,000-deep list before anything recurses."""
    sizes: dict[str, int] = {}             # anchor -> values under it, aliases expanded
    stack: list[list] = []                 # open lists and mappings: [anchor, values so far]
    total = 0

    def add(n: int) -> None:
        nonlocal total
        total += n
        if total > MAX_NODES:
            raise ScenarioError(where, "", f"holds more than {MAX_NODES:,} values once its aliases (*name) "
                                           f"are expanded: is an alias repeated by mistake?")
        if stack:
            stack[-1][1] += n

    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            if len(stack) >= MAX_DEPTH:
                raise ScenarioError(where, "", f"nests lists and mappings more than {MAX_DEPTH} deep")
            add(1)
            stack.append([event.anchor, 0])
        elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            anchor, n = stack.pop()
            if stack:
                stack[-1][1] += n
            if anchor:
                sizes[anchor] = n + 1
        elif isinstance(event, yaml.ScalarEvent):
            add(1)
            if event.anchor:
                sizes[event.anchor] = 1
        elif isinstance(event, yaml.AliasEvent):
            add(sizes.get(event.anchor, 1))
    return yaml.safe_load(text)


def parse(text: str, where: str = "<scenario>") -> Spec:
    """Parse and check one scenario file's text."""
    if len(text) > MAX_FILE_BYTES:
        raise ScenarioError(where, "", f"is too large ({len(text):,} characters; a scenario file has at most "
                                       f"{MAX_FILE_BYTES:,})")
    try:
        doc = _bounded(text, where)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(e, "problem", None) or "it cannot be read"
        raise ScenarioError(where, "", f"is not valid YAML{line}: {quote(problem)[1:-1]}") from None
    except ValueError as e:               # e.g. a number too long to convert
        if isinstance(e, ScenarioError):
            raise
        raise ScenarioError(where, "", "holds a value that cannot be read (a number with thousands of digits?)") from None
    c = _Checker(where)
    doc = c.mapping(doc, "the file", TOP, ("id", "title", "steps"))
    sid = doc["id"]
    if not isinstance(sid, str) or not ID.match(sid):
        c.fail("id", "should be a short name of lower-case letters, digits and dashes, e.g. figure-7")
    cluster = dict(c.mapping(doc.get("cluster", {}) or {}, "cluster", CLUSTER))
    initial = doc.get("initial")

    def voters_of(value, path: str, size: int) -> list[int]:
        try:
            return check_servers(value, Where(size, "scenario"))
        except ValueError as e:
            c.fail(path, _fragment(e))

    if initial is not None:
        nodes = initial.get("nodes") if isinstance(initial, dict) else None
        size = len(nodes) if isinstance(nodes, list) else 0
        if "members" in cluster and isinstance(initial, dict) and "members" in initial:
            c.fail("cluster.members", "the initial state names its members too: give the voters once, in "
                                      "cluster.members or in initial.members")
        if "members" in cluster and MIN_NODES <= size <= MAX_SERVERS:
            cluster["members"] = voters_of(cluster["members"], "cluster.members", size)
        try:
            state_rules.parse(initial, cluster.get("members"))
        except ValueError as e:
            if "members" in cluster and _possible(initial):
                c.fail("cluster.members", f"with these voters the initial state is impossible: {_fragment(e)}")
            c.fail("initial", str(e))
        if "size" in cluster and cluster["size"] != size:
            c.fail("cluster.size", f"is {quote(cluster['size'])}, but the initial state has {size} servers")
    else:
        size = c.whole(cluster.get("size", 5), "cluster.size", MIN_NODES, MAX_SERVERS)
        if "members" in cluster:
            cluster["members"] = voters_of(cluster["members"], "cluster.members", size)
    _cluster_settings(c, cluster)

    def members(value, path: str) -> list[int]:
        """A branch's own initial voters: servers of the initial state, with
        which the initial state must still be possible."""
        voters = voters_of(value, path, size)
        if initial is not None:
            try:
                state_rules.parse(initial, voters)
            except ValueError as e:
                c.fail(path, f"with these voters the initial state is impossible: {_fragment(e)}")
        return voters

    steps_raw = doc["steps"]
    if not isinstance(steps_raw, list) or not steps_raw:
        c.fail("steps", "should be a list with at least one step")
    steps, servers, most = [], size, size
    for k, raw in enumerate(steps_raw):
        step, servers = _step(c, raw, f"steps[{k}]", size, servers, members)
        steps.append(step)
        most = max(most, servers)
    labels = c.node_map(doc.get("labels", {}) or {}, "labels", most, lambda v, path: c.text(v, path, 12))
    return Spec(labels=labels, id=sid, title=c.text(doc["title"], "title", 200),
                source=c.text(doc.get("source", "raftviz"), "source", 300),
                lecture=c.text(doc.get("lecture", "Your scenarios"), "lecture", 200),
                summary=c.text(doc.get("summary", doc["title"]), "summary", 3000),
                cluster=cluster, initial=initial, steps=steps, path=where)


def _possible(initial) -> bool:
    """Is the initial state possible with every server a voter?"""
    try:
        state_rules.parse(initial)
    except ValueError:
        return False
    return True


def _cluster_settings(c: _Checker, cluster: dict) -> None:
    """The cluster's settings, checked as the engine checks them, value by value."""
    options = c.mapping(cluster.get("options", {}) or {}, "cluster.options", set(_option_names()))
    for key, value in options.items():
        try:
            check_options({key: value})
        except ValueError as e:
            c.fail(f"cluster.options.{key}", _fragment(e))
    timing = {k: cluster[k] for k in ("seed", "election_timeout", "heartbeat_interval", "latency") if k in cluster}
    for key, value in timing.items():
        try:
            Cluster(1, **{key: value})              # the engine's own checks of each setting
        except ValueError as e:
            c.fail(f"cluster.{key}", _fragment(e))


def _option_names():
    from ..raft import Options
    return Options.names()


def _step(c: _Checker, raw, path: str, size: int, servers: int, members) -> tuple[Step, int]:
    """One step, checked against the servers there are when it runs: `size`
    for a branch (it starts again from the initial state), else `servers`,
    the count the steps before left; each add_server makes one more for the
    actions after it and for the step's until and expect. Returns the step
    and the count it leaves."""
    raw = c.mapping(raw, path, STEP, ("caption",))
    actions = raw.get("actions", []) or []
    if not isinstance(actions, list):
        c.fail(f"{path}.actions", "should be a list of actions, e.g. [crash: 2, timeout: 5]")
    if "from" in raw and raw["from"] != "start":
        c.fail(f"{path}.from", f"should be `start` (begin again from the initial state), not {quote(raw['from'])}")
    from_start = "from" in raw
    voters = None
    if "members" in raw:
        if not from_start:
            c.fail(f"{path}.members", "only a branch (`from: start`) can begin with other voters")
        voters = members(raw["members"], f"{path}.members")
    if from_start:
        servers = size
    checked = []
    for k, a in enumerate(actions):
        action = _action(c, a, f"{path}.actions[{k}]", servers)
        if action["type"] == "add_server":
            if servers >= MAX_SERVERS:
                c.fail(f"{path}.actions[{k}]", f"a cluster has at most {MAX_SERVERS} servers, and this scenario "
                                                f"already has {servers} here")
            servers += 1
        checked.append(action)
    step = Step(
        caption=c.text(raw["caption"], f"{path}.caption"),
        from_start=from_start,
        members=voters,
        actions=checked,
        until=_until(c, raw.get("until", {}) or {}, f"{path}.until", servers),
        expect=_expect(c, raw.get("expect", {}) or {}, f"{path}.expect", servers),
        question=_question(c, raw["question"], f"{path}.question") if raw.get("question") else None,
    )
    return step, servers


def _action(c: _Checker, raw, path: str, size: int) -> dict:
    """One action: a one-key mapping such as {crash: 2} or {cut: [1, 3]}, or a bare
    word such as heal; its form and checks are the action's own (sim/actions.py)."""
    if isinstance(raw, str):
        raw = {raw: True}
    if not isinstance(raw, dict) or len(raw) != 1:
        c.fail(path, "should be one action such as `crash: 2` or `heal`")
    (name, arg), = raw.items()
    kind = REGISTRY.get(name) if isinstance(name, str) else None
    if kind is None:
        c.fail(path, f"unknown action {quote(name)} (known: {', '.join(TYPES)})")
    try:
        if name == "drop":
            return kind.from_file(kind.check_pattern(arg, Where(size, "scenario")))
        return kind.check_fields(kind.from_file(arg), Where(size, "scenario"))
    except FieldError as e:
        c.fail(f"{path}.{name}{kind.file_path(e.field)}", _fragment(e))


def _pattern(c: _Checker, raw, path: str, size: int) -> dict:
    """A message named by what it is (the drop action's pattern)."""
    try:
        return REGISTRY["drop"].check_pattern(raw, Where(size, "scenario"))
    except FieldError as e:
        c.fail(path + ("" if e.field is None else f".{e.field}"), _fragment(e))


def _fragment(e: Exception) -> str:
    """A sentence as the rest of a "path: problem" line (S7 stays S7)."""
    text = str(e).rstrip(".")
    return text if re.match(r"S\d", text) else text[:1].lower() + text[1:]


def _state_checks(c: _Checker, raw: dict, path: str, size: int) -> dict:
    """The state conditions shared by `until` and `expect`."""
    out = {}
    if "leader" in raw:
        v = raw["leader"]
        out["leader"] = v if v in ("none", "any", None) else c.node(v, f"{path}.leader", size)
        if out["leader"] is None:
            out["leader"] = "none"
    if "roles" in raw:
        def role(v, p):
            if v not in ROLES:
                c.fail(p, f"should be one of {', '.join(ROLES)}")
            return v
        out["roles"] = c.node_map(raw["roles"], f"{path}.roles", size, role)
    if "terms" in raw:
        out["terms"] = c.node_map(raw["terms"], f"{path}.terms", size, lambda v, p: c.whole(v, p))
    if "logs" in raw:
        out["logs"] = c.node_map(raw["logs"], f"{path}.logs", size, c.terms)
    if "commit" in raw:
        out["commit"] = c.node_map(raw["commit"], f"{path}.commit", size, lambda v, p: c.whole(v, p))
    for key in ("match_index", "next_index"):
        if key in raw:
            out[key] = c.node_map(raw[key], f"{path}.{key}", size,
                                  lambda v, p: c.node_map(v, p, size, lambda x, q: c.whole(x, q)))
    if "config" in raw:
        out["config"] = c.node_map(raw["config"], f"{path}.config", size,
                                   lambda v, p: _configuration(c, v, p, size))
    if "snapshot" in raw:
        out["snapshot"] = c.node_map(raw["snapshot"], f"{path}.snapshot", size, lambda v, p: _snapshot_claim(c, v, p))
    return out


def _snapshot_claim(c: _Checker, raw, path: str) -> dict | None:
    """A server's snapshot: `none`, or {index, term, store} (term and store optional)."""
    if raw in (None, "none"):
        return None
    raw = c.mapping(raw, path, {"index", "term", "store"}, ("index",))
    out = {"index": c.whole(raw["index"], f"{path}.index", 1)}
    if "term" in raw:
        out["term"] = c.whole(raw["term"], f"{path}.term", 1)
    if "store" in raw:
        if not isinstance(raw["store"], dict):
            c.fail(f"{path}.store", "should map keys to values, e.g. {x: 3}")
        out["store"] = {str(k): str(x) for k, x in raw["store"].items()}
    return out


def _client_checks(c: _Checker, raw: dict, path: str, size: int) -> dict:
    """The client conditions shared by `until` and `expect`: claims about
    requests by id, and whether the history is linearizable."""
    out = {}
    if "history" in raw:
        out["history"] = _history(c, raw["history"], f"{path}.history", size)
    if "linearizable" in raw:
        if not isinstance(raw["linearizable"], bool):
            c.fail(f"{path}.linearizable", f"should be true or false (is the clients' history linearizable?), "
                                           f"not {quote(raw['linearizable'])}")
        out["linearizable"] = raw["linearizable"]
    return out


def _history(c: _Checker, raw, path: str, size: int) -> list[dict]:
    """[{id: 1, status: ok, result: "1"}, ...]: each listed request (by the id
    the trace gives it, "request 1", "read 3") has these fields; requests
    not listed are not checked."""
    if not isinstance(raw, list) or not raw:
        c.fail(path, 'should be a list of requests, e.g. [{id: 1, status: ok, result: "1"}]')
    out, ids = [], set()
    for k, item in enumerate(raw):
        p = f"{path}[{k}]"
        item = c.mapping(item, p, set(REQUEST), ("id",))
        claim = {"id": c.whole(item["id"], f"{p}.id", 1)}
        if claim["id"] in ids:
            c.fail(f"{p}.id", f"request {claim['id']} is already claimed earlier in this list")
        ids.add(claim["id"])
        for key, value in item.items():
            where = f"{p}.{_key(key)}"
            if key in ("status", "kind"):
                allowed = STATUSES if key == "status" else KINDS
                if value not in allowed:
                    c.fail(where, f"should be one of {', '.join(allowed)}, not {quote(value)}")
                claim[key] = value
            elif key in ("client", "seq", "attempts"):
                claim[key] = c.whole(value, where, 1)
            elif key == "server":
                claim[key] = c.node(value, where, size)
            elif key != "id":
                claim[key] = _text_or_none(c, value, where)
        out.append(claim)
    return out


def _text_or_none(c: _Checker, value, path: str) -> str | None:
    """A key, command or value as the store holds it: text (a number is
    taken as its digits, `result: 1` as "1"), or null for nothing (a read
    of an absent key, a write with no reply yet)."""
    if value is None:
        return None
    if isinstance(value, bool):
        c.fail(path, f'should be text: YAML reads an unquoted {str(value).lower()}, yes, no, on or off as true '
                     f'or false, so put the text in quotes, e.g. "yes"')
    if not isinstance(value, (str, int)):
        c.fail(path, f'should be text such as "1", or null for nothing, not {quote(value)}')
    return str(value)


def _configuration(c: _Checker, raw, path: str, size: int) -> dict:
    """The configuration a server uses, in full: {voters, old_voters, learners}
    as Node.config gives it. old_voters left out is null (not joint) and
    learners left out is none, so `{voters: [1, 2, 3]}` never matches a joint
    configuration by accident. voters: [] is a server that knows none yet."""
    raw = c.mapping(raw, path, CONFIG, ("voters",))

    def servers(value, p: str, allow_empty: bool) -> list[int]:
        if not isinstance(value, list) or (not value and not allow_empty):
            c.fail(p, "should be a list of servers, e.g. [1, 2, 3]")
        ids = [c.node(x, p, size) for x in value]
        if len(set(ids)) != len(ids):
            c.fail(p, "names a server twice")
        return sorted(ids)

    out = {"voters": servers(raw["voters"], f"{path}.voters", True),
           "old_voters": None if raw.get("old_voters") is None else servers(raw["old_voters"], f"{path}.old_voters", False),
           "learners": servers(raw.get("learners") or [], f"{path}.learners", True)}
    if set(out["learners"]) & (set(out["voters"]) | set(out["old_voters"] or ())):
        c.fail(f"{path}.learners", "a learner does not vote, so it cannot also be a voter")
    return out


def _happened(c: _Checker, raw, path: str, size: int) -> dict[str, list[int]]:
    """{note code: servers}: exactly these servers made that decision during the
    step (the codes of raft/notes.py and sim/records.py, e.g. ignore_vote)."""
    from ..raft.notes import NOTES
    if not isinstance(raw, dict) or not raw:
        c.fail(path, "should map what happened to the servers it happened at, e.g. {ignore_vote: [2, 3]}")
    out = {}
    for code, who in raw.items():
        if code not in NOTES:
            c.fail(path, f"{quote(code)} is not something the trace notes (known: {', '.join(sorted(NOTES))})")
        where = f"{path}.{_key(code)}"
        out[code] = sorted({c.node(x, where, size) for x in (who if isinstance(who, list) else [who])})
    return out


def _until(c: _Checker, raw, path: str, size: int) -> dict:
    raw = c.mapping(raw, path, UNTIL)
    out = _state_checks(c, raw, path, size) | _client_checks(c, raw, path, size)
    if "for" in raw:
        out["for"] = c.number(raw["for"], f"{path}.for", 0, MAX_FOR)
    for key in ("delivered", "sent"):
        if key in raw:
            out[key] = _pattern(c, raw[key], f"{path}.{key}", size)
    if "happened" in raw:
        out["happened"] = _happened(c, raw["happened"], f"{path}.happened", size)
    for key, meaning in (("quiet", "no message is in flight"),
                         ("votes_counted", "every RequestVote is answered and the answers are counted")):
        if key in raw:
            if raw[key] is not True:
                c.fail(f"{path}.{key}", f"should be true: wait until {meaning}")
            out[key] = True
    out["within"] = c.number(raw.get("within", DEFAULT_WITHIN), f"{path}.within", 1, MAX_WITHIN)
    if "for" in out and len(out) > 2:
        c.fail(path, "`for` is a duration: it cannot be combined with other conditions")
    return out


def _expect(c: _Checker, raw, path: str, size: int) -> dict:
    raw = c.mapping(raw, path, EXPECT)
    out = _state_checks(c, raw, path, size) | _client_checks(c, raw, path, size)
    if "voted_for" in raw:
        out["voted_for"] = c.node_map(raw["voted_for"], f"{path}.voted_for", size,
                                      lambda v, p: None if v in (None, "none") else c.node(v, p, size))
    if "votes" in raw:
        out["votes"] = c.node_map(raw["votes"], f"{path}.votes", size,
                                  lambda v, p: sorted(c.node(x, p, size) for x in _list(c, v, p)))
    if "leaders" in raw:
        if not isinstance(raw["leaders"], dict):
            c.fail(f"{path}.leaders", "should map terms to the server that led them (or none)")
        out["leaders"] = {c.whole(t, f"{path}.leaders", 0): None if v in (None, "none") else c.node(v, f"{path}.leaders.{_key(t)}", size)
                          for t, v in raw["leaders"].items()}
    if "violations" in raw:
        from ..sim.monitor import PROPERTIES
        names = _list(c, raw["violations"], f"{path}.violations")
        for n in names:
            if n not in PROPERTIES:
                c.fail(f"{path}.violations", f"{quote(n)} is not a safety property (known: {', '.join(PROPERTIES)})")
        out["violations"] = names
    if "rejections" in raw:
        out["rejections"] = c.node_map(raw["rejections"], f"{path}.rejections", size, lambda v, p: c.whole(v, p))
    if "vote_refusals" in raw:
        def refusals(v, p):
            v = c.mapping(v, p, set(REFUSALS))
            return {why: sorted(c.node(x, f"{p}.{why}", size) for x in _list(c, voters, f"{p}.{why}"))
                    for why, voters in v.items()}
        out["vote_refusals"] = c.node_map(raw["vote_refusals"], f"{path}.vote_refusals", size, refusals)
    if "stores" in raw:
        def store(v, p):
            if not isinstance(v, dict):
                c.fail(p, "should map keys to values, e.g. {x: 3}")
            return {str(k): str(x) for k, x in v.items()}
        out["stores"] = c.node_map(raw["stores"], f"{path}.stores", size, store)
    if "happened" in raw:
        out["happened"] = _happened(c, raw["happened"], f"{path}.happened", size)
    return out


def _list(c: _Checker, value, path: str) -> list:
    if not isinstance(value, list):
        c.fail(path, "should be a list, e.g. [1, 3]")
    return value


def _question(c: _Checker, raw, path: str) -> Question:
    raw = c.mapping(raw, path, QUESTION, ("prompt", "choices", "answer"))
    choices = _list(c, raw["choices"], f"{path}.choices")
    if len(choices) < 2:
        c.fail(f"{path}.choices", "a question needs at least two choices")
    choices = [c.text(x, f"{path}.choices[{k}]", 500) for k, x in enumerate(choices)]
    answer = c.whole(raw["answer"], f"{path}.answer", 1, len(choices))
    return Question(prompt=c.text(raw["prompt"], f"{path}.prompt", 1000), choices=choices, answer=answer,
                    explanation=c.text(raw.get("explanation", "See what happens when you press Next."),
                                       f"{path}.explanation", 2000))


def load_file(path: Path) -> Spec:
    try:
        if not path.is_file():            # a named pipe would hold the server at start, waiting for a writer
            raise ScenarioError(path.name, "", "cannot be read: it is not a regular file")
        with path.open("rb") as f:
            raw = f.read(MAX_FILE_BYTES + 1)
        if len(raw) > MAX_FILE_BYTES:
            raise ScenarioError(path.name, "", f"is too large (more than {MAX_FILE_BYTES:,} bytes)")
        text = raw.decode("utf-8")
    except OSError as e:                  # its strerror, not str(e): that names the server's folders
        raise ScenarioError(path.name, "", f"cannot be read: {e.strerror or 'unknown error'}") from None
    except UnicodeDecodeError:
        raise ScenarioError(path.name, "", "cannot be read: it is not UTF-8 text") from None
    return parse(text, path.name)
