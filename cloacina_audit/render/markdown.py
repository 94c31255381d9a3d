"""A pull-request comment.

The first line is always :data:`HEADING` and the second :data:`MARKER`, so CI
can find its earlier comment and update it instead of posting another.
"""

from __future__ import annotations

import re

from cloacina_audit.model.report import AuditReport
from cloacina_audit.render._format import plural
from cloacina_audit.render.build import build_view
from cloacina_audit.render.view import (
    ComparisonView,
    ContractView,
    FootprintView,
    MetricRow,
    PackageView,
    ReportView,
)

HEADING = "## cloacina-audit report"
MARKER = "<!-- cloacina-audit -->"
_VERDICT_ICONS = {"ok": "✅", "contract broken": "❌", "budget exceeded": "⚠️"}
_VERDICT_HEADINGS = {"ok": "OK", "contract broken": "Contract broken",
                     "budget exceeded": "Budget exceeded"}


def render(report: AuditReport, *, detail: int = 0) -> str:
    """Heading and marker, the verdict, then each package: its new violations, the
    footprint's change against ``--before`` (the package compared is the only one), its
    footprint and budgets."""
    view = build_view(report, detail)
    comparison = view.comparison
    install = _install_delta(comparison)
    size_label = view.measured_nouns.size_label
    parts = [f"{HEADING}\n{MARKER}", _verdict(view), _summary(view.packages, install, size_label)]
    for package in view.packages:
        parts.append(_package(package, detail, comparison))
    parts.append(f"<sub>cloacina-audit {cell(view.tool_version)}</sub>")
    return "\n\n".join(part for part in parts if part) + "\n"


def _verdict(view: ReportView) -> str:
    baselined = f" · {view.baselined} (known to the baseline, not shown)" if view.baselined else ""
    return (f"### {_VERDICT_ICONS[view.verdict]} {_VERDICT_HEADINGS[view.verdict]}\n\n"
            f"**Result:** {cell(view.result)}{baselined}")


def delta_cell(value: str, row: MetricRow) -> str:
    """``12.0 kB (+3.2% 🔺)``: a figure with its change; 🔻 when it shrank, no arrow when
    it did not move (or moved within noise)."""
    if not row.delta:
        return value
    arrow = {1: " 🔺", -1: " 🔻"}.get(row.trend, "")
    return f"{value} ({row.delta}{arrow})"


def _install_delta(comparison: ComparisonView | None) -> MetricRow | None:
    rows = comparison.rows if comparison is not None else ()
    return next((row for row in rows if row.key == "install_bytes"), None)


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


def _summary(packages: tuple[PackageView, ...], install: MetricRow | None, size_label: str) -> str:
    rows = [
        [
            f"{code(p.name)}<br>{code(p.path)}",
            p.contracts_summary,
            delta_cell(p.install_size, install) if install else p.install_size,
            p.budgets_summary,
            f"{_VERDICT_ICONS[p.verdict]} {p.verdict}",
        ]
        for p in packages
    ]
    return table(["Package", "Contracts", size_label, "Budgets", "Verdict"], rows)


def _comparison(comparison: ComparisonView) -> str:
    parts = [
        "#### Before and after",
        f"Before: {code(comparison.before_path)} · after: {code(comparison.after_path)}",
        table(["", "Before", "After", "Change"],
              [[row.label, row.before, delta_cell(row.after, row), row.change]
               for row in comparison.rows], "lrrr"),
    ]
    if comparison.goal is not None:
        icon = "✅ " if comparison.goal_reached else ""
        parts.append(f"**{icon}{cell(comparison.goal)}**")
    if comparison.changes:
        parts.append(_distribution_changes(comparison))
    return "\n\n".join(parts)


def _distribution_changes(comparison: ComparisonView) -> str:
    rows = [
        [
            code(change.label),
            change.status,
            cell(change.version_before or "-"),
            cell(change.version_after or "-"),
            change.change,
        ]
        for change in comparison.changes
    ]
    nouns = comparison.nouns
    body = table([nouns.heading, "", "Before", "After", "Size change"], rows, "llllr")
    count = plural(len(rows), nouns.unit)
    return f"<details><summary>{count} changed</summary>\n\n{body}\n\n</details>"


def _package(package: PackageView, detail: int, comparison: ComparisonView | None) -> str:
    parts = [f"### {code(package.name)}", f"Path: {code(package.path)}"]
    parts += [_contract(contract, detail) for contract in package.contracts]
    if package.findings:
        parts.append(_findings(package))
    if package.costs:
        rows = "\n".join(f"| {code(where)} | {cell(saved)} |" for where, saved in package.costs)
        parts.append(f"**Cost of each offending statement**\n\n| Statement | Removing it alone |\n"
                     f"| --- | --- |\n{rows}")
    if comparison is not None:
        parts.append(_comparison(comparison))
    if package.footprint is not None:
        parts.append(_footprint(package.name, package.footprint))
    if package.budgets:
        parts.append(_budgets(package))
    return "\n\n".join(parts)


def _contract(contract: ContractView, detail: int) -> str:
    if contract.state_label:
        warnings = "; ".join(contract.warnings)
        return f"⚠️ **{cell(contract.name)}** {contract.state_label}: {cell(warnings)}"
    baselined = f" ({contract.baselined})" if contract.baselined else ""
    if contract.kept:
        return f"✅ **{cell(contract.name)}** kept{baselined}"
    parts = [f"❌ **{cell(contract.name)}** broken: {contract.count}{baselined}"]
    parts += [f"> ⚠ {cell(warning)}" for warning in contract.warnings]
    for statement in contract.capped_statements:
        blocks = []
        for chain in statement.chains:
            steps = [] if detail < 0 else [
                f"{step.short_location}  {step.statement}  [{step.kind_label}]"
                for step in chain.steps
            ]
            blocks.append("\n".join([chain.line, *steps]))
        parts.append(code_block("\n\n".join(blocks)))
        if statement.hidden:
            parts.append(f"… and {statement.hidden_text} from this statement")
    if contract.left_out:
        parts.append(
            f"… and {plural(contract.left_out, 'more offending statement')}"
            " (see the JSON or SARIF report)"
        )
    if contract.instructions:
        parts.append("**How to fix:** " + "<br>".join(cell(i) for i in contract.instructions))
    return "\n\n".join(parts)


def _findings(package: PackageView) -> str:
    rows = [
        [f.level, code(f.rule), cell(f.location), cell(f.message)]
        for f in package.findings
    ]
    return "**Findings**\n\n" + table(["Level", "Rule", "Where", "Message"], rows)


def _footprint(name: str, footprint: FootprintView) -> str:
    summary = (
        f"**Footprint:** {footprint.distributions}, {footprint.install_size} {footprint.nouns.size_word}, "
        f"{footprint.natives}"
    )
    parts = [summary, *(cell(line) for line in footprint.shipped)]
    probe = footprint.probe
    if probe is not None:
        forbidden = ", ".join(code(m) for m in probe.forbidden) or "none"
        parts.append(
            f"**Import:** {probe.modules} in {probe.median} (median), {cell(probe.imported)}; "
            f"forbidden modules loaded: {forbidden}"
        )
        if probe.lazy:
            parts.append("**Lazy imports at import time:**\n\n"
                         + "\n".join(f"- {cell(line)}" for line in probe.lazy))
    elif footprint.not_probed:
        parts.append(f"**Import:** not probed: {cell(footprint.not_probed)}")
    if footprint.rows:
        nouns = footprint.nouns
        rows = [
            [
                code(row.label),
                cell(row.version),
                row.size if row.measured else f"? ({cell(row.unmeasured)})",
                *([row.files, row.native_files, row.unique] if nouns.counts_files
                  else [row.native_files]),
            ]
            for row in footprint.rows
        ]
        counted = ["Files", "Native", "Unique"] if nouns.counts_files else ["Native"]
        headings = [nouns.heading, "Version", nouns.size_heading, *counted]
        body = table(headings, rows, "ll" + "r" * (len(headings) - 2))
        title = f"{cell(name)}: size of each {nouns.unit}"
        parts.append(f"<details><summary>{title}</summary>\n\n{body}\n\n</details>")
    return "\n\n".join(parts)


def _budgets(package: PackageView) -> str:
    rows = [
        [code(b.name), cell(b.limit), cell(b.actual), "✅" if b.ok else "❌ exceeded"]
        for b in package.budgets
    ]
    return f"**Budgets** ({package.budgets_summary})\n\n" + table(
        ["Budget", "Limit", "Actual", ""], rows, "lrrl"
    )
