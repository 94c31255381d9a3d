"""GitHub Actions workflow commands: one annotation per problem, on the right line,
such as ``::error file=flow/tasks.py,line=4,title=Contract name::a -> b -> c``."""

from __future__ import annotations

from collections.abc import Mapping

from cloacina_audit.model.compare import compute_delta
from cloacina_audit.model.report import AuditReport, BudgetResult, ContractResult, Finding, PackageAudit
from cloacina_audit.render._format import (
    KIND_LABELS,
    chain_line,
    display_path,
    failed_budgets,
    format_budget_value,
    goal_line,
    group_by_statement,
    plural,
    step_location,
    step_statement,
)
from cloacina_audit.render.cost import saving_suffix
from cloacina_audit.render.nouns import nouns_of

_COMMANDS = {"error": "error", "warning": "warning", "note": "notice"}


def render(report: AuditReport, *, base: str | None = None) -> str:
    lines: list[str] = []
    for audit in report.packages:
        for contract in audit.contracts:
            lines.extend(_violations(contract, audit, base))
        lines.extend(_finding(finding, audit, base) for finding in audit.findings)
        lines.extend(_budget(budget, audit, base) for budget in failed_budgets(audit))
    comparison = report.comparison
    if comparison is not None:
        delta = compute_delta(comparison.before, comparison.after, comparison.target_reduction)
        sides = (comparison.before, comparison.after)
        goal = goal_line(delta, nouns_of(side.footprint for side in sides))
        if goal is not None:
            lines.append(command_line("notice", {"title": "cloacina-audit"}, goal))
    return "".join(f"{line}\n" for line in lines)


def command_line(command: str, properties: Mapping[str, str | int | None], message: str) -> str:
    """``::command key=value,...::message`` with GitHub's escaping of both parts."""
    props = ",".join(
        f"{key}={escape_property(str(value))}"
        for key, value in properties.items()
        if value not in (None, "", 0)
    )
    return f"::{command}{' ' + props if props else ''}::{escape_data(message)}"


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _violations(contract: ContractResult, audit: PackageAudit, base: str | None) -> list[str]:
    """One annotation per offending statement: its best chain, how many others, the fix."""
    lines = []
    for group in group_by_statement(contract.violations):
        first = group.statement
        steps = [
            f"{step_location(step, audit.path, base)}  {step_statement(step)}"
            f"  [{KIND_LABELS[step.kind]}]"
            for step in group.best.chain
        ]
        if group.others:
            steps.append(f"(and {plural(group.others, 'other chain')} from this statement)")
        if contract.instructions:
            steps.append("How to fix: " + " ".join(contract.instructions))
        properties: dict[str, str | int | None] = {
            "file": display_path(first.file, audit.path, base),
            "line": first.line,
            "title": contract.name,
        }
        message = "\n".join([chain_line(group.best) + saving_suffix(audit, first), *steps])
        lines.append(command_line("error", properties, message))
    if not contract.kept and not contract.violations:  # broken by what the import loaded
        lines.append(command_line("error", {"title": contract.name}, "; ".join(contract.warnings)))
    if contract.baselined:
        lines.append(command_line("notice", {"title": contract.name},
                                  f"{plural(len(group_by_statement(contract.baselined)), 'offending statement')} "
                                  "known to the baseline, not shown"))
    return lines


def _finding(finding: Finding, audit: PackageAudit, base: str | None) -> str:
    properties = {
        "file": display_path(finding.file, audit.path, base) if finding.file else None,
        "line": finding.line,
        "title": finding.rule,
    }
    return command_line(_COMMANDS[finding.level], properties, finding.message)


def _budget(budget: BudgetResult, audit: PackageAudit, base: str | None) -> str:
    """On the package's pyproject.toml (where budgets are set) when it has one."""
    config = audit.config_file
    properties = {
        "file": display_path(config, audit.path, base) if config is not None else None,
        "title": f"Budget {budget.name} exceeded",
    }
    actual = format_budget_value(budget.name, budget.actual)
    limit = format_budget_value(budget.name, budget.limit)
    return command_line("error", properties, f"{audit.name}: {actual} (limit {limit})")
