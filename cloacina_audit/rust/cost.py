"""Rust side of the cost view: what each Cargo.toml dependency line and each ``use`` of a
crate brings into the resolved graph and the cdylib's ``.text``.

Roots are the package's own lines: every ``use`` (or path) naming a direct dependency
reaches that crate; a ``[dependencies]`` line reaches its crate only when no source line
names it (otherwise the uses are what keep it, and removing the line removes them too:
the build would fail). A crate reaches its normal dependencies; and the standard library
code only a set of crates calls (rust/callgraph.py) is a unit those crates reach, so a
line's saving counts the std ``.text`` it alone needs. Standard library code the package's
own functions call stays whatever is removed.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cloacina_audit.model.cost import StatementCost, UnitCost, attribute, rank, total
from cloacina_audit.model.paths import shortest_path
from cloacina_audit.model.report import ContractResult, Footprint
from cloacina_audit.rust.contracts import declaration_line, normal_closure, normal_edges
from cloacina_audit.rust.metadata import CrateGraph
from cloacina_audit.rust.sources import forbidden_paths

#: A root: ("crate" | "use", resolved file, line, the crate a dependency line declares).
Key = tuple[str, str, int, str]
STD_PREFIX = "std["


@dataclass(frozen=True)
class Line:
    key: Key
    file: str
    line: int
    statement: str
    crate: str


class CrateReach:
    """The package's dependency lines and the source lines that name its direct dependencies."""

    def __init__(self, graph: CrateGraph, src: Path, footprint: Footprint) -> None:
        self.graph, self.footprint = graph, footprint
        manifest = graph.root.manifest_path
        direct = sorted({d.key: d.name for d in graph.root.dependencies if d.kind is None}.items())
        self.declared: list[Line] = []
        for key, name in direct:
            number, text = declaration_line(manifest, key)
            self.declared.append(Line(("crate", _norm(manifest), number, name), str(manifest),
                                      number, text, name))
        by_rust_name = {key.replace("-", "_"): name for key, name in direct}
        self.uses: list[Line] = []
        for use in forbidden_paths(src, set(by_rust_name)):
            found = Line(("use", _norm(use.file), use.line, ""), str(use.file), use.line,
                         use.statement, by_rust_name[use.crate])
            if not any(u.key == found.key for u in self.uses):  # two paths on one line
                self.uses.append(found)
        closure = set(normal_closure(graph))
        self.requires: dict[str, list[str]] = {
            name: list(normal_edges(graph, name)) for name in sorted(closure - {graph.root.name})}
        self.sizes = {
            row.name: UnitCost(row.bytes, row.native_files) for row in footprint.by_distribution}
        binary = footprint.binary
        for users, size in sorted((binary.std_text_by_users if binary else {}).items()):
            if not users or graph.root.name in users:
                continue  # no crate's code reaches it, or the package's own code does: it stays
            unit = STD_PREFIX + ", ".join(users) + "]"
            self.sizes[unit] = UnitCost(size)
            for user in users:
                self.requires.setdefault(user, []).append(unit)

    def roots(self) -> tuple[dict[Hashable, set[str]], dict[Hashable, list[Key]]]:
        """Each line -> the crates it reaches directly; a dependency line -> its uses."""
        used: dict[str, list[Key]] = {}
        for use in self.uses:
            used.setdefault(use.crate, []).append(use.key)
        roots: dict[Hashable, set[str]] = {use.key: {use.crate} for use in self.uses}
        removes_with: dict[Hashable, list[Key]] = {}
        for line in self.declared:
            roots[line.key] = set() if line.crate in used else {line.crate}
            removes_with[line.key] = used.get(line.crate, [])
        return roots, removes_with

    def lines(self) -> dict[Key, Line]:
        return {line.key: line for line in [*self.declared, *self.uses]}


def statement_costs(
    graph: CrateGraph, src: Path, footprint: Footprint, contracts: Sequence[ContractResult],
) -> tuple[list[StatementCost], StatementCost]:
    """What removing each offending line saves (most expensive first), then what each other
    dependency line costs; and what all offending lines save together."""
    reach = CrateReach(graph, src, footprint)
    roots, removes_with = reach.roots()
    offending: dict[Key, tuple[str, str, str]] = {}
    for contract in contracts:
        for violation in contract.violations:
            first = violation.chain[0]
            if first.kind in ("crate", "use") and first.line > 0:
                key = (first.kind, _norm(Path(first.file)), first.line,
                       first.imported if first.kind == "crate" else "")
                offending.setdefault(key, (first.file, first.statement, first.kind))
    lines = reach.lines()
    others = [line.key for line in reach.declared if line.key not in offending]
    keys: list[Hashable] = [*offending, *others]
    each = attribute(roots, reach.requires, keys, removes_with)
    result = attribute(roots, reach.requires, list(offending), removes_with)
    gone = {k for key in offending for k in (key, *removes_with.get(key, ()))}
    then = attribute({k: v for k, v in roots.items() if k not in gone}, reach.requires, others,
                     removes_with)

    def cost(key: Key, file: str, statement: str, kind: str, is_offending: bool) -> StatementCost:
        saved = each.saved.get(key, set())
        reached = each.reached.get(key, set())
        size, native, _ = total(saved, reach.sizes)
        return StatementCost(
            importer=graph.root.name, line=key[2], file=file, statement=statement,
            reaches=_crates(reached), distributions=_crates(saved), bytes=size,
            native_files=native, modules=None,
            shared_bytes=total((reached & result.together) - saved, reach.sizes)[0],
            kept_bytes=total(reached & result.kept, reach.sizes)[0],
            offending=is_offending, kind=kind, std_bytes=_std_bytes(saved, reach.sizes),
        )

    costs = [cost(key, *details, True) for key, details in offending.items()]
    listed = []
    for other in others:
        row = cost(other, lines[other].file, lines[other].statement, "crate", False)
        row.then_distributions = _crates(then.saved.get(other, set()))
        row.then_bytes = total(then.saved.get(other, set()), reach.sizes)[0]
        listed.append(row)
    size, native, _ = total(result.together, reach.sizes)
    both = StatementCost(
        importer="", line=0, file="", statement="", reaches=_crates(result.together),
        distributions=_crates(result.together), bytes=size, native_files=native, modules=None,
        shared_bytes=0, kept_bytes=0, kind="", std_bytes=_std_bytes(result.together, reach.sizes),
    )
    return rank(costs) + rank(listed), both


def routes_to(reach: CrateReach, crate: str) -> list[dict[str, Any]]:
    """Every line of the package that reaches ``crate``: its dependency lines and the source
    lines naming a direct dependency, each with the crates between (``cargo tree -i`` from
    the line), every crate step with the manifest line that declares it."""
    routes = []
    for line in sorted(reach.lines().values(), key=lambda x: (x.file, x.line)):
        path = _crate_path(reach.requires, line.crate, crate)
        if not path:
            continue
        steps = []
        for importer, imported in zip(path, path[1:]):
            manifest = reach.graph.crates[importer].manifest_path if importer in reach.graph.crates \
                else reach.graph.root.manifest_path
            number, _ = declaration_line(manifest, imported)
            steps.append({"crate": importer, "depends_on": imported, "file": str(manifest),
                          "line": number})
        routes.append({"kind": line.key[0], "file": line.file, "line": line.line,
                       "statement": line.statement, "crates": path, "steps": steps})
    return routes


def std_bytes_of(footprint: Footprint, crate: str) -> int:
    """Standard library ``.text`` that only ``crate``'s code calls."""
    binary = footprint.binary
    return (binary.std_text_by_users if binary else {}).get((crate,), 0)


def _crate_path(requires: dict[str, list[str]], start: str, target: str) -> list[str]:
    return shortest_path([start], target, lambda name: [
        d for d in requires.get(name, []) if not d.startswith(STD_PREFIX)])


def _crates(units: set[str]) -> list[str]:
    return sorted(u for u in units if not u.startswith(STD_PREFIX))


def _std_bytes(units: set[str], sizes: dict[str, UnitCost]) -> int:
    return sum(sizes[u].bytes or 0 for u in units if u.startswith(STD_PREFIX) and u in sizes)


def _norm(path: Path) -> str:
    return str(path.resolve())
