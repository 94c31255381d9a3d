"""The cloacina-rust contract: what a package's library links, and what its sources name.

Chains read like ``cargo tree -i``: from the package to a forbidden crate, each
step on the manifest line that declares the dependency (kind ``crate``); a path
into a forbidden crate in the package's sources is a one-step chain (kind
``use``). Only normal dependencies of the library count: dev-dependencies never
link into the cdylib, build-dependencies run at build time and are reported apart.
"""

from __future__ import annotations

import fnmatch
import re
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from cloacina_audit.discover.config import read_toml
from cloacina_audit.errors import AuditError
from cloacina_audit.model.report import ContractResult, ContractStatus, Finding, ImportStep, Violation
from cloacina_audit.rust.metadata import CrateGraph
from cloacina_audit.rust.sources import forbidden_paths

_PRESET_DIRS = (
    Path(__file__).parents[1] / "_contracts",  # installed wheel
    Path(__file__).parents[2] / "contracts",  # source checkout / editable install
)


@dataclass
class RustPreset:
    name: str
    forbidden_crates: list[str]
    forbidden_paths: list[str]
    instructions: tuple[str, ...] = ()
    warn_features: dict[str, list[str]] = field(default_factory=dict)
    origin: str = ""


def read_preset(name: str) -> RustPreset:
    path = next((d / f"{name}.toml" for d in _PRESET_DIRS if (d / f"{name}.toml").is_file()), None)
    if path is None:
        raise AuditError(f"unknown Rust preset {name!r} (available: cloacina-rust)")
    document = read_toml(path)
    [(_, contract)] = document["contract"].items()
    return RustPreset(
        name=contract["name"],
        forbidden_crates=list(contract.get("forbidden-crates", [])),
        forbidden_paths=list(contract.get("forbidden-paths", [])),
        instructions=tuple(contract.get("instructions", [])),
        warn_features={k: list(v) for k, v in document.get("warn-features", {}).items()},
        origin=f"preset:{name}",
    )


def check_crate(graph: CrateGraph, preset: RustPreset, src: Path) -> tuple[ContractResult, list[Finding]]:
    forbidden = [name for name in graph.crates if _matches(name, preset.forbidden_crates)]
    violations: list[Violation] = []
    warnings: list[str] = []
    status: ContractStatus | None = None
    closure = normal_closure(graph)
    for name in sorted(set(closure) - {graph.root.name}):
        if name in forbidden or _matches(name, preset.forbidden_crates):
            violations.append(Violation(chain=_chain(graph, closure, name),
                                        reason=_reason(graph)))
    for use in forbidden_paths(src, set(preset.forbidden_paths)):
        violations.append(Violation(chain=(ImportStep(
            importer=graph.root.name, imported=use.path, file=str(use.file), line=use.line,
            kind="use", statement=use.statement),)))
    if not graph.resolved:
        how = "Cargo.lock's closure from the direct dependencies" if graph.lock else \
            "the direct dependencies only (no Cargo.lock)"
        warnings.append(f"cargo could not resolve the closure offline ({graph.unresolved_reason}): "
                        f"checked {how}; features and platforms not resolved")
        if not graph.lock and not violations:
            status = "unverified"
    result = ContractResult(
        name=preset.name, type="forbidden_crates", kept=not violations, violations=violations,
        warnings=warnings, origin=preset.origin, instructions=preset.instructions, status=status,
    )
    return result, (_feature_findings(graph, preset, closure) + _build_findings(graph, preset)
                    + _packaged_findings(graph))


def _packaged_findings(graph: CrateGraph) -> list[Finding]:
    """Cloacina's macros emit ``::cloacina::`` paths under ``cfg(not(feature = "packaged"))``
    of the calling crate: a default build without its own ``packaged`` feature needs the engine."""
    features = graph.root.features
    if "packaged" not in features or "packaged" in features.get("default", []):
        return []
    line, _ = declaration_line(graph.root.manifest_path, "packaged")
    return [Finding(
        rule="rust-packaged-feature-off", level="warning",
        message="the default build leaves this crate's `packaged` feature off: Cloacina's macros "
                "then expand to ::cloacina:: paths (add \"packaged\" to [features] default)",
        file=str(graph.root.manifest_path), line=line or None,
    )]


def _matches(name: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)


def _reason(graph: CrateGraph) -> str:
    return "" if graph.resolved else "from Cargo.lock (features not resolved)"


def normal_edges(graph: CrateGraph, name: str) -> list[str]:
    if graph.resolved:
        return [dep for dep, kinds in graph.edges.get(name, []) if None in kinds]
    if name == graph.root.name:
        return sorted({d.name for d in graph.root.dependencies if d.kind is None})
    return graph.lock.get(name, [])


def normal_closure(graph: CrateGraph) -> dict[str, str | None]:
    """Crate -> the crate that first depends on it (breadth first: the shortest chain)."""
    parent: dict[str, str | None] = {graph.root.name: None}
    queue = deque([graph.root.name])
    while queue:
        current = queue.popleft()
        for dep in normal_edges(graph, current):
            if dep not in parent:
                parent[dep] = current
                queue.append(dep)
    return parent


def _chain(graph: CrateGraph, parent: dict[str, str | None], target: str) -> tuple[ImportStep, ...]:
    names = [target]
    while parent[names[-1]] is not None:
        names.append(parent[names[-1]])  # type: ignore[arg-type]
    names.reverse()
    steps = []
    for importer, imported in zip(names, names[1:]):
        crate = graph.crates.get(importer)
        manifest = crate.manifest_path if crate else graph.root.manifest_path
        line, text = declaration_line(manifest, imported)
        steps.append(ImportStep(importer=importer, imported=imported, file=str(manifest), line=line,
                                kind="crate", statement=text))
    return tuple(steps)


_SECTION = re.compile(r"^\s*\[([^\]]+)\]\s*$")


def declaration_line(manifest: Path, dependency: str) -> tuple[int, str]:
    """The 1-based line of Cargo.toml that declares ``dependency`` as a normal dependency."""
    try:
        lines = manifest.read_text(encoding="utf-8").splitlines()
    except OSError:
        return 0, ""
    section = ""
    key = re.compile(rf"^\s*(\"?{re.escape(dependency)}\"?)\s*(=|\.)")
    for number, line in enumerate(lines, start=1):
        header = _SECTION.match(line)
        if header:
            section = header.group(1).strip()
            table, _, name = section.rpartition(".")
            if _normal_table(table) and name.strip('"') == dependency:
                return number, line.strip()
            continue
        if _normal_table(section) and key.match(line):
            return number, line.strip()
    return 0, ""


def _normal_table(section: str) -> bool:
    """``[dependencies]`` or a platform's ``[target.'cfg(unix)'.dependencies]``."""
    return section == "dependencies" or (section.startswith("target.")
                                         and section.endswith(".dependencies"))


def _feature_findings(graph: CrateGraph, preset: RustPreset, closure: dict) -> list[Finding]:
    findings = []
    for crate, features in sorted(preset.warn_features.items()):
        if crate not in closure:
            continue
        if graph.resolved:
            enabled = set(graph.crates[crate].enabled_features)
        else:  # what the package asks for itself: other crates may enable more
            enabled = {f for d in graph.root.dependencies if d.name == crate and d.kind is None
                       for f in d.features}
        hit = sorted(enabled & set(features))
        if hit:
            findings.append(Finding(
                rule="rust-heavy-feature", level="warning",
                message=f"{crate} is built with {', '.join(hit)}: a runtime the host already has "
                        f"(links into the cdylib; enable only the features the tasks use)",
                file=str(graph.root.manifest_path),
                line=declaration_line(graph.root.manifest_path, crate)[0] or None,
            ))
    return findings


def _build_findings(graph: CrateGraph, preset: RustPreset) -> list[Finding]:
    return [
        Finding(rule="rust-build-dependency", level="note",
                message=f"build-dependency {d.name} matches the preset: it runs at build time and "
                        "does not link into the cdylib",
                file=str(graph.root.manifest_path))
        for d in graph.root.dependencies if d.kind == "build" and _matches(d.name, preset.forbidden_crates)
    ]
