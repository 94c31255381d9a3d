"""A pull-request comment.

The first line is always :data:`HEADING` and the second :data:`MARKER`, so CI
can find its earlier comment and update it instead of posting another.
"""

from __future__ import annotations

import re

from cloacina_audit.model.compare import Delta, compute_delta
from cloacina_audit.model.report import AuditReport, Comparison, ContractResult, Footprint, PackageAudit
from cloacina_audit.render._format import (
    STATE_LABELS,
    KIND_LABELS,
    budgets_summary,
    chain_line,
    contracts_summary,
    distribution_rows,
    finding_location,
    format_budget_value,
    format_count,
    format_seconds,
    format_signed_size,
    format_size,
    distribution_label,
    goal_line,
    group_by_statement,
    statement_count,
    baselined_count,
    imported_modules,
    install_size,
    metric_cells,
    optional_count,
    optional_size,
    plural,
    shipped_lines,
    short_path,
    step_location,
    step_statement,
    summary_line,
    verdict,
)

HEADING = "## cloacina-audit report"
MARKER = "<!-- cloacina-audit -->"
#: Offending statements shown per contract; a PR comment must stay under GitHub's 65,536
#: characters.
MAX_STATEMENTS = 10

_VERDICT_ICONS = {"ok": "✅", "contract broken": "❌", "budget exceeded": "⚠️"}


def render(report: AuditReport, *, detail: int = 0) -> str:
    parts = [f"{HEADING}\n{MARKER}", _summary(report.packages)]
    if report.comparison is not None:
        parts.append(_comparison(report.comparison))
    for audit in report.packages:
        parts.append(_package(audit, detail))
    parts.append(f"**Result:** {cell(summary_line(report.packages))}")
    parts.append(f"<sub>cloacina-audit {cell(report.tool_version)}</sub>")
    return "\n\n".join(part for part in parts if part) + "\n"


def cell(text: str) -> str:
    """Text safe inside a table cell or a line of Markdown: no HTML, no stray pipes."""
    text = text.replace("&", "&amp;").replace("<", "&lt;")
    return text.replace("|", "\\|").replace("\n", " ")


def code(text: str) -> str:
    """An inline code span (literal, so no entities), safe inside a table cell."""
    return "`" + text.replace("`", "'").replace("|", "\\|").replace("\n", " ") + "`"


def table(headings: list[str], rows: list[list[str]], align: str = "") -> str:
    """A GFM table; ``align`` has one letter per column, ``r`` for right-aligned."""
    rules = ["---:" if align[i : i + 1] == "r" else "---" for i in range(len(headings))]
    lines = [headings, rules, *rows]
    return "\n".join(f"| {' | '.join(line)} |" for line in lines)


def code_block(text: str) -> str:
    """A fenced block whose fence is longer than any run of backticks inside."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{text}\n{fence}"


def _summary(audits: list[PackageAudit]) -> str:
    rows = [
        [
            f"{code(a.name)}<br>{code(a.path)}",
            contracts_summary(a),
            install_size(a),
            budgets_summary(a),
            f"{_VERDICT_ICONS[verdict(a)]} {verdict(a)}",
        ]
        for a in audits
    ]
    return table(["Package", "Contracts", "Install size", "Budgets", "Verdict"], rows)


def _comparison(comparison: Comparison) -> str:
    delta = compute_delta(comparison.before, comparison.after, comparison.target_reduction)
    kept, broken = delta.contracts_kept, delta.contracts_broken
    rows = [
        ["Contracts kept", str(kept.before), str(kept.after), f"{kept.absolute:+d}", ""],
        ["Contracts broken", str(broken.before), str(broken.after), f"{broken.absolute:+d}", ""],
        *[list(metric_cells(key, change)) for key, change in delta.metrics()],
    ]
    parts = [
        "### Before and after",
        f"Before: {code(comparison.before.path)} · after: {code(comparison.after.path)}",
        table(["", "Before", "After", "Change", "%"], rows, "lrrrr"),
    ]
    goal = goal_line(delta)
    if goal is not None:
        icon = "✅ " if delta.target_reached and not delta.identical else ""
        parts.append(f"**{icon}{cell(goal)}**")
    if delta.distribution_changes:
        parts.append(_distribution_changes(delta))
    return "\n\n".join(parts)


def _distribution_changes(delta: Delta) -> str:
    rows = []
    for change in delta.distribution_changes:
        size = change.bytes
        rows.append(
            [
                code(distribution_label(change)),
                change.status,
                cell(change.version_before or "-"),
                cell(change.version_after or "-"),
                "?" if size.absolute is None else format_signed_size(size.absolute),
            ]
        )
    body = table(["Distribution", "", "Before", "After", "Size change"], rows, "llllr")
    count = plural(len(rows), "distribution")
    return f"<details><summary>{count} changed</summary>\n\n{body}\n\n</details>"


def _package(audit: PackageAudit, detail: int) -> str:
    parts = [f"### {code(audit.name)}", f"Path: {code(audit.path)}"]
    for contract in audit.contracts:
        if detail < 0 and contract.kept:
            continue
        parts.append(_contract(contract, audit.path, detail))
    if audit.findings:
        parts.append(_findings(audit))
    if audit.footprint is not None:
        parts.append(_footprint(audit.name, audit.footprint))
    if audit.budgets:
        parts.append(_budgets(audit))
    return "\n\n".join(parts)


def _contract(contract: ContractResult, package_path: str, detail: int) -> str:
    if contract.state in STATE_LABELS:
        warnings = "; ".join(contract.warnings)
        return f"⚠️ **{cell(contract.name)}** {STATE_LABELS[contract.state]}: {cell(warnings)}"
    baselined = f" ({baselined_count(contract)})" if contract.baselined else ""
    if contract.kept:
        return f"✅ **{cell(contract.name)}** kept{baselined}"
    groups = group_by_statement(contract.violations)
    count = statement_count(contract.violations, groups)
    parts = [f"❌ **{cell(contract.name)}** broken: {count}{baselined}"]
    parts += [f"> ⚠ {cell(warning)}" for warning in contract.warnings]
    for group in groups[:MAX_STATEMENTS]:
        shown = group.violations if detail > 0 else group.violations[:1]
        blocks = []
        for violation in shown:
            steps = [] if detail < 0 else [
                f"{short_path(step_location(step, package_path))}  {step_statement(step)}"
                f"  [{KIND_LABELS[step.kind]}]"
                for step in violation.chain
            ]
            blocks.append("\n".join([chain_line(violation), *steps]))
        parts.append(code_block("\n\n".join(blocks)))
        if detail <= 0 and group.others:
            parts.append(f"… and {plural(group.others, 'other chain')} from this statement")
    hidden = len(groups) - MAX_STATEMENTS
    if hidden > 0:
        parts.append(
            f"… and {plural(hidden, 'more offending statement')} (see the JSON or SARIF report)"
        )
    if contract.instructions:
        parts.append("**How to fix:** " + "<br>".join(cell(i) for i in contract.instructions))
    return "\n\n".join(parts)


def _findings(audit: PackageAudit) -> str:
    rows = [
        [f.level, code(f.rule), cell(finding_location(f, audit.path)), cell(f.message)]
        for f in audit.findings
    ]
    return "**Findings**\n\n" + table(["Level", "Rule", "Where", "Message"], rows)


def _footprint(name: str, footprint: Footprint) -> str:
    summary = (
        f"**Footprint:** {plural(footprint.distributions, 'distribution')}, "
        f"{format_size(footprint.install_bytes)} installed, "
        f"{plural(footprint.native_files, 'native file')} ({format_size(footprint.native_bytes)})"
    )
    parts = [summary, *(cell(line) for line in shipped_lines(footprint))]
    probe = footprint.import_probe
    if probe is not None:
        forbidden = ", ".join(code(m) for m in probe.forbidden_loaded) or "none"
        parts.append(
            f"**Import:** {plural(probe.modules, 'module')} in "
            f"{format_seconds(probe.seconds_median)} (median), {cell(imported_modules(probe))}; "
            f"forbidden modules loaded: {forbidden}"
        )
    elif footprint.import_not_probed:
        parts.append(f"**Import:** not probed: {cell(footprint.import_not_probed)}")
    if footprint.by_distribution or footprint.package:
        rows = [
            [
                code(label),
                cell(d.version),
                optional_size(d.bytes) if d.measured else f"? ({cell(d.unmeasured or '')})",
                optional_count(d.files),
                format_count(d.native_files),
                optional_size(d.unique_bytes) if d.unique_bytes is not None else "",
            ]
            for label, d in distribution_rows(footprint)
        ]
        body = table(
            ["Distribution", "Version", "Size", "Files", "Native", "Unique"], rows, "llrrrr"
        )
        title = f"{cell(name)}: size of each distribution"
        parts.append(f"<details><summary>{title}</summary>\n\n{body}\n\n</details>")
    return "\n\n".join(parts)


def _budgets(audit: PackageAudit) -> str:
    rows = [
        [
            code(b.name),
            cell(format_budget_value(b.name, b.limit)),
            cell(format_budget_value(b.name, b.actual)),
            "✅" if b.ok else "❌ exceeded",
        ]
        for b in audit.budgets
    ]
    return f"**Budgets** ({budgets_summary(audit)})\n\n" + table(
        ["Budget", "Limit", "Actual", ""], rows, "lrrl"
    )
