"""Lecture scenarios: the cases of the Raft talks and paper as data, and a
runner that steps through them over a Cluster.

    from raftviz.scenarios import names, load
    sc = load("figure-8")
    sc.next(); sc.prev(); sc.check()

Bundled scenarios live in library/; a lecturer's own folder is read too,
named by the RAFTVIZ_SCENARIOS environment variable or configure(folder).
A malformed file there is reported (problems()) and the rest still load,
whatever is wrong with it; reports name files, never the server's folders.
"""
from __future__ import annotations

import os
from pathlib import Path

from .format import ScenarioError, Spec, load_file, parse
from .runner import Scenario, StepFailed

BUNDLED = Path(__file__).resolve().parent / "library"
_state: dict = {"folder": None, "specs": None, "problems": []}


def configure(folder: str | Path | None) -> None:
    """Read a lecturer's scenario folder beside the bundled ones."""
    _state["folder"] = Path(folder) if folder else None
    _state["specs"] = None


def _specs() -> dict[str, Spec]:
    if _state["specs"] is None:
        specs: dict[str, Spec] = {}
        for path in sorted(BUNDLED.glob("*.yaml")):
            spec = load_file(path)                  # a broken bundled file is a bug: let it raise
            specs[spec.id] = spec
        problems = []
        folder = _state["folder"] or (Path(os.environ["RAFTVIZ_SCENARIOS"])
                                      if os.environ.get("RAFTVIZ_SCENARIOS") else None)
        if folder is not None:
            if not folder.is_dir():
                problems.append(f"{folder.name or folder}: the scenario folder does not exist")
            for path in sorted(folder.glob("*.y*ml")) if folder.is_dir() else []:
                try:
                    spec = load_file(path)
                except ScenarioError as e:
                    problems.append(str(e))
                    continue
                except Exception as e:              # RecursionError, MemoryError, a bug: skip the file, go on
                    problems.append(f"{path.name}: cannot be loaded ({type(e).__name__})")
                    continue
                if spec.id in specs:
                    problems.append(f"{path.name}: id: {spec.id!r} is already used by another scenario")
                    continue
                specs[spec.id] = spec
        _state["specs"], _state["problems"] = specs, problems
    return _state["specs"]


def names() -> list[str]:
    return sorted(_specs())


def spec(name: str) -> Spec:
    specs = _specs()
    if name not in specs:
        raise KeyError(f"There is no scenario {name!r}.")
    return specs[name]


def load(name: str) -> Scenario:
    """A fresh run of a scenario, its cluster in the initial state."""
    return Scenario(spec(name))


def catalogue() -> list[dict]:
    """Every scenario's id, title, source, lecture and summary, in file order by lecture."""
    return [s.catalogue_entry() for s in _specs().values()]


def problems() -> list[str]:
    """Why each of the lecturer's malformed files was not loaded."""
    _specs()
    return list(_state["problems"])


__all__ = ["Scenario", "ScenarioError", "StepFailed", "catalogue", "configure", "load", "names", "parse",
           "problems", "spec"]
