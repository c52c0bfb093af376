"""History cost: a 10-virtual-minute history of a 5-node cluster with client
traffic (and a crash now and then, so there are elections to go back to).

Prints the median cost of a random seek as a ratio to replaying the whole
history from the start (target <= 0.01), and the memory the cluster and its
history hold (target <= 50 MB), beside an estimate of what keeping every
state would take.

    python benchmarks/history.py [--minutes 10] [--rate 10]
"""
import argparse
import gc
import pickle
import random
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from raftviz.sim import Cluster  # noqa: E402


def build(minutes: float, rate: int) -> Cluster:
    c = Cluster(5, seed=3)
    interval = 1000 / rate
    rng = random.Random(3)
    for k in range(int(minutes * 60 * rate)):
        c.run_for(interval)
        c.submit(f"SET k{k % 200} {k}")
        if rng.random() < 0.002:                       # about one crash a minute
            up = [i for i, n in c.nodes.items() if n.up]
            c.crash(rng.choice(up))
        down = [i for i, n in c.nodes.items() if not n.up]
        if down and rng.random() < 0.01:
            c.restart(down[0])
    return c


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--rate", type=int, default=10, help="client commands per virtual second")
    parser.add_argument("--seeks", type=int, default=40)
    args = parser.parse_args()

    gc.collect()
    tracemalloc.start()
    c = build(args.minutes, args.rate)
    gc.collect()
    held = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    length = len(c.trace)
    print(f"history: {args.minutes:g} virtual minutes, {length} records, {args.rate} commands/s, "
          f"{len(c._history.checkpoints)} checkpoints every {c.config['checkpoint_interval']} records")

    data = c.export()
    start = time.perf_counter()
    Cluster.replay(data)
    full = time.perf_counter() - start

    rng = random.Random(1)
    costs = []
    for _ in range(args.seeks):
        target = rng.randint(0, length)
        start = time.perf_counter()
        c.seek(target)
        costs.append(time.perf_counter() - start)
    median = statistics.median(costs)

    # What keeping every state would cost: full, unshared copies of the
    # world's state (pickled bytes, a lower bound of their size in memory),
    # sampled along the history, times the number of records.
    sizes = []
    for target in range(0, length + 1, max(1, length // 20)):
        c.seek(target)
        sizes.append(len(pickle.dumps(c._world.save(), protocol=pickle.HIGHEST_PROTOCOL)))
    one_state = statistics.mean(sizes)

    print(f"replay from the start: {full * 1000:.0f} ms")
    print(f"random seek: median {median * 1000:.2f} ms, max {max(costs) * 1000:.2f} ms "
          f"-> ratio {median / full:.4f} (target <= 0.01)")
    print(f"memory held by the cluster and its history: {held / 2**20:.1f} MB (target <= 50 MB)")
    print(f"keeping every state instead: about {one_state * length / 2**30:.1f} GB "
          f"({one_state / 1024:.0f} KB per state on average x {length} records)")


if __name__ == "__main__":
    main()
