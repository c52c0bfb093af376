"""Engine speed: 60 virtual seconds of a 5- and a 9-node cluster under 100
client commands per virtual second.

Prints events processed, CPU seconds, the speed-up over real time, and the
per-event cost as a ratio to a bare heapq event loop run in the same process
right after: that loop pops an entry of the same shape the simulator uses
(time, order, kind, payload, token), dispatches it to a handler that does
nothing but schedule the next entry, and does as many pushes and pops as the
simulation did. Targets: >= 50x real time for 9 nodes, <= 8x the bare loop.

    python benchmarks/engine.py [--seconds 60] [--rate 100]
"""
import argparse
import heapq
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from raftviz.sim import Cluster  # noqa: E402


def simulate(size: int, seconds: float, rate: int):
    c = Cluster(size, seed=1)
    c.run_for(1000)                                  # a leader is elected
    world = c._world
    events0, pushes0 = len(c.trace), world.order
    interval = 1000 / rate
    start = time.process_time()
    for k in range(int(seconds * rate)):
        c.run_for(interval)
        c.submit(f"SET k{k % 100} {k}")
    cpu = time.process_time() - start
    events = len(c.trace) - events0
    pushes = world.order - pushes0
    committed = c.nodes[c.leader()].commit_index
    assert not c.violations
    return events, pushes, cpu, committed


def bare_loop(operations: int) -> float:
    """A heapq event loop with nothing to do: CPU seconds for `operations`
    pops, each dispatched to a handler that pushes the next entry."""
    queue = []
    rnd = random.Random(1).random
    order = [0]

    def handler(entry):
        order[0] += 1
        heapq.heappush(queue, (entry[0] + int(rnd() * 20_000), order[0], 0, None, None))

    handlers = (handler,)
    for i in range(40):                              # about as many entries as a 9-node cluster queues
        order[0] += 1
        heapq.heappush(queue, (int(rnd() * 20_000), order[0], 0, None, None))
    start = time.process_time()
    for _ in range(operations):
        entry = heapq.heappop(queue)
        handlers[entry[2]](entry)
    return time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--rate", type=int, default=100)
    args = parser.parse_args()
    print(f"{args.seconds:g} virtual s, {args.rate} commands per virtual s\n")
    print(f"{'nodes':>5} {'events':>8} {'pushes':>8} {'committed':>9} {'CPU s':>7} {'x real time':>11} "
          f"{'us/event':>8} {'bare us/event':>13} {'ratio':>6}")
    for size in (5, 9):
        events, pushes, cpu, committed = simulate(size, args.seconds, args.rate)
        per_event = cpu / events
        bare_per_event = bare_loop(pushes) / pushes      # the same number of pushes and pops
        print(f"{size:>5} {events:>8} {pushes:>8} {committed:>9} {cpu:>7.3f} {args.seconds / cpu:>10.0f}x "
              f"{per_event * 1e6:>8.2f} {bare_per_event * 1e6:>13.3f} {per_event / bare_per_event:>5.1f}x")


if __name__ == "__main__":
    main()
