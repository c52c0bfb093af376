"""Initial states for Cluster.from_state: checked and put in normal form.

    {"nodes": [{"id": 1, "term": 3, "log": [1, 1, {"term": 2, "command": "x=1"}],
                "voted_for": None, "role": "follower", "commit_index": 0, "up": True}, ...]}

Omitted fields take defaults. Beyond the issue's fields, a node may give
"timer" (its first election deadline, ms) and, for a leader, "next_index"
and "match_index" ({peer: value}), so a lecture case can start exactly
where the slide does. A node may start with a snapshot (section 7):
"snapshot": {"index": 5, "term": 3, "store": {"x": "0"}, "config": {...}}
(config optional: by default the initial configuration), and then its
"log" holds the entries after it, from index 6. A state that no Raft cluster could be in is refused
with the reason, naming the servers and the rule: terms that decrease along
a log, an entry newer than its server's term, two leaders of one term, two
logs that break Log Matching, an entry of a leader's term the leader lacks,
a vote no election could have given (docs/scenarios.md lists them all).
"""
from __future__ import annotations

from ..raft import CANDIDATE, FOLLOWER, LEADER, Entry, kv
from ..raft.config import EMPTY, Config
from ..raft.messages import Snapshot
from .actions import MAX_COMMAND, MAX_NODES, MIN_NODES, Where, check_servers, is_int
from .quote import quote, quote_names

MAX_LOG = 10_000
MAX_KEYS = 1_000                 # keys in a snapshot's store
NODE_FIELDS = {"id", "term", "log", "voted_for", "role", "commit_index", "up", "timer",
               "next_index", "match_index", "snapshot"}
SNAPSHOT_FIELDS = {"index", "term", "store", "config"}


# ----- a node's log with its snapshot, by absolute index ------------------------------------
# n["log"] holds the entries after n["snapshot"] (a messages.Snapshot, when there is one).

def _off(n: dict) -> int:
    """The snapshot's last included index (0 without one): the log starts after it."""
    snap = n.get("snapshot")
    return snap.index if snap is not None else 0


def _last(n: dict) -> int:
    return _off(n) + len(n["log"])


def _term(n: dict, k: int) -> int | None:
    """The term at index k: 0 at index 0, the snapshot's at its index, None
    where the snapshot compacted it or past the end."""
    off = _off(n)
    if k > off:
        return n["log"][k - off - 1].term if k - off <= len(n["log"]) else None
    if k == off:
        return n["snapshot"].term if off else 0
    return None


def _holds(n: dict, k: int, term: int) -> bool:
    """Does n hold the entry of `term` at index k? An index its snapshot
    compacted it holds committed, hence the same entry as everyone (Log
    Matching and State Machine Safety): it counts."""
    return k < _off(n) or _term(n, k) == term


def _config_upto(n: dict, k: int, initial: Config) -> tuple[int, Config]:
    """(index, configuration) n uses at index k: the latest configuration entry
    up to k, else its snapshot's, else `initial` (index 0)."""
    off, log = _off(n), n["log"]
    for j in range(min(k, _last(n)) - off, 0, -1):
        if log[j - 1].config is not None:
            return j + off, log[j - 1].config
    snap = n.get("snapshot")
    if snap is not None:
        return snap.config_index, snap.config
    return 0, initial


def _entry(item, where: str, ids) -> Entry:
    config = client = seq = None
    if is_int(item):
        term, command = item, None
    elif isinstance(item, dict):
        unknown = set(item) - {"term", "command", "config", "client", "seq"}
        if unknown:
            raise ValueError(f"{where}: a log entry has only a term and a command (with its client and seq) "
                             f"or a config, not {quote_names(unknown)}.")
        client, seq = item.get("client"), item.get("seq")
        if (client is None) != (seq is None) or any(v is not None and (not is_int(v) or v < 1) for v in (client, seq)):
            raise ValueError(f"{where}: a client's command gives both its client and its seq, whole numbers from 1.")
        term, command = item.get("term"), item.get("command")
        if command is not None and (not isinstance(command, str) or len(command) > MAX_COMMAND):
            raise ValueError(f"{where}: a command must be text of at most {MAX_COMMAND} characters.")
        if item.get("config") is not None:
            if command is not None:
                raise ValueError(f"{where}: an entry holds a command or a configuration, not both.")
            config = _config(item["config"], where, ids)
    else:
        raise ValueError(f"{where}: a log entry is a term (a number) or {{\"term\": ..., \"command\": ...}}.")
    if not is_int(term) or term < 1:
        raise ValueError(f"{where}: a log entry's term must be a whole number of at least 1.")
    if client is not None and command is None:
        raise ValueError(f"{where}: only a command can carry a client and a seq.")
    return Entry(term, command, config, client, seq)


def _config(raw, where: str, ids) -> Config:
    """A configuration entry's {"voters": [...], "old_voters": [...] or null, "learners": [...]}."""
    if not isinstance(raw, dict) or set(raw) - {"voters", "old_voters", "learners"}:
        raise ValueError(f"{where}: a configuration is {{\"voters\": [...], \"old_voters\": [...] or null, "
                         f"\"learners\": [...]}}.")
    size = Where(max(ids))
    try:
        voters = check_servers(raw.get("voters"), size)
        old = check_servers(raw["old_voters"], size) if raw.get("old_voters") is not None else None
        learners = check_servers(raw["learners"], size) if raw.get("learners") else []
    except ValueError as e:
        raise ValueError(f"{where}: {e}") from None
    if set(learners) & (set(voters) | set(old or ())):
        raise ValueError(f"{where}: a learner is a server that does not vote; it cannot also be a voter.")
    return Config.of(voters, old, learners)


def members_of(state, members, size: int) -> Config:
    """The initial configuration: `members`, the state's "members", or everyone."""
    if members is None and isinstance(state, dict):
        members = state.get("members")
    if members is None:
        return Config.of(range(1, size + 1))
    try:
        return Config.of(check_servers(members, Where(size)))
    except ValueError as e:
        raise ValueError(f"members: {e}") from None


def _countable(config: Config, at: int, index: int, holders: set) -> bool:
    """Could the leader that committed `index` have counted `holders` as a
    majority? It used `config` (the latest at or before `index`, found at
    `at`), or the next configuration, which it may already have appended
    after `at` committed (one change at a time), so only if at < index:
    C_new after C_old,new, or after a plain configuration one server more or
    fewer (thesis 4.1; C_old,new itself needs a majority of `config`)."""
    if config.quorum(holders):
        return True
    if at >= index:
        return False
    if config.joint:
        return Config.of(config.voters).quorum(holders)
    voters = set(config.voters)
    fewer = [voters - {s} for s in voters - holders if len(voters) > 1]
    more = [voters | {s} for s in holders - voters]
    return any(Config.of(v).quorum(holders) for v in fewer + more)


def _peer_map(value, me: int, ids, what: str, lo: int, hi: int) -> dict[int, int]:
    if not isinstance(value, dict):
        raise ValueError(f"S{me}: {what} must map each other server to a number.")
    out = {}
    for key, v in value.items():
        try:
            peer = int(key)
        except (TypeError, ValueError):
            raise ValueError(f"S{me}: {what} names an unknown server {quote(key)}.") from None
        if peer not in ids or peer == me:
            raise ValueError(f"S{me}: {what} names an unknown server {quote(key)}.")
        if not is_int(v) or not lo <= v <= hi:
            raise ValueError(f"S{me}: {what} for S{peer} must be a whole number from {lo} to {hi}.")
        out[peer] = v
    return out


def parse(state, members=None) -> list[dict]:
    """Check an initial state; return its nodes in normal form, by id.
    members: the initial voters, when not all (also the state's "members")."""
    if not isinstance(state, dict) or not isinstance(state.get("nodes"), list):
        raise ValueError("An initial state needs a list of nodes: {\"nodes\": [{\"id\": 1, ...}, ...]}.")
    unknown = set(state) - {"nodes", "members"}
    if unknown:
        raise ValueError(f"An initial state has nodes and members only, not {quote_names(unknown)}.")
    raw = state["nodes"]
    if not MIN_NODES <= len(raw) <= MAX_NODES:
        raise ValueError(f"A cluster has {MIN_NODES} to {MAX_NODES} servers.")
    ids = set(range(1, len(raw) + 1))
    nodes = {}
    for spec in raw:
        if not isinstance(spec, dict):
            raise ValueError("Each node must be an object with an id.")
        i = spec.get("id")
        if not is_int(i) or i not in ids:
            raise ValueError(f"Node ids must be 1 to {len(raw)}, each once; got {quote(i)}.")
        if i in nodes:
            raise ValueError(f"S{i} appears twice.")
        unknown = set(spec) - NODE_FIELDS
        if unknown:
            raise ValueError(f"S{i}: unknown field {quote_names(unknown)}. "
                             f"Known fields: {', '.join(sorted(NODE_FIELDS))}.")
        nodes[i] = _node(spec, i, ids)
    initial = members_of(state, members, len(raw))
    for n in nodes.values():
        snap = n.get("snapshot")
        if snap is not None and snap.config is None:
            # By default a snapshot holds the initial configuration (no configuration entry before it).
            n["snapshot"] = snap._replace(config=initial, config_index=0)
    for n in nodes.values():
        _check_progress(n, nodes, initial)
        _check_commit(n, nodes, initial)
    leaders = {}
    for n in nodes.values():
        if n["role"] == LEADER:
            if n["term"] in leaders:
                raise ValueError(f"S{leaders[n['term']]} and S{n['id']} cannot both lead term {n['term']}.")
            leaders[n["term"]] = n["id"]
    _check_log_matching(nodes)
    for n in nodes.values():
        if n["role"] == LEADER:
            _check_leader_entries(n, nodes)
    for n in nodes.values():
        _check_vote(n, nodes)
    for n in nodes.values():                       # after the votes: a wrong vote is the sharper sentence
        if n["role"] == LEADER:
            _check_elected(n, nodes, initial)
    _check_snapshots(nodes)
    return [nodes[i] for i in sorted(nodes)]


def _check_elected(leader: dict, nodes: dict, initial: Config) -> None:
    """A leader of term T won a majority of votes in T. A voter moved to term T
    then and remembers its vote (votedFor is persistent), so a server still
    below T cannot have voted, nor one in T whose votedFor is not the leader.
    Servers above T may have voted for it before moving on. The majority is
    that of a configuration the leader has used (its latest, or an earlier
    one: it may have appended a new configuration since it won)."""
    term, me = leader["term"], leader["id"]
    possible = {n["id"] for n in nodes.values()
                if n["term"] > term or (n["term"] == term and n["voted_for"] == me) or n["id"] == me}
    # It won with the configuration it used then: the latest among its entries
    # of earlier terms (those of its own term it appended as leader). A server
    # outside the initial members starts knowing no configuration (as if added).
    _, config = _config_before_term(leader, term, initial if me in initial.voters else EMPTY)
    if not config.voters:
        raise ValueError(f"S{me} cannot lead term {term}: it is not one of the initial members and its log holds "
                         f"no configuration entry from before term {term}, so it knew no configuration and cannot "
                         f"have stood for election.")
    if not config.quorum(possible):
        others = [i for i in config.electorate if i not in possible]
        raise ValueError(f"S{me} cannot lead term {term}: it needs the votes of {config.majorities()}, "
                         f"but {_names_of(others)} could not have voted for it (still in an earlier term, or in term "
                         f"{term} without voted_for: {me}).")


def _names_of(ids) -> str:
    ids = [f"S{i}" for i in sorted(ids)]
    return ids[0] if len(ids) == 1 else ", ".join(ids[:-1]) + " and " + ids[-1]


def _check_log_matching(nodes: dict) -> None:
    """Log Matching (Figure 3): if two logs contain an entry with the same
    index and term, the logs are identical in all entries up through that
    index. (Only the leader of a term writes entries of that term, one per
    index, and a follower accepts entries only after the entry before them.)
    Commands are compared where both servers give one. Logs are compared
    where both are known: from the later of their snapshots (whose last
    included index and term count as an entry whose command is unknown).
    The comparisons run on whole slices, so 9 logs of 10,000 entries take
    milliseconds."""
    ids = sorted(nodes)
    known = {}                        # id -> (first known index, its terms, its entries; None: not known)
    for i in ids:
        n = nodes[i]
        snap = n.get("snapshot")
        known[i] = (_off(n), [snap.term if snap is not None else 0] + [e.term for e in n["log"]], [None] + n["log"])
    for x, a in enumerate(ids):
        for b in ids[x + 1:]:
            (oa, fa, ga), (ob, fb, gb) = known[a], known[b]
            lo = max(oa, ob)
            m = min(oa + len(fa), ob + len(fb)) - lo          # how many indexes both know, from lo
            if m <= 0:
                continue
            a0, b0 = lo - oa, lo - ob
            ta, tb, la, lb = fa[a0:a0 + m], fb[b0:b0 + m], ga[a0:a0 + m], gb[b0:b0 + m]
            if la == lb:
                continue
            lo_, hi = 0, m                # d: the first position (index lo + d) where the terms differ, or m
            while lo_ < hi:
                mid = (lo_ + hi) // 2
                if ta[:mid + 1] == tb[:mid + 1]:
                    lo_ = mid + 1
                else:
                    hi = mid
            d = lo_
            # Same terms up to d: where both give a command, it must be the same one.
            for k in range(d) if la[:d] != lb[:d] else ():
                ea, eb = la[k], lb[k]
                if ea is not None and eb is not None and ea != eb and ea.command is not None \
                        and eb.command is not None:
                    raise ValueError(
                        f"S{a} and S{b} both hold an entry of term {ea.term} at index {lo + k}, with different "
                        f"commands ({quote(ea.command, 30)} and {quote(eb.command, 30)}): impossible, only the "
                        f"leader of term {ea.term} writes entries of that term, one per index.")
            same = list(map(int.__eq__, ta[d + 1:m], tb[d + 1:m]))
            if True in same:
                k = d + 1 + same.index(True)
                raise ValueError(
                    f"S{a} and S{b} both hold an entry of term {ta[k]} at index {lo + k}, but differ at "
                    f"index {lo + d} (term {ta[d]} on S{a}, term {tb[d]} on S{b}): impossible by "
                    f"Log Matching, two logs with an entry of the same index and term hold the same "
                    f"entries before it.")


def _check_snapshots(nodes: dict) -> None:
    """A snapshot is the state machine after its entries, so it must be what
    those entries give where another server shows them all with their
    commands (Log Matching makes them the same entries); and two snapshots
    of one index and term hold the same state."""
    for a in nodes.values():
        snap = a.get("snapshot")
        if snap is None:
            continue
        for b in nodes.values():
            if b is a:
                continue
            other = b.get("snapshot")
            if other is not None and (other.index, other.term) == (snap.index, snap.term) \
                    and other.store != snap.store:
                raise ValueError(f"S{a['id']} and S{b['id']} both hold a snapshot through index {snap.index} "
                                 f"(term {snap.term}), with different state machines: impossible, both are the "
                                 f"state after the same entries.")
            if _off(b) or _term(b, snap.index) != snap.term:
                continue
            entries = b["log"][:snap.index]
            if any(e.command is None and e.config is None for e in entries):
                continue                  # some entry is given by its term only: its command is unknown
            store: dict = {}
            for e in entries:
                kv.apply(store, e.command)
            if store != snap.store:
                raise ValueError(f"S{a['id']}'s snapshot through index {snap.index} holds {_store_text(snap.store)}, "
                                 f"but S{b['id']}'s entries 1–{snap.index}, the same entries by Log Matching, give "
                                 f"{_store_text(store)}: a snapshot is the state machine after its entries.")


def _store_text(store: dict) -> str:
    if not store:
        return "nothing"
    text = ", ".join(f"{k}={v}" for k, v in sorted(store.items()))
    return quote(text, 60)[1:-1] if len(text) > 60 else text


def _check_leader_entries(leader: dict, nodes: dict) -> None:
    """Entries of term T are created only by the leader of term T, and a
    leader never deletes or overwrites its own entries (Leader Append-Only):
    while it still leads, every entry of its term anywhere is in its log
    (or in its snapshot, where it cannot be looked at)."""
    t, me = leader["term"], leader["id"]
    compacted = _off(leader)
    for n in nodes.values():
        off = _off(n)
        found = [(k, e.term) for k, e in enumerate(n["log"], off + 1) if e.term == t]
        if off and n["snapshot"].term == t:
            found.insert(0, (off, t))
        for k, _ in found:
            theirs = _term(leader, k)
            if theirs != t and k >= compacted:
                raise ValueError(
                    f"S{n['id']} holds an entry of term {t} at index {k}, but S{me}, the leader of term "
                    f"{t}, has {'no entry' if theirs is None else 'an entry of term %d' % theirs} there: "
                    f"only the leader of a term writes entries of that term, and it never deletes its own.")


def _last_before(n: dict, term: int) -> tuple[int, int] | None:
    """What RequestVote compares (section 5.4.1), the last entry's term and
    index, for n's entries of terms before `term` (a prefix: terms never
    decrease along a log); None when a snapshot hides where they end."""
    log = n["log"]
    k = len(log)
    while k and log[k - 1].term >= term:
        k -= 1
    if k:
        return log[k - 1].term, _off(n) + k
    snap = n.get("snapshot")
    if snap is None:
        return 0, 0
    return (snap.term, snap.index) if snap.term < term else None


def _config_before_term(n: dict, term: int, initial: Config) -> tuple[int, Config]:
    """The configuration n used before it wrote entries of `term`: the latest
    among its entries of earlier terms, else its snapshot's (as close as one
    can tell), else `initial`."""
    log, off = n["log"], _off(n)
    k = len(log)
    while k and log[k - 1].term >= term:
        k -= 1
    return _config_upto(n, off + k, initial)


def _where(last: tuple[int, int]) -> str:
    return f"end at index {last[1]} (term {last[0]})" if last[1] else "are none"


def _check_vote(voter: dict, nodes: dict) -> None:
    """A voted_for that no election could have produced. Let V be in term T
    with voted_for C (C another server).

    - C asked for V's vote in term T, so C's term is at least T.
    - If C leads term T now, then when V granted its vote, C's log as
      carried in its RequestVote was at least as up-to-date as V's log, and
      both held only entries of terms before T. Since then: C, a candidate
      and then the leader, has only appended entries of term T; V, still in
      term T, has changed its log only on AppendEntries from the one leader
      of term T, C, which leaves V's log unchanged, extends it along C's log,
      or cuts it to a prefix of C's log. None of these can make V's entries
      of terms before T more up-to-date than C's. So V's entries of terms
      before T must be at most as up-to-date as C's entries of terms before T.

    (If C is not the leader of term T now, another leader of term T may have
    rewritten V's log or C's, or a later leader C's: no such conclusion holds,
    and none is drawn.)"""
    c, me, t = voter["voted_for"], voter["id"], voter["term"]
    if c is None or c == me:
        return
    cand = nodes[c]
    if cand["term"] < t:
        raise ValueError(
            f"S{me} cannot have voted for S{c} in term {t}: S{c} is only in term {cand['term']}, but a server "
            f"asks for votes in its own term, and terms never go down.")
    if cand["role"] != LEADER or cand["term"] != t:
        return
    mine, theirs = _last_before(voter, t), _last_before(cand, t)
    if mine is None or theirs is None:
        return                     # a snapshot holds entries of term t: where those before it end is not known
    if mine > theirs:
        raise ValueError(
            f"S{me} cannot have voted for S{c}, the leader of term {t}: a server grants its vote only to a "
            f"candidate whose log is at least as up-to-date as its own (last term first, then length), and "
            f"S{me}'s entries from before term {t} {_where(mine)}, beyond S{c}'s, which {_where(theirs)}. "
            f"S{c} has not changed those since it asked, and S{me} could only have received entries from S{c}.")


def _check_commit(node: dict, nodes: dict, initial: Config) -> None:
    """An entry is committed only once a majority of the voters store it
    (and Raft never removes a committed entry), so a commit index says that
    a majority holds the same entry there: a majority of the configuration
    in force at that entry, or of the next one its leader may have been
    using (_countable). (All servers' logs agree up to a committed index, so
    the one in force is the cluster's initial configuration until the log
    names one.)"""
    c = node["commit_index"]
    if c == 0:
        return
    term = _term(node, c)              # known: a commit index is never below the snapshot's
    holders = {n["id"] for n in nodes.values() if _holds(n, c, term)}
    at, config = _config_upto(node, c, initial)
    if not _countable(config, at, c, holders):
        raise ValueError(f"S{node['id']}'s commit_index {c} is impossible: an entry is committed only once a "
                         f"majority of the voters ({config.majorities()}, or of the next configuration its leader "
                         f"may already have used) stores it, but only "
                         f"{_names_of(holders) if holders else 'no server'} {'has' if len(holders) == 1 else 'have'} "
                         f"term {term} at index {c}.")


def _check_progress(leader: dict, nodes: dict, initial: Config) -> None:
    """A leader keeps nextIndex and matchIndex for the servers it replicates
    to: those of its configuration. Its matchIndex for a follower claims the
    follower's log equals its own up to there; and nextIndex is past matchIndex."""
    match, nxt = leader.get("match_index", {}), leader.get("next_index", {})
    _, config = _config_upto(leader, _last(leader), initial if leader["id"] in initial.voters else EMPTY)
    for key, table in (("next_index", nxt), ("match_index", match)):
        outside = sorted(p for p in table if p not in config.members)
        if outside:
            raise ValueError(f"S{leader['id']}: {key} names {_names_of(outside)}, outside its configuration "
                             f"{config.describe()}: a leader keeps them only for the servers it replicates to.")
    for peer, m in match.items():
        if m >= nxt.get(peer, _last(leader) + 1):
            raise ValueError(f"S{leader['id']}: next_index for S{peer} must be above its match_index ({m}).")
        if not _agree(nodes[peer], leader, m):
            raise ValueError(f"S{leader['id']}: match_index {m} for S{peer} says S{peer}'s log equals "
                             f"S{leader['id']}'s up to index {m}, but it does not.")


def _agree(a: dict, b: dict, m: int) -> bool:
    """Do a's and b's logs hold the same entries up to index m, as far as
    both are known (a snapshot's entries are committed, so the same)?"""
    if _last(a) < m or _last(b) < m:
        return False
    lo = max(_off(a), _off(b))
    if lo > m:
        return True
    if _term(a, lo) != _term(b, lo):
        return False
    la, lb = a["log"], b["log"]
    return la[lo - _off(a):m - _off(a)] == lb[lo - _off(b):m - _off(b)]


def _snapshot(raw, i: int, term: int, ids) -> Snapshot:
    """A snapshot in a from_state node: {index, term, store, config}. Its
    configuration is None until parse() knows the initial one (the default)."""
    if not isinstance(raw, dict) or set(raw) - SNAPSHOT_FIELDS:
        extra = "" if not isinstance(raw, dict) else ", not " + quote_names(set(raw) - SNAPSHOT_FIELDS)
        raise ValueError(f"S{i}: a snapshot is {{\"index\": 5, \"term\": 3, \"store\": {{\"x\": \"0\"}}, "
                         f"\"config\": ...}}{extra}.")
    index, sterm = raw.get("index"), raw.get("term")
    if not is_int(index) or not 1 <= index <= MAX_LOG:
        raise ValueError(f"S{i}: a snapshot's index (its last included index) must be a whole number from 1 to "
                         f"{MAX_LOG}.")
    if not is_int(sterm) or sterm < 1:
        raise ValueError(f"S{i}: a snapshot's term (the term of its last included entry) must be a whole number of "
                         f"at least 1.")
    if sterm > term:
        raise ValueError(f"S{i}'s snapshot ends with an entry of term {sterm}, but S{i} is only in term {term}: a "
                         f"server's term is at least that of every entry it stores.")
    store = raw.get("store", {})
    if store is None:
        store = {}
    if not isinstance(store, dict) or len(store) > MAX_KEYS:
        raise ValueError(f"S{i}: a snapshot's store maps keys to values, e.g. {{\"x\": \"0\"}}, with at most "
                         f"{MAX_KEYS} keys.")
    machine = {}
    for key, value in store.items():
        if isinstance(value, bool) or not isinstance(value, (str, int, float)) or not isinstance(key, (str, int)) \
                or isinstance(key, bool):
            raise ValueError(f"S{i}: a snapshot's store maps keys to text values, e.g. {{\"x\": \"0\"}}; "
                             f"{quote(key)} does not.")
        key, value = str(key), str(value)
        if not key or " " in key or len(key) > MAX_COMMAND or len(value) > MAX_COMMAND or not value.isprintable():
            raise ValueError(f"S{i}: a snapshot's store holds keys without spaces and values of printable text, "
                             f"each at most {MAX_COMMAND} characters; {quote(key)} is not one.")
        machine[key] = value
    config = _config(raw["config"], f"S{i}'s snapshot", ids) if raw.get("config") is not None else None
    return Snapshot(index, sterm, config, index if config is not None else 0, machine, {})


def _node(spec: dict, i: int, ids) -> dict:
    term = spec.get("term", 0)
    if not is_int(term) or term < 0:
        raise ValueError(f"S{i}: term must be a whole number, 0 or more.")
    snapshot = _snapshot(spec["snapshot"], i, term, ids) if spec.get("snapshot") is not None else None
    off = snapshot.index if snapshot is not None else 0
    log_items = spec.get("log", [])
    if not isinstance(log_items, list) or len(log_items) > MAX_LOG:
        raise ValueError(f"S{i}: log must be a list of at most {MAX_LOG} entries.")
    log = [_entry(item, f"S{i} index {k}", ids) for k, item in enumerate(log_items, off + 1)]
    for k in range(1, len(log)):
        if log[k].term < log[k - 1].term:
            raise ValueError(f"S{i}'s log is impossible: terms never decrease along a log, but index {off + k + 1} "
                             f"has term {log[k].term} after term {log[k - 1].term}.")
    if snapshot is not None and log and log[0].term < snapshot.term:
        raise ValueError(f"S{i}'s log is impossible: terms never decrease along a log, but index {off + 1} has term "
                         f"{log[0].term} after its snapshot's last included term {snapshot.term}.")
    if log and log[-1].term > term:
        raise ValueError(f"S{i}'s log has an entry of term {log[-1].term}, but S{i} is only in term {term}: "
                         f"a server's term is at least that of every entry it stores.")
    role = spec.get("role", FOLLOWER)
    if role not in (FOLLOWER, CANDIDATE, LEADER):
        raise ValueError(f"S{i}: role must be follower, candidate or leader, not {quote(role)}.")
    up = spec.get("up", True)
    if not isinstance(up, bool):
        raise ValueError(f"S{i}: up must be true or false.")
    if role != FOLLOWER and term < 1:
        raise ValueError(f"S{i}: a {role} must be in term 1 or later.")
    voted_for = spec.get("voted_for", i if role != FOLLOWER else None)
    if voted_for is not None and (not is_int(voted_for) or voted_for not in ids):
        raise ValueError(f"S{i}: voted_for must be a server id or null.")
    if voted_for is not None and term == 0:
        raise ValueError(f"S{i}: voted_for must be null in term 0: votes are cast in term 1 and later.")
    if role != FOLLOWER and voted_for != i:
        raise ValueError(f"S{i}: a {role} has voted for itself in its term.")
    commit = spec.get("commit_index", off)
    if not is_int(commit) or not 0 <= commit <= off + len(log):
        raise ValueError(f"S{i}: commit_index must be between 0 and the length of its log ({off + len(log)}).")
    if commit < off:
        raise ValueError(f"S{i}: commit_index must be at least {off}: a snapshot holds only entries its server has "
                         f"applied, so committed ones (section 7).")
    node = {"id": i, "term": term, "log": log, "voted_for": voted_for,
            "role": role if up else FOLLOWER, "commit_index": commit, "up": up}
    if snapshot is not None:
        node["snapshot"] = snapshot
    if "timer" in spec:
        timer = spec["timer"]
        if isinstance(timer, bool) or not isinstance(timer, (int, float)) or not 0 <= timer <= 1e9:
            raise ValueError(f"S{i}: timer is the first election deadline in ms, a number of 0 or more.")
        node["timer"] = float(timer)
    for key, lo, hi in (("next_index", 1, off + len(log) + 1), ("match_index", 0, off + len(log))):
        if key in spec:
            if role != LEADER:
                raise ValueError(f"S{i}: only a leader has {key}.")
            node[key] = _peer_map(spec[key], i, ids, key, lo, hi)
    return node


def to_state(nodes: list[dict]) -> dict:
    """Normal form back to the JSON-friendly from_state form."""
    out = []
    for n in nodes:
        d = dict(n)
        d["log"] = [{"term": e.term, "config": e.config.to_dict()} if e.config is not None
                    else {"term": e.term, "command": e.command, "client": e.client, "seq": e.seq}
                    if e.client is not None
                    else {"term": e.term, "command": e.command} if e.command is not None else e.term
                    for e in n["log"]]
        snap = n.get("snapshot")
        if snap is not None:
            d["snapshot"] = {"index": snap.index, "term": snap.term, "store": dict(snap.store)}
            if snap.config_index:             # given in the state (else the initial one, its default)
                d["snapshot"]["config"] = snap.config.to_dict()
        for key in ("next_index", "match_index"):
            if key in d:
                d[key] = {str(p): v for p, v in d[key].items()}
        out.append(d)
    return {"nodes": out}
