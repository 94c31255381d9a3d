"""Python side of the cost view: which distributions each import statement of the package
reaches, from the import graph check builds and the closure the footprint measured.

A statement reaches the distributions of the modules it imports, of the modules those
import in turn (the package's own modules are roots of their own, never stepped
through), and whatever those distributions require. Module -> distribution is the
longest top-level import name a closure member provides (``import_owners``, read from
installed metadata). TYPE_CHECKING imports reach nothing: they never run.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence

from cloacina_audit.analysis.imports.graph import IMPLICIT, PackageGraph
from cloacina_audit.model.cost import (
    StatementCost,
    UnitCost,
    attribute,
    rank,
    reachable,
    total,
)
from cloacina_audit.model.names import canonical_name
from cloacina_audit.model.paths import shortest_path
from cloacina_audit.model.report import ContractResult, Footprint

#: The root standing for declared dependencies that no statement imports.
DECLARED = ("<declared>", 0)

Key = tuple[str, int]


class Reach:
    """Statements of the package's own code and the distributions each one reaches."""

    def __init__(self, pg: PackageGraph, packages: Sequence[str], footprint: Footprint) -> None:
        self.pg, self.footprint = pg, footprint
        root = canonical_name(footprint.package.name) if footprint.package else ""
        # A wheel or a requirement: its own import names, from its metadata.
        self.packages = tuple(packages) or tuple(
            sorted(top for top, owner in footprint.import_owners.items() if owner == root))
        self.graph = pg.with_implicit_parent_imports()
        self._memo: dict[str, set[str]] = {}
        self.statements: dict[Key, set[str]] = {}
        self.imported: dict[Key, set[str]] = {}
        for module in sorted(m for m in self.graph.modules if self.own(m)):
            path = pg.module_file(module)
            for imported in sorted(self.graph.find_modules_directly_imported_by(module)):
                if self.own(imported):
                    continue
                for detail in self.graph.get_import_details(importer=module, imported=imported):
                    if detail["line_contents"] == IMPLICIT:
                        continue
                    line = int(detail["line_number"])
                    if pg.kinds.of_line(path, line) == "type_checking":
                        continue
                    key = (module, line)
                    self.imported.setdefault(key, set()).add(imported)
                    self.statements.setdefault(key, set()).update(self.distributions_of(imported))

    def own(self, module: str) -> bool:
        return any(module == p or module.startswith(p + ".") for p in self.packages)

    def owner(self, module: str) -> str | None:
        parts = module.split(".")
        for depth in range(len(parts), 0, -1):
            found = self.footprint.import_owners.get(".".join(parts[:depth]))
            if found is not None:
                return found
        return None

    def modules_from(self, start: str) -> dict[str, str | None]:
        """Modules reachable from ``start`` outside the package, each with the one before it."""
        parents: dict[str, str | None] = {start: None}
        pending = [start]
        while pending:
            module = pending.pop(0)
            if module not in self.graph.modules:
                continue
            for imported in sorted(self.graph.find_modules_directly_imported_by(module)):
                if imported not in parents and not self.own(imported):
                    parents[imported] = module
                    pending.append(imported)
        return parents

    def distributions_of(self, start: str) -> set[str]:
        if start not in self._memo:
            found = {self.owner(m) for m in self.modules_from(start)}
            self._memo[start] = {d for d in found if d is not None}
        return self._memo[start]

    def roots(self) -> dict[Key, set[str]]:
        """Every statement, plus the declared dependencies no statement reaches."""
        roots = dict(self.statements)
        root = canonical_name(self.footprint.package.name) if self.footprint.package else ""
        direct = set(self.footprint.requires.get(root, ()))
        reached = set().union(*roots.values()) if roots else set()
        if direct - reached:
            roots[DECLARED] = direct - reached
        return roots

    def unit_costs(self) -> dict[str, UnitCost]:
        probe = self.footprint.import_probe
        modules: dict[str, int] = {}
        for module in probe.loaded_modules if probe else []:
            owner = self.owner(module)
            if owner is not None:
                modules[owner] = modules.get(owner, 0) + 1
        return {
            canonical_name(row.name): UnitCost(
                row.bytes, row.native_files, modules.get(canonical_name(row.name), 0)
            )
            for row in self.footprint.by_distribution
        }


def offending_keys(contracts: Iterable[ContractResult]) -> dict[Key, tuple[str, str]]:
    """(importer, line) of each statement that starts a violation -> (file, statement)."""
    found: dict[Key, tuple[str, str]] = {}
    for contract in contracts:
        for violation in contract.violations:
            first = violation.chain[0]
            if first.line > 0:
                found.setdefault((first.importer, first.line), (first.file, first.statement))
    return found


def statement_costs(
    pg: PackageGraph, packages: Sequence[str], footprint: Footprint,
    contracts: Sequence[ContractResult],
) -> tuple[list[StatementCost], StatementCost]:
    """What removing each offending statement saves, most expensive first; and all of them."""
    reach = Reach(pg, packages, footprint)
    offending = offending_keys(contracts)
    sizes = reach.unit_costs()
    roots: dict[Hashable, set[str]] = {key: units for key, units in reach.roots().items()}
    result = attribute(roots, footprint.requires, list(offending))
    probed = footprint.import_probe is not None
    costs = []
    for key, (file, statement) in offending.items():
        saved = result.saved.get(key, set())
        reached = result.reached.get(key, set())
        size, native, modules = total(saved, sizes)
        costs.append(StatementCost(
            importer=key[0], line=key[1], file=file, statement=statement,
            reaches=sorted(reached), distributions=sorted(saved),
            bytes=size, native_files=native, modules=modules if probed else None,
            shared_bytes=total((reached & result.together) - saved, sizes)[0],
            kept_bytes=total(reached & result.kept, sizes)[0],
        ))
    size, native, modules = total(result.together, sizes)
    both = StatementCost(
        importer="", line=0, file="", statement="", reaches=sorted(result.together),
        distributions=sorted(result.together), bytes=size, native_files=native,
        modules=modules if probed else None, shared_bytes=0, kept_bytes=0,
    )
    return rank(costs), both



def routes_to(reach: Reach, dist: str) -> list[dict[str, object]]:
    """Every statement of the package's own code that reaches ``dist``, with one route each:
    ``imports`` (modules, when an import chain gets there) and ``requires`` (distributions,
    from the first one the statement imports, through Requires-Dist)."""
    target = canonical_name(dist)
    requires = reach.footprint.requires
    routes = []
    for key in sorted(reach.statements):
        direct = reach.statements[key]
        if target not in reachable(direct, requires):
            continue
        imports: list[str] = []
        for imported in sorted(reach.imported[key]):
            parents = reach.modules_from(imported)
            hit = next((m for m in parents if reach.owner(m) == target), None)
            if hit is not None:
                while hit is not None:
                    imports.insert(0, hit)
                    hit = parents[hit]
                break
        via: list[str] = []
        if not imports:
            via = _requirement_path(sorted(direct), target, requires)
        first = sorted(reach.imported[key])[0]
        statement = next((
            str(d["line_contents"]) for d in reach.graph.get_import_details(
                importer=key[0], imported=first) if int(d["line_number"]) == key[1]
        ), "")
        routes.append({
            "importer": key[0], "line": key[1], "statement": statement,
            "imports": imports, "requires": via,
        })
    return routes


def _requirement_path(starts: list[str], target: str, requires: dict[str, list[str]]) -> list[str]:
    return shortest_path(starts, target, lambda name: requires.get(name, []))
