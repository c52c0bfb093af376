"""The log compaction presets (section 7, Figures 12 and 13): each step is
checked, each asks before it reveals, and the traces show what the captions
say: Figure 12's snapshot, InstallSnapshot to a follower that was down, and
to one left behind the leader's first entry (and, without snapshots,
AppendEntries to it instead)."""
import pytest

from raftviz import scenarios
from raftviz.scenarios import load
from helpers import only_bundled  # noqa: F401  (only_bundled: an autouse fixture)

COMPACTION = ["snapshot-install", "lagging-follower"]


@pytest.mark.parametrize("name", COMPACTION)
def test_7_each_compaction_preset_checks_every_step_and_asks_before_it_reveals(name):
    spec = scenarios.spec(name)
    assert spec.lecture == "Log compaction"
    assert all(step.expect for step in spec.steps), "every step claims what the class should see"
    assert any(step.question for step in spec.steps)
    assert load(name).check() == []


def run(name):
    sc = load(name)
    steps = []
    while not sc.done:
        first = 1 if sc.steps[sc.index].from_start else sc.cluster.seq + 1
        assert sc.next() == []
        steps.append((sc.cluster, sc.cluster.records(first, sc.cluster.seq)))
    return sc, steps


def test_7_figure_12_s1s_snapshot_holds_x_0_and_y_9_through_index_5_of_term_3():
    sc, steps = run("snapshot-install")
    c, records = steps[0]
    assert "S1 has applied up to index 5: it writes its state machine to a snapshot through index 5 (term 3)" \
           in records[-1]["text"]
    s1 = c.nodes[1]
    assert [e.command for e in s1.log] == ["SET y 7", "SET x 5"], "entries 6 and 7 follow the snapshot"


def test_7_the_follower_that_was_down_is_sent_install_snapshot_after_one_rejection():
    sc, steps = run("snapshot-install")
    _, records = steps[1]
    rejected = [r for r in records if r["node"] == 5 and "reject_missing" in r["notes"]]
    assert len(rejected) == 1 and "points S1 back to index 2 (fast backup)" in rejected[0]["text"]
    sent = [m for r in records for m in r.get("sent", []) if m["type"] == "InstallSnapshot"]
    assert sent and sent[-1]["last_included_index"] == 5 and sent[-1]["data"]["store"] == {"x": "0", "y": "9"}
    c, records = steps[2]
    installed = next(r for r in records if "install_snapshot" in r["notes"])
    assert "it discards its whole log (its index 1)" in installed["text"]
    c, records = steps[3]
    append = next(r for r in records if r["node"] == 5 and r["kind"] == "deliver")
    assert append["message"]["type"] == "AppendEntries"
    assert (append["message"]["prev_log_index"], append["message"]["prev_log_term"]) == (5, 3)
    assert all(n.store == {"x": "5", "y": "7"} for n in c.nodes.values() if n.commit_index == 7)


def test_7_servers_snapshot_independently_and_the_lagging_follower_needs_the_leaders():
    sc, steps = run("lagging-follower")
    c, records = steps[0]
    taken = {r["node"]: r["text"] for r in records if "snapshot" in r["notes"]}
    assert set(taken) == {1, 2, 3, 4} and "through index 8" in taken[3]
    lost = [r for r in records if r["kind"] == "drop" and r["message"]["type"] == "InstallSnapshot"]
    assert lost, "while S5 is cut off, the leader's InstallSnapshot messages die on the way"
    c, records = steps[1]
    assert any(r["kind"] == "drop" and r["message"]["type"] == "InstallSnapshot" for r in records), \
        "the one sent while the link was down still dies"
    c, records = steps[2]
    assert c.nodes[5].store == c.nodes[1].store


def test_7_without_snapshots_the_lagging_follower_gets_append_entries():
    sc, steps = run("lagging-follower")
    c, records = steps[4]
    types = {r["message"]["type"] for r in records if r["kind"] == "deliver" and r["node"] == 5}
    assert types == {"AppendEntries"}
    carried = [len(r["message"]["entries"]) for r in records if r["kind"] == "deliver" and r["node"] == 5
               and r["message"]["entries"]]
    assert carried == [4, 2], "indexes 3–6, then 7–8"
