"""Time travel: seeking, forking, export and replay, bounded history."""
import json
import random

import pytest

from raftviz.sim import Cluster


def busy(seed=5, ms=3000, **options):
    """A cluster with elections, commands, a crash and a partition in its history."""
    c = Cluster(5, seed=seed, **options)
    c.run_for(600)
    for k in range(5):
        c.submit(f"SET k{k} {k}")
        c.run_for(80)
    c.crash(c.leader())
    c.run_for(700)
    c.partition([1, 2])
    c.submit("SET p 1")
    c.run_for(ms - 1500)
    c.heal()
    c.run_for(300)
    return c


def state(c):
    snap = c.snapshot()
    return json.dumps(snap, sort_keys=True)


def states_along(c, seqs):
    out = {}
    for s in seqs:
        c.seek(s)
        out[s] = state(c)
    return out


def test_seek_back_and_forward_reproduces_identical_states():
    c = busy(checkpoint_interval=100)
    end = c.seq
    seqs = [0, 1, 57, 100, 101, 250, end // 2, end - 1, end]
    first = states_along(c, seqs)
    again = states_along(c, list(reversed(seqs)) + random.Random(1).sample(seqs, len(seqs)))
    assert all(again[s] == first[s] for s in seqs)
    assert json.loads(first[end])["seq"] == end and json.loads(first[0])["time"] == 0


def test_a_fresh_cluster_stepped_to_the_same_seq_matches_a_seek():
    c = busy(checkpoint_interval=100)
    c.seek(333)
    other = busy(checkpoint_interval=100)
    other.seek(0)
    for _ in range(333):
        other.step()
    assert state(other) == state(c)


def test_node_objects_stay_valid_across_seeks():
    c = busy()
    s1 = c.nodes[1]
    c.seek(10)
    assert c.nodes[1] is s1 and s1.term == c.snapshot()["nodes"][0]["term"]


def test_stepping_at_a_past_position_follows_the_recorded_future_including_actions():
    c = busy(checkpoint_interval=100)
    recorded = list(c.trace)
    crash = next(r for r in recorded if r["kind"] == "action" and r["action"]["type"] == "crash")
    c.seek(crash["seq"] - 3)
    replayed = [c.step() for _ in range(6)]
    assert replayed == recorded[crash["seq"] - 3:crash["seq"] + 3]
    assert len(c.trace) == len(recorded), "following the recorded future does not fork"
    c.run_for(10_000)
    assert list(c.trace)[:len(recorded)] == recorded


def test_an_action_at_a_past_position_forks_the_history():
    c = busy(checkpoint_interval=100)
    length = len(c.trace)
    c.seek(150)
    before = list(c.trace)[:150]
    c.submit("SET fork 1")
    assert c.seq == len(c.trace) == 151
    assert list(c.trace)[:150] == before
    assert c.trace[-1]["action"] == {"type": "submit", "command": "SET fork 1"}
    c.run_for(500)
    assert len(c.trace) > 151 and c.seq == len(c.trace)
    with pytest.raises(ValueError, match="history runs from 0 to"):
        c.seek(length + 10_000)


def test_violations_follow_the_position():
    c = Cluster(3, seed=1, unsafe_forget_vote=True)
    c.cut(1, 3)
    c.timeout(1)
    c.run_for(100)
    c.crash(2)
    c.restart(2)
    c.timeout(3)
    c.run_for(100)
    assert c.violations
    at = c.violations[0]["seq"]
    c.seek(at - 1)
    assert c.violations == []
    c.seek(at)
    assert c.violations[0]["property"] == "Election Safety"


def test_export_json_replay_gives_the_identical_trace_and_states():
    c = busy()
    data = json.loads(json.dumps(c.export()))
    r = Cluster.replay(data)
    assert list(r.trace) == list(c.trace)
    assert state(r) == state(c)
    assert (r.seq, r.now) == (c.seq, c.now)


def test_export_at_a_past_position_replays_there_with_the_future_kept():
    c = busy()
    c.seek(200)
    r = Cluster.replay(json.loads(json.dumps(c.export())))
    assert r.seq == 200 and len(r.trace) == len(c.trace)
    assert state(r) == state(c)


def test_export_of_a_loaded_state_with_options_replays():
    c = Cluster.from_state({"nodes": [{"id": 1, "term": 2, "log": [1, 2], "role": "leader"},
                                      {"id": 2, "term": 2, "voted_for": 1, "log": [1]}, {"id": 3}]},
                           seed=3, fast_backup=True, entries_per_append=1)
    c.run_for(300)
    c.set_options(unsafe_commit_by_counting=True)
    c.submit("SET a 1")
    c.run_for(300)
    r = Cluster.replay(json.loads(json.dumps(c.export())))
    assert list(r.trace) == list(c.trace) and r.options == c.options


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d.update(format="zip"), "not a raftviz history"),
    (lambda d: d.update(version=99), "version"),
    (lambda d: d["actions"].append({"seq": 10**9, "time": 1, "type": "heal"}), "bad position"),
    (lambda d: d["actions"][0].update(type="explode"), "Unknown action"),
    (lambda d: d["actions"][0].update(node=42), "There is no S42"),
    (lambda d: d.update(length="many"), "length"),
    (lambda d: d["config"].update(size=50), "1 to 9 servers"),
])
def test_replay_refuses_bad_data_with_a_clear_message(mutate, message):
    data = json.loads(json.dumps(busy().export()))
    mutate(data)
    with pytest.raises(ValueError, match=message):
        Cluster.replay(data)


def test_history_is_bounded_and_old_records_are_refused_clearly():
    c = Cluster(5, seed=2, history_limit=500, checkpoint_interval=100)
    c.run_for(10_000)
    assert len(c.trace) > 1000
    assert c.oldest >= len(c.trace) - 600
    with pytest.raises(ValueError, match="no longer kept"):
        c.seek(5)
    with pytest.raises(IndexError, match="no longer kept"):
        c.trace[0]
    kept = list(c.trace)
    assert kept[0]["seq"] == c.oldest + 1 and kept[-1]["seq"] == len(c.trace)
    c.seek(c.oldest)
    assert c.seq == c.oldest
    # The recipe (initial state and actions) is never trimmed: export still works.
    r = Cluster.replay(c.export())
    assert r.seq == c.seq


def test_old_records_are_rebuilt_exactly_from_checkpoints():
    def run(**history):
        c = Cluster(5, seed=9, **history)
        c.run_for(400)
        c.submit("SET a 1")
        c.run_for(8000)
        return c
    rebuilt = run(checkpoint_interval=50)
    assert len(rebuilt.trace) > 50 * 20, "more stretches than are held as records"
    assert 0 not in rebuilt._history._chunks, "the first stretch is no longer held"
    held = run()                                  # everything still held as records
    assert list(rebuilt.trace[:300]) == list(held.trace[:300])
    assert [rebuilt.trace[i] for i in (0, 57, 299)] == [held.trace[i] for i in (0, 57, 299)]
    assert list(rebuilt.trace) == list(held.trace)


def test_replay_keeps_the_clock_of_a_past_position_and_seek_is_exact_either_way():
    c = Cluster(3, seed=1)
    c.run_for(1000)
    c.seek(20)
    c.run_for(0.001)                                 # the clock moves on, no event yet
    r = Cluster.replay(json.loads(json.dumps(c.export())))
    assert (r.seq, r.now) == (c.seq, c.now)
    c.crash(2)
    r.crash(2)
    assert c.trace[-1] == r.trace[-1]
    d = Cluster(3, seed=1)
    d.run_for(1000)
    end = d.seq
    d.seek(end)                                      # the state right after record `end`
    at = d.now
    d.seek(end - 1)
    d.seek(end)
    assert d.now == at == d.trace[end - 1]["time"]

