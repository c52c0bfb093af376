"""The lecture scenario library: every preset does what its slide claims,
the runner steps and steps back, and malformed files are reported clearly."""
import subprocess
import sys
import textwrap

import pytest

import raftviz.scenarios as scenarios
from raftviz.scenarios import ScenarioError, load, names, parse
from raftviz.sim import Cluster
from helpers import only_bundled  # noqa: F401  (only_bundled: an autouse fixture)

REQUIRED = ["first-election", "leader-crash", "split-vote", "replication", "missing-entries",
            "conflicting-entries", "outdated-candidate", "voting-rule", "log-structure", "log-repair",
            "consistency-check", "consistency-check-cases", "leader-completeness", "extraneous-entries",
            "best-leader", "commit-current-term", "commit-earlier-term", "figure-7", "figure-8", "figure-8-unsafe",
            "minority-leader", "deposed-leader", "quiz-possible-logs"]
# Issue 12: configuration changes and the mechanisms that keep elections undisturbed.
MEMBERSHIP = ["conflicting-majorities", "joint-consensus", "leader-not-in-new-config", "catch-up-learner",
              "removed-server-disruption", "leadership-transfer", "prevote-rejoin", "check-quorum"]


def seen(c):
    """What the picture shows: the snapshot without the history's length (going
    back keeps the recorded future, so the length may differ)."""
    snap = c.snapshot()
    del snap["length"]
    return snap


def test_every_lecture_case_has_its_preset():
    assert set(REQUIRED + MEMBERSHIP) <= set(names())


@pytest.mark.parametrize("name", MEMBERSHIP)
def test_each_membership_preset_checks_every_step_and_asks_before_it_reveals(name):
    spec = scenarios.spec(name)
    assert spec.lecture in ("Configuration changes", "Keeping elections undisturbed")
    assert all(step.expect for step in spec.steps), "every step claims what the class should see"
    assert any(step.question for step in spec.steps)


@pytest.mark.parametrize("name", names())
def test_every_bundled_scenario_passes_its_checks(name):
    sc = load(name)
    assert sc.check() == []
    assert sc.done
    entry = scenarios.spec(name).catalogue_entry()
    assert entry["title"] and entry["source"] and entry["summary"] and entry["lecture"]


def test_some_presets_ask_predict_then_reveal_questions():
    asked = [n for n in names() if any(s.question for s in load(n).steps)]
    assert len(asked) >= 10
    q = next(s.question for s in load("figure-7").steps if s.question and "reject" in s.question.prompt)
    assert q.choices[q.answer - 1] == "7"


def test_next_runs_one_step_and_prev_returns_to_where_it_began():
    sc = load("figure-8")
    start = seen(sc.cluster)
    assert sc.next() == []
    after_one = seen(sc.cluster)
    assert sc.index == 1 and sc.cluster.seq > 0
    assert sc.next() == []
    sc.prev()
    assert sc.index == 1 and seen(sc.cluster) == after_one
    sc.prev()
    assert sc.index == 0 and seen(sc.cluster) == start
    while not sc.done:
        assert sc.next() == []


def test_departing_from_the_script_and_coming_back():
    sc = load("leader-crash")
    sc.next()
    scripted = seen(sc.cluster)
    sc.cluster.crash(3)                            # "what if S3 crashes here?"
    sc.cluster.run_for(500)
    assert sc.cluster.leader() != 3
    assert sc.next() == [], "Next goes back to the script and runs the step as written"
    assert sc.cluster.leader() == 3
    sc.prev()
    assert seen(sc.cluster) == scripted


def test_the_scripted_moment_is_rebuilt_when_the_history_no_longer_holds_it():
    sc = load("first-election")
    sc.next()
    sc.next()
    scripted = seen(sc.cluster)
    sc.cluster.seek(3)
    sc.cluster.crash(1)                            # a fork before the script's position
    sc.prev()
    sc.next()
    assert seen(sc.cluster) == scripted


def test_a_step_whose_condition_never_comes_fails_with_a_message():
    spec = parse(textwrap.dedent("""
        id: never
        title: Never
        cluster: {size: 3}
        steps:
          - caption: Everyone crashes, then we wait for a leader.
            actions: [crash: 1, crash: 2, crash: 3]
            until: {leader: 1, within: 500}
    """))
    found = scenarios.Scenario(spec).check()
    assert found == ["step 1: nothing is left to happen, and S1 as leader never came"]
    spec = parse(textwrap.dedent("""
        id: slow
        title: Slow
        cluster: {size: 3, election_timeout: [5000, 6000]}
        steps:
          - caption: Wait for a leader, but not long.
            until: {leader: any, within: 300}
    """))
    assert scenarios.Scenario(spec).check() == ["step 1: a leader did not come within 300 ms"]


def test_failed_expectations_are_reported_in_plain_words():
    spec = parse(textwrap.dedent("""
        id: wrong
        title: Wrong claims
        cluster: {size: 3, seed: 1}
        steps:
          - caption: A leader is elected.
            until: {leader: any}
            expect: {terms: {1: 9}, violations: [State Machine Safety]}
    """))
    found = scenarios.Scenario(spec).check()
    assert found == ["step 1: S1 should be in term 9, but it is in term 1",
                     "step 1: the safety monitor should report State Machine Safety, but reports no violation"]


BAD_FILES = [
    ("id: x\ntitle: [unclosed\nsteps: []\n", "is not valid YAML at line 3, column 6"),
    ("title: T\nsteps: [{caption: c}]\n", "the file: the field id is missing"),
    ("id: Bad Id!\ntitle: T\nsteps: [{caption: c}]\n", "id: should be a short name"),
    ("id: x\ntitle: T\nsteps: []\n", "steps: should be a list with at least one step"),
    ("id: x\ntitle: T\ncolour: red\nsteps: [{caption: c}]\n", "unknown field colour"),
    ("id: x\ntitle: T\nsteps: [{caption: c, actions: [explode: 1]}]\n",
     "steps[0].actions[0]: unknown action 'explode'"),
    ("id: x\ntitle: T\ncluster: {size: 3}\nsteps: [{caption: c, actions: [crash: 7]}]\n",
     "steps[0].actions[0].crash: there is no S7: this scenario has S1–S3"),
    ("id: x\ntitle: T\ninitial: {nodes: [{id: 1, term: 3, log: [1, 3, 2]}]}\nsteps: [{caption: c}]\n",
     "initial: S1's log is impossible: terms never decrease"),
    ("id: x\ntitle: T\nsteps: [{caption: c, until: {leader: 2, sometime: soon}}]\n",
     "steps[0].until: unknown field sometime"),
    ("id: x\ntitle: T\nsteps: [{caption: c, expect: {violations: [Happiness]}}]\n",
     "'Happiness' is not a safety property"),
    ("id: x\ntitle: T\nsteps: [{caption: c, question: {prompt: p, choices: [a, b], answer: 3}}]\n",
     "steps[0].question.answer: should be a whole number from 1 to 2"),
    ("id: x\ntitle: T\nsteps: [{caption: c, actions: [drop: {type: Gossip}]}]\n",
     "steps[0].actions[0].drop.type: should be one of"),
    ("id: x\ntitle: T\nlabels: {9: (z)}\nsteps: [{caption: c}]\n", "labels.9: there is no S9: this scenario has S1–S5"),
    ("id: x\ntitle: T\nlabels: {2: [a]}\nsteps: [{caption: c}]\n", "labels.2: should be some text"),
]


def test_figure_7_labels_its_followers_a_to_f():
    assert scenarios.spec("figure-7").labels == {2: "(a)", 3: "(b)", 4: "(c)", 5: "(d)", 6: "(e)", 7: "(f)"}


@pytest.mark.parametrize("text, message", BAD_FILES)
def test_malformed_files_are_reported_with_file_field_and_problem(text, message):
    with pytest.raises(ScenarioError) as e:
        parse(text, "mine.yaml")
    assert str(e.value).startswith("mine.yaml: ") and message in str(e.value)


def test_a_lecturers_folder_loads_beside_the_bundled_ones_and_bad_files_are_reported(tmp_path):
    (tmp_path / "good.yaml").write_text(textwrap.dedent("""
        id: my-demo
        title: My demo
        lecture: My course
        cluster: {size: 3, seed: 4}
        steps:
          - caption: A leader appears.
            until: {leader: any}
    """))
    (tmp_path / "broken.yaml").write_text("id: broken\ntitle: T\nsteps: [{caption: c, actions: [explode: 1]}]\n")
    (tmp_path / "clash.yaml").write_text("id: figure-7\ntitle: Mine\nsteps: [{caption: c}]\n")
    library = scenarios.Library(tmp_path)
    assert "my-demo" in library.names() and "figure-7" in library.names() and "broken" not in library.names()
    assert "my-demo" not in names(), "the default library holds only the bundled scenarios"
    problems = library.problems()
    assert any(p.startswith("broken.yaml: steps[0].actions[0]: unknown action 'explode'") for p in problems)
    assert any(p.startswith("clash.yaml: id: 'figure-7' is already used") for p in problems)
    assert library.load("my-demo").check() == []


def test_the_environment_variable_names_the_folder(tmp_path, monkeypatch):
    (tmp_path / "env.yaml").write_text("id: from-env\ntitle: From env\ncluster: {size: 3}\nsteps: [{caption: c}]\n")
    monkeypatch.setenv("RAFTVIZ_SCENARIOS", str(tmp_path))
    assert "from-env" in scenarios.Library.from_environment().names()


def test_the_command_line_checks_scenarios_and_reports_pass_or_fail(tmp_path):
    ok = subprocess.run([sys.executable, "-m", "raftviz.scenarios", "check", "first-election", "split-vote"],
                        capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "PASS first-election (3 steps)" in ok.stdout and "2 passed, 0 failed" in ok.stdout
    (tmp_path / "wrong.yaml").write_text(textwrap.dedent("""
        id: wrong
        title: Wrong
        cluster: {size: 3}
        steps:
          - caption: c
            until: {leader: any}
            expect: {leader: none}
    """))
    bad = subprocess.run([sys.executable, "-m", "raftviz.scenarios", "check", "wrong", "--scenarios", str(tmp_path)],
                         capture_output=True, text=True)
    assert bad.returncode == 1 and "FAIL wrong" in bad.stdout and "there should be no leader" in bad.stdout
    unknown = subprocess.run([sys.executable, "-m", "raftviz.scenarios", "check", "nope"], capture_output=True, text=True)
    assert unknown.returncode == 2 and "Unknown scenario" in unknown.stderr


def test_scenario_actions_are_recorded_so_the_history_replays():
    sc = load("figure-8-unsafe")
    sc.check()
    again = Cluster.replay(sc.cluster.export())
    assert list(again.trace) == list(sc.cluster.trace)
    assert [v["property"] for v in again.violations] == [v["property"] for v in sc.cluster.violations]


def test_the_documented_example_loads_and_passes():
    import re
    from pathlib import Path
    doc = (Path(__file__).resolve().parent.parent / "docs" / "scenarios.md").read_text()
    example = re.search(r"## A complete example\n\n```yaml\n(.*?)```", doc, re.S).group(1)
    assert scenarios.Scenario(parse(example, "docs/scenarios.md")).check() == []
