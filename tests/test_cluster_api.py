"""The public Cluster API as written in the engine issue: construction,
stepping, actions, the trace, determinism, and the errors a student sees."""
import json

import pytest

from raftviz.sim import Cluster

from helpers import deliveries, run_until


def elect(c, limit_ms=3000):
    return run_until(c, lambda c: c.leader() is not None, limit_ms)


# ----- construction --------------------------------------------------------------

def test_new_cluster_starts_with_followers_in_term_0_and_empty_logs():
    c = Cluster(5)
    assert sorted(c.nodes) == [1, 2, 3, 4, 5]
    for i, n in c.nodes.items():
        assert (n.id, n.role, n.term, n.voted_for, n.log, n.commit_index, n.last_applied, n.up) == \
            (i, "follower", 0, None, [], 0, 0, True)
    assert c.now == 0 and c.trace == [] and c.violations == [] and c.leader() is None


def test_from_state_loads_logs_roles_and_defaults():
    c = Cluster.from_state({"nodes": [
        {"id": 1, "term": 3, "log": [1, 1, {"term": 2, "command": "x=1"}], "role": "leader", "commit_index": 2},
        {"id": 2, "term": 3, "log": [1, 1], "voted_for": 1},
        {"id": 3, "up": False, "term": 1},
    ]})
    s1, s2, s3 = c.nodes[1], c.nodes[2], c.nodes[3]
    assert (s1.role, s1.voted_for, [e.term for e in s1.log], s1.log[2].command) == ("leader", 1, [1, 1, 2], "x=1")
    assert (s1.commit_index, s1.last_applied) == (2, 2)
    assert s1.next_index == {2: 4, 3: 4} and s1.match_index == {2: 0, 3: 0}
    assert (s2.role, s2.voted_for, s2.commit_index) == ("follower", 1, 0)
    assert not s3.up
    # A loaded leader sends AppendEntries at once; every up follower has a timer.
    first = c.step()
    assert first["time"] == 0 and first["node"] == 1
    assert sorted(m["dst"] for m in first["sent"]) == [2, 3]
    snap = c.snapshot()
    assert snap["nodes"][1]["timer"] is not None and snap["nodes"][2]["timer"] is None


@pytest.mark.parametrize("state, message", [
    ({"nodes": [{"id": 1, "log": [1, 3, 2], "term": 3}]}, "terms never decrease"),
    ({"nodes": [{"id": 1, "log": [4], "term": 3}]}, "only in term 3"),
    ({"nodes": [{"id": 1}, {"id": 1}]}, "twice"),
    ({"nodes": [{"id": 1}, {"id": 3}]}, "Node ids must be 1 to 2"),
    ({"nodes": [{"id": 1, "term": 2, "role": "leader"}, {"id": 2, "term": 2, "role": "leader"}]}, "cannot both lead"),
    ({"nodes": [{"id": 1, "role": "king"}]}, "role must be"),
    ({"nodes": [{"id": 1, "log": [1], "term": 1, "commit_index": 2}]}, "commit_index"),
    ({"nodes": [{"id": 1, "comit_index": 0}]}, "unknown field comit_index"),
    ({"nodes": []}, "1 to 9 servers"),
    ({"servers": []}, "list of nodes"),
])
def test_from_state_refuses_impossible_states_with_the_reason(state, message):
    with pytest.raises(ValueError, match=message):
        Cluster.from_state(state)


# ----- time ---------------------------------------------------------------------------

def test_step_processes_exactly_one_event_and_returns_its_record():
    c = Cluster(3, seed=4)
    r1 = c.step()
    assert r1["seq"] == 1 and r1["kind"] == "timeout" and c.now == r1["time"] > 0
    assert r1["text"].startswith(f"S{r1['node']} times out and starts an election for term 1")
    r2 = c.step()
    assert r2["seq"] == 2 and r2["kind"] == "deliver" and r2["message"]["type"] == "RequestVote"
    assert len(c.trace) == 2 and c.trace[-1] == r2


def test_run_for_processes_everything_due_and_advances_now():
    c = Cluster(5, seed=2)
    c.run_for(1000)
    assert c.now == 1000
    assert all(r["time"] <= 1000 for r in c.trace)
    assert c.leader() is not None
    times = [r["time"] for r in c.trace]
    assert times == sorted(times)


def test_delivered_rpcs_carry_figure_2_fields_in_snake_case():
    c = Cluster(3, seed=5)
    c.run_for(600)
    c.submit("SET a 1")
    c.run_for(300)
    seen = {r["message"]["type"]: r["message"] for r in c.trace if r["kind"] == "deliver"}
    assert set(seen) == {"RequestVote", "RequestVoteReply", "AppendEntries", "AppendEntriesReply"}
    assert {"src", "dst", "term", "last_log_index", "last_log_term"} <= set(seen["RequestVote"])
    assert {"vote_granted"} <= set(seen["RequestVoteReply"])
    assert {"prev_log_index", "prev_log_term", "entries", "leader_commit"} <= set(seen["AppendEntries"])
    assert {"success"} <= set(seen["AppendEntriesReply"])
    json.dumps(list(c.trace))


# ----- elections ---------------------------------------------------------------------------

def test_first_election_gives_one_leader_whom_everyone_follows():
    c = elect(Cluster(5, seed=11))
    lead = c.leader()
    c.run_for(200)
    for i, n in c.nodes.items():
        assert n.term == c.nodes[lead].term
        assert n.role == ("leader" if i == lead else "follower")


def test_split_vote_no_leader_in_that_term_then_randomized_timeouts_break_the_tie():
    c = Cluster(4, seed=3, election_timeout=(150, 300))
    # S1 and S2 start elections at the same moment; S3 and S4 are each reached first by one of them.
    c.cut(1, 4)
    c.cut(2, 3)
    c.timeout(1)
    c.timeout(2)
    run_until(c, lambda c: len(deliveries(c, "RequestVoteReply")) >= 4)
    assert c.leader() is None and c.nodes[1].votes == {1, 3} and c.nodes[2].votes == {2, 4}
    assert c.nodes[1].term == c.nodes[2].term == 1
    c.heal()
    elect(c)
    assert c.nodes[c.leader()].term >= 2, "the tie is broken in a later term"


def test_leader_crash_leads_to_a_new_leader_in_a_higher_term():
    c = elect(Cluster(5, seed=21))
    old = c.leader()
    old_term = c.nodes[old].term
    c.crash(old)
    elect(c)
    assert c.leader() != old and c.nodes[c.leader()].term > old_term


# ----- replication and the state machine ----------------------------------------------------

def test_submit_replicates_commits_and_applies_everywhere():
    c = elect(Cluster(5, seed=8))
    index = c.submit("SET x 42")
    assert index == 1
    c.run_for(300)
    for n in c.nodes.values():
        assert (n.commit_index, n.last_applied, n.store) == (1, 1, {"x": "42"})


def test_submit_to_a_follower_or_without_leader_returns_none_and_changes_no_log():
    c = elect(Cluster(3, seed=8))
    follower = next(i for i in c.nodes if i != c.leader())
    assert c.submit("SET x 1", to=follower) is None
    assert "not the leader" in c.trace[-1]["text"]
    fresh = Cluster(3)
    assert fresh.submit("SET x 1") is None
    assert all(n.log == [] for n in fresh.nodes.values())


def test_a_restarted_server_rebuilds_its_state_machine_from_index_1():
    c = elect(Cluster(3, seed=9))
    lead = c.leader()
    for k in range(3):
        c.submit(f"SET k{k} {k}")
    c.run_for(300)
    victim = next(i for i in c.nodes if i != lead)
    c.crash(victim)
    assert c.nodes[victim].store == {} and c.nodes[victim].log != []
    c.restart(victim)
    assert c.nodes[victim].last_applied == 0
    c.run_for(300)
    assert c.nodes[victim].store == {"k0": "0", "k1": "1", "k2": "2"} and c.nodes[victim].last_applied == 3


# ----- the network ---------------------------------------------------------------------------

def test_partition_minority_leader_cannot_commit_and_heal_repairs():
    c = elect(Cluster(5, seed=13))
    lead = c.leader()
    others = [i for i in c.nodes if i != lead]
    c.partition([lead, others[0]])
    c.submit("SET lost 1", to=lead)
    c.run_for(1500)
    assert c.nodes[lead].commit_index == 0
    majority_leader = c.leader()
    assert majority_leader in others[1:]
    c.submit("SET kept 1")
    c.run_for(300)
    c.heal()
    c.run_for(600)
    for n in c.nodes.values():
        assert [e.command for e in n.log] == ["SET kept 1"] and n.store == {"kept": "1"}


def test_disconnect_cut_and_messages_lost_are_explained():
    c = elect(Cluster(3, seed=14))
    lead = c.leader()
    other = next(i for i in c.nodes if i != lead)
    c.disconnect(other)
    c.disconnect(other)                    # idempotent
    c.run_for(100)
    lost = [r for r in c.trace if r["kind"] == "drop"]
    assert lost and f"S{other} is disconnected from the network" in lost[-1]["text"]
    c.connect(other)
    c.cut(lead, other)
    c.run_for(100)
    assert f"the link S{min(lead, other)}–S{max(lead, other)} is cut" in c.trace[-1]["text"] or \
        any("is cut" in r["text"] for r in c.trace[-10:])
    c.link(lead, other)
    c.network.loss = 1.0
    c.run_for(100)
    assert "the network lost it" in [r for r in c.trace if r["kind"] == "drop"][-1]["text"]


def test_drop_removes_one_chosen_message_in_flight():
    c = elect(Cluster(3, seed=15))
    msg = c.snapshot()["messages"][0]
    c.drop(msg["id"])
    assert all(m["id"] != msg["id"] for m in c.snapshot()["messages"])
    c.run_for(200)
    assert all(r["message"]["id"] != msg["id"] for r in c.trace if r["kind"] in ("deliver", "drop"))
    with pytest.raises(ValueError, match=f"Message #{msg['id']} is not in flight"):
        c.drop(msg["id"])


def test_network_settings_are_checked():
    c = Cluster(3)
    c.network.latency = (30, 40)
    assert c.network.latency == (30.0, 40.0)
    for bad in (-0.1, 1.5, "x", True):
        with pytest.raises(ValueError):
            c.network.loss = bad
    with pytest.raises(ValueError):
        c.network.latency = (50, 10)


# ----- errors leave the cluster untouched -------------------------------------------------------

@pytest.mark.parametrize("call, message", [
    (lambda c: c.crash(9), "There is no S9"),
    (lambda c: c.crash("2"), "server number"),
    (lambda c: c.restart(2), "S2 is already up"),
    (lambda c: c.timeout(7), "There is no S7"),
    (lambda c: c.cut(2, 2), "two different servers"),
    (lambda c: c.partition([1, 2], [2, 3]), "S2 is in two partition groups"),
    (lambda c: c.partition([1, 8]), "There is no S8"),
    (lambda c: c.submit(""), "cannot be empty"),
    (lambda c: c.submit("x" * 201), "at most 200 characters"),
    (lambda c: c.submit(None), "must be text"),
    (lambda c: c.submit("SET x 1", to=6), "There is no S6"),
    (lambda c: c.drop(12345), "not in flight"),
    (lambda c: c.act({"type": "explode"}), "Unknown action"),
])
def test_bad_calls_raise_a_plain_error_and_change_nothing(call, message):
    c = Cluster(5, seed=1)
    c.run_for(400)
    before = json.dumps(c.snapshot())
    with pytest.raises(ValueError, match=message):
        call(c)
    assert json.dumps(c.snapshot()) == before


def test_crashing_a_down_server_and_timing_out_a_leader_or_down_server_are_refused():
    c = elect(Cluster(3, seed=2))
    lead = c.leader()
    with pytest.raises(ValueError, match=f"S{lead} is the leader"):
        c.timeout(lead)
    c.crash(lead)
    with pytest.raises(ValueError, match=f"S{lead} is already down"):
        c.crash(lead)
    with pytest.raises(ValueError, match=f"S{lead} is down"):
        c.timeout(lead)


# ----- determinism -----------------------------------------------------------------------------

def scripted(seed):
    c = Cluster(5, seed=seed)
    c.run_for(500)
    c.submit("SET a 1")
    c.crash(c.leader())
    c.run_for(700)
    c.partition([1, 2])
    c.submit("SET b 2")
    c.run_for(400)
    c.heal()
    c.run_for(400)
    return c


def test_same_seed_and_actions_give_an_identical_trace():
    a, b = scripted(77), scripted(77)
    assert list(a.trace) == list(b.trace) and a.snapshot() == b.snapshot()


def test_a_different_seed_gives_a_different_trace():
    assert list(scripted(77).trace) != list(scripted(78).trace)


def test_single_server_cluster_elects_itself_and_commits_alone():
    c = Cluster(1, seed=1)
    elect(c)
    assert c.submit("SET solo 1") == 1
    assert c.nodes[1].commit_index == 1 and c.nodes[1].store == {"solo": "1"}


def test_a_leaders_match_index_must_be_true_of_the_follower():
    leader = {"id": 1, "term": 2, "role": "leader", "log": [1, 2, {"term": 2, "command": "SET x 1"}]}
    with pytest.raises(ValueError, match="match_index 3 for S2 says S2's log equals S1's up to index 3"):
        Cluster.from_state({"nodes": [dict(leader, match_index={"2": 3}), {"id": 2, "term": 2, "voted_for": 1, "log": [1]}]})
    with pytest.raises(ValueError, match="next_index for S2 must be above its match_index"):
        Cluster.from_state({"nodes": [dict(leader, match_index={"2": 1}, next_index={"2": 1}),
                                      {"id": 2, "term": 2, "voted_for": 1, "log": [1]}]})
    ok = Cluster.from_state({"nodes": [dict(leader, match_index={"2": 1}), {"id": 2, "term": 2, "voted_for": 1, "log": [1]}]})
    assert ok.nodes[1].match_index[2] == 1


@pytest.mark.parametrize("kwargs", [{"heartbeat_interval": 0.0004}, {"election_timeout": (0.0001, 0.0001)},
                                    {"heartbeat_interval": 0}])
def test_timings_shorter_than_a_millisecond_are_refused(kwargs):
    with pytest.raises(ValueError, match="at least 1 ms|from 1 to"):
        Cluster(3, **kwargs)


def test_run_for_refuses_absurd_durations_and_can_stop_after_some_events():
    c = Cluster(5, seed=1)
    with pytest.raises(ValueError, match="from 0 to"):
        c.run_for(1e306)
    assert c.run_for(1000, max_events=10) is False and c.seq == 10 and c.now < 1000
    stopped_at = c.now
    assert c.run_for(1000) is True and c.now == pytest.approx(stopped_at + 1000)
