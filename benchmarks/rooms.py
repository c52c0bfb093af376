"""Classroom room load: one lecturer's session watched by a class, against
one server process (python app.py, eventlet).

An owner client opens a room on a fresh session (the default 5-server
cluster, playing) and N viewers join it by its code: python-socketio
clients, threaded, spread over a few processes so that the clients' side
does not become the bottleneck on a small machine. Each viewer notes when an
update's frame arrives and, unless --decode, does not decode it (see
Viewer). Two phases of --seconds each: the default speed (0.025), then real
time (speed 1.0, the owner's {"type": "speed", "value": 1.0}). Per phase it
prints:

  updates       `events` messages with a `produced` stamp sent to the room in
                the phase (as the owner received them), and per second
  p50/p99/max   delay from the server producing an update (`produced`, server
                wall-clock ms; server and clients share this machine's clock)
                to a viewer receiving its frame, over every viewer and update
  missed        (viewer, update) pairs that never arrived
  rate          the session's virtual time over wall time x speed (1.00:
                keeping up with its speed)
  server CPU    the server process's CPU use (from /proc), % of one core
  B/s/viewer    bytes of Socket.IO frames each viewer received per second
  clients CPU   the viewer processes' CPU use, % of one core (they share the
                machine with the server)

Then, in-process (create_app without the scheduler, Flask-SocketIO test
clients), how many times the server JSON-encodes the `events` message of one
owner action for a room with N viewers: the design says once, not once per
viewer. Target: p99 <= 150 ms at the default speed.

    python benchmarks/rooms.py [--viewers 300] [--seconds 20] [--workers 4] [--decode]
"""
import argparse
import multiprocessing as mp
import os
import re
import statistics
import sys
import time
from pathlib import Path

import socketio

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from serverproc import running_server  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")
TARGET_P99 = 150.0                                       # ms, at the default speed
SPEEDS = (("default speed 0.025", None), ("real time, speed 1.0", 1.0))


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


# websocket-client checks every received text frame's UTF-8 in pure Python,
# byte by byte (about 1 ms per KB): a browser does it natively, so the viewers
# skip it, or 300 of them would measure their own CPU rather than the server.
CLIENT = {"reconnection": False, "websocket_extra_options": {"skip_utf8_validation": True}}


PRODUCED = re.compile(r'"produced":(-?[0-9.eE+]+)')


class Viewer(socketio.Client):
    """A python-socketio client that notes, for every frame it receives, when
    it arrived (in its connection's read loop, as the frame is read), its size
    and, for an `events` update, its `produced` stamp.

    Unless `decode`, an `events` frame stops there: python-socketio would
    hand it to a new thread to be decoded (a thread per message, about 0.5 ms
    of this machine's CPU each), work a browser does on its own, not the
    server's; with 300 viewers at real time that is more CPU than this 2-core
    machine has beside the server. Everything else (the handshake, the
    `state`, pings) goes through python-socketio as usual."""

    def __init__(self, decode: bool = False):
        super().__init__(**CLIENT)
        self.log: list[tuple[float, int, float | None]] = []    # (received, bytes, produced or None)
        self.decode = decode
        self.on("events", lambda data: None)
        self.on("state", lambda data: None)
        receive = self.eio._receive_packet

        def received(pkt):
            now = time.time()
            data = pkt.data if isinstance(pkt.data, str) else ""
            produced = None
            if data.startswith('2["events"'):
                match = PRODUCED.search(data, 0, 500)
                produced = float(match.group(1)) if match else None
            self.log.append((now, len(data) + 1, produced))
            if produced is not None and not self.decode:
                return None
            return receive(pkt)

        self.eio._receive_packet = received


def viewer_process(url: str, code: str, count: int, decode: bool, ready, stop, results) -> None:
    """Join the room `count` times, keep the clients until told to stop, then
    send back what each received."""
    viewers, errors = [], []

    def join():
        v = Viewer(decode)
        try:
            v.connect(url, auth={"join": code}, transports=["websocket"], wait_timeout=30)
            viewers.append(v)
        except Exception as e:                      # the join was refused: say why, once
            errors.append(str(e))

    for _ in range(count):
        join()
    ready.put((len(viewers), errors[:3]))
    stop.wait()
    logs = [v.log for v in viewers]
    for v in viewers:
        try:
            v.disconnect()
        except Exception:
            pass
    results.put(logs)


class Owner(socketio.Client):
    def __init__(self, url: str):
        super().__init__(**CLIENT)
        self.produced: list[float] = []
        self.clocks: list[tuple[float, float, float]] = []     # (produced ms, virtual ms, speed)
        self.on("events", self._events)
        self.on("state", lambda data: None)
        self.connect(url, transports=["websocket"], wait_timeout=30)

    def _events(self, update):
        if update.get("produced") is not None:
            self.produced.append(update["produced"])
            self.clocks.append((update["produced"], update["clock"]["time"], update["clock"]["speed"]))

    def act(self, **action) -> dict:
        return self.call("action", action, timeout=30)

    def rate(self, window) -> float:
        """Virtual time over wall time x speed in the window: 1.00 = keeping up."""
        t0, t1 = window
        clocks = sorted(c for c in self.clocks if t0 * 1000 <= c[0] <= t1 * 1000)
        if len(clocks) < 2:
            return float("nan")
        (p0, v0, speed), (p1, v1, _) = clocks[0], clocks[-1]
        return (v1 - v0) / ((p1 - p0) * speed)


def percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, max(0, int(round(len(sorted_values) * p)) - 1))]


def phase_figures(logs, owner, window, n_viewers, cpu, clients_cpu) -> dict:
    t0, t1 = window                                           # wall-clock s
    sent = {p for p in owner.produced if t0 * 1000 <= p <= t1 * 1000}
    delays, missed, nbytes = [], 0, 0
    for log in logs:
        got = set()
        for received, size, produced in log:
            if t0 <= received <= t1:
                nbytes += size
            if produced is not None and produced in sent:
                got.add(produced)
                delays.append(received * 1000 - produced)
        missed += len(sent - got)
    delays.sort()
    seconds = t1 - t0
    return {"updates": len(sent), "per_s": len(sent) / seconds,
            "p50": statistics.median(delays) if delays else float("nan"),
            "p99": percentile(delays, 0.99), "max": delays[-1] if delays else float("nan"),
            "missed": missed, "rate": owner.rate(window), "cpu": cpu,
            "bytes": nbytes / max(1, n_viewers) / seconds, "clients_cpu": clients_cpu}


def run_server_phases(args) -> tuple[list, int]:
    ctx = mp.get_context("spawn")
    with running_server(env={"PYTHONWARNINGS": "ignore"}) as (url, proc):
        owner = Owner(url)
        try:
            opened = owner.act(type="room_open")
            if not opened.get("ok"):
                sys.exit(f"room_open failed: {opened}")
            code = opened["room"]["code"]
            ready, stop, results = ctx.Queue(), ctx.Event(), ctx.Queue()
            workers = max(1, min(args.workers, args.viewers))
            shares = [args.viewers // workers + (k < args.viewers % workers) for k in range(workers)]
            procs = [ctx.Process(target=viewer_process, daemon=True,
                                 args=(url, code, share, args.decode, ready, stop, results))
                     for share in shares if share]
            for p in procs:
                p.start()
            joined, errors = 0, []
            for _ in procs:
                n, errs = ready.get(timeout=300)
                joined += n
                errors += errs
            if errors:
                print(f"{args.viewers - joined} joins refused, e.g.: {errors[0]}")
            time.sleep(2)                                   # every viewer settled, the cluster playing
            windows, cpus, client_cpu_marks = [], [], []
            for label, speed in SPEEDS:
                if speed is not None:
                    ack = owner.act(type="speed", value=speed)
                    if not ack.get("ok"):
                        sys.exit(f"speed failed: {ack}")
                    time.sleep(1)
                c0, t0 = cpu_seconds(proc.pid), time.time()
                k0 = sum(cpu_seconds(p.pid) for p in procs)
                time.sleep(args.seconds)
                c1, t1 = cpu_seconds(proc.pid), time.time()
                k1 = sum(cpu_seconds(p.pid) for p in procs)
                windows.append((t0, t1))
                cpus.append((c1 - c0) / (t1 - t0) * 100)
                client_cpu_marks.append((k1 - k0) / (t1 - t0) * 100)
            time.sleep(1)                                   # the phase's last updates on their way
            stop.set()
            logs = []
            for _ in procs:
                logs += results.get(timeout=120)
            for p in procs:
                p.join(timeout=30)
            rows = [phase_figures(logs, owner, w, joined, c, k)
                    for w, c, k in zip(windows, cpus, client_cpu_marks)]
            return rows, joined
        finally:
            owner.disconnect()


def encodes_of_one_update(n: int) -> tuple[int, int]:
    """In-process: how many times one owner action's `events` is JSON-encoded
    for a room with n viewers, and how many viewers received it."""
    from raftviz.web import JsonPacket, create_app
    app = create_app({"START_SCHEDULER": False, "TESTING": True})
    server = app.extensions["raftviz"]
    sio = server.socketio
    owner = sio.test_client(app)
    opened = owner.emit("action", {"type": "room_open"}, callback=True)
    viewers = [sio.test_client(app, auth={"join": opened["room"]["code"]}) for _ in range(n)]
    server.scheduler.run_once(time.monotonic())             # the room's news of the joins goes out first
    for v in viewers:
        v.get_received()
    encoded = []
    original = JsonPacket.encode

    def counting(self):
        encoded.append(self.data[0] if isinstance(self.data, list) and self.data else None)
        return original(self)

    JsonPacket.encode = counting
    try:
        ack = owner.emit("action", {"type": "crash", "node": 2}, callback=True)
    finally:
        JsonPacket.encode = original
    assert ack.get("ok"), ack
    received = sum(any(e["name"] == "events" and e["args"][0].get("records") for e in v.get_received())
                   for v in viewers)
    for v in viewers + [owner]:
        v.disconnect()
    return encoded.count("events"), received


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--viewers", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--workers", type=int, default=4, help="processes the viewer clients are spread over")
    parser.add_argument("--decode", action="store_true",
                        help="viewers decode every update through python-socketio (costs the clients' CPU)")
    args = parser.parse_args()
    decoding = ", decoding every update" if args.decode else ""
    print(f"Classroom room: 1 owner playing the default 5-server cluster, {args.viewers} viewers "
          f"(python-socketio clients in {args.workers} processes{decoding}), {args.seconds:g} s per phase\n",
          flush=True)
    rows, joined = run_server_phases(args)
    print(f"{'phase':<22} {'viewers':>7} {'updates':>8} {'upd/s':>6} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} "
          f"{'missed':>6} {'rate':>5} {'server CPU':>10} {'B/s/viewer':>10} {'clients CPU':>11}")
    for (label, _), r in zip(SPEEDS, rows):
        print(f"{label:<22} {joined:>7} {r['updates']:>8} {r['per_s']:>6.1f} {r['p50']:>7.1f} {r['p99']:>7.1f} "
              f"{r['max']:>7.1f} {r['missed']:>6} {r['rate']:>5.2f} {r['cpu']:>9.0f}% {r['bytes']:>10.0f} "
              f"{r['clients_cpu']:>10.0f}%")
    p99 = rows[0]["p99"]
    print(f"\ntarget: p99 <= {TARGET_P99:.0f} ms at the default speed: "
          f"{'met' if p99 <= TARGET_P99 else 'NOT met'} ({p99:.1f} ms)")
    encodes, received = encodes_of_one_update(args.viewers)
    print(f"encodes of one update with {args.viewers} viewers: {encodes} "
          f"(in-process, Flask-SocketIO test clients; {received} of {args.viewers} viewers received it)")


if __name__ == "__main__":
    main()
