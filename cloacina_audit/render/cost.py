"""How every format words the cost of an offending statement (the figures are model/cost.py's)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cloacina_audit.model.cost import StatementCost
from cloacina_audit.model.report import ImportStep, PackageAudit
from cloacina_audit.model.units import format_bytes
from cloacina_audit.render._format import display_path

if TYPE_CHECKING:  # the view model is 15 dataclasses: the JSON and SARIF reports do not load it
    from cloacina_audit.render.view import SplitPart


def cost_of(audit: PackageAudit, step: ImportStep) -> StatementCost | None:
    for cost in audit.costs or []:
        if (cost.importer, cost.line) == (step.importer, step.line) and cost.offending and \
                (cost.kind == "import" or cost.file == step.file):
            return cost
    return None


def saving(cost: StatementCost) -> str:
    """``saves 40.8 MB, 24 native files, 4 distributions, 137 modules at import``; for Rust
    ``saves 46.3 kB of .text (37.3 kB of it std), 6 crates, 1 native crate``."""
    if cost.bytes is None:
        return "saves an unmeasured amount"
    rust = cost.std_bytes is not None
    parts = [format_bytes(cost.bytes) + (" of .text" if rust else "")]
    if rust and cost.std_bytes:
        parts[0] += f" ({format_bytes(cost.std_bytes)} of it std)"
    if cost.native_files:
        parts.append(_plural(cost.native_files, "native crate" if rust else "native file"))
    crates = f" ({', '.join(cost.distributions)})" if rust and cost.distributions else ""
    parts.insert(1, _plural(len(cost.distributions), "crate" if rust else "distribution") + crates)
    if cost.modules is not None:
        parts.append(f"{_plural(cost.modules, 'module')} at import")
    text = "saves " + ", ".join(parts)
    if cost.shared_bytes:
        text += f" ({format_bytes(cost.shared_bytes)} more with the other offending statements)"
    if cost.then_bytes:
        text += (f"; {format_bytes(cost.then_bytes)}{' of .text' if rust else ''} "
                 f"({', '.join(cost.then_distributions)}) once the offending lines are gone")
    return text


def saving_suffix(audit: PackageAudit, step: ImportStep) -> str:
    """``"; removing it saves 40.8 MB"`` for SARIF and GitHub messages, ``""`` when unknown."""
    cost = cost_of(audit, step)
    if cost is None or cost.bytes is None:
        return ""
    text = f"; removing it saves {format_bytes(cost.bytes)}"
    if cost.std_bytes is not None:
        text += " of .text"
    if cost.shared_bytes:
        text += f" ({format_bytes(cost.shared_bytes)} more with the other offending statements)"
    return text


def cost_rows(audit: PackageAudit, base: str | None = None) -> list[tuple[str, str]]:
    """(``file:line``, what removing it saves) per offending statement, most expensive first,
    then the lines listed for what they cost (breaking no contract), then ``all of them``."""
    rows = [
        (f"{display_path(c.file, audit.path, base)}:{c.line}"
         + ("" if c.offending else " (breaks no contract)"), saving(c))
        for c in audit.costs or []
    ]
    if any(c.offending for c in audit.costs or []) and audit.costs_together is not None:
        rows.append(("all of them together", saving(audit.costs_together)))
    return rows


def cost_split(audit: PackageAudit, base: str | None = None) -> tuple[SplitPart, ...]:
    """The footprint (install size; a Rust package's ``.text``) as what each offending
    statement alone saves, what they save only together, and the rest; () when unmeasured."""
    from cloacina_audit.render.view import SplitPart

    footprint, together = audit.footprint, audit.costs_together
    offending = [c for c in audit.costs or [] if c.offending]
    if footprint is None or together is None or together.bytes is None or not offending:
        return ()
    whole = footprint.binary.text_bytes if footprint.binary else footprint.install_bytes
    if whole <= 0 or any(c.bytes is None for c in offending):
        return ()
    # A Rust dependency line saves what the one use it takes along saves: one segment.
    shown: list[tuple[list[str], set[str], int]] = []
    for c in offending:
        if not c.bytes:
            continue
        where = f"{display_path(c.file, audit.path, base)}:{c.line}"
        same = next((s for s in shown if s[1] & set(c.distributions)), None)
        if same is None:
            shown.append(([where], set(c.distributions), c.bytes))
        else:
            same[0].append(where)
    parts = [(f"{' and '.join(names)} alone", "unique", size) for names, _, size in shown]
    alone = sum(size for _, _, size in parts)
    sharing = sum(1 for c in offending if c.shared_bytes)
    parts.append((f"shared by {sharing} offending statements" if sharing > 1 else
                  "shared by several offending statements", "shared",
                  max(together.bytes - alone, 0)))
    parts.append(("the rest (needed by code that breaks no contract)", "rest",
                  max(whole - together.bytes, 0)))
    return tuple(
        SplitPart(label=label, kind=kind, size=format_bytes(size),
                  percent=f"{100 * size / whole:.1f}%", share=size / whole)
        for label, kind, size in parts
    )


def cost_split_whole(audit: PackageAudit) -> str:
    footprint = audit.footprint
    if footprint is None:
        return ""
    if footprint.binary is not None:
        return f".text {format_bytes(footprint.binary.text_bytes)}"
    return f"install size {format_bytes(footprint.install_bytes)}"


def cost_to_dict(cost: StatementCost) -> dict[str, Any]:
    return {
        "file": cost.file, "line": cost.line, "importer": cost.importer,
        "statement": cost.statement, "bytes": cost.bytes, "native_files": cost.native_files,
        "distributions": cost.distributions, "modules": cost.modules,
        "shared_bytes": cost.shared_bytes, "kept_bytes": cost.kept_bytes,
        "reaches": cost.reaches, "offending": cost.offending, "kind": cost.kind,
        "std_bytes": cost.std_bytes, "then_bytes": cost.then_bytes,
        "then_distributions": cost.then_distributions,
    }


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"
