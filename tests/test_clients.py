"""Client interactions, one rule a test, named after the sections that state
them: the Raft paper's section 8 and Ongaro's thesis 6.3 (client sessions),
6.4 (ReadIndex) and 6.4.1 (leases); the simulated clients; the client
history, its checkpoints and the linearizability check as a property."""
import pytest

from raftviz.raft import kv
from raftviz.scenarios.format import parse
from raftviz.scenarios.runner import Scenario
from raftviz.sim import Cluster
from raftviz.sim.monitor import PROPERTIES

HISTORY_FIELDS = {"client", "seq", "kind", "key", "value", "result", "invoked", "returned", "status"}


def settled(size=3, **options) -> Cluster:
    """A cluster whose leader has committed an entry of its term (so it may serve reads)."""
    c = Cluster(size, seed=7, **options)
    c.run_for(1000)
    assert c.submit("SET boot 1") is not None
    c.run_for(200)
    leader = c.nodes[c.leader()]
    assert leader.log[leader.commit_index - 1].term == leader.term
    return c


def op(c, request: int) -> dict:
    return c.history()[request - 1]


def records_since(c, seq: int) -> list[dict]:
    return c.records(seq + 1, c.seq)


def step_until(c, done, limit=5000):
    for _ in range(limit):
        if done():
            return
        assert c.step() is not None, "nothing left to happen"
    raise AssertionError("not reached")


def others(c, leader):
    return [i for i in c.nodes if i != leader]


# ----- the state machine: INCR and APPEND ---------------------------------------------

def test_the_store_incr_and_append_reply_with_the_new_value():
    store = {}
    assert kv.apply(store, "INCR x") == "1" and store == {"x": "1"}      # absent counts as 0
    assert kv.apply(store, "incr x") == "2"                              # the keyword in any case
    assert kv.apply(store, "APPEND s ab") == "ab"
    assert kv.apply(store, "APPEND s cd") == "abcd" and store["s"] == "abcd"
    assert kv.apply(store, "INCR s") == kv.NOT_A_NUMBER and store["s"] == "abcd", "a failed INCR changes nothing"
    assert kv.apply(store, "DEL x") == "OK" and "x" not in store
    assert kv.apply(store, "SET y a b") == "OK" and store["y"] == "a b"
    assert kv.apply(store, "hello") is None and kv.apply(store, None) is None   # not writes: nothing changes
    assert store == {"s": "abcd", "y": "a b"}


def test_the_cluster_answers_incr_and_append_with_their_replies():
    c = settled()
    first = c.history()[-1]["id"] + 1
    c.submit("INCR n", client=1)
    c.submit("INCR n", client=1)
    c.submit("APPEND s a", client=2)
    c.submit("APPEND s b", client=2)
    c.run_for(300)
    assert [op(c, k)["result"] for k in range(first, first + 4)] == ["1", "2", "a", "ab"]
    assert [op(c, k)["seq"] for k in range(first, first + 4)] == [1, 2, 1, 2], "each client numbers its requests"
    assert all(n.store["n"] == "2" and n.store["s"] == "ab" for n in c.nodes.values())


# ----- section 8 and thesis 6.3: each command applied once ----------------------------------

def crash_before_answering(**options):
    """Client 1's INCR x reaches every follower, and the leader crashes before
    it hears that they stored it: the client has no answer. A new leader is
    elected; the client retries with the same (client, seq) there."""
    c = settled(5, **options)
    old = c.leader()
    c.submit("INCR x", client=1, seq=1)
    request = c.history()[-1]["id"]
    step_until(c, lambda: all(len(c.nodes[i].log) == len(c.nodes[old].log) for i in others(c, old)))
    c.crash(old)
    assert op(c, request)["status"] == "failed", "the client learns nothing: its request is lost at the crash"
    assert "requests_lost" in c.trace[-1]["notes"]
    step_until(c, lambda: c.leader() is not None)
    new = c.leader()
    c.submit("INCR x", to=new, client=1, seq=1)
    c.run_for(300)
    return c, request, new


def test_section_8_a_retried_command_is_applied_once_and_answered_with_the_saved_reply():
    c, request, new = crash_before_answering()
    retried = op(c, request)
    assert retried["status"] == "ok" and retried["attempts"] == 2 and retried["server"] == new
    assert retried["result"] == "1", "the saved reply of the first application"
    assert len(c.history()) == request, "the retry is the same operation, not a new one"
    leader = c.nodes[new]
    both = [e for e in leader.log if e.command == "INCR x"]
    assert len(both) == 2 and {(e.client, e.seq) for e in both} == {(1, 1)}, "the log holds the command twice"
    assert all(n.store.get("x") == "1" for n in c.nodes.values() if n.up), "... but x was incremented once"
    assert leader.sessions[1] == (1, "1")
    duplicates = [r for r in c.records(1, c.seq) if "duplicate" in r["notes"]]
    assert duplicates and "is not applied twice" in duplicates[0]["text"]
    assert c.check_linearizable()["ok"] is True


def test_section_8_without_deduplication_the_retry_is_applied_twice_and_the_checker_sees_it():
    c, request, new = crash_before_answering(unsafe_no_dedup=True)
    assert op(c, request)["result"] == "2"
    assert all(n.store.get("x") == "2" for n in c.nodes.values() if n.up), "INCR x ran twice: x = 2"
    verdict = c.check_linearizable()
    assert verdict["ok"] is False and request in [o["id"] for o in verdict["operations"]]
    assert "INCR x" in verdict["explanation"] and "answered “2”" in verdict["explanation"]


# ----- thesis 6.4: ReadIndex ----------------------------------------------------------------

def test_thesis_6_4_read_index_answers_only_once_a_majority_answered_its_heartbeat_round():
    c = settled(5)
    leader = c.leader()
    c.submit("SET x 1", client=1)
    c.run_for(200)
    start = c.seq
    request = c.read("x", client=2)
    taken = c.trace[-1]
    assert "read_index_round" in taken["notes"] and op(c, request)["status"] == "pending"
    rnd = c.nodes[leader].round
    assert sorted(m["dst"] for m in taken["sent"] if m["type"] == "AppendEntries") == others(c, leader)
    assert all(m["round"] == rnd for m in taken["sent"]), "the round's heartbeats carry its number"
    step_until(c, lambda: op(c, request)["status"] == "ok")
    answer = c.trace[-1]
    assert answer["message"]["type"] == "AppendEntriesReply" and answer["message"]["round"] == rnd
    acks = [r for r in records_since(c, start) if r["kind"] == "deliver" and r["node"] == leader
            and r["message"]["type"] == "AppendEntriesReply" and r["message"].get("round") == rnd]
    assert len(acks) == 2, "the second follower's answer makes a majority with the leader: then it answers"
    assert "read_confirmed" in answer["notes"] and "read_answer" in answer["notes"]
    assert op(c, request)["result"] == "1"
    assert op(c, request)["returned"] - op(c, request)["invoked"] >= 20, "at least one round trip"


def test_thesis_6_4_reads_that_arrive_while_a_round_is_out_share_the_next_round():
    c = settled(5)
    leader = c.nodes[c.leader()]
    first = c.read("boot")
    round_before = leader.round
    second = c.read("boot")
    third = c.read("boot")
    assert "read_next_round" in c.trace[-1]["notes"], "a round that left before a read cannot vouch for it"
    assert leader.round == round_before, "no new round while one is out"
    c.run_for(200)
    assert [op(c, r)["status"] for r in (first, second, third)] == ["ok"] * 3
    assert leader.round == round_before + 1, "one more round served both later reads"
    leaves = [r for r in c.records(1, c.seq) if "read_round_leaves" in r["notes"]]
    assert len(leaves) == 1 and f"reads {second}, {third}" in leaves[0]["text"]


def test_thesis_6_4_a_new_leader_commits_a_noop_before_it_serves_reads():
    c = settled(5)
    old = c.leader()
    c.submit("SET x 1", client=1)
    c.run_for(200)
    c.crash(old)
    step_until(c, lambda: c.leader() is not None)
    new = c.nodes[c.leader()]
    assert new.last_log_term != new.term, "elected without an entry of its term"
    request = c.read("x", client=2)
    assert "read_waits_for_term" in c.trace[-1]["notes"]
    noop = new.log[-1]
    assert noop.command is None and noop.term == new.term, "it appends a no-op of its term"
    step_until(c, lambda: op(c, request)["status"] != "pending")
    assert new.commit_index == len(new.log), "answered only after the no-op committed"
    assert op(c, request)["result"] == "1"


def minority_leader(**options):
    """x = 1 committed; the leader and one follower are cut off; the majority
    elects a leader that commits x = 2 and answers it; then a client reads x
    at the old leader, which still believes it leads."""
    c = settled(5, **options)
    old = c.leader()
    c.submit("SET x 1", client=1)
    c.run_for(200)
    buddy = others(c, old)[0]
    c.partition([old, buddy])
    step_until(c, lambda: any(n.role == "leader" and n.term > c.nodes[old].term for n in c.nodes.values()))
    new = next(i for i, n in c.nodes.items() if n.role == "leader" and i != old)
    c.submit("SET x 2", to=new, client=2)
    write = c.history()[-1]["id"]
    c.run_for(300)
    assert op(c, write)["status"] == "ok"
    assert c.nodes[old].role == "leader", "the old leader has heard nothing of the new term"
    read = c.read("x", to=old, client=3)
    return c, old, read


def test_section_8_a_leader_cut_off_in_a_minority_cannot_answer_a_read():
    c, old, read = minority_leader()
    c.run_for(1000)
    assert op(c, read)["status"] == "pending", "no majority answers its round: it never answers"
    assert c.nodes[old].role == "leader"
    assert c.check_linearizable()["ok"] is True
    c.heal()
    step_until(c, lambda: c.nodes[old].role != "leader")
    assert op(c, read)["status"] == "failed", "once it learns of the new term, the read gets no answer"
    assert "requests_lost" in c.trace[-1]["notes"]


def test_section_8_with_unsafe_local_reads_the_minority_leader_answers_stale_data_and_the_checker_says_so():
    c, old, read = minority_leader(unsafe_local_reads=True)
    stale = op(c, read)
    assert stale["status"] == "ok" and stale["result"] == "1", "answered at once, from its own state"
    verdict = c.check_linearizable()
    assert verdict["ok"] is False
    assert stale in verdict["operations"]
    assert verdict["explanation"].startswith(f"Client 3's read of x at S{old} ")
    assert "saw “1”" in verdict["explanation"] and "client 2's SET x 2" in verdict["explanation"]


# ----- thesis 6.4.1: leases ------------------------------------------------------------------

def test_thesis_6_4_1_a_lease_answers_without_a_round_while_it_holds_and_not_after():
    c = settled(5, lease_reads=True)
    leader = c.leader()
    c.run_for(120)                               # heartbeats keep renewing the lease
    assert c.nodes[leader].lease_holds()
    request = c.read("boot", client=1)
    taken = c.trace[-1]
    assert "read_lease" in taken["notes"] and "read_answer" in taken["notes"] and not taken.get("sent")
    assert op(c, request)["status"] == "ok" and op(c, request)["returned"] == op(c, request)["invoked"]
    c.disconnect(leader)
    c.run_for(160)                               # past the minimum election timeout (150 ms)
    assert not c.nodes[leader].lease_holds()
    later = c.read("boot", client=1)
    assert "read_lease" not in c.trace[-1]["notes"]
    c.run_for(100)
    assert op(c, later)["status"] == "pending", "without the lease, it needs a majority it cannot reach"


def test_thesis_6_4_1_a_restarted_server_keeps_quiet_so_no_leader_is_elected_inside_a_lease():
    """S_d, cut off long enough to stop ignoring votes, asks for votes; the two
    servers that could give them have just restarted (and so forgotten that
    they answered the leader's heartbeats). Without the rule they would elect
    S_d while the old leader still answers from its lease: a stale read."""
    c = settled(5, lease_reads=True)
    lead = c.leader()
    a, b, cc, d = others(c, lead)
    c.submit("SET x 1", client=1)
    c.run_for(100)
    c.disconnect(d)
    c.run_for(400)
    c.connect(d)
    c.partition([lead, a])
    lease_end = c.nodes[lead].lease_until / 1000
    for i in (b, cc):
        c.crash(i)
        c.restart(i)
    c.timeout(d)
    step_until(c, lambda: c.nodes[d].role == "leader")
    assert c.now >= lease_end, "no leader is elected before the old leader's lease ends"
    quiet = [r for r in c.records(1, c.seq) if "ignore_vote_restarted" in r["notes"]]
    assert {r["node"] for r in quiet} == {b, cc}
    assert "it restarted" in quiet[0]["text"]
    c.submit("SET x 2", to=d, client=2)
    c.run_for(200)
    c.read("x", to=lead, client=3)
    c.run_for(300)
    assert c.check_linearizable()["ok"] is True


def test_thesis_6_4_1_a_leadership_transfer_gives_up_the_lease():
    c = settled(3, lease_reads=True)
    leader = c.leader()
    c.run_for(120)
    assert c.nodes[leader].lease_holds()
    c.disconnect(others(c, leader)[0])              # so the transfer to it cannot finish
    c.transfer_leadership(others(c, leader)[0])
    assert not c.nodes[leader].lease_holds()
    c.run_for(400)                                  # the transfer is given up; heartbeats go on
    assert c.nodes[leader].role == "leader" and not c.nodes[leader].lease_holds(), "not for the rest of the term"


def test_thesis_6_4_1_switching_lease_reads_drops_the_lease():
    c = settled(3, lease_reads=True)
    leader = c.nodes[c.leader()]
    c.run_for(120)
    assert leader.lease_holds()
    c.set_options(lease_reads=False)
    c.set_options(lease_reads=True)
    assert not leader.lease_holds(), "servers may have voted while it was off"
    c.run_for(120)
    assert leader.lease_holds(), "rounds after the switch give a lease again"


# ----- requests that get no answer ----------------------------------------------------------

def test_a_request_to_a_down_server_fails_at_once_and_one_to_a_follower_is_refused():
    c = settled(3)
    follower = others(c, c.leader())
    c.crash(follower[0])
    request = c.read("boot", to=follower[0], client=1)
    assert op(c, request)["status"] == "failed" and op(c, request)["returned"] == c.now
    assert "no_answer" in c.trace[-1]["notes"] and "is down" in c.trace[-1]["text"]
    c.submit("SET x 1", to=follower[1], client=1)
    refused = c.history()[-1]
    assert refused["status"] == "failed" and "not_leader" in c.trace[-1]["notes"]


# ----- simulated clients ------------------------------------------------------------------------

def test_simulated_clients_retry_at_the_leader_named_in_a_refusal():
    c = Cluster(5, seed=3)
    c.run_for(1000)
    c.clients(4, rate=10, keys=2, read_ratio=0.5, timeout=300)
    c.run_for(3000)
    records = [r for r in c.records(1, c.seq) if r["kind"] == "client"]
    refused = [r for r in records if "not_leader" in r["notes"]]
    assert refused, "some client first asked a follower"
    r = refused[0]
    retry = next(x for x in records if x["seq"] > r["seq"] and x["request"]["id"] == r["request"]["id"])
    assert retry["time"] == r["time"], "at once"
    assert retry["node"] == c.nodes[r["node"]].leader_id or retry["node"] == c.leader()
    assert "retries" not in r["text"] and "attempt 2" in retry["text"]
    assert all(o["status"] in ("ok", "pending") for o in c.history()), "nothing failed in a calm run"
    assert c.check_linearizable()["ok"] is True


def test_simulated_clients_retry_at_another_server_after_their_timeout():
    c = Cluster(5, seed=4)
    c.run_for(1000)
    leader = c.leader()
    c.clients(3, rate=10, keys=1, read_ratio=0.5, timeout=250)
    c.run_for(500)
    c.disconnect(leader)                   # its requests get no answer: it cannot commit or confirm
    cut = c.now
    c.run_for(3000)
    c.stop_clients()
    records = [r for r in c.records(1, c.seq) if r["kind"] == "client"]
    # Attempts at the cut-off leader that it took (not refused): they wait for an answer that never comes.
    stuck = [r for r in records if r["node"] == leader and r["time"] > cut
             and not any(n in r["notes"] for n in ("not_leader", "no_answer", "requests_lost"))]
    assert stuck, "some client still believed the cut-off server leads"
    for r in stuck:
        after = next(x for x in records if x["seq"] > r["seq"] and x["request"]["id"] == r["request"]["id"])
        assert after["time"] - r["time"] == pytest.approx(250), "retried after its timeout, not before"
        assert after["node"] != leader and "attempt" in after["text"]
    assert all(op(c, r["request"]["id"])["status"] == "ok" for r in stuck), "and answered elsewhere"
    assert c.check_linearizable()["ok"] is True
    assert c.violations == []


# ----- the history ------------------------------------------------------------------------------

def test_history_fields_and_statuses():
    c = settled(3)
    leader = c.leader()
    c.submit("SET x 1", client=1)
    write = c.history()[-1]
    assert HISTORY_FIELDS <= set(write)
    assert write["status"] == "pending" and write["returned"] is None and write["result"] is None
    assert (write["client"], write["seq"], write["kind"], write["key"], write["value"]) == (1, 1, "write", "x", "1")
    assert write["invoked"] == c.now
    c.run_for(200)
    done = op(c, write["id"])
    assert done["status"] == "ok" and done["result"] == "OK" and done["returned"] > done["invoked"]
    request = c.read("x", client=2)
    c.run_for(200)
    read = op(c, request)
    assert (read["kind"], read["key"], read["value"], read["result"], read["status"]) == ("read", "x", None, "1", "ok")
    c.submit("SET y 2", to=others(c, leader)[0], client=1)
    assert c.history()[-1]["status"] == "failed" and c.history()[-1]["seq"] == 2
    anonymous = c.history()[0]
    assert anonymous["client"] is None and anonymous["command"] == "SET boot 1" and anonymous["status"] == "ok"


# ----- checkpoints, export and replay -----------------------------------------------------------

def busy_run():
    c = Cluster(5, seed=11)
    c.run_for(600)
    c.clients(3, rate=15, keys=2, read_ratio=0.5, timeout=200)
    c.run_for(700)
    c.crash(c.leader())
    c.run_for(800)
    c.restart(next(i for i, n in c.nodes.items() if not n.up))
    c.partition([1, 2])
    c.run_for(700)
    c.heal()
    c.run_for(500)
    return c


def test_seek_and_step_back_restore_the_history_and_the_simulated_clients_exactly():
    c = busy_run()
    end, history_at_end = c.seq, c.history()
    assert len(history_at_end) > 20
    marks = {}
    for seq in (end // 4, end // 2, end - 3):
        c.seek(seq)
        marks[seq] = c.history()
    for seq, history in marks.items():
        c.seek(seq)
        assert c.history() == history
        c.seek(seq - 1)
        c.step()
        assert c.history() == history, "one step back and forward again"
    c.seek(end)
    assert c.history() == history_at_end
    c.seek(end // 2)
    c.run_for(0)
    c.seek(end)
    fresh = busy_run()
    fresh.run_for(600)
    c.run_for(fresh.now - c.now)          # the simulated clients go on just as they would have
    assert c.history() == fresh.history()


def test_export_and_replay_rebuild_the_history_and_the_simulated_clients():
    c = busy_run()
    again = Cluster.replay(c.export())
    assert again.history() == c.history()
    assert again.trace[-1] == c.trace[-1]
    c.run_for(500)
    again.run_for(500)
    assert again.history() == c.history(), "the replayed clients carry on identically"


# ----- bad input ----------------------------------------------------------------------------------

BAD = [
    {"type": "read"},
    {"type": "read", "key": ""},
    {"type": "read", "key": "two words"},
    {"type": "read", "key": 5},
    {"type": "read", "key": "x", "node": 9},
    {"type": "read", "key": "x", "client": 0},
    {"type": "read", "key": "x", "extra": 1},
    {"type": "clients", "n": 0},
    {"type": "clients", "n": 2, "rate": 0},
    {"type": "clients", "n": 2, "read_ratio": 2},
    {"type": "clients", "n": 2, "timeout": 1},
    {"type": "clients", "n": 2, "keys": 11},
    {"type": "clients", "n": True},
    {"type": "stop_clients"},
    {"type": "submit", "command": "SET x 1", "seq": 3},
    {"type": "submit", "command": "SET x 1", "client": 1, "seq": 0},
    {"type": "submit", "command": "SET x 2", "client": 1, "seq": 1},      # request 1 was SET x 1
    {"type": "submit", "command": "SET x 3", "client": 2, "seq": 1},      # client 2 used 1 already (a read)
]


@pytest.mark.parametrize("action", BAD, ids=lambda a: str(a))
def test_bad_client_actions_are_refused_in_a_sentence_and_change_nothing(action):
    c = settled(3)
    c.submit("SET x 1", client=1, seq=1)
    c.read("x", client=2)
    c.run_for(100)
    seq, history = c.seq, c.history()
    with pytest.raises(ValueError) as e:
        c.act(action)
    message = str(e.value)
    assert message[:1].isupper() and message.rstrip("”").endswith("."), message
    assert "Traceback" not in message and "None" not in message
    assert c.seq == seq and c.history() == history


def test_a_simulated_clients_id_is_refused_for_a_request_by_hand():
    c = settled(3)
    started = c.clients(2, rate=1)
    with pytest.raises(ValueError, match="simulated clients"):
        c.read("x", client=started[0])
    with pytest.raises(ValueError, match="simulated clients"):
        c.submit("SET x 1", client=started[1])
    c.stop_clients()
    with pytest.raises(ValueError, match="No simulated clients are running"):
        c.stop_clients()


# ----- Linearizability as a property ------------------------------------------------------------

def test_linearizability_is_a_property_the_safety_monitor_reports():
    assert "Linearizability" in PROPERTIES
    c, old, read = minority_leader(unsafe_local_reads=True)
    assert c.violations == [], "the stale read is not an event's violation: it is found by checking the history"
    verdict = c.check_linearizability()
    assert verdict["ok"] is False
    [violation] = c.violations
    assert violation["property"] == "Linearizability" and old in violation["nodes"]
    assert violation["text"].startswith("Linearizability is violated: Client 3's read of x")
    c.check_linearizability()
    assert len(c.violations) == 1, "reported once"


STALE_SCENARIO = """
id: stale-test
title: "A stale read"
summary: "A minority leader answers from its own state."
cluster: {seed: 5, election_timeout: [150, 300], heartbeat_interval: 50, latency: [10, 20]}
initial:
  nodes:
    - {id: 1, term: 1, role: leader, match_index: {2: 0, 3: 0}}
    - {id: 2, term: 1, voted_for: 1, timer: 1000}
    - {id: 3, term: 1, voted_for: 1, timer: 1200}
steps:
  - caption: "Client 1 writes x = 1."
    actions: [options: {unsafe_local_reads: true}, submit: {command: "SET x 1", client: 1, node: 1}]
    until: {history: [{id: 1, status: ok}]}
    expect: {history: [{id: 1, status: ok}]}
  - caption: "S1 is cut off; S2 leads and commits x = 2."
    actions: [disconnect: 1, timeout: 2]
    until: {leader: 2}
    expect: {roles: {2: leader}}
  - caption: "Client 2 writes x = 2 at S2."
    actions: [submit: {command: "SET x 2", client: 2, node: 2}]
    until: {history: [{id: 2, status: ok}]}
    expect: {history: [{id: 2, status: ok}]}
  - caption: "Time passes."
    until: {for: 20}
    expect: {roles: {1: leader}}
  - caption: "Client 3 reads x at S1."
    actions: [read: {key: x, node: 1, client: 3}]
    expect: {history: [{id: 3, result: "1"}]}
"""


def test_the_scenario_runner_checks_linearizability_at_the_end_of_each_step():
    sc = Scenario(parse(STALE_SCENARIO))
    for _ in range(4):
        assert sc.next() == []
        assert sc.cluster.violations == []
    assert sc.next() == []
    [violation] = sc.cluster.violations
    assert violation["property"] == "Linearizability" and violation["seq"] == sc.cluster.seq


def test_the_view_of_a_server_shows_its_client_table_and_a_leaders_reads_and_lease():
    c = settled(3, lease_reads=True)
    leader = c.leader()
    c.submit("INCR n", client=4)
    c.run_for(200)
    view = c.node_view(leader)
    assert view["sessions"] == {"4": {"seq": 1, "reply": "1"}}
    assert view["lease_until"] > c.now and view["reads"]["round"] >= view["reads"]["confirmed"] >= 1
    assert "lease_until" not in c.node_view(others(c, leader)[0])
    c.set_options(lease_reads=False)
    c.disconnect(leader)
    request = c.read("n")
    assert c.node_view(leader)["reads"]["waiting"] == [request]


def test_with_lease_reads_a_server_keeps_its_promise_after_its_term_moved_on():
    """Thesis 6.4.1: a server that answered a leader's heartbeats promised not
    to vote for a minimum election timeout; a newer term learnt meanwhile
    (which forgets who leads) does not undo that."""
    from raftviz.raft import Node, Options, RequestVote
    from raftviz.raft.messages import AppendEntries, PreVote
    from raftviz.raft.notes import describe
    n = Node(2, (1, 2, 3), Options(lease_reads=True, pre_vote=True))
    n.lease = 150_000
    heartbeat = AppendEntries(1, 2, 1, 0, 0, (), 0)
    heartbeat.arrives = 1_000_000
    n.receive(heartbeat)
    n.become_follower(2)                       # a reply of a newer term, say: it no longer knows a leader
    assert n.leader_id is None
    ask = RequestVote(3, 2, 3, 0, 0)
    ask.arrives = 1_100_000
    msgs, _, notes = n.receive(ask)
    assert msgs == [] and notes[0].code == "ignore_vote" and n.voted_for is None
    assert "heard from a leader 100 ms ago" in describe(2, notes[0])
    pre = PreVote(3, 2, 3, 0, 0)
    pre.arrives = 1_100_000
    msgs, _, notes = n.receive(pre)
    assert "heard from a leader 100 ms ago" in describe(2, notes[-1])
    later = RequestVote(3, 2, 3, 0, 0)
    later.arrives = 1_160_000                  # past the promise: it votes
    msgs, _, _ = n.receive(later)
    assert msgs[0].vote_granted and n.voted_for == 3


def test_a_read_of_a_value_the_initial_state_holds_is_linearizable():
    log = [{"term": 1, "command": "SET x 1"}]
    nodes = [{"id": 1, "term": 1, "role": "leader", "commit_index": 1, "log": log, "match_index": {2: 1, 3: 1}},
             {"id": 2, "term": 1, "voted_for": 1, "commit_index": 1, "log": log},
             {"id": 3, "term": 1, "voted_for": 1, "commit_index": 1, "log": log}]
    c = Cluster.from_state({"nodes": nodes}, election_timeout=[1500, 2000])
    c.read("x", to=1, client=1)
    c.run_for(100)
    assert c.history()[-1]["result"] == "1" and c.check_linearizable()["ok"] is True


@pytest.mark.parametrize("command, message", [("INCR", "INCR takes one key, e.g. INCR x."),
                                              ("APPEND x", "APPEND takes a key and a value, e.g. APPEND x abc."),
                                              ("INCR x y", "INCR takes one key, e.g. INCR x."),
                                              ("set x", "SET takes a key and a value, e.g. SET x 1.")])
def test_a_half_formed_write_is_refused_and_changes_nothing(command, message):
    c = Cluster(3, seed=2)
    while c.leader() is None:
        c.run_for(20)
    before = (c.seq, [list(n.log) for n in c.nodes.values()], c.history())
    with pytest.raises(ValueError, match=message):
        c.submit(command, client=1)
    assert (c.seq, [list(n.log) for n in c.nodes.values()], c.history()) == before


def test_check_linearizable_takes_one_key_or_a_list_and_refuses_anything_else():
    c = Cluster(3, seed=2)
    while c.leader() is None:
        c.run_for(20)
    c.submit("SET x 1", client=1)
    c.run_for(200)
    assert c.check_linearizable(keys="x") == c.check_linearizable(keys=["x"]) == {"ok": True, "explanation": None,
                                                                                   "operations": []}
    with pytest.raises(ValueError, match="keys is a list of keys"):
        c.check_linearizable(keys=5)
