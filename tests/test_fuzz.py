"""A seeded fuzz test: thousands of random actions (Flask-SocketIO's test
client) and random raw Socket.IO packets (the real server), checking that
every action is answered, every refusal is a short sentence quoting at most
80 characters of input and changes nothing, and the server stays up."""
import json
import random
import string

import pytest
import websocket

from serverproc import running_server
from raftviz.web import create_app
from test_web_protocol import connect, fingerprint

TYPES = ["sync", "play", "pause", "step", "step_back", "seek", "speed", "reset", "crash", "restart", "timeout",
         "disconnect", "connect", "partition", "heal", "cut", "link", "drop", "submit", "network", "options",
         "export", "records", "visibility", "scenario", "scenario_next", "scenario_back", "scenario_restart",
         "scenario_close", "save_scenario", "import", "explode"]
FIELDS = ["node", "seq", "value", "nodes", "seed", "groups", "a", "b", "message", "command", "loss", "latency",
          "options", "before", "count", "visible", "id", "data"]


def junk(rng: random.Random, depth: int = 0):
    kind = rng.randrange(10)
    if kind == 0:
        return rng.randint(-3, 12)
    if kind == 1:
        return rng.choice([0, 1, -1, 10**9, 2**63, 0.5, float("1e308"), True, False, None])
    if kind == 2:
        return "".join(rng.choice(string.printable) for _ in range(rng.randrange(6)))
    if kind == 3:
        return rng.choice(string.ascii_letters) * rng.choice([81, 200, 3000])          # long input to quote
    if kind == 4 and depth < 3:
        return [junk(rng, depth + 1) for _ in range(rng.randrange(4))]
    if kind == 5 and depth < 3:
        return {rng.choice(FIELDS + ["y" * 100]): junk(rng, depth + 1) for _ in range(rng.randrange(3))}
    if kind == 6:
        return rng.choice(["SET x 1", "DEL x", "figure-8", "first-election", "fast_backup"])
    if kind == 7:
        return [[1, 2], [3]]
    return rng.randint(1, 5)


def random_action(rng: random.Random):
    if rng.random() < 0.05:
        return junk(rng)
    action = {"type": rng.choice(TYPES)}
    for _ in range(rng.randrange(3)):
        action[rng.choice(FIELDS)] = junk(rng)
    return action


def long_runs(action) -> list[str]:
    """The strings of 81 or more characters the action holds (keys included)."""
    found = []
    def walk(v):
        if isinstance(v, str) and len(v) > 80:
            found.append(v)
        elif isinstance(v, list):
            for x in v:
                walk(x)
        elif isinstance(v, dict):
            for k, x in v.items():
                walk(k)
                walk(x)
    walk(action)
    return found


def test_thousands_of_random_actions_are_answered_plainly_and_refusals_change_nothing():
    rng = random.Random(20240610)
    app = create_app({"START_SCHEDULER": False, "TESTING": True, "SESSION_SEED": 3, "ACTION_RATE": 10**9})
    server = app.extensions["raftviz"]
    client = connect(app)
    session = server.sessions.all()[0]
    refused = 0
    for k in range(3000):
        if k % 50 == 0:
            session.cluster.run_for(rng.uniform(0, 400))
            session.cpu_credit = 5.0                 # this test is about answers, not about the share
        action = random_action(rng)
        before = fingerprint(session)
        ack = client.emit("action", action, callback=True)
        client.get_received()
        assert isinstance(ack, dict) and isinstance(ack.get("ok"), bool), (action, ack)
        if not ack["ok"]:
            refused += 1
            error = ack["error"]
            assert isinstance(error, str) and 0 < len(error) < 600, (action, error)
            assert "Traceback" not in error and "Something went wrong" not in error, (action, error)
            for text in long_runs(action):
                assert text[:81] not in error, (action, error)
            assert fingerprint(session) == before, action
    assert 500 < refused < 3000                      # both kinds were exercised


@pytest.mark.server
def test_random_raw_packets_leave_the_real_server_up_and_answering():
    rng = random.Random(7)
    with running_server() as (url, proc):
        ws_url = url.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket"
        for round_ in range(10):
            ws = websocket.create_connection(ws_url, timeout=10)
            ws.recv()
            ws.send("40")
            for k in range(200):
                pick = rng.randrange(8)
                if pick == 0:
                    packet = "".join(rng.choice(string.printable) for _ in range(rng.randrange(40)))
                elif pick == 1:
                    packet = "42" + json.dumps([rng.choice(["connect", "disconnect", "action", "x"]), junk(rng)])
                elif pick == 2:
                    packet = f"42{k}" + json.dumps(["action"] + [random_action(rng) for _ in range(rng.randrange(3))])
                elif pick == 3:
                    packet = rng.choice(["2", "3", "5", "6", "41", "40", '40{"session":5}', "43", "44", "45-", "4"])
                elif pick == 4:
                    packet = "42" + "[" * rng.randrange(1, 3000)
                else:
                    packet = f"42{k}" + json.dumps(["action", random_action(rng)])
                try:
                    ws.send(packet)
                except (BrokenPipeError, ConnectionResetError, websocket.WebSocketConnectionClosedException):
                    break                             # the server closed this one: a new round
            ws.close()
        assert proc.poll() is None
        # A fresh client is served as usual afterwards.
        ws = websocket.create_connection(ws_url, timeout=10)
        ws.recv()
        ws.send("40")
        ws.send('421["action",{"type":"pause"}]')
        for _ in range(20):
            packet = ws.recv()
            if packet.startswith("431"):
                assert json.loads(packet[3:])[0]["ok"] is True
                break
        else:
            pytest.fail("no acknowledgement")
        ws.close()
