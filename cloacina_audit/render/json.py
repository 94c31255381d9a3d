"""The JSON report: the keys of DESIGN.md, documented in docs/json-report.md.

Keys come in a fixed order (the order the dicts are built in), so two runs over
the same input give the same bytes.
"""

from __future__ import annotations

from typing import Any

from cloacina_audit.model.compare import Change, Delta, compute_delta
from cloacina_audit.model.report import (
    AuditReport,
    BinaryFootprint,
    BudgetResult,
    ContractResult,
    DistributionFootprint,
    Finding,
    Footprint,
    HostProvided,
    ImportProbe,
    ImportStep,
    PackageAudit,
    Violation,
)
from cloacina_audit.render._format import group_by_statement
from cloacina_audit.render.cost import cost_to_dict
from cloacina_audit.render.json_text import dumps_indented

SCHEMA_VERSION = 1


def render(report: AuditReport) -> str:
    return dumps_indented(report_to_dict(report)) + "\n"


def report_to_dict(report: AuditReport) -> dict[str, Any]:
    data: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "tool_version": report.tool_version,
        "packages": [package_to_dict(p) for p in report.packages],
    }
    comparison = report.comparison
    if comparison is not None:
        delta = compute_delta(comparison.before, comparison.after, comparison.target_reduction)
        data["before"] = package_to_dict(comparison.before)
        data["after"] = package_to_dict(comparison.after)
        data["delta"] = delta_to_dict(delta)
    return data


def package_to_dict(audit: PackageAudit) -> dict[str, Any]:
    return {
        "name": audit.name,
        "path": audit.path,
        "contracts": [_contract(c) for c in audit.contracts],
        "findings": [_finding(f) for f in audit.findings],
        "footprint": _footprint(audit.footprint) if audit.footprint else None,
        "budgets": [_budget(b) for b in audit.budgets],
        "git_commit": audit.git_commit,
        "costs": [cost_to_dict(c) for c in audit.costs] if audit.costs is not None else None,
        "costs_together": cost_to_dict(audit.costs_together) if audit.costs_together else None,
    }


def delta_to_dict(delta: Delta) -> dict[str, Any]:
    """Signed changes under the footprint's own keys, each with a ``<key>_pct`` beside it."""
    data: dict[str, Any] = {}
    for key in ("distributions", "install_bytes", "native_files", "native_bytes", "archive_bytes"):
        data.update(_change(key, getattr(delta, key)))
    data.update(_change("package_bytes", delta.package_bytes))
    data["identical"] = delta.identical
    if delta.import_modules.absolute is None and delta.import_seconds.absolute is None:
        data["import"] = None
    else:
        data["import"] = {
            **_change("modules", delta.import_modules),
            **_change("seconds_median", delta.import_seconds),
            "seconds_median_noise": delta.import_seconds.noise,
            "seconds_median_within_noise": delta.import_seconds.within_noise,
        }
    data["contracts"] = {
        "kept_before": delta.contracts_kept.before,
        "kept_after": delta.contracts_kept.after,
        "broken_before": delta.contracts_broken.before,
        "broken_after": delta.contracts_broken.after,
        "by_contract": [
            {"name": c.name, "kept_before": c.kept_before, "kept_after": c.kept_after}
            for c in delta.contracts
        ],
    }
    data["by_distribution"] = [
        {
            "name": d.name,
            "status": d.status,
            "version_before": d.version_before,
            "version_after": d.version_after,
            "bytes_before": d.bytes_before,
            "bytes_after": d.bytes_after,
            **_change("bytes", d.bytes),
            "package": d.package,
        }
        for d in delta.distribution_changes
    ]
    data["reduction"] = {
        "target_pct": _pct(delta.target_reduction),
        "install_bytes_pct": _pct(delta.reduction),
        "reached": delta.target_reached,
    }
    return data


def _change(key: str, change: Change) -> dict[str, Any]:
    absolute, percent = change.absolute, change.percent
    if isinstance(absolute, float):
        absolute = round(absolute, 6)
    return {key: absolute, f"{key}_pct": None if percent is None else round(percent, 2)}


def _pct(fraction: float | None) -> float | None:
    return None if fraction is None else round(fraction * 100, 2)


def _contract(contract: ContractResult) -> dict[str, Any]:
    return {
        "name": contract.name,
        "type": contract.type,
        "kept": contract.kept,
        "status": contract.state,
        "origin": contract.origin,
        "warnings": list(contract.warnings),
        "violations": [_violation(v) for v in contract.violations],
        "baselined": [_violation(v) for v in contract.baselined],
        "instructions": list(contract.instructions),
        "statements": _statements(contract),
    }


def _violation(violation: Violation) -> dict[str, Any]:
    reason = {"reason": violation.reason} if violation.reason else {}
    return {"chain": [_step(s) for s in violation.chain], **reason}


def _statements(contract: ContractResult) -> list[dict[str, Any]]:
    """The violations grouped by the statement they start at (indexes into ``violations``,
    the best chain first)."""
    index = {id(v): i for i, v in enumerate(contract.violations)}
    return [
        {
            "file": group.statement.file,
            "line": group.statement.line,
            "statement": group.statement.statement,
            "kind": group.statement.kind,
            "importer": group.statement.importer,
            "violations": [index[id(v)] for v in group.violations],
        }
        for group in group_by_statement(contract.violations)
    ]


def _step(step: ImportStep) -> dict[str, Any]:
    return {
        "importer": step.importer,
        "imported": step.imported,
        "file": step.file,
        "line": step.line,
        "kind": step.kind,
        "statement": step.statement,
        "not_installed": step.not_installed,
    }


def _finding(finding: Finding) -> dict[str, Any]:
    return {
        "rule": finding.rule,
        "level": finding.level,
        "message": finding.message,
        "file": finding.file,
        "line": finding.line,
    }


def _footprint(footprint: Footprint) -> dict[str, Any]:
    return {
        "distributions": footprint.distributions,
        "install_bytes": footprint.install_bytes,
        "native_files": footprint.native_files,
        "native_bytes": footprint.native_bytes,
        "pyc_bytes": footprint.pyc_bytes,
        "outside_bytes": footprint.outside_bytes,
        "environment": footprint.environment,
        "archive_bytes": footprint.archive_bytes,
        "archive_files": footprint.archive_files,
        "archive_packed": footprint.archive_packed,
        "by_distribution": [_distribution(d) for d in footprint.by_distribution],
        "package": _distribution(footprint.package) if footprint.package else None,
        "import": _probe(footprint.import_probe) if footprint.import_probe else None,
        "import_not_probed": footprint.import_not_probed,
        "host_provided": [_host_provided(h) for h in footprint.host_provided],
        "binary": _binary(footprint.binary) if footprint.binary else None,
    }


def _binary(binary: BinaryFootprint) -> dict[str, Any]:
    return {
        "file": binary.file,
        "built_bytes": binary.built_bytes,
        "stripped_bytes": binary.stripped_bytes,
        "text_bytes": binary.text_bytes,
        "text_by_crate": dict(sorted(binary.text_by_crate.items())),
        "std_text_by_users": [{"crates": list(users), "bytes": size}
                              for users, size in sorted(binary.std_text_by_users.items())],
    }


def _host_provided(host: HostProvided) -> dict[str, Any]:
    measured = host.footprint
    return {
        "name": host.name,
        "version": host.version,
        "bytes": measured.bytes if measured else None,
        "files": measured.files if measured else None,
        "native_files": measured.native_files if measured else None,
        "native_bytes": measured.native_bytes if measured else None,
        "source": host.source,
    }


def _distribution(dist: DistributionFootprint) -> dict[str, Any]:
    return {
        "name": dist.name,
        "version": dist.version,
        "bytes": dist.bytes,
        "files": dist.files,
        "native_files": dist.native_files,
        "unique_bytes": dist.unique_bytes,
        "native_bytes": dist.native_bytes,
        "pyc_bytes": dist.pyc_bytes,
        "outside_bytes": dist.outside_bytes,
        "direct": dist.direct,
        "unmeasured": dist.unmeasured,
    }


def _probe(probe: ImportProbe) -> dict[str, Any]:
    return {
        "modules": probe.modules,
        "forbidden_loaded": list(probe.forbidden_loaded),
        "seconds_median": probe.seconds_median,
        "non_stdlib_modules": probe.non_stdlib_modules,
        "peak_rss_bytes": probe.peak_rss_bytes,
        "runs": probe.runs,
        "entry_modules": list(probe.entry_modules),
        "lazy_imports": [
            {
                "importer": lazy.importer,
                "imported": lazy.imported,
                "file": lazy.file,
                "line": lazy.line,
                "statement": lazy.statement,
                "loaded": lazy.loaded,
                "importer_loaded": lazy.importer_loaded,
                "importer_failed": lazy.importer_failed or None,
            }
            for lazy in probe.lazy_imports
        ],
    }


def _budget(budget: BudgetResult) -> dict[str, Any]:
    return {"name": budget.name, "limit": budget.limit, "actual": budget.actual, "ok": budget.ok}
