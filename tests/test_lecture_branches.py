"""The page plays a branch step (`from: start`) from the initial state: the
session switches to the branch's cluster, sends the full state at record 0,
plays the step's events and pauses at its end; Back returns to the run before."""
import time

from raftviz.web import create_app


def test_a_branch_step_plays_from_the_initial_state_and_back_returns_to_the_run_before():
    app = create_app({"START_SCHEDULER": False, "TESTING": True, "SESSION_SEED": 11})
    server = app.extensions["raftviz"]
    client = server.socketio.test_client(app)
    act = lambda **a: client.emit("action", a, callback=True)    # noqa: E731
    session = server.sessions.all()[0]

    def play_out():
        t = time.monotonic()
        session.speed = 1
        while session.stop_at is not None:
            t += 0.25
            server.scheduler.run_once(t)

    act(type="scenario", id="leader-completeness")
    assert act(type="scenario_next") == {"ok": True, "step": 1, "failures": []}
    play_out()
    first = session.cluster
    end_of_first = first.seq
    client.get_received()
    assert act(type="scenario_next") == {"ok": True, "step": 2, "failures": []}
    state = [e["args"][0] for e in client.get_received() if e["name"] == "state"][-1]
    assert session.cluster is not first and session.cluster is session.scenario.cluster
    assert state["seq"] == 0 and state["time"] == 0 and state["scenario"]["playing"]
    assert all(n["term"] == 3 for n in state["nodes"]), "the starting state, before s2 runs"
    play_out()
    assert session.mode == "paused" and session.cluster.nodes[2].term == 4
    assert session.scenario_view()["on_script"]
    assert act(type="scenario_back") == {"ok": True, "step": 1}
    assert session.cluster is first and first.seq == end_of_first
    assert session.scenario_view()["on_script"]
