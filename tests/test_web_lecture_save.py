"""Saving a lecture (web/lecture.py) from a session whose history was
trimmed. Kept apart from the engine's history tests, which import nothing
of the web layer."""
from raftviz.sim import Cluster
from raftviz.web.lecture import save
from raftviz.web.sessions import Session


def test_scenario_runner_and_saving_survive_a_trimmed_history():
    c = Cluster(5, seed=2, history_limit=500, checkpoint_interval=100)
    c.run_for(300)
    msg = c.message_ids()[0] if c.message_ids() else None
    if msg is None:
        c.run_for(20)
        msg = c.message_ids()[0]
    c.drop(msg)
    c.run_for(10_000)
    assert c.oldest > 10, "the drop is no longer in the kept records"
    out = save(Session("s", c, 0.025))
    assert "drop:" in out["yaml"] and "type: " in out["yaml"]


def test_a_session_that_changed_its_members_saves_as_a_scenario_that_replays_it():
    """Issue 12: initial members, a server added, a change by joint consensus and a
    leadership transfer, saved and played again as a scenario: the same trace."""
    from raftviz.scenarios import Scenario, parse
    c = Cluster(4, members=[1, 2, 3], seed=5, election_timeout=[150, 300])
    c.run_for(600)
    assert c.add_server() == 5
    c.run_for(50)
    c.change_config([1, 2, 3, 4, 5])
    c.run_for(600)
    assert all(n.config["voters"] == [1, 2, 3, 4, 5] for n in c.nodes.values())
    to = next(i for i in c.nodes if i != c.leader())
    c.transfer_leadership(to)
    c.run_for(400)
    assert c.leader() == to
    text = save(Session("s", c, 0.025))["yaml"]
    assert "members:\n  - 1\n  - 2\n  - 3\n" in text and "- add_server\n" in text
    assert "change_config:" in text and f"transfer_leadership: {to}" in text
    sc = Scenario(parse(text, "saved.yaml"))
    assert sc.check() == []
    assert [r["text"] for r in sc.cluster.trace] == [r["text"] for r in c.trace]
    assert sc.cluster.snapshot()["nodes"] == c.snapshot()["nodes"]


def test_a_session_from_an_initial_state_with_members_saves_them():
    from raftviz.scenarios import Scenario, parse
    state = {"members": [1, 2], "nodes": [{"id": 1, "term": 1, "role": "leader"}, {"id": 2, "term": 1, "voted_for": 1},
                                          {"id": 3}]}
    c = Cluster.from_state(state, seed=3)
    c.change_config([1, 2, 3], method="single")
    c.run_for(300)
    text = save(Session("s", c, 0.025))["yaml"]
    sc = Scenario(parse(text, "saved.yaml"))
    assert sc.spec.cluster["members"] == [1, 2] and sc.check() == []
    assert [r["text"] for r in sc.cluster.trace] == [r["text"] for r in c.trace]
