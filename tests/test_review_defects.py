"""Defects found in review (issue 11), each pinned by a test that failed
before the fix: time that rounds away, messages that cross a link that was
down when they were sent, explanations that promise what a crashed or deposed
server will do. Also the typed notes, role changes and Node.save/restore."""
import inspect

from raftviz.raft import FOLLOWER, LEADER, Node
from raftviz.raft import notes as note_types
from raftviz.raft.notes import NOTES, describe
from raftviz.scenarios import load
from raftviz.sim import Cluster

from helpers import run_until


# ----- time --------------------------------------------------------------------

def test_a_positive_run_for_below_a_microsecond_still_advances_time():
    c = Cluster(3, seed=1)
    c.run_for(0.0004)
    assert c.now > 0


def test_running_up_to_a_time_with_a_fraction_of_a_microsecond_ends():
    c = Cluster(3, seed=1)
    c.run_for(10)
    target = c.now + 0.0104
    for _ in range(100):                      # the loop a new user writes; it used to spin forever
        if c.now >= target:
            break
        c.run_for(target - c.now)
    assert c.now >= target


# ----- the network ---------------------------------------------------------------

def test_a_message_sent_while_disconnected_is_lost_even_if_the_sender_reconnects_first():
    c = Cluster(3, seed=1, latency=(10, 10))
    run_until(c, lambda c: c.leader() is not None)
    leader = c.leader()
    c.disconnect(leader)
    first = len(c.trace)
    run_until(c, lambda c: any(r["kind"] == "heartbeat" and r["node"] == leader for r in c.trace[first:]))
    sent = {m["id"] for r in c.trace[first:] for m in r.get("sent", []) if m["src"] == leader}
    assert sent
    c.connect(leader)                         # before any of them arrives (latency 10 ms)
    c.run_for(11)
    fates = {r["message"]["id"]: r for r in c.trace[first:] if "message" in r and r["message"]["id"] in sent}
    assert set(fates) == sent
    for r in fates.values():
        assert r["kind"] == "drop", r["text"]
        assert "disconnected from the network when it was sent" in r["text"]


def test_the_deposed_leader_heartbeats_sent_while_cut_off_never_reach_anyone():
    sc = load("deposed-leader")
    while not sc.done:
        assert sc.next() == []
    reconnect = next(r["seq"] for r in sc.cluster.trace if r["kind"] == "action"
                     and r["action"]["type"] == "connect")
    for r in sc.cluster.trace:
        m = r.get("message")
        if r["kind"] == "deliver" and m and m["src"] == 2:
            assert m["sent"] >= sc.cluster.trace[reconnect - 1]["time"], r["text"]


# ----- explanations ------------------------------------------------------------------

def _texts_of_scenario(name, steps):
    sc = load(name)
    for _ in range(steps):
        assert sc.next() == []
    return [r["text"] for r in sc.cluster.trace]


def test_no_retry_is_promised_for_a_leader_that_has_crashed():
    texts = _texts_of_scenario("outdated-candidate", 2)
    rejections = [t for t in texts if "S5 rejects AppendEntries from S2" in t]
    assert rejections
    assert all("S2 will retry" not in t and "S2 has crashed" in t for t in rejections)


def test_no_retry_is_promised_for_a_leader_that_has_stepped_down():
    texts = _texts_of_scenario("voting-rule", 3)
    rejections = [t for t in texts if "S3 rejects AppendEntries from S1" in t and "index 5" in t]
    assert rejections
    assert all("will retry" not in t and "no longer the leader" in t for t in rejections)


def test_a_live_leader_still_promises_its_retry():
    texts = _texts_of_scenario("log-repair", 1)
    assert any("S2 rejects AppendEntries from S1" in t and "when the reply reaches S1, it retries at index 7" in t for t in texts)


def test_a_crashed_follower_is_not_called_the_leader_when_its_timer_is_fired():
    n = Node(3, (1, 2, 3))
    n.crash()
    _, _, notes = n.election_timeout()
    text = describe(3, notes[0])
    assert "is the leader" not in text and "S3 is down" in text


# ----- typed notes, roles, save and restore ----------------------------------------------

def test_every_note_type_is_described_by_a_function_taking_its_fields_by_name():
    for code, cls in NOTES.items():
        text = note_types._TEXT.get(code)
        if text is None:                      # the simulator's own notes (sim/explain.py)
            continue
        params = list(inspect.signature(text).parameters)[1:]
        assert params == list(cls._fields[1:]), code


def test_notes_read_by_name_and_equal_their_plain_tuple():
    n = note_types.RefuseLog(5, 3, 7, 0, 0)
    assert (n.code, n.candidate, n.my_last_term, n.their_last_index) == ("refuse_log", 5, 3, 0)
    assert n == ("refuse_log", 5, 3, 7, 0, 0)


def test_role_changes_reset_one_documented_set_of_fields():
    n = Node(1, (1, 2, 3))
    n.log = []
    n.become_candidate()
    assert (n.role, n.term, n.voted_for, n.votes, n.leader_id) == ("candidate", 1, 1, {1}, None)
    n.votes.add(2)
    n.become_leader()
    assert (n.role, n.leader_id, n.next_index, n.match_index, n.in_flight) == \
        (LEADER, 1, {2: 1, 3: 1}, {2: 0, 3: 0}, {})
    n.become_follower(3)
    assert (n.role, n.term, n.voted_for, n.votes, n.leader_id, n.next_index, n.in_flight) == \
        (FOLLOWER, 3, None, set(), None, {}, {})
    n.voted_for = 2
    n.become_follower(3, leader_id=2)         # the same term keeps the vote
    assert (n.term, n.voted_for, n.leader_id) == (3, 2, 2)


def test_a_node_saves_and_restores_itself_exactly():
    c = Cluster(5, seed=3)
    c.run_for(1500)
    c.submit("SET x 1")
    c.run_for(30)
    for node in c.nodes.values():
        saved = node.save()
        copy = Node(node.id, c.nodes.keys())
        copy.restore(saved)
        assert copy.save() == saved
        assert (copy.role, copy.term, copy.log, copy.store) == (node.role, node.term, node.log, node.store)
