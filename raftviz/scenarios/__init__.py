"""Lecture scenarios: the cases of the Raft talks and paper as data, and a
runner that steps through them over a Cluster.

    from raftviz.scenarios import names, load
    sc = load("figure-8")
    sc.next(); sc.prev(); sc.check()

Bundled scenarios live in library/; a lecturer's own folder is read too,
named by the RAFTVIZ_SCENARIOS environment variable, or given to Library(folder).
A malformed file there is reported (problems()) and the rest still load,
whatever is wrong with it; reports name files, never the server's folders.
"""
from __future__ import annotations

import os
from pathlib import Path

from .format import ScenarioError, Spec, load_file, parse
from .runner import Scenario, StepFailed

BUNDLED = Path(__file__).resolve().parent / "library"


class Library:
    """The bundled scenarios and, beside them, a lecturer's folder. The server
    holds one (create_app makes it from its SCENARIOS setting); the command line
    and the tests use the default one (the RAFTVIZ_SCENARIOS folder, if set)."""

    def __init__(self, folder: str | Path | None = None):
        self.folder = Path(folder) if folder else None
        self._specs: dict[str, Spec] | None = None
        self._problems: list[str] = []

    @classmethod
    def from_environment(cls) -> "Library":
        return cls(os.environ.get("RAFTVIZ_SCENARIOS") or None)

    def _load(self) -> dict[str, Spec]:
        if self._specs is not None:
            return self._specs
        specs: dict[str, Spec] = {}
        for path in sorted(BUNDLED.glob("*.yaml")):
            spec = load_file(path)                  # a broken bundled file is a bug: let it raise
            specs[spec.id] = spec
        problems = []
        folder = self.folder
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
        self._specs, self._problems = specs, problems
        return specs

    def names(self) -> list[str]:
        return sorted(self._load())

    def spec(self, name: str) -> Spec:
        specs = self._load()
        if name not in specs:
            raise KeyError(f"There is no scenario {name!r}.")
        return specs[name]

    def load(self, name: str) -> Scenario:
        """A fresh run of a scenario, its cluster in the initial state."""
        return Scenario(self.spec(name))

    def catalogue(self) -> list[dict]:
        """Every scenario's id, title, source, lecture and summary, in file order by lecture."""
        return [s.catalogue_entry() for s in self._load().values()]

    def problems(self) -> list[str]:
        """Why each of the lecturer's malformed files was not loaded."""
        self._load()
        return list(self._problems)


_default: list[Library] = []


def default() -> Library:
    """The library of the command line and the tests (read once)."""
    if not _default:
        _default.append(Library.from_environment())
    return _default[0]


def names() -> list[str]:
    return default().names()


def spec(name: str) -> Spec:
    return default().spec(name)


def load(name: str) -> Scenario:
    return default().load(name)


def catalogue() -> list[dict]:
    return default().catalogue()


def problems() -> list[str]:
    return default().problems()


__all__ = ["Library", "Scenario", "ScenarioError", "StepFailed", "catalogue", "default", "load", "names", "parse",
           "problems", "spec"]
