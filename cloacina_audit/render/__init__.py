"""Turn an :class:`~cloacina_audit.model.report.AuditReport` into text: one module per format."""

from __future__ import annotations

from cloacina_audit.errors import AuditError
from cloacina_audit.model.report import AuditReport
from cloacina_audit.render import github, html, json, markdown, sarif, text

FORMATS: tuple[str, ...] = ("text", "json", "markdown", "sarif", "github", "html")


def render(
    report: AuditReport, fmt: str, *, color: bool = False, width: int = 80, detail: int = 0
) -> str:
    """The report in format ``fmt``; ``color`` and ``width`` apply to ``text`` only.

    ``detail`` is -1 (``--quiet``: what fails and the summary), 0, or 1 (``--verbose``: every
    chain of every offending statement) for the formats meant for people; JSON, SARIF and
    GitHub annotations are always complete.
    """
    if fmt == "text":
        return text.render(report, color=color, width=width, detail=detail)
    if fmt == "markdown":
        return markdown.render(report, detail=detail)
    if fmt == "html":
        return html.render(report, detail=detail)
    renderers = {
        "json": json.render,
        "sarif": sarif.render,
        "github": github.render,
    }
    if fmt not in renderers:
        raise AuditError(f"unknown format {fmt!r}: choose one of {', '.join(FORMATS)}")
    return renderers[fmt](report)
