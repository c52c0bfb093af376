"""No client can hurt the others (issue 10), through Flask-SocketIO's test
client: sessions and connections, budgets, memory limits, edges. The real
server, raw packets and the fuzz test are in test_server_e2e.py and
test_fuzz.py."""
import gc
import json
import threading
import time
import types

import pytest

from raftviz.sim import Cluster
from raftviz.web import create_app, limits, work
from raftviz.web.sessions import CPU_BURST
from test_web_protocol import act, connect, fingerprint, last_state, post_import, received
from test_web_protocol import app, server  # noqa: F401  (the same fixtures)


# ----- sessions and connections ----------------------------------------------------------

def test_connect_events_sent_by_a_client_make_no_sessions(app, server):
    client = connect(app)
    session_id = last_state(client)["session"]
    for _ in range(20):
        client.emit("connect", {"session": None})
    assert len(server.sessions) == 1
    assert list(server.sessions.get(session_id).connections) == list(server.seats)


def test_a_disconnect_event_sent_by_a_client_does_not_detach_it(app, server):
    client = connect(app)
    client.emit("disconnect")
    assert act(client, type="pause")["ok"]
    assert server.sessions.all()[0].connections


def test_a_closed_connection_is_detached_from_every_session(app, server):
    client = connect(app)
    for _ in range(5):
        client.emit("connect", {})
    client.disconnect()
    assert all(not s.connections for s in server.sessions.all())


def test_a_session_nobody_acted_in_is_reaped_within_a_minute_and_one_acted_in_is_kept(app, server):
    idle, used = connect(app), connect(app)
    idle_id, used_id = last_state(idle)["session"], last_state(used)["session"]
    assert act(used, type="crash", node=1)["ok"]
    idle.disconnect()
    used.disconnect()
    later = time.monotonic() + 50
    assert server.sessions.reap(later) == [idle_id]
    assert server.sessions.get(used_id) is not None
    assert server.sessions.reap(later + server.sessions.ttl) == [used_id]


def test_new_sessions_per_address_are_limited_with_a_sentence():
    app = create_app({"START_SCHEDULER": False, "NEW_SESSIONS_PER_MINUTE": 3})
    server = app.extensions["raftviz"]
    for _ in range(3):
        connect(app).disconnect()
    refused = server.socketio.test_client(app)
    assert not refused.is_connected()
    with pytest.raises(Exception, match="Too many new sessions from your address"):
        server.sessions.create("")           # the test client's address
    assert server.sessions.create("10.0.0.7"), "other addresses still get sessions"
    assert len(server.sessions) == 4


# ----- edges -------------------------------------------------------------------------------

def test_a_wrong_arity_action_is_answered_and_counts_against_the_rate_limit(app, server, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr("raftviz.web.time.monotonic", lambda: clock[0])
    client = connect(app)
    answers = [client.emit("action", {"type": "pause"}, {"more": 1}, callback=True) for _ in range(50)]
    assert all(a["ok"] is False and "one object" in a["error"] for a in answers)
    assert act(client, type="pause")["error"].startswith("Slow down")
    no_args = client.emit("action", callback=True)
    assert no_args["ok"] is False


LONG = "x" * 15_000


@pytest.mark.parametrize("action", [
    {"type": LONG}, {"type": "crash", "node": LONG}, {"type": "crash", "node": 1, LONG: 1},
    {"type": "scenario", "id": LONG}, {"type": "options", "options": {LONG: True}},
    {"type": "reset", "nodes": 5, "seed": 10**90}, {"type": "crash", "node": [[["y" * 100] * 2] * 2]},
    {"type": "partition", "groups": [[LONG]]},
], ids=range(8))
def test_errors_quote_at_most_80_characters_of_input(app, server, action):
    client = connect(app)
    session = server.sessions.all()[0]
    before = fingerprint(session)
    ack = client.emit("action", action, callback=True)
    assert ack["ok"] is False, ack
    assert not any(c * 81 in ack["error"] for c in "x0y")
    # The quote is short; the rest is our own sentence (here with the list of known actions).
    assert len(ack["error"]) < 600
    assert fingerprint(session) == before


def test_the_scenario_list_names_files_never_the_servers_folders(tmp_path):
    missing = tmp_path / "no-such-folder"
    app = create_app({"START_SCHEDULER": False, "SCENARIOS": str(missing)})
    body = app.test_client().get("/api/scenarios").get_data(as_text=True)
    assert str(tmp_path) not in body and "no-such-folder" in body
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "locked.yaml").write_text("id: x")
    (folder / "locked.yaml").chmod(0)
    app = create_app({"START_SCHEDULER": False, "SCENARIOS": str(folder)})
    body = app.test_client().get("/api/scenarios").get_data(as_text=True)
    assert str(tmp_path) not in body


def test_pages_carry_the_security_headers_and_framing_is_configurable():
    app = create_app({"START_SCHEDULER": False})
    headers = app.test_client().get("/", base_url="http://class.example:5000").headers
    csp = headers["Content-Security-Policy"]
    assert "script-src 'self';" in csp and "unsafe-inline" not in csp.split("style-src")[0]
    assert "connect-src 'self' ws://class.example:5000 wss://class.example:5000" in csp
    assert "frame-ancestors 'self'" in csp
    assert headers["Referrer-Policy"] == "no-referrer" and headers["X-Content-Type-Options"] == "nosniff"
    framed = create_app({"START_SCHEDULER": False, "FRAME_ANCESTORS": "https://course.example.edu"})
    assert framed.test_client().get("/").headers["Content-Security-Policy"].endswith(
        "frame-ancestors https://course.example.edu")


# ----- budgets -----------------------------------------------------------------------------

def test_the_scheduler_passes_over_a_session_busy_with_a_request(app, server):
    busy_client, other_client = connect(app), connect(app)
    busy, other = server.sessions.all()
    other.speed = 1
    held, release = threading.Event(), threading.Event()

    def hold():
        with busy.lock:
            held.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait(5)
    try:
        finished = threading.Event()
        threading.Thread(target=lambda: (server.scheduler.run_once(1.0), server.scheduler.run_once(1.1),
                                         finished.set())).start()
        assert finished.wait(5), "the scheduler waited for the busy session"
        assert other.cluster.now == pytest.approx(100.0)
    finally:
        release.set()
        holder.join()


def test_a_scenario_step_past_its_budget_stops_with_a_plain_message(tmp_path, monkeypatch):
    from raftviz import scenarios
    (tmp_path / "storm.yaml").write_text(
        "id: storm\ntitle: Timers of 1 ms\ncluster: {election_timeout: [1, 1], heartbeat_interval: 1, "
        "latency: [5, 10]}\nsteps:\n  - caption: a minute of elections\n    until: {for: 60000}\n")
    monkeypatch.setattr(work, "STEP_BUDGET", (5.0, 20_000))
    monkeypatch.setattr("raftviz.web.protocol.STEP_BUDGET", (5.0, 20_000))
    app = create_app({"START_SCHEDULER": False, "SCENARIOS": str(tmp_path)})
    client = connect(app)
    assert act(client, type="scenario", id="storm")["ok"]
    ack = act(client, type="scenario_next")
    assert ack["ok"] and ack["failures"] and "needs more than 20,000 events" in ack["failures"][0]
    session = app.extensions["raftviz"].sessions.all()[0]
    assert len(session.cluster.trace) < 25_000
    assert act(client, type="pause")["ok"], "the session still answers"


def test_an_import_past_its_budget_is_refused_and_changes_nothing(app, server, monkeypatch):
    client = connect(app)
    session = server.sessions.all()[0]
    c = Cluster(3, seed=2)
    c.run_for(3000)
    monkeypatch.setattr("raftviz.web.imports.IMPORT_BUDGET", (60.0, 100))
    before = fingerprint(session)
    status, ack = post_import(app, session.id, c.export())
    assert status == 400 and "needs more than 100 events" in ack["error"] and "Nothing was changed" in ack["error"]
    assert fingerprint(session) == before


def test_a_session_that_used_its_share_is_refused_expensive_actions_but_not_others(app, server):
    hog, other = connect(app), connect(app)
    session = server.sessions.all()[0]
    session.charge(CPU_BURST + 3, time.monotonic())
    ack = act(hog, type="sync")
    assert ack["ok"] is False and ack["error"].startswith("Slow down: this session has used its share")
    assert act(hog, type="pause")["ok"], "cheap actions still work"
    assert act(other, type="sync")["ok"], "other sessions are not affected"


def test_every_request_is_charged_to_its_session(app, server):
    client = connect(app)
    session = server.sessions.all()[0]
    session.cluster.run_for(20_000)
    before = session.credit(time.monotonic())
    for _ in range(5):
        act(client, type="sync")
    assert session.credit(time.monotonic()) < before


# ----- memory ------------------------------------------------------------------------------

def _tracked_objects(root) -> int:
    """Objects reachable from `root` that the garbage collector scans in a full pass."""
    seen, stack = set(), [root]
    while stack:
        o = stack.pop()
        if id(o) in seen or not gc.is_tracked(o) or isinstance(o, (type, types.ModuleType, types.FunctionType)):
            continue
        seen.add(id(o))
        stack.extend(gc.get_referents(o))
    return len(seen)


def test_a_long_history_holds_few_objects_for_the_garbage_collector():
    # A full collection scans every session's objects at once without yielding to the loop:
    # a history must not hold its records as objects for long (it rebuilds old ones when read).
    c = Cluster(5, seed=1, **limits.KEEP)
    while len(c.trace) < 30_000:
        c.run_for(20_000)
    assert _tracked_objects(c) < 12_000
    assert c.trace[1000]["seq"] == 1001 and len(c.records(5000, 5999)) == 1000, "older records still read"


FLOOD = {"size": 5, "seed": 1, "election_timeout": [1, 1], "heartbeat_interval": 1, "latency": [1000, 1000]}


def test_an_import_that_would_keep_too_many_messages_in_flight_is_refused(app, server, monkeypatch):
    # Timers of 1 ms and messages of 1 s: every checkpoint would hold thousands of messages.
    client = connect(app)
    session = server.sessions.all()[0]
    monkeypatch.setattr(limits, "MAX_IN_FLIGHT", 2000)
    before = fingerprint(session)
    status, ack = post_import(app, session.id, {
        "format": "raftviz-history", "version": 1, "config": FLOOD, "initial": None, "actions": [],
        "length": 30_000, "position": {"seq": 30_000, "time": 0}})
    assert status == 400 and "more than 2,000 messages in flight" in ack["error"], ack
    assert "Nothing was changed" in ack["error"] and fingerprint(session) == before
    assert act(client, type="sync")["ok"]


def test_a_playing_cluster_that_would_keep_too_many_messages_in_flight_pauses_and_says_so(app, server,
                                                                                          monkeypatch):
    client = connect(app)
    session = server.sessions.all()[0]
    session.cluster.run_for(2000)
    monkeypatch.setattr(limits, "MAX_IN_FLIGHT", 300)
    assert act(client, type="network", latency=[10_000, 10_000])["ok"]
    assert act(client, type="speed", value=1)["ok"]
    t = 1.0
    while session.mode == "playing" and t < 30:
        server.scheduler.run_once(t)
        t += 0.25
    assert session.mode == "paused" and session.cluster.in_flight_count() < 1000
    notices = [u["notice"] for u in received(client, "events") if "notice" in u]
    assert any("more than 300 messages in flight" in n for n in notices), notices


def _scenario_app(tmp_path, text):
    (tmp_path / "mine.yaml").write_text(text)
    app = create_app({"START_SCHEDULER": False, "SCENARIOS": str(tmp_path)})
    return app, connect(app)


def test_a_scenario_step_that_would_keep_too_many_messages_in_flight_stops_with_a_plain_message(tmp_path,
                                                                                               monkeypatch):
    from raftviz import scenarios
    monkeypatch.setattr(limits, "MAX_IN_FLIGHT", 300)
    app, client = _scenario_app(tmp_path, (
        "id: flood\ntitle: Timers of 1 ms, messages of 1 s\ncluster: {election_timeout: [1, 1], "
        "heartbeat_interval: 1, latency: [1000, 1000]}\nsteps:\n  - caption: no leader can win\n"
        "    until: {leader: any, within: 5000}\n"))
    assert act(client, type="scenario", id="flood")["ok"]
    ack = act(client, type="scenario_next")
    assert ack["ok"] and "more than 300 messages in flight" in ack["failures"][0], ack
    session = app.extensions["raftviz"].sessions.all()[0]
    assert session.cluster.in_flight_count() < 1000


def test_a_scenario_keeps_its_history_within_the_session_budget_and_plays_a_long_step(tmp_path, monkeypatch):
    from raftviz import scenarios
    monkeypatch.setattr(limits, "KEEP", {"history_limit": 500, "checkpoint_interval": 100})
    app, client = _scenario_app(tmp_path, (
        "id: storm\ntitle: Timers of 1 ms\ncluster: {election_timeout: [1, 1], heartbeat_interval: 1, "
        "latency: [5, 10]}\nsteps:\n  - caption: elections\n    until: {for: 100}\n"
        "  - caption: more elections\n    until: {for: 100}\n"))
    assert act(client, type="scenario", id="storm")["ok"]
    session = app.extensions["raftviz"].sessions.all()[0]
    assert session.cluster.config["history_limit"] == 500
    first = act(client, type="scenario_next")
    assert first["ok"] and first["failures"] == [], first
    assert session.cluster.oldest > 0, "the step is longer than the history kept"
    assert session.mode == "playing" and session.cluster.seq == session.cluster.oldest
    second = act(client, type="scenario_next")           # finishes playing the first step
    assert second["ok"] and second.get("finished")
    assert act(client, type="scenario_next")["ok"]
    assert act(client, type="scenario_back")["ok"]        # its start is gone: the script is replayed
    assert session.scenario.index == 1 and session.cluster.config["history_limit"] == 500


def _with_actions(n: int) -> Cluster:
    c = Cluster(5, seed=3)
    c.run_for(1000)
    while c.recorded_actions < n:
        c.partition([1, 2], [3, 4, 5]) if c.recorded_actions % 2 else c.heal()
        c.run_for(5)
    return c


def test_saving_a_long_session_as_a_scenario_pauses_for_others_and_gives_a_file_that_loads(app, server):
    from raftviz.scenarios import parse
    from raftviz.web import protocol
    connect(app)
    session = server.sessions.all()[0]
    session.cluster = _with_actions(1000)
    pauses = []
    ack, _ = protocol.handle(session, {"type": "save_scenario"}, work.Work(pauses.append))
    assert ack["ok"], ack
    assert len(pauses) >= 2, "it let the loop answer others while it wrote"
    spec = parse(ack["yaml"], "saved.yaml")
    assert sum(len(step.actions) for step in spec.steps) == 1000


@pytest.mark.parametrize("make", [
    lambda: _with_actions(10_000),
    lambda: Cluster.replay({"format": "raftviz-history", "version": 1, "config": {"size": 1, "seed": 1},
                            "initial": None, "actions": [{"seq": 1, "time": 0, "type": "crash", "node": 1}],
                            "length": 1, "position": {"seq": 1, "time": 1e9}}),
], ids=["10,000 actions", "an idle clock of 1e9 ms"])
def test_a_session_longer_than_a_scenario_file_may_hold_is_refused_with_a_sentence(app, server, make):
    client = connect(app)
    session = server.sessions.all()[0]
    session.cluster = make()
    ack = act(client, type="save_scenario")
    assert ack["ok"] is False and "too long to save as a scenario" in ack["error"], str(ack)[:300]
    assert act(client, type="pause")["ok"]


def test_updates_carry_store_changes_not_whole_stores(app, server):
    client = connect(app)
    session = server.sessions.all()[0]
    session.cluster.run_for(1000)
    for k in range(30):
        act(client, type="submit", command=f"SET key{k} {k}")
    session.cluster.run_for(500)
    last_state(client)
    act(client, type="sync")
    client.get_received()
    act(client, type="submit", command="SET key3 changed")
    act(client, type="submit", command="DEL key4")
    session.cluster.run_for(500)
    server.publish(session, time.monotonic(), force_clock=True)
    views = [n for u in received(client, "events") for n in u.get("nodes", [])]
    assert views and all("store" not in v for v in views)
    patches = [v["store_patch"] for v in views if "store_patch" in v]
    assert patches and all(p == {"set": {"key3": "changed"}, "removed": ["key4"]} for p in patches)


def test_a_session_keeps_to_its_memory_budget_with_plain_messages(app, server, monkeypatch):
    client = connect(app)
    session = server.sessions.all()[0]
    session.cluster.run_for(1000)
    monkeypatch.setattr(limits, "MAX_STORE_KEYS", 3)
    for k in range(3):
        assert act(client, type="submit", command=f"SET k{k} 1")["ok"]
    refused = act(client, type="submit", command="SET k9 1")
    assert refused["ok"] is False and "more than 3 keys" in refused["error"]
    assert act(client, type="submit", command="SET k1 2")["ok"], "an existing key can still be set"
    monkeypatch.setattr(limits, "MAX_ACTIONS", session.cluster.recorded_actions)
    refused = act(client, type="crash", node=1)
    assert refused["ok"] is False and "recorded" in refused["error"]
    assert session.cluster.nodes[1].up
    assert session.cluster.config["history_limit"] == limits.HISTORY_LIMIT


def test_a_session_at_its_history_length_pauses_and_says_so(app, server, monkeypatch):
    client = connect(app)
    session = server.sessions.all()[0]
    session.speed = 1
    monkeypatch.setattr(limits, "MAX_RECORDS", 5)
    server.scheduler.run_once(1.0)
    server.scheduler.run_once(1.25)
    server.scheduler.run_once(1.5)
    assert session.mode == "paused"
    assert any("reached" in u.get("notice", "") for u in received(client, "events"))


def test_sessions_past_what_the_server_can_do_slow_evenly_and_are_told(app, server):
    clients = [connect(app) for _ in range(3)]
    for s in server.sessions.all():
        s.speed = 1
    t = 1.0
    server.scheduler.run_once(t)
    for _ in range(4):                    # ticks a second apart: the server is overloaded
        t += 1.0
        server.scheduler.run_once(t)
    times = [s.cluster.now for s in server.sessions.all()]
    assert times == [pytest.approx(1000.0)] * 3              # 4 ticks x 0.25 s each, the same for all
    for c in clients:
        assert any("server is busy" in u.get("notice", "") for u in received(c, "events"))


# ----- imports -----------------------------------------------------------------------------

def exported_with(mutate):
    c = Cluster(3, seed=4)
    c.run_for(800)
    c.crash(c.leader())
    c.run_for(400)
    data = json.loads(json.dumps(c.export()))
    mutate(data)
    return data


def _time_jump(d):
    d["actions"][0]["time"] = 1e12


def _commit_alone(d):
    d["initial"] = {"nodes": [{"id": 1, "term": 1, "log": [1], "commit_index": 1},
                              {"id": 2, "term": 1}, {"id": 3, "term": 1}]}
    d["config"].pop("size")


def _vote_in_term_0(d):
    d["initial"] = {"nodes": [{"id": 1, "voted_for": 2}, {"id": 2}, {"id": 3}]}
    d["config"].pop("size")


def _text_timeout(d):
    d["config"]["election_timeout"] = "12"


def _text_latency(d):
    d["config"]["latency"] = "59"


@pytest.mark.parametrize("mutate, message", [
    (_time_jump, "not in time order"),
    (_commit_alone, "but only S1 has term 1 at index 1"),
    (_vote_in_term_0, "voted_for must be null in term 0"),
    (_text_timeout, "election_timeout must be a pair of numbers"),
    (_text_latency, "Latency must be a pair of numbers"),
], ids=["time-order", "commit-without-majority", "vote-in-term-0", "timeout-as-text", "latency-as-text"])
def test_imports_of_impossible_histories_are_refused(app, server, mutate, message):
    client = connect(app)
    session = server.sessions.all()[0]
    before = fingerprint(session)
    status, ack = post_import(app, session.id, exported_with(mutate))
    assert status == 400 and message in ack["error"], ack
    assert fingerprint(session) == before
    assert act(client, type="sync")["ok"]


def test_an_action_recorded_after_an_event_that_was_due_before_it_is_refused():
    c = Cluster(3, seed=4)
    c.run_for(1000)
    data = c.export()
    data["actions"] = [{"seq": 1, "time": 900.0, "type": "heal"}]    # seq 1 came long before 900 ms
    data["length"], data["position"] = 1, {"seq": 1, "time": 900.0}
    with pytest.raises(ValueError, match="due before it"):
        Cluster.replay(data)


def test_a_long_export_re_imports():
    c = Cluster(3, seed=5, election_timeout=(2, 4), heartbeat_interval=1, latency=(0.5, 1))
    c.run_for(10)
    c.crash(c.leader())
    while len(c.trace) < 310_000:
        c.run_for(5000)
    data = json.loads(json.dumps(c.export()))
    app = create_app({"START_SCHEDULER": False})
    client = connect(app)
    session = app.extensions["raftviz"].sessions.all()[0]
    status, ack = post_import(app, session.id, data)
    assert status == 200 and ack["length"] == len(c.trace)
    assert session.cluster.snapshot()["nodes"] == c.snapshot()["nodes"]


def test_without_the_browser_client_the_page_says_what_to_run(monkeypatch, tmp_path):
    """An empty page with no word was what a checkout without node_modules served."""
    import raftviz.web as web
    monkeypatch.setattr(web, "VENDOR", tmp_path)           # a checkout where npm ci never ran
    assert web.browser_client_missing()
    response = create_app({"START_SCHEDULER": False}).test_client().get("/")
    assert response.status_code == 503 and "npm ci" in response.get_data(as_text=True)


def test_app_py_refuses_to_start_without_the_browser_client(tmp_path):
    """python app.py in a checkout without node_modules stops with what to run."""
    import shutil
    import subprocess
    import sys
    from pathlib import Path
    root = Path(__file__).resolve().parent.parent
    copy = tmp_path / "checkout"
    shutil.copytree(root, copy, ignore=shutil.ignore_patterns("node_modules", ".venv", ".git", "test-artifacts",
                                                             "__pycache__", ".pytest_cache"))
    done = subprocess.run([sys.executable, "app.py", "--port", "0"], cwd=copy, capture_output=True, text=True,
                          timeout=60, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(copy)})
    assert done.returncode == 1 and "npm ci" in done.stderr, done.stdout + done.stderr
