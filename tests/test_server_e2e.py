"""End to end: the real server (python app.py on eventlet) driven by a
python-socketio client over a websocket."""
import queue
import time

import pytest
import socketio

from serverproc import running_server

pytestmark = pytest.mark.server


class Watcher:
    """A python-socketio client that keeps what the server sends."""

    def __init__(self, url, session=None):
        self.states, self.events = queue.Queue(), queue.Queue()
        self.sio = socketio.Client(reconnection=False)
        self.sio.on("state", self.states.put)
        self.sio.on("events", self.events.put)
        self.sio.connect(url, auth={"session": session} if session else None, transports=["websocket"],
                         wait_timeout=10)

    def act(self, **action):
        return self.sio.call("action", action, timeout=10)

    def state(self, timeout=10):
        return self.states.get(timeout=timeout)

    def wait_events(self, predicate, timeout=15):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                update = self.events.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            if predicate(update):
                return update
        raise AssertionError("the expected events did not arrive")


@pytest.fixture(scope="module")
def server_url():
    with running_server() as (url, proc):
        yield url
        assert proc.poll() is None, "the server is still running at the end"


def test_connect_play_crash_step_reattach_and_errors(server_url):
    w = Watcher(server_url)
    state = w.state()
    session = state["session"]
    assert state["seq"] == 0
    assert state["mode"] == "playing" and len(state["nodes"]) == 5

    # Playing: events arrive by themselves, with records and a clock.
    assert w.act(type="speed", value=1)["ok"]
    first = w.wait_events(lambda u: u.get("records"))
    assert first["records"][0]["seq"] == 1 and first["clock"]["mode"] == "playing"

    # Crash a node and see it go down.
    assert w.act(type="crash", node=2)["ok"]
    down = w.wait_events(lambda u: any(n["id"] == 2 and n["up"] is False for n in u.get("nodes", [])))
    assert down["records"][-1]["action"] == {"type": "crash", "node": 2}

    # Step and step back.
    assert w.act(type="pause")["ok"]
    before = w.act(type="step")
    assert before["ok"] and before["mode"] == "step"
    stepped = w.wait_events(lambda u: u.get("records") and u["records"][-1]["seq"] == before["seq"])
    assert stepped["clock"]["seq"] == before["seq"]
    back = w.act(type="step_back")
    assert back["ok"] and back["seq"] == before["seq"] - 1
    assert w.state()["seq"] == back["seq"], "stepping back sends the full state there"
    w.sio.disconnect()

    # Re-attach with the session id after the connection is gone.
    again = Watcher(server_url, session=session)
    state = again.state()
    assert state["session"] == session and state["seq"] == back["seq"]
    assert state["nodes"][1]["up"] is False

    # A bad action gets a plain error; the server still answers afterwards.
    bad = again.act(type="crash", node=42)
    assert bad == {"ok": False, "error": "There is no S42: this cluster has S1–S5."}
    assert again.act(type="sync")["ok"] and again.state()["session"] == session
    again.sio.disconnect()


def test_two_clients_have_separate_sessions_and_see_only_their_own(server_url):
    a, b = Watcher(server_url), Watcher(server_url)
    sa, sb = a.state()["session"], b.state()["session"]
    assert sa != sb
    a.act(type="pause")
    b.act(type="pause")
    time.sleep(0.2)
    while not b.events.empty():
        b.events.get()
    a.act(type="crash", node=1)
    a.wait_events(lambda u: u.get("records"))
    time.sleep(0.3)
    assert all(not u.get("records") for u in list(b.events.queue))
    a.sio.disconnect()
    b.sio.disconnect()


def test_the_page_and_its_socket_io_client_are_served(server_url):
    import urllib.request
    page = urllib.request.urlopen(server_url + "/").read().decode()
    assert "<html" in page
    js = urllib.request.urlopen(server_url + "/vendor/socket.io.esm.min.js").read()
    assert len(js) > 10_000


def test_the_server_also_runs_in_threading_mode():
    with running_server(env={"RAFTVIZ_ASYNC_MODE": "threading"}) as (url, proc):
        w = Watcher(url)
        assert w.state()["mode"] == "playing"
        assert w.act(type="speed", value=1)["ok"]
        assert w.wait_events(lambda u: u.get("records"))["records"][0]["seq"] == 1
        w.sio.disconnect()
