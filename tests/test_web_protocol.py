"""The Socket.IO protocol through Flask-SocketIO's test client: every action
type, every kind of bad input, sessions, modes and the scheduler. The
scheduler is driven by hand (run_once with chosen wall times), so these tests
are deterministic."""
import json
import time

import pytest

from raftviz.web import create_app


@pytest.fixture
def app():
    return create_app({"START_SCHEDULER": False, "TESTING": True, "SESSION_SEED": 11})


@pytest.fixture
def server(app):
    return app.extensions["raftviz"]


def connect(app, **auth):
    server = app.extensions["raftviz"]
    client = server.socketio.test_client(app, auth=auth or None)
    assert client.is_connected()
    return client


def received(client, name):
    return [e["args"][0] for e in client.get_received() if e["name"] == name]


def last_state(client):
    states = received(client, "state")
    assert states, "expected a state message"
    return states[-1]


def act(client, **action):
    return client.emit("action", action, callback=True)


def post_import(app, session_id, data, raw: bytes | None = None):
    """POST a history file to /api/import as the page does; returns (status, answer)."""
    body = raw if raw is not None else json.dumps(data).encode()
    response = app.test_client().post("/api/import", data=body, content_type="application/json",
                                      headers={"X-Raftviz-Session": session_id})
    return response.status_code, response.get_json()


def import_into(app, client, data):
    """Import into the only session there is."""
    only, = app.extensions["raftviz"].sessions.all()
    return post_import(app, only.id, data)[1]


@pytest.fixture
def client(app):
    return connect(app)


def until_in_flight(cluster):
    """Run until some message is in flight; return its id."""
    for _ in range(1000):
        if cluster.message_ids():
            return cluster.message_ids()[0]
        cluster.run_for(1)
    raise AssertionError("no message was ever in flight")


def fingerprint(session):
    """Everything a bad action must leave untouched."""
    return json.dumps({"snap": session.cluster.snapshot(), "mode": session.mode, "speed": session.speed,
                       "trace": len(session.cluster.trace), "scenario": session.scenario}, sort_keys=True)


# ----- connecting -------------------------------------------------------------------

def test_connect_gives_a_new_session_with_a_playing_5_node_cluster(app, server):
    client = connect(app)
    state = last_state(client)
    assert state["session"] and state["mode"] == "playing" and len(state["nodes"]) == 5
    assert 0.001 <= state["speed"] <= 1 and state["seq"] == 0 and state["records"] == []
    for key in ("time", "messages", "network", "violations", "options", "markers", "scenario", "config"):
        assert key in state


def test_every_tab_gets_its_own_session_and_sees_only_its_own_events(app, server):
    a, b = connect(app), connect(app)
    sa, sb = last_state(a)["session"], last_state(b)["session"]
    assert sa != sb and len(server.sessions) == 2
    assert act(a, type="crash", node=1)["ok"]
    assert received(a, "events") and not received(b, "events")
    assert server.sessions.get(sb).cluster.nodes[1].up


def test_reattaching_with_the_session_id_after_a_disconnect_finds_the_same_cluster(app, server):
    a = connect(app)
    sid = last_state(a)["session"]
    act(a, type="crash", node=3)
    a.disconnect()
    b = connect(app, session=sid)
    state = last_state(b)
    assert state["session"] == sid and state["nodes"][2]["up"] is False
    assert "notice" not in state and len(server.sessions) == 1


def test_an_expired_session_id_gets_a_new_session_with_a_notice(app, server):
    a = connect(app)
    sid = last_state(a)["session"]
    a.disconnect()
    session = server.sessions.get(sid)
    assert server.sessions.reap(session.last_seen + server.sessions.ttl + 1) == [sid]
    b = connect(app, session=sid)
    state = last_state(b)
    assert state["session"] != sid and "expired" in state["notice"]


def test_sessions_with_a_connection_are_never_reaped(app, server):
    a = connect(app)
    session = server.sessions.get(last_state(a)["session"])
    assert server.sessions.reap(session.last_seen + 10 * server.sessions.ttl) == []


def test_a_full_server_refuses_new_sessions_but_lets_old_ones_back_in():
    app = create_app({"START_SCHEDULER": False, "MAX_SESSIONS": 1})
    server = app.extensions["raftviz"]
    a = connect(app)
    sid = last_state(a)["session"]
    refused = server.socketio.test_client(app)
    assert not refused.is_connected()
    a.disconnect()
    assert connect(app, session=sid)


def test_cross_origin_handshakes_are_refused_by_default(app):
    http = app.test_client()
    ok = http.get("/socket.io/?EIO=4&transport=polling", headers={"Origin": "http://localhost"},
                  base_url="http://localhost")
    assert ok.status_code == 200
    bad = http.get("/socket.io/?EIO=4&transport=polling", headers={"Origin": "http://evil.example"},
                   base_url="http://localhost")
    assert bad.status_code == 400


def test_secret_key_comes_from_the_environment_or_is_random(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "from-env")
    assert create_app({"START_SCHEDULER": False}).config["SECRET_KEY"] == "from-env"
    monkeypatch.delenv("SECRET_KEY")
    a = create_app({"START_SCHEDULER": False}).config["SECRET_KEY"]
    b = create_app({"START_SCHEDULER": False}).config["SECRET_KEY"]
    assert a != b and len(a) >= 32
    assert not create_app({"START_SCHEDULER": False}).debug


def test_the_page_and_the_npm_socket_io_client_are_served(app):
    http = app.test_client()
    assert http.get("/").status_code == 200
    js = http.get("/vendor/socket.io.esm.min.js")
    assert js.status_code == 200 and b"io" in js.data
    assert http.get("/vendor/../package.json").status_code == 404


# ----- modes and the scheduler ----------------------------------------------------------

def test_playing_advances_virtual_time_with_wall_time_times_speed(app, server, client):
    session = server.sessions.all()[0]
    assert act(client, type="speed", value=0.5)["ok"]
    client.get_received()
    t = time.monotonic()
    server.scheduler.run_once(t)
    server.scheduler.run_once(t + 0.2)
    assert session.cluster.now == pytest.approx(100.0)        # 0.2 s of wall time at 0.5x
    server.scheduler.run_once(t + 0.45)
    assert session.cluster.now == pytest.approx(225.0)
    events = received(client, "events")
    assert events and events[-1]["clock"]["time"] == pytest.approx(225.0)
    assert [r["seq"] for e in events for r in e.get("records", [])] == list(range(1, session.cluster.seq + 1))


def test_a_slow_tick_never_makes_a_session_leap(app, server, client):
    session = server.sessions.all()[0]
    act(client, type="speed", value=1)
    server.scheduler.run_once(10.0)
    server.scheduler.run_once(70.0)                          # a minute without ticks
    assert session.cluster.now <= 250.0


def test_paused_hidden_and_closed_sessions_do_not_advance_nor_jump_when_back(app, server, client):
    session = server.sessions.all()[0]
    act(client, type="speed", value=1)
    act(client, type="pause")
    server.scheduler.run_once(1.0)
    server.scheduler.run_once(1.2)
    assert session.cluster.now == 0 and session.mode == "paused"
    act(client, type="play")
    assert act(client, type="visibility", visible=False)["ok"]
    server.scheduler.run_once(2.0)
    server.scheduler.run_once(2.2)
    assert session.cluster.now == 0, "a hidden page's session stays put"
    act(client, type="visibility", visible=True)
    server.scheduler.run_once(9.0)
    server.scheduler.run_once(9.1)
    assert session.cluster.now == pytest.approx(100.0), "it continues from where it was, no catch-up"


def test_step_processes_one_event_and_step_back_returns_with_a_full_state(app, server, client):
    session = server.sessions.all()[0]
    client.get_received()
    ack = act(client, type="step")
    assert ack == {"ok": True, "mode": "step", "seq": 1}
    events = received(client, "events")
    assert events[-1]["records"][0]["seq"] == 1 and events[-1]["clock"]["mode"] == "step"
    act(client, type="step")
    ack = act(client, type="step_back")
    assert ack["ok"] and ack["seq"] == 1 and session.cluster.seq == 1
    assert last_state(client)["seq"] == 1
    act(client, type="step_back")
    refused = act(client, type="step_back")
    assert refused["ok"] is False and "beginning" in refused["error"]


def test_events_carry_records_changed_nodes_log_patches_and_messages_in_flight(app, server, client):
    session = server.sessions.all()[0]
    session.cluster.run_for(1000)
    server.publish(session, 0.0)
    client.get_received()
    leader = session.cluster.leader()
    assert act(client, type="submit", command="SET x 1")["index"] == 1
    update = received(client, "events")[-1]
    assert update["records"][-1]["action"] == {"type": "submit", "command": "SET x 1"}
    changed = {n["id"]: n for n in update["nodes"]}
    assert changed[leader]["log_patch"] == {"from": 1, "entries": [{"index": 1, "term": changed[leader]["term"],
                                                                   "command": "SET x 1"}]}
    assert update["in_flight"] == session.cluster.message_ids()


def test_7_snapshots_stream_as_blocks_and_logs_by_absolute_index(app, server, client):
    """A snapshot travels with its node's view once, when it is another one; the log
    patch then names the first index the log holds (section 7)."""
    session = server.sessions.all()[0]
    session.cluster.run_for(1000)
    server.publish(session, 0.0)
    client.get_received()
    leader = session.cluster.leader()
    for k in range(3):
        act(client, type="submit", command=f"SET x {k}")
    session.cluster.run_for(300)
    server.publish(session, 0.0)
    client.get_received()
    assert act(client, type="snapshot", node=leader)["ok"]
    update = received(client, "events")[-1]
    view = {n["id"]: n for n in update["nodes"]}[leader]
    assert (view["snapshot_index"], view["snapshot_term"]) == (3, view["term"])
    assert view["snapshot"]["store"] == {"x": "2"} and view["snapshot"]["index"] == 3
    assert view["log_patch"] == {"first": 4, "from": 4, "entries": []}
    assert act(client, type="submit", command="SET y 1")["index"] == 4
    update = received(client, "events")[-1]
    view = {n["id"]: n for n in update["nodes"]}[leader]
    assert "snapshot" not in view, "the same snapshot is not sent again"
    assert view["log_patch"] == {"first": 4, "from": 4, "entries": [{"index": 4, "term": view["term"],
                                                                     "command": "SET y 1"}]}
    state = act(client, type="sync") and last_state(client)
    node = next(n for n in state["nodes"] if n["id"] == leader)
    assert [e["index"] for e in node["log"]] == [4] and node["snapshot"]["index"] == 3
    refused = act(client, type="snapshot", node=leader)
    assert refused["ok"] is False and "nothing new to compact" in refused["error"]


# ----- every action type ---------------------------------------------------------------

ENGINE_ACTIONS = [
    {"type": "crash", "node": 2},
    {"type": "timeout", "node": 3},
    {"type": "disconnect", "node": 4},
    {"type": "connect", "node": 4},
    {"type": "partition", "groups": [[1, 2], [3, 4, 5]]},
    {"type": "heal"},
    {"type": "cut", "a": 1, "b": 5},
    {"type": "link", "a": 1, "b": 5},
    {"type": "network", "loss": 0.1, "latency": [20, 40]},
    {"type": "options", "options": {"fast_backup": True}},
    {"type": "options", "unsafe_commit_by_counting": True},
    {"type": "submit", "command": "SET y 2"},
    {"type": "submit", "command": "SET y 3", "node": 1},
]


@pytest.mark.parametrize("action", ENGINE_ACTIONS, ids=lambda a: a["type"])
def test_engine_actions_are_carried_out_and_recorded(app, server, client, action):
    session = server.sessions.all()[0]
    before = len(session.cluster.trace)
    ack = act(client, **action)
    assert ack["ok"] is True and ack["seq"] == before + 1
    assert session.cluster.trace[-1]["action"]["type"] == action["type"]


def test_restart_drop_and_records(app, server, client):
    session = server.sessions.all()[0]
    act(client, type="crash", node=2)
    assert act(client, type="restart", node=2)["ok"]
    session.cluster.run_for(300)
    msg = until_in_flight(session.cluster)
    assert act(client, type="drop", message=msg)["ok"] and msg not in session.cluster.message_ids()
    page = act(client, type="records", before=len(session.cluster.trace) + 1, count=5)
    assert page["ok"] and [r["seq"] for r in page["records"]] == list(
        range(len(session.cluster.trace) - 4, len(session.cluster.trace) + 1))


def test_seek_pauses_and_sends_the_state_there(app, server, client):
    session = server.sessions.all()[0]
    session.cluster.run_for(800)
    client.get_received()
    ack = act(client, type="seek", seq=10)
    assert ack == {"ok": True, "seq": 10, "mode": "paused"}
    assert last_state(client)["seq"] == 10


def test_reset_makes_a_new_cluster_with_the_asked_size_and_seed(app, server, client):
    ack = act(client, type="reset", nodes=9, seed=42)
    assert ack == {"ok": True, "seed": 42, "nodes": 9}
    state = last_state(client)
    assert len(state["nodes"]) == 9 and state["config"]["seed"] == 42 and state["seq"] == 0
    assert act(client, type="reset", nodes=1)["seed"] >= 0


def test_sync_resends_the_state_to_the_asking_page_only(app, server):
    a = connect(app)
    sid = last_state(a)["session"]
    b = connect(app, session=sid)
    a.get_received()
    b.get_received()
    assert act(a, type="sync") == {"ok": True}
    assert received(a, "state") and not received(b, "state")


def test_export_then_import_restores_the_same_history(app, server, client):
    session = server.sessions.all()[0]
    session.cluster.run_for(700)
    act(client, type="submit", command="SET z 9")
    session.cluster.run_for(300)
    exported = act(client, type="export")
    assert exported["ok"] and exported["data"]["format"] == "raftviz-history"
    act(client, type="reset", nodes=3)
    ack = import_into(app, client, exported["data"])
    assert ack["ok"] and ack["length"] == exported["data"]["length"]
    assert session.cluster.snapshot()["nodes"][0]["log"] == \
        [{"index": 1, "term": session.cluster.nodes[1].log[0].term, "command": "SET z 9"}]
    assert last_state(client)["mode"] == "paused"


# ----- bad input: a plain error and nothing changes ------------------------------------------

BAD = [
    (None, "must be an object"),
    ("play", "must be an object"),
    ({"type": 5}, "must be an object"),
    ({"type": "explode"}, "Unknown action"),
    ({"type": "crash"}, "server number"),
    ({"type": "crash", "node": "1"}, "server number"),
    ({"type": "crash", "node": 1.5}, "server number"),
    ({"type": "crash", "node": 77}, "There is no S77"),
    ({"type": "crash", "node": True}, "server number"),
    ({"type": "restart", "node": 1}, "already up"),
    ({"type": "crash", "node": 1, "extra": 1}, "does not take extra"),
    ({"type": "seek", "seq": -1}, "seq must be"),
    ({"type": "seek", "seq": 10**9}, "out of range"),
    ({"type": "seek"}, "seq must be"),
    ({"type": "speed", "value": 0}, "Speed must be"),
    ({"type": "speed", "value": 5}, "Speed must be"),
    ({"type": "speed", "value": "fast"}, "Speed must be"),
    ({"type": "speed", "value": float("nan")}, "Speed must be"),
    ({"type": "reset", "nodes": 0}, "from 1 to 9"),
    ({"type": "reset", "nodes": 10}, "from 1 to 9"),
    ({"type": "reset", "nodes": 5, "seed": -3}, "seed"),
    ({"type": "partition", "groups": "1,2"}, "at least one group"),
    ({"type": "partition", "groups": [[1, 2], [2]]}, "two partition groups"),
    ({"type": "partition", "groups": [[]]}, "non-empty"),
    ({"type": "cut", "a": 1, "b": 1}, "two different servers"),
    ({"type": "cut", "a": 1}, "second server"),
    ({"type": "drop", "message": 999999}, "not in flight"),
    ({"type": "drop", "message": "x"}, "by its number"),
    ({"type": "submit", "command": ""}, "cannot be empty"),
    ({"type": "submit", "command": "x" * 201}, "at most 200 characters"),
    ({"type": "submit", "command": ["SET"]}, "must be text"),
    ({"type": "submit", "command": "SET a 1", "node": 12}, "There is no S12"),
    ({"type": "network", "loss": 2}, "probability between 0 and 1"),
    ({"type": "network", "latency": [30, 10]}, "lowest latency must be above 0 ms and no more than the highest"),
    ({"type": "network", "latency": "slow"}, "Latency"),
    ({"type": "network"}, "Give a loss"),
    ({"type": "options", "options": {"warp_drive": True}}, "no option 'warp_drive'"),
    ({"type": "options", "options": {"fast_backup": "yes"}}, "true or false"),
    ({"type": "options", "options": {"entries_per_append": 0}}, "1 to 100"),
    ({"type": "import", "data": {"format": "raftviz-history", "version": 1}}, "HTTP POST to /api/import"),
    ({"type": "records", "before": 0}, "before must be"),
    ({"type": "visibility", "visible": "yes"}, "true or false"),
    ({"type": "submit", "command": "x", "padding": "p" * 20_000}, "too large"),
]


@pytest.mark.parametrize("payload, message", BAD, ids=[str(i) for i in range(len(BAD))])
def test_bad_actions_get_a_plain_error_and_leave_the_session_exactly_as_it_was(app, server, client, payload,
                                                                                  message):
    session = server.sessions.all()[0]
    session.cluster.run_for(500)
    before = fingerprint(session)
    ack = client.emit("action", payload, callback=True)
    assert ack["ok"] is False and message in ack["error"], ack
    assert fingerprint(session) == before
    assert act(client, type="sync")["ok"], "the server still answers"


BAD_IMPORTS = [
    (b"not json", "not JSON"),
    (b'"a string"', "not a JSON object"),
    (b"[" * 100_000, "not JSON"),
    (json.dumps({"format": "raftviz-history", "version": 1}).encode(), "cannot be imported"),
    (json.dumps({"format": "raftviz-history", "version": 1, "length": 10**7}).encode(), "at most 1,000,000"),
    (json.dumps({"format": "raftviz-history", "version": 1, "actions": [{}] * 10_001}).encode(),
     "at most 10,000"),
    (json.dumps({"blob": "x" * (5 * 1024 * 1024)}).encode(), "at most 4 MB"),
]


@pytest.mark.parametrize("body, message", BAD_IMPORTS, ids=[str(i) for i in range(len(BAD_IMPORTS))])
def test_bad_imports_get_a_plain_error_and_leave_the_session_exactly_as_it_was(app, server, client, body, message):
    session = server.sessions.all()[0]
    before = fingerprint(session)
    status, ack = post_import(app, session.id, None, raw=body)
    assert status in (400, 413) and ack["ok"] is False and message in ack["error"], ack
    assert len(ack["error"]) < 300
    assert fingerprint(session) == before


def test_an_import_needs_the_session_id_in_its_header(app, server, client):
    session = server.sessions.all()[0]
    before = fingerprint(session)
    data = json.dumps(session.cluster.export()).encode()
    response = app.test_client().post("/api/import", data=data, content_type="application/json",
                                      query_string={"session": session.id})
    assert response.status_code == 403 and "not attached to a session" in response.get_json()["error"]
    assert fingerprint(session) == before


def test_a_flood_of_actions_gets_slow_down_errors_then_recovers(app, server, client, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr("raftviz.web.time.monotonic", lambda: clock[0])
    answers = [act(client, type="pause") for _ in range(60)]
    assert all(a["ok"] for a in answers[:50])
    assert all(a == {"ok": False, "error": "Slow down: at most 50 actions per second."} for a in answers[50:])
    clock[0] += 1.5
    assert act(client, type="play")["ok"]


def test_an_engine_failure_in_a_session_does_not_stop_the_scheduler(app, server):
    connect(app), connect(app)                              # two sessions
    bad, good = server.sessions.all()
    bad.cluster.run_for = None                              # break one session's cluster
    good.speed = 1
    server.scheduler.run_once(1.0)
    server.scheduler.run_once(1.1)
    assert bad.mode == "paused" and good.cluster.now == pytest.approx(100.0)


# ----- scenarios -----------------------------------------------------------------------------

def play_out(server, session, t0=None):
    """Let the scheduler play a scenario step to its end."""
    t = t0 or time.monotonic()
    session.speed = 1
    while session.stop_at is not None:
        t += 0.25
        server.scheduler.run_once(t)


def test_loading_a_scenario_sends_its_state_and_narration(app, server, client):
    ack = act(client, type="scenario", id="first-election")
    assert ack == {"ok": True, "id": "first-election", "steps": 3}
    state = last_state(client)
    sc = state["scenario"]
    assert sc["title"] == "A first election" and sc["step"] == 0 and sc["steps"] == 3
    assert sc["question"]["choices"][sc["question"]["answer"] - 1] == "S2"
    assert state["mode"] == "paused" and state["nodes"][1]["timer"] == 128.0


def test_next_plays_the_step_and_pauses_where_it_ends(app, server, client):
    session = server.sessions.all()[0]
    act(client, type="scenario", id="first-election")
    ack = act(client, type="scenario_next")
    assert ack == {"ok": True, "step": 1, "failures": []}
    state = last_state(client)
    assert state["scenario"]["playing"] and state["mode"] == "playing" and state["seq"] == 0
    end = session.stop_at
    play_out(server, session)
    assert session.cluster.seq == end and session.mode == "paused"
    assert session.cluster.nodes[2].role == "candidate"
    update = received(client, "events")[-1]
    assert update["scenario"]["playing"] is False and update["scenario"]["caption"].startswith("All five servers started")


def test_next_while_a_step_plays_jumps_to_its_end(app, server, client):
    session = server.sessions.all()[0]
    act(client, type="scenario", id="leader-crash")
    act(client, type="scenario_next")
    play_out(server, session)
    act(client, type="scenario_next")
    end = session.stop_at
    assert act(client, type="scenario_next") == {"ok": True, "step": 2, "finished": True}
    assert session.cluster.seq == end and session.stop_at is None and session.cluster.leader() == 3


def test_back_restart_and_close(app, server, client):
    session = server.sessions.all()[0]
    act(client, type="scenario", id="split-vote")
    for _ in range(2):
        act(client, type="scenario_next")
        play_out(server, session)
    assert act(client, type="scenario_back") == {"ok": True, "step": 1}
    assert last_state(client)["scenario"]["step"] == 1
    assert act(client, type="scenario_restart") == {"ok": True, "step": 0}
    assert session.cluster.seq == 0
    assert act(client, type="scenario_close") == {"ok": True}
    assert session.scenario is None and received(client, "events")[-1]["scenario"] is None


def test_scenario_actions_refuse_clearly(app, server, client):
    assert act(client, type="scenario", id="no-such")["error"].startswith("There is no scenario 'no-such'")
    assert act(client, type="scenario", id=5)["ok"] is False
    assert act(client, type="scenario_next")["error"].startswith("No scenario is open")
    act(client, type="scenario", id="consistency-check")
    session = server.sessions.all()[0]
    for _ in range(4):
        act(client, type="scenario_next")
        play_out(server, session)
    assert "no more steps" in act(client, type="scenario_next")["error"]


def test_the_scenario_list_and_a_lecturers_broken_file(tmp_path):
    (tmp_path / "bad.yaml").write_text("id: bad\ntitle: Bad\nsteps: [{caption: c, actions: [fly: 1]}]\n")
    app = create_app({"START_SCHEDULER": False, "SCENARIOS": str(tmp_path)})
    data = app.test_client().get("/api/scenarios").get_json()
    # The library is the app's own: another app, or the command line, does not see that folder.
    assert "bad.yaml" not in " ".join(create_app({"START_SCHEDULER": False}).test_client()
                                      .get("/api/scenarios").get_json()["problems"])
    ids = {s["id"] for s in data["scenarios"]}
    assert {"figure-7", "figure-8", "split-vote"} <= ids
    assert all(s["lecture"] and s["source"] and s["summary"] for s in data["scenarios"])
    assert data["problems"] == ["bad.yaml: steps[0].actions[0]: unknown action 'fly' (known: crash, restart, "
                                "timeout, disconnect, connect, partition, heal, cut, link, drop, submit, network, options, "
                                "add_server, change_config, transfer_leadership, read, clients, stop_clients, "
                                "snapshot)"]


def test_save_as_scenario_gives_a_file_that_loads_and_replays_the_session(app, server, client):
    from raftviz.scenarios import Scenario, parse
    session = server.sessions.all()[0]
    session.cluster.run_for(600)
    act(client, type="crash", node=session.cluster.leader())
    session.cluster.run_for(800)
    act(client, type="submit", command="SET a 1")
    act(client, type="cut", a=1, b=2)
    session.cluster.run_for(300)
    act(client, type="drop", message=until_in_flight(session.cluster))
    session.cluster.run_for(200)
    ack = act(client, type="save_scenario")
    assert ack["ok"] and ack["filename"].endswith(".yaml")
    spec = parse(ack["yaml"], "saved.yaml")
    sc = Scenario(spec)
    assert sc.check() == []
    original = session.cluster
    assert [r["text"] for r in sc.cluster.trace] == [r["text"] for r in original.trace]


def test_an_unexpected_failure_is_answered_and_the_server_goes_on(app, server, client, monkeypatch):
    def broken(*_):
        raise RuntimeError("a bug")
    monkeypatch.setattr("raftviz.web.protocol.handle", broken)
    ack = act(client, type="play")
    assert ack["ok"] is False and "Something went wrong on the server" in ack["error"]
    assert received(client, "state")
    monkeypatch.undo()
    assert act(client, type="pause")["ok"]


# ----- regressions from review -------------------------------------------------------------

def test_a_refused_step_leaves_the_mode_as_it_was(app, server, client):
    session = server.sessions.all()[0]
    for i in range(1, 6):
        act(client, type="crash", node=i)
    session.cluster.run_for(100)                  # the last messages land
    act(client, type="play")
    ack = act(client, type="step")
    assert ack["ok"] is False and "no timer is running and no message is in flight" in ack["error"]
    assert session.mode == "playing"


def test_acting_in_the_past_sends_the_whole_state_so_the_page_drops_the_old_future(app, server, client):
    session = server.sessions.all()[0]
    session.cluster.run_for(1000)
    act(client, type="seek", seq=5)
    client.get_received()
    act(client, type="crash", node=1)
    assert len(session.cluster.trace) == 6
    state = last_state(client)
    assert state["length"] == 6 and all(m["seq"] <= 6 for m in state["markers"])


def test_an_import_cannot_choose_how_the_server_keeps_history(app, server, client):
    from raftviz.sim import Cluster
    from raftviz.web.limits import HISTORY_LIMIT
    data = Cluster(3, seed=1, checkpoint_interval=10, history_limit=50).export()
    assert import_into(app, client, data)["ok"]
    session = server.sessions.all()[0]
    assert session.cluster.config["checkpoint_interval"] == 1000
    assert session.cluster.config["history_limit"] == HISTORY_LIMIT
    # Nor by hiding the settings among the options (a checkpoint every 10 records would fill memory).
    data["config"]["options"].update(checkpoint_interval=10, history_limit=10)
    assert import_into(app, client, data)["ok"]
    assert session.cluster.config["checkpoint_interval"] == 1000
    assert session.cluster.config["history_limit"] == HISTORY_LIMIT


def test_imports_with_impossible_timings_are_refused(app, server, client):
    from raftviz.sim import Cluster
    fast = Cluster(3, seed=1).export()
    fast["config"]["heartbeat_interval"] = 0.0004
    ack = import_into(app, client, fast)
    assert ack["ok"] is False and "heartbeat interval must be from 1" in ack["error"]
    late = Cluster(3, seed=1).export()
    late["length"] = 1
    late["actions"] = [{"seq": 1, "time": 1e306, "type": "heal"}]
    ack = import_into(app, client, late)
    assert ack["ok"] is False and "no valid time" in ack["error"]
    far = Cluster(3, seed=1).export()
    far["position"]["time"] = 1e306                    # ignored: beyond any time the engine keeps
    assert import_into(app, client, far)["ok"]
    assert server.sessions.all()[0].cluster.now == 0
    assert act(client, type="sync")["ok"]


def test_the_state_can_be_sent_right_at_the_oldest_kept_record(app, server):
    from raftviz.sim import Cluster
    c = Cluster(5, seed=1, history_limit=2000)
    while len(c.trace) < 6000:
        c.run_for(1000)
    c.seek(c.oldest)
    from raftviz.web.sessions import Session
    state = Session("x", c, 0.025).state()
    assert state["seq"] == c.oldest and state["records"] == []


def test_a_session_that_makes_too_many_events_is_paused_with_a_notice(app, server, client, monkeypatch):
    monkeypatch.setattr("raftviz.web.sessions.MAX_TICK_EVENTS", 20)
    session = server.sessions.all()[0]
    session.speed = 1
    t = time.monotonic()
    server.scheduler.run_once(t)
    server.scheduler.run_once(t + 0.25)
    assert session.mode == "paused"
    notes = [u["notice"] for u in received(client, "events") if "notice" in u]
    assert notes and notes[0].startswith("Paused: this cluster produces events faster")


def registry_bad_values():
    """A bad value of every field of every action, from the registry (sim/actions.py)."""
    from raftviz.sim.actions import REGISTRY
    from test_actions import BAD
    for kind in REGISTRY.values():
        for f in kind.fields:
            for value in BAD[f.kind][:3]:
                yield pytest.param(kind.type, f.name, value, id=f"{kind.type}.{f.name}={value!r}"[:50])


@pytest.mark.parametrize("kind, field, value", list(registry_bad_values()))
def test_every_field_of_every_action_is_checked_at_the_protocol(app, server, client, kind, field, value):
    session = server.sessions.all()[0]
    session.cluster.run_for(500)
    before = fingerprint(session)
    good = {"crash": {"node": 1}, "restart": {"node": 1}, "timeout": {"node": 1}, "disconnect": {"node": 1},
            "connect": {"node": 1}, "partition": {"groups": [[1, 2]]}, "heal": {}, "cut": {"a": 1, "b": 2},
            "link": {"a": 1, "b": 2}, "drop": {"message": 1}, "submit": {"command": "SET x 1"},
            "network": {"loss": 0.1}, "options": {"options": {"fast_backup": True}}, "add_server": {},
            "change_config": {"voters": [1, 2, 3, 4]}, "transfer_leadership": {"to": 2}, "read": {"key": "x"},
            "clients": {"n": 2}, "stop_clients": {}, "snapshot": {"node": 1}}[kind]
    ack = client.emit("action", {"type": kind, **good, field: value}, callback=True)
    assert ack["ok"] is False and ack["error"][:1].isupper(), ack
    assert fingerprint(session) == before


# ----- clients: the history, its verdict, check_linearizable (issue 13) -----------------------

def do(client, action: dict):
    """An action whose fields may include "client" (act() takes that name for the test client)."""
    return client.emit("action", action, callback=True)


def stale_read(client, session):
    """Section 8's stale read, made through the protocol: with unsafe_local_reads, the
    leader is cut off with one follower, client 2 writes x = new at the new leader, and
    client 3 reads x at the old one, which answers from its own state: "old"."""
    c = session.cluster
    c.run_for(1000)
    assert act(client, type="options", options={"unsafe_local_reads": True})["ok"]
    assert do(client, {"type": "submit", "command": "SET x old", "client": 1})["index"]
    c.run_for(300)
    old = c.leader()
    other = 1 if old != 1 else 2
    assert act(client, type="partition", groups=[[old, other]])["ok"]
    c.run_for(2000)
    new = next(i for i, n in c.nodes.items() if n.role == "leader" and i != old)
    assert do(client, {"type": "submit", "command": "SET x new", "node": new, "client": 2})["index"]
    c.run_for(300)
    ack = do(client, {"type": "read", "key": "x", "node": old, "client": 3})
    assert ack["ok"] and ack["request"] == 3
    c.run_for(50)
    return old, new


def test_the_state_and_updates_carry_the_client_history(app, server, client):
    session = server.sessions.all()[0]
    assert last_state(client)["clients"] == {"ops": [], "total": 0, "counts": {"ok": 0, "pending": 0, "failed": 0,
                                             "reads": 0, "writes": 0}, "running": None, "verdict": None}
    session.cluster.run_for(1000)
    ack = act(client, type="clients", n=3, rate=20, read_ratio=0.5, timeout=300)
    assert ack["ok"] and ack["clients"] == [1, 2, 3]
    update = received(client, "events")[-1]
    assert update["clients"]["running"] == {"clients": [1, 2, 3], "rate": 20, "keys": ["x"], "read_ratio": 0.5,
                                           "timeout": 300}
    sent = {}
    for t in range(40):
        session.cluster.run_for(50)
        server.publish(session, 100.0 + t)
        for u in received(client, "events"):
            for op in u.get("clients", {}).get("ops", []):
                sent[op["id"]] = op
    history = session.cluster.history()
    assert len(history) > 20
    # What the page was sent, new and changed operations, adds up to the whole history.
    assert [sent[op["id"]] for op in history] == history
    counts = {s: sum(op["status"] == s for op in history) for s in ("ok", "pending", "failed")}
    session.cluster.run_for(1)
    server.publish(session, 200.0)
    last = [u for u in received(client, "events") if "clients" in u]
    if last:
        assert last[-1]["clients"]["total"] == len(session.cluster.history())
    assert sum(counts.values()) == len(history)


def test_a_state_carries_the_latest_operations_and_counts_of_all(app, server, client, monkeypatch):
    from raftviz.web import client_history
    monkeypatch.setattr(client_history, "WINDOW", 10)
    session = server.sessions.all()[0]
    session.cluster.run_for(1000)
    act(client, type="clients", n=4, rate=50, read_ratio=0.5)
    session.cluster.run_for(2000)
    act(client, type="sync")
    state = last_state(client)["clients"]
    history = session.cluster.history()
    assert state["total"] == len(history) > 10
    assert [op["id"] for op in state["ops"]] == [op["id"] for op in history[-10:]]
    assert sum(state["counts"][s] for s in ("ok", "pending", "failed")) == len(history)
    assert state["counts"]["reads"] + state["counts"]["writes"] == len(history)


def test_updates_without_client_activity_carry_no_client_history(app, server, client):
    session = server.sessions.all()[0]
    session.cluster.run_for(1000)
    do(client, {"type": "submit", "command": "SET x 1", "client": 1})
    session.cluster.run_for(500)
    server.publish(session, 50.0)
    client.get_received()
    session.cluster.run_for(300)                              # heartbeats only
    server.publish(session, 60.0)
    updates = received(client, "events")
    assert updates and all("clients" not in u for u in updates)


def test_check_linearizable_finds_a_stale_read_reports_it_and_the_page_is_told(app, server, client):
    session = server.sessions.all()[0]
    old, new = stale_read(client, session)
    act(client, type="pause")
    client.get_received()
    ack = act(client, type="check_linearizable")
    assert ack["ok"] is True and ack["linearizable"] is False, ack
    assert ack["operations"] == [1, 2, 3] and "saw “old”" in ack["explanation"]
    assert ack["checked"] == 3
    assert [v["property"] for v in session.cluster.violations] == ["Linearizability"]
    # Paused, nothing new happened in the cluster, yet the page gets the verdict and the banner's violation.
    update = received(client, "events")[-1]
    assert update["clients"]["verdict"]["ok"] is False
    assert update["clients"]["verdict"]["operations"] == [1, 2, 3]
    assert [op["result"] for op in update["clients"]["verdict"]["ops"]] == ["OK", "OK", "old"]
    # The violation goes with this update, unless the server's own check (about once a
    # second) found it first and sent it already; either way the page's state has it.
    if "violations" in update:
        assert [v["property"] for v in update["violations"]] == ["Linearizability"]
    act(client, type="sync")
    state = last_state(client)
    assert state["clients"]["verdict"]["ok"] is False
    assert [v["property"] for v in state["violations"]] == ["Linearizability"]


def test_the_server_checks_the_history_by_itself_as_operations_change(app, server, client):
    session = server.sessions.all()[0]
    stale_read(client, session)
    client.get_received()
    session.feed._last_check = -1e9                           # as if the last check were long ago
    session.cluster.run_for(10)
    server.publish(session, 500.0)
    verdicts = [u["clients"]["verdict"] for u in received(client, "events") if "verdict" in u.get("clients", {})]
    assert verdicts and verdicts[-1]["ok"] is False and verdicts[-1]["auto"] is True
    assert [v["property"] for v in session.cluster.violations] == ["Linearizability"]
    # Back before the stale read: the history there is linearizable again.
    act(client, type="seek", seq=session.cluster.seq - 200)
    session.feed._last_check = -1e9
    server.publish(session, 501.0)
    verdict = [u for u in received(client, "events") if "clients" in u][-1]["clients"]["verdict"]
    assert verdict["ok"] is True


def test_a_linearizable_history_checks_out(app, server, client):
    session = server.sessions.all()[0]
    session.cluster.run_for(1000)
    act(client, type="clients", n=3, rate=20)
    session.cluster.run_for(2000)
    ack = act(client, type="check_linearizable")
    assert ack["ok"] and ack["linearizable"] is True and ack["explanation"] is None and ack["operations"] == []
    assert session.cluster.violations == []


BAD_CHECKS = [
    ({"type": "check_linearizable", "keys": ["x"]}, "does not take keys"),
    ({"type": "check_linearizable", "now": True}, "does not take now"),
]


@pytest.mark.parametrize("payload, message", BAD_CHECKS, ids=["keys", "now"])
def test_bad_checks_get_a_plain_error_and_change_nothing(app, server, client, payload, message):
    session = server.sessions.all()[0]
    stale_read(client, session)
    before = fingerprint(session)
    ack = client.emit("action", payload, callback=True)
    assert ack["ok"] is False and message in ack["error"], ack
    assert fingerprint(session) == before and session.cluster.violations == []


def test_a_check_without_operations_is_refused_in_plain_words(app, server, client):
    session = server.sessions.all()[0]
    session.cluster.run_for(500)
    before = fingerprint(session)
    ack = act(client, type="check_linearizable")
    assert ack["ok"] is False and "no client operation" in ack["error"]
    assert fingerprint(session) == before


def test_a_history_too_wide_to_check_quickly_is_refused_not_checked(app, server, client):
    """Thirteen writes still pending at a leader cut off in a minority overlap everything
    after them: the checker's work doubles with each, so the server does not run it."""
    session = server.sessions.all()[0]
    c = session.cluster
    c.run_for(1000)
    old = c.leader()
    act(client, type="partition", groups=[[old]])
    for k in range(13):
        assert do(client, {"type": "submit", "command": f"SET x {k}", "node": old, "client": 10 + k})["ok"]
    pending = [op for op in c.history() if op["status"] == "pending"]
    assert len(pending) == 13
    before = fingerprint(session)
    ack = act(client, type="check_linearizable")
    assert ack["ok"] is False and "13 operations overlap in time on x" in ack["error"], ack
    assert fingerprint(session) == before
    # The server's own check says why it did not check, and blocks nothing.
    session.feed._last_check = -1e9
    session.feed._dirty = True
    server.publish(session, 10.0)
    verdict = session.feed.verdict
    assert verdict["ok"] is None and "overlap" in verdict["reason"]


def test_simulated_clients_pause_a_playing_session_at_the_log_limit(app, server, client, monkeypatch):
    from raftviz.web import limits
    session = server.sessions.all()[0]
    session.cluster.run_for(1000)
    act(client, type="clients", n=3, rate=50, read_ratio=0)
    monkeypatch.setattr(limits, "MAX_LOG", 5)
    act(client, type="play")
    for t in range(60):
        server.scheduler.run_once(1.0 + t * 0.2)
        if session.mode == "paused":
            break
    assert session.mode == "paused"
    notices = [u["notice"] for u in received(client, "events") if "notice" in u]
    assert notices and "Stop the clients" in notices[-1]
    assert act(client, type="clients", n=1)["ok"] is False          # no more clients now
    assert act(client, type="stop_clients")["ok"]                    # but they can be stopped, and it goes on
    act(client, type="play")
    server.scheduler.run_once(20.0)
    server.scheduler.run_once(20.2)
    assert session.mode == "playing"
