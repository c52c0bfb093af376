"""The safety monitor: the five properties of the Raft paper's Figure 3,
checked after every event as properties of the whole history.

    Election Safety       at most one leader per term, ever
    Leader Append-Only    a leader never overwrites or deletes entries in its log
    Log Matching          an (index, term) pair never stands for two different
                          entries, nor for two different histories before it
    Leader Completeness   an entry committed in a term is in the log of the
                          leader of every later term
    State Machine Safety  no two servers ever apply different entries at one index

and, beside them, Linearizability of the clients' history (section 8): not
an event's property but the whole history's, so it is checked at the end of
each scenario step and when the page asks (Cluster.check_linearizability,
sim/linearizable.py), and reported like the others.

It learns what happened from the node's notes (who became leader, what was
appended, committed, applied), so each event costs a few dictionary look-ups.
Everything it remembers is kept so that a checkpoint can save and restore it.
"""
from __future__ import annotations

from typing import NamedTuple

from ..raft import LEADER
from ..raft.notes import Append, Apply, Leader, entry_text
from .frozen import freeze, thaw

PROPERTIES = ("Election Safety", "Leader Append-Only", "Log Matching",
              "Leader Completeness", "State Machine Safety", "Linearizability")


def _entry(index: int, entry) -> str:
    return f"index {index} (term {entry.term}, {entry_text(entry)})"


class Seen(NamedTuple):
    """A leader's log as last checked: for Leader Append-Only."""
    term: int
    length: int
    last: object             # its last entry, or None


class SavedMonitor(NamedTuple):
    leaders: dict
    committed: tuple         # frozen (frozen.py)
    applied: tuple
    known: tuple
    leading: dict
    reported: frozenset


class Monitor:
    def __init__(self):
        self.leaders: dict[int, int] = {}      # term -> the node that led it
        self.committed: list = []              # index-1 -> (entry, term it was committed in, node)
        self.applied: list = []                # index-1 -> (entry, first node to apply it)
        self.known: list = []                  # index-1 -> ((entry, term of the entry before it), ...)
        self.leading: dict[int, Seen] = {}     # leader -> its log last seen
        self.reported: set = set()             # each broken fact is reported once
        self._found: list = []

    # ----- feeding ---------------------------------------------------------------
    def observe(self, node, notes) -> list | None:
        """Check what one event did at `node`; return new violations, if any."""
        for note in notes:
            check = _CHECKS.get(note.code)
            if check is not None:
                check(self, node, note)
        if node.role == LEADER:
            seen = self.leading.get(node.id)
            log = node.log
            # Most events at a leader change nothing in its log: skip those cheaply.
            if seen is None or seen.length != len(log) or seen.term != node.term \
                    or (log and seen.last is not log[-1]):
                self._check_append_only(node)
        elif node.id in self.leading:
            del self.leading[node.id]
        if self._found:
            found, self._found = self._found, []
            return found
        return None

    def seed(self, nodes) -> list | None:
        """Take in a loaded initial state, as if each log had been built by events."""
        for node in nodes:
            if node.log:
                self._on_append(node, Append(1, len(node.log)))
            if node.commit_index:
                self._on_apply(node, Apply(1, node.commit_index))
                self._record_commits(node, 1, node.commit_index, 0)
        for node in nodes:
            if node.role == LEADER and node.up:
                self._on_leader(node, Leader(node.term, ()))
                self._check_append_only(node)
        found, self._found = self._found, []
        return found or None

    def _violate(self, key, prop: str, nodes, text: str) -> None:
        if key in self.reported:
            return
        self.reported.add(key)
        self._found.append({"property": prop, "nodes": sorted(set(nodes)), "text": f"{prop} is violated: {text}"})

    # ----- the properties ----------------------------------------------------
    def _on_leader(self, node, note) -> None:
        term = note.term
        other = self.leaders.get(term)
        if other is not None and other != node.id:
            self._violate(("election", term), "Election Safety", (other, node.id),
                          f"S{other} and S{node.id} are both leaders of term {term}.")
        else:
            self.leaders[term] = node.id
        log = node.log
        for i, (entry, cterm, who) in enumerate(self.committed):
            if cterm < term and (i >= len(log) or log[i] != entry):
                self._violate(("completeness", term, node.id), "Leader Completeness", (node.id, who),
                              f"S{node.id} became leader of term {term} without {_entry(i + 1, entry)}, "
                              f"which S{who} had committed.")
                break

    def _check_append_only(self, node) -> None:
        log = node.log
        seen = self.leading.get(node.id)
        if seen is not None and seen.term == node.term:
            length, last = seen.length, seen.last
            if len(log) < length or (length and log[length - 1] != last):
                self._violate(("append-only", node.term, node.id), "Leader Append-Only", (node.id,),
                              f"S{node.id}, leader of term {node.term}, removed or replaced entries in its log.")
        self.leading[node.id] = Seen(node.term, len(log), log[-1] if log else None)

    def _on_propose(self, node, note) -> None:
        self._on_append(node, Append(note.index, note.index))

    def _on_config_append(self, node, note) -> None:
        self._on_append(node, Append(note.index, note.index))

    def _on_append(self, node, note) -> None:
        log, known = node.log, self.known
        for i in range(note.first, note.last + 1):
            entry = log[i - 1]
            fact = (entry, log[i - 2].term if i > 1 else 0)
            if i > len(known):
                known.extend([()] * (i - len(known)))
            facts = known[i - 1]
            for other in facts:
                other_entry, other_prev_term = other
                if other_entry.term == entry.term:
                    if other != fact:
                        self._violate(("matching", i, entry.term), "Log Matching", (node.id,),
                                      f"S{node.id} holds {_entry(i, entry)}, but index {i} with term "
                                      f"{entry.term} already stood for a different entry or history "
                                      f"({entry_text(other_entry)}, after term {other_prev_term}).")
                    break
            else:
                known[i - 1] = facts + (fact,)

    def _on_commit(self, node, note) -> None:
        if note.holders is not None:            # a leader's own decision
            self._record_commits(node, note.old + 1, note.new, node.term)

    def _record_commits(self, node, first: int, last: int, term: int) -> None:
        committed, log = self.committed, node.log
        for i in range(max(first, len(committed) + 1), last + 1):
            committed.append((log[i - 1], term, node.id))

    def _on_apply(self, node, note) -> None:
        log, applied = node.log, self.applied
        for i in range(note.first, note.last + 1):
            entry = log[i - 1]
            if i <= len(applied):
                first, who = applied[i - 1]
                if first != entry:
                    self._violate(("sms", i), "State Machine Safety", (who, node.id),
                                  f"S{node.id} applies {_entry(i, entry)}, but S{who} applied "
                                  f"{_entry(i, first)} at the same index.")
            else:
                applied.append((entry, node.id))

    # ----- checkpoints -----------------------------------------------------------
    def save(self, earlier: SavedMonitor | None = None) -> SavedMonitor:
        """A copy for a checkpoint, sharing unchanged chunks with `earlier`."""
        return SavedMonitor(dict(self.leaders), freeze(self.committed, earlier and earlier.committed),
                            freeze(self.applied, earlier and earlier.applied),
                            freeze(self.known, earlier and earlier.known), dict(self.leading),
                            frozenset(self.reported))

    def load(self, saved: SavedMonitor) -> None:
        self.leaders = dict(saved.leaders)
        self.committed = thaw(saved.committed)
        self.applied = thaw(saved.applied)
        self.known = thaw(saved.known)
        self.leading = dict(saved.leading)
        self.reported = set(saved.reported)
        self._found = []


_CHECKS = {"leader": Monitor._on_leader, "propose": Monitor._on_propose, "append": Monitor._on_append,
           "config_append": Monitor._on_config_append,
           "commit": Monitor._on_commit, "apply": Monitor._on_apply}
