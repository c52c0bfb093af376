"""Safety under random faults, checked after every event, and liveness once
the faults stop: crashes, restarts, partitions, cut links, message loss, long
delays and client commands, over many seeds."""
import pytest

from faults import faulty_run

SEEDS = range(40)


@pytest.mark.parametrize("seed", SEEDS)
def test_random_faults_keep_raft_safe_and_the_cluster_recovers(seed):
    size = 3 + seed % 5                      # 3 to 7 servers
    c, oracle, last = faulty_run(seed, size=size, entries_per_append=1 + seed % 4,
                                 fast_backup=seed % 3 == 0, noop_on_election=seed % 4 == 0)
    leader = c.leader()
    assert leader is not None, "a leader emerges once the faults stop"
    lead = c.nodes[leader]
    assert lead.log[-1].command == last or any(e.command == last for e in lead.log)
    for i, n in c.nodes.items():
        assert n.log == lead.log, f"S{i}'s log differs from the leader's after recovery"
        assert n.commit_index == len(lead.log), f"S{i} has not committed everything"
        assert n.store == lead.store
    assert c.violations == [], "the safety monitor agrees: nothing was violated"


def test_the_monitor_stays_silent_over_hundreds_of_correct_runs():
    for seed in range(1000, 1200):
        c, _, _ = faulty_run(seed, size=5, fault_ms=1500, settle_ms=1500, check_every_event=False)
        assert c.violations == [], f"seed {seed}: {c.violations[:1]}"
