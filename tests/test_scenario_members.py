"""Scenario files with configurations (issue 12): initial members, configuration
entries in initial logs, the add_server / change_config / transfer_leadership
actions, servers added during a scenario, branches with other voters, and the
`config` and `happened` conditions. Mistakes are refused naming file, field
and problem."""
import textwrap

import pytest

import raftviz.scenarios as scenarios
from raftviz.scenarios import ScenarioError, parse
from helpers import only_bundled  # noqa: F401  (only_bundled: an autouse fixture)


def refused(text: str) -> str:
    with pytest.raises(ScenarioError) as e:
        parse(textwrap.dedent(text), "mine.yaml")
    assert str(e.value).startswith("mine.yaml: ")
    return str(e.value)


GROW = """
    id: grow
    title: Grow
    cluster: {size: 3, seed: 4, members: [1, 2], election_timeout: [2000, 3000]}
    steps:
      - caption: S1 wins.
        actions: [timeout: 1]
        until: {leader: 1, votes_counted: true}
        expect: {config: {1: {voters: [1, 2]}, 2: {voters: [1, 2]}}}
      - caption: A new server, S4, starts; S1 adds S3 and S4.
        actions: [add_server, change_config: {voters: [1, 2, 3, 4]}]
        until: {config: {1: {voters: [1, 2, 3, 4]}}, commit: {1: 3}}
        expect:
          config: {4: {voters: [1, 2, 3, 4]}}
          happened: {config_append: [1], learner_round: [1]}
      - caption: S1 hands leadership to S4.
        actions: [transfer_leadership: 4]
        until: {leader: 4}
        expect: {happened: {timeout_now_sent: [1], timeout_now_taken: [4]}, roles: {1: follower}}
"""


def test_members_add_server_change_config_and_transfer_run_from_a_file():
    sc = scenarios.Scenario(parse(textwrap.dedent(GROW), "grow.yaml"))
    assert sc.spec.cluster["members"] == [1, 2]
    assert 3 not in sc.cluster.nodes[3].config["voters"], "S3 starts outside the configuration"
    assert sc.check() == []
    assert len(sc.cluster.nodes) == 4 and sc.cluster.leader() == 4


def test_a_server_added_by_a_step_can_be_named_afterwards_and_no_other():
    text = GROW.replace("expect: {happened: {timeout_now_sent: [1], timeout_now_taken: [4]}, roles: {1: follower}}",
                        "expect: {roles: {4: leader, 5: follower}}")
    message = refused(text)
    assert "steps[2].expect.roles.5: there is no S5: this scenario has S1–S4" in message
    message = refused(GROW.replace("actions: [add_server, change_config: {voters: [1, 2, 3, 4]}]",
                                   "actions: [crash: 4, add_server]"))
    assert "steps[1].actions[0].crash: there is no S4: this scenario has S1–S3" in message


def test_six_then_seven_after_one_add_server():
    text = """
        id: six
        title: Six
        cluster: {size: 5}
        steps:
          - caption: S6 starts.
            actions: [add_server, crash: 6]
          - caption: S6 restarts.
            actions: [restart: 6]
            expect: {roles: {6: follower}}
          - caption: S7?
            actions: [crash: 7]
    """
    assert "steps[2].actions[0].crash: there is no S7: this scenario has S1–S6" in refused(text)
    spec = parse(textwrap.dedent(text).replace("crash: 7", "crash: 6"), "six.yaml")
    assert scenarios.Scenario(spec).check() == []


def test_a_branch_starts_again_with_the_initial_servers_only():
    text = """
        id: branch
        title: Branch
        cluster: {size: 3}
        steps:
          - caption: S4 starts.
            actions: [add_server]
          - caption: Again, without it.
            from: start
            actions: [crash: 4]
    """
    assert "steps[1].actions[0].crash: there is no S4: this scenario has S1–S3" in refused(text)


def test_no_more_than_nine_servers():
    text = """
        id: many
        title: Many
        cluster: {size: 8}
        steps:
          - caption: Two more.
            actions: [add_server, add_server]
    """
    assert "steps[0].actions[1]: a cluster has at most 9 servers, and this scenario already has 9 here" in refused(text)


def test_labels_may_name_a_server_the_scenario_adds():
    spec = parse("id: x\ntitle: T\ncluster: {size: 3}\nlabels: {4: new}\nsteps: [{caption: c, actions: [add_server]}]\n")
    assert spec.labels == {4: "new"}


BAD = [
    ("cluster: {size: 3, members: [1, 7]}", "cluster.members: there is no S7: this scenario has S1–S3"),
    ("cluster: {size: 3, members: []}", "cluster.members: a configuration needs at least one voter"),
    ("cluster: {members: [1, 2]}\ninitial: {members: [1, 2], nodes: [{id: 1}, {id: 2}, {id: 3}]}",
     "cluster.members: the initial state names its members too"),
    ("initial: {nodes: [{id: 1, term: 1, log: [{term: 1, config: {voters: [1, 9]}}]}, {id: 2}]}",
     "initial: S1 index 1: There is no S9"),
    ("initial: {nodes: [{id: 1, term: 1, log: [{term: 1, config: {voters: [1], learners: [1]}}]}, {id: 2}]}",
     "initial: S1 index 1: a learner is a server that does not vote"),
    ("initial: {nodes: [{id: 1, term: 1, log: [{term: 1, config: {voters: [1], mood: calm}}]}, {id: 2}]}",
     "initial: S1 index 1: a configuration is"),
    ("initial: {nodes: [{id: 1, term: 1, log: [{term: 1, command: x, config: {voters: [1]}}]}, {id: 2}]}",
     "initial: S1 index 1: an entry holds a command or a configuration, not both"),
]


@pytest.mark.parametrize("cluster, message", BAD)
def test_bad_members_and_configuration_entries_are_refused(cluster, message):
    assert message in refused(f"id: x\ntitle: T\n{cluster}\nsteps: [{{caption: c}}]\n")


def test_members_that_make_the_initial_state_impossible_are_refused():
    text = """
        id: x
        title: T
        cluster: {members: [1, 2]}
        initial:
          nodes:
            - {id: 1, term: 2, role: leader}
            - {id: 2, term: 1}
            - {id: 3, term: 2, voted_for: 1}
            - {id: 4, term: 2, voted_for: 1}
        steps: [{caption: c}]
    """
    message = refused(text)
    assert "cluster.members: with these voters the initial state is impossible: S1 cannot lead term 2" in message
    assert parse(textwrap.dedent(text).replace("[1, 2]", "[1, 3]")).cluster["members"] == [1, 3]


def test_an_initial_state_possible_only_with_its_members_is_accepted():
    """S1 leads with S2's vote alone: impossible if all four vote, fine if S1 and S2 are the voters."""
    text = """
        id: x
        title: T
        cluster: {members: [1, 2]}
        initial:
          nodes:
            - {id: 1, term: 2, role: leader}
            - {id: 2, term: 2, voted_for: 1}
            - {id: 3}
            - {id: 4}
        steps: [{caption: c}]
    """
    assert parse(textwrap.dedent(text)).cluster["members"] == [1, 2]
    assert "initial: S1 cannot lead term 2" in refused(text.replace("cluster: {members: [1, 2]}", "cluster: {}"))


def test_an_initial_state_may_carry_members_and_configuration_entries():
    spec = parse(textwrap.dedent("""
        id: x
        title: T
        initial:
          members: [1, 2, 3]
          nodes:
            - {id: 1, term: 1, role: leader, commit_index: 1, log: [{term: 1, config: {voters: [1, 2, 3], learners: [4]}}]}
            - {id: 2, term: 1, voted_for: 1, log: [{term: 1, config: {voters: [1, 2, 3], learners: [4]}}]}
            - {id: 3, term: 1, voted_for: 1}
            - {id: 4}
        steps:
          - caption: Nothing yet.
            expect:
              config: {1: {voters: [1, 2, 3], learners: [4]}, 3: {voters: [1, 2, 3]}, 4: {voters: []}}
    """))
    assert scenarios.Scenario(spec).check() == []


def test_a_branch_may_start_with_other_voters_and_only_a_branch():
    text = textwrap.dedent("""
        id: x
        title: T
        cluster: {size: 3, members: [1, 2], seed: 3}
        steps:
          - caption: Two voters.
            expect: {config: {1: {voters: [1, 2]}}}
          - caption: Three.
            from: start
            members: [1, 2, 3]
            expect: {config: {1: {voters: [1, 2, 3]}, 3: {voters: [1, 2, 3]}}}
          - caption: Back to the file's.
            from: start
            expect: {config: {1: {voters: [1, 2]}}}
    """)
    sc = scenarios.Scenario(parse(text))
    assert [s.members for s in sc.steps] == [None, [1, 2, 3], None]
    assert sc.check() == []
    assert "steps[0].members: only a branch (`from: start`) can begin with other voters" in refused(
        text.replace("  - caption: Two voters.\n", "  - caption: Two voters.\n    members: [1]\n"))


CONDITIONS = [
    ("until: {config: {1: {voters: [1], learners: [1]}}}", "steps[0].until.config.1.learners: a learner does not vote"),
    ("until: {config: {1: {old_voters: [1]}}}", "steps[0].until.config.1: the field voters is missing"),
    ("expect: {config: {1: {voters: [1, 1]}}}", "steps[0].expect.config.1.voters: names a server twice"),
    ("expect: {config: {1: {voters: [4]}}}", "steps[0].expect.config.1.voters: there is no S4"),
    ("expect: {config: {1: {voters: [1], colour: red}}}", "unknown field colour"),
    ("expect: {happened: {dancing: [1]}}", "steps[0].expect.happened: 'dancing' is not something the trace notes"),
    ("until: {happened: {election: [5]}}", "steps[0].until.happened.election: there is no S5"),
    ("expect: {happened: []}", "steps[0].expect.happened: should map what happened to the servers"),
]


@pytest.mark.parametrize("condition, message", CONDITIONS)
def test_bad_config_and_happened_conditions_are_refused(condition, message):
    assert message in refused(f"id: x\ntitle: T\ncluster: {{size: 3}}\nsteps: [{{caption: c, {condition}}}]\n")


def test_failed_config_and_happened_claims_are_sentences():
    spec = parse(textwrap.dedent("""
        id: x
        title: T
        cluster: {size: 3, seed: 2, election_timeout: [2000, 3000]}
        steps:
          - caption: S1 wins.
            actions: [timeout: 1]
            until: {leader: 1, votes_counted: true}
            expect:
              config: {2: {voters: [1, 2, 3], old_voters: [1, 2], learners: []}, 3: {voters: []}}
              happened: {leader: [2], grant: [2, 3], ignore_vote: []}
    """))
    assert scenarios.Scenario(spec).check() == [
        "step 1: S2 should use C_old,new (S1, S2 → S1–S3), but it uses {S1–S3}",
        "step 1: S3 should use no configuration (it knows none yet), but it uses {S1–S3}",
        "step 1: during this step leader should happen at S2, but it happened at S1",
    ]


def test_until_happened_ends_the_step_at_that_event():
    spec = parse(textwrap.dedent("""
        id: x
        title: T
        cluster: {size: 3, seed: 2, election_timeout: [2000, 3000]}
        steps:
          - caption: S1 runs; the step ends when S2 and S3 have granted.
            actions: [timeout: 1]
            until: {happened: {grant: [2, 3]}}
          - caption: Nothing happens within 100 ms.
            until: {happened: {election: [2]}, within: 100}
    """))
    sc = scenarios.Scenario(spec)
    assert sc.next() == []
    last = sc.cluster.trace[sc.cluster.seq - 1]
    assert "grant" in last["notes"] and sorted(n.voted_for for n in sc.cluster.nodes.values()) == [1, 1, 1]
    assert sc.next() == ["step 2: election at S2 did not come within 100 ms"]
