"""Classroom rooms through Flask-SocketIO's test client: opening, joining,
following, what a viewer may and may not do, control, copies, answers,
limits. The scheduler is driven by hand, so these run deterministically;
tests/test_rooms_e2e.py does the same on the real eventlet server."""
import re
import time

import pytest

from raftviz.web import JsonPacket
from raftviz.web.rooms import ALPHABET, RoomRefused
from test_web_protocol import act, received
from test_web_protocol import app, server  # noqa: F401  (the same fixtures)


def connect(app, **auth):
    """A page; unlike test_web_protocol's, it may be refused (a wrong code)."""
    return app.extensions["raftviz"].socketio.test_client(app, auth=auth or None)


def states(client):
    return received(client, "state")


def open_room(app):
    owner = connect(app)
    session_id = states(owner)[-1]["session"]
    ack = act(owner, type="room_open")
    assert ack["ok"], ack
    return owner, session_id, ack


def join(app, code, **extra):
    viewer = connect(app, join=code, **extra)
    assert viewer.is_connected()
    return viewer


def tick(server, seconds=0.0):
    import time
    server.scheduler.run_once(time.monotonic() + seconds)


def test_opening_a_room_gives_a_code_a_link_a_qr_code_and_the_owner_secret(app, server):
    owner, session_id, ack = open_room(app)
    code = ack["room"]["code"]
    assert len(code) == 6 and set(code) <= set(ALPHABET)
    assert not set(code) & set("01OIL"), "no look-alike characters"
    assert ack["room"]["link"] == f"/join/{code}"
    assert ack["room"]["qr"].startswith("<svg") and "viewBox" in ack["room"]["qr"]
    assert len(ack["owner"]) >= 24
    state = states(owner)[-1]
    assert state["room"]["role"] == "owner" and state["room"]["code"] == code
    assert state["room"]["watchers"] == 0
    assert app.test_client().get(ack["room"]["link"]).status_code == 200, "the link serves the page"


def test_a_viewer_joins_by_the_code_and_sees_the_lecturers_cluster_but_not_its_key(app, server):
    owner, session_id, ack = open_room(app)
    viewer = join(app, ack["room"]["code"].lower())      # typed in lower case: the same code
    state = states(viewer)[-1]
    assert state["room"]["role"] == "viewer" and state["room"]["watchers"] == 1
    assert state["session"] is None, "a viewer never learns the session id, which would let it act"
    session = server.sessions.get(session_id)
    assert state["seq"] == session.cluster.seq and state["nodes"] == session.state()["nodes"]
    assert len(server.sessions) == 1, "a viewer makes no session of its own"
    tick(server)
    owner_rooms = [e for e in received(owner, "events") if "room" in e]
    assert owner_rooms[-1]["room"]["watchers"] == 1


def test_viewers_follow_what_the_owner_does(app, server):
    owner, session_id, ack = open_room(app)
    viewer = join(app, ack["room"]["code"])
    viewer.get_received()
    assert act(owner, type="crash", node=2)["ok"]
    updates = received(viewer, "events")
    assert any(r["kind"] == "action" and "S2" in r["text"] for u in updates for r in u.get("records", []))
    assert act(owner, type="seek", seq=0)["ok"]
    last = states(viewer)[-1]
    assert last["seq"] == 0 and last["room"]["role"] == "viewer"


def test_every_changing_action_from_a_viewer_is_refused_and_changes_nothing(app, server):
    owner, session_id, ack = open_room(app)
    viewer = join(app, ack["room"]["code"])
    session = server.sessions.get(session_id)
    before = session.state()
    for action in ({"type": "crash", "node": 1}, {"type": "play"}, {"type": "pause"}, {"type": "step"},
                   {"type": "seek", "seq": 0}, {"type": "reset", "nodes": 3}, {"type": "speed", "value": 1},
                   {"type": "scenario", "id": "figure-8"}, {"type": "submit", "command": "SET x 1"},
                   {"type": "room_close"}, {"type": "room_control", "viewer": 1}, {"type": "room_open"},
                   {"type": "room_ask", "prompt": "?", "choices": ["a", "b"]}, {"type": "check_linearizable"}):
        answer = act(viewer, **action)
        assert answer["ok"] is False and answer["error"], action
    assert "lecturer" in act(viewer, type="crash", node=1)["error"]
    after = session.state()
    assert after["seq"] == before["seq"] and after["nodes"] == before["nodes"] and after["mode"] == before["mode"]
    assert session.room is not None, "the room is still open"
    assert act(viewer, type="records", before=1)["ok"], "looking is allowed"


def test_a_wrong_or_closed_code_is_refused_with_the_reason(app, server):
    owner, session_id, ack = open_room(app)
    code = ack["room"]["code"]
    other = next(c for c in ("222222", "333333") if c != code)
    assert not connect(app, join=other).is_connected()
    with pytest.raises(RoomRefused, match="no room with the code"):
        server.classroom.rooms.find(other, "10.0.0.1")
    assert act(owner, type="room_close")["ok"]
    with pytest.raises(RoomRefused, match="has closed"):
        server.classroom.rooms.find(code, "10.0.0.1")
    assert not connect(app, join=code).is_connected(), "a closed room's code is never used again"
    owner2 = connect(app)
    for _ in range(20):                                  # codes are never given out twice
        ack2 = act(owner2, type="room_open")
        assert ack2["ok"], ack2
        assert ack2["room"]["code"] != code
        act(owner2, type="room_close")


def test_guessing_codes_is_limited_per_address_and_a_known_viewer_still_gets_in(app, server):
    rooms = server.classroom.rooms
    owner, session_id, ack = open_room(app)
    code = ack["room"]["code"]
    viewer = join(app, code)
    token = states(viewer)[-1]["room"]["token"]
    guesses = [g for g in ("ZZZZZ" + ch for ch in ALPHABET) if g != code][:20]
    for guess in guesses:
        with pytest.raises(RoomRefused, match="no room"):
            rooms.find(guess, "10.0.0.9", now=100.0)
    with pytest.raises(RoomRefused, match="Too many wrong room codes"):
        rooms.find("ZZZZZZ", "10.0.0.9", now=101.0)
    with pytest.raises(RoomRefused, match="Too many wrong"):   # even the right code: a guesser learns nothing
        rooms.find(code, "10.0.0.9", now=102.0)
    with pytest.raises(RoomRefused, match="Too many wrong"):
        rooms.find(code, "10.0.0.9", now=102.0, token="guessed")
    assert rooms.find(code, "10.0.0.9", now=102.0, token=token), "a viewer coming back is let in"
    assert rooms.find(code, "10.0.0.10", now=102.0), "other addresses may still join"
    assert rooms.find(code, "10.0.0.9", now=161.0), "after a minute the address may try again"
    for k in range(200):                                 # many addresses guessing lock nobody else out
        try:
            rooms.find("YYYYY" + ALPHABET[k % 31], f"10.1.{k}.1", now=200.0)
        except RoomRefused:
            pass
    assert rooms.find(code, "10.2.0.1", now=200.5)
    with pytest.raises(RoomRefused, match="6 letters and digits"):
        rooms.find(12345, "10.3.0.1", now=200.5)


def test_caps_on_rooms_and_viewers(app, server):
    server.classroom.rooms.max_rooms = 2
    server.classroom.rooms.max_viewers = 3
    _, _, ack = open_room(app)
    open_room(app)
    third = connect(app)
    refused = act(third, type="room_open")
    assert not refused["ok"] and "2 rooms" in refused["error"]
    viewers = [join(app, ack["room"]["code"]) for _ in range(3)]
    assert not connect(app, join=ack["room"]["code"]).is_connected(), "the fourth viewer is refused"
    viewers[0].disconnect()
    assert connect(app, join=ack["room"]["code"]).is_connected(), "a place freed is taken again"


def test_viewer_actions_are_rate_limited_on_their_own_and_never_use_up_the_owners(app, server):
    owner, session_id, ack = open_room(app)
    viewer = join(app, ack["room"]["code"])
    answers = [act(viewer, type="sync") for _ in range(8)]
    assert sum(a["ok"] for a in answers) == 5
    assert "Slow down" in answers[-1]["error"]
    assert act(owner, type="sync")["ok"], "the owner is not slowed by a viewer"


def test_the_owner_hands_control_to_a_viewer_and_takes_it_back(app, server):
    owner, session_id, ack = open_room(app)
    viewer = join(app, ack["room"]["code"])
    number = states(viewer)[-1]["room"]["number"]
    assert not act(viewer, type="crash", node=3)["ok"]
    assert act(owner, type="room_control", viewer=number)["ok"]
    assert any(e.get("room", {}).get("control") is True for e in received(viewer, "events"))
    assert act(viewer, type="crash", node=3)["ok"]
    assert not server.sessions.get(session_id).cluster.nodes[3].up
    assert not act(viewer, type="room_close")["ok"], "control is of the cluster, not of the room"
    assert act(owner, type="room_control", viewer=None)["ok"]
    assert not act(viewer, type="restart", node=3)["ok"]
    assert not act(owner, type="room_control", viewer=99)["ok"]


def test_the_owner_comes_back_after_a_reload_with_the_secret_only(app, server):
    owner, session_id, ack = open_room(app)
    owner.disconnect()
    again = connect(app, session=session_id, owner=ack["owner"])
    assert states(again)[-1]["room"]["role"] == "owner"
    assert act(again, type="crash", node=1)["ok"]
    impostor = connect(app, session=session_id, owner="guess")
    state = states(impostor)[-1]
    assert state["room"]["role"] == "viewer" and state["session"] is None
    assert not act(impostor, type="restart", node=1)["ok"]
    status, answer = _import(app, session_id, {})
    assert status == 403 and "owner" in answer["error"]


def _import(app, session_id, data, owner=None):
    import json
    headers = {"X-Raftviz-Session": session_id}
    if owner:
        headers["X-Raftviz-Owner"] = owner
    response = app.test_client().post("/api/import", data=json.dumps(data), content_type="application/json",
                                      headers=headers)
    return response.status_code, response.get_json()


def test_try_from_here_forks_a_private_copy_and_back_to_the_class_returns(app, server):
    owner, session_id, ack = open_room(app)
    act(owner, type="crash", node=1)
    viewer = join(app, ack["room"]["code"])
    seq = server.sessions.get(session_id).cluster.seq
    fork = act(viewer, type="room_fork")
    assert fork["ok"]
    state = states(viewer)[-1]
    assert state["room"] is None and state["session"] == fork["session"] != session_id
    assert state["trying"]["code"] == ack["room"]["code"]
    assert state["seq"] == seq, "the copy starts where the class is"
    assert act(viewer, type="restart", node=1)["ok"] and act(viewer, type="crash", node=2)["ok"]
    assert not server.sessions.get(session_id).cluster.nodes[1].up, "the class's cluster is untouched"
    assert server.sessions.get(session_id).cluster.nodes[2].up
    viewer.get_received()
    act(owner, type="restart", node=1)
    assert not [e for e in received(viewer, "events") if e.get("records")], "a trying viewer sees its own copy"
    assert act(viewer, type="room_follow")["ok"]
    back = states(viewer)[-1]
    assert back["room"]["role"] == "viewer" and back["session"] is None
    assert back["nodes"][0]["up"] is True and back["seq"] == server.sessions.get(session_id).cluster.seq
    assert server.sessions.get(fork["session"]) is None, "the copy is let go"


def test_the_owner_shows_a_viewers_copy_only_when_offered(app, server):
    owner, session_id, ack = open_room(app)
    viewer = join(app, ack["room"]["code"])
    number = states(viewer)[-1]["room"]["number"]
    fork = act(viewer, type="room_fork")["session"]
    act(viewer, type="crash", node=4)
    refused = act(owner, type="room_show", viewer=number)
    assert not refused["ok"] and "offered" in refused["error"]
    assert act(viewer, type="room_offer", offer=True)["ok"]
    assert act(owner, type="room_show", viewer=number)["ok"]
    shown = states(owner)[-1]
    assert shown["session"] == session_id != fork, "the copy's id is its viewer's alone"
    assert shown["room"]["showing"] == number
    assert not [n for n in shown["nodes"] if n["id"] == 4][0]["up"]
    assert not act(owner, type="restart", node=4)["ok"], "the copy is the viewer's"
    assert act(viewer, type="room_offer", offer=False)["ok"]
    back = states(owner)[-1]
    assert back["session"] == session_id and back["room"]["showing"] is None


def test_answers_are_counted_for_the_owner_only(app, server):
    owner, session_id, ack = open_room(app)
    assert act(owner, type="scenario", id="figure-8")["ok"]
    session = server.sessions.get(session_id)
    viewers = [join(app, ack["room"]["code"]) for _ in range(4)]
    # The first step with a question.
    while not session.scenario_view()["question"]:
        assert act(owner, type="scenario_next")["ok"]
        act(owner, type="scenario_next")       # finish the step's playing
    tick(server)
    question = states(viewers[0])[-1]["scenario"]["question"] if False else session.scenario_view()["question"]
    for v, choice in zip(viewers, (1, 2, 2, 1 if len(question["choices"]) < 3 else 3)):
        assert act(v, type="answer", choice=choice)["ok"]
    assert act(viewers[0], type="answer", choice=2)["ok"], "a viewer may change its mind"
    bad = act(viewers[1], type="answer", choice=99)
    assert not bad["ok"] and "choices" in bad["error"]
    for v in viewers:
        v.get_received()
    owner.get_received()
    tick(server)
    counts = [e["answers"] for e in received(owner, "events") if "answers" in e][-1]
    expected = {str(k): 0 for k in range(1, len(question["choices"]) + 1)}
    for c in (2, 2, 2, 1 if len(question["choices"]) < 3 else 3):
        expected[str(c)] += 1
    assert counts == expected
    for v in viewers:
        for e in received(v, "events"):
            assert "answers" not in e and "counts" not in (e.get("room") or {}).get("question") or {}, \
                "no viewer sees the others' answers"
    assert act(owner, type="room_reveal")["ok"]
    tick(server)
    revealed = [e["room"]["question"] for e in received(viewers[1], "events") if e.get("room")][-1]
    assert revealed["counts"] == expected and not revealed["open"]
    late = act(viewers[2], type="answer", choice=1)
    assert not late["ok"] and "closed" in late["error"]


def test_an_adhoc_question_with_the_servers_as_choices(app, server):
    owner, session_id, ack = open_room(app)
    viewer = join(app, ack["room"]["code"])
    asked = act(owner, type="room_ask", prompt="Who will win this election?")
    assert asked["ok"] and asked["question"]["choices"] == ["S1", "S2", "S3", "S4", "S5"]
    tick(server)
    q = [e["room"]["question"] for e in received(viewer, "events") if e.get("room")][-1]
    assert q["prompt"] == "Who will win this election?" and q["open"]
    assert act(viewer, type="answer", choice=3)["ok"]
    tick(server)
    assert [e["answers"] for e in received(owner, "events") if "answers" in e][-1]["3"] == 1
    for bad in ({"prompt": "", "choices": ["a", "b"]}, {"prompt": "Q", "choices": ["a"]},
                {"prompt": "Q", "choices": ["a", "a"]}, {"prompt": "Q" * 500}, {"prompt": "Q", "choices": "ab"}):
        refused = act(owner, type="room_ask", **bad)
        assert not refused["ok"] and refused["error"], bad
    assert act(owner, type="room_ask", close=True)["ok"]
    assert server.sessions.get(session_id).room.question is None


def test_closing_the_room_leaves_each_viewer_a_private_copy(app, server):
    owner, session_id, ack = open_room(app)
    act(owner, type="crash", node=5)
    following = join(app, ack["room"]["code"])
    trying = join(app, ack["room"]["code"])
    tried = act(trying, type="room_fork")["session"]
    assert act(owner, type="room_close")["ok"]
    state = states(following)[-1]
    assert state["room"] is None and state["session"] not in (None, session_id)
    assert "closed" in state["notice"]
    assert not [n for n in state["nodes"] if n["id"] == 5][0]["up"], "the copy is the class's cluster"
    assert act(following, type="restart", node=5)["ok"], "the copy is the viewer's own"
    assert not server.sessions.get(session_id).cluster.nodes[5].up
    last = states(trying)[-1]
    assert last["session"] == tried and last.get("trying") is None
    assert states(owner)[-1]["room"] is None
    assert act(owner, type="crash", node=1)["ok"], "the owner keeps the session"


def test_the_owners_session_expiring_closes_the_room(app, server):
    owner, session_id, ack = open_room(app)
    viewer = join(app, ack["room"]["code"])
    owner.disconnect()
    import time
    server.sessions.reap(time.monotonic() + 10_000)
    server.classroom.sweep()
    state = states(viewer)[-1]
    assert state["room"] is None and "ended" in state["notice"]
    assert server.sessions.get(state["session"]) is not None


def test_an_update_for_a_room_is_encoded_once_not_once_per_viewer(app, server, monkeypatch):
    owner, session_id, ack = open_room(app)
    viewers = [join(app, ack["room"]["code"]) for _ in range(20)]
    tick(server)
    encoded = []
    original = JsonPacket.encode
    monkeypatch.setattr(JsonPacket, "encode", lambda self: encoded.append(self.data[0]) or original(self))
    for v in viewers:
        v.get_received()
    act(owner, type="crash", node=2)
    assert encoded.count("events") == 1
    assert all(received(v, "events") for v in viewers)


def test_room_actions_refuse_bad_input_plainly(app, server):
    owner, session_id, ack = open_room(app)
    viewer = join(app, ack["room"]["code"])
    for who, action in ((owner, {"type": "room_open"}), (owner, {"type": "room_fork"}),
                        (owner, {"type": "answer", "choice": 1}), (owner, {"type": "room_invite", "open": "yes"}),
                        (owner, {"type": "room_show", "viewer": "1"}), (owner, {"type": "room_close", "x": 1}),
                        (viewer, {"type": "room_follow"}), (viewer, {"type": "room_offer", "offer": True}),
                        (viewer, {"type": "answer", "choice": 1})):
        answer = act(who, **action)
        assert answer["ok"] is False and re.search(r"[a-z]", answer["error"]), action
    solo = connect(app)
    for action in ("room_close", "room_fork", "answer"):
        assert not act(solo, type=action)["ok"]
    assert server.sessions.get(session_id).room is not None


def test_the_class_keeps_watching_while_the_lecturers_page_is_hidden(app, server):
    owner, session_id, ack = open_room(app)
    session = server.sessions.get(session_id)
    assert act(owner, type="visibility", visible=False)["ok"]
    tick(server, 0.0)
    tick(server, 0.2)
    assert session.cluster.now == 0, "nobody watches: the cluster waits"
    viewer = join(app, ack["room"]["code"])
    tick(server, 0.4)
    tick(server, 0.6)
    assert session.cluster.now > 0, "a class follows: the lecturer's cluster plays on for it"
    viewer.disconnect()


def test_a_viewer_coming_back_takes_its_place_and_the_older_page_is_left_with_nothing(app, server):
    owner, session_id, ack = open_room(app)
    first = join(app, ack["room"]["code"])
    token = states(first)[-1]["room"]["token"]
    assert act(first, type="answer", choice=1)["ok"] is False     # no question yet: refused, but seated
    again = join(app, ack["room"]["code"], viewer=token)
    state = states(again)[-1]["room"]
    assert state["token"] == token and state["watchers"] == 1, "the same viewer, counted once"
    refused = act(first, type="crash", node=1)
    assert not refused["ok"] and "reload" in refused["error"]
    assert server.sessions.get(session_id).cluster.nodes[1].up
    forged = join(app, ack["room"]["code"], viewer="not-a-token")
    assert states(forged)[-1]["room"]["token"] != token, "an unknown token is a new viewer"


def test_the_session_id_without_the_secret_joins_within_the_same_limits(app, server):
    server.classroom.rooms.max_viewers = 1
    owner, session_id, ack = open_room(app)
    assert connect(app, session=session_id).is_connected()
    assert not connect(app, session=session_id).is_connected(), "the room is full, however one comes in"


def test_joining_and_leaving_again_and_again_does_not_grow_the_room(app, server):
    server.classroom.rooms.max_viewers = 5
    owner, session_id, ack = open_room(app)
    room = server.sessions.get(session_id).room
    staying = join(app, ack["room"]["code"])
    for _ in range(40):
        join(app, ack["room"]["code"]).disconnect()
    assert len(room.viewers) <= 10
    assert room.watchers() == 1 and staying.is_connected()
    assert act(staying, type="sync")["ok"]


def test_while_the_projector_shows_a_copy_the_class_session_stays_and_a_reload_is_still_the_owner(app, server):
    owner, session_id, ack = open_room(app)
    viewer = join(app, ack["room"]["code"])
    number = states(viewer)[-1]["room"]["number"]
    act(viewer, type="room_fork")
    act(viewer, type="room_offer", offer=True)
    assert act(owner, type="room_show", viewer=number)["ok"]
    server.scheduler.run_once(time.monotonic() + 10_000)       # long past the ttl
    assert server.sessions.get(session_id) is not None and server.sessions.get(session_id).room is not None
    owner.disconnect()                                          # the lecturer reloads
    again = connect(app, session=session_id, owner=ack["owner"])
    state = states(again)[-1]
    assert state["room"]["role"] == "owner" and state["session"] == session_id
    assert act(viewer, type="crash", node=1)["ok"], "the student's copy is still theirs"


def test_a_question_is_sent_without_its_answer_until_the_step_runs_or_the_lecturer_reveals_it(app, server):
    owner, session_id, ack = open_room(app)
    assert act(owner, type="scenario", id="figure-8")["ok"]
    session = server.sessions.get(session_id)
    viewer = join(app, ack["room"]["code"])
    trying = join(app, ack["room"]["code"])
    while not session.scenario_view()["question"]:
        act(owner, type="scenario_next")
        act(owner, type="scenario_next")
    tick(server)
    copy = act(trying, type="room_fork")["session"]
    seen = [m for e in viewer.get_received() for m in e["args"]]
    seen += [m for e in trying.get_received() for m in e["args"]]
    text = repr(seen)
    full = session.scenario_view(full=True)["question"]
    assert full["explanation"] not in text, "no viewer, following or trying, is sent the answer in advance"
    assert server.sessions.get(copy).scenario_view()["question"].get("answer") is None
    owner_room = [e["room"] for e in received(owner, "events") if e.get("room")] or [states(owner)[-1]["room"]]
    assert owner_room[-1]["question"]["answer"] == full["answer"], "the lecturer has it, for Reveal"
    assert act(owner, type="room_reveal")["ok"]
    tick(server)
    revealed = [e["room"]["question"] for e in received(viewer, "events") if e.get("room")][-1]
    assert revealed["answer"] == full["answer"] and revealed["explanation"] == full["explanation"]
