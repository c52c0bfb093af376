"""Safety under random faults, checked after every event, and liveness once
the faults stop: crashes, restarts, partitions, cut links, message loss, long
delays and client commands, over many seeds; and the same with random
configuration changes (joint and single, new servers, removals of the leader
too), leadership transfers, and PreVote, CheckQuorum,
ignore_votes_while_led and lease_reads switched on and off; and all of it
again with log compaction (section 7): servers taking snapshots by
themselves (snapshot_every small) and when asked, at random. Most runs also
have simulated clients, reads and client requests (faults.py), and their
history must be linearizable (the paper's section 8)."""
import pytest

from faults import faulty_run, holds_command, same_log

SEEDS = range(40)


def assert_recovered(c, last):
    """After the faults: a leader, and every member of its configuration
    holds, has committed and has applied the leader's whole log."""
    leader = c.leader()
    assert leader is not None, "a leader emerges once the faults stop"
    lead = c.nodes[leader]
    assert holds_command(lead, last)
    config = lead.config
    members = set(config["voters"]) | set(config["old_voters"] or ()) | set(config["learners"])
    for i in sorted(members):
        n = c.nodes[i]
        assert same_log(n, lead), f"S{i}'s log differs from the leader's after recovery"
        assert n.commit_index == lead.last_log_index, f"S{i} has not committed everything"
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


# ----- the same with log compaction (section 7) -------------------------------------------

@pytest.mark.parametrize("seed", SEEDS)
def test_7_random_faults_with_snapshots_keep_raft_safe_and_the_cluster_recovers(seed):
    """Servers snapshot by themselves every 1 to 6 applied entries (or, one seed in
    four, only when asked) and are asked to at random: a lagging or restarted
    follower then needs InstallSnapshot."""
    size = 3 + seed % 5
    every = 0 if seed % 4 == 3 else 1 + seed % 6
    c, oracle, last = faulty_run(seed, size=size, snapshots=0.15, snapshot_every=every,
                                 entries_per_append=1 + seed % 4, fast_backup=seed % 3 == 0,
                                 noop_on_election=seed % 4 == 0)
    assert_recovered(c, last)
    assert_linearizable(c)


def test_7_random_faults_with_snapshots_send_install_snapshot():
    """The runs above are not vacuous: servers take snapshots by themselves and when
    asked, and followers receive them. (Seeded: the counts are those of these runs.)"""
    by_policy = asked = installs = 0
    for seed in range(8):
        c, _, _ = faulty_run(seed, size=5, snapshots=0.15, snapshot_every=2 + seed % 3)
        for r in c.trace:
            if "snapshot" in r["notes"]:
                by_policy += "(snapshot every" in r["text"]
                asked += r["kind"] == "action"
            installs += "install_snapshot" in r["notes"]
    assert by_policy >= 10 and asked >= 5 and installs >= 4, (by_policy, asked, installs)


@pytest.mark.parametrize("seed", range(40))
def test_7_random_faults_with_configuration_changes_and_snapshots_keep_raft_safe(seed):
    """Configurations in snapshots: a server that installs one uses the configuration it holds."""
    size = 1 + seed % 7
    c, oracle, last = faulty_run(seed, size=size, membership=(0.2, 0.5)[seed % 2], calm=seed % 4 == 3,
                                 snapshots=0.1, snapshot_every=1 + seed % 5,
                                 entries_per_append=1 + seed % 4, fast_backup=seed % 3 == 0,
                                 pre_vote=seed % 2 == 0, check_quorum=seed % 3 == 1,
                                 ignore_votes_while_led=seed % 5 < 2)
    assert_recovered(c, last)
    assert_linearizable(c)


def test_7_the_monitor_stays_silent_over_hundreds_of_runs_with_snapshots():
    for seed in range(3000, 3200):
        c, _, _ = faulty_run(seed, size=2 + seed % 5, fault_ms=1500, settle_ms=1500, check_every_event=False,
                             snapshots=0.1, snapshot_every=seed % 5, membership=0.2 if seed % 3 == 0 else 0.0)
        assert c.violations == [], f"seed {seed}: {c.violations[:1]}"
