"""How every format words the cost of an offending statement (the figures are model/cost.py's)."""

from __future__ import annotations

from typing import Any

from cloacina_audit.model.cost import StatementCost
from cloacina_audit.model.report import ImportStep, PackageAudit
from cloacina_audit.model.units import format_bytes
from cloacina_audit.render._format import display_path


def cost_of(audit: PackageAudit, step: ImportStep) -> StatementCost | None:
    for cost in audit.costs or []:
        if (cost.importer, cost.line) == (step.importer, step.line):
            return cost
    return None


def saving(cost: StatementCost) -> str:
    """``saves 40.8 MB, 24 native files, 4 distributions, 137 modules at import``."""
    if cost.bytes is None:
        return "saves an unmeasured amount"
    parts = [format_bytes(cost.bytes)]
    if cost.native_files:
        parts.append(_plural(cost.native_files, "native file"))
    parts.append(_plural(len(cost.distributions), "distribution"))
    if cost.modules is not None:
        parts.append(f"{_plural(cost.modules, 'module')} at import")
    text = "saves " + ", ".join(parts)
    if cost.shared_bytes:
        text += f" ({format_bytes(cost.shared_bytes)} more with the other offending statements)"
    return text


def saving_suffix(audit: PackageAudit, step: ImportStep) -> str:
    """``"; removing it saves 40.8 MB"`` for SARIF and GitHub messages, ``""`` when unknown."""
    cost = cost_of(audit, step)
    if cost is None or cost.bytes is None:
        return ""
    text = f"; removing it saves {format_bytes(cost.bytes)}"
    if cost.shared_bytes:
        text += f" ({format_bytes(cost.shared_bytes)} more with the other offending statements)"
    return text


def cost_rows(audit: PackageAudit, base: str | None = None) -> list[tuple[str, str]]:
    """(``file:line``, what removing it saves) per offending statement, most expensive first,
    then ``all of them`` together."""
    rows = [
        (f"{display_path(c.file, audit.path, base)}:{c.line}", saving(c)) for c in audit.costs or []
    ]
    if audit.costs and audit.costs_together is not None:
        rows.append(("all of them together", saving(audit.costs_together)))
    return rows


def cost_to_dict(cost: StatementCost) -> dict[str, Any]:
    return {
        "file": cost.file, "line": cost.line, "importer": cost.importer,
        "statement": cost.statement, "bytes": cost.bytes, "native_files": cost.native_files,
        "distributions": cost.distributions, "modules": cost.modules,
        "shared_bytes": cost.shared_bytes, "kept_bytes": cost.kept_bytes,
        "reaches": cost.reaches, "offending": cost.offending, "kind": cost.kind,
        "std_bytes": cost.std_bytes,
    }


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"
