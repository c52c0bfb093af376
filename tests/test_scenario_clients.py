"""Scenario files with clients (issue 13): `history` claims about requests and
the `linearizable` verdict, in `until` and in `expect`, refused with file,
field and problem when they are malformed, and failing in plain words."""
import re
import textwrap
from pathlib import Path

import pytest

from raftviz.scenarios import Scenario, ScenarioError, parse
from helpers import only_bundled  # noqa: F401  (only_bundled: an autouse fixture)


def refused(text: str) -> str:
    with pytest.raises(ScenarioError) as e:
        parse(textwrap.dedent(text), "mine.yaml")
    assert str(e.value).startswith("mine.yaml: ")
    return str(e.value)


def with_expect(claims: str) -> str:
    return f"id: x\ntitle: T\nsteps: [{{caption: c, expect: {claims}}}]\n"


BAD_CLAIMS = [
    ("{history: {id: 1}}", "steps[0].expect.history: should be a list of requests, e.g. [{id: 1"),
    ("{history: []}", "steps[0].expect.history: should be a list of requests"),
    ("{history: [{status: ok}]}", "steps[0].expect.history[0]: the field id is missing"),
    ("{history: [ok]}", "steps[0].expect.history[0]: should be a mapping"),
    ("{history: [{id: 0}]}", "steps[0].expect.history[0].id: should be a whole number from 1"),
    ("{history: [{id: 1, status: done}]}",
     "steps[0].expect.history[0].status: should be one of ok, pending, failed, not 'done'"),
    ("{history: [{id: 1, kind: scan}]}", "steps[0].expect.history[0].kind: should be one of read, write, not 'scan'"),
    ("{history: [{id: 1, colour: red}]}", "steps[0].expect.history[0]: unknown field colour (known: attempts, client"),
    ("{history: [{id: 1}, {id: 1}]}", "steps[0].expect.history[1].id: request 1 is already claimed earlier"),
    ("{history: [{id: 1, server: 9}]}", "steps[0].expect.history[0].server: there is no S9: this scenario has S1–S5"),
    ("{history: [{id: 1, client: -2}]}", "steps[0].expect.history[0].client: should be a whole number from 1"),
    ("{history: [{id: 1, attempts: 0}]}", "steps[0].expect.history[0].attempts: should be a whole number from 1"),
    ("{history: [{id: 1, result: [1]}]}",
     "steps[0].expect.history[0].result: should be text such as \"1\", or null for nothing, not [1]"),
    ("{history: [{id: 1, result: yes}]}", "steps[0].expect.history[0].result: should be text: YAML reads an unquoted "
                                          "true, yes, no, on or off as true or false, so put the text in quotes"),
    ("{linearizable: maybe}",
     "steps[0].expect.linearizable: should be true or false (is the clients' history linearizable?), not 'maybe'"),
    ("{linearizable: 1}", "steps[0].expect.linearizable: should be true or false"),
]


@pytest.mark.parametrize("claims, message", BAD_CLAIMS)
def test_malformed_client_claims_are_refused_with_file_field_and_problem(claims, message):
    assert message in refused(with_expect(claims))


def test_until_takes_the_same_client_conditions_and_refuses_the_same_mistakes():
    message = refused("id: x\ntitle: T\nsteps: [{caption: c, until: {history: [{id: 2, status: finished}]}}]\n")
    assert "steps[0].until.history[0].status: should be one of ok, pending, failed" in message
    message = refused("id: x\ntitle: T\nsteps: [{caption: c, until: {for: 100, linearizable: true}}]\n")
    assert "steps[0].until: `for` is a duration: it cannot be combined with other conditions" in message


def test_values_are_read_as_the_store_holds_them():
    spec = parse(with_expect('{history: [{id: 1, result: 1, key: x}, {id: 2, result: null, status: failed}], '
                             'linearizable: false}'))
    assert spec.steps[0].expect["history"] == [{"id": 1, "result": "1", "key": "x"},
                                               {"id": 2, "result": None, "status": "failed"}]
    assert spec.steps[0].expect["linearizable"] is False


INCR = textwrap.dedent("""
    id: incr
    title: Increment
    cluster: {size: 3, seed: 1, election_timeout: [1500, 2000]}
    steps:
      - caption: S1 is elected.
        actions: [timeout: 1]
        until: {leader: 1}
      - caption: Client 1 increments x through S1.
        actions: [submit: {command: INCR x, client: 1}]
        until: {history: [{id: 1, status: ok}]}
        expect: EXPECT
""")


def run(text: str) -> list[str]:
    return Scenario(parse(text, "mine.yaml")).check()


def more_steps(text: str) -> str:
    """Steps to add after INCR's, written at the indentation of its own."""
    return textwrap.indent(textwrap.dedent(text), "  ")


def test_true_claims_about_requests_and_the_verdict_hold():
    assert run(INCR.replace("EXPECT", '{history: [{id: 1, kind: write, client: 1, seq: 1, key: x, command: INCR x, '
                                      'result: "1", status: ok, server: 1, attempts: 1}], linearizable: true}')) == []


def test_wrong_claims_about_requests_fail_in_plain_words():
    found = run(INCR.replace("EXPECT", '{history: [{id: 1, result: "2", status: pending}, {id: 2}], '
                                       'linearizable: false}'))
    assert found == [
        "step 2: request 1's result should be “2”, but it is “1”",
        "step 2: request 1's status should be pending, but it is ok",
        "step 2: there should be a request 2, but the history has request 1",
        "step 2: the history should not be linearizable, but some order of its operations gives each the answer "
        "it got",
    ]


def test_a_history_claimed_linearizable_that_is_not_fails_with_the_checkers_explanation():
    text = INCR.replace("cluster: {size: 3,", "cluster: {options: {unsafe_local_reads: true}, size: 3,")
    # S1 is cut off and deposed; with the unsafe switch it still answers a read from its own state.
    text += more_steps("""
        - caption: S1 is cut off, and S2 is elected for term 2.
          actions: [disconnect: 1, timeout: 2]
          until: {leader: 2}
        - caption: Client 1 increments x through S2.
          actions: [submit: {command: INCR x, client: 1, node: 2}]
          until: {history: [{id: 2, status: ok}]}
        - caption: Time passes, so the read comes strictly after that answer.
          until: {for: 10}
        - caption: S1 answers a read from its own state.
          actions: [read: {key: x, node: 1, client: 2}]
          expect: {linearizable: true}
    """)
    found = run(text.replace("EXPECT", "{}"))
    assert len(found) == 1
    assert found[0].startswith("step 6: the history should be linearizable, but it is not: Client 2's read of x")
    assert "saw “1”" in found[0] and "was answered “2”" in found[0]


def test_a_step_waiting_for_a_request_that_never_comes_says_which():
    text = INCR.replace("EXPECT", "{}") + more_steps("""
        - caption: Every server crashes, then we wait for an answer that cannot come.
          actions: [crash: 1, crash: 2, crash: 3, submit: {command: INCR x, client: 1, node: 1}]
          until: {history: [{id: 2, status: ok, result: null}], within: 300}
    """)
    assert run(text) == ["step 3: nothing is left to happen, and request 2 with status ok, result nothing never came"]


def test_the_documented_clients_example_loads_and_passes():
    doc = (Path(__file__).resolve().parent.parent / "docs" / "scenarios.md").read_text()
    section = doc[doc.index("### Clients"):]
    example = re.search(r"```yaml\n(.*?)```", section, re.S).group(1)
    sc = Scenario(parse(example, "docs/scenarios.md"))
    assert sc.check() == []
    assert [op["status"] for op in sc.cluster.history()] == ["ok", "ok"]


def test_until_waits_for_the_verdict_and_ends_at_the_answer_that_changes_it():
    text = INCR.replace("cluster: {size: 3,", "cluster: {options: {unsafe_no_dedup: true}, size: 3,")
    text = text.replace("EXPECT", '{history: [{id: 1, result: "1"}]}') + more_steps("""
        - caption: The answer was lost; client 1 sends the same request again, and it is applied again.
          actions: [submit: {command: INCR x, client: 1, seq: 1}]
          until: {linearizable: false}
          expect: {history: [{id: 1, result: "2", attempts: 2}], violations: [Linearizability]}
    """)
    sc = Scenario(parse(text, "mine.yaml"))
    assert sc.check() == []
    last = sc.cluster.records(sc.cluster.seq, sc.cluster.seq)[0]
    assert last["node"] == 1 and "answered" in last["notes"], "the step ends at the answer “2”"


def test_simulated_clients_start_and_stop_from_a_file_and_their_history_is_checked():
    sc = Scenario(parse(textwrap.dedent("""
        id: sim
        title: Simulated clients
        cluster: {size: 3, seed: 2}
        steps:
          - caption: A leader is elected.
            until: {leader: any}
          - caption: Two clients read and write for a second, then stop.
            actions: [clients: {n: 2, rate: 10}]
            until: {for: 1000}
            expect: {linearizable: true, violations: []}
          - caption: Nothing new is asked after they stop.
            actions: [stop_clients]
            until: {for: 500}
            expect: {linearizable: true}
    """), "sim.yaml"))
    assert sc.spec.steps[1].actions == [{"type": "clients", "n": 2, "rate": 10, "keys": 1, "read_ratio": 0.5,
                                         "timeout": 500}]
    assert sc.spec.steps[2].actions == [{"type": "stop_clients"}]
    sc.next()
    assert sc.next() == []
    asked = len(sc.cluster.history())
    assert asked > 5 and {op["client"] for op in sc.cluster.history()} == {1, 2}
    assert sc.next() == []
    assert len(sc.cluster.history()) == asked
