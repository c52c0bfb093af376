"""The action registry (raftviz/sim/actions.py): every action type is defined
once, and every way in (the Cluster API, scenario files) reads that one
definition. Engine and scenario code only: nothing of the web layer here."""
import copy

import pytest
import yaml

from raftviz.scenarios import Scenario, ScenarioError, parse
from raftviz.sim import Cluster
from raftviz.sim.actions import REGISTRY, TYPES, catalogue

SEED = 4


def leader_cluster() -> Cluster:
    c = Cluster(5, seed=SEED)
    while c.leader() is None:
        c.run_for(50)
    return c


def in_flight(c: Cluster) -> int:
    for _ in range(200):
        if c.message_ids():
            return c.message_ids()[0]
        c.step()
    raise AssertionError("nothing in flight")


# One valid example of each action, with what must hold first.
EXAMPLES = {
    "crash": lambda c: {"type": "crash", "node": 2},
    "restart": lambda c: (c.crash(2), {"type": "restart", "node": 2})[1],
    "timeout": lambda c: {"type": "timeout", "node": next(i for i in c.nodes if i != c.leader())},
    "disconnect": lambda c: {"type": "disconnect", "node": 3},
    "connect": lambda c: (c.disconnect(3), {"type": "connect", "node": 3})[1],
    "partition": lambda c: {"type": "partition", "groups": [[1, 2], [3, 4, 5]]},
    "heal": lambda c: (c.partition([1, 2]), {"type": "heal"})[1],
    "cut": lambda c: {"type": "cut", "a": 1, "b": 3},
    "link": lambda c: (c.cut(1, 3), {"type": "link", "a": 1, "b": 3})[1],
    "drop": lambda c: {"type": "drop", "message": in_flight(c)},
    "submit": lambda c: {"type": "submit", "command": "SET x 1"},
    "network": lambda c: {"type": "network", "loss": 0.25, "latency": [5, 9]},
    "options": lambda c: {"type": "options", "options": {"fast_backup": True, "entries_per_append": 2}},
    "add_server": lambda c: {"type": "add_server"},
    "change_config": lambda c: {"type": "change_config", "voters": [1, 2, 3, 4], "method": "joint"},
    "transfer_leadership": lambda c: {"type": "transfer_leadership", "to": next(i for i in c.nodes if i != c.leader())},
    "read": lambda c: {"type": "read", "key": "x", "client": 3},
    "clients": lambda c: {"type": "clients", "n": 2, "rate": 5, "keys": 2, "read_ratio": 0.5, "timeout": 300},
    "stop_clients": lambda c: (c.clients(2), {"type": "stop_clients"})[1],
    # A server compacts what it has applied: first a command, committed.
    "snapshot": lambda c: (c.submit("SET x 1"), c.run_for(300), {"type": "snapshot", "node": c.leader()})[-1],
}


def test_every_action_type_has_an_example_and_an_entry_in_the_catalogue():
    assert set(EXAMPLES) == set(TYPES)
    listed = {a["type"]: a for a in catalogue()["actions"]}
    assert set(listed) == set(TYPES)
    for kind in REGISTRY.values():
        assert listed[kind.type]["summary"] and all(f["doc"] for f in listed[kind.type]["fields"])
    assert catalogue()["nodes"] == {"min": 1, "max": 9}
    assert {o["name"] for o in catalogue()["options"]} >= {"fast_backup", "unsafe_commit_by_counting"}


def after_run(c: Cluster) -> dict:
    """What an action left behind, as the page would see it, a while later."""
    c.run_for(200)
    snap = c.snapshot()
    return {"nodes": snap["nodes"], "network": snap["network"], "options": snap["options"],
            "texts": [r["text"] for r in c.trace[-40:]]}


@pytest.mark.parametrize("kind", TYPES)
def test_an_action_round_trips_from_the_api_through_a_scenario_file_with_the_same_effect(kind):
    """protocol form -> check -> apply -> record -> scenario file -> load -> run:
    the same effect as the action taken directly."""
    direct = leader_cluster()
    raw = EXAMPLES[kind](direct)
    direct.act(copy.deepcopy(raw))
    record = direct.trace[-1]
    assert record["kind"] == "action" and record["action"]["type"] == kind
    assert record["text"].startswith(REGISTRY[kind].text(record["action"]))
    expected = after_run(direct)

    # Every recorded action (the preparation's too), written in the file's form, one
    # step per moment: play until that moment, then act; the last step plays on.
    data = direct.export()
    moments: dict[float, list] = {}
    for a in data["actions"]:
        recorded = {k: v for k, v in a.items() if k not in ("seq", "time")}
        moments.setdefault(a["time"], []).append(REGISTRY[recorded["type"]].to_file(recorded, direct.dropped(a["seq"])))
    times = sorted(moments)
    steps = [{"caption": "play to the first action", "until": {"for": times[0]}}]
    for k, t in enumerate(times):
        step = {"caption": f"at {t} ms", "actions": moments[t]}
        if k + 1 < len(times):
            step["until"] = {"for": times[k + 1] - t}
        steps.append(step)
    doc = {"id": "round-trip", "title": "Round trip", "cluster": {"seed": SEED}, "steps": steps}
    sc = Scenario(parse(yaml.safe_dump(doc, sort_keys=False), "round-trip.yaml"))
    assert sc.check() == []
    assert after_run(sc.cluster) == expected


# Bad values for each kind of field; each must be refused with a sentence, at the
# API and at scenario load, and change nothing.
BAD = {
    "server": [0, 99, "x", True, 2.5, [1]],
    "command": [5, "", "   ", "x" * 201, ["SET x 1"], "\x00\x00\x00", "SET x\n1"],
    "groups": [[], [[]], [[1, 1]], [[1], [1]], [["a"]], "1,2", [[1, 2, 3, 4, 5]]],
    "message": ["x", -1, 0, True],
    "loss": [-0.1, 1.5, "0.5", True],
    "latency": [[10], "12", [20, 10], [0, 5], ["a", "b"], [1, 20_000]],
    "options": [{}, {"nope": True}, {"fast_backup": 3}, {"entries_per_append": 0}, "fast"],
    "servers": [[], "1,2", [0], [1, 1], [99], True, [[1]]],
    "choice": ["both", 3, True, ["joint"]],
    "key": ["", "a b", 5, "x" * 41, ["x"]],
    "count": [0, -1, "x", True, 2.5, 10**7],
    "number": [-1, "x", True, 10**7, [1]],
}


def bad_cases():
    for kind in REGISTRY.values():
        for f in kind.fields:
            for value in BAD[f.kind]:
                yield pytest.param(kind.type, f.name, value, id=f"{kind.type}.{f.name}={value!r}"[:60])


@pytest.mark.parametrize("kind, field, value", list(bad_cases()))
def test_a_bad_value_of_every_field_is_refused_and_changes_nothing(kind, field, value):
    c = leader_cluster()
    raw = EXAMPLES[kind](c)
    raw[field] = value
    before = (c.seq, c.snapshot())
    with pytest.raises(ValueError) as e:
        c.act(raw)
    message = str(e.value)
    assert message[:1].isupper() and message.endswith(".") and len(message) < 400, message
    assert (c.seq, c.snapshot()) == before

    # The same value in a scenario file: refused at load, naming the step and field.
    item = REGISTRY[kind].to_file({**EXAMPLES[kind](leader_cluster()), field: value},
                                  {"type": "AppendEntries", "src": 1, "dst": 2}) if kind != "drop" else None
    if item is None:
        return                                     # a file names a dropped message by pattern, not number
    doc = {"id": "bad", "title": "Bad", "steps": [{"caption": "c", "actions": [item]}]}
    with pytest.raises(ScenarioError) as e:
        parse(yaml.safe_dump(doc), "bad.yaml")
    assert str(e.value).startswith(f"bad.yaml: steps[0].actions[0].{kind}"), str(e.value)


def test_a_scenario_file_with_bad_cluster_settings_is_refused_at_load():
    for setting, path in (("latency: [20, 10]", "cluster.latency"),
                          ("options: {entries_per_append: 0}", "cluster.options.entries_per_append"),
                          ('election_timeout: "12"', "cluster.election_timeout")):
        with pytest.raises(ScenarioError) as e:
            parse(f"id: x\ntitle: T\ncluster: {{{setting}}}\nsteps: [{{caption: c}}]\n", "mine.yaml")
        assert str(e.value).startswith(f"mine.yaml: {path}: "), str(e.value)


def test_convenience_methods_come_from_the_registry():
    c = leader_cluster()
    for kind in REGISTRY.values():
        if kind.method is not None:
            assert callable(getattr(Cluster, kind.method or kind.type)), kind.type
    c.cut(1, 3)
    assert c.trace[-1]["action"] == {"type": "cut", "a": 1, "b": 3}


def test_cluster_methods_are_made_from_the_registry_and_keep_their_call_forms():
    for kind in REGISTRY.values():
        if kind.method is not None:
            assert getattr(Cluster, kind.method or kind.type).__doc__ == kind.summary, kind.type
    c = leader_cluster()
    with pytest.raises(TypeError):
        c.heal(1)                                  # more arguments than the action has fields
    with pytest.raises(TypeError):
        c.crash(1, 2)
    assert isinstance(c.submit("SET x 1"), int) and c.submit("SET y 2", to=c.leader() % 5 + 1) is None
    c.partition([1], [2, 3])
    c.set_options(fast_backup=True)
    assert [r["action"] for r in c.trace[-2:]] == [{"type": "partition", "groups": [[1], [2, 3], [4, 5]]},
                                                   {"type": "options", "options": {"fast_backup": True}}]


def test_the_network_is_changed_only_by_recorded_actions():
    """cluster.network reads the network and sets loss and latency as actions; it
    hands out no way to change the network behind the history's back."""
    c = leader_cluster()
    for name in ("disconnect", "partition", "cut", "heal"):
        with pytest.raises(AttributeError):
            getattr(c.network, name)
    c.disconnect(2)
    assert Cluster.replay(c.export()).snapshot()["network"]["isolated"] == [2]


def test_file_errors_read_as_the_rest_of_a_line():
    for text, expected in (("heal: 3", "steps[0].actions[0].heal: the heal action takes nothing: write just `heal`"),
                           ("cut: [2, 2]", "steps[0].actions[0].cut: a link joins two different servers")):
        with pytest.raises(ScenarioError) as e:
            parse(f"id: x\ntitle: T\nsteps: [{{caption: c, actions: [{{{text}}}]}}]\n", "f.yaml")
        assert str(e.value) == f"f.yaml: {expected}"
