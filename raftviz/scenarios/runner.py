"""Running a scenario step by step over a Cluster and its history.

    sc = Scenario(spec)
    sc.cluster      the Cluster, in the scenario's initial state
    sc.next()       run the next step, then check its `expect`; returns the failed checks
    sc.prev()       back to where the previous step began (through the history)
    sc.done         every step has run
    sc.check()      run every step from the start; return the failed checks

A step's actions are user actions on the cluster (so they are recorded and
replay like any other); a `drop` pattern drops matching messages as they are
sent. Then the cluster advances one event at a time until the step's `until`
holds, so the step ends exactly at the event the caption talks about. A
condition not met within its `within` bound fails the step with a message;
nothing hangs. Given a Budget (sim/budget.py), the events a step or a
return to the script processes count against it, and a step past its
budget fails with the budget's message.

A step marked `from: start` begins a branch: the runner builds the cluster
afresh from the scenario's initial state (same seed, so the same timers)
before its actions, so several "what if" runs start from one state, each
with its own history (its trace, its leaders per term, its rejection counts
and safety checks), and each replays exactly. The earlier branches are
kept, so Back returns into them. A branch may start with other initial
voters (the step's `members`), to compare one state under two
configurations.

A step's `happened` (until or expect) looks at the records of that step
alone, from its first action on.

Between steps the lecturer may depart from the script (crash a server, say).
Next and Back first return to where the script was: by seeking, if the
history still holds that moment, else by replaying the scenario from its
start.
"""
from __future__ import annotations

from ..sim import Cluster
from ..sim.budget import Budget
from .conditions import (config_words, delivered, failures, happened_failures, holds, matches, noted, sent, shown,
                         snapshot_words)
from .format import Spec, Step


class StepFailed(Exception):
    pass


class Scenario:
    def __init__(self, spec: Spec):
        self.spec = spec
        self.steps = spec.steps
        self.cluster = self._fresh()
        self.index = 0                   # how many steps have run
        self._marks: list[tuple] = [self._mark()]   # (cluster, seq, print): where each step began, then where the last ended
        self.results: list[list[str]] = []          # failed checks of each step run

    @property
    def id(self) -> str:
        return self.spec.id

    def copy(self, fork) -> "Scenario":
        """This scenario at the same step, on forked clusters: `fork(cluster)`
        gives each cluster's copy (the same copy for the same cluster)."""
        twin = Scenario.__new__(Scenario)
        twin.__dict__.update(self.__dict__)
        twin.cluster = fork(self.cluster)
        twin._marks = [(fork(c), seq, print_) for c, seq, print_ in self._marks]
        twin.results = [list(found) for found in self.results]
        return twin

    @property
    def done(self) -> bool:
        return self.index >= len(self.steps)

    @property
    def position(self) -> int:
        """The seq where the script stands: the end of the last step run."""
        return self._marks[self.index][1]

    def on_script(self, cluster: Cluster) -> bool:
        """`cluster` stands where the script does (the same branch, the same record)."""
        mark = self._marks[self.index]
        return cluster is mark[0] and cluster.seq == mark[1]

    @property
    def last_start(self) -> int:
        """The seq, in the current cluster, where the last step run began (0 if
        it began a branch: its events start from the initial state)."""
        if not self.index or self.steps[self.index - 1].from_start:
            return 0
        return self._marks[self.index - 1][1]

    @property
    def last_failures(self) -> list[str]:
        return self.results[self.index - 1] if self.index else []

    def _fresh(self, members: list[int] | None = None) -> Cluster:
        """The cluster in the scenario's initial state; `members`: a branch's own initial voters."""
        cfg = dict(self.spec.cluster)
        options = cfg.pop("options", {}) or {}
        size = cfg.pop("size", 5)
        if members is not None:
            cfg["members"] = members
        if self.spec.initial is not None:
            return Cluster.from_state(self.spec.initial, **cfg, **options)
        return Cluster(size, **cfg, **options)

    # ----- where the script is -------------------------------------------------------
    def _mark(self) -> tuple:
        """The cluster and its position, with what identifies its last record."""
        c = self.cluster
        if c.seq <= c.oldest:                   # nothing kept to recognise it by
            return (c, c.seq, None)
        r = c.trace[c.seq - 1]
        return (c, c.seq, (r["time"], r["text"]))

    def _intact(self, mark: tuple) -> bool:
        c, seq, print_ = mark
        if seq == 0:
            return True
        if print_ is None or seq > len(c.trace) or seq <= c.oldest:
            return False
        r = c.trace[seq - 1]
        return (r["time"], r["text"]) == print_

    def _return_to(self, k: int, budget: Budget | None = None) -> None:
        """Put the cluster where the script is after k steps."""
        mark = self._marks[k]
        if self._intact(mark):
            self.cluster = mark[0]
            if self.cluster.seq != mark[1]:
                self.cluster.seek(mark[1])
            return
        # The history no longer holds that moment: play the script again.
        self.cluster = self._fresh()
        self._marks = [self._mark()]
        self.results = []
        for number in range(1, k + 1):
            self.results.append(self._run(self.steps[number - 1], number, budget))
            self._marks.append(self._mark())

    # ----- moving through the script ------------------------------------------------------
    def next(self, budget: Budget | None = None) -> list[str]:
        """Run the next step; return its failed checks ([] if all hold)."""
        if self.done:
            raise StepFailed(f"{self.spec.title}: every step has already run.")
        self._return_to(self.index, budget)
        self.cluster.forget_future()             # whatever happened after this point is not the script
        del self._marks[self.index + 1:]
        del self.results[self.index:]
        number = self.index + 1
        found = self._run(self.steps[self.index], number, budget)
        self.index = number
        self._marks.append(self._mark())
        self.results.append(found)
        return found

    def prev(self, budget: Budget | None = None) -> None:
        """Back to where the previous step began."""
        if self.index == 0:
            self._return_to(0, budget)
            return
        self.index -= 1
        self._return_to(self.index, budget)

    def return_to_script(self, budget: Budget | None = None) -> None:
        """Back to where the script stands, after the lecturer looked elsewhere."""
        self._return_to(self.index, budget)

    def restart(self, budget: Budget | None = None) -> None:
        self.index = 0
        self._return_to(0, budget)

    def check(self) -> list[str]:
        """Run every step from the start; return every failed check."""
        self.cluster = self._fresh()
        self.index = 0
        self._marks = [self._mark()]
        self.results = []
        found = []
        while not self.done:
            found.extend(self.next())
        return found

    # ----- one step --------------------------------------------------------------------
    def _run(self, step: Step, number: int, budget: Budget | None = None) -> list[str]:
        if step.from_start:
            self.cluster = self._fresh(step.members)
        c = self.cluster
        label = f"step {number}"
        first = c.seq + 1                           # the step's first record
        drops: list[dict] = []
        try:
            for action in step.actions:
                if action["type"] == "drop_matching":
                    drops.append(dict(action["pattern"]))
                    self._drop_in_flight(drops)
                else:
                    c.act(action)
            self._advance(step.until, drops, first, budget or Budget())
        except (ValueError, StepFailed) as e:
            return [f"{label}: {e}"]
        if c.history():
            c.check_linearizability()               # the clients' history, at the end of every step
        return [f"{label}: {problem}" for problem in failures(c, step.expect, first)]

    def _advance(self, until: dict, drops: list[dict], first: int, budget: Budget) -> None:
        c = self.cluster
        if "for" in until:
            if not drops:
                c.run_for(until["for"], budget=budget)
                return
            deadline = c.now + until["for"]
            while c.now < deadline:                 # small slices so drops catch every match
                first = c.seq + 1
                c.run_for(min(0.5, deadline - c.now), budget=budget)
                self._drop_sent(c.records(first, c.seq), drops)
            return
        conditions = {k: v for k, v in until.items() if k != "within"}
        if not conditions:
            return
        deadline = c.now + until["within"]
        waits = [(test, conditions[key]) for key, test in (("delivered", delivered), ("sent", sent))
                 if key in conditions]
        # What happened so far in the step (its actions' records), then record by record.
        seen = noted(c.records(first, c.seq)) if "happened" in conditions else None

        def done() -> bool:
            return (not waits and holds(c, conditions)
                    and (seen is None or not happened_failures(seen, conditions["happened"])))

        while not done():
            budget.spend()
            record = c.step()
            if record is None:
                raise StepFailed(f"nothing is left to happen, and {describe(conditions)} never came")
            self._drop_sent([record], drops)
            waits = [(test, pattern) for test, pattern in waits if not test(record, pattern)]
            if seen is not None:
                noted([record], seen)
            if c.now > deadline:
                raise StepFailed(f"{describe(conditions)} did not come within {until['within']:g} ms")

    def _drop_in_flight(self, drops: list[dict]) -> None:
        for m in self.cluster.snapshot()["messages"]:
            self._maybe_drop(m, drops)

    def _drop_sent(self, records: list[dict], drops: list[dict]) -> None:
        if drops:
            for r in records:
                for m in r.get("sent", []):
                    self._maybe_drop(m, drops)

    def _maybe_drop(self, message: dict, drops: list[dict]) -> None:
        for pattern in drops:
            if pattern.get("used") or not matches(message, pattern):
                continue
            if self.cluster.message(message["id"]) is not None:
                self.cluster.drop(message["id"])
            if not pattern.get("all"):
                pattern["used"] = True
            return


def describe(conditions: dict) -> str:
    parts = []
    for key, value in conditions.items():
        if key == "leader":
            parts.append("a leader" if value == "any" else "no leader" if value == "none" else f"S{value} as leader")
        elif key in ("delivered", "sent"):
            who = "".join(f" {w} S{value[k]}" for w, k in (("from", "from"), ("to", "to")) if k in value)
            parts.append(f"a {value['type']}{who} {'arriving' if key == 'delivered' else 'sent'}")
        elif key == "quiet":
            parts.append("a moment with no message in flight")
        elif key == "votes_counted":
            parts.append("every vote answered")
        elif key == "config":
            parts.append(" and ".join(f"S{i} using {config_words(v)}" for i, v in value.items()))
        elif key == "history":
            for want in value:
                said = [f"{field} {shown(field, v)}" for field, v in want.items() if field != "id"]
                parts.append(f"request {want['id']}" + (f" with {', '.join(said)}" if said else ""))
        elif key == "linearizable":
            parts.append("a linearizable history" if value else "a history that is not linearizable")
        elif key == "snapshot":
            parts.append(" and ".join(
                f"S{i} with {snapshot_words(v['index'], v.get('term', '?')) if v else 'no snapshot'}"
                for i, v in value.items()))
        elif key == "happened":
            parts.append(" and ".join(f"{code} at {', '.join(f'S{i}' for i in servers) or 'no server'}"
                                      for code, servers in value.items()))
        else:
            parts.append(f"{key} {value}")
    return " and ".join(parts)
