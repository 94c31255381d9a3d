"""Turn an :class:`~cloacina_audit.model.report.AuditReport` into text: one module per format."""

from __future__ import annotations

from cloacina_audit.errors import AuditError
from cloacina_audit.model.report import AuditReport

FORMATS: tuple[str, ...] = ("text", "json", "markdown", "sarif", "github", "html")


def render(
    report: AuditReport, fmt: str, *, color: bool = False, width: int = 80, detail: int = 0
) -> str:
    """The report in format ``fmt``; ``color`` and ``width`` apply to ``text`` only.

    ``detail`` is -1 (``--quiet``: what fails and the summary), 0, or 1 (``--verbose``: every
    chain of every offending statement) for the formats meant for people; JSON, SARIF and
    GitHub annotations are always complete.
    """
    # Only the format asked for is imported: rich (~50 ms) for the text format alone.
    if fmt == "text":
        from cloacina_audit.render import text

        return text.render(report, color=color, width=width, detail=detail)
    if fmt == "markdown":
        from cloacina_audit.render import markdown

        return markdown.render(report, detail=detail)
    if fmt == "html":
        from cloacina_audit.render import html

        return html.render(report, detail=detail)
    if fmt == "json":
        from cloacina_audit.render import json

        return json.render(report)
    if fmt == "sarif":
        from cloacina_audit.render import sarif

        return sarif.render(report)
    if fmt == "github":
        from cloacina_audit.render import github

        return github.render(report)
    raise AuditError(f"unknown format {fmt!r}: choose one of {', '.join(FORMATS)}")
