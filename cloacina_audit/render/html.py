"""One self-contained HTML file: inline CSS, an inline SVG chart, no network at all.

Every piece of text that comes from the audit goes through :func:`esc`.
"""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass
from html import escape

from cloacina_audit.model.compare import Delta, compute_delta
from cloacina_audit.model.report import (
    AuditReport,
    Comparison,
    ContractResult,
    Footprint,
    ImportProbe,
    PackageAudit,
    Violation,
)
from cloacina_audit.model.names import canonical_name
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
    imported_modules,
    install_size,
    largest_first,
    metric_cells,
    optional_count,
    optional_size,
    plural,
    step_location,
    step_statement,
    summary_line,
    verdict,
)

#: Okabe-Ito colours, distinguishable with colour-blindness; the last is "other".
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442")
OTHER_COLOR = "#9a9a9a"
OTHER = "other"
PACKAGE_COLOR = "#24292f"
PACKAGE = "the package itself"

_VERDICT_CLASSES = {"ok": "ok", "contract broken": "bad", "budget exceeded": "warn",
                    "not applicable": "warn", "not verified": "warn"}
_STATUS_MARKS = {"added": "+", "removed": "−", "changed": "~"}

CSS = """
:root { --ok: #1a7f37; --bad: #cf222e; --warn: #9a6700; --line: #d0d7de; --muted: #57606a;
  --bg-soft: #f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica,
  Arial, sans-serif; color: #1f2328; background: #fff; }
main { max-width: 1080px; margin: 0 auto; padding: 24px 32px 48px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 20px; margin: 36px 0 12px; padding-bottom: 6px;
  border-bottom: 1px solid var(--line); }
h3 { font-size: 16px; margin: 24px 0 8px; }
.meta, .path { color: var(--muted); font-size: 13px; }
code, pre, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
  font-size: 13px; }
table { border-collapse: collapse; width: 100%; margin: 8px 0 16px; }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--line);
  vertical-align: top; }
th { background: var(--bg-soft); font-weight: 600; font-size: 13px; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tbody tr:hover { background: #fafbfc; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 999px; font-size: 12px;
  font-weight: 600; color: #fff; white-space: nowrap; }
.badge.ok { background: var(--ok); } .badge.bad { background: var(--bad); }
.badge.warn { background: var(--warn); }
.down { color: var(--ok); } .up { color: var(--bad); }
.goal { margin: 16px 0; padding: 12px 16px; border-radius: 6px; font-weight: 600;
  border: 1px solid var(--line); background: var(--bg-soft); }
.goal.ok { border-color: var(--ok); background: #dafbe1; }
.goal.bad { border-color: var(--bad); background: #ffebe9; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; margin: 12px 0 20px; }
.card { flex: 1 1 180px; border: 1px solid var(--line); border-radius: 6px; padding: 10px 14px; }
.card .label { color: var(--muted); font-size: 12px; text-transform: uppercase; }
.card .value { font-size: 20px; font-weight: 600; }
.contract { margin: 8px 0; }
.violation { margin: 8px 0 12px 24px; }
.violation .chain { font-weight: 600; margin-bottom: 4px; }
.violation table { table-layout: fixed; }
.violation table td { border-bottom: 1px dashed var(--line); overflow-wrap: anywhere; }
.violation th:nth-child(1) { width: 45%; } .violation th:nth-child(3) { width: 130px; }
.kind { display: inline-block; padding: 0 6px; border-radius: 4px; font-size: 12px;
  white-space: nowrap; border: 1px solid; }
.kind-module { color: var(--bad); border-color: var(--bad); }
.kind-implicit { color: #8250df; border-color: #8250df; }
.kind-function { color: var(--warn); border-color: var(--warn); }
.kind-type_checking { color: var(--muted); border-color: var(--muted); }
.kind-lazy { color: var(--warn); border-color: var(--warn); }
.warning { color: var(--warn); }
.fix { color: #1f2328; }
figure { margin: 12px 0 20px; }
figcaption { color: var(--muted); font-size: 13px; }
svg text { font: 12px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; fill: #1f2328; }
footer { margin-top: 40px; color: var(--muted); font-size: 12px; }
"""


def esc(text: object) -> str:
    return escape(str(text), quote=True)


def render(report: AuditReport, *, detail: int = 0) -> str:
    body = [
        "<header><h1>cloacina-audit report</h1>",
        f'<p class="meta">{plural(len(report.packages), "package")} audited by '
        f"cloacina-audit {esc(report.tool_version)}</p></header>",
        _summary(report.packages),
    ]
    if report.comparison is not None:
        body.append(_comparison(report.comparison))
    else:
        measured = [(a.name, a.footprint) for a in report.packages if a.footprint]
        if measured:
            body.append(_figure(measured, "Install size of each package, by distribution"))
    body.extend(_package(i, audit, detail) for i, audit in enumerate(report.packages))
    body.append(f'<p class="result"><strong>Result:</strong> {esc(summary_line(report.packages))}</p>')
    body.append(f"<footer>Generated by cloacina-audit {esc(report.tool_version)}.</footer>")
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>cloacina-audit report</title>\n<style>{CSS}</style>\n</head>\n"
        "<body>\n<main>\n" + "\n".join(body) + "\n</main>\n</body>\n</html>\n"
    )


def _table(headings: list[str], rows: list[list[str]], numeric: Container[int] = ()) -> str:
    """Headings and cells are HTML already; columns in ``numeric`` are right-aligned."""

    def cls(i: int) -> str:
        return ' class="num"' if i in numeric else ""

    head = "".join(f"<th{cls(i)}>{h}</th>" for i, h in enumerate(headings))
    body = "".join(
        "<tr>" + "".join(f"<td{cls(i)}>{c}</td>" for i, c in enumerate(row)) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _badge(outcome: str) -> str:
    return f'<span class="badge {_VERDICT_CLASSES[outcome]}">{esc(outcome)}</span>'


def _summary(audits: list[PackageAudit]) -> str:
    rows = [
        [
            f'<a href="#pkg-{i}">{esc(a.name)}</a><br><span class="path">{esc(a.path)}</span>',
            esc(contracts_summary(a)),
            esc(install_size(a)),
            esc(budgets_summary(a)),
            _badge(verdict(a)),
        ]
        for i, a in enumerate(audits)
    ]
    return "<h2>Summary</h2>" + _table(
        ["Package", "Contracts", "Install size", "Budgets", "Verdict"], rows, {2}
    )


def _comparison(comparison: Comparison) -> str:
    delta = compute_delta(comparison.before, comparison.after, comparison.target_reduction)
    parts = [
        "<h2>Before and after</h2>",
        f'<p class="path">before: <code>{esc(comparison.before.path)}</code> · '
        f"after: <code>{esc(comparison.after.path)}</code></p>",
    ]
    goal = goal_line(delta)
    if goal is not None:
        cls = "ok" if delta.target_reached and not delta.identical else ""
        parts.append(f'<div class="goal {cls}">{esc(goal)}</div>')
    parts.append(_cards(delta))
    sides = (("before", comparison.before), ("after", comparison.after))
    bars = [(f"{side}: {a.name}", a.footprint) for side, a in sides if a.footprint]
    if bars:
        parts.append(_figure(bars, "Install size before and after, by distribution"))
    parts.append(_metrics_table(delta))
    if delta.distribution_changes:
        parts.append(_distribution_changes(delta))
    return "\n".join(parts)


def _cards(delta: Delta) -> str:
    cards = []
    for key, change in delta.metrics()[:4]:
        label, before, after, _, pct = metric_cells(key, change)
        cls = _direction(change.absolute)
        cards.append(
            f'<div class="card"><div class="label">{esc(label)}</div>'
            f'<div class="value">{esc(before)} → {esc(after)}</div>'
            f'<div class="{cls}">{esc(pct)}</div></div>'
        )
    return f'<div class="cards">{"".join(cards)}</div>'


def _direction(change: float | None) -> str:
    """Smaller is better for every figure in the report."""
    if not change:
        return ""
    return "down" if change < 0 else "up"


def _metrics_table(delta: Delta) -> str:
    kept, broken = delta.contracts_kept, delta.contracts_broken
    rows = [
        ["Contracts kept", str(kept.before), str(kept.after), f"{kept.absolute:+d}", ""],
        ["Contracts broken", str(broken.before), str(broken.after), f"{broken.absolute:+d}", ""],
    ]
    rows += [list(metric_cells(key, change)) for key, change in delta.metrics()]
    cells = [[esc(c) for c in row] for row in rows]
    return _table(["", "Before", "After", "Change", "%"], cells, {1, 2, 3, 4})


def _distribution_changes(delta: Delta) -> str:
    rows = []
    for change in delta.distribution_changes:
        size = change.bytes
        rows.append(
            [
                f"{_STATUS_MARKS[change.status]} {esc(distribution_label(change))}",
                esc(change.status),
                esc(change.version_before or "–"),
                esc(optional_size(change.bytes_before) if change.version_before else "–"),
                esc(change.version_after or "–"),
                esc(optional_size(change.bytes_after) if change.version_after else "–"),
                "?" if size.absolute is None else esc(format_signed_size(size.absolute)),
            ]
        )
    headings = [
        "Distribution",
        "",
        "Version before",
        "Size before",
        "Version after",
        "Size after",
        "Change",
    ]
    return "<h3>Distributions that changed</h3>" + _table(headings, rows, {3, 5, 6})


@dataclass
class _Segment:
    name: str
    bytes: int


def _segments(footprint: Footprint, colored: set[str]) -> list[_Segment]:
    """The bar of one footprint: coloured distributions, the package, the rest as ``other``."""
    segments = []
    other = footprint.install_bytes
    for dist in largest_first(footprint.by_distribution):
        name = canonical_name(dist.name)
        if dist.bytes and name in colored:
            segments.append(_Segment(name, dist.bytes))
            other -= dist.bytes
    if footprint.package is not None and footprint.package.bytes:
        segments.append(_Segment(PACKAGE, footprint.package.bytes))
        other -= footprint.package.bytes
    if other > 0:
        segments.append(_Segment(OTHER, other))
    return segments


def _figure(bars: list[tuple[str, Footprint]], caption: str) -> str:
    """A horizontal stacked bar per footprint, on one linear scale, with a legend."""
    sizes: dict[str, int] = {}
    for _, footprint in bars:
        for dist in footprint.by_distribution:
            name = canonical_name(dist.name)
            sizes[name] = max(sizes.get(name, 0), dist.bytes or 0)
    ranked = [n for n, b in sorted(sizes.items(), key=lambda kv: (-kv[1], kv[0])) if b > 0]
    colors = dict(zip(ranked, PALETTE, strict=False))
    colors[PACKAGE] = PACKAGE_COLOR
    colors[OTHER] = OTHER_COLOR
    rows = [(label, fp.install_bytes, _segments(fp, set(colors))) for label, fp in bars]

    width, label_w, value_w, bar_h, gap = 1000, 190, 90, 28, 14
    track = width - label_w - value_w
    scale = max((sum(s.bytes for s in segs) for _, _, segs in rows), default=0) or 1
    height = len(rows) * (bar_h + gap) + gap
    parts = []
    for row, (label, install_bytes, segs) in enumerate(rows):
        y = gap + row * (bar_h + gap)
        parts.append(
            f'<text x="{label_w - 10}" y="{y + bar_h / 2 + 4:.0f}" text-anchor="end">'
            f"{esc(label)}</text>"
        )
        x = float(label_w)
        for seg in segs:
            w = max(seg.bytes / scale * track, 2.0)
            parts.append(
                f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{bar_h}" '
                f'fill="{colors[seg.name]}"><title>{esc(seg.name)}: '
                f"{esc(format_size(seg.bytes))}</title></rect>"
            )
            x += w
        parts.append(
            f'<text x="{x + 8:.1f}" y="{y + bar_h / 2 + 4:.0f}">'
            f"{esc(format_size(install_bytes))}</text>"
        )
    legend = "".join(
        f'<span style="margin-right:14px;white-space:nowrap">'
        f'<span style="display:inline-block;width:11px;height:11px;background:{color};'
        f'margin-right:5px;vertical-align:-1px"></span>{esc(name)}</span>'
        for name, color in colors.items()
        if any(s.name == name for _, _, segs in rows for s in segs)
    )
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {width} {height}" '
        f'width="100%" aria-label="{esc(caption)}">{"".join(parts)}</svg>'
    )
    return f"<figure>{svg}<figcaption>{esc(caption)}<br>{legend}</figcaption></figure>"


def _package(index: int, audit: PackageAudit, detail: int) -> str:
    parts = [
        f'<h2 id="pkg-{index}">{esc(audit.name)} {_badge(verdict(audit))}</h2>',
        f'<p class="path">{esc(audit.path)}</p>',
    ]
    if audit.contracts:
        parts.append(f"<h3>Contracts ({esc(contracts_summary(audit))})</h3>")
        parts.extend(
            _contract(contract, audit.path, detail)
            for contract in audit.contracts
            if detail >= 0 or not contract.kept
        )
    if audit.findings:
        parts.append(_findings(audit))
    if audit.footprint is not None:
        parts.append(_footprint(audit.footprint))
    if audit.budgets:
        parts.append(_budgets(audit))
    return "\n".join(parts)


def _contract(contract: ContractResult, package_path: str, detail: int) -> str:
    badge = _badge("ok") if contract.kept else _badge("contract broken")
    if contract.state in STATE_LABELS:
        badge = _badge(STATE_LABELS[contract.state])
    groups = group_by_statement(contract.violations)
    about = [part for part in (contract.type, contract.origin) if part]
    if groups:
        about.append(statement_count(contract.violations, groups))
    parts = [
        f'<div class="contract">{badge} <strong>{esc(contract.name)}</strong> '
        f'<span class="meta">{esc(" · ".join(about))}</span></div>'
    ]
    parts.extend(f'<div class="warning violation">⚠ {esc(w)}</div>' for w in contract.warnings)
    for group in groups:
        shown = group.violations if detail > 0 else group.violations[:1]
        for violation in shown:
            parts.append(_violation(violation, package_path))
        if detail <= 0 and group.others:
            parts.append(
                f'<div class="violation meta">… and {esc(plural(group.others, "other chain"))} '
                "from this statement</div>"
            )
    if contract.instructions and not contract.kept:
        lines = "<br>".join(esc(i) for i in contract.instructions)
        parts.append(f'<div class="violation fix"><strong>How to fix:</strong> {lines}</div>')
    return "\n".join(parts)


def _violation(violation: Violation, package_path: str) -> str:
    rows = [
        [
            f'<span class="mono">{esc(step_location(step, package_path))}</span>',
            f"<code>{esc(step_statement(step))}</code>",
            f'<span class="kind kind-{esc(step.kind)}">{esc(KIND_LABELS[step.kind])}</span>',
        ]
        for step in violation.chain
    ]
    return (
        f'<div class="violation"><div class="chain mono">{esc(chain_line(violation))}</div>'
        + _table(["Where", "Statement", "Kind"], rows)
        + "</div>"
    )


def _findings(audit: PackageAudit) -> str:
    rows = [
        [
            esc(f.level),
            f"<code>{esc(f.rule)}</code>",
            f'<span class="mono">{esc(finding_location(f, audit.path))}</span>',
            esc(f.message),
        ]
        for f in audit.findings
    ]
    return "<h3>Findings</h3>" + _table(["Level", "Rule", "Where", "Message"], rows)


def _footprint(footprint: Footprint) -> str:
    parts = [
        "<h3>Footprint</h3>",
        f"<p>{esc(plural(footprint.distributions, 'distribution'))}, "
        f"<strong>{esc(format_size(footprint.install_bytes))}</strong> installed, "
        f"{esc(plural(footprint.native_files, 'native file'))} "
        f"({esc(format_size(footprint.native_bytes))})</p>",
    ]
    if footprint.import_probe is not None:
        parts.append(_import_probe(footprint.import_probe))
    elif footprint.import_not_probed:
        parts.append(f"<p>Import: not probed: {esc(footprint.import_not_probed)}</p>")
    if footprint.by_distribution or footprint.package:
        rows = [
            [
                esc(label),
                esc(d.version),
                esc(optional_size(d.bytes))
                if d.measured
                else f'<span class="warning">not measured: {esc(d.unmeasured)}</span>',
                esc(optional_count(d.files)),
                esc(format_count(d.native_files)),
                esc(format_size(d.native_bytes)) if d.native_bytes else "",
                esc(optional_size(d.unique_bytes)) if d.unique_bytes is not None else "",
            ]
            for label, d in distribution_rows(footprint)
        ]
        headings = [
            "Distribution",
            "Version",
            "Size",
            "Files",
            "Native files",
            "Native size",
            "Unique",
        ]
        parts.append(_table(headings, rows, {2, 3, 4, 5, 6}))
    return "\n".join(parts)


def _import_probe(probe: ImportProbe) -> str:
    forbidden = ", ".join(f"<code>{esc(m)}</code>" for m in probe.forbidden_loaded)
    loaded = (
        f'<span class="up">forbidden modules loaded: {forbidden}</span>'
        if forbidden
        else '<span class="down">no forbidden module loaded</span>'
    )
    return (
        f"<p>Import: {esc(plural(probe.modules, 'module'))} "
        f"({esc(format_count(probe.non_stdlib_modules))} outside the standard library), "
        f"median {esc(format_seconds(probe.seconds_median))} over "
        f"{esc(plural(probe.runs, 'run'))}, {esc(imported_modules(probe))}; {loaded}</p>"
    )


def _budgets(audit: PackageAudit) -> str:
    rows = [
        [
            f"<code>{esc(b.name)}</code>",
            esc(format_budget_value(b.name, b.limit)),
            esc(format_budget_value(b.name, b.actual)),
            _badge("ok") if b.ok else _badge("budget exceeded"),
        ]
        for b in audit.budgets
    ]
    title = f"<h3>Budgets ({esc(budgets_summary(audit))})</h3>"
    return title + _table(["Budget", "Limit", "Actual", ""], rows, {1, 2})
