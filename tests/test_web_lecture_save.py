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
