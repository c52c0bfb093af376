"""Classroom rooms end to end: the real server (python app.py on eventlet)
driven by python-socketio clients over websockets, as a lecturer's page and
students' pages would drive it (docs/protocol.md, "Classroom rooms").
tests/test_rooms.py covers the same ground in-process, deterministically;
these check that it holds on the server people run: what reaches whom,
within how long, and what is refused at connect with which sentence.

Every wait is bounded; every client is disconnected in a finally block.
"""
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, closing

import pytest
import socketio

from serverproc import running_server

pytestmark = pytest.mark.server

SEEN = 2.0                      # s within which a page must see what the owner did
FOLLOWING = "You are following the class: only the lecturer changes this cluster."
OWNER_ONLY = "Only the room's owner can do that."


class Page:
    """A python-socketio client standing for one browser page: it keeps every
    `state` and `events` it is sent and waits, with a bound, for one that
    matches. (python-socketio runs each handler in a thread of its own, so
    the lists are in the order handled, which may differ from the order sent.)"""

    def __init__(self, url, **auth):
        self.states, self.events = [], []
        self.changed = threading.Condition()
        self.sio = socketio.Client(reconnection=False)
        self.sio.on("state", lambda data: self._keep(self.states, data))
        self.sio.on("events", lambda data: self._keep(self.events, data))
        self.sio.connect(url, auth=auth or None, transports=["websocket"], wait_timeout=10)

    def _keep(self, into, data):
        with self.changed:
            into.append(data)
            self.changed.notify_all()

    def act(self, **action):
        return self.sio.call("action", action, timeout=10)

    def mark(self):
        """Where the received messages stand now: wait_* from here looks only at later ones."""
        with self.changed:
            return len(self.states), len(self.events)

    def _wait(self, into, start, predicate, timeout, what):
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                for data in into[start:]:
                    if predicate(data):
                        return data
                start = len(into)
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no {what} as expected within {timeout} s")
                self.changed.wait(left)

    def wait_state(self, predicate=lambda s: True, since=None, timeout=SEEN):
        start = since[0] if since else 0
        return self._wait(self.states, start, predicate, timeout, "state")

    def wait_events(self, predicate, since=None, timeout=SEEN):
        start = since[1] if since else 0
        return self._wait(self.events, start, predicate, timeout, "events")

    def state_now(self):
        """The session as it is now (a `sync` answers with a full state to this page)."""
        since = self.mark()
        assert self.act(type="sync")["ok"]
        return self.wait_state(since=since)

    def close(self):
        self.sio.disconnect()


def refusal(url, **auth) -> str:
    """Connect with `auth` and expect a refusal: the connect_error's message."""
    errors = []
    sio = socketio.Client(reconnection=False)
    sio.on("connect_error", errors.append)
    try:
        with pytest.raises(socketio.exceptions.ConnectionError):
            sio.connect(url, auth=auth, transports=["websocket"], wait_timeout=10)
    finally:
        sio.disconnect()
    assert errors, "the refusal came with no connect_error"
    return errors[0]["message"] if isinstance(errors[0], dict) else str(errors[0])


def crashed(node):
    """An `events` message recording the crash of `node` as an action."""
    return lambda u: any(r.get("action") == {"type": "crash", "node": node} for r in u.get("records", []))


def node(state, i):
    return next(n for n in state["nodes"] if n["id"] == i)


def open_room(url, pages: ExitStack):
    owner = pages.enter_context(closing(Page(url)))
    state = owner.wait_state()
    assert state["session"] and state["room"] is None
    opened = owner.act(type="room_open")
    assert opened["ok"], opened
    return owner, state["session"], opened


def join(url, pages: ExitStack, code, **extra):
    viewer = pages.enter_context(closing(Page(url, join=code, **extra)))
    viewer.wait_state()
    return viewer


@pytest.fixture(scope="module")
def server_url():
    with running_server(env={"PYTHONWARNINGS": "ignore"}) as (url, proc):
        yield url
        assert proc.poll() is None, "the server is still running at the end"


# ----- opening, joining, following ----------------------------------------------------------

def test_an_owner_opens_a_room_and_a_viewer_joining_by_its_code_watches_it_live(server_url):
    with ExitStack() as pages:
        owner, session_id, opened = open_room(server_url, pages)
        code = opened["room"]["code"]
        assert opened["room"]["link"] == f"/join/{code}" and opened["room"]["qr"].startswith("<svg")
        assert urllib.request.urlopen(server_url + opened["room"]["link"], timeout=10).status == 200
        owner_state = owner.wait_state(lambda s: s["room"] is not None)
        assert owner_state["room"]["role"] == "owner" and owner_state["room"]["code"] == code

        since = owner.mark()
        typed = f"{code[:3].lower()}-{code[3:]}"                 # as a student types it off the screen
        viewer = join(server_url, pages, typed)
        state = viewer.states[-1]
        assert state["room"]["role"] == "viewer" and state["room"]["code"] == code
        assert state["session"] is None, "a viewer never learns the session id, the key to changing it"
        assert state["room"]["token"] and state["room"]["number"] >= 1 and state["room"]["control"] is False
        assert state["config"]["seed"] == owner_state["config"]["seed"], "the lecturer's cluster, not a new one"
        assert "answers" not in state and "qr" not in state["room"]
        owner.wait_events(lambda u: (u.get("room") or {}).get("watchers") == 1, since)

        since = viewer.mark()
        assert owner.act(type="crash", node=2)["ok"]
        update = viewer.wait_events(crashed(2), since)           # within SEEN (2 s)
        assert any(n["id"] == 2 and n["up"] is False for n in update["nodes"])


def test_an_unknown_code_is_refused_at_connect_with_the_reason(server_url):
    with ExitStack() as pages:
        _, _, opened = open_room(server_url, pages)
        wrong = next(c for c in ("ZZZZZZ", "YYYYYY") if c != opened["room"]["code"])
        message = refusal(server_url, join=wrong)
        assert "no room with the code" in message and wrong in message


def test_a_closed_rooms_code_is_refused_and_its_viewers_keep_a_copy_of_their_own(server_url):
    with ExitStack() as pages:
        owner, session_id, opened = open_room(server_url, pages)
        code = opened["room"]["code"]
        assert owner.act(type="pause")["ok"] and owner.act(type="crash", node=5)["ok"]
        viewer = join(server_url, pages, code)
        since = viewer.mark()
        assert owner.act(type="room_close") == {"ok": True}
        copy = viewer.wait_state(lambda s: s["room"] is None, since)
        assert copy["session"] not in (None, session_id), "a private copy with its own session"
        assert "closed" in copy["notice"]
        assert node(copy, 5)["up"] is False, "the copy is the class's cluster as it was"
        assert viewer.act(type="restart", node=5)["ok"], "the copy is the viewer's to change"
        assert node(owner.state_now(), 5)["up"] is False, "and the lecturer's cluster is untouched"
        assert owner.state_now()["room"] is None

        message = refusal(server_url, join=code)
        assert f"The room {code} has closed" in message


def test_the_session_id_alone_no_longer_makes_a_page_the_owner(server_url):
    with ExitStack() as pages:
        owner, session_id, opened = open_room(server_url, pages)
        impostor = pages.enter_context(closing(Page(server_url, session=session_id)))
        state = impostor.wait_state()
        assert state["room"]["role"] == "viewer" and state["session"] is None
        refused = impostor.act(type="crash", node=1)
        assert refused["ok"] is False and refused["error"].startswith(FOLLOWING)
        again = pages.enter_context(closing(Page(server_url, session=session_id, owner=opened["owner"])))
        assert again.wait_state()["room"]["role"] == "owner"
        assert again.act(type="crash", node=1)["ok"], "the owner's page comes back after a reload with the secret"


# ----- what a viewer may not do, and control handed over ------------------------------------------

def test_a_viewers_changing_actions_are_refused_and_the_owners_cluster_is_unchanged(server_url):
    with ExitStack() as pages:
        owner, session_id, opened = open_room(server_url, pages)
        viewer = join(server_url, pages, opened["room"]["code"])
        assert owner.act(type="pause")["ok"]
        before = owner.state_now()
        for action in ({"type": "crash", "node": 1}, {"type": "play"}, {"type": "speed", "value": 1},
                       {"type": "reset", "nodes": 3}, {"type": "seek", "seq": 0},
                       {"type": "submit", "command": "SET x 1"}, {"type": "scenario", "id": "figure-8"}):
            answer = viewer.act(**action)
            assert answer["ok"] is False and answer["error"].startswith(FOLLOWING), (action, answer)
        for action in ({"type": "room_close"}, {"type": "room_control", "viewer": 1},
                       {"type": "room_ask", "prompt": "Who wins?", "choices": ["a", "b"]}):
            assert viewer.act(**action) == {"ok": False, "error": OWNER_ONLY}, action
        after = owner.state_now()
        assert after["seq"] == before["seq"] and after["mode"] == "paused" and after["scenario"] is None
        assert after["nodes"] == before["nodes"] and len(after["nodes"]) == 5
        assert after["room"]["code"] == opened["room"]["code"], "the room is still open"
        assert viewer.act(type="sync")["ok"], "looking is allowed"


def test_the_owner_hands_control_to_a_viewer_and_takes_it_back(server_url):
    with ExitStack() as pages:
        owner, session_id, opened = open_room(server_url, pages)
        viewer = join(server_url, pages, opened["room"]["code"])
        number = viewer.states[-1]["room"]["number"]
        assert viewer.act(type="crash", node=3)["error"].startswith(FOLLOWING)

        since, owner_since = viewer.mark(), owner.mark()
        assert owner.act(type="room_control", viewer=number) == {"ok": True, "control": number}
        viewer.wait_events(lambda u: (u.get("room") or {}).get("control") is True, since)
        owner.wait_events(lambda u: (u.get("room") or {}).get("control") == number, owner_since)
        owner_since = owner.mark()
        assert viewer.act(type="crash", node=3)["ok"], "with control the viewer changes the cluster"
        owner.wait_events(crashed(3), owner_since)
        assert viewer.act(type="room_close") == {"ok": False, "error": OWNER_ONLY}, "control is of the cluster"

        since = viewer.mark()
        assert owner.act(type="room_control", viewer=None) == {"ok": True, "control": None}
        viewer.wait_events(lambda u: (u.get("room") or {}).get("control") is False, since)
        assert viewer.act(type="restart", node=3)["error"].startswith(FOLLOWING)
        assert node(owner.state_now(), 3)["up"] is False, "the refused restart did nothing"


# ----- try from here, and back --------------------------------------------------------------------

def test_a_viewer_forks_a_copy_tries_on_it_comes_back_as_itself_and_follows_again(server_url):
    with ExitStack() as pages:
        owner, session_id, opened = open_room(server_url, pages)
        code = opened["room"]["code"]
        assert owner.act(type="crash", node=1)["ok"]
        viewer = join(server_url, pages, code)
        token, number = viewer.states[-1]["room"]["token"], viewer.states[-1]["room"]["number"]

        since = viewer.mark()
        fork = viewer.act(type="room_fork")
        assert fork["ok"] and fork["session"] not in (None, session_id)
        copy = viewer.wait_state(lambda s: s["session"] == fork["session"], since)
        assert copy["room"] is None and copy["trying"]["code"] == code and copy["mode"] == "paused"
        assert node(copy, 1)["up"] is False, "the copy starts where the class is"
        since = viewer.mark()
        assert viewer.act(type="restart", node=1)["ok"] and viewer.act(type="crash", node=2)["ok"]
        viewer.wait_events(crashed(2), since)
        class_now = owner.state_now()
        assert node(class_now, 1)["up"] is False and node(class_now, 2)["up"] is True, "the class is untouched"
        owner.wait_events(lambda u: any(v["number"] == number and v["trying"]
                                        for v in (u.get("room") or {}).get("viewers", [])))

        assert owner.act(type="crash", node=4)["ok"]
        time.sleep(0.5)
        assert not any(crashed(4)(u) for u in viewer.events), "a trying viewer sees its own copy, not the class"

        # A dropped connection: the same viewer comes back with its token, to its copy.
        viewer.close()
        back = pages.enter_context(closing(Page(server_url, join=code, viewer=token)))
        state = back.wait_state()
        assert state["session"] == fork["session"] and state["trying"]["number"] == number
        assert node(state, 2)["up"] is False, "its copy as it left it"

        since = back.mark()
        assert back.act(type="room_follow") == {"ok": True}
        following = back.wait_state(lambda s: s["room"] is not None, since)
        assert following["room"]["role"] == "viewer" and following["session"] is None
        assert node(following, 1)["up"] is False and node(following, 2)["up"] is True
        assert node(following, 4)["up"] is False, "the class's cluster, with what happened meanwhile"
        since = back.mark()
        assert owner.act(type="crash", node=5)["ok"]
        back.wait_events(crashed(5), since)


# ----- answers ------------------------------------------------------------------------------------------

def test_answers_are_counted_and_only_the_owner_sees_the_counts_until_revealed(server_url):
    with ExitStack() as pages:
        owner, session_id, opened = open_room(server_url, pages)
        viewers = [join(server_url, pages, opened["room"]["code"]) for _ in range(3)]
        marks = [v.mark() for v in viewers]
        asked = owner.act(type="room_ask", prompt="Who will win this election?")
        assert asked["ok"] and asked["question"]["choices"] == ["S1", "S2", "S3", "S4", "S5"]
        for v, since in zip(viewers, marks):
            q = v.wait_events(lambda u: ((u.get("room") or {}).get("question") or {}).get("open"), since)
            assert q["room"]["question"]["prompt"] == "Who will win this election?"

        owner_since = owner.mark()
        for v, choice in zip(viewers, (2, 2, 4)):
            assert v.act(type="answer", choice=choice) == {"ok": True, "choice": choice}
        expected = {"1": 0, "2": 2, "3": 0, "4": 1, "5": 0}
        owner.wait_events(lambda u: u.get("answers") == expected, owner_since)
        for v in viewers:
            for u in v.events + v.states:
                assert "answers" not in u, "no viewer is sent the count"
                assert "counts" not in ((u.get("room") or {}).get("question") or {})

        marks = [v.mark() for v in viewers]
        assert owner.act(type="room_reveal") == {"ok": True, "answers": expected}
        for v, since in zip(viewers, marks):
            v.wait_events(lambda u: ((u.get("room") or {}).get("question") or {}).get("counts") == expected, since)
        late = viewers[0].act(type="answer", choice=1)
        assert late["ok"] is False and "closed" in late["error"]


# ----- a class at once --------------------------------------------------------------------------------

def test_fifty_viewers_at_once_all_receive_the_same_update(server_url):
    n = 50
    with ExitStack() as pages:
        owner, session_id, opened = open_room(server_url, pages)
        code = opened["room"]["code"]
        owner_since = owner.mark()
        with ThreadPoolExecutor(10) as pool:
            viewers = list(pool.map(lambda _: Page(server_url, join=code), range(n)))
        for v in viewers:
            pages.enter_context(closing(v))
        for v in viewers:
            assert v.wait_state()["room"]["role"] == "viewer"
        assert len({v.states[0]["room"]["number"] for v in viewers}) == n, "each viewer has its own number"
        owner.wait_events(lambda u: (u.get("room") or {}).get("watchers") == n, owner_since, timeout=5)

        marks = [v.mark() for v in viewers]
        deadline = time.monotonic() + 5                     # for all fifty together
        assert owner.act(type="crash", node=2)["ok"]
        updates = [v.wait_events(crashed(2), since, timeout=max(0.0, deadline - time.monotonic()))
                   for v, since in zip(viewers, marks)]
        records = {tuple(r["seq"] for r in u["records"] if r.get("action")) for u in updates}
        assert len(records) == 1, "every viewer got the same update"
        assert len({u["produced"] for u in updates}) == 1, "one update, sent once to all"


# ----- limits on joining -------------------------------------------------------------------------------

def test_wrong_codes_are_limited_per_address_then_only_a_known_viewer_gets_in():
    with running_server(env={"PYTHONWARNINGS": "ignore"}) as (url, proc), ExitStack() as pages:
        owner, session_id, opened = open_room(url, pages)
        code = opened["room"]["code"]
        first = join(url, pages, code)                       # the right code works, and is no wrong one
        token = first.states[-1]["room"]["token"]
        wrong = [c for c in ("ZZZZZ" + ch for ch in "23456789ABCDEFGHJKMNPQ") if c != code][:20]
        for guess in wrong:
            message = refusal(url, join=guess)
            assert "no room with the code" in message, message
        message = refusal(url, join=code)                     # the 21st attempt in the minute: no telling
        assert "Too many wrong room codes" in message, message
        assert "Too many wrong" in refusal(url, join=code, viewer="a-guessed-token")
        back = join(url, pages, code, viewer=token)           # a viewer coming back is let in
        assert back.states[-1]["room"]["token"] == token
        assert proc.poll() is None


def test_a_full_room_and_too_many_joins_from_one_address_are_refused():
    """RAFTVIZ_MAX_VIEWERS and RAFTVIZ_JOINS_PER_MINUTE set small, so the caps are reached quickly."""
    env = {"PYTHONWARNINGS": "ignore", "RAFTVIZ_MAX_VIEWERS": "3", "RAFTVIZ_JOINS_PER_MINUTE": "6"}
    with running_server(env=env) as (url, proc), ExitStack() as pages:
        owner, session_id, opened = open_room(url, pages)
        code = opened["room"]["code"]
        since = owner.mark()
        viewers = [Page(url, join=code) for _ in range(3)]                           # joins 1-3
        for v in viewers:
            pages.enter_context(closing(v))
        owner.wait_events(lambda u: (u.get("room") or {}).get("watchers") == 3, since)
        assert "This room is full: it has 3 viewers" in refusal(url, join=code)     # join 4
        since = owner.mark()
        viewers[0].close()
        owner.wait_events(lambda u: (u.get("room") or {}).get("watchers") == 2, since)
        join(url, pages, code)                                                        # join 5: a place freed
        assert "This room is full" in refusal(url, join=code)                        # join 6
        message = refusal(url, join=code)                                            # join 7
        assert "Too many joins from your address: at most 6 a minute" in message, message


# ----- a viewer's two pages -------------------------------------------------------------------------------

def test_a_viewers_older_page_can_do_nothing_once_the_same_viewer_connects_again(server_url):
    """A second tab, or a reconnection before the old connection is known dead:
    the newer page takes the viewer's place, and the older one must not be left
    on the class's session with the rights of a page of its own (it could
    change the cluster, and room_open would hand it the owner's secret)."""
    with ExitStack() as pages:
        owner, session_id, opened = open_room(server_url, pages)
        first = join(server_url, pages, opened["room"]["code"])
        token, number = first.states[-1]["room"]["token"], first.states[-1]["room"]["number"]
        second = join(server_url, pages, opened["room"]["code"], viewer=token)
        assert second.states[-1]["room"]["number"] == number, "the same viewer"
        answer = first.act(type="room_open")
        assert answer["ok"] is False and "owner" not in answer, "a viewer never gets the owner's secret"
        assert first.act(type="crash", node=1)["ok"] is False
        assert node(owner.state_now(), 1)["up"] is True, "the class's cluster is untouched"
        since = second.mark()
        assert owner.act(type="crash", node=2)["ok"]
        second.wait_events(crashed(2), since)
        time.sleep(0.2)
        assert not any(crashed(2)(u) for u in first.events), "the older page follows no more"


def test_the_class_keeps_watching_while_the_lecturers_page_is_hidden(server_url):
    with ExitStack() as pages:
        owner, session_id, opened = open_room(server_url, pages)
        viewer = join(server_url, pages, opened["room"]["code"])
        assert owner.act(type="speed", value=1)["ok"]
        assert owner.act(type="visibility", visible=False) == {"ok": True}
        seq = owner.state_now()["seq"]
        viewer.wait_events(lambda u: any(r["seq"] > seq + 5 for r in u.get("records", [])), viewer.mark())
