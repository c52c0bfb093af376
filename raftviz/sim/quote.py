"""Quoting user input inside an error message, safely.

An error may name the value it refused, but input can be a megabyte string
or a structure that expands to gigabytes when printed. quote() looks at a
bounded part of the value only (reprlib stops early) and keeps at most
MAX_QUOTE characters of it, so a message stays short whatever was sent.
"""
from __future__ import annotations

import reprlib

MAX_QUOTE = 80

_repr = reprlib.Repr()
_repr.maxstring = MAX_QUOTE + 2           # room for the quotes of a string
_repr.maxother = MAX_QUOTE
_repr.maxlong = MAX_QUOTE
_repr.maxlevel = 3
for _name in ("maxlist", "maxtuple", "maxdict", "maxset", "maxfrozenset"):
    setattr(_repr, _name, 8)


def quote(value, limit: int = MAX_QUOTE) -> str:
    """repr(value), cut to at most `limit` characters (ending in … if cut)."""
    try:
        text = _repr.repr(value)
    except Exception:                      # a value whose repr fails is still named
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[:limit - 1] + "…"


def quote_names(names, limit: int = MAX_QUOTE) -> str:
    """Field names joined with commas, at most `limit` characters in all."""
    text = ", ".join(sorted(str(n)[:limit] for n in list(names)[:50]))
    return text if len(text) <= limit else text[:limit - 1] + "…"
