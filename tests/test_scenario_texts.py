"""Scenario texts say what happens on screen (issue 11): commits in the step
that makes them, the user-study consistency-check cases played on screen,
figure 7's rejection counts and who could win."""
import re

import pytest

import raftviz.scenarios as scenarios
from raftviz.scenarios import load, names
from helpers import only_bundled  # noqa: F401  (only_bundled: an autouse fixture)


COMMITS = re.compile(r"\b[Ss](\d) commits entries 1 to (\d+)")


@pytest.mark.parametrize("name", names())
def test_a_caption_that_says_a_server_commits_is_the_step_where_it_does(name):
    sc = load(name)
    while not sc.done:
        sc.next()
        step = sc.steps[sc.index - 1]
        texts = " ".join(r["text"] for r in sc.cluster.records(sc.last_start + 1, sc.cluster.seq))
        for server, upto in COMMITS.findall(" ".join(step.caption.split())):
            assert re.search(rf"S{server} commits index(es 1–| ){upto}\b", texts), \
                f"{name} step {sc.index} says S{server} commits entries 1 to {upto}, but it does not then"


def test_consistency_check_commits_in_step_two_not_one():
    sc = load("consistency-check")
    sc.next()
    assert sc.cluster.nodes[1].commit_index == 0 and "commit" not in sc.steps[0].caption
    sc.next()
    assert sc.cluster.nodes[1].commit_index == 4 and "commits entries 1 to 4" in " ".join(sc.steps[1].caption.split())


def test_the_user_study_consistency_check_cases_play_on_screen():
    sc = load("consistency-check-cases")
    assert sc.spec.lecture == "Ousterhout, Raft user study lecture 2013"
    assert all(step.question and step.expect for step in sc.steps)
    logs = lambda: {i: [e.term for e in n.log] for i, n in sc.cluster.nodes.items()}   # noqa: E731
    assert logs() == {1: [1, 1, 1, 2, 3], 2: [1, 1, 1, 2], 3: [1, 1, 1, 1]}
    assert sc.next() == []
    first = sc.cluster.records(1, sc.cluster.seq)
    assert any(r["kind"] == "deliver" and r["node"] == 2 and r["message"]["prev_log_index"] == 4
               and r["message"]["prev_log_term"] == 2 and "accepts" in r["text"] for r in first)
    assert logs()[2] == [1, 1, 1, 2, 3]
    assert sc.next() == []
    second = sc.cluster.records(sc.last_start + 1, sc.cluster.seq)
    assert any(r["kind"] == "deliver" and r["node"] == 3 and r["message"]["prev_log_index"] == 4
               and r["message"]["prev_log_term"] == 2 and "rejects" in r["text"] for r in second)
    assert logs()[3] == [1, 1, 1, 1]
    assert sc.done


def test_figure_7_shows_each_followers_rejection_count_from_the_run():
    sc = load("figure-7")
    labels = sc.spec.labels
    step = next(s for s in sc.steps if "Rejections" in s.caption)
    shown = dict(re.findall(r"\(([a-f])\) (\d+)", " ".join(step.caption.split())))
    assert {f"({k})": int(v) for k, v in shown.items()} == {labels[i]: n for i, n in step.expect["rejections"].items()}
    assert sc.check() == []


def test_figure_7_asks_who_could_win_and_the_answer_is_what_happens():
    """Asked once S1 has won term 8: run each follower's election from that moment
    with S1 down; exactly (a), (c) and (d) win."""
    spec = load("figure-7").spec
    k, step = next((k, s) for k, s in enumerate(spec.steps)
                   if s.question and "could win" in s.question.prompt)
    assert step.question.choices[step.question.answer - 1] == "(a), (c) and (d)"
    by_label = {v: i for i, v in spec.labels.items()}
    winners = set()
    for label, server in by_label.items():
        sc = load("figure-7")
        for _ in range(k):
            sc.next()
        c = sc.cluster
        c.crash(1)
        c.timeout(server)
        c.run_for(80)
        if c.leader() == server:
            winners.add(label)
    assert winners == {"(a)", "(c)", "(d)"}
