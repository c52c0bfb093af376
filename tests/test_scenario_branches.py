"""Branches (`from: start`): a step that begins again from the scenario's
initial state, so each candidate of B7 and C4 runs from the same state
(issue 11). Each branch has its own history, replays exactly, and Back
returns into the branch before."""
import textwrap

import pytest

import raftviz.scenarios as scenarios
from raftviz.scenarios import ScenarioError, load, parse
from helpers import only_bundled  # noqa: F401  (only_bundled: an autouse fixture)


def seen(c):
    snap = c.snapshot()
    del snap["length"]
    return snap


TWO_RUNS = textwrap.dedent("""
    id: two-runs
    title: Two runs
    cluster: {seed: 3, election_timeout: [2000, 3000], latency: [10, 15]}
    initial:
      nodes:
        - {id: 1, term: 2, log: [1, 2]}
        - {id: 2, term: 2, log: [1]}
        - {id: 3, term: 2, log: [1]}
    steps:
      - caption: S1 runs for term 3 and wins.
        actions: [timeout: 1]
        until: {leader: 1, votes_counted: true}
        expect: {leaders: {3: 1}}
      - caption: From the start again, S2 runs for term 3; S1 refuses, S3 grants.
        from: start
        actions: [timeout: 2]
        until: {leader: 2, votes_counted: true}
        expect: {leaders: {3: 2}, votes: {2: [2, 3]}, vote_refusals: {2: {log: [1]}}, violations: []}
""")


def test_from_start_is_read_and_anything_else_is_refused():
    spec = parse(TWO_RUNS, "two-runs.yaml")
    assert [s.from_start for s in spec.steps] == [False, True]
    with pytest.raises(ScenarioError) as e:
        parse(TWO_RUNS.replace("from: start", "from: step 1"), "two-runs.yaml")
    assert str(e.value).startswith("two-runs.yaml: steps[1].from: should be `start`")


def test_a_branch_begins_at_the_initial_state_with_a_history_of_its_own():
    sc = scenarios.Scenario(parse(TWO_RUNS, "two-runs.yaml"))
    start = seen(sc.cluster)
    assert sc.next() == []
    first = sc.cluster
    assert first.leaders() == {3: 1}
    assert sc.next() == [], "two leaders of term 3, one per branch: no Election Safety alarm"
    second = sc.cluster
    assert second is not first and second.leaders() == {3: 2} and second.violations == []
    assert sc.last_start == 0 and second.trace[0]["text"].startswith("S2's election timer is made to fire")
    second.seek(0)
    assert seen(second) == start


def test_back_across_a_branch_returns_into_the_run_before_and_next_replays_it_exactly():
    sc = load("leader-completeness")
    sc.next()
    after_one = seen(sc.cluster)
    sc.next()
    trace = list(sc.cluster.trace)
    sc.prev()
    assert sc.index == 1 and seen(sc.cluster) == after_one
    assert sc.on_script(sc.cluster)
    assert sc.next() == []
    assert list(sc.cluster.trace) == trace
    while not sc.done:
        assert sc.next() == []


def test_a_lecturer_departing_inside_a_branch_comes_back_to_the_script():
    sc = load("extraneous-entries")
    sc.next()
    sc.next()                                     # the branch where s4 runs
    scripted = seen(sc.cluster)
    sc.cluster.crash(5)
    sc.cluster.run_for(200)
    assert not sc.on_script(sc.cluster)
    sc.return_to_script()
    assert seen(sc.cluster) == scripted


@pytest.mark.parametrize("name, term", [("leader-completeness", 4), ("extraneous-entries", 8)])
def test_every_candidate_runs_from_the_starting_state_with_its_outcome_checked(name, term):
    """B7 and C4: s1 to s5 each run for the slide's term, each from the same state."""
    sc = load(name)
    ran = {}
    for k, step in enumerate(sc.steps):
        timeouts = [a["node"] for a in step.actions if a["type"] == "timeout"]
        if timeouts:
            assert k == 0 or step.from_start, f"step {k + 1} runs from where the last run ended"
            assert "votes" in step.expect and "vote_refusals" in step.expect and "leader" in step.expect
            ran[timeouts[0]] = k
    assert sorted(ran) == [1, 2, 3, 4, 5]
    while not sc.done:
        assert sc.next() == []
        candidate = next((a["node"] for a in sc.steps[sc.index - 1].actions if a["type"] == "timeout"), None)
        if candidate is not None:
            assert sc.cluster.nodes[candidate].term == term
    assert str(term) in load(name).spec.title
