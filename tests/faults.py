"""Randomized fault schedules and an oracle that checks safety after every event.

The oracle is independent of the engine's own monitor and of its quorum
code: it looks only at the servers' visible state (role, term, log,
commitIndex, the configuration each says it uses, the snapshot) after each
step, and counts majorities itself.
"""
import random

from raftviz.raft import kv
from raftviz.sim import Cluster

MAX_SERVERS = 9


def groups_of(config):
    """The groups that each need a majority: (C_new,) or, while joint, (C_old, C_new)."""
    if config.old_voters is None:
        return (frozenset(config.voters),)
    return (frozenset(config.old_voters), frozenset(config.voters))


def majority_of_each(groups, holders) -> bool:
    return all(group and 2 * len(group & holders) > len(group) for group in groups)


class Oracle:
    """Safety as a student would check it from the outside, after every event:

    - at most one leader per term (Election Safety);
    - servers never disagree about committed entries (State Machine Safety);
    - when an index is first committed, a majority of each group of the
      committing server's configuration stores that entry (section 6: a
      majority of C_old AND of C_new while joint; the leader counted only
      where it is a voter);
    - a new leader holds every entry committed before it (Leader Completeness);
    - every server uses the latest configuration in its log, or its initial
      one if its log holds none (section 6);
    - no log holds more than one configuration entry beyond the committed
      prefix (one change at a time)."""

    def __init__(self, size, voters=None):
        self.leaders = {}        # term -> node
        self.committed = []      # the committed prefix, as entries (None: committed, but never seen)
        self.stores = {}         # index -> the state machine after the committed entries up to it
        # S1..S`size` start with the initial voters; servers added later know no configuration
        self.size = size
        self.voters = frozenset(voters or range(1, size + 1))
        self.configs = {}        # id -> (config index, groups) at the last check

    def config_of(self, c, i):
        """(index, groups) of the configuration server i should use: its log's latest, else its
        snapshot's (section 7), else its initial one."""
        n = c.nodes[i]
        log, off = n.log, n.snapshot_index
        for k in range(len(log), 0, -1):
            if log[k - 1].config is not None:
                return k + off, groups_of(log[k - 1].config)
        if n.snapshot is not None:
            return n.snapshot.config_index, groups_of(n.snapshot.config)
        return 0, (self.voters if i <= self.size else frozenset(),)

    def store_at(self, index):
        """The state machine after applying the committed entries 1..index (None if some were never seen)."""
        if index not in self.stores:
            entries = self.committed[:index]
            if len(entries) < index or None in entries:
                return None
            store, last_seq = {}, {}
            for e in entries:
                # Client sessions (section 8): a command its client sent before is applied once.
                if e.client is not None:
                    if e.seq <= last_seq.get(e.client, 0):
                        continue
                    last_seq[e.client] = e.seq
                kv.apply(store, e.command)
            self.stores[index] = store
        return self.stores[index]

    def agrees(self, n, upto):
        """Does n hold the committed entries 1..upto? Where its snapshot replaced them: its last
        included term matches, and its state machine is what those entries give."""
        off = n.snapshot_index
        for k in range(max(off + 1, 1), upto + 1):
            want, got = self.committed[k - 1], n.entry(k)
            if want is None:
                # Committed and compacted where the oracle saw it committed: learn it from
                # the first server that shows it as committed; the others must agree.
                if k <= n.commit_index:
                    self.committed[k - 1] = got
            elif got != want:
                return False
        if off and off <= upto:
            want = self.committed[off - 1]
            if want is not None and want.term != n.snapshot_term:
                return False
            expected = self.store_at(off)
            if expected is not None and expected != n.snapshot.store:
                return False
        return True

    def check(self, c, every_event=True):
        """every_event: this is the state right after one event, so what
        changed was done in it (a new leader has just been elected, entries
        have just been committed). Checked less often, only the rules that
        hold at any moment are."""
        nodes = c.nodes
        before = dict(self.configs)
        newly_committed_by = None
        for i, n in nodes.items():
            if n.up and n.role == "leader":
                other = self.leaders.get(n.term)
                if other is None:
                    self.leaders[n.term] = i
                    assert not every_event or (n.last_log_index >= len(self.committed)
                                               and self.agrees(n, len(self.committed))), \
                        f"S{i} became leader of term {n.term} without every committed entry (seq {c.seq})"
                assert self.leaders[n.term] == i, f"S{self.leaders[n.term]} and S{i} both led term {n.term} (seq {c.seq})"
            index, groups = self.config_of(c, i)
            self.configs[i] = (index, groups)
            if not n.up:
                continue
            said = n.config
            used = (frozenset(said["voters"]),) if said["old_voters"] is None else \
                (frozenset(said["old_voters"]), frozenset(said["voters"]))
            assert used == groups, \
                f"S{i} uses {said}, not the latest configuration in its log (index {index}) (seq {c.seq})"
            shared = min(n.commit_index, len(self.committed))
            assert self.agrees(n, shared), \
                f"S{i}'s committed entries disagree with what was committed before (seq {c.seq})"
            if n.commit_index > len(self.committed):
                newly_committed_by = (i, len(self.committed))
                self.committed += [n.entry(k) for k in range(len(self.committed) + 1, n.commit_index + 1)]
                assert self.agrees(n, n.commit_index), f"S{i}'s snapshot disagrees with its entries (seq {c.seq})"
        # (Checked less often, the oracle may have missed a commit: then it cannot tell.)
        for i, n in nodes.items() if every_event else ():
            beyond = [k for k in range(max(len(self.committed), n.snapshot_index) + 1, n.last_log_index + 1)
                      if n.entry(k).config is not None]
            assert len(beyond) <= 1, \
                f"S{i} holds {len(beyond)} uncommitted configuration entries: one change at a time (seq {c.seq})"
        if every_event and newly_committed_by is not None:
            i, first = newly_committed_by
            self._check_majorities(c, i, first, before.get(i), self.configs[i])

    def _check_majorities(self, c, i, first, before, after):
        """Entries first+1.. were just committed by S`i`: each must be on a
        majority of the configuration S`i` used (the one before this event,
        or, if it appended a configuration in this event, possibly that one)."""
        candidates = [cfg for cfg in (before, after) if cfg is not None]
        if before is not None and before[0] == after[0]:
            candidates = [before]
        for k in range(first + 1, len(self.committed) + 1):
            entry = self.committed[k - 1]
            if entry is None:
                continue                 # committed and compacted before the oracle saw it
            # (A server whose snapshot covers k has committed it too, so it holds it.)
            holders = frozenset(j for j, n in c.nodes.items() if n.snapshot_index >= k or n.entry(k) == entry)
            ok = False
            ok = any(majority_of_each(groups, holders) for _, groups in candidates)
            assert ok, (f"S{i} committed index {k}, but only {sorted(holders)} store it: no majority of each of "
                        f"{[sorted(g) for g in candidates[0][1]]} (seq {c.seq})")


def configuration_action(c, rng):
    """A random membership step: a new server, a change of voters (joint or
    single; removing the leader too), or a leadership transfer. Refusals are
    fine, but must change nothing."""
    ids = list(c.nodes)
    roll = rng.random()
    seq = c.seq
    try:
        if roll < 0.15:
            if len(ids) < MAX_SERVERS:
                c.add_server()
        elif roll < 0.8:
            leader = c.leader()
            current = set(c.nodes[leader].config["voters"]) if leader is not None else set(ids)
            method = rng.choice(["joint", "single"])
            if method == "single":
                current ^= {rng.choice(ids)}
                voters = current or {rng.choice(ids)}
            else:
                voters = set(rng.sample(ids, rng.randint(1, len(ids))))
            c.change_config(sorted(voters), method=method)
        else:
            c.transfer_leadership(rng.choice(ids))
    except ValueError:
        assert c.seq == seq, "a refused action changes nothing"


def snapshot_action(c, rng):
    """Section 7: a random server that has applied entries beyond its snapshot takes one now."""
    ready = [i for i, n in c.nodes.items() if n.up and n.last_applied > n.snapshot_index]
    if ready:
        c.snapshot(rng.choice(ready))


def holds_command(n, command):
    """Does server n hold `command`, in its log or (compacted) in its state machine? (SET k v)"""
    _, key, value = command.split(None, 2)
    return any(e.command == command for e in n.log) or n.store.get(key) == value


def same_log(a, b):
    """Do a and b hold the same log, by absolute index, where both still hold entries?"""
    if a.last_log_index != b.last_log_index:
        return False
    lo = max(a.snapshot_index, b.snapshot_index)
    return a.term_at(lo) == b.term_at(lo) and all(a.entry(k) == b.entry(k) for k in range(lo + 1, a.last_log_index + 1))


def faulty_run(seed, size=5, fault_ms=3000, settle_ms=4000, check_every_event=True, membership=0.0,
               calm=False, watch=None, clients=True, snapshots=0.0, **options):
    """Random crashes, restarts, partitions, cut links, loss, long delays and
    client commands for fault_ms; with membership (the share of steps, 0 to
    1), also new servers, configuration changes, leadership transfers and
    PreVote, CheckQuorum, ignore_votes_while_led and lease_reads switched on
    and off; with snapshots (a share too), servers asked to take snapshots
    (section 7; pass snapshot_every as well to have them take their own).
    With clients, simulated clients read and write all along (they stop when
    the faults do), and the commands by hand are sometimes a client's
    request, a retry of one (same client and sequence number, maybe at
    another server) or a read.
    calm: no network faults, only crashes and restarts (so that more
    configuration changes get through). watch(c), if given, looks at the
    cluster after every event the oracle checks. Then every fault is
    repaired and the cluster gets settle_ms to recover. Returns (cluster,
    oracle, last command)."""
    rng = random.Random(seed)
    c = Cluster(size, seed=seed, **options)
    oracle = Oracle(size)

    def check():
        if check_every_event:
            oracle.check(c)
            if watch is not None:
                watch(c)

    def advance(ms):
        until = c.now + ms
        while True:
            nxt = c.step() if check_every_event else None
            if check_every_event:
                if nxt is None:
                    break
                check()                  # the step past `until` too: it happened
                if c.now > until:
                    break
            else:
                c.run_for(ms)
                oracle.check(c, every_event=False)
                break

    commands = 0
    last_request = None
    if clients:
        c.clients(rng.randint(1, 4), rate=rng.choice([5, 10, 30]), keys=rng.randint(1, 3),
                  read_ratio=rng.choice([0.3, 0.5, 0.7]), timeout=rng.choice([100, 250, 600]))
    while c.now < fault_ms:
        advance(rng.uniform(5, 60))
        ids = list(c.nodes)
        if snapshots and rng.random() < snapshots:
            snapshot_action(c, rng)
            check()
            continue
        if membership and rng.random() < membership:
            if rng.random() < 0.25:
                switches = ["pre_vote", "check_quorum", "ignore_votes_while_led"] + (["lease_reads"] if clients else [])
                c.set_options(**{rng.choice(switches): rng.random() < 0.5})
            else:
                configuration_action(c, rng)
            check()
            continue
        roll = rng.random()
        down = [i for i in ids if not c.nodes[i].up]
        up = [i for i in ids if c.nodes[i].up]
        if roll < 0.35:
            commands += 1
            to = rng.choice(ids + [None])
            how = rng.random() if clients else 0
            if how < 0.6:
                c.submit(f"SET k{commands % 7} {commands}", to=to)
            elif how < 0.75:
                c.submit(f"INCR k{commands % 3}", to=to, client=1000)
                last_request = c.history()[-1]
            elif how < 0.85 and last_request is not None:
                c.submit(last_request["command"], to=to, client=1000, seq=last_request["seq"])   # a retry
            else:
                c.read(f"k{commands % 3}", to=to, client=1001 if rng.random() < 0.5 else None)
        elif roll < 0.45 and up:
            c.crash(rng.choice(up))
        elif roll < 0.55 and down:
            c.restart(rng.choice(down))
        elif calm:
            pass
        elif roll < 0.62 and len(ids) > 1:
            shuffled = rng.sample(ids, len(ids))
            cut = rng.randint(1, len(ids) - 1)
            c.partition(shuffled[:cut])
        elif roll < 0.7 and len(ids) > 1:
            a, b = rng.sample(ids, 2)
            c.cut(a, b)
        elif roll < 0.78:
            c.heal()
        elif roll < 0.84:
            c.network.loss = rng.choice([0.0, 0.05, 0.2])
        elif roll < 0.9:
            c.network.latency = rng.choice([(10, 20), (30, 150), (100, 400)])
        elif roll < 0.95 and up:
            i = rng.choice(up)
            if c.nodes[i].role != "leader":
                c.timeout(i)
        elif up:
            c.disconnect(rng.choice(up))
            if rng.random() < 0.5:
                c.connect(rng.choice(ids))
        check()
    # Repair everything and let the cluster recover.
    if clients:
        c.stop_clients()
    c.heal()
    c.network.loss = 0.0
    c.network.latency = (10, 20)
    for i in c.nodes:
        if not c.nodes[i].up:
            c.restart(i)
    advance(settle_ms / 2)
    last = f"SET final {seed}"
    if membership:
        finish_membership_run(c, advance, last)
        return c, oracle, last
    for _ in range(40):
        if c.submit(last) is not None:
            break
        advance(100)
    advance(settle_ms / 2)
    return c, oracle, last


def finish_membership_run(c, advance, last):
    """Shut down the servers the configuration no longer names, and submit
    the last command until a leader has committed its whole log with it,
    every member has caught up, and no configuration change is left half done. (A leader commits an
    entry of an earlier term only through one of its own, Figure 8, so a
    leader that takes over last may need one more command.)"""
    for _ in range(40):
        shut_down_outsiders(c, advance)
        c.submit(last)
        advance(400)
        leader = c.leader()
        if leader is not None:
            lead = c.nodes[leader]
            config = lead.config
            members = set(config["voters"]) | set(config["learners"])
            end = lead.last_log_index
            last_entry = lead.entry(end)
            if lead.commit_index == end and config["old_voters"] is None \
                    and (last_entry.command == last if last_entry is not None else holds_command(lead, last)) \
                    and all(c.nodes[i].commit_index == end for i in members):
                return
    raise AssertionError("no leader committed the last command everywhere in 16 s after the faults stopped")


def shut_down_outsiders(c, advance):
    """Section 6: once the configuration no longer names a server, it can be
    shut down. (A removed server that never learned it was removed would
    otherwise keep timing out, thesis 4.2.3.) A leader the configuration
    leaves out steps down by itself once it has committed it."""
    for _ in range(40):
        if c.leader() is not None:
            break
        advance(100)
    leader = c.leader()
    if leader is None:
        return
    config = c.nodes[leader].config
    members = set(config["voters"]) | set(config["old_voters"] or ()) | set(config["learners"]) | {leader}
    for i, n in c.nodes.items():
        if i not in members and n.up:
            c.crash(i)
