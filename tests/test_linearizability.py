"""The linearizability checker (raftviz/sim/linearizable.py) against histories
whose answer is known: the classic small examples of Porcupine's and
Knossos's documentation rewritten for our key-value store, the cases a Raft
lecture shows (a stale read, a command applied twice), operations whose
outcome is unknown, and large generated histories."""
import sys
from pathlib import Path

import pytest

from raftviz.sim.linearizable import check

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from linearizability import history, stale  # noqa: E402  (the benchmark's own generator)


def write(client, key, value, invoked, returned, op="SET", result=None, status="ok"):
    return {"client": client, "seq": 1, "kind": "write", "op": op, "key": key, "value": value,
            "result": result, "invoked": invoked, "returned": returned, "status": status}


def read(client, key, result, invoked, returned, status="ok"):
    return {"client": client, "seq": 1, "kind": "read", "key": key, "value": None, "result": result,
            "invoked": invoked, "returned": returned, "status": status}


def test_porcupine_readme_concurrent_reads_may_see_old_and_new():
    # Porcupine's README, first history: a put overlapping two gets, one
    # seeing the new value and one the old: order get, put, get.
    h = [write(0, "x", "y", 0, 100), read(1, "x", "y", 25, 75), read(2, "x", None, 30, 60)]
    assert check(h) == {"ok": True, "explanation": None, "operations": []}


def test_porcupine_readme_a_read_may_not_go_back_to_the_old_value():
    # Porcupine's README, second history: once client 1 saw "y", client 2's later get cannot see "".
    h = [write(0, "x", "y", 0, 100), read(1, "x", "y", 10, 30), read(2, "x", None, 40, 90)]
    verdict = check(h)
    assert verdict["ok"] is False
    assert verdict["operations"] == h, "all three are needed: without the put, no read could see y"
    assert verdict["explanation"].startswith("Client 2's read of x (40 ms–90 ms) saw nothing.")
    assert "client 1's read of x (10 ms–30 ms) saw “y”" in verdict["explanation"]


def test_knossos_register_a_read_after_a_completed_write_sees_it():
    # Knossos's register example: write 1, then write 2 completes, then a read of 1 is stale.
    h = [write(1, "x", "1", 0, 10), write(2, "x", "2", 20, 30), read(3, "x", "1", 40, 50)]
    verdict = check(h)
    assert verdict["ok"] is False
    assert "But client 2's SET x 2 (20 ms–30 ms) was answered before that read began" in verdict["explanation"]
    assert verdict["operations"] == h


def test_overlapping_writes_may_be_seen_in_either_order():
    h = [write(1, "x", "1", 0, 50), write(2, "x", "2", 10, 60), read(3, "x", "1", 70, 80)]
    assert check(h)["ok"] is True        # order: write 2, write 1, read
    h.append(read(4, "x", "2", 90, 95))   # ... but not back to 2 afterwards
    assert check(h)["ok"] is False


def test_a_value_nobody_wrote_is_never_linearizable():
    assert check([read(1, "x", "7", 0, 10)])["ok"] is False


def test_a_retried_incr_applied_twice_is_caught_by_its_answers():
    # The lecture's duplicate command: one client's INCR x answered "2" means it ran twice.
    once = [write(1, "x", None, 0, 50, "INCR", "1"), read(2, "x", "1", 60, 70)]
    twice = [write(1, "x", None, 0, 50, "INCR", "2"), read(2, "x", "2", 60, 70)]
    assert check(once)["ok"] is True
    assert check(twice)["ok"] is False
    both_one = [write(1, "x", None, 0, 10, "INCR", "1"), write(2, "x", None, 5, 30, "INCR", "1")]
    verdict = check(both_one)
    assert verdict["ok"] is False and "was answered “1”" in verdict["explanation"]


def test_an_operation_of_unknown_outcome_may_have_happened_or_not():
    lost = write(2, "x", "2", 20, None, status="failed")
    assert check([write(1, "x", "1", 0, 10), lost, read(3, "x", "1", 40, 50)])["ok"] is True
    assert check([write(1, "x", "1", 0, 10), lost, read(3, "x", "2", 40, 50)])["ok"] is True
    # ... but once seen, it cannot be unseen.
    h = [write(1, "x", "1", 0, 10), lost, read(3, "x", "2", 40, 50), read(3, "x", "1", 60, 70)]
    assert check(h)["ok"] is False
    # It cannot have happened before it was called.
    assert check([read(3, "x", "2", 0, 10), lost])["ok"] is False


def test_unanswered_reads_say_nothing():
    assert check([write(1, "x", "1", 0, 10), read(2, "x", "9", 20, None, status="pending")])["ok"] is True


def test_keys_are_checked_apart_and_the_broken_one_is_named():
    h = [write(1, "x", "1", 0, 10), read(2, "x", "1", 20, 30),
         write(1, "y", "1", 0, 10), write(1, "y", "2", 11, 15), read(2, "y", "1", 20, 30)]
    verdict = check(h)
    assert verdict["ok"] is False and {op["key"] for op in verdict["operations"]} == {"y"}
    assert check(h, keys=["x"])["ok"] is True


def test_append_and_del_follow_the_store():
    h = [write(1, "s", "a", 0, 10, "APPEND", "a"), write(2, "s", "b", 20, 30, "APPEND", "ab"),
         read(3, "s", "ab", 40, 50), write(1, "s", None, 60, 70, "DEL"), read(2, "s", None, 80, 90)]
    assert check(h)["ok"] is True
    h[1] = write(2, "s", "b", 20, 30, "APPEND", "b")       # as if the first append never happened
    assert check(h)["ok"] is False


@pytest.mark.parametrize("clients", [1, 3, 5, 9])
def test_generated_histories_are_linearizable_and_one_stale_read_is_found(clients):
    ops = history(300, clients, seed=clients)
    assert check(ops)["ok"] is True
    broken = stale(ops)
    verdict = check(broken)
    assert verdict["ok"] is False
    culprit = next(o for o in broken if o not in ops)
    assert culprit in verdict["operations"]


def test_the_operations_named_are_minimal():
    """Leaving out any one of them (other than a write some read saw, without
    which the rest proves nothing) makes the history linearizable."""
    broken = stale(history(200, 5, seed=7))
    named = check(broken)["operations"]
    assert 2 <= len(named) < 20
    for k, op in enumerate(named):
        rest = named[:k] + named[k + 1:]
        seen = {o["result"] for o in rest if o["kind"] == "read"}
        if op["kind"] == "write" and op["value"] in seen:
            continue
        assert check(rest)["ok"] is True, f"{op} is not needed"


def test_the_explanation_names_the_write_the_stale_read_missed_even_an_append():
    h = [write(1, "x", "1.8", 0, 10), write(2, "x", "+2", 20, 30, "APPEND", "1.8+2"), read(3, "x", "1.8", 40, 50)]
    verdict = check(h)
    assert verdict["ok"] is False and verdict["operations"] == h
    assert ("But client 2's APPEND x +2 (20 ms–30 ms) was answered before that read began, so the read must see "
            "its effect or a later one.") in verdict["explanation"]


def test_a_write_refused_before_reaching_any_log_did_not_happen():
    refused = dict(write(2, "x", "2", 20, 21, status="failed"), appended=False)
    maybe = dict(write(2, "x", "2", 20, 21, status="failed"), appended=True)
    h = [write(1, "x", "1", 0, 10), read(3, "x", "2", 40, 50)]
    assert check(h[:1] + [refused] + h[1:])["ok"] is False, "nobody wrote 2"
    assert check(h[:1] + [maybe] + h[1:])["ok"] is True, "it may have been applied by a later leader"


def test_writes_of_unknown_outcome_nobody_saw_do_not_make_the_search_explode():
    """A partition's timed-out appends: each may have happened or not, which
    alone would be 2^k orders; none was seen, so each can come last."""
    h = [write(1, "x", "a", 0, 1)]
    h += [write(2 + i, "x", f"+{i}", 2 + i, None, "APPEND", status="failed") for i in range(30)]
    h += [read(99, "x", "a", 200 + j, 200.5 + j) for j in range(3)]
    assert check(h)["ok"] is True
    h.append(read(98, "x", "a+7", 300, 301))        # one was seen: it happened, after the reads of "a"
    assert check(h)["ok"] is True
    h.append(read(97, "x", "a", 310, 311))          # ... and cannot be undone
    assert check(h)["ok"] is False


def test_the_initial_state_counts_as_a_write_before_everything():
    h = [read(1, "x", "1", 10, 20)]
    assert check(h)["ok"] is False
    assert check(h, initial={"x": "1"})["ok"] is True
    verdict = check([write(2, "x", "2", 0, 5), read(1, "x", "1", 10, 20)], initial={"x": "1"})
    assert verdict["ok"] is False and "the initial state, where x held “1”" in verdict["explanation"]
