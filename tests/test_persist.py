"""Sessions saved to a store and brought back by a new server (persist.py):
in-process, two apps on one SQLite file, as a restart would see it."""
import json
import logging
import sqlite3
import time

import pytest

from raftviz.web import create_app
from test_web_protocol import act, last_state


def make_app(path, **extra):
    return create_app({"START_SCHEDULER": False, "TESTING": True, "SESSION_SEED": 11, "STORE": str(path), **extra})


def connect(app, **auth):
    client = app.extensions["raftviz"].socketio.test_client(app, auth=auth or None)
    assert client.is_connected()
    return client


@pytest.fixture
def path(tmp_path):
    return tmp_path / "sessions.sqlite3"


def test_a_session_comes_back_exactly_where_it_was(path):
    first = make_app(path)
    page = connect(first)
    sid = last_state(page)["session"]
    for action in ({"type": "pause"}, {"type": "speed", "value": 0.5}, {"type": "step"}, {"type": "crash", "node": 2},
                   {"type": "options", "pre_vote": True}, {"type": "submit", "command": "SET x 1"}):
        assert act(page, **action)["ok"], action
    for _ in range(40):
        act(page, type="step")
    session = first.extensions["raftviz"].sessions.get(sid)
    before = session.state()

    again = make_app(path)                               # a new process on the same store
    page = connect(again, session=sid)
    state = last_state(page)
    assert state["session"] == sid and "notice" not in state
    for key in ("seq", "time", "nodes", "messages", "network", "options", "violations", "mode", "speed"):
        assert state[key] == before[key], key
    assert state["records"] == before["records"]


def test_a_playing_session_comes_back_playing_a_few_ticks_before_at_most(path):
    first = make_app(path)
    server = first.extensions["raftviz"]
    page = connect(first)
    sid = last_state(page)["session"]
    session = server.sessions.get(sid)
    assert act(page, type="speed", value=1.0)["ok"]
    now = time.monotonic()
    for k in range(60):                                   # 3 s of ticks, saved every 2 s while only playing
        server.scheduler.run_once(now + k * 0.05)
    saved_at = session.cluster.seq
    assert saved_at > 0
    again = make_app(path).extensions["raftviz"].sessions.get(sid)
    assert again.mode == "playing"
    assert 0 < again.cluster.seq <= saved_at and again.cluster.trace[again.cluster.seq - 1] == \
        session.cluster.trace[again.cluster.seq - 1]


def test_a_scenario_and_a_room_come_back_and_go_on(path):
    first = make_app(path)
    owner = connect(first)
    sid = last_state(owner)["session"]
    assert act(owner, type="scenario", id="figure-8")["ok"]
    for _ in range(4):
        act(owner, type="scenario_next")
        act(owner, type="scenario_next")                 # finish playing the step
    opened = act(owner, type="room_open")
    viewer = connect(first, join=opened["room"]["code"])
    token = last_state(viewer)["room"]["token"]
    tried = connect(first, join=opened["room"]["code"])
    copy = act(tried, type="room_fork")["session"]
    act(tried, type="crash", node=3)
    first.extensions["raftviz"].scheduler.run_once(time.monotonic())     # the next tick saves the joins
    before = first.extensions["raftviz"].sessions.get(sid).state()

    again = make_app(path)
    server = again.extensions["raftviz"]
    back = connect(again, session=sid, owner=opened["owner"])
    state = last_state(back)
    assert state["room"]["role"] == "owner" and state["room"]["code"] == opened["room"]["code"]
    assert state["scenario"] == before["scenario"] and state["seq"] == before["seq"]
    assert act(back, type="scenario_next")["ok"] and act(back, type="scenario_back")["ok"]
    follower = connect(again, join=opened["room"]["code"], viewer=token)
    assert last_state(follower)["room"]["token"] == token, "the same viewer, in the same room"
    retrier = connect(again, session=copy)
    mine = last_state(retrier)
    assert mine["trying"]["code"] == opened["room"]["code"]
    assert not [n for n in mine["nodes"] if n["id"] == 3][0]["up"], "the copy, as its viewer left it"
    assert act(retrier, type="room_follow")["ok"]
    assert server.sessions.get(copy) is None


def test_unreadable_rows_are_skipped_with_a_line_naming_them(path, caplog):
    first = make_app(path)
    page = connect(first)
    sid = last_state(page)["session"]
    assert act(page, type="crash", node=1)["ok"]
    db = sqlite3.connect(path)
    now = time.time()
    db.execute("INSERT INTO sessions VALUES (?, ?, ?)", ("not-json", now, "{oops"))
    db.execute("INSERT INTO sessions VALUES (?, ?, ?)", ("foreign", now, json.dumps({"hello": "world"})))
    db.execute("INSERT INTO sessions VALUES (?, ?, ?)", ("bad-history", now, json.dumps(
        {"format": "raftviz-session", "version": 1, "id": "bad-history", "history": {"format": "nope"}, "speed": 1})))
    db.execute("INSERT INTO sessions VALUES (?, ?, ?)", ("future", now, json.dumps(
        {"format": "raftviz-session", "version": 99, "id": "future"})))
    db.commit()
    db.close()
    with caplog.at_level(logging.WARNING):
        again = make_app(path)
        server = again.extensions["raftviz"]
        for name in ("not-json", "foreign", "bad-history", "future"):
            assert server.sessions.get(name) is None
        assert server.sessions.get(sid) is not None, "the good one is back"
    logged = caplog.text
    for name in ("not-json", "foreign", "bad-history", "future"):
        assert name in logged
    assert "Traceback" not in logged


def test_a_session_past_its_ttl_does_not_come_back_and_an_expired_one_is_forgotten(path):
    first = make_app(path, SESSION_TTL=600.0)
    server = first.extensions["raftviz"]
    page = connect(first)
    sid = last_state(page)["session"]
    act(page, type="crash", node=1)
    page.disconnect()
    server.scheduler.run_once(time.monotonic() + 10_000)     # the session expires: the store forgets it
    assert server.sessions.get(sid) is None
    assert make_app(path).extensions["raftviz"].sessions.get(sid) is None
    other = make_app(path, SESSION_TTL=0.001)
    time.sleep(0.01)
    assert not make_app(path, SESSION_TTL=0.001).extensions["raftviz"].sessions.pending
    assert other is not None


def test_without_a_store_nothing_is_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = create_app({"START_SCHEDULER": False, "TESTING": True, "STORE": "none"})
    page = connect(app)
    act(page, type="crash", node=1)
    assert app.extensions["raftviz"].keeper is None
    assert not list(tmp_path.rglob("*.sqlite3"))


def test_a_session_slow_to_save_is_saved_at_most_every_ten_times_its_cost(path):
    from raftviz.web import persist

    class Slow(persist.SqliteStore):
        writes = 0

        def save(self, sid, text, saved):
            Slow.writes += 1
            time.sleep(0.005)                               # as a history of thousands of actions would take
            super().save(sid, text, saved)

    app = make_app(path)
    server = app.extensions["raftviz"]
    keeper = server.keeper
    keeper.store = Slow(path)
    page = connect(app)
    session = server.sessions.get(last_state(page)["session"])
    t = time.monotonic()
    for k in range(20):                                     # a client acting as fast as it may
        session.cluster.crash(1 + k % 5) if k % 2 == 0 else session.cluster.restart(1 + (k - 1) % 5)
        keeper.maybe_save(session, t + k * 0.005)
    assert Slow.writes <= 2, "a slow session is not written at every action"
    keeper.maybe_save(session, t + 1.0)                     # and what it did is written a moment later
    assert Slow.writes <= 3
    back = make_app(path).extensions["raftviz"].sessions.get(session.id)
    assert back.cluster.recorded_actions == session.cluster.recorded_actions


def test_pages_asking_for_a_session_while_it_is_being_brought_back_all_get_it(path):
    import threading
    first = make_app(path)
    page = connect(first)
    sid = last_state(page)["session"]
    assert act(page, type="speed", value=1.0)["ok"]
    session = first.extensions["raftviz"].sessions.get(sid)
    session.cluster.run_for(20_000)                       # a history that takes a while to replay
    assert act(page, type="crash", node=3)["ok"]
    again = make_app(path).extensions["raftviz"]
    got, start = [], threading.Barrier(4)

    def ask():
        start.wait()
        got.append(again.sessions.get(sid))

    askers = [threading.Thread(target=ask) for _ in range(4)]
    for t in askers:
        t.start()
    for t in askers:
        t.join(timeout=60)
    assert len(got) == 4 and all(s is got[0] for s in got) and got[0] is not None
    assert got[0].cluster.seq == session.cluster.seq
    assert len(again.sessions) == 1, "no page was given a new, empty session"


def test_a_session_open_but_idle_for_longer_than_the_ttl_stays_in_the_store(path):
    app = make_app(path, SESSION_TTL=3.0)
    server = app.extensions["raftviz"]
    page = connect(app)
    sid = last_state(page)["session"]
    assert act(page, type="pause")["ok"]
    for _ in range(3):                                        # 3.6 s, paused, the page still open
        time.sleep(1.2)
        server.scheduler.run_once(time.monotonic())
    assert make_app(path, SESSION_TTL=3.0).extensions["raftviz"].sessions.get(sid) is not None


def test_every_acknowledged_action_is_in_the_store_even_in_a_long_history(path):
    app = make_app(path)
    server = app.extensions["raftviz"]
    page = connect(app)
    session = server.sessions.get(last_state(page)["session"])
    for k in range(3000):                                     # a long history: slow to save
        session.cluster.crash(1 + k % 5) if k % 2 == 0 else session.cluster.restart(1 + (k - 1) % 5)
    for node in (1, 2, 3):
        if not session.cluster.nodes[node].up:
            assert act(page, type="restart", node=node)["ok"]
    assert act(page, type="crash", node=2)["ok"]              # and then the process is killed at once
    back = make_app(path).extensions["raftviz"].sessions.get(session.id)
    assert back.cluster.recorded_actions == session.cluster.recorded_actions
    assert not back.cluster.nodes[2].up


def test_rows_with_odd_ids_or_corrupt_values_are_skipped_naming_them(path, caplog):
    first = make_app(path)
    page = connect(first)
    good = last_state(page)["session"]
    opened = act(page, type="room_open")
    assert opened["ok"]
    db = sqlite3.connect(path)
    doc = json.loads(db.execute("SELECT doc FROM sessions WHERE id = ?", (good,)).fetchone()[0])
    now = time.time()

    def bad(name, change):
        d = json.loads(json.dumps(doc))
        d["id"] = name
        change(d)
        db.execute("INSERT INTO sessions VALUES (?, ?, ?)", (name, now, json.dumps(d)))

    bad("nan-speed", lambda d: d.update(speed=float("nan")))
    bad("huge-speed", lambda d: d.update(speed=1e9))
    bad("bad-answers", lambda d: d["room"].update(question={"key": "k", "prompt": "p", "choices": ["a", "b"],
                                                             "adhoc": True, "open": True, "answers": {"t": "zz"},
                                                             "revealed": False}))
    bad("bad-control", lambda d: d["room"].update(control=["x"]))
    bad("bad-secret", lambda d: d["room"].update(secret=5))
    bad("bad-trying", lambda d: d.update(room=None, trying={"room": []}))
    db.execute("INSERT INTO sessions VALUES (NULL, ?, ?)", (now, json.dumps(doc)))
    db.commit()
    db.close()
    with caplog.at_level(logging.WARNING):
        again = make_app(path)
        server = again.extensions["raftviz"]
        worker = __import__("threading").Thread(target=server.keeper.bring_all_back, daemon=True)
        worker.start()
        worker.join(timeout=30)
        assert not worker.is_alive(), "bringing every row back ends"
    for name in ("nan-speed", "huge-speed", "bad-answers", "bad-control", "bad-secret", "bad-trying"):
        assert server.sessions.get(name) is None, name
        assert name in caplog.text, name
    assert "None" in caplog.text and "not a session id" in caplog.text
    assert server.sessions.get(good) is not None
    owner = connect(again, session=good, owner=opened["owner"])
    assert last_state(owner)["room"]["role"] == "owner"


def test_a_store_file_that_is_not_a_raftviz_store_is_said_and_the_server_runs_without_one(tmp_path, caplog):
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"this is not a database" * 100)
    foreign = tmp_path / "foreign.sqlite3"
    db = sqlite3.connect(foreign)
    db.execute("CREATE TABLE sessions (name TEXT, value BLOB)")
    db.commit()
    db.close()
    for path in (junk, foreign):
        with caplog.at_level(logging.WARNING):
            app = make_app(path)
        assert app.extensions["raftviz"].keeper is None
        assert str(path) in caplog.text
        page = connect(app)
        assert act(page, type="crash", node=1)["ok"], "the server runs, without a store"
