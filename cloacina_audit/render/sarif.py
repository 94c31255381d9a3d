"""SARIF 2.1.0 for code scanning: one rule per contract, one result per offending statement.

Locations are forward-slash paths relative to ``base`` (the current directory
by default, which in CI is the repository root), so GitHub shows each result on
the line where the package's own code starts the chain.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

from cloacina_audit.model.baseline import STALE_RULE, entry_of
from cloacina_audit.model.report import (
    AuditReport,
    BudgetResult,
    ContractResult,
    Finding,
    ImportStep,
    PackageAudit,
    Violation,
)
from cloacina_audit.render._format import (
    KIND_LABELS,
    chain_line,
    display_path,
    failed_budgets,
    format_budget_value,
    group_by_statement,
    plural,
    step_statement,
)
from cloacina_audit.render.cost import saving_suffix
from cloacina_audit.render.json_text import dumps_indented

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
#: The key of ``partialFingerprints``: versioned, as SARIF recommends.
_FINGERPRINT = "cloacinaAuditStatement/v1"
_BASE_ID = "%SRCROOT%"


def render(report: AuditReport, *, base: str | None = None) -> str:
    root = os.path.abspath(base or os.getcwd())
    rules: dict[str, dict[str, Any]] = {}
    results: list[dict[str, Any]] = []
    for audit in report.packages:
        for contract in audit.contracts:
            rule_id = _rule(rules, slugify(contract.name), contract.name, _contract_help(contract))
            results.extend(_violation_results(rule_id, contract, audit, root))
        for finding in audit.findings:
            rule_id = _rule(rules, slugify(finding.rule), finding.rule, finding.rule, finding.level)
            results.append(_finding_result(rule_id, finding, audit, root))
        for budget in failed_budgets(audit):
            name = f"Budget {budget.name}"
            rule_id = _rule(rules, slugify(name), name, f"The footprint budget {budget.name}.")
            results.append(_budget_result(rule_id, budget, audit, root))
    run = {
        "tool": {
            "driver": {
                "name": "cloacina-audit",
                "version": report.tool_version,
                "rules": list(rules.values()),
            }
        },
        "originalUriBaseIds": {_BASE_ID: {"uri": Path(root).as_uri() + "/"}},
        "results": results,
    }
    sarif = {"$schema": SCHEMA, "version": "2.1.0", "runs": [run]}
    return dumps_indented(sarif) + "\n"


def slugify(name: str) -> str:
    """``Workflow packages use only the authoring layer`` -> ``workflow-packages-use-...``."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "rule"


def _rule(
    rules: dict[str, dict[str, Any]],
    rule_id: str,
    name: str,
    help_text: str,
    level: str = "error",
) -> str:
    rules.setdefault(
        rule_id,
        {
            "id": rule_id,
            "shortDescription": {"text": name},
            "fullDescription": {"text": help_text},
            "defaultConfiguration": {"level": level},
        },
    )
    return rule_id


def _contract_help(contract: ContractResult) -> str:
    origin = f" from {contract.origin}" if contract.origin else ""
    text = f"Import-linter {contract.type} contract{origin}: {contract.name}."
    if contract.instructions:
        text += " How to fix: " + " ".join(contract.instructions)
    return text


def _violation_results(
    rule_id: str, contract: ContractResult, audit: PackageAudit, root: str
) -> list[dict[str, Any]]:
    """One result per offending statement, on that statement: its location does not move
    when a different chain from it becomes the best one, so code scanning keeps the alert.

    Its ``partialFingerprints`` is the baseline's fingerprint of the statement (package,
    contract, importer, imported, statement text): moving the code keeps the alert. With
    ``--baseline``, statements the file knows come too, as ``baselineState: unchanged``."""
    results = []
    states = [("new", contract.violations), ("unchanged", contract.baselined)]
    for state, violations in states if audit.baseline_applied else states[:1]:
        results += _statement_results(rule_id, contract, violations, audit, root,
                                      state if audit.baseline_applied else None)
    if not contract.kept and not contract.violations:  # broken by what the import loaded
        text = f"{contract.name}: {'; '.join(contract.warnings)}"
        results.append({"ruleId": rule_id, "level": "error", "message": {"text": text},
                        **_pyproject_locations(audit, root)})
    return results


def _statement_results(
    rule_id: str, contract: ContractResult, violations: list[Violation], audit: PackageAudit,
    root: str, state: str | None,
) -> list[dict[str, Any]]:
    results = []
    for group in group_by_statement(violations):
        first, *rest = group.best.chain
        text = f"{contract.name}: {chain_line(group.best)}"
        if group.others:
            text += f" (and {plural(group.others, 'other chain')} from this statement)"
        text += saving_suffix(audit, first)
        results.append(
            {
                "ruleId": rule_id,
                "level": "error",
                "message": {"text": text},
                "locations": [_step_location(first, audit, root)],
                "relatedLocations": [
                    {"id": number, **_step_location(step, audit, root)}
                    for number, step in enumerate(rest, start=1)
                ],
                "partialFingerprints": {
                    _FINGERPRINT: entry_of(audit.name, contract, group.best).fingerprint
                },
                **({"baselineState": state} if state else {}),
                "properties": {"chains": len(group.violations)},
            }
        )
    return results


def _step_location(step: ImportStep, audit: PackageAudit, root: str) -> dict[str, Any]:
    location = _physical(display_path(step.file, audit.path, root), step.line)
    text = f"{step_statement(step)} [{KIND_LABELS[step.kind]}]"
    return {**location, "message": {"text": text}}


def _finding_result(
    rule_id: str, finding: Finding, audit: PackageAudit, root: str
) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": rule_id,
        "level": finding.level,
        "message": {"text": finding.message},
    }
    if finding.rule == STALE_RULE:  # an entry of the --baseline file that matches nothing now
        result["baselineState"] = "absent"
    if finding.file:
        path = display_path(finding.file, audit.path, root)
        result["locations"] = [_physical(path, finding.line or 0)]
    else:
        result.update(_pyproject_locations(audit, root))
    return result


def _budget_result(
    rule_id: str, budget: BudgetResult, audit: PackageAudit, root: str
) -> dict[str, Any]:
    actual = format_budget_value(budget.name, budget.actual)
    limit = format_budget_value(budget.name, budget.limit)
    return {
        "ruleId": rule_id,
        "level": "error",
        "message": {"text": f"{audit.name}: {budget.name} exceeded: {actual} (limit {limit})"},
        **_pyproject_locations(audit, root),
    }


def _pyproject_locations(audit: PackageAudit, root: str) -> dict[str, Any]:
    """Results about the package as a whole sit on its pyproject.toml, when it has one
    (code scanning shows only results with a location); a requirement has none."""
    if audit.config_file is None:
        return {}
    return {"locations": [_physical(display_path(audit.config_file, audit.path, root), 0)]}


def _physical(path: str, line: int) -> dict[str, Any]:
    """A physicalLocation; relative paths hang off %SRCROOT%, others are file URIs."""
    if Path(path).is_absolute():
        artifact = {"uri": Path(path).as_uri()}
    else:
        artifact = {"uri": quote(path), "uriBaseId": _BASE_ID}
    physical: dict[str, Any] = {"artifactLocation": artifact}
    if line > 0:
        physical["region"] = {"startLine": line}
    return {"physicalLocation": physical}
