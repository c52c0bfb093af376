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
# tally: None, or while joint each group's (votes, needed, size): C_old's, then C_new's
Votes = note_type("Votes", "votes", "voter granted count needed tally")
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
# holders None: learned from the leader; config: the leader's configuration, when
# it is joint or leaves the leader out (else None: one plain majority)
Commit = note_type("Commit", "commit", "old new holders unsafe config")
Apply = note_type("Apply", "apply", "first last")
Match = note_type("Match", "match", "peer match_index progressed")
Retry = note_type("Retry", "retry", "peer next_index")
OldTermMajority = note_type("OldTermMajority", "old_term_majority", "index term holders")
Heartbeat = note_type("Heartbeat", "heartbeat", "peers snapshot")   # snapshot: those it sends InstallSnapshot
Propose = note_type("Propose", "propose", "index command")
NotLeader = note_type("NotLeader", "not_leader", "role leader_id")

# Clients (section 8; thesis 6): requests are the host's ids.
Answered = note_type("Answered", "answered", "request index reply")
Duplicate = note_type("Duplicate", "duplicate", "index client seq last_seq unsafe")
ReadAnswer = note_type("ReadAnswer", "read_answer", "request key value index how")   # how: read_index, local
ReadWaitsForTerm = note_type("ReadWaitsForTerm", "read_waits_for_term", "request key term last_index")
ReadIndexRound = note_type("ReadIndexRound", "read_index_round", "request key index round")
ReadLease = note_type("ReadLease", "read_lease", "request key index remaining")      # remaining: µs
ReadConfirmed = note_type("ReadConfirmed", "read_confirmed", "round requests")
ReadNextRound = note_type("ReadNextRound", "read_next_round", "request key index round outstanding")
ReadRoundLeaves = note_type("ReadRoundLeaves", "read_round_leaves", "round requests")
# lease_reads: a restarted server keeps the promise it may have made before its crash (µs)
IgnoreVoteRestarted = note_type("IgnoreVoteRestarted", "ignore_vote_restarted", "candidate term kind since lease")

# Configuration changes (section 6; thesis 4). Configurations are config.Config values.
NotVoter = note_type("NotVoter", "not_voter", "config")
StandsOutside = note_type("StandsOutside", "stands_outside", "index config")     # thesis 4.2.2
ConfigAppend = note_type("ConfigAppend", "config_append", "index config previous why")  # why: learners joint new single direct
ConfigUse = note_type("ConfigUse", "config_use", "index config fell_back")
ChangeWaits = note_type("ChangeWaits", "change_waits", "index term")
ConfigNoop = note_type("ConfigNoop", "config_noop", "index config_index")     # a new leader's no-op for its configuration
LearnerRound = note_type("LearnerRound", "learner_round", "learner round sent caught_up")
ChangeAbandoned = note_type("ChangeAbandoned", "change_abandoned", "learner rounds")
LearnerUnavailable = note_type("LearnerUnavailable", "learner_unavailable", "learner round silent")
CatchUpGoesOn = note_type("CatchUpGoesOn", "catch_up_goes_on", "learners")
StepDownRemoved = note_type("StepDownRemoved", "step_down_removed", "index config")
# Leadership transfer (thesis 3.10).
TransferStart = note_type("TransferStart", "transfer_start", "target caught_up")
TransferBusy = note_type("TransferBusy", "transfer_busy", "target")
TransferAbandoned = note_type("TransferAbandoned", "transfer_abandoned", "target")
TimeoutNowSent = note_type("TimeoutNowSent", "timeout_now_sent", "target")
TimeoutNowTaken = note_type("TimeoutNowTaken", "timeout_now_taken", "leader")
# PreVote and CheckQuorum (thesis 9.6), and ignoring votes while led (thesis 4.2.3).
PreElection = note_type("PreElection", "pre_election", "term")
PreGrant = note_type("PreGrant", "pre_grant", "candidate term")
PreRefuse = note_type("PreRefuse", "pre_refuse", "candidate term reason my_term my_last_term my_last_index "
                                                 "their_last_term their_last_index")
PreRefuseLed = note_type("PreRefuseLed", "pre_refuse_led", "candidate term leader since lease")   # times: µs
PreVotes = note_type("PreVotes", "pre_votes", "voter granted count needed tally")
IgnoreVote = note_type("IgnoreVote", "ignore_vote", "candidate term kind leader since lease")   # times: µs
QuorumHeard = note_type("QuorumHeard", "quorum_heard", "heard")
QuorumLost = note_type("QuorumLost", "quorum_lost", "heard config")
# Log compaction (section 7, Figures 12 and 13).
# every: the snapshot_every option when the server took it by itself, None when asked to
TakeSnapshot = note_type("TakeSnapshot", "snapshot", "index term first every")
NoSnapshot = note_type("NoSnapshot", "no_snapshot", "applied snapshot_index")
LoadSnapshot = note_type("LoadSnapshot", "load_snapshot", "index term")        # a restart
SendSnapshot = note_type("SendSnapshot", "send_snapshot", "peer next_index index term")
RejectSnapshotTerm = note_type("RejectSnapshotTerm", "reject_snapshot_term", "leader their_term my_term")
RejectSnapshotLeader = note_type("RejectSnapshotLeader", "reject_snapshot_leader", "leader term")
SnapshotCovered = note_type("SnapshotCovered", "snapshot_covered", "leader index my_index")
# first, last: the log indexes it held before (none if first > last); kept: its entry at
# `index` had the snapshot's term, so it kept the entries after it; applied: its lastApplied before
SnapshotInstalled = note_type("SnapshotInstalled", "install_snapshot",
                              "leader index term first last kept applied config")
CoveredEntries = note_type("CoveredEntries", "covered_entries", "leader prev_log_index snapshot_index")


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


def entry_text(entry) -> str:
    """What an entry holds: its command, a no-op, or a configuration."""
    if entry.config is not None:
        return f"the configuration {entry.config.describe()}"
    return command_text(entry.command)


def _number(me: str) -> int:
    """The server number in a name: S3 -> 3 (the sentence functions get names)."""
    return int(me[1:])


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


def _tally(tally) -> str:
    """While joint, each group's count: "1 of 3 in C_old (2 needed) and 2 of 3 in C_new (2 needed)"."""
    (o_have, o_need, o_size), (n_have, n_need, n_size) = tally
    return f"{o_have} of {o_size} in C_old ({o_need} needed) and {n_have} of {n_size} in C_new ({n_need} needed)"


def _votes(me, voter, granted, count, needed, tally):
    if tally is not None:
        if not granted:
            return f"{me} is refused by {name(voter)}: it has {_tally(tally)}."
        won = " — a majority of both" if all(h >= n for h, n, _ in tally) else ""
        return f"{me} gets a vote from {name(voter)}: {_tally(tally)}{won}."
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


def _commit(me, old, new, holders, unsafe, config):
    what = span(old + 1, new)
    if holders is None:
        return f"{me} learns from the leader that its entries up to index {new} are committed (commitIndex {old} → {new})."
    stored = f"stored on {names(holders)}"
    if unsafe:
        return (f"{me} commits {what} by counting replicas ({stored}), although index {new} is not from "
                f"{me}'s current term: this is the unsafe switch of Figure 8.")
    majority = "a majority"
    if config is not None:
        majority = f"a majority of {'each of C_old and C_new' if config.joint else 'the voters'}: {config.majorities()}"
        if _number(me) not in config.electorate:
            majority += f"; {me} is not a voter, so it does not count itself"
    return f"{me} commits {what}: {stored} ({majority}) and from the current term."


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


def _heartbeat(me, peers, snapshot=()):
    due = f"{me} has not sent to {names(peers)} for a heartbeat interval"
    if not snapshot:
        return f"{due}: it sends AppendEntries."
    rest = [p for p in peers if p not in snapshot]
    return f"{due}: it sends AppendEntries to {names(rest)}." if rest else f"{due}."


def _propose(me, index, command):
    return f"{me} appends {command_text(command)} at index {index} of its log."


def _not_leader(me, role, leader_id):
    where = f"; it would redirect the client to {name(leader_id)}" if leader_id is not None else ""
    return f"{me} is a {role}, not the leader: it does not accept the command{where}."


def _ignored_timeout(me, role, up):
    if not up:
        return f"{me} is down: nothing runs on it, so its election timer does nothing."
    # Only a leader's own timer gets here, when nothing is left for it to watch
    # (CheckQuorum turned off, say): Figure 2 gives a leader no election timer.
    return f"{me} is the leader: its timer has nothing left to watch, and stops."


def _requests(requests) -> str:
    return ("read " if len(requests) == 1 else "reads ") + ", ".join(str(r) for r in requests)


def _answered(me, request, index, reply):
    said = "" if reply is None else f": “{reply}”"
    return f"{me} has applied index {index}, so it answers request {request}{said}."


def _duplicate(me, index, client, seq, last_seq, unsafe):
    if unsafe:
        return (f"Index {index} is client {client}'s request {seq} again (its client table says request {last_seq} "
                f"was applied), but {me} applies it a second time: the unsafe switch turns deduplication off.")
    if seq == last_seq:
        return (f"Index {index} is client {client}'s request {seq} again: {me}'s state machine has already applied "
                f"it (its client table says so), so it is not applied twice, and the saved reply answers it.")
    return (f"Index {index} is client {client}'s request {seq}, older than request {last_seq} its state machine has "
            f"already applied: it is not applied again, and its reply is no longer kept.")


def _read_answer(me, request, key, value, index, how):
    seen = "nothing" if value is None else f"“{value}”"
    if how == "local":
        return (f"{me} answers read {request} of {key} from its own state at once: {seen} (UNSAFE: it has not "
                f"checked that it still leads, so the value may be stale).")
    return (f"{me} has applied up to the read index {index} and knows it still leads: it answers read {request} "
            f"of {key}: {seen}.")


def _read_waits_for_term(me, request, key, term, last_index):
    return (f"{me} has committed no entry of its term {term} yet, so it cannot know which entries are committed: "
            f"read {request} of {key} waits until one is (its no-op, index {last_index}).")


def _read_index_round(me, request, key, index, round):
    return (f"{me} takes read {request} of {key}: it records its commitIndex {index} as the read index and sends "
            f"a round of heartbeats (round {round}): if a majority answers, no newer leader can have been elected "
            f"before they left (ReadIndex).")


def _read_next_round(me, request, key, index, round, outstanding):
    return (f"{me} takes read {request} of {key} at read index {index}. Heartbeat round {outstanding} is still "
            f"out, but it left before this read arrived, so it cannot vouch for it: the read goes with round "
            f"{round}, which leaves once round {outstanding} is answered, for all the reads that arrive until then.")


def _read_round_leaves(me, round, requests):
    return f"{me} sends heartbeat round {round} for {_requests(requests)}, which waited for it."


def _read_lease(me, request, key, index, remaining):
    return (f"{me} takes read {request} of {key} at read index {index} without a heartbeat round: its lease "
            f"holds for {remaining / 1000:g} ms more, since a majority answered heartbeats that left less than "
            f"a minimum election timeout ago, and those servers will not vote for anyone else before it ends "
            f"(lease reads, thesis 6.4.1; this assumes clocks that do not drift).")


def _read_confirmed(me, round, requests):
    return (f"A majority answered heartbeat round {round}: {me} was still the leader when it left, so "
            f"{_requests(requests)} may be answered.")


def _ignore_vote_restarted(me, candidate, term, kind, since, lease):
    what = "pre-vote request" if kind == "PreVote" else "RequestVote"
    return (f"{me} ignores {name(candidate)}'s {what} for term {term}: it restarted {since / 1000:g} ms ago, "
            f"within the minimum election timeout ({lease / 1000:g} ms), and may have answered a leader's "
            f"heartbeats just before it crashed; with lease reads, that promised not to vote until then.")


def _not_voter(me, config):
    if not config.voters:
        return f"{me} knows no configuration yet: it waits for a leader to contact it and starts no election."
    if _number(me) in config.learners:
        return f"{me}'s election timer fires, but {me} is a learner: it does not vote, so it starts no election."
    return (f"{me}'s election timer fires, but {me} is not in its configuration {config.describe()}, which it knows "
            f"is committed: it is no longer needed, so it starts no election.")


def _stands_outside(me, index, config):
    return (f"{me} is not in its latest configuration {config.describe()} (index {index}), but that is not known to "
            f"be committed, so {me} may still be needed: it stands for election all the same, without counting "
            f"its own vote (thesis 4.2.2).")


def _config_append(me, index, config, previous, why):
    at = f"at index {index}"
    if why == "learners":
        new = [i for i in config.learners if i not in previous.learners]
        one = len(new) == 1
        return (f"{me} appends a configuration {at} that adds {names(new)} as "
                f"{'a learner' if one else 'learners'}: {'it receives' if one else 'they receive'} the log to catch "
                f"up, but {'does' if one else 'do'} not vote or count toward commitment yet.")
    if why == "joint":
        return (f"{me} appends C_old,new {at} ({config.change_text()}) and uses it at once: from now on "
                f"elections and commitment need a majority of both, {config.majorities()}.")
    if why == "new":
        return (f"C_old,new is committed, so {me} appends C_new {config.describe()} {at} and uses it at once: "
                f"from now on only its voters count ({config.majorities()}); once it commits, servers outside it "
                f"can be shut down.")
    if why == "direct":
        return (f"{me} switches straight from {previous.describe()} to {config.describe()} {at} (UNSAFE: servers "
                f"switch at different moments, so a majority of the old configuration and a majority of the new "
                f"one need not overlap).")
    change = set(config.voters) ^ set(previous.voters)
    verb = "adds" if set(config.voters) > set(previous.voters) else "removes"
    return (f"{me} appends {config.describe()} {at}, which {verb} {names(sorted(change))}: one server at a time, so "
            f"every majority of the old voters overlaps every majority of the new (thesis 4.1).")


def _config_use(me, index, config, fell_back):
    if fell_back:
        where = f"the entry at index {index}" if index else "its initial configuration"
        return f"{me} lost the configuration entry it was using: it falls back to {config.describe()} ({where})."
    return (f"{me} now uses {config.describe()} (index {index}), though it is not yet committed: a server always "
            f"uses the latest configuration in its log.")


def _change_waits(me, index, term):
    return (f"{me} has committed no entry of its term {term} yet, so the change waits: it appends a no-op at index "
            f"{index} and starts the change once that commits (thesis 4.1).")


def _config_noop(me, index, config_index):
    return (f"{me} does so because its latest configuration (index {config_index}) is not known to be committed: "
            f"only an entry of {me}'s own term can commit it (Figure 8), and no configuration change may finish or "
            f"start before that (thesis 4.1).")


def _learner_round(me, learner, round, sent, caught_up):
    if caught_up:
        return (f"{name(learner)} finished catch-up round {round}, which needed {sent} "
                f"entr{'y' if sent == 1 else 'ies'} (one AppendEntries at most): it has caught up and may vote.")
    return (f"{name(learner)} finished catch-up round {round} ({sent} entries): still too far behind to vote, "
            f"so {me} starts round {round + 1} with the entries added meanwhile.")


def _change_abandoned(me, learner, rounds):
    return (f"{name(learner)} has not caught up after {rounds} rounds: {me} gives up the configuration change "
            f"(thesis 4.2.1).")


def _learner_unavailable(me, learner, round, silent):
    if silent:
        return (f"{me}'s timer fires and {name(learner)}, in catch-up round {round}, has not answered for an "
                f"election timeout: {me} takes it to be unavailable and gives up the configuration change "
                f"(thesis 4.2.1).")
    return (f"{me}'s timer fires and {name(learner)} is still in catch-up round {round} after many election "
            f"timeouts: it is too slow ever to catch up, so {me} gives up the configuration change (thesis 4.2.1).")


def _catch_up_goes_on(me, learners):
    if not learners:
        return f"{me}'s timer fires: its configuration change is still under way."
    return (f"{me}'s timer fires: {names(learners)} answered in the last election timeout, so "
            f"{'its' if len(learners) == 1 else 'their'} catch-up goes on (thesis 4.2.1).")


def _step_down_removed(me, index, config):
    return (f"The configuration at index {index}, {config.describe()}, is committed and {me} is not in it: "
            f"{me} steps down. The others will elect a leader among themselves.")


def _transfer_start(me, target, caught_up):
    then = ("it is up to date, so " + me + " tells it to time out now" if caught_up
            else f"{me} first brings {name(target)}'s log up to date")
    return (f"{me} starts handing leadership to {name(target)} and stops taking client commands; {then} "
            f"(thesis 3.10).")


def _transfer_busy(me, target):
    return f"{me} is handing leadership to {name(target)}: it takes no client commands meanwhile."


def _transfer_abandoned(me, target):
    return (f"An election timeout has passed and {name(target)} has not taken over: {me} gives up the transfer "
            f"and takes client commands again.")


def _timeout_now_sent(me, target):
    return f"{name(target)}'s log matches {me}'s: {me} sends it TimeoutNow."


def _timeout_now_taken(me, leader):
    return (f"{me} gets TimeoutNow from {name(leader)}: it starts an election at once, without waiting for its "
            f"timer, and its RequestVotes say the leader asked for it.")


def _pre_election(me, term):
    return (f"{me} times out, but before raising its term it asks the others whether they would vote for it in "
            f"term {term} (PreVote): nobody's term changes yet.")


def _pre_grant(me, candidate, term):
    return (f"{me} would vote for {name(candidate)} in term {term} (its log is at least as up-to-date); "
            f"a pre-vote changes no term and records no vote.")


def _pre_refuse(me, candidate, term, reason, my_term, my_last_term, my_last_index, their_last_term,
                their_last_index):
    c = name(candidate)
    if reason == "term":
        why = f"{me} is already in term {my_term}"
    elif my_last_term != their_last_term:
        why = f"{me}'s log is more up-to-date (last term {my_last_term} > {their_last_term})"
    else:
        why = f"{me}'s log is more up-to-date (same last term, but index {my_last_index} > {their_last_index})"
    return f"{me} would not vote for {c} in term {term}: {why}. A pre-vote changes nobody's term."


def _pre_refuse_led(me, candidate, term, leader, since, lease):
    if name(leader) == me:
        heard = f"{me} is the leader"
    elif leader is None:                 # lease reads: heard before its term moved on
        heard = (f"{me} heard from a leader {since / 1000:g} ms ago, within the minimum election timeout "
                 f"({lease / 1000:g} ms)")
    else:
        heard = (f"{me} heard from leader {name(leader)} {since / 1000:g} ms ago, within the minimum election "
                 f"timeout ({lease / 1000:g} ms)")
    return (f"{me} would not vote for {name(candidate)} in term {term}: {heard}, so there is no need for an "
            f"election (PreVote, thesis 9.6). Nobody's term changes.")


def _pre_votes(me, voter, granted, count, needed, tally):
    if tally is not None:
        have = _tally(tally)
    else:
        have = f"{count} of the {needed} it needs"
    if not granted:
        return f"{name(voter)} would not vote for {me}: {me} has {have}."
    if (tally is None and count >= needed) or (tally is not None and all(h >= n for h, n, _ in tally)):
        return f"{name(voter)} would vote for {me}: {have}, enough to win, so {me} starts the real election."
    return f"{name(voter)} would vote for {me}: {have}."


def _ignore_vote(me, candidate, term, kind, leader, since, lease):
    what = "pre-vote request" if kind == "PreVote" else "RequestVote"
    if name(leader) == me:
        heard = f"{me} is the leader"
    elif leader is None:
        heard = (f"it heard from a leader {since / 1000:g} ms ago, within the minimum election timeout "
                 f"({lease / 1000:g} ms), and with lease reads that holds even though its term has moved on since")
    else:
        heard = (f"it heard from leader {name(leader)} {since / 1000:g} ms ago, within the minimum election "
                 f"timeout ({lease / 1000:g} ms)")
    return (f"{me} ignores {name(candidate)}'s {what} for term {term}: {heard}, so it neither moves to term "
            f"{term} nor votes (thesis 4.2.3).")


def _quorum_heard(me, heard):
    others = [i for i in heard if name(i) != me]
    return (f"{me} checks its quorum: it heard from {names(others)} in the last election timeout, with itself a "
            f"majority: it stays leader (CheckQuorum).")


def _quorum_lost(me, heard, config):
    others = [i for i in heard if name(i) != me]
    heard_from = f"only from {names(others)}" if others else "from no other server"
    return (f"{me} checks its quorum: in the last election timeout it heard {heard_from}; with itself that is "
            f"no majority ({config.majorities()} needed): it steps down (CheckQuorum), since the others may have "
            f"elected a new leader.")


def _take_snapshot(me, index, term, first, every):
    what = (f"it writes its state machine to a snapshot through index {index} (term {term}) and discards its log "
            f"{span(first, index)}, which the snapshot replaces (section 7)")
    if every is not None:
        count = index - first + 1
        since = "since its last snapshot" if first > 1 else "and has no snapshot yet"
        return f"{me} has applied {count} entr{'y' if count == 1 else 'ies'} {since} (snapshot every {every}): {what}."
    return f"{me} has applied up to index {index}: {what}."


def _no_snapshot(me, applied, snapshot_index):
    return (f"{me} has applied nothing beyond its snapshot (through index {snapshot_index}): there is nothing to "
            f"compact.")


def _load_snapshot(me, index, term):
    return (f"{me} loads its snapshot (through index {index}, term {term}): its state machine starts from it, and "
            f"its commitIndex and lastApplied from {index}, since a snapshot holds only committed entries.")


def _send_snapshot(me, peer, next_index, index, term):
    return (f"{me}'s nextIndex for {name(peer)} is {next_index}, but {me} has discarded that entry: its snapshot "
            f"replaces indexes up to {index} (term {term}). {me} sends {name(peer)} InstallSnapshot instead of "
            f"AppendEntries (Figure 13).")


def _reject_snapshot_term(me, leader, their_term, my_term):
    return (f"{me} rejects InstallSnapshot from {name(leader)}: {name(leader)}'s term {their_term} is older than "
            f"{me}'s term {my_term}; the reply tells {name(leader)} about term {my_term}.")


def _reject_snapshot_leader(me, leader, term):
    return (f"{me} ignores InstallSnapshot from {name(leader)}: {me} is itself leader of term {term}. Two leaders in "
            f"one term can only happen with an unsafe switch on.")


def _snapshot_covered(me, leader, index, my_index):
    return (f"{me} already has a snapshot through index {my_index}, which covers {name(leader)}'s (through index "
            f"{index}): it keeps its own and replies.")


def _install_snapshot(me, leader, index, term, first, last, kept, applied, config):
    held = f"its {span(first, last)}" if first <= last else "no entries beyond its own snapshot"
    head = f"{me} installs {name(leader)}'s snapshot through index {index} (term {term})"
    if kept:
        after = (f"keeps {span(index + 1, last)}, which follow it" if last > index
                 else "has no entries after it")
        log = (f"its own entry at index {index} has the same term, so the entries after it are still valid: it "
               f"discards {span(first, index)}, which the snapshot covers, and {after}")
    elif first <= last and last > index:
        log = (f"it discards its whole log ({held}): the snapshot supersedes it, and entries beyond index {index} "
               f"may conflict with it")
    elif first <= last:
        log = f"it discards its whole log ({held}): the snapshot supersedes it"
    else:
        log = f"it held {held}"
    if kept and applied >= index:
        machine = f"It had already applied up to index {applied}, so its state machine stays."
    else:
        had = f"it had applied up to index {applied}" if applied else "it had applied nothing"
        machine = (f"It loads the snapshot's state machine and its configuration, {config.describe()} ({had}); its "
                   f"commitIndex and lastApplied become {index}.")
    return f"{head}: {log}. {machine}"


def _covered_entries(me, leader, prev_log_index, snapshot_index):
    return (f"{me}'s snapshot already covers indexes up to {snapshot_index}, beyond this AppendEntries' previous "
            f"index {prev_log_index}: those entries are committed, so they match the leader's; {me} checks only what "
            f"comes after them.")


_TEXT = {
    "answered": _answered, "duplicate": _duplicate, "read_answer": _read_answer,
    "read_waits_for_term": _read_waits_for_term, "read_index_round": _read_index_round,
    "read_lease": _read_lease, "read_confirmed": _read_confirmed, "read_next_round": _read_next_round,
    "read_round_leaves": _read_round_leaves, "ignore_vote_restarted": _ignore_vote_restarted,
    "term": _term, "grant": _grant, "refuse_term": _refuse_term, "refuse_voted": _refuse_voted,
    "refuse_log": _refuse_log, "votes": _votes, "leader": _leader, "election": _election,
    "stale_reply": _stale_reply, "reject_term": _reject_term,
    "reject_same_term_leader": _reject_same_term_leader, "concede": _concede,
    "reject_missing": _reject_missing, "reject_conflict": _reject_conflict, "accept": _accept,
    "truncate": _truncate, "append": _append, "commit": _commit, "apply": _apply, "match": _match,
    "retry": _retry, "old_term_majority": _old_term_majority, "heartbeat": _heartbeat,
    "propose": _propose, "not_leader": _not_leader, "ignored_timeout": _ignored_timeout,
    "not_voter": _not_voter, "stands_outside": _stands_outside, "config_append": _config_append, "config_use": _config_use,
    "change_waits": _change_waits, "config_noop": _config_noop, "learner_round": _learner_round, "change_abandoned": _change_abandoned,
    "learner_unavailable": _learner_unavailable, "catch_up_goes_on": _catch_up_goes_on,
    "step_down_removed": _step_down_removed, "transfer_start": _transfer_start, "transfer_busy": _transfer_busy,
    "transfer_abandoned": _transfer_abandoned, "timeout_now_sent": _timeout_now_sent,
    "timeout_now_taken": _timeout_now_taken, "pre_election": _pre_election, "pre_grant": _pre_grant,
    "pre_refuse": _pre_refuse, "pre_refuse_led": _pre_refuse_led, "pre_votes": _pre_votes, "ignore_vote": _ignore_vote,
    "quorum_heard": _quorum_heard, "quorum_lost": _quorum_lost,
    "snapshot": _take_snapshot, "no_snapshot": _no_snapshot, "send_snapshot": _send_snapshot,
    "load_snapshot": _load_snapshot,
    "reject_snapshot_term": _reject_snapshot_term, "reject_snapshot_leader": _reject_snapshot_leader,
    "snapshot_covered": _snapshot_covered, "install_snapshot": _install_snapshot,
    "covered_entries": _covered_entries,
}
