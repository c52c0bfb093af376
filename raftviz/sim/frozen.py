"""Immutable copies of long, mostly-growing lists for history checkpoints.

A log of 10 000 entries copied into every checkpoint would dominate the
memory of a long history, yet between two checkpoints a log only grows at
its end. freeze() cuts a list into fixed-size chunks and reuses every chunk
that an earlier frozen copy (of this list or of another node's identical log)
already holds, so a checkpoint costs about one chunk per list plus pointers.
The chunks are lists that nobody mutates after freezing.
"""
from __future__ import annotations

from itertools import chain

CHUNK = 256


def freeze(items: list, *earlier) -> tuple:
    """A frozen copy of `items`, sharing equal chunks with the frozen copies in `earlier`."""
    chunks = []
    for k, start in enumerate(range(0, len(items), CHUNK)):
        chunk = items[start:start + CHUNK]
        for other in earlier:
            if other is not None and k < len(other) and other[k] == chunk:
                chunk = other[k]
                break
        chunks.append(chunk)
    return tuple(chunks)


def thaw(frozen: tuple) -> list:
    return list(chain.from_iterable(frozen))
