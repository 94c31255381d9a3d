"""What removing an offending statement saves: the attribution, independent of the language.

A *unit* is what gets installed (a Python distribution; a crate for Rust). Each root
(one statement of the package's own code, or "declared but reached by no statement")
reaches some units directly; ``requires`` adds what each unit declares it needs.
Removing a root saves the units that no other root still reaches, the way
``unique_bytes`` is computed for direct dependencies. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class UnitCost:
    """What one unit weighs: bytes on disk (None: unmeasured), native files, modules loaded."""

    bytes: int | None
    native_files: int = 0
    modules: int = 0


@dataclass
class StatementCost:
    """One offending statement and what removing it would save."""

    importer: str
    line: int
    file: str
    statement: str
    #: Every unit it reaches (imports, then what those declare), by name.
    reaches: list[str] = field(default_factory=list)
    #: The units that leave when only this statement goes.
    distributions: list[str] = field(default_factory=list)
    bytes: int | None = 0
    native_files: int = 0
    #: Modules of those units that the import probe saw loaded; None when it did not run.
    modules: int | None = None
    #: Bytes it reaches that leave only with the other offending statements too.
    shared_bytes: int | None = 0
    #: Bytes it reaches that code breaking no contract still needs.
    kept_bytes: int | None = 0
    #: False for a line that breaks no contract, listed for what it costs (a Rust package's
    #: other ``[dependencies]`` lines).
    offending: bool = True
    #: ``import`` (Python), ``crate`` (a Cargo.toml dependency line) or ``use`` (Rust source).
    kind: str = "import"
    #: Rust: of ``bytes``, the standard library's ``.text`` that only the crates saved call.
    std_bytes: int | None = None
    #: A line that breaks no contract: what removing it saves once every offending line is gone.
    then_bytes: int | None = None
    #: The units that saving removes.
    then_distributions: list[str] = field(default_factory=list)


def reachable(starts: Iterable[str], requires: Mapping[str, Iterable[str]]) -> set[str]:
    seen: set[str] = set()
    pending = list(starts)
    while pending:
        unit = pending.pop()
        if unit not in seen:
            seen.add(unit)
            pending += [u for u in requires.get(unit, ()) if u not in seen]
    return seen


@dataclass
class Attribution:
    """Savings of the offending roots, and what all of them together save."""

    saved: dict[Hashable, set[str]]
    reached: dict[Hashable, set[str]]
    together: set[str]
    kept: set[str]


def attribute(
    roots: Mapping[Hashable, set[str]],
    requires: Mapping[str, Iterable[str]],
    offending: Sequence[Hashable],
    removes_with: Mapping[Hashable, Iterable[Hashable]] | None = None,
) -> Attribution:
    """For each offending root: the units only it reaches; and the units that leave when
    every offending root goes (``together``) or stay (``kept``).

    ``removes_with``: roots that cannot stay when a root goes (the ``use`` statements of a
    Cargo.toml dependency line): they leave with it, and what it reaches includes theirs.
    """
    group = {key: {key, *(removes_with or {}).get(key, ())} for key in roots}
    base = {key: reachable(units, requires) for key, units in roots.items()}
    reached = {key: set().union(*(base.get(k, set()) for k in group[key])) for key in roots}
    everything = set().union(*base.values()) if base else set()
    saved = {}
    for key in offending:
        gone = group.get(key, {key})
        others = set().union(*(r for k, r in base.items() if k not in gone))
        saved[key] = reached.get(key, set()) - others
    removed = set().union(*(group.get(k, {k}) for k in offending)) if offending else set()
    kept = set().union(*(r for k, r in base.items() if k not in removed))
    return Attribution(saved=saved, reached=reached, together=everything - kept, kept=kept)


def total(units: Iterable[str], sizes: Mapping[str, UnitCost]) -> tuple[int | None, int, int]:
    """(bytes, native files, modules) of ``units``; bytes None when one is unmeasured."""
    chosen = [sizes[u] for u in units if u in sizes]
    size = None if any(c.bytes is None for c in chosen) else sum(c.bytes or 0 for c in chosen)
    return size, sum(c.native_files for c in chosen), sum(c.modules for c in chosen)


def rank(costs: list[StatementCost]) -> list[StatementCost]:
    """Most bytes saved first, then what they reach, then by place (a stable order)."""
    return sorted(costs, key=lambda c: (-(c.bytes or 0), -(c.shared_bytes or 0), c.file, c.line))
