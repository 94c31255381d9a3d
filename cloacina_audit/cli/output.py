"""Where the report goes and how it looks, settled before any work starts."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import click

from cloacina_audit.errors import AuditError
from cloacina_audit.model.report import AuditReport
from cloacina_audit.render import render
from cloacina_audit.render.terminal import ReportStream, report_width, use_color


@dataclass
class Output:
    """Where the report goes and how it looks, settled before any work starts."""

    fmt: str
    path: Path | None
    stream: ReportStream
    color: bool
    width: int
    detail: int
    #: Whether a spinner may run on stderr.
    progress: bool


def start(fmt: str, output: Path | None, kwargs: dict) -> Output:
    """Validate what the options alone decide, and claim stdout for the report."""
    if kwargs["quiet"] and kwargs["verbose"]:
        raise click.UsageError("--quiet and --verbose exclude each other")
    if output is not None and not output.parent.is_dir():
        raise AuditError(f"--output {output}: no such directory: {output.parent}")
    if kwargs["color"] == "never":
        # Never means the spinner on stderr too (rich reads NO_COLOR), and uv's messages.
        os.environ["NO_COLOR"] = "1"
    stream = ReportStream.claim()
    if output is None and stream.fd is None:
        raise AuditError("standard output is closed: nowhere to write the report (use --output FILE)")
    to_terminal = output is None and stream.is_terminal
    # FORCE_COLOR is about what a terminal or CI log shows; a report file has colour only
    # when asked for by name.
    color = kwargs["color"] if output is None else kwargs["color"].replace("auto", "never")
    return Output(
        fmt=fmt,
        path=output,
        stream=stream,
        color=use_color(color, to_terminal, os.environ),
        width=report_width(stream.fd if to_terminal else None, os.environ),
        detail=-1 if kwargs["quiet"] else 1 if kwargs["verbose"] else 0,
        progress=not kwargs["quiet"] and sys.stderr.isatty(),
    )
def emit(report: AuditReport, out: Output) -> None:
    write(render(report, out.fmt, color=out.color, width=out.width, detail=out.detail), out)


def write(text: str, out: Output) -> None:
    if out.path is None:
        out.stream.write(text if not text or text.endswith("\n") else text + "\n")
        return
    try:
        out.path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise AuditError(f"--output {out.path}: cannot write: {exc.strerror}") from None
