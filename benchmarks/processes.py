"""Sessions across processes: a restart on a store, two processes sharing one
Redis, and a process that dies under a lecture. Real servers (python app.py,
eventlet, started as tests/serverproc.py does) and python-socketio clients
(threaded, spread over --workers processes; each notes when a frame arrives,
and does not decode `events` frames, as benchmarks/rooms.py's viewers).

1. Restart. One process with a SQLite store (RAFTVIZ_STORE=<a temporary
   file>) runs --sessions sessions, one client each: each sets speed 1.0,
   crashes a server, submits a command, crashes another, restarts the first,
   and plays --play seconds. Each client then notes its session as it is
   (`sync`: seq and which servers are up; `export`: its actions), the process
   is stopped (SIGTERM) and a new one started on the same store, and every
   client connects again with {"session": id}. Each then acts again (restarts
   the server that is down, crashes another, submits), plays, is noted, and
   the process is killed (SIGKILL) and started again. Per stop it prints:

     stopped in     from the signal to the process having exited ("lost":
                    still running 30 s after SIGTERM, then killed)
     started in     from starting the new process to it answering HTTP (it
                    reads the store's documents first)
     first/median/all served
                    from the new process answering HTTP to the first, the
                    median and the last client receiving its `state` (its
                    session brought back: replayed from its history)
     back           clients served their own session again (not a new one)
     actions        sessions whose `export` lists the same actions as before
     nodes          sessions whose servers are up/down as before
     position       SIGTERM: sessions at or past the last seq their client was
                    sent before the stop (every session is saved where it
                    stands); SIGKILL: sessions at or past their last action
                    (the position of a playing session is saved every 2 s)
     records back   SIGKILL: how many records behind what its client had been
                    sent a session came back, median and max

2. Two processes. A redis-server and two processes on it
   (RAFTVIZ_MESSAGE_QUEUE=<its URL>, RAFTVIZ_STORE=default: sessions kept in
   that Redis); --sessions sessions playing at the default speed on each (a
   client connected to each), and one room whose owner is on process A with
   --viewers viewers, half connected to A and half to B (B forwards their
   joins to A; A's updates reach them through Redis). For --seconds it prints,
   for the room's viewers on each process: updates (`events` with a
   `produced` stamp the owner received in the window), p50/p99/max delay from
   `produced` (server wall clock, ms) to a viewer receiving the frame, and
   (viewer, update) pairs missed; the same delays for the sessions' own
   clients on each process (updates with records); and the CPU use of each
   server process, of redis-server and of the client processes (from /proc,
   % of one core).

3. Failover. A redis-server and two processes; a lecture on process A (its
   owner playing at speed 1.0, a server crashed, a command submitted, a room)
   with --failover-viewers viewers connected to process B; then A is killed
   (SIGKILL). Per run (--repeats, fresh processes each time) it prints how
   long after the kill every viewer had its `state` again (B took the
   session over and seated them) and `events` with new records (produced
   after the kill), how many records behind what the viewers had seen the
   session came back, whether the owner's actions are all there (a viewer's
   `export`) and its servers up or down as it left them, and whether the owner's page
   reconnecting to B is the room's owner there. Then the median.

    python benchmarks/processes.py [--sessions 200] [--viewers 300] [--seconds 20] [--play 4]
                                   [--failover-viewers 20] [--repeats 3] [--workers 8]
                                   [--only restart two failover] [--logs DIR]

After each part it prints what the servers wrote to their logs beyond their
start lines (tracebacks by their last line), each kind once.
"""
import argparse
import multiprocessing as mp
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import socketio

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from serverproc import running_redis, running_server  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")
# websocket-client checks every text frame's UTF-8 in pure Python; a browser does it natively.
CLIENT = {"reconnection": False, "websocket_extra_options": {"skip_utf8_validation": True}}
PRODUCED = re.compile(r'"produced":(-?[0-9.eE+]+)')
SEQ = re.compile(r'"seq":(\d+)')
WAIT = 60.0                                     # s: the bound on any one client's wait


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def percentile(sorted_values: list, p: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, max(0, int(round(len(sorted_values) * p)) - 1))]


def median(values) -> float:
    values = list(values)
    return statistics.median(values) if values else float("nan")


# ----- one page ------------------------------------------------------------------------------------

class Page(socketio.Client):
    """A python-socketio client standing for a page. Every `events` frame is
    noted as it is read (when, its `produced` stamp, its clock's seq, whether
    it carries records) and not decoded; `state` frames are noted and decoded."""

    def __init__(self):
        super().__init__(**CLIENT)
        self.frames: list[tuple[float, float | None, int | None, bool]] = []
        self.state_times: list[float] = []
        self.states: list[dict] = []
        self.changed = threading.Condition()
        self.on("state", self._state)
        self.on("events", lambda data: None)
        self.refusals: list[str] = []
        self.on("connect_error", lambda data: self.refusals.append(
            data.get("message") if isinstance(data, dict) else str(data)))
        receive = self.eio._receive_packet

        def received(pkt):
            now = time.time()
            data = pkt.data if isinstance(pkt.data, str) else ""
            if data.startswith('2["events"'):
                head = data[:400]
                produced, seq = PRODUCED.search(head), SEQ.search(head)
                self.frames.append((now, float(produced.group(1)) if produced else None,
                                    int(seq.group(1)) if seq else None, '"records":[' in data))
                return None
            if data.startswith('2["state"'):
                self.state_times.append(now)
            return receive(pkt)

        self.eio._receive_packet = received

    def _state(self, data):
        with self.changed:
            self.states.append(data)
            self.changed.notify_all()

    def open(self, url: str, auth: dict | None = None) -> "Page":
        try:
            self.connect(url, auth=auth, transports=["websocket"], wait_timeout=WAIT)
        except socketio.exceptions.ConnectionError as e:
            if self.refusals:                     # refused by the server: say with its sentence
                raise ConnectionRefusedError(self.refusals[0]) from e
            raise
        return self

    def wait_state(self, count: int = 1, timeout: float = WAIT) -> dict:
        deadline = time.monotonic() + timeout
        with self.changed:
            while len(self.states) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no state within {timeout:g} s")
                self.changed.wait(left)
            return self.states[count - 1]

    def act(self, **action) -> dict:
        """An action; refused for the rate or a busy session, it is tried again a few times."""
        for _ in range(20):
            ack = self.call("action", action, timeout=WAIT)
            error = ack.get("error") or ""
            if ack.get("ok") or not error.startswith(("Slow down", "Please wait", "Your page has not yet")):
                return ack
            time.sleep(0.5)
        return ack

    def sync(self) -> dict:
        with self.changed:
            count = len(self.states) + 1
        ack = self.act(type="sync")
        if not ack.get("ok"):
            raise RuntimeError(f"sync refused: {ack.get('error')}")
        return self.wait_state(count)

    def actions(self) -> list:
        ack = self.act(type="export")
        if not ack.get("ok"):
            raise RuntimeError(f"export refused: {ack.get('error')}")
        return ack["data"]["actions"]

    def seen_seq(self) -> int:
        seqs = [f[2] for f in self.frames if f[2] is not None] + [s["seq"] for s in self.states]
        return max(seqs, default=-1)

    def close(self) -> None:
        try:
            self.disconnect()
        except Exception:
            pass


def summary(state: dict) -> dict:
    """What is compared of a session's state."""
    return {"session": state.get("session"), "seq": state["seq"], "mode": state.get("mode"),
            "speed": state.get("speed"), "role": (state.get("room") or {}).get("role"),
            "up": {str(n["id"]): n["up"] for n in state["nodes"]}, "notice": state.get("notice")}


def parallel(fn, items, threads: int = 64) -> list:
    items = list(items)
    if not items:
        return []
    with ThreadPoolExecutor(max_workers=max(1, min(threads, len(items)))) as pool:
        return list(pool.map(fn, items))


# ----- client processes ----------------------------------------------------------------------------------
# Each worker keeps its pages between commands; the main process sends it commands and gathers the answers.

def _connect(st, url, auths):
    """Open a page per auth and wait for its first state; the pages replace the worker's."""
    def one(auth):
        page = Page()
        try:
            page.open(url, auth)
            state = page.wait_state(timeout=30)
            return page, {"served": page.state_times[0], "state": summary(state)}
        except Exception as e:
            page.close()
            return page, {"error": f"{type(e).__name__}: {e}"}

    done = parallel(one, auths)
    st["pages"] = [p for p, _ in done]
    st["ok"] = ["error" not in r for _, r in done]
    return [r for _, r in done]


def _reconnect(st, url, ids):
    """Every page again, on its session (`ids`, as last noted), by its id."""
    return _connect(st, url, [{"session": sid} for sid in ids])


def _act(st, scripts):
    def one(k):
        page, script = st["pages"][k], scripts[k]
        if not st["ok"][k]:
            return {"errors": ["not connected"]}
        errors, seq = [], None
        try:
            for action in script:
                ack = page.act(**action)
                if not ack.get("ok"):
                    errors.append(f"{action['type']}: {ack.get('error')}")
                seq = ack.get("seq", seq)
        except Exception as e:
            errors.append(f"{type(e).__name__}: {e}")
        return {"errors": errors, "seq": seq}
    return parallel(one, range(len(st["pages"])))


def _snapshot(st):
    """Each session as its page sees it now: its state (a sync) and its actions (an export)."""
    def one(k):
        if not st["ok"][k]:
            return {"error": "not connected"}
        page = st["pages"][k]
        try:
            return {"state": summary(page.sync()), "actions": page.actions()}
        except Exception as e:
            return {"error": f"{type(e).__name__}: {e}"}
    return parallel(one, range(len(st["pages"])))


def _exports(st):
    def one(k):
        if not st["ok"][k]:
            return None
        try:
            return st["pages"][k].actions()
        except Exception as e:
            return f"{type(e).__name__}: {e}"
    return parallel(one, range(len(st["pages"])))


def _seen(st):
    return [page.seen_seq() for page in st.get("pages", [])]


def _delays(st, t0, t1, records_only):
    """Per page, (produced, delay ms) of each update produced in [t0, t1] (wall s)."""
    out = []
    for page in st.get("pages", []):
        out.append([(produced, received * 1000 - produced) for received, produced, _, records in list(page.frames)
                    if produced is not None and t0 * 1000 <= produced <= t1 * 1000 and (records or not records_only)])
    return out


def _close(st):
    """Close the pages; their sessions' ids are kept for a reconnect."""
    parallel(lambda p: p.close(), st.get("pages", []))
    st["pages"], st["ok"] = [], []
    return None


COMMANDS = {"connect": _connect, "reconnect": _reconnect, "act": _act, "snapshot": _snapshot,
            "exports": _exports, "seen": _seen, "delays": _delays, "close": _close}


def worker(index: int, commands, results) -> None:
    st: dict = {}
    while True:
        name, args = commands.get()
        if name == "quit":
            _close(st)
            results.put((index, None))
            return
        try:
            results.put((index, COMMANDS[name](st, *args)))
        except Exception as e:                     # say what failed; the main process reports it
            results.put((index, RuntimeError(f"{name}: {type(e).__name__}: {e}")))


class Workers:
    def __init__(self, count: int):
        ctx = mp.get_context("spawn")
        self.results = ctx.Queue()
        self.commands = [ctx.Queue() for _ in range(count)]
        self.procs = [ctx.Process(target=worker, args=(k, q, self.results), daemon=True)
                      for k, q in enumerate(self.commands)]
        for p in self.procs:
            p.start()

    def run(self, name: str, args: dict, timeout: float = 600) -> dict:
        """Send command `name` to each worker in `args` (worker -> its arguments); their answers by worker."""
        for k, a in args.items():
            self.commands[k].put((name, tuple(a)))
        out = {}
        while len(out) < len(args):
            k, answer = self.results.get(timeout=timeout)
            if isinstance(answer, Exception):
                raise answer
            out[k] = answer
        return out

    def cpu(self) -> float:
        return sum(cpu_seconds(p.pid) for p in self.procs)

    def quit(self) -> None:
        for q in self.commands:
            q.put(("quit", ()))
        for p in self.procs:
            p.join(timeout=30)
            if p.is_alive():
                p.kill()


def shares(total: int, parts: int) -> list[int]:
    return [total // parts + (k < total % parts) for k in range(parts)]


def flat(answers: dict) -> list:
    """Per-page answers of several workers, in worker order."""
    return [x for k in sorted(answers) for x in answers[k]]


# ----- server logs -------------------------------------------------------------------------------------

KNOWN = ("Sessions are saved in", "raftviz is running at")


def log_problems(paths) -> list[str]:
    """What the servers wrote beyond their start lines (tracebacks by their last line), each kind once."""
    seen: dict[str, int] = {}
    for path in paths:
        try:
            lines = Path(path).read_text(errors="replace").splitlines()
        except OSError:
            continue
        k = 0
        while k < len(lines):
            line = lines[k]
            k += 1
            if not line.strip() or line.startswith(KNOWN):
                continue
            if line.startswith("Traceback"):
                while k < len(lines) and (lines[k].startswith(" ") or not lines[k].strip()):
                    k += 1
                tail = lines[k] if k < len(lines) else "?"
                k += 1
                key = f"Traceback ... {tail[:160]}"
            else:
                key = re.sub(r"\b[0-9a-zA-Z_-]{12,}\b", "<id>", line.strip())[:200]
            seen[key] = seen.get(key, 0) + 1
    return [f"{n:>5} x {key}" for key, n in seen.items()]


def print_log_problems(paths) -> None:
    problems = log_problems(paths)
    if problems:
        print("server log: lines beyond the start (each kind once):")
        for line in problems[:12]:
            print("  " + line)
    else:
        print("server log: nothing beyond the start lines")


# ----- 1. restart ----------------------------------------------------------------------------------------

def nodes(k: int) -> tuple[int, int, int]:
    """Three distinct servers of a 5-server cluster for the session of page k."""
    return k % 5 + 1, (k + 2) % 5 + 1, (k + 4) % 5 + 1


def restart(args, workers: Workers, tmp: Path) -> None:
    n = args.sessions
    print(f"1. Restart: {n} sessions on one process with a SQLite store, each at speed 1.0 with 4 actions, "
          f"playing {args.play:g} s; stopped, started again on the store, every page reconnecting with its "
          f"session's id\n", flush=True)
    for old in tmp.glob("sessions.sqlite3*"):
        old.unlink()                              # a kept folder of an earlier run
    env = {"RAFTVIZ_STORE": str(tmp / "sessions.sqlite3"), "PYTHONWARNINGS": "ignore",
           "RAFTVIZ_MAX_SESSIONS": str(n + 20), "RAFTVIZ_NEW_SESSIONS_PER_MINUTE": str(100 * n + 100)}
    used = list(range(len(workers.procs)))
    counts = dict(zip(used, shares(n, len(used))))
    first = {}                                    # worker -> index of its first page, over all pages
    k = 0
    for w in used:
        first[w], k = k, k + counts[w]
    logs = [tmp / f"restart-{i}.log" for i in range(3)]
    rows = []

    def act_on_every_page(actions_for, when):
        """Each page does actions_for(its index); say how many the server refused."""
        scripts = {w: ([actions_for(first[w] + j) for j in range(counts[w])],) for w in used}
        refused = [e for r in flat(workers.run("act", scripts)) for e in r["errors"]]
        if refused:
            print(f"{len(refused)} actions refused{when}, e.g.: {refused[0]}")

    with running_server(env=env, log_path=logs[0]) as (url, proc):
        made = flat(workers.run("connect", {w: (url, [None] * counts[w]) for w in used}))
        failed = [r["error"] for r in made if "error" in r]
        if failed:
            print(f"{len(failed)} of {n} sessions could not be made, e.g.: {failed[0]}")
        scripts = {w: ([[{"type": "speed", "value": 1.0}]] * counts[w],) for w in used}
        workers.run("act", scripts)
        time.sleep(1.5)                           # a leader elected, at real time
        def first_actions(page):
            a, b, _ = nodes(page)
            return [{"type": "crash", "node": a}, {"type": "submit", "command": f"SET k{page} 1"},
                    {"type": "crash", "node": b}, {"type": "restart", "node": a}]

        act_on_every_page(first_actions, "")
        time.sleep(args.play)
        before = flat(workers.run("snapshot", {w: () for w in used}))
        signalled = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
            stopped_in = time.monotonic() - signalled
        except subprocess.TimeoutExpired:          # the signal was lost: stop it as a service manager would
            print("the process was still running 30 s after SIGTERM (the signal was lost): killed it (SIGKILL); "
                  "the SIGTERM row is of a restart after that kill")
            proc.kill()
            proc.wait(timeout=30)
            stopped_in = float("nan")
    seen = flat(workers.run("seen", {w: () for w in used}))
    workers.run("close", {w: () for w in used})

    def back_again(log_path, before, seen, stop, stopped_in, next_step):
        spawned = time.monotonic()
        with running_server(env=env, log_path=log_path) as (url, proc):
            ready_wall, started_in = time.time(), time.monotonic() - spawned
            ids = [b.get("state", {}).get("session") for b in before]
            served = flat(workers.run("reconnect", {w: (url, ids[first[w]:first[w] + counts[w]]) for w in used}))
            actions = flat(workers.run("exports", {w: () for w in used}))
            row = compare(stop, stopped_in, started_in, ready_wall, before, seen, served, actions)
            rows.append(row)
            return next_step(url, proc) if next_step else None

    def second_part(url, proc):
        def later_actions(page):
            _, b, c = nodes(page)
            return [{"type": "restart", "node": b}, {"type": "crash", "node": c},
                    {"type": "submit", "command": f"SET j{page} 2"}]

        act_on_every_page(later_actions, " after the restart")
        time.sleep(args.play)
        before = flat(workers.run("snapshot", {w: () for w in used}))
        signalled = time.monotonic()
        proc.kill()
        proc.wait(timeout=60)
        return before, time.monotonic() - signalled

    before2, killed_in = back_again(logs[1], before, seen, "SIGTERM", stopped_in, second_part)
    seen2 = flat(workers.run("seen", {w: () for w in used}))
    workers.run("close", {w: () for w in used})
    back_again(logs[2], before2, seen2, "SIGKILL", killed_in, None)
    workers.run("close", {w: () for w in used})

    print(f"{'stop':<8} {'stopped in':>10} {'started in':>10} {'first served':>12} {'median':>7} "
          f"{'all served':>10} {'back':>9} {'actions':>9} {'nodes':>9} {'position':>9} {'records back':>14}")
    for r in rows:
        total = f"/{r['n']}"
        back = f"{r['back_records'][0]:.0f} / {r['back_records'][1]:.0f}" if r["stop"] == "SIGKILL" else "-"
        stopped = "lost" if r["stopped_in"] != r["stopped_in"] else f"{r['stopped_in']:.2f}s"
        print(f"{r['stop']:<8} {stopped:>10} {r['started_in']:>9.2f}s {r['first']:>11.2f}s "
              f"{r['median']:>6.2f}s {r['all']:>9.2f}s {str(r['back']) + total:>9} {str(r['actions']) + total:>9} "
              f"{str(r['nodes']) + total:>9} {str(r['position']) + total:>9} {back:>14}")
    for r in rows:
        for problem in r["problems"][:3]:
            print(f"  {r['stop']}: {problem}")
    print("(served: from the new process answering HTTP to a page's `state`; records back: median / max)")
    print_log_problems(logs)
    print(flush=True)


def compare(stop, stopped_in, started_in, ready_wall, before, seen, served, actions) -> dict:
    n = len(before)
    times, problems = [], []
    back = same_actions = same_nodes = position = 0
    records_back = []
    for k in range(n):
        was, got, acts = before[k], served[k], actions[k]
        if "error" in was:
            problems.append(f"page {k}: not noted before the stop: {was['error']}")
            continue
        if "error" in got:
            problems.append(f"page {k}: not served: {got['error']}")
            continue
        times.append(got["served"] - ready_wall)
        state, old = got["state"], was["state"]
        if state["session"] != old["session"]:
            problems.append(f"page {k}: asked for session {old['session']}, served a new one ({state['session']}) "
                            f"with the notice {state['notice']!r}")
            continue
        back += 1
        if acts == was["actions"]:
            same_actions += 1
        else:
            problems.append(f"page {k}: actions differ: {len(was['actions'])} before, "
                            f"{len(acts) if isinstance(acts, list) else acts} after")
        if state["up"] == old["up"]:
            same_nodes += 1
        else:
            problems.append(f"page {k}: servers up before {old['up']}, after {state['up']}")
        last_action = max((a["seq"] for a in was["actions"]), default=0)
        need = max(seen[k], old["seq"]) if stop == "SIGTERM" else last_action
        if state["seq"] >= need and state["mode"] == old["mode"] and state["speed"] == old["speed"]:
            position += 1
        else:
            problems.append(f"page {k}: came back at seq {state['seq']} {state['mode']} x{state['speed']}, "
                            f"needed seq >= {need} {old['mode']} x{old['speed']}")
        records_back.append(max(0, max(seen[k], old["seq"]) - state["seq"]))
    times.sort()
    return {"stop": stop, "n": n, "stopped_in": stopped_in, "started_in": started_in,
            "first": times[0] if times else float("nan"), "median": median(times),
            "all": times[-1] if len(times) == n else float("nan"), "back": back, "actions": same_actions,
            "nodes": same_nodes, "position": position,
            "back_records": (median(records_back), max(records_back, default=0)), "problems": problems}


# ----- 2. two processes ----------------------------------------------------------------------------------

def shared_env(url: str, args) -> dict:
    return {"RAFTVIZ_MESSAGE_QUEUE": url, "RAFTVIZ_STORE": "default", "PYTHONWARNINGS": "ignore",
            "RAFTVIZ_MAX_SESSIONS": str(args.sessions + 20),
            "RAFTVIZ_NEW_SESSIONS_PER_MINUTE": str(100 * args.sessions + 100),
            "RAFTVIZ_MAX_VIEWERS": str(args.viewers + 20), "RAFTVIZ_JOINS_PER_MINUTE": str(10 * args.viewers + 100)}


def two_processes(args, workers: Workers, tmp: Path) -> None:
    n, v = args.sessions, args.viewers
    print(f"2. Two processes on one Redis (sessions kept there): {n} sessions playing at the default speed on "
          f"each, one room (owner on A) with {v} viewers, {v - v // 2} connected to A and {v // 2} to B; "
          f"{args.seconds:g} s\n", flush=True)
    group = max(1, len(workers.procs) // 4)
    ids = list(range(len(workers.procs)))
    roles = {"sessions A": ids[0:group], "sessions B": ids[group:2 * group],
             "viewers A": ids[2 * group:3 * group], "viewers B": ids[3 * group:4 * group]}
    logs = [tmp / "two-A.log", tmp / "two-B.log"]
    with running_redis() as (redis_url, redis_proc), ExitStack() as stack:
        env = shared_env(redis_url, args)
        a, proc_a = stack.enter_context(running_server(env=env, log_path=logs[0]))
        b, proc_b = stack.enter_context(running_server(env=env, log_path=logs[1]))
        owner = Page().open(a)
        stack.callback(owner.close)
        owner.wait_state()
        opened = owner.act(type="room_open")
        if not opened.get("ok"):
            sys.exit(f"room_open failed: {opened}")
        code = opened["room"]["code"]
        plan = {}                                 # worker -> (url, auths)
        for url, key, count, auth in ((a, "sessions A", n, None), (b, "sessions B", n, None),
                                      (a, "viewers A", v - v // 2, {"join": code}),
                                      (b, "viewers B", v // 2, {"join": code})):
            for w, share in zip(roles[key], shares(count, len(roles[key]))):
                plan[w] = (url, [auth] * share)
        made = workers.run("connect", plan)
        for key, members in roles.items():
            errors = [r["error"] for w in members for r in made[w] if "error" in r]
            if errors:
                print(f"{key}: {len(errors)} pages refused, e.g.: {errors[0]}")
        time.sleep(3)                             # every page settled, every session playing
        pids = {"A": proc_a.pid, "B": proc_b.pid, "redis": redis_proc.pid}
        c0 = {k: cpu_seconds(p) for k, p in pids.items()}
        k0, t0 = workers.cpu(), time.time()
        owner_mark = len(owner.frames)
        time.sleep(args.seconds)
        c1 = {k: cpu_seconds(p) for k, p in pids.items()}
        k1, t1 = workers.cpu(), time.time()
        time.sleep(1.5)                           # the window's last updates on their way
        sent = {f[1] for f in owner.frames[owner_mark:] if f[1] is not None and t0 * 1000 <= f[1] <= t1 * 1000}
        view_delays = workers.run("delays", {w: (t0, t1, False) for key in ("viewers A", "viewers B")
                                             for w in roles[key]})
        session_delays = workers.run("delays", {w: (t0, t1, True) for key in ("sessions A", "sessions B")
                                                for w in roles[key]})
        rows = []
        for key in ("viewers A", "viewers B"):
            pages = [p for w in roles[key] for p in view_delays[w]]
            connected = sum(1 for w in roles[key] for r in made[w] if "error" not in r)
            delays = sorted(d for page in pages for p, d in page if p in sent)
            missed = sum(len(sent - {p for p, _ in page}) for page, ok in
                         zip(pages, [("error" not in r) for w in roles[key] for r in made[w]]) if ok)
            rows.append((key, connected, len(sent), delays, missed))
        for key in ("sessions A", "sessions B"):
            pages = [p for w in roles[key] for p in session_delays[w]]
            connected = sum(1 for w in roles[key] for r in made[w] if "error" not in r)
            delays = sorted(d for page in pages for _, d in page)
            rows.append((key, connected, sum(len(page) for page in pages), delays, None))
        workers.run("close", {w: () for w in ids[:4 * group]})
    seconds = t1 - t0
    print(f"{'pages':<26} {'pages':>6} {'updates':>8} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} {'missed':>7}")
    labels = {"viewers A": "room viewers on A (owner's)", "viewers B": "room viewers on B (other)",
              "sessions A": "sessions' own pages on A", "sessions B": "sessions' own pages on B"}
    for key, connected, updates, delays, missed in rows:
        print(f"{labels[key]:<26} {connected:>6} {updates:>8} {median(delays):>7.1f} {percentile(delays, 0.99):>7.1f} "
              f"{(delays[-1] if delays else float('nan')):>7.1f} {('-' if missed is None else missed):>7}")
    print("(updates: the room's `events` with a `produced` stamp, as its owner received them; for the sessions'"
          " pages, updates with records received, all pages together)")
    cpu = {k: (c1[k] - c0[k]) / seconds * 100 for k in pids}
    print(f"CPU, % of one core: process A {cpu['A']:.0f}%, process B {cpu['B']:.0f}%, redis-server "
          f"{cpu['redis']:.0f}%, clients ({len(ids[:4 * group])} processes) {(k1 - k0) / seconds * 100:.0f}%"
          f" ({os.cpu_count()} cores)")
    print_log_problems(logs)
    print(flush=True)


# ----- 3. failover ---------------------------------------------------------------------------------------

def failover_once(args, tmp: Path, run: int) -> dict:
    logs = [tmp / f"failover-{run}-A.log", tmp / f"failover-{run}-B.log"]
    out = {"logs": logs, "problems": []}
    with running_redis() as (redis_url, _), ExitStack() as stack:
        env = shared_env(redis_url, args)
        b, _ = stack.enter_context(running_server(env=env, log_path=logs[1]))
        pages = ExitStack()
        stack.enter_context(pages)
        a_server = running_server(env=env, log_path=logs[0])
        a, proc_a = a_server.__enter__()
        try:
            owner = Page().open(a)
            pages.callback(owner.close)
            session = owner.wait_state()["session"]
            assert owner.act(type="speed", value=1.0)["ok"]
            opened = owner.act(type="room_open")
            assert opened["ok"], opened
            code = opened["room"]["code"]

            def join(_):
                page = Page().open(b, {"join": code})
                pages.callback(page.close)
                try:
                    page.wait_state(timeout=10)
                except TimeoutError:                              # said below; B may seat it at the takeover
                    pass
                return page

            viewers = parallel(join, range(args.failover_viewers))
            unseated = sum(1 for page in viewers if not page.states)
            if unseated:
                out["problems"].append(f"{unseated} of {len(viewers)} viewers joined (connected) but were sent "
                                       f"no state within 10 s")
            time.sleep(1.5)                                       # playing, a leader elected
            acks = [owner.act(type="crash", node=2), owner.act(type="submit", command="SET x 1"),
                    owner.act(type="crash", node=4), owner.act(type="restart", node=4)]
            for ack in acks:
                if not ack.get("ok"):
                    out["problems"].append(f"an owner's action was refused: {ack.get('error')}")
            time.sleep(1.0)
            actions = owner.actions()
            seen = max(page.seen_seq() for page in viewers)
            marks = [len(page.state_times) for page in viewers]
            ref = next((page for page in viewers if page.states), viewers[0])    # looks at the session after
            decoded = len(ref.states)
            killed = time.time()
            proc_a.kill()
            proc_a.wait(timeout=30)
        finally:
            a_server.__exit__(None, None, None)
        # Every viewer: its state again (seated by B), then records produced after the kill.
        deadline = time.monotonic() + 60
        seated, records = [None] * len(viewers), [None] * len(viewers)
        while time.monotonic() < deadline and (None in seated or None in records):
            for k, page in enumerate(viewers):
                if seated[k] is None and len(page.state_times) > marks[k]:
                    seated[k] = page.state_times[marks[k]] - killed
                if records[k] is None:
                    records[k] = next((f[0] - killed for f in list(page.frames)
                                       if f[1] is not None and f[1] > killed * 1000 and f[3]), None)
            time.sleep(0.05)
        out["viewers"] = len(viewers)
        out["back"] = sum(r is not None for r in records)
        out["seated"] = max(seated) if None not in seated else float("nan")
        out["took"] = max(records) if None not in records else float("nan")
        if None in records:
            out["problems"].append(f"{records.count(None)} viewers had no new records within 60 s of the kill")
        # Nothing the owner did is lost: a viewer's view of the session on B.
        try:
            state = ref.sync()
            after = ref.actions()
            first_back = ref.states[decoded]["seq"]
            out["records_back"] = max(0, seen - first_back)
            out["actions"] = after == actions
            up = {n["id"]: n["up"] for n in state["nodes"]}
            out["nodes"] = up.get(2) is False and up.get(4) is True
            out["position"] = first_back >= max(a["seq"] for a in actions) and state["mode"] == "playing"
            if not out["actions"]:
                out["problems"].append(f"actions: {len(actions)} before the kill, {len(after)} after")
        except Exception as e:
            out["problems"].append(f"the session could not be looked at on B: {type(e).__name__}: {e}")
            out.update(records_back=float("nan"), actions=False, nodes=False, position=False)
        try:
            again = Page().open(b, {"session": session, "owner": opened["owner"]})
            pages.callback(again.close)
            out["owner"] = again.wait_state(timeout=20).get("room", {}).get("role") == "owner"
        except Exception as e:
            out["problems"].append(f"the owner's page was not seated on B: {type(e).__name__}: {e}")
            out["owner"] = False
    return out


def failover(args, tmp: Path) -> None:
    print(f"3. Failover: a lecture on process A (speed 1.0, its owner's actions), its room followed by "
          f"{args.failover_viewers} viewers on process B; A killed (SIGKILL); {args.repeats} runs\n", flush=True)
    print(f"{'run':>3} {'viewers back':>12} {'seated again':>12} {'records again':>13} {'records back':>12} "
          f"{'actions':>7} {'nodes':>5} {'position':>8} {'owner on B':>10}", flush=True)
    runs, logs = [], []
    yes = {True: "kept", False: "LOST"}
    for run in range(1, args.repeats + 1):
        r = failover_once(args, tmp, run)
        runs.append(r)
        logs += r["logs"]
        print(f"{run:>3} {str(r['back']) + '/' + str(r['viewers']):>12} {r['seated']:>11.2f}s {r['took']:>12.2f}s "
              f"{r['records_back']:>12} {yes[r['actions']]:>7} {yes[r['nodes']]:>5} {yes[r['position']]:>8} "
              f"{('yes' if r['owner'] else 'NO'):>10}", flush=True)
        for problem in r["problems"]:
            print(f"    {problem}")
    print(f"median: seated again {median(r['seated'] for r in runs):.2f} s, records again "
          f"{median(r['took'] for r in runs):.2f} s after the kill")
    print("(seated again: the last viewer's new `state` from B; records again: the last viewer's first `events` "
          "with records produced after the kill; records back: behind what the viewers had seen)")
    print_log_problems(logs)
    print(flush=True)


# ----- main -----------------------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=200, help="sessions (restart), and per process (two processes)")
    parser.add_argument("--viewers", type=int, default=300, help="viewers of the room (two processes)")
    parser.add_argument("--seconds", type=float, default=20, help="the measured window (two processes)")
    parser.add_argument("--play", type=float, default=4, help="s the sessions play before a stop (restart)")
    parser.add_argument("--failover-viewers", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3, help="failover runs")
    parser.add_argument("--workers", type=int, default=8, help="processes the clients are spread over (a multiple of 4)")
    parser.add_argument("--logs", help="keep the servers' logs in this folder (default: a temporary one, removed)")
    parser.add_argument("--only", nargs="+", choices=["restart", "two", "failover"],
                        default=["restart", "two", "failover"])
    args = parser.parse_args()
    if ("two" in args.only or "failover" in args.only) and shutil.which("redis-server") is None:
        sys.exit("redis-server is not installed (make redis, or apt-get install redis-server)")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="raftviz-processes-") as tmp:
        if args.logs:
            Path(args.logs).mkdir(parents=True, exist_ok=True)
            tmp = args.logs
        workers = Workers(max(4, args.workers)) if {"restart", "two"} & set(args.only) else None
        try:
            if "restart" in args.only:
                restart(args, workers, Path(tmp))
            if "two" in args.only:
                two_processes(args, workers, Path(tmp))
        finally:
            if workers is not None:
                workers.quit()
        if "failover" in args.only:
            failover(args, Path(tmp))
    print(f"({time.monotonic() - started:.0f} s in all)")


if __name__ == "__main__":
    main()
