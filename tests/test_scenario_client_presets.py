"""The client presets (issue 13, lecture "Client interactions") show what their
captions say, looked at in the cluster and its trace rather than through
their own `expect` claims."""
import pytest

import raftviz.scenarios as scenarios
from raftviz.scenarios import load, names
from helpers import only_bundled, run_to, step_records  # noqa: F401  (only_bundled: an autouse fixture)

CLIENTS = ["duplicate-command", "stale-read", "read-index", "noop-before-reads"]


def op(c, request: int) -> dict:
    return c.history()[request - 1]


@pytest.mark.parametrize("name", CLIENTS)
def test_each_client_preset_checks_every_step_and_asks_before_it_reveals(name):
    assert name in names()
    spec = scenarios.spec(name)
    assert spec.lecture == "Client interactions"
    assert all(step.expect for step in spec.steps), "every step claims what the class should see"
    assert any(step.question for step in spec.steps)
    assert load(name).check() == []


def test_duplicate_command_logs_the_request_twice_and_applies_it_once_or_twice():
    sc = load("duplicate-command")
    c = run_to(sc, 4)
    log = c.nodes[2].log
    assert [(e.command, e.client, e.seq, e.term) for e in log] == [("INCR x", 1, 1, 1), ("INCR x", 1, 1, 2)]
    assert all(c.nodes[i].store == {"x": "1"} and c.nodes[i].sessions[1] == (1, "1") for i in (2, 3, 4, 5))
    assert c.check_linearizable()["ok"]
    c = run_to(sc, 7)                                # the branch without the client table
    assert [(e.command, e.client, e.seq) for e in c.nodes[2].log] == [("INCR x", 1, 1), ("INCR x", 1, 1)]
    assert c.nodes[2].store == {"x": "2"}, "the same log, another state machine"
    verdict = c.check_linearizable()
    assert not verdict["ok"] and "INCR x" in verdict["explanation"] and "answered “2”" in verdict["explanation"]


def test_duplicate_command_s1_never_hears_that_its_entry_is_stored():
    sc = load("duplicate-command")
    c = run_to(sc, 2)
    lost = [r for r in step_records(sc) if r["kind"] == "drop" and r["message"]["type"] == "AppendEntriesReply"]
    assert sorted(r["message"]["src"] for r in lost) == [2, 3, 4, 5], "every reply to S1 is lost: it is down"
    assert c.nodes[1].commit_index == 0 and op(c, 1)["status"] == "failed"


def test_stale_read_the_minority_leader_answers_after_the_write_was_answered_and_its_read_waits():
    sc = load("stale-read")
    c = run_to(sc, 4)
    # While the read waits, S1 hears from S2 alone.
    heard = {r["message"]["src"] for r in step_records(sc)
             if r["kind"] == "deliver" and r["node"] == 1 and r["message"]["type"] == "AppendEntriesReply"}
    assert heard == {2}
    assert op(c, 3)["status"] == "pending"
    c = run_to(sc, 5)
    write, stale = op(c, 2), op(c, 4)
    assert write["returned"] < stale["invoked"], "the read began after the write was answered"
    assert stale["result"] == "1" and write["value"] == "2"
    assert c.nodes[1].role == c.nodes[3].role == "leader" and c.nodes[1].term < c.nodes[3].term
    c = run_to(sc, 6)
    deposed = next(r for r in step_records(sc) if r["node"] == 1 and "term" in r["notes"])
    assert op(c, 3)["status"] == "failed" and op(c, 3)["returned"] == deposed["time"], \
        "the waiting read fails when S1 steps down"


def test_read_index_answers_once_a_majority_answered_the_round():
    sc = load("read-index")
    c = run_to(sc, 4)
    read = op(c, 2)
    records = c.records(1, c.seq)
    asked = next(r for r in records if "read_index_round" in r["notes"])
    answered = next(r for r in records if "read_answer" in r["notes"])
    replies = [r for r in records if asked["seq"] < r["seq"] <= answered["seq"] and r["kind"] == "deliver"
               and r["node"] == 1 and r["message"]["type"] == "AppendEntriesReply"]
    assert [r["message"]["round"] for r in replies] == [1, 1]
    assert [r["message"]["src"] for r in replies] == [2, 4], "S2 then S4: with S1, 3 of 5"
    assert read["invoked"] == asked["time"] < read["returned"] == answered["time"]


def test_read_index_with_a_lease_answers_at_once_and_sends_nothing():
    sc = load("read-index")
    c = run_to(sc, 7)
    read = op(c, 2)
    assert read["invoked"] == read["returned"] and read["result"] == "1"
    assert not any(r.get("sent") for r in step_records(sc))


def test_noop_before_reads_the_read_waits_for_the_new_leaders_noop():
    sc = load("noop-before-reads")
    c = run_to(sc, 3)
    assert c.nodes[2].store == {"x": "1"} and op(c, 2)["status"] == "ok", "S2 is behind what the client was told"
    c = run_to(sc, 6)
    noop = c.nodes[2].log[2]
    assert noop.command is None and noop.term == 2
    records = c.records(1, c.seq)
    waits = next(r for r in records if "read_waits_for_term" in r["notes"])
    committed = next(r for r in records if r["seq"] > waits["seq"] and r["node"] == 2 and "commit" in r["notes"])
    asked = next(r for r in records if "read_index_round" in r["notes"])
    assert committed["seq"] == asked["seq"], "the read index is taken when the no-op commits"
    assert "S2 commits indexes 2–3" in committed["text"] and "records its commitIndex 3" in asked["text"]
    assert op(c, 3)["result"] == "2"


def test_the_page_is_sent_the_stale_read_as_a_linearizability_violation():
    """Played through the page's protocol (the scheduler driven by hand), the
    stale read's step sends the violation; the step before has none."""
    import time

    from raftviz.web import create_app
    app = create_app({"START_SCHEDULER": False, "TESTING": True, "SESSION_SEED": 11})
    server = app.extensions["raftviz"]
    client = server.socketio.test_client(app)
    session, = server.sessions.all()

    def next_step() -> list:
        assert client.emit("action", {"type": "scenario_next"}, callback=True)["failures"] == []
        t = time.monotonic()
        while session.stop_at is not None:                # play the step to its end
            t += 0.25
            server.scheduler.run_once(t)
        sent = [e["args"][0] for e in client.get_received() if e["name"] in ("state", "events")]
        return [v["property"] for v in sent[-1]["violations"]]

    assert client.emit("action", {"type": "scenario", "id": "stale-read"}, callback=True)["ok"]
    for _ in range(4):
        assert next_step() == []
    assert next_step() == ["Linearizability"]
