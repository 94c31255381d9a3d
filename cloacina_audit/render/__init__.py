"""Turn an :class:`~cloacina_audit.models.AuditReport` into text: one module per format."""

from __future__ import annotations

from ..errors import AuditError
from ..models import AuditReport
from . import github, html, json, markdown, sarif, text

FORMATS: tuple[str, ...] = ("text", "json", "markdown", "sarif", "github", "html")


def render(report: AuditReport, fmt: str, *, color: bool = False, width: int = 80) -> str:
    """The report in format ``fmt``; ``color`` and ``width`` apply to ``text`` only."""
    if fmt == "text":
        return text.render(report, color=color, width=width)
    renderers = {
        "json": json.render,
        "markdown": markdown.render,
        "sarif": sarif.render,
        "github": github.render,
        "html": html.render,
    }
    if fmt not in renderers:
        raise AuditError(f"unknown format {fmt!r}: choose one of {', '.join(FORMATS)}")
    return renderers[fmt](report)
