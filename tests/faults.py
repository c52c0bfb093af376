"""Randomized fault schedules and an oracle that checks safety after every event.

The oracle is independent of the engine's own monitor: it looks only at the
nodes' visible state (role, term, log, commitIndex) after each step.
"""
import random

from raftviz.sim import Cluster


class Oracle:
    def __init__(self):
        self.leaders = {}        # term -> node
        self.committed = []      # the committed prefix, as (term, command) pairs

    def check(self, c):
        for i, n in c.nodes.items():
            if n.up and n.role == "leader":
                other = self.leaders.setdefault(n.term, i)
                assert other == i, f"S{other} and S{i} both led term {n.term} (seq {c.seq})"
            if not n.up:
                continue
            prefix = [(e.term, e.command) for e in n.log[:n.commit_index]]
            shared = min(len(prefix), len(self.committed))
            assert prefix[:shared] == self.committed[:shared], \
                f"S{i}'s committed entries disagree with what was committed before (seq {c.seq})"
            if len(prefix) > len(self.committed):
                self.committed = prefix


def faulty_run(seed, size=5, fault_ms=3000, settle_ms=4000, check_every_event=True, **options):
    """Random crashes, restarts, partitions, cut links, loss, long delays and
    client commands for fault_ms; then every fault is repaired and the
    cluster gets settle_ms to recover. Returns (cluster, oracle, last command)."""
    rng = random.Random(seed)
    c = Cluster(size, seed=seed, **options)
    oracle = Oracle()
    ids = list(c.nodes)

    def advance(ms):
        until = c.now + ms
        while True:
            nxt = c.step() if check_every_event else None
            if check_every_event:
                if nxt is None or c.now > until:
                    break
                oracle.check(c)
            else:
                c.run_for(ms)
                oracle.check(c)
                break

    commands = 0
    while c.now < fault_ms:
        advance(rng.uniform(5, 60))
        roll = rng.random()
        down = [i for i in ids if not c.nodes[i].up]
        up = [i for i in ids if c.nodes[i].up]
        if roll < 0.35:
            commands += 1
            c.submit(f"SET k{commands % 7} {commands}", to=rng.choice(ids + [None]))
        elif roll < 0.45 and up:
            c.crash(rng.choice(up))
        elif roll < 0.55 and down:
            c.restart(rng.choice(down))
        elif roll < 0.62:
            shuffled = rng.sample(ids, len(ids))
            cut = rng.randint(1, len(ids) - 1)
            c.partition(shuffled[:cut])
        elif roll < 0.7:
            a, b = rng.sample(ids, 2)
            c.cut(a, b)
        elif roll < 0.78:
            c.heal()
        elif roll < 0.84:
            c.network.loss = rng.choice([0.0, 0.05, 0.2])
        elif roll < 0.9:
            c.network.latency = rng.choice([(10, 20), (30, 150), (100, 400)])
        elif roll < 0.95 and up:
            i = rng.choice(up)
            if c.nodes[i].role != "leader":
                c.timeout(i)
        elif up:
            c.disconnect(rng.choice(up))
            if rng.random() < 0.5:
                c.connect(rng.choice(ids))
    # Repair everything and let the cluster recover.
    c.heal()
    c.network.loss = 0.0
    c.network.latency = (10, 20)
    for i in ids:
        if not c.nodes[i].up:
            c.restart(i)
    advance(settle_ms / 2)
    last = f"SET final {seed}"
    for _ in range(40):
        if c.submit(last) is not None:
            break
        advance(100)
    advance(settle_ms / 2)
    return c, oracle, last
