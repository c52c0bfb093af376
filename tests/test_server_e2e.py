"""End to end: the real server (python app.py on eventlet) driven by a
python-socketio client over a websocket."""
import os
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


# ----- no client can hurt the others (issue 10) ---------------------------------------------

import http.client  # noqa: E402
import json  # noqa: E402
import urllib.request  # noqa: E402

import websocket  # noqa: E402


class Raw:
    """A raw Engine.IO/Socket.IO connection over a websocket: packets as the wire has them."""

    def __init__(self, url, auth=None):
        self.ws = websocket.create_connection(url.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket",
                                              timeout=10)
        assert self.ws.recv().startswith("0")                     # Engine.IO open
        self.ws.send("40" + (json.dumps(auth) if auth else ""))   # Socket.IO connect
        self.state = None
        while self.state is None:
            self.handle(self.ws.recv())

    def handle(self, packet):
        if packet == "2":
            self.ws.send("3")                                     # ping -> pong
        elif packet.startswith('42["state"'):
            self.state = json.loads(packet[2:])[1]

    def call(self, ack_id, *args):
        """Send an event with an acknowledgement id; return the acknowledgement's data."""
        self.ws.send(f"42{ack_id}" + json.dumps(list(args)))
        while True:
            packet = self.ws.recv()
            if packet.startswith(f"43{ack_id}["):
                return json.loads(packet[2 + len(str(ack_id)):])
            self.handle(packet)


def test_connect_events_cannot_fill_the_server_and_a_plain_connect_holds_no_slot_long():
    with running_server(env={"RAFTVIZ_MAX_SESSIONS": "3"}) as (url, proc):
        raw = Raw(url)
        for _ in range(50):
            raw.ws.send('42["connect",{}]')
            raw.ws.send('42["disconnect"]')
        assert raw.call(1, "action", {"type": "pause"}) == [{"ok": True, "mode": "paused"}]
        others = [Watcher(url), Watcher(url)]                    # the cap (3) is not reached
        assert all(w.state()["mode"] == "playing" for w in others)
        refused = []
        late = socketio.Client(reconnection=False)
        late.on("connect_error", refused.append)
        with pytest.raises(socketio.exceptions.ConnectionError):
            late.connect(url, transports=["websocket"], wait_timeout=10)
        # The full server's own sentence reaches the client, not a generic "connection refused".
        assert refused and refused[0]["message"].startswith("The server is full: it already runs 3 sessions.")
        raw.ws.close()
        for w in others:
            w.sio.disconnect()
        assert proc.poll() is None


def test_a_wrong_arity_action_is_acknowledged_and_the_server_logs_no_traceback(server_url):
    raw = Raw(server_url)
    answers = [raw.call(k, "action", {"type": "pause"}, {"x": 1}) for k in range(1, 40)]
    assert all(a[0]["ok"] is False and "one object" in a[0]["error"] for a in answers)
    assert raw.call(99, "action", {"type": "sync"})[0]["ok"]
    raw.ws.close()


def test_bad_and_undecodable_actions_are_answered_and_log_no_traceback():
    """A wrong-arity action, and one whose JSON cannot be decoded (a number of
    5,000 digits), are each answered with an error; the log holds no traceback."""
    with running_server() as (url, proc):
        raw = Raw(url)
        for k in range(1, 30):
            assert raw.call(k, "action", {"type": "pause"}, {"x": 1})[0]["ok"] is False
        for k in range(30, 60):
            raw.ws.send(f'42{k}["action",{{"type":"seek","seq":{"9" * 5000}}}]')
            while True:
                packet = raw.ws.recv()
                if packet.startswith(f"43{k}["):
                    answer = json.loads(packet[2 + len(str(k)):])[0]
                    break
                raw.handle(packet)
            assert answer["ok"] is False and "could not be read" in answer["error"]
        assert raw.call(99, "action", {"type": "sync"})[0]["ok"], "the connection still works"
        raw.ws.close()
        proc.terminate()
        out = proc.communicate(timeout=10)[0]
    assert "Traceback" not in out, out[-2000:]
    assert out.count("cannot be decoded") <= 1, "one line, not one per message"


def test_an_oversized_frame_is_refused_without_hurting_anyone(server_url):
    """Closed from the frame's header, before its bytes are read and unmasked."""
    other = Watcher(server_url)
    other.state()
    raw = Raw(server_url)
    with pytest.raises((BrokenPipeError, ConnectionResetError, websocket.WebSocketConnectionClosedException)):
        raw.ws.send('42["action",' + json.dumps({"type": "submit", "command": "x", "pad": "p" * 4_000_000}) + "]")
        for _ in range(100):
            raw.ws.recv()
    assert other.act(type="pause")["ok"]
    other.sio.disconnect()


def test_a_history_is_imported_by_http_post_and_the_page_gets_the_state(server_url):
    w = Watcher(server_url)
    session = w.state()["session"]
    assert w.act(type="speed", value=1)["ok"]
    w.wait_events(lambda u: u.get("records") and u["records"][-1]["seq"] > 20)
    exported = w.act(type="export")["data"]
    assert w.act(type="reset", nodes=3)["ok"]
    w.state()
    request = urllib.request.Request(server_url + "/api/import", data=json.dumps(exported).encode(), method="POST",
                                     headers={"Content-Type": "application/json", "X-Raftviz-Session": session})
    ack = json.loads(urllib.request.urlopen(request, timeout=30).read())
    assert ack["ok"] and ack["length"] == exported["length"]
    state = w.state()
    assert len(state["nodes"]) == 5 and state["mode"] == "paused"
    # A file over the limit is refused from its Content-Length, before its bytes are read.
    host = server_url.split("//")[1]
    conn = http.client.HTTPConnection(host, timeout=30)
    conn.putrequest("POST", "/api/import")
    for name, value in (("Content-Type", "application/json"), ("X-Raftviz-Session", session),
                        ("Content-Length", str(5 * 2**20))):
        conn.putheader(name, value)
    conn.endheaders()
    response = conn.getresponse()
    assert response.status == 413 and "at most 4 MB" in json.loads(response.read())["error"]
    conn.close()
    w.sio.disconnect()


BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{n}: &{n} [{', '.join(['*' + p] * 9)}]\n" for p, n in zip("abcdefgh", "bcdefghi")) + "id: bomb\n"


def test_the_server_starts_with_the_good_scenarios_whatever_a_lecturers_folder_holds(tmp_path):
    (tmp_path / "bomb.yaml").write_text(BOMB)
    (tmp_path / "deep.yaml").write_text("[" * 20_000 + "]" * 20_000)
    (tmp_path / "huge.yaml").write_text("id: huge\n# " + "x" * 1_000_000 + "\n")
    (tmp_path / "digits.yaml").write_text("id: x\ntitle: t\ncluster: {size: " + "9" * 5000 + "}\nsteps: [{caption: c}]\n")
    (tmp_path / "good.yaml").write_text("id: mine\ntitle: Mine\nsteps:\n  - caption: wait\n    until: {for: 100}\n")
    os.mkfifo(tmp_path / "pipe.yaml")                  # opening it for reading would wait for a writer forever
    with running_server(args=["--scenarios", str(tmp_path)]) as (url, proc):
        listing = json.loads(urllib.request.urlopen(url + "/api/scenarios", timeout=10).read())
        ids = {s["id"] for s in listing["scenarios"]}
        assert "mine" in ids and "figure-8" in ids
        problems = " ".join(listing["problems"])
        for name in ("bomb.yaml", "deep.yaml", "huge.yaml", "digits.yaml", "pipe.yaml"):
            assert name in problems
        assert len(problems) < 2000 and str(tmp_path) not in problems
        assert proc.poll() is None
