"""How fast the linearizability checker decides a history (raftviz/sim/linearizable.py).

The issue's target: a 1,000-operation history of 5 clients on one key in
under a second. Histories are made the way a real run makes them: each
client waits for its answer before its next call, each operation takes
effect at a random instant between its call and its answer, and a read sees
what the key held at that instant, so the history is linearizable by
construction. The same history with one read changed to an older value is
not, and the checker must find that too (and say which operations). Run:

    PYTHONPATH=. python benchmarks/linearizability.py
"""
from __future__ import annotations

import random
import statistics
import time

from raftviz.sim.linearizable import check


def history(n_ops: int, clients: int, seed: int, read_ratio: float = 0.5) -> list[dict]:
    rng = random.Random(seed)
    free_at = [0.0] * clients                 # when each client may call again
    ops = []
    for k in range(n_ops):
        c = min(range(clients), key=lambda i: (free_at[i], i))
        invoked = free_at[c] + rng.uniform(0, 3)
        returned = invoked + rng.uniform(1, 20)
        at = rng.uniform(invoked, returned)  # when it takes effect
        kind = "read" if rng.random() < read_ratio else "write"
        ops.append({"client": c + 1, "seq": k, "kind": kind, "key": "x", "op": "SET",
                    "value": str(k) if kind == "write" else None, "result": None,
                    "invoked": round(invoked, 3), "returned": round(returned, 3), "status": "ok", "_at": at})
        free_at[c] = returned
    value = None
    for op in sorted(ops, key=lambda o: o["_at"]):
        if op["kind"] == "read":
            op["result"] = value
        else:
            value = op["value"]
    for op in ops:
        del op["_at"]
    return ops


def stale(ops: list[dict]) -> list[dict]:
    """One read in the middle made to see a value overwritten long before it began."""
    ops = [dict(o) for o in ops]
    reads = [o for o in ops if o["kind"] == "read"]
    target = reads[len(reads) // 2]
    old = [o for o in ops if o["kind"] == "write" and o["returned"] < target["invoked"] - 100]
    target["result"] = old[0]["value"]
    return ops


def timed(ops, repeat: int = 5) -> tuple[float, dict]:
    times, verdict = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        verdict = check(ops)
        times.append(time.perf_counter() - t)
    return statistics.median(times), verdict


def main() -> None:
    print("history                                   ops  clients  verdict          median")
    for n, clients in ((1000, 5), (1000, 9), (5000, 5)):
        ops = history(n, clients, seed=n + clients)
        t, v = timed(ops)
        print(f"linearizable, one key                  {n:5d}  {clients:7d}  {str(v['ok']):15s} {t * 1000:8.1f} ms")
        t, v = timed(stale(ops))
        print(f"one stale read, one key                {n:5d}  {clients:7d}  {str(v['ok']):15s} {t * 1000:8.1f} ms"
              f"   ({len(v['operations'])} operations named)")


if __name__ == "__main__":
    main()
