"""Plain-language explanations of a node's decisions.

A Node returns notes: tuples whose first item names the decision and whose
other items are its facts, e.g. ("refuse_log", 5, 3, 7, 0, 0). Keeping them
as data is cheap (nothing is formatted while the cluster runs) and lets the
safety monitor and the view use the facts directly. describe() turns one
into a sentence in the words of the lectures.
"""
from __future__ import annotations


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
    return _TEXT[note[0]](name(me), *note[1:])


def _term(me, old, new, src, was):
    seen = f" in a message from {name(src)}" if src is not None else ""
    if was == "follower":
        return f"{me} sees term {new}{seen} and moves up from term {old}."
    return (f"{me} sees term {new}{seen}, newer than its term {old}: "
            f"it stops being {was} and becomes a follower.")


def _grant(me, cand, term, unsafe):
    extra = (" without checking whose log is more up-to-date (unsafe switch)" if unsafe else "")
    return f"{me} grants its vote to {name(cand)} for term {term}{extra} and restarts its election timer."


def _refuse_term(me, cand, cand_term, my_term):
    return f"{me} refuses {name(cand)}'s vote: {name(cand)}'s term {cand_term} is older than {me}'s term {my_term}."


def _refuse_voted(me, cand, voted_for, term):
    who = "itself" if name(voted_for) == me else name(voted_for)
    return f"{me} refuses {name(cand)}'s vote: {me} already voted for {who} in term {term}."


def _refuse_log(me, cand, my_term, my_index, their_term, their_index):
    if my_term != their_term:
        why = f"last term {my_term} > {their_term}"
    else:
        why = f"same last term {my_term}, but longer: index {my_index} > {their_index}"
    return f"{me} refuses {name(cand)}'s vote: {me}'s log is more up-to-date ({why})."


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


def _retry_hint(leader, prev, hint):
    if hint is not None:
        return f"its reply points {name(leader)} back to index {hint} (fast backup)"
    return f"{name(leader)} will retry at index {prev - 1}"


def _reject_missing(me, leader, prev, prev_term, my_last, hint):
    return (f"{me} rejects AppendEntries from {name(leader)}: it has no entry at index {prev} with term "
            f"{prev_term} (its log ends at index {my_last}); {_retry_hint(leader, prev, hint)}.")


def _reject_conflict(me, leader, prev, prev_term, mine, hint):
    return (f"{me} rejects AppendEntries from {name(leader)}: it has no entry at index {prev} with term "
            f"{prev_term} (its entry there has term {mine}); {_retry_hint(leader, prev, hint)}.")


def _accept(me, leader, prev, count):
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


def _match(me, peer, match, progressed):
    if not progressed:
        return f"{me} hears {name(peer)} is up to date at index {match}."
    return f"{me} learns {name(peer)} matches its log through index {match} (matchIndex {match}, nextIndex {match + 1})."


def _retry(me, peer, nxt):
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


def _ignored_timeout(me, role):
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
