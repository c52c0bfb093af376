"""Cluster configurations (the Raft paper's section 6; Ongaro's thesis, chapter 4).

A configuration says who votes. It travels as a log entry, and a server
uses the latest one in its log, committed or not (section 6): so a
configuration is a value, shared freely between logs, messages and
checkpoints, and never changed.

    voters       the servers whose votes elect a leader and whose copies
                 commit an entry: C_new, or the only configuration
    old_voters   C_old while the joint configuration C_old,new is the
                 latest (Figure 11): then elections and commitment need a
                 majority of C_old AND a majority of C_new; None otherwise
    learners     non-voting members (thesis 4.2.1): they receive the log
                 but neither vote nor count toward commitment

An empty configuration (no voters) is a server's own before it has heard of
any: a server added to a running cluster starts that way and waits.
"""
from __future__ import annotations

from typing import NamedTuple


def _ids(servers) -> str:
    """S1–S3 for a run, else S1, S3, S5 (the words of the captions)."""
    ids = sorted(servers)
    if not ids:
        return "nobody"
    if len(ids) > 2 and ids[-1] - ids[0] == len(ids) - 1:
        return f"S{ids[0]}–S{ids[-1]}"
    return ", ".join(f"S{i}" for i in ids)


class Config(NamedTuple):
    voters: tuple[int, ...]
    old_voters: tuple[int, ...] | None = None
    learners: tuple[int, ...] = ()

    @classmethod
    def of(cls, voters, old_voters=None, learners=()) -> "Config":
        """A configuration in normal form: sorted ids, learners that are not voters."""
        voters = tuple(sorted(set(voters)))
        old = tuple(sorted(set(old_voters))) if old_voters is not None else None
        return cls(voters, old, tuple(sorted(set(learners) - set(voters) - set(old or ()))))

    # ----- who is who --------------------------------------------------------
    @property
    def joint(self) -> bool:
        return self.old_voters is not None

    @property
    def electorate(self) -> tuple[int, ...]:
        """Everyone whose vote counts: C_new and, while joint, C_old."""
        if self.old_voters is None:
            return self.voters
        return tuple(sorted(set(self.voters) | set(self.old_voters)))

    @property
    def members(self) -> tuple[int, ...]:
        """Everyone the leader replicates to: voters of both groups and learners."""
        return tuple(sorted(set(self.electorate) | set(self.learners)))

    def is_voter(self, i: int) -> bool:
        return i in self.voters or (self.old_voters is not None and i in self.old_voters)

    def groups(self) -> tuple[tuple[int, ...], ...]:
        """The groups that each need a majority: (C_new,) or (C_old, C_new)."""
        return (self.voters,) if self.old_voters is None else (self.old_voters, self.voters)

    # ----- majorities ----------------------------------------------------------
    def quorum(self, agree) -> bool:
        """Do the servers in `agree` form a majority of every group? A group
        with no voters has no majority (a server that knows no configuration
        can elect nobody)."""
        for group in self.groups():
            if not group or sum(1 for i in group if i in agree) * 2 <= len(group):
                return False
        return True

    def tally(self, agree) -> tuple[tuple[int, int, int], ...]:
        """For each group: (how many in `agree`, how many are needed, group size)."""
        return tuple((sum(1 for i in g if i in agree), len(g) // 2 + 1, len(g)) for g in self.groups())

    def agreed_index(self, match: dict, me: int, length: int) -> int:
        """The highest index a majority of every group stores: server i
        stores up to match[i], and `me` (the leader) up to `length`, counted
        only where it is a voter."""
        best = None
        for group in self.groups():
            if not group:
                return 0
            values = sorted((length if i == me else match.get(i, 0) for i in group), reverse=True)
            n = values[len(group) // 2]            # the (majority)-th highest
            best = n if best is None else min(best, n)
        return best or 0

    # ----- words -----------------------------------------------------------------
    def to_dict(self) -> dict:
        return {"voters": list(self.voters),
                "old_voters": list(self.old_voters) if self.old_voters is not None else None,
                "learners": list(self.learners)}

    def describe(self) -> str:
        """C_old,new (S1–S3 → S1–S5), or {S1–S5}, with learners after a plus."""
        if self.old_voters is not None:
            text = f"C_old,new ({self.change_text()})"
        else:
            text = "{" + _ids(self.voters) + "}"
        if self.learners:
            text += f" + learner{'s' if len(self.learners) > 1 else ''} {_ids(self.learners)}"
        return text

    def change_text(self) -> str:
        """While joint: C_old → C_new, e.g. S1–S3 → S1–S5."""
        return f"{_ids(self.old_voters or ())} → {_ids(self.voters)}"

    def majorities(self) -> str:
        """What an election or a commit needs, in words."""
        if self.old_voters is None:
            return f"{len(self.voters) // 2 + 1} of {len(self.voters)} ({_ids(self.voters)})"
        return (f"{len(self.old_voters) // 2 + 1} of {len(self.old_voters)} in C_old ({_ids(self.old_voters)}) "
                f"and {len(self.voters) // 2 + 1} of {len(self.voters)} in C_new ({_ids(self.voters)})")


EMPTY = Config(())


def differences(old: Config, voters) -> set[int]:
    """The servers whose voting changes between `old` and the voter set `voters`."""
    return set(old.voters) ^ set(voters)

