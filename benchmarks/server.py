"""Server load: N concurrent sessions playing at the default speed against one
server process (python app.py, eventlet), N = 10, 50, 100.

For each N it prints the delivery latency of events (p50/p99, from the
server producing a batch of records to a client receiving it; server and
clients share this machine's clock), the server process's CPU use, the bytes
per second each session receives, and the slowest session's virtual-time rate
relative to real time x speed (1.00 = keeping up). Target on the 2-core
machine: 100 sessions with p99 under 100 ms and no session falling behind.

    python benchmarks/server.py [--seconds 20] [--sessions 10 50 100]
"""
import argparse
import json
import os
import statistics
import sys
import threading
import time
from pathlib import Path

import socketio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from serverproc import running_server  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


class Session:
    def __init__(self, url: str):
        self.latencies: list[float] = []
        self.bytes = 0
        self.records = 0
        self.clocks: list[tuple[float, float, float]] = []     # (wall s, virtual ms, speed)
        self.measuring = False
        self.lock = threading.Lock()
        self.sio = socketio.Client(reconnection=False)
        self.sio.on("events", self.on_events)
        self.sio.on("state", lambda state: None)
        self.sio.connect(url, transports=["websocket"], wait_timeout=30)

    def on_events(self, update):
        now = time.time()
        if not self.measuring:
            return
        with self.lock:
            self.bytes += len(json.dumps(update, separators=(",", ":")))
            clock = update["clock"]
            self.clocks.append((now, clock["time"], clock["speed"]))
            if update.get("records"):
                self.records += len(update["records"])
                self.latencies.append(now * 1000 - update["produced"])


def measure(url: str, pid: int, n: int, seconds: float) -> dict:
    sessions = [Session(url) for _ in range(n)]
    time.sleep(2)                                     # let every session settle into playing
    for s in sessions:
        s.measuring = True
    cpu0, wall0 = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    cpu1, wall1 = cpu_seconds(pid), time.monotonic()
    for s in sessions:
        s.measuring = False
    latencies = sorted(x for s in sessions for x in s.latencies)
    rates = []
    for s in sessions:
        if len(s.clocks) >= 2:
            (w0, v0, speed), (w1, v1, _) = s.clocks[0], s.clocks[-1]
            rates.append((v1 - v0) / ((w1 - w0) * 1000 * speed))
    for s in sessions:
        s.sio.disconnect()
    time.sleep(1)
    return {
        "n": n,
        "p50": statistics.median(latencies) if latencies else float("nan"),
        "p99": latencies[int(len(latencies) * 0.99) - 1] if latencies else float("nan"),
        "cpu": (cpu1 - cpu0) / (wall1 - wall0) * 100,
        "bytes": statistics.mean(s.bytes for s in sessions) / seconds,
        "records": statistics.mean(s.records for s in sessions) / seconds,
        "slowest": min(rates) if rates else float("nan"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--sessions", type=int, nargs="+", default=[10, 50, 100])
    args = parser.parse_args()
    with running_server(env={"PYTHONWARNINGS": "ignore"}) as (url, proc):
        print(f"{args.seconds:g} s per run, sessions playing at the default speed\n")
        print(f"{'sessions':>8} {'p50 ms':>7} {'p99 ms':>7} {'server CPU':>10} {'B/s/session':>11} "
              f"{'records/s/session':>17} {'slowest rate':>12}")
        for n in args.sessions:
            r = measure(url, proc.pid, n, args.seconds)
            print(f"{r['n']:>8} {r['p50']:>7.1f} {r['p99']:>7.1f} {r['cpu']:>9.0f}% {r['bytes']:>11.0f} "
                  f"{r['records']:>17.1f} {r['slowest']:>12.2f}")


if __name__ == "__main__":
    main()
