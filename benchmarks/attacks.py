"""One client attacks, another is measured (issue 10): while an attacker runs
each attack in a loop against one server process (python app.py, eventlet),
a victim session playing at 1x toggles pause/play and measures its
acknowledgements (p50/p99) and how long its events stop at worst. Then the
server's RSS with the session cap (200) filled, at default speed and at 1x.
Target: the victim's ack p99 <= 250 ms under every attack.

    python benchmarks/attacks.py [--seconds 8] [--skip-rss]
"""
import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import socketio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from serverproc import running_server  # noqa: E402

from raftviz.sim import Cluster  # noqa: E402

STORM = ("id: storm\ntitle: Timers of 1 ms\ncluster: {election_timeout: [1, 1], heartbeat_interval: 1, "
         "latency: [5, 10]}\nsteps:\n  - caption: a minute of elections\n    until: {for: 60000}\n")


def rss_mb(pid: int) -> float:
    return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


class Client:
    def __init__(self, url):
        self.sio = socketio.Client(reconnection=False)
        self.state = None
        self.last_event = time.monotonic()
        self.gaps = []
        self.sio.on("state", self._state)
        self.sio.on("events", self._events)
        self.sio.connect(url, transports=["websocket"], wait_timeout=30)
        while self.state is None:
            time.sleep(0.01)

    def _state(self, s):
        self.state = s

    def _events(self, _):
        now = time.monotonic()
        self.gaps.append(now - self.last_event)
        self.last_event = now

    def act(self, **action):
        return self.sio.call("action", action, timeout=60)


def big_history() -> bytes:
    """A history of 300,000 records (a 3-node cluster with short timers)."""
    c = Cluster(3, seed=5, election_timeout=(2, 4), heartbeat_interval=1, latency=(0.5, 1))
    c.run_for(10)
    c.crash(c.leader())
    while len(c.trace) < 300_000:
        c.run_for(5000)
    return json.dumps(c.export()).encode()


def big_state() -> bytes:
    """An initial state of 9 servers with logs as long as a session may hold (2,000 entries)."""
    log = [{"term": 1, "command": f"SET key{k} value-{k}-" + "v" * 150} for k in range(2000)]
    nodes = [{"id": i, "term": 1, "log": log} for i in range(1, 10)]
    return json.dumps({"format": "raftviz-history", "version": 1, "initial": {"nodes": nodes},
                       "config": {"seed": 1}, "actions": [], "length": 0,
                       "position": {"seq": 0, "time": 0}}).encode()


def post(url, session, body):
    req = urllib.request.Request(url + "/api/import", data=body, method="POST",
                                 headers={"Content-Type": "application/json", "X-Raftviz-Session": session})
    try:
        return json.loads(urllib.request.urlopen(req, timeout=120).read())
    except urllib.error.HTTPError as e:
        return json.loads(e.read())


def attack_loops(url, history, state):
    """name -> (set up, one round of the attack)."""
    def importing():
        a = Client(url)
        return lambda: post(url, a.state["session"], history)

    def seeking():
        a = Client(url)
        post(url, a.state["session"], history)
        import random
        rng = random.Random(1)
        return lambda: a.act(type="seek", seq=rng.randrange(250_001, 300_000))

    def scenario_step():
        a = Client(url)
        return lambda: (a.act(type="scenario", id="storm"), a.act(type="scenario_next"))

    def syncing():
        a = Client(url)
        post(url, a.state["session"], state)
        return lambda: a.act(type="sync")

    def records():
        a = Client(url)
        post(url, a.state["session"], history)
        return lambda: a.act(type="records", before=299_000, count=500)

    def resetting():
        a = Client(url)
        post(url, a.state["session"], history)
        return lambda: a.act(type="reset", nodes=9)

    def connect_events():
        raw = socketio.Client(reconnection=False)
        raw.connect(url, transports=["websocket"], wait_timeout=30)
        return lambda: [raw.emit("connect", {}) for _ in range(20)]

    return {"import 300k records": importing, "seek in 300k records": seeking,
            "scenario step, 1 ms timers": scenario_step, "sync of the largest state": syncing,
            "records of a long history": records, "reset of a long history": resetting,
            "client-sent connect events": connect_events}


def measure(url, name, setup, seconds):
    victim = Client(url)
    victim.act(type="speed", value=1)
    attack = setup()
    stop = threading.Event()
    rounds = [0, 0]

    def loop():
        while not stop.is_set():
            try:
                ack = attack()
            except Exception:                     # the server closed the attacker's connection
                rounds[1] = "closed"
                return
            rounds[0] += 1
            last = ack[-1] if isinstance(ack, tuple) else ack
            if isinstance(last, dict) and last.get("ok") is False:
                rounds[1] += 1

    worker = threading.Thread(target=loop, daemon=True)
    worker.start()
    time.sleep(0.5)
    victim.gaps.clear()
    acks = []
    end = time.monotonic() + seconds
    mode = "pause"
    while time.monotonic() < end:
        t = time.monotonic()
        victim.act(type=mode)
        acks.append((time.monotonic() - t) * 1000)
        if mode == "pause":
            mode = "play"
        else:
            mode = "pause"
        time.sleep(0.05)
    stop.set()
    worker.join(timeout=120)
    acks.sort()
    gap = max(victim.gaps) * 1000 if victim.gaps else float("nan")
    victim.sio.disconnect()
    return {"name": name, "p50": statistics.median(acks), "p99": acks[int(len(acks) * 0.99) - 1],
            "gap": gap, "rounds": rounds[0], "refused": rounds[1]}


def fill(url, pid, n, speed):
    clients = []
    for _ in range(n):
        c = Client(url)
        if speed != 0.025:
            c.act(type="speed", value=speed)
        clients.append(c)
    time.sleep(30)
    rss = rss_mb(pid)
    for c in clients:
        c.sio.disconnect()
    return rss


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--skip-rss", action="store_true")
    args = parser.parse_args()
    history, state = big_history(), big_state()
    with tempfile.TemporaryDirectory() as folder:
        Path(folder, "storm.yaml").write_text(STORM)
        env = {"PYTHONWARNINGS": "ignore", "RAFTVIZ_NEW_SESSIONS_PER_MINUTE": "100000"}
        with running_server(env=env, args=["--scenarios", folder]) as (url, proc):
            print(f"victim: a session playing at 1x, toggling pause/play; {args.seconds:g} s per attack\n")
            print(f"{'attack (in a loop)':<30} {'ack p50':>8} {'ack p99':>8} {'longest events gap':>18} "
                  f"{'attack rounds':>13} {'refused':>7}")
            for name, setup in attack_loops(url, history, state).items():
                r = measure(url, name, setup, args.seconds)
                print(f"{r['name']:<30} {r['p50']:>6.1f}ms {r['p99']:>6.1f}ms {r['gap']:>16.0f}ms "
                      f"{r['rounds']:>13} {r['refused']!s:>7}", flush=True)
            print(f"\nserver RSS at the end: {rss_mb(proc.pid):.0f} MB; up: {proc.poll() is None}")
    if args.skip_rss:
        return
    for speed in (0.025, 1.0):
        with running_server(env={"PYTHONWARNINGS": "ignore", "RAFTVIZ_NEW_SESSIONS_PER_MINUTE": "100000"}) \
                as (url, proc):
            base = rss_mb(proc.pid)
            rss = fill(url, proc.pid, 200, speed)
            print(f"200 sessions at speed {speed:g}: RSS {base:.0f} MB empty, {rss:.0f} MB after 30 s")


if __name__ == "__main__":
    main()
