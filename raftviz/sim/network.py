"""The simulated network: latency, loss, partitions, cut links, isolated nodes.

A link between two nodes works when it is not cut, neither end is isolated,
and both ends are in the same partition group. A message gets through only
if its link works both when it is sent and when it arrives: one in flight
when a partition forms is lost, as on a real network, and so is one sent
into a broken link that is mended before it arrives (world.py). The set of blocked (src, dst) pairs is kept
precomputed, because it is consulted on every delivery.
"""
from __future__ import annotations

import math


def _pair(a: int, b: int) -> tuple[int, int]:
    return (a, b) if a < b else (b, a)


class Network:
    def __init__(self, ids, latency=(10, 20), loss=0.0):
        self.ids = tuple(ids)
        self.latency = latency
        self.loss = loss
        self.groups: list[tuple[int, ...]] | None = None   # None: not partitioned
        self.cuts: set[tuple[int, int]] = set()
        self.isolated: set[int] = set()
        self.blocked: frozenset[tuple[int, int]] = frozenset()

    # ----- settings ----------------------------------------------------------
    @property
    def latency(self) -> tuple[float, float]:
        return self._latency

    @latency.setter
    def latency(self, value) -> None:
        self._latency = check_latency(value)

    @property
    def loss(self) -> float:
        return self._loss

    @loss.setter
    def loss(self, value) -> None:
        self._loss = check_loss(value)

    # ----- topology ------------------------------------------------------------
    def why_blocked(self, src: int, dst: int, past: bool = False) -> str | None:
        """Why a message from src cannot reach dst, in words; None if it can.
        past: said of the moment the message was sent."""
        if src in self.isolated or dst in self.isolated:
            who = src if src in self.isolated else dst
            if past:
                return f"S{who} was disconnected from the network when it was sent"
            return f"S{who} is disconnected from the network"
        if _pair(src, dst) in self.cuts:
            if past:
                return f"the link S{min(src, dst)}–S{max(src, dst)} was cut when it was sent"
            return f"the link S{min(src, dst)}–S{max(src, dst)} is cut"
        if self.groups and self._group_of(src) != self._group_of(dst):
            if past:
                return f"a partition separated S{src} from S{dst} when it was sent"
            return f"a partition separates S{src} from S{dst}"
        return None

    def _group_of(self, node: int) -> int:
        for k, g in enumerate(self.groups):
            if node in g:
                return k
        return len(self.groups)          # the unnamed nodes form one more group

    def _recompute(self) -> None:
        self.blocked = frozenset((a, b) for a in self.ids for b in self.ids
                                 if a != b and self.why_blocked(a, b) is not None)

    def partition(self, groups) -> None:
        self.groups = [tuple(g) for g in groups]
        self._recompute()

    def heal(self) -> None:
        self.groups = None
        self.cuts.clear()
        self.isolated.clear()
        self._recompute()

    def cut(self, a: int, b: int) -> None:
        self.cuts.add(_pair(a, b))
        self._recompute()

    def link(self, a: int, b: int) -> None:
        self.cuts.discard(_pair(a, b))
        self._recompute()

    def disconnect(self, node: int) -> None:
        self.isolated.add(node)
        self._recompute()

    def connect(self, node: int) -> None:
        self.isolated.discard(node)
        self._recompute()

    def add(self, node: int) -> None:
        """A new server: outside every named partition group, so with the rest."""
        self.ids += (node,)
        self._recompute()

    # ----- state -------------------------------------------------------------
    def to_dict(self) -> dict:
        return {
            "latency": list(self._latency),
            "loss": self._loss,
            "partition": [list(g) for g in self.groups] if self.groups else None,
            "cuts": [list(c) for c in sorted(self.cuts)],
            "isolated": sorted(self.isolated),
            "blocked": [list(p) for p in sorted(self.blocked) if p[0] < p[1]],
        }

    def save(self) -> tuple:
        return (self._latency, self._loss, self.groups, frozenset(self.cuts),
                frozenset(self.isolated), self.blocked, self.ids)

    def load(self, saved: tuple) -> None:
        (self._latency, self._loss, groups, cuts, isolated, self.blocked, self.ids) = saved
        self.groups = list(groups) if groups else None
        self.cuts = set(cuts)
        self.isolated = set(isolated)


def number_pair(value) -> tuple[float, float] | None:
    """(lo, hi) if value is a list of exactly two real numbers, else None.
    Strictly: the text "12" would otherwise unpack into the pair (1, 2)."""
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        return None
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in value):
        return None
    return float(value[0]), float(value[1])


def check_latency(value) -> tuple[float, float]:
    pair = number_pair(value)
    if pair is None:
        raise ValueError("Latency must be a pair of numbers (lowest, highest) in milliseconds.")
    lo, hi = pair
    if not (0 < lo <= hi <= 10_000):
        raise ValueError("The lowest latency must be above 0 ms and no more than the highest, "
                         "and the highest at most 10000 ms.")
    return (lo, hi)


def check_loss(value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise ValueError("Message loss must be a probability between 0 and 1.")
    return float(value)
