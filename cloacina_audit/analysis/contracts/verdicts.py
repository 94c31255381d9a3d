"""Contract verdicts, cached under what decides them.

A contract's result is a function of the graph (named by its identity: the graph
cache entry, which stands for every module file's content, graph_cache.py), of
the contract as configured, of what is missing from the search path, and of the
code that checks it (this tool's, import-linter's and grimp's). When all of these
are the same, the stored result is the result, and neither the contract engine
nor import-linter is loaded.

Only contracts whose inputs are all in that list are cached: import-linter's
built-in types and ``forbidden_symbols``. A configuration that declares its own
``contract_types`` runs code this key cannot see, and ``allowed_imports`` reads
the distributions installed where the tool runs; with either, every contract is
checked every time. ``forbidden_symbols`` reads module files through the graph; a
check that had to look a module up outside it (``symbols.find_module_file``)
stores nothing.

Entries are ``marshal`` data behind this user's MAC (signed_cache.py), like the
graph's: a planted entry is never believed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import marshal
import sys
from pathlib import Path
from typing import Any, NamedTuple

from cloacina_audit.adapters.versions import installed_version
from cloacina_audit.analysis.contracts.specs import ContractSpec
from cloacina_audit.analysis.imports.graph import PackageGraph
from cloacina_audit.model.report import ContractResult, ImportStep, Violation
from cloacina_audit.system.signed_cache import cache_key, read_signed_bytes, write_signed_bytes
from cloacina_audit.system.tool_identity import tool_identity

#: 2: one entry per project and contracts, stamped with the graph it was checked on.
_CACHE_FORMAT = 2

#: Contract types whose verdict depends on nothing but the key's material.
CACHEABLE_TYPES = frozenset(
    {"forbidden", "layers", "independence", "protected", "acyclic_siblings", "forbidden_symbols"}
)


class VerdictKey(NamedTuple):
    #: Names the entry: the project, its search path and the contracts, checked by this
    #: code. An edit to the package gives the same name, so its entry is replaced.
    name: str
    #: The graph's identity and its missing modules: an entry is believed only with these.
    stamp: str


def verdict_key(specs: list[ContractSpec], package_graph: PackageGraph) -> VerdictKey | None:
    """Where the verdicts of ``specs`` checked on ``package_graph`` are kept; None when
    they cannot be cached (no graph identity, or a contract type that reads more than
    the graph)."""
    if package_graph.identity is None or not specs:
        return None
    for spec in specs:
        if spec.options.get("type") not in CACHEABLE_TYPES or spec.session_options.get("contract_types"):
            return None
    graph_key, _, graph_digest = package_graph.identity.partition(":")
    named = {
        "format": _CACHE_FORMAT,
        "tool": tool_identity(),
        "import-linter": installed_version("import-linter"),
        "grimp": installed_version("grimp"),
        "python": list(sys.version_info[:2]),
        "graph": graph_key,
        "contracts": [dataclasses.asdict(spec) for spec in specs],  # sets sorted by _digest
    }
    # What is missing decides where not-installed nodes go (not_installed.py): with the
    # graph, it decides them.
    stamped = {"graph": graph_digest, "missing": sorted(package_graph.missing)}
    try:
        return VerdictKey(_digest(named), _digest({**named, **stamped}))
    except (TypeError, ValueError):  # an option no contract reads as text (a TOML date)
        return None


def load(cache_dir: Path, key: VerdictKey) -> list[ContractResult] | None:
    payload = read_signed_bytes(_entry(cache_dir, key), cache_key(cache_dir))
    if payload is None:
        return None
    try:
        document = marshal.loads(payload)
        if document["stamp"] != key.stamp:
            return None  # the package changed since: the entry is replaced after the check
        return [_result(row) for row in document["results"]]
    except (ValueError, EOFError, TypeError, IndexError, KeyError):
        return None


def store(cache_dir: Path, key: VerdictKey, results: list[ContractResult]) -> None:
    document = {"stamp": key.stamp, "results": [_row(r) for r in results]}
    try:
        write_signed_bytes(_entry(cache_dir, key), marshal.dumps(document), cache_key(cache_dir))
    except OSError:
        pass  # a read-only cache only costs speed


def _entry(cache_dir: Path, key: VerdictKey) -> Path:
    return cache_dir / "verdicts" / f"{key.name}.marshal"


def _digest(material: dict[str, Any]) -> str:
    text = json.dumps(material, sort_keys=True, default=_sorted_set)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _sorted_set(value: object) -> object:
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"not in a contract's options: {type(value).__name__}")


# --- a result as marshal's primitives, and back --------------------------------

def _row(result: ContractResult) -> dict[str, Any]:
    return {
        "name": result.name, "type": result.type, "kept": result.kept,
        "violations": [_violation_row(v) for v in result.violations],
        "warnings": list(result.warnings), "origin": result.origin,
        "instructions": list(result.instructions), "status": result.status,
        "baselined": [_violation_row(v) for v in result.baselined],
    }


def _violation_row(violation: Violation) -> list[Any]:
    return [violation.reason, [dataclasses.astuple(step) for step in violation.chain]]


def _result(row: dict[str, Any]) -> ContractResult:
    return ContractResult(
        name=row["name"], type=row["type"], kept=row["kept"],
        violations=[_violation(v) for v in row["violations"]],
        warnings=list(row["warnings"]), origin=row["origin"],
        instructions=tuple(row["instructions"]), status=row["status"],
        baselined=[_violation(v) for v in row["baselined"]],
    )


def _violation(row: list[Any]) -> Violation:
    reason, steps = row
    return Violation(chain=tuple(ImportStep(*step) for step in steps), reason=reason)
