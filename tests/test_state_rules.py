"""Initial states a Raft cluster could not be in are refused (issue 11):
Log Matching across servers, entries of a leader's term that the leader
does not hold, and votes no election could have given. And the rules are sound: every state a run reaches is accepted."""
import random

import pytest

import raftviz.scenarios as scenarios
from raftviz.scenarios import ScenarioError, parse
from raftviz.sim import Cluster
from raftviz.sim import state as state_rules


def refused(state) -> str:
    with pytest.raises(ValueError) as e:
        Cluster.from_state(state)
    return str(e.value)


def nodes(*specs):
    return {"nodes": [dict(spec, id=i) for i, spec in enumerate(specs, 1)]}


# ----- Log Matching -----------------------------------------------------------------------

def test_same_index_and_term_over_different_earlier_entries_is_refused():
    message = refused(nodes({"term": 3, "log": [1, 2, 3]}, {"term": 3, "log": [1, 1, 3]}, {"term": 3}))
    assert "S1 and S2" in message and "index 3" in message and "index 2" in message
    assert "Log Matching" in message


def test_the_same_entry_with_two_commands_is_refused():
    message = refused(nodes({"term": 2, "log": [1, {"term": 2, "command": "x←1"}]},
                            {"term": 2, "log": [1, {"term": 2, "command": "x←2"}]}, {"term": 2}))
    assert "S1 and S2" in message and "index 2" in message and "different commands" in message


def test_log_matching_is_checked_in_scenario_files_too():
    text = """
id: broken
title: Broken
initial:
  nodes:
    - {id: 1, term: 3, log: [1, 2, 3]}
    - {id: 2, term: 3, log: [1, 1, 3]}
    - {id: 3, term: 3}
steps:
  - caption: Nothing.
"""
    with pytest.raises(ScenarioError) as e:
        parse(text, "broken.yaml")
    assert str(e.value).startswith("broken.yaml: initial: S1 and S2")


def test_an_entry_of_the_leaders_term_that_the_leader_lacks_is_refused():
    message = refused(nodes({"term": 3, "role": "leader", "log": [1, 3]},
                            {"term": 3, "voted_for": 1, "log": [1, 3, 3]},
                            {"term": 3, "voted_for": 1, "log": [1]}))
    assert "S2 holds an entry of term 3 at index 3" in message and "S1, the leader of term 3" in message


# ----- votes ------------------------------------------------------------------------------------

def test_a_vote_for_a_leader_whose_earlier_log_is_behind_the_voters_is_refused():
    message = refused(nodes({"term": 4, "role": "leader", "log": [1, 1, 2, 4]},
                            {"term": 4, "voted_for": 1, "log": [1, 1, 3, 3, 3]},
                            {"term": 4, "voted_for": 1, "log": [1, 1]}))
    assert "S2 cannot have voted for S1" in message and "term 4" in message
    assert "index 5 (term 3)" in message and "index 3 (term 2)" in message
    assert "up-to-date" in message


def test_a_longer_log_of_the_same_last_term_cannot_have_voted_for_the_leader():
    message = refused(nodes({"term": 4, "role": "leader", "log": [1, 3, 3]},
                            {"term": 4, "voted_for": 1, "log": [1, 3, 3, 3]},
                            {"term": 4, "voted_for": 1}))
    assert "S2 cannot have voted for S1" in message
    # Entries of the leader's own term reached the voter after its vote: only earlier ones count.
    Cluster.from_state(nodes({"term": 4, "role": "leader", "log": [1, 3, 3, 4, 4]},
                             {"term": 4, "voted_for": 1, "log": [1, 3, 3, 4, 4]},
                             {"term": 4, "voted_for": 1}))


def test_a_vote_for_a_server_in_an_earlier_term_is_refused():
    message = refused(nodes({"term": 3, "voted_for": 2}, {"term": 2}, {"term": 1}))
    assert "S1 cannot have voted for S2 in term 3" in message and "only in term 2" in message


@pytest.mark.parametrize("name, voter", [("log-repair", 3), ("commit-earlier-term", 5),
                                         ("commit-earlier-term-safe", 5), ("quiz-possible-logs", 2)])
def test_the_four_scenarios_no_longer_start_with_impossible_votes(name, voter):
    """Each began with a follower voting for the leader although its own log was
    more up-to-date; the same state is now refused, and the file gives a possible vote."""
    initial = scenarios.spec(name).initial
    old = {"nodes": [dict(n, voted_for=1) if n["id"] == voter else n for n in initial["nodes"]]}
    assert f"S{voter} cannot have voted for S1" in refused(old)
    Cluster.from_state(initial)


# ----- soundness: what a run reaches is accepted -------------------------------------------

def state_of(c) -> dict:
    """A cluster's state as Cluster.from_state takes it."""
    out = []
    for i, n in c.nodes.items():
        out.append({"id": i, "term": n.term, "voted_for": n.voted_for, "up": n.up,
                    "role": n.role if n.up else "follower", "commit_index": n.commit_index if n.up else 0,
                    "log": [{"term": e.term, "command": e.command} for e in n.log]})
    return {"nodes": out}


def test_the_vote_rule_only_judges_votes_for_the_leader_of_the_voters_term():
    """A reachable state that a rule over every vote would refuse: S2 voted for S1
    in term 5 with S1's log [1,1,4] as up-to-date as its own; then S3 won term 5
    and overwrote S1's index 3. S2's log [1,1,4] is now ahead of S1's, and the
    vote is still one an election gave. Had S1 led term 5, it could not be."""
    c = Cluster.from_state(nodes({"term": 4, "log": [1, 1, 4]}, {"term": 4, "log": [1, 1, 4]},
                                 {"term": 4, "log": [1, 1, 3, 3, 3]}, {"term": 4, "log": [1, 1]},
                                 {"term": 4, "log": [1, 1]}),
                           seed=1, election_timeout=[5000, 6000], latency=[10, 15])
    for a in (1, 2):
        for b in (3, 4, 5):
            c.cut(a, b)                                # S1 and S2 on their own
    c.timeout(1)
    c.run_for(100)
    c.timeout(3)
    c.run_for(100)
    assert c.leader() == 3 and c.nodes[3].term == 5
    c.link(1, 3)
    c.run_for(300)
    state = state_of(c)
    s1, s2 = state["nodes"][0], state["nodes"][1]
    assert (s1["role"], s1["term"], [e["term"] for e in s1["log"]]) == ("follower", 5, [1, 1, 3, 3, 3])
    assert (s2["term"], s2["voted_for"], [e["term"] for e in s2["log"]]) == (5, 1, [1, 1, 4])
    Cluster.from_state(state)                          # reachable, so accepted
    s1["role"], state["nodes"][2]["role"] = "leader", "follower"
    assert "S2 cannot have voted for S1" in refused(state)


def random_faults(seed: int, size: int, every_event):
    rng = random.Random(seed)
    c = Cluster(size, seed=seed, election_timeout=(60, 120), latency=(5, 30),
                entries_per_append=1 + seed % 3, fast_backup=seed % 2 == 0, noop_on_election=seed % 3 == 0)
    ids = list(c.nodes)
    commands = 0
    while c.now < 8000:
        until = c.now + rng.uniform(5, 40)
        while c.step() is not None and c.now <= until:
            every_event(c)
        roll = rng.random()
        up = [i for i in ids if c.nodes[i].up]
        down = [i for i in ids if not c.nodes[i].up]
        if roll < 0.35:
            commands += 1
            c.submit(f"SET k {commands}", to=rng.choice(ids + [None]))
        elif roll < 0.45 and len(up) > 1:
            c.crash(rng.choice(up))
        elif roll < 0.55 and down:
            c.restart(rng.choice(down))
        elif roll < 0.65:
            c.partition(rng.sample(ids, rng.randint(1, size - 1)))
        elif roll < 0.75:
            c.heal()
        elif roll < 0.85 and up:
            i = rng.choice(up)
            if c.nodes[i].role != "leader":
                c.timeout(i)
        else:
            c.network.loss = rng.choice([0.0, 0.1, 0.3])


def test_every_state_a_run_reaches_is_accepted_and_an_impossible_vote_beside_it_is_not():
    """After every event of runs with crashes, restarts, partitions, loss and
    forced elections, the state is accepted: the rules never refuse a reachable
    state. Where a follower in the leader's term holds earlier-term entries ahead
    of the leader's, making it a voter for the leader gives a state no election
    could produce, and that is refused."""
    seen = {"states": 0, "flipped": 0}

    def check(c):
        state = state_of(c)
        try:
            state_rules.parse(state)
        except ValueError as e:
            pytest.fail(f"seed {seed}, seq {c.seq}: a reachable state was refused: {e}")
        seen["states"] += 1
        for lead in state["nodes"]:
            if lead["role"] != "leader":
                continue
            t = lead["term"]
            mine = [x["term"] for x in lead["log"] if x["term"] < t]
            for v in state["nodes"]:
                theirs = [x["term"] for x in v["log"] if x["term"] < t]
                ahead = (theirs[-1] if theirs else 0, len(theirs)) > (mine[-1] if mine else 0, len(mine))
                if v["role"] == "follower" and v["term"] == t and v["voted_for"] != lead["id"] and ahead:
                    v["voted_for"] = lead["id"]
                    with pytest.raises(ValueError, match=f"S{v['id']} cannot have voted for S{lead['id']}"):
                        state_rules.parse(state)
                    seen["flipped"] += 1
                    return

    for seed in range(40):
        random_faults(seed, 3 + seed % 3, check)
    assert seen["states"] > 20_000 and seen["flipped"] > 100


@pytest.mark.parametrize("state, servers", [
    ({"nodes": [{"id": 1, "term": 4, "role": "leader", "log": [1]}, {"id": 2, "term": 1}, {"id": 3, "term": 1}]},
     "S2 and S3"),
    ({"nodes": [{"id": 1, "term": 4, "role": "leader"}, {"id": 2, "term": 4, "voted_for": 3},
                {"id": 3, "term": 4, "voted_for": 3}]}, "S2 and S3"),
])
def test_a_leader_needs_a_majority_that_could_have_voted_for_it(state, servers):
    """Nobody else reached the leader's term, or their votes in it went elsewhere."""
    with pytest.raises(ValueError) as e:
        Cluster.from_state(state)
    assert "S1 cannot lead term 4" in str(e.value) and servers in str(e.value)
