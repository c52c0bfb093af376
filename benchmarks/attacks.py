"""One client attacks, another is measured (issue 10): while an attacker runs
each attack in a loop against one server process (python app.py, eventlet),
a victim session playing at 1x toggles pause/play and measures its
acknowledgements (p50/p99) and how long its events stop at worst, and the
server's RSS after each attack (the attackers' sessions stay). The attacker
runs in a process of its own, as it would on another machine. Then the
server's RSS with the session cap (200) filled, at default speed and at 1x.
Target: the victim's ack p99 <= 250 ms under every attack.

    python benchmarks/attacks.py [--seconds 8] [--skip-rss] [--only WORD ...]
"""
import argparse
import json
import multiprocessing
import os
import random
import statistics
import sys
import tempfile
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
        self.event_times = []
        self.seq = 0                                # the cluster's position, from its clock
        self.sio.on("state", self._state)
        self.sio.on("events", self._events)
        self.sio.connect(url, transports=["websocket"], wait_timeout=30)
        while self.state is None:
            time.sleep(0.01)

    def _state(self, s):
        self.state = s

    def _events(self, update):
        self.event_times.append(time.monotonic())
        self.seq = update["clock"]["seq"]

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


def many_actions() -> bytes:
    """A history of 10,000 user actions (the most a session records), partitions and heals."""
    c = Cluster(5, seed=3, election_timeout=(150, 300), heartbeat_interval=50, latency=(10, 20))
    c.run_for(1000)
    while c.recorded_actions < 10_000:
        c.partition([1, 2], [3, 4, 5]) if c.recorded_actions % 2 else c.heal()
        c.run_for(5)
    return json.dumps(c.export()).encode()


def message_flood() -> bytes:
    """A tiny history whose 9 servers time out every 1 ms while messages take 10 s: 200,000
    records of it would keep some 800,000 messages in flight."""
    return json.dumps({"format": "raftviz-history", "version": 1, "initial": None, "actions": [],
                       "config": {"size": 9, "seed": 1, "election_timeout": [1, 1], "heartbeat_interval": 1,
                                  "latency": [10_000, 10_000]},
                       "length": 200_000, "position": {"seq": 200_000, "time": 0}}).encode()


def post(url, session, body):
    req = urllib.request.Request(url + "/api/import", data=body, method="POST",
                                 headers={"Content-Type": "application/json", "X-Raftviz-Session": session})
    try:
        return json.loads(urllib.request.urlopen(req, timeout=120).read())
    except urllib.error.HTTPError as e:
        return json.loads(e.read())


def attack_loops(url, files):
    """name -> set up (in the attacker's process), returning one round of the attack."""
    def history():
        return Path(files, "history.json").read_bytes()

    def importing():
        a, body = Client(url), history()
        return lambda: post(url, a.state["session"], body)

    def seeking():
        a = Client(url)
        post(url, a.state["session"], history())
        rng = random.Random(1)
        return lambda: a.act(type="seek", seq=rng.randrange(250_001, 300_000))

    def scenario_step():
        a = Client(url)
        return lambda: (a.act(type="scenario", id="storm"), a.act(type="scenario_next"))

    def syncing():
        a = Client(url)
        post(url, a.state["session"], Path(files, "state.json").read_bytes())
        return lambda: a.act(type="sync")

    def records():
        a = Client(url)
        post(url, a.state["session"], history())
        return lambda: a.act(type="records", before=299_000, count=500)

    def resetting():
        a = Client(url)
        post(url, a.state["session"], history())
        return lambda: a.act(type="reset", nodes=9)

    def saving():
        a = Client(url)
        post(url, a.state["session"], Path(files, "actions.json").read_bytes())
        return lambda: a.act(type="save_scenario")

    def flooding():
        a, body = Client(url), Path(files, "flood.json").read_bytes()
        return lambda: post(url, a.state["session"], body)

    def connect_events():
        raw = socketio.Client(reconnection=False)
        raw.connect(url, transports=["websocket"], wait_timeout=30)
        return lambda: [raw.emit("connect", {}) for _ in range(20)]

    return {"import 300k records": importing, "seek in 300k records": seeking,
            "scenario step, 1 ms timers": scenario_step, "sync of the largest state": syncing,
            "records of a long history": records, "reset of a long history": resetting,
            "save as scenario, 10k actions": saving, "import of a message flood": flooding,
            "client-sent connect events": connect_events}


def attacker(url, files, name, ready, stop, rounds, refused, closed):
    """One attack in a loop, in a process of its own: the attacker is another
    machine, so its client's work (parsing 4 MB states, say) must not hold up
    the victim's client in this process."""
    attack = attack_loops(url, files)[name]()
    ready.set()
    while not stop.is_set():
        try:
            ack = attack()
        except Exception:                         # the server closed the attacker's connection
            closed.value = 1
            return
        rounds.value += 1
        last = ack[-1] if isinstance(ack, tuple) else ack
        if isinstance(last, dict) and last.get("ok") is False:
            refused.value += 1


def measure(url, files, name, seconds):
    victim = Client(url)
    victim.act(type="speed", value=1)
    mp = multiprocessing.get_context("spawn")
    ready, stop = mp.Event(), mp.Event()
    rounds, refused, closed = mp.Value("i", 0), mp.Value("i", 0), mp.Value("i", 0)
    worker = mp.Process(target=attacker, args=(url, files, name, ready, stop, rounds, refused, closed),
                        daemon=True)
    worker.start()
    if not ready.wait(120):
        raise RuntimeError(f"{name}: the attacker did not get ready")
    time.sleep(0.5)
    start = time.monotonic()
    acks = []
    end = start + seconds
    mode = "pause"
    while time.monotonic() < end:
        t = time.monotonic()
        victim.act(type=mode)
        acks.append((time.monotonic() - t) * 1000)
        mode = "play" if mode == "pause" else "pause"
        time.sleep(0.05)
    stop_at = time.monotonic()
    stop.set()
    worker.join(timeout=120)
    if worker.is_alive():
        worker.kill()
    victim.sio.disconnect()
    # The longest stretch without events within the measured window.
    times = [start] + [t for t in victim.event_times if start < t < stop_at] + [stop_at]
    gap = max(b - a for a, b in zip(times, times[1:])) * 1000
    acks.sort()
    return {"name": name, "p50": statistics.median(acks), "p99": acks[int(len(acks) * 0.99) - 1],
            "gap": gap, "rounds": rounds.value, "refused": "closed" if closed.value else refused.value}


def fill(url, pid, n, speed):
    clients = []
    for _ in range(n):
        c = Client(url)
        if speed != 0.025:
            c.act(type="speed", value=speed)
        clients.append(c)
    time.sleep(30)
    rss = rss_mb(pid)
    records = statistics.mean(c.seq for c in clients)
    for c in clients:
        c.sio.disconnect()
    return rss, records


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--skip-rss", action="store_true")
    parser.add_argument("--only", nargs="+", metavar="WORD", help="run only the attacks whose name holds one of these")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        Path(folder, "storm.yaml").write_text(STORM)
        Path(folder, "history.json").write_bytes(big_history())
        Path(folder, "state.json").write_bytes(big_state())
        Path(folder, "actions.json").write_bytes(many_actions())
        Path(folder, "flood.json").write_bytes(message_flood())
        env = {"PYTHONWARNINGS": "ignore", "RAFTVIZ_NEW_SESSIONS_PER_MINUTE": "100000"}
        with running_server(env=env, args=["--scenarios", folder]) as (url, proc):
            print(f"victim: a session playing at 1x, toggling pause/play; {args.seconds:g} s per attack\n")
            print(f"{'attack (in a loop)':<30} {'ack p50':>8} {'ack p99':>8} {'longest events gap':>18} "
                  f"{'attack rounds':>13} {'refused':>7} {'server RSS':>10}")
            for name in attack_loops(url, folder):
                if args.only and not any(word in name for word in args.only):
                    continue
                r = measure(url, folder, name, args.seconds)
                print(f"{r['name']:<30} {r['p50']:>6.1f}ms {r['p99']:>6.1f}ms {r['gap']:>16.0f}ms "
                      f"{r['rounds']:>13} {r['refused']!s:>7} {rss_mb(proc.pid):>7.0f} MB", flush=True)
            print(f"\nserver RSS at the end: {rss_mb(proc.pid):.0f} MB; up: {proc.poll() is None}")
    if args.skip_rss:
        return
    for speed in (0.025, 1.0):
        with running_server(env={"PYTHONWARNINGS": "ignore", "RAFTVIZ_NEW_SESSIONS_PER_MINUTE": "100000"}) \
                as (url, proc):
            base = rss_mb(proc.pid)
            rss, records = fill(url, proc.pid, 200, speed)
            print(f"200 sessions at speed {speed:g}: RSS {base:.0f} MB empty, {rss:.0f} MB after 30 s "
                  f"({records:,.0f} records a session)")


if __name__ == "__main__":
    main()
