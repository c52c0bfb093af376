"""Safety under random faults, checked after every event, and liveness once
the faults stop: crashes, restarts, partitions, cut links, message loss, long
delays and client commands, over many seeds; and the same with random
configuration changes (joint and single, new servers, removals of the leader
too), leadership transfers, and PreVote, CheckQuorum,
ignore_votes_while_led and lease_reads switched on and off. Most runs also
have simulated clients, reads and client requests (faults.py), and their
history must be linearizable (the paper's section 8)."""
import pytest

from faults import faulty_run

SEEDS = range(40)


def assert_recovered(c, last):
    """After the faults: a leader, and every member of its configuration
    holds, has committed and has applied the leader's whole log."""
    leader = c.leader()
    assert leader is not None, "a leader emerges once the faults stop"
    lead = c.nodes[leader]
    assert any(e.command == last for e in lead.log)
    config = lead.config
    members = set(config["voters"]) | set(config["old_voters"] or ()) | set(config["learners"])
    for i in sorted(members):
        n = c.nodes[i]
        assert n.log == lead.log, f"S{i}'s log differs from the leader's after recovery"
        assert n.commit_index == len(lead.log), f"S{i} has not committed everything"
        assert n.store == lead.store
    assert c.violations == [], "the safety monitor agrees: nothing was violated"
    assert_linearizable(c)


def assert_linearizable(c):
    verdict = c.check_linearizable()
    assert verdict["ok"], verdict["explanation"]


@pytest.mark.parametrize("seed", SEEDS)
def test_random_faults_keep_raft_safe_and_the_cluster_recovers(seed):
    size = 3 + seed % 5                      # 3 to 7 servers
    c, oracle, last = faulty_run(seed, size=size, entries_per_append=1 + seed % 4,
                                 fast_backup=seed % 3 == 0, noop_on_election=seed % 4 == 0,
                                 clients=seed % 4 != 1, lease_reads=seed % 3 == 2)
    assert set(c.nodes[c.leader()].config["voters"]) == set(c.nodes), "nobody changed the configuration"
    assert_recovered(c, last)


@pytest.mark.parametrize("seed", range(80))
def test_random_faults_with_configuration_changes_keep_raft_safe_and_the_cluster_recovers(seed):
    size = 1 + seed % 7                      # 1 to 7 servers to start with; up to 9 with new ones
    c, oracle, last = faulty_run(seed, size=size, membership=(0.2, 0.5)[seed % 2], calm=seed % 4 == 3,
                                 entries_per_append=1 + seed % 4,
                                 fast_backup=seed % 3 == 0, noop_on_election=seed % 4 == 0,
                                 pre_vote=seed % 2 == 0, check_quorum=seed % 3 == 1,
                                 ignore_votes_while_led=seed % 5 < 2, clients=seed % 4 != 1,
                                 lease_reads=seed % 5 == 3)
    assert_recovered(c, last)


def test_the_monitor_stays_silent_over_hundreds_of_correct_runs():
    answered = {"read_index": 0, "lease": 0}
    for seed in range(1000, 1200):
        c, _, _ = faulty_run(seed, size=5, fault_ms=1500, settle_ms=1500, check_every_event=False,
                             clients=seed % 4 != 1, lease_reads=seed % 3 == 0)
        assert c.violations == [], f"seed {seed}: {c.violations[:1]}"
        assert_linearizable(c)
        reads = sum(1 for o in c.history() if o["kind"] == "read" and o["status"] == "ok")
        answered["lease" if seed % 3 == 0 else "read_index"] += reads
    assert min(answered.values()) > 50, f"reads were answered, with and without leases: {answered}"


def test_the_monitor_stays_silent_over_hundreds_of_runs_with_configuration_changes():
    for seed in range(2000, 2300):
        c, _, _ = faulty_run(seed, size=2 + seed % 5, fault_ms=1500, settle_ms=1500, check_every_event=False,
                             membership=(0.2, 0.5)[seed % 2], pre_vote=seed % 3 == 0, check_quorum=seed % 3 == 0,
                             ignore_votes_while_led=seed % 4 == 0, clients=seed % 4 != 1)
        assert c.violations == [], f"seed {seed}: {c.violations[:1]}"
        assert_linearizable(c)
