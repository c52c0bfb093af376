"""Plain-language explanations of a node's decisions.

A Node returns notes: named tuples whose first field, `code`, names the
decision and whose other fields are its facts, read by name:
RefuseLog(5, 3, 7, 0, 0).my_last_term == 3, and the note equals the plain
tuple ("refuse_log", 5, 3, 7, 0, 0). Keeping them as data is cheap (nothing
is formatted while the cluster runs) and lets the safety monitor and the
view use the facts directly. describe() turns one into a sentence in the
words of the lectures; each sentence function takes the note's fields, by
the same names, in the same order.
"""
from __future__ import annotations

from collections import namedtuple

NOTES: dict[str, type] = {}         # code -> note type


def note_type(cls_name: str, code: str, fields: str) -> type:
    """A note type: a named tuple (code, *fields) made from its facts alone,
    e.g. Election(5) == ("election", 5). A namedtuple rather than a
    dataclass: notes are made on every event, and tuples are made fastest."""
    base = namedtuple(cls_name, ("code", *fields.split()))
    # A constructor with the facts as named parameters, written out as
    # namedtuple writes its own: *args would cost a third more per note.
    params = ", ".join(base._fields[1:])
    scope = {"make": tuple.__new__, "code": code}
    exec(f"def __new__(cls, {params}):\n    return make(cls, (code, {params}{',' if params else ''}))", scope)
    cls = type(cls_name, (base,), {"__slots__": (), "__new__": scope["__new__"], "__doc__": base.__doc__,
                                  "__getnewargs__": lambda self: tuple(self)[1:]})
    NOTES[code] = cls
    return cls


# The decisions of a Node (node.py), in the order of Figure 2.
Term = note_type("Term", "term", "old new src was")                       # saw a newer term, was: its role before
Election = note_type("Election", "election", "term")                      # timed out, became candidate of term
IgnoredTimeout = note_type("IgnoredTimeout", "ignored_timeout", "role up")
Grant = note_type("Grant", "grant", "candidate term unsafe")
RefuseTerm = note_type("RefuseTerm", "refuse_term", "candidate candidate_term my_term")
RefuseVoted = note_type("RefuseVoted", "refuse_voted", "candidate voted_for term")
RefuseLog = note_type("RefuseLog", "refuse_log",
                      "candidate my_last_term my_last_index their_last_term their_last_index")
Votes = note_type("Votes", "votes", "voter granted count needed")
Leader = note_type("Leader", "leader", "term voters")
StaleReply = note_type("StaleReply", "stale_reply", "kind src term")
RejectTerm = note_type("RejectTerm", "reject_term", "leader their_term my_term")
RejectSameTermLeader = note_type("RejectSameTermLeader", "reject_same_term_leader", "leader term")
Concede = note_type("Concede", "concede", "leader term")
# leader_now: what the leader was when the follower answered, filled in by the
# host, which alone can see it: "leads" (still leader of that term),
# "crashed", "deposed" (no longer leader of that term), or None (unknown).
RejectMissing = note_type("RejectMissing", "reject_missing",
                          "leader prev_log_index prev_log_term my_last_index hint leader_now")
RejectConflict = note_type("RejectConflict", "reject_conflict",
                           "leader prev_log_index prev_log_term my_term hint leader_now")
Accept = note_type("Accept", "accept", "leader prev_log_index count")
Truncate = note_type("Truncate", "truncate", "first last my_term their_term")
Append = note_type("Append", "append", "first last")
Commit = note_type("Commit", "commit", "old new holders unsafe")         # holders None: learned from the leader
Apply = note_type("Apply", "apply", "first last")
Match = note_type("Match", "match", "peer match_index progressed")
Retry = note_type("Retry", "retry", "peer next_index")
OldTermMajority = note_type("OldTermMajority", "old_term_majority", "index term holders")
Heartbeat = note_type("Heartbeat", "heartbeat", "peers")
Propose = note_type("Propose", "propose", "index command")
NotLeader = note_type("NotLeader", "not_leader", "role leader_id")


def name(node: int | None) -> str:
    return f"S{node}" if node is not None else "a client"


def names(nodes) -> str:
    return ", ".join(name(n) for n in nodes)


def span(first: int, last: int, noun: str = "index") -> str:
    if first == last:
        return f"{noun} {first}"
    return f"{noun}es {first}–{last}"


def command_text(command: str | None) -> str:
    return "a no-op entry" if command is None else command


def describe(me: int, note: tuple) -> str:
    """One sentence for one note of node `me`."""
    code, *facts = note
    return _TEXT[code](name(me), *facts)


def _term(me, old, new, src, was):
    seen = f" in a message from {name(src)}" if src is not None else ""
    if was == "follower":
        return f"{me} sees term {new}{seen} and moves up from term {old}."
    return (f"{me} sees term {new}{seen}, newer than its term {old}: "
            f"it stops being {was} and becomes a follower.")


def _grant(me, candidate, term, unsafe):
    extra = (" without checking whose log is more up-to-date (unsafe switch)" if unsafe else "")
    return f"{me} grants its vote to {name(candidate)} for term {term}{extra} and restarts its election timer."


def _refuse_term(me, candidate, candidate_term, my_term):
    c = name(candidate)
    return f"{me} refuses {c}'s vote: {c}'s term {candidate_term} is older than {me}'s term {my_term}."


def _refuse_voted(me, candidate, voted_for, term):
    who = "itself" if name(voted_for) == me else name(voted_for)
    return f"{me} refuses {name(candidate)}'s vote: {me} already voted for {who} in term {term}."


def _refuse_log(me, candidate, my_last_term, my_last_index, their_last_term, their_last_index):
    if my_last_term != their_last_term:
        why = f"last term {my_last_term} > {their_last_term}"
    else:
        why = f"same last term {my_last_term}, but longer: index {my_last_index} > {their_last_index}"
    return f"{me} refuses {name(candidate)}'s vote: {me}'s log is more up-to-date ({why})."


def _votes(me, voter, granted, count, needed):
    if not granted:
        return f"{me} is refused by {name(voter)}: it still has {count} of the {needed} votes it needs."
    if count > needed:
        return f"{me} gets a vote from {name(voter)} as well: {count} votes ({needed} were needed)."
    won = " — a majority" if count == needed else ""
    return f"{me} gets a vote from {name(voter)}: {count} of the {needed} votes it needs{won}."


def _leader(me, term, voters):
    return f"{me} becomes leader for term {term} with votes from {names(voters)}."


def _election(me, term):
    return f"{me} times out and starts an election for term {term}: it votes for itself and asks the others."


def _stale_reply(me, kind, src, term):
    return f"{me} ignores a late {kind} from {name(src)} (term {term}): it no longer needs it."


def _reject_term(me, leader, their_term, my_term):
    return (f"{me} rejects AppendEntries from {name(leader)}: {name(leader)}'s term {their_term} is older "
            f"than {me}'s term {my_term}; the reply tells {name(leader)} about term {my_term}.")


def _reject_same_term_leader(me, leader, term):
    return (f"{me} rejects AppendEntries from {name(leader)}: {me} is itself leader of term {term}. "
            f"Two leaders in one term can only happen with an unsafe switch on.")


def _concede(me, leader, term):
    return f"{me} hears from {name(leader)}, the leader of its term {term}: it stops its candidacy and becomes a follower."


def _retry_hint(leader, prev, hint, leader_now):
    """What comes of a rejection. A retry is promised only by a leader that
    still leads: one that crashed or was deposed will send no retry."""
    who = name(leader)
    if leader_now == "crashed":
        return f"but {who} has crashed, so no retry will come from it"
    if leader_now == "deposed":
        return f"but {who} is no longer the leader of that term, so it will not retry"
    if hint is not None:
        return f"its reply points {who} back to index {hint} (fast backup)"
    return f"when the reply reaches {who}, it retries at index {prev - 1}"


def _reject_missing(me, leader, prev_log_index, prev_log_term, my_last_index, hint, leader_now):
    return (f"{me} rejects AppendEntries from {name(leader)}: it has no entry at index {prev_log_index} with "
            f"term {prev_log_term} (its log ends at index {my_last_index}); "
            f"{_retry_hint(leader, prev_log_index, hint, leader_now)}.")


def _reject_conflict(me, leader, prev_log_index, prev_log_term, my_term, hint, leader_now):
    return (f"{me} rejects AppendEntries from {name(leader)}: it has no entry at index {prev_log_index} with "
            f"term {prev_log_term} (its entry there has term {my_term}); "
            f"{_retry_hint(leader, prev_log_index, hint, leader_now)}.")


def _accept(me, leader, prev_log_index, count):
    prev = prev_log_index
    if count == 0:
        return f"{me} accepts {name(leader)}'s heartbeat: its log matches at index {prev}; it restarts its election timer."
    return (f"{me} accepts AppendEntries from {name(leader)} carrying {span(prev + 1, prev + count)}: "
            f"its log matches at index {prev}.")


def _truncate(me, first, last, my_term, their_term):
    return (f"{me} deletes its {span(first, last)}: its entry at index {first} has term {my_term}, "
            f"the leader's has term {their_term} (a conflict), so it and all that follow go.")


def _append(me, first, last):
    return f"{me} appends {span(first, last)} to its log."


def _commit(me, old, new, holders, unsafe):
    what = span(old + 1, new)
    if holders is None:
        return f"{me} learns from the leader that its entries up to index {new} are committed (commitIndex {old} → {new})."
    stored = f"stored on {names(holders)}"
    if unsafe:
        return (f"{me} commits {what} by counting replicas ({stored}), although index {new} is not from "
                f"{me}'s current term: this is the unsafe switch of Figure 8.")
    return f"{me} commits {what}: {stored} (a majority) and from the current term."


def _apply(me, first, last):
    return f"{me} applies {span(first, last)} to its state machine."


def _match(me, peer, match_index, progressed):
    match = match_index
    if not progressed:
        return f"{me} hears {name(peer)} is up to date at index {match}."
    return f"{me} learns {name(peer)} matches its log through index {match} (matchIndex {match}, nextIndex {match + 1})."


def _retry(me, peer, next_index):
    nxt = next_index
    return f"{me} sets nextIndex for {name(peer)} to {nxt} and tries again with the entry before it (index {nxt - 1})."


def _old_term_majority(me, index, term, holders):
    return (f"Index {index} is stored on a majority ({names(holders)}), but it is from term {term}, not "
            f"{me}'s current term: {me} does not commit it by counting (Figure 8).")


def _heartbeat(me, peers):
    return f"{me} has not sent to {names(peers)} for a heartbeat interval: it sends AppendEntries."


def _propose(me, index, command):
    return f"{me} appends {command_text(command)} at index {index} of its log."


def _not_leader(me, role, leader_id):
    where = f"; it would redirect the client to {name(leader_id)}" if leader_id is not None else ""
    return f"{me} is a {role}, not the leader: it does not accept the command{where}."


def _ignored_timeout(me, role, up):
    if not up:
        return f"{me} is down: nothing runs on it, so its election timer does nothing."
    return f"{me} is the leader: it has no election timer."


_TEXT = {
    "term": _term, "grant": _grant, "refuse_term": _refuse_term, "refuse_voted": _refuse_voted,
    "refuse_log": _refuse_log, "votes": _votes, "leader": _leader, "election": _election,
    "stale_reply": _stale_reply, "reject_term": _reject_term,
    "reject_same_term_leader": _reject_same_term_leader, "concede": _concede,
    "reject_missing": _reject_missing, "reject_conflict": _reject_conflict, "accept": _accept,
    "truncate": _truncate, "append": _append, "commit": _commit, "apply": _apply, "match": _match,
    "retry": _retry, "old_term_majority": _old_term_majority, "heartbeat": _heartbeat,
    "propose": _propose, "not_leader": _not_leader, "ignored_timeout": _ignored_timeout,
}
