"""Cluster.fork: a copy that continues exactly as the original would, shares
its past, and goes its own way once acted on (a student's "Try from here")."""
from raftviz.sim import Cluster


def busy_cluster():
    c = Cluster(5, seed=11, snapshot_every=20)
    c.run_for(1500)
    c.submit("SET x 1")
    c.clients(2, rate=20, keys=1)
    c.run_for(800)
    c.crash(c.leader())
    c.run_for(700)
    return c


def test_a_fork_continues_exactly_as_the_original():
    c = busy_cluster()
    twin = c.fork()
    assert (twin.seq, twin.now, len(twin.trace)) == (c.seq, c.now, len(c.trace))
    assert twin.snapshot() == c.snapshot()
    c.run_for(2000)
    twin.run_for(2000)
    assert twin.seq == c.seq and twin.trace[-200:] == c.trace[-200:]
    assert twin.snapshot() == c.snapshot()
    assert twin.history() == c.history()


def test_a_fork_keeps_the_past_and_steps_back_into_it():
    c = busy_cluster()
    twin = c.fork()
    first = c.records(1, 50)
    twin.seek(40)
    assert twin.records(1, 50) == first
    assert c.seq == len(c.trace), "seeking the fork does not move the original"
    assert twin.trace[39] == c.trace[39]


def test_acting_on_a_fork_leaves_the_original_alone():
    c = busy_cluster()
    before = c.snapshot()
    twin = c.fork()
    for i in [i for i, n in twin.nodes.items() if n.up][:2]:
        twin.crash(i)
    twin.run_for(1000)
    assert c.snapshot() == before
    c.run_for(1000)
    assert c.trace[-1] != twin.trace[-1]
    assert c.export()["actions"] != twin.export()["actions"]


def test_a_fork_in_the_past_follows_then_forks_the_recorded_future():
    c = busy_cluster()
    c.seek(100)
    twin = c.fork()
    assert twin.seq == 100 and len(twin.trace) == len(c.trace)
    twin.step()
    c.step()
    assert twin.trace[100] == c.trace[100]
    twin.submit("SET y 2")
    assert len(twin.trace) == 102 and len(c.trace) > 102, "the fork cut its own future, not the original's"


def test_a_fork_exports_and_replays_to_the_same_cluster():
    twin = busy_cluster().fork()
    twin.run_for(300)
    again = Cluster.replay(twin.export())
    assert again.snapshot() == twin.snapshot()
