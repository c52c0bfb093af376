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

Snapshots (section 7): indexes are absolute, and a server's snapshot stands
for the entries it had applied when it took it, or for those of the server
whose snapshot it installed. Those entries were checked when they were
applied (State Machine Safety), so entries a snapshot covers are not
checked again; for Leader Completeness a snapshot holds a committed entry
if the history it stands for has that entry. The monitor knows that
history without keeping it: it is the first entry applied at each index,
except where a server applied a different one (a violation already
reported), which the monitor remembers per server (`diverged`) and per
snapshot taken from such a server (`lineage`).
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
    diverged: dict
    lineage: dict


class Monitor:
    def __init__(self):
        self.leaders: dict[int, int] = {}      # term -> the node that led it
        self.committed: list = []              # index-1 -> (entry, term it was committed in, node)
        self.applied: list = []                # index-1 -> (entry, first node to apply it)
        self.known: list = []                  # index-1 -> ((entry, term of the entry before it), ...)
        self.leading: dict[int, Seen] = {}     # leader -> its log last seen
        self.reported: set = set()             # each broken fact is reported once
        # Only after a State Machine Safety violation: node -> {index: the entry it applied there,
        # not the first one applied}; and id(snapshot) -> (snapshot, the same for the entries it covers).
        self.diverged: dict[int, dict] = {}
        self.lineage: dict[int, tuple] = {}
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
            if seen is None or seen.length != node.snapshot_index + len(log) or seen.term != node.term \
                    or (log and seen.last is not log[-1]):
                self._check_append_only(node)
        elif node.id in self.leading:
            del self.leading[node.id]
        if self._found:
            found, self._found = self._found, []
            return found
        return None

    def seed(self, nodes) -> list | None:
        """Take in a loaded initial state, as if each log had been built by events.
        Entries an initial snapshot covers are known only as committed (None)."""
        for node in nodes:
            off = node.snapshot_index
            if node.log:
                self._on_append(node, Append(off + 1, off + len(node.log)))
            if node.commit_index:
                if node.commit_index > off:
                    self._on_apply(node, Apply(off + 1, node.commit_index))
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
        log, off = node.log, node.snapshot_index
        for i, (entry, cterm, who) in enumerate(self.committed):
            if cterm >= term or entry is None:
                continue
            k = i - off                        # entry i + 1 is log[k]
            if (k < 0 and self._snapshot_lacks(node, i + 1, entry)) or (k >= 0 and (k >= len(log) or log[k] != entry)):
                self._violate(("completeness", term, node.id), "Leader Completeness", (node.id, who),
                              f"S{node.id} became leader of term {term} without {_entry(i + 1, entry)}, "
                              f"which S{who} had committed"
                              f"{' (its snapshot stands for another entry there)' if k < 0 else ''}.")
                break

    def _snapshot_lacks(self, node, index: int, entry) -> bool:
        """Does the history node's snapshot stands for hold another entry than `entry` at `index`?"""
        own = self.diverged.get(node.id)
        if own and index in own:
            return own[index] != entry
        applied = self.applied
        first = applied[index - 1][0] if index <= len(applied) else None
        return first is not None and first != entry

    def _check_append_only(self, node) -> None:
        """(Compacting committed entries into a snapshot deletes nothing in
        this sense: the log's end, where a leader appends, stays.)"""
        log, off = node.log, node.snapshot_index
        end = off + len(log)
        seen = self.leading.get(node.id)
        if seen is not None and seen.term == node.term:
            length, last = seen.length, seen.last
            if end < length or (length > off and log[length - off - 1] != last):
                self._violate(("append-only", node.term, node.id), "Leader Append-Only", (node.id,),
                              f"S{node.id}, leader of term {node.term}, removed or replaced entries in its log.")
        self.leading[node.id] = Seen(node.term, end, log[-1] if log else None)

    def _on_propose(self, node, note) -> None:
        self._on_append(node, Append(note.index, note.index))

    def _on_config_append(self, node, note) -> None:
        self._on_append(node, Append(note.index, note.index))

    def _on_append(self, node, note) -> None:
        log, known, off = node.log, self.known, node.snapshot_index
        for k in range(note.first - off - 1, note.last - off):
            i = k + off + 1                    # log[k] is entry i
            entry = log[k]
            fact = (entry, log[k - 1].term if k else node.snapshot_term)
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
        committed, log, off = self.committed, node.log, node.snapshot_index
        for i in range(max(first, len(committed) + 1), last + 1):
            committed.append((log[i - off - 1] if i > off else None, term, node.id))

    def _on_apply(self, node, note) -> None:
        log, applied, off = node.log, self.applied, node.snapshot_index
        own = self.diverged.get(node.id) if self.diverged else None
        for i in range(note.first, note.last + 1):
            entry = log[i - off - 1]
            if i <= len(applied):
                first, who = applied[i - 1]
                if first is None:              # known only as an initial snapshot's
                    applied[i - 1] = (entry, node.id)
                elif first != entry:
                    self._violate(("sms", i), "State Machine Safety", (who, node.id),
                                  f"S{node.id} applies {_entry(i, entry)}, but S{who} applied "
                                  f"{_entry(i, first)} at the same index.")
                    own = self.diverged.setdefault(node.id, {})
                    own[i] = entry
                elif own:
                    own.pop(i, None)           # applied again (after a restart), as first applied
            else:
                applied.append((entry, node.id))

    def _on_snapshot(self, node, note) -> None:
        """A server took a snapshot: it stands for what the server applied."""
        own = self.diverged.get(node.id)
        if own:
            covered = {i: e for i, e in own.items() if i <= note.index}
            if covered:
                self.lineage[id(node.snapshot)] = (node.snapshot, covered)

    def _on_install(self, node, note) -> None:
        """A server installed a leader's snapshot: unless it had already applied
        beyond it, its state machine now stands for the snapshot's history."""
        if note.kept and note.applied >= note.index:
            return
        mark = self.lineage.get(id(node.snapshot))
        if mark is not None and mark[0] is node.snapshot:
            self.diverged[node.id] = dict(mark[1])
        else:
            self.diverged.pop(node.id, None)

    # ----- checkpoints -----------------------------------------------------------
    def save(self, earlier: SavedMonitor | None = None) -> SavedMonitor:
        """A copy for a checkpoint, sharing unchanged chunks with `earlier`."""
        return SavedMonitor(dict(self.leaders), freeze(self.committed, earlier and earlier.committed),
                            freeze(self.applied, earlier and earlier.applied),
                            freeze(self.known, earlier and earlier.known), dict(self.leading),
                            frozenset(self.reported), {i: dict(d) for i, d in self.diverged.items()},
                            dict(self.lineage))

    def load(self, saved: SavedMonitor) -> None:
        self.leaders = dict(saved.leaders)
        self.committed = thaw(saved.committed)
        self.applied = thaw(saved.applied)
        self.known = thaw(saved.known)
        self.leading = dict(saved.leading)
        self.reported = set(saved.reported)
        self.diverged = {i: dict(d) for i, d in saved.diverged.items()}
        self.lineage = dict(saved.lineage)
        self._found = []


_CHECKS = {"leader": Monitor._on_leader, "propose": Monitor._on_propose, "append": Monitor._on_append,
           "config_append": Monitor._on_config_append,
           "commit": Monitor._on_commit, "apply": Monitor._on_apply, "snapshot": Monitor._on_snapshot,
           "install_snapshot": Monitor._on_install}
