"""A server restart loses nothing a user did: the real server (python
app.py on eventlet) with a SQLite store, stopped (SIGTERM) or killed
(SIGKILL) in the middle of a playing session with a class watching, then
started again on the same store."""
import signal
import time
from contextlib import ExitStack

import pytest

from serverproc import running_server
from test_rooms_e2e import Page

pytestmark = pytest.mark.server


def node(state, i):
    return next(n for n in state["nodes"] if n["id"] == i)


def lecture(url, stack):
    """A lecturer playing at real time who crashed S2 and sent a command, with a room and one student."""
    owner = stack.enter_context(closing_page(url))
    session = owner.wait_state()["session"]
    assert owner.act(type="speed", value=1.0)["ok"]
    opened = owner.act(type="room_open")
    viewer = stack.enter_context(closing_page(url, join=opened["room"]["code"]))
    token = viewer.wait_state()["room"]["token"]
    owner.wait_events(lambda u: u.get("records"), timeout=10)   # it plays
    assert owner.act(type="crash", node=2)["ok"]
    submitted = owner.act(type="submit", command="SET x 1")
    return owner, session, opened, token, submitted


class closing_page:
    def __init__(self, url, **auth):
        self.url, self.auth = url, auth

    def __enter__(self):
        self.page = Page(self.url, **self.auth)
        return self.page

    def __exit__(self, *_):
        try:
            self.page.sio.disconnect()
        except Exception:
            pass


def back(url, session, opened, token, stack):
    owner = stack.enter_context(closing_page(url, session=session, owner=opened["owner"]))
    state = owner.wait_state(timeout=20)
    viewer = stack.enter_context(closing_page(url, join=opened["room"]["code"], viewer=token))
    return owner, state, viewer.wait_state(timeout=20)


@pytest.mark.parametrize("stop", ["SIGTERM", "SIGKILL"])
def test_a_restart_in_the_middle_of_a_lecture_loses_nothing_a_user_did(tmp_path, stop):
    env = {"RAFTVIZ_STORE": str(tmp_path / "sessions.sqlite3")}
    with running_server(env=env) as (url, proc), ExitStack() as stack:
        owner, session, opened, token, submitted = lecture(url, stack)
        time.sleep(0.5)
        seen = owner.state_now()["seq"]
        proc.send_signal(getattr(signal, stop))
        proc.wait(timeout=20)
    with running_server(env=env) as (url, proc), ExitStack() as stack:
        owner, state, viewer = back(url, session, opened, token, stack)
        assert state["session"] == session and state["room"]["role"] == "owner"
        assert state["room"]["code"] == opened["room"]["code"]
        assert node(state, 2)["up"] is False, "the crash is still there"
        leader = submitted.get("index")
        if leader is not None:
            assert any(e.get("command") == "SET x 1" for n in state["nodes"] for e in n["log"]), \
                "the command is still in a log"
        assert state["mode"] == "playing" and state["speed"] == 1.0
        if stop == "SIGTERM":
            assert state["seq"] >= seen, "stopped, every session was saved where it stood"
        else:
            # Killed: actions are saved as they are done, the position while playing every 2 s.
            assert state["seq"] >= submitted["seq"], "nothing the lecturer did is lost"
        assert viewer["room"]["role"] == "viewer" and viewer["room"]["token"] == token, "the same student"
        since = owner.mark()
        assert owner.act(type="restart", node=2)["ok"], "the lecture goes on"
        owner.wait_events(lambda u: any(n["id"] == 2 and n["up"] for n in u.get("nodes", [])), since=since, timeout=5)
