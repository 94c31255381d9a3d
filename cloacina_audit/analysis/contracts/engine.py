"""Boundary contracts: where they come from and how they are checked.

Contracts are import-linter contracts, read in import-linter's format and
checked by import-linter's own contract classes against our graph. Two things
are added on top:

- for ``forbidden`` contracts the graph also holds the implicit imports Python
  performs (a module imports its parent package), so a chain that exists only
  through a parent ``__init__`` is found;
- each step of a chain is classified (module / function / type_checking /
  implicit) from the syntax tree; imports of an ignored kind are removed from
  the graph and the contract checked again, so an ignored import never hides a
  longer chain that is real.
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import grimp

from cloacina_audit.adapters.grimp import GrimpException
from cloacina_audit.adapters.importlinter import InvalidContractOptions, configured
from cloacina_audit.analysis.contracts.chains import chain_rank, forbidden_chains
from cloacina_audit.analysis.contracts.specs import (  # noqa: F401  (the engine's API)
    ContractSpec,
    available_presets,
    preset_specs,
    user_specs,
)
from cloacina_audit.analysis.contracts.symbols import module_file_resolver
from cloacina_audit.analysis.contracts.types import contract_class, stdout_to_stderr
from cloacina_audit.analysis.imports.graph import IMPLICIT, PackageGraph
from cloacina_audit.errors import AuditError
from cloacina_audit.model.report import (
    KIND_STRENGTH,
    ContractResult,
    ContractStatus,
    ImportKind,
    ImportStep,
    Violation,
)

#: Contract types checked on the graph with implicit parent imports.
_RUNTIME_TRUTH_TYPES = {"forbidden", "allowed_imports"}


def check_contracts(specs: list[ContractSpec], package_graph: PackageGraph,
                    looked_outside: set[str] | None = None) -> list[ContractResult]:
    """Each contract checked on ``package_graph``, with its own configuration's contract types
    (types.py); import-linter's settings and where the symbol contracts read module files
    are bound for this call only, and put back as they were after it.

    ``looked_outside`` collects the modules a contract had to find outside the graph."""
    plain = package_graph.graph
    with_implicit = package_graph.with_implicit_parent_imports()
    results = []
    # Custom contract types run here: stdout stays the report's.
    with configured(), module_file_resolver(package_graph.module_file) as outside, \
            stdout_to_stderr():
        for spec in specs:
            base = with_implicit if spec.options.get("type") in _RUNTIME_TRUTH_TYPES else plain
            results.append(_check_one(spec, base, package_graph))
    if looked_outside is not None:
        looked_outside |= outside
    return results


def _check_one(spec: ContractSpec, base: grimp.ImportGraph, pg: PackageGraph) -> ContractResult:
    options = spec.options
    warnings = list(spec.warnings)
    unseen: set[str] = set()  # missing packages the contract would have to look into
    status: ContractStatus | None = None
    if spec.from_preset:
        fitted, warnings, unseen, applies = _fit_preset_to_graph(spec, base, pg)
        if fitted is None:
            status = "unverified" if unseen else None if applies else "not_applicable"
            return ContractResult(
                spec.name, str(spec.options.get("type")), True, [], warnings, spec.origin,
                status=status,
            )
        options = fitted
    session = {
        **spec.session_options,
        # Packages that are not installed but whose modules statements name are
        # graphed like the packages found (see not_installed.add_not_installed_nodes).
        "root_packages": sorted(set(pg.roots) | {
            m for m in pg.missing if m in base.modules and not base.is_module_squashed(m)
        }),
        "include_external_packages": "True",
        "exclude_type_checking_imports": str("type_checking" in spec.ignored_kinds),
    }
    contract = _instantiate(spec, options, session)
    graph = base
    while True:
        # The contract removes its ignore_imports from the copy it checks: chains
        # are looked up in that copy.
        checked = copy.deepcopy(graph)
        check = _run_check(spec, contract, checked)
        violations, dropped = _violations(check.metadata, checked, pg, spec.ignored_kinds)
        if _routes_chains(contract):
            violations = _import_time_routes(contract, check.metadata, checked, pg, violations)
        ignorable = {
            (step.importer, step.imported)
            for violation in violations
            for step in violation.chain
            if _edge_is_ignorable(step, graph, pg, spec.ignored_kinds)
        }
        if check.kept or not ignorable:
            break
        graph = copy.deepcopy(graph)
        for importer, imported in ignorable:
            graph.remove_import(importer=importer, imported=imported)
    warnings += [str(w) for w in getattr(check, "warnings", [])]
    kept = bool(check.kept) or (not violations and dropped > 0)
    status = "unverified" if kept and unseen else None
    return ContractResult(
        name=spec.name,
        type=str(options.get("type")),
        kept=kept,
        violations=[] if kept else sorted(violations, key=_rank),
        warnings=warnings,
        origin=spec.origin,
        instructions=spec.instructions,
        status=status,
    )


def _instantiate(spec: ContractSpec, options: dict[str, Any], session: dict[str, Any]) -> Any:
    contract_type = options.get("type")
    if not contract_type:
        raise AuditError(f"{spec.origin}: contract {spec.name!r} has no type")
    found = contract_class(str(contract_type), spec.session_options.get("contract_types", []),
                           spec.origin)
    if found is None:
        raise AuditError(f"{spec.origin}: contract {spec.name!r} has unknown type {contract_type!r}")
    # `instructions` is ours: import-linter 2.x refuses options its contract class lacks.
    options = {key: value for key, value in options.items() if key != "instructions"}
    try:
        return found(name=spec.name, session_options=session, contract_options=options)
    except InvalidContractOptions as exc:
        field_name, message = next(iter(exc.errors.items()))
        raise AuditError(f"{spec.origin}: contract {spec.name!r}: {field_name}: {message}") from None


def _run_check(spec: ContractSpec, contract: Any, graph: grimp.ImportGraph) -> Any:
    try:
        return contract.check(graph, verbose=False)
    except (ValueError, GrimpException) as exc:
        raise AuditError(f"{spec.origin}: contract {spec.name!r}: {exc}") from None


def _fit_preset_to_graph(
    spec: ContractSpec, graph: grimp.ImportGraph, pg: PackageGraph
) -> tuple[dict[str, Any] | None, list[str], set[str], bool]:
    """Drop preset modules the graph does not hold; None when nothing is left to check.

    Also returns the missing packages a dropped module lives in (a forbidden
    ``cloacina.runtime`` is not "absent" when cloacina is imported but not
    installed), and whether the contract applies at all: it does not when the
    graph holds none of the modules it names besides the audited packages (the
    cloacina preset on a package that never mentions cloacina). When it applies
    and no forbidden module is in the graph, it is kept: nothing reaches them.
    """
    options = dict(spec.options)
    warnings: list[str] = []
    unseen: set[str] = set()
    modules = graph.modules
    keys = [key for key in ("source_modules", "forbidden_modules") if key in options]
    applies = False
    for key in keys:
        values = options[key]
        values = [values] if isinstance(values, str) else list(values)
        kept, absent = [], []
        for module in values:
            top = pg.missing_ancestor(module)
            if module in modules:
                kept.append(module)
                applies = applies or module not in spec.packages
            elif top is not None and top in modules:
                applies = True
                if key == "forbidden_modules":
                    unseen.add(top)
                warnings.append(
                    f"cannot look inside {top}: it is imported but not installed, "
                    f"so {module} was not checked"
                )
            else:
                absent.append(module)
        options[key] = kept
        if absent:
            warnings.append(
                f"not in the import graph (nothing can reach what is not there): {', '.join(absent)}"
            )
    named = [m for key in keys for m in _as_list(spec.options[key]) if m not in spec.packages]
    # A contract that names no module beyond the audited packages (forbidden_symbols,
    # allowed_imports) is about the packages themselves: it always applies.
    applies = applies or not named
    if not applies:
        warnings = [f"not applicable: the import graph holds none of {', '.join(named)}"]
    if not all(options[key] for key in keys):
        return None, warnings, unseen, applies
    if "forbidden_modules" in options and "source_modules" in options:
        options["source_modules"] = _around(options["source_modules"], options["forbidden_modules"],
                                            graph)
    return options, warnings, unseen, applies


def _around(sources: list[str], forbidden: list[str], graph: grimp.ImportGraph) -> list[str]:
    """A preset's source package that holds a forbidden one (prefect holds prefect.cli)
    stands for its parts outside it: the forbidden module may not be imported by the
    rest of its own package. (Its parent's ``__init__`` then is not a source.)"""
    def overlaps(module: str) -> bool:
        return any(f == module or f.startswith(module + ".") for f in forbidden)

    found: list[str] = []
    for source in sources:
        if not overlaps(source):
            found.append(source)
            continue
        children = sorted(graph.find_children(source))
        found += _around([c for c in children if c not in forbidden], forbidden, graph)
    return found


def _as_list(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _chains(metadata: Any) -> list[list[dict[str, Any]]]:
    """Every chain in a contract check's metadata, whatever the contract type.

    import-linter's contract types nest their chains differently (forbidden and
    independence under ``invalid_chains``, layers under routes); each chain is a
    list of ``{importer, imported, ...}`` links, which is what is looked for.
    """
    found: list[list[dict[str, Any]]] = []

    def walk(value: Any) -> None:
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            value = dataclasses.asdict(value)
        if isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, (list, tuple, set, frozenset)):
            items = list(value)
            if items and all(isinstance(i, dict) and {"importer", "imported"} <= set(i) for i in items):
                found.append(items)
            else:
                for item in items:
                    walk(item)

    walk(metadata)
    return found


def _violations(
    metadata: Any, graph: grimp.ImportGraph, pg: PackageGraph, ignored: frozenset[str]
) -> tuple[list[Violation], int]:
    """The violations in a check's metadata, and how many were dropped as ignored.

    Links of graph contracts are located through the graph. Links that carry
    their own ``file`` (symbol-level contracts: ``cloaca.DefaultRunner`` is no
    module of the graph) are taken as they are, and a chain with a step of an
    ignored kind is dropped, since there is no graph edge to remove.
    """
    violations, dropped = [], 0
    for chain in _chains(metadata):
        if all("file" in link for link in chain):
            steps = tuple(_located_step(link) for link in chain)
            if any(step.kind in ignored for step in steps):
                dropped += 1
                continue
        else:
            steps = tuple(_step(link["importer"], link["imported"], graph, pg) for link in chain)
        violations.append(Violation(chain=steps, reason=str(chain[-1].get("why") or "")))
    violations += _cycle_breakers(metadata, graph, pg)
    return violations, dropped


def _cycle_breakers(metadata: Any, graph: grimp.ImportGraph, pg: PackageGraph) -> list[Violation]:
    """acyclic_siblings: the imports whose removal makes each package acyclic, as
    lint-imports names them; each one an offending statement of its own."""
    breakers = metadata.get("cycle_breakers_by_package", {}) if isinstance(metadata, dict) else {}
    return [
        Violation(chain=(_step(importer, imported, graph, pg),),
                  reason=f"removing it makes the children of {package} acyclic")
        for package, imports in sorted(breakers.items())
        for importer, imported in sorted(imports)
    ]


def _routes_chains(contract: Any) -> bool:
    """Forbidden contracts with indirect chains: their chains are chosen here (see chains.py)."""
    return getattr(contract, "type_name", "") == "forbidden" and (
        str(getattr(contract, "allow_indirect_imports", False)).lower() != "true"
    )


def _import_time_routes(
    contract: Any,
    metadata: Any,
    graph: grimp.ImportGraph,
    pg: PackageGraph,
    found: list[Violation],
) -> list[Violation]:
    """For each (source, forbidden) pair import-linter found broken, the best-ranked chain
    of every module pair between them (see chains.py), instead of grimp's hash-ordered pick."""
    def edge_kind(importer: str, imported: str) -> str:
        # One statement in column 0 makes the edge module-level: the strongest kind, so
        # the importer's file is parsed only when all its statements are indented.
        path = pg.module_file(importer)
        details = graph.get_import_details(importer=importer, imported=imported)
        if any(pg.kinds.known_without_parsing(path, int(d["line_number"])) == "module"
               for d in details if d["line_contents"] != IMPLICIT):
            return "module"
        kinds = [kind for kind, _, _ in _candidates(importer, imported, graph, pg)]
        return max(kinds, key=KIND_STRENGTH.__getitem__, default="module")

    def members(module: str) -> set[str]:
        if as_packages and module in graph.modules and not graph.is_module_squashed(module):
            return {module} | graph.find_descendants(module)
        return {module}

    as_packages = str(getattr(contract, "as_packages", True)).lower() == "true"
    routed: dict[tuple[str, ...], Violation] = {}
    for entry in metadata.get("invalid_chains", []):
        downstream = members(entry["downstream_module"])
        upstream = members(entry["upstream_module"])
        for path in forbidden_chains(graph, downstream, upstream, edge_kind):
            routed.setdefault(path, Violation(chain=tuple(
                _step(importer, imported, graph, pg) for importer, imported in zip(path, path[1:])
            )))
    return list(routed.values()) if routed else found


def _rank(violation: Violation) -> tuple[int, int, int, tuple[str, ...]]:
    """Best chain first (see chains.py), then by module names."""
    modules = (violation.chain[0].importer, *(step.imported for step in violation.chain))
    return chain_rank((step.kind for step in violation.chain), modules)


def _located_step(link: dict[str, Any]) -> ImportStep:
    lines = link.get("line_numbers") or (0,)
    kind = link.get("kind", "module")
    return ImportStep(
        importer=str(link["importer"]),
        imported=str(link["imported"]),
        file=str(link["file"]),
        line=int(lines[0]),
        kind=kind if kind in KIND_STRENGTH else "module",
        statement=str(link.get("line_contents", "")),
    )


def _candidates(
    importer: str, imported: str, graph: grimp.ImportGraph, pg: PackageGraph
) -> list[tuple[ImportKind, int, str]]:
    path = pg.module_file(importer)
    found: list[tuple[ImportKind, int, str]] = []
    for detail in graph.get_import_details(importer=importer, imported=imported):
        if detail["line_contents"] == IMPLICIT:
            parent_init = imported.replace(".", "/") + "/__init__.py"
            found.append(("implicit", 1, f"(implicit) importing {importer} runs {parent_init}"))
        else:
            line = int(detail["line_number"])
            found.append((pg.kinds.of_line(path, line), line, str(detail["line_contents"])))
    return found


def _step(importer: str, imported: str, graph: grimp.ImportGraph, pg: PackageGraph) -> ImportStep:
    path = pg.module_file(importer)
    candidates = _candidates(importer, imported, graph, pg) or [("module", 1, "")]
    kind, line, statement = max(candidates, key=lambda c: (KIND_STRENGTH[c[0]], -c[1]))
    return ImportStep(
        importer=importer,
        imported=imported,
        file=str(path) if path else importer,
        line=line,
        kind=kind,
        statement=statement,
        not_installed=pg.is_not_installed(imported),
    )


def _edge_is_ignorable(
    step: ImportStep, graph: grimp.ImportGraph, pg: PackageGraph, ignored: frozenset[str]
) -> bool:
    kinds = {kind for kind, _, _ in _candidates(step.importer, step.imported, graph, pg)}
    return bool(kinds) and kinds <= ignored
