"""Where the report goes, and how it looks there: standard output kept for the report alone,
colour and width decided the way rich and most CLIs decide them.

While an audit runs, file descriptor 1 points at standard error: whatever else
writes to standard output (a contract type module of the audited tree, a child
process that inherits the descriptor) lands on stderr, so ``--format json`` on
stdout is exactly the document. The report is written to a duplicate of the
original descriptor at the end.
"""

from __future__ import annotations

import errno
import os
import sys
from dataclasses import dataclass

from cloacina_audit.errors import AuditError

#: Width of text written to a pipe or a file when ``COLUMNS`` does not say otherwise.
PIPED_WIDTH = 100
#: Narrower than this, a chain step cannot be laid out at all.
MIN_WIDTH = 40
COLOR_CHOICES = ("auto", "always", "never")


class ReaderGone(Exception):
    """The reader of standard output went away (EPIPE, as in ``| head``): exit quietly."""


@dataclass
class ReportStream:
    """The original standard output, or None when the process started with it closed."""

    fd: int | None
    is_terminal: bool

    @classmethod
    def claim(cls) -> ReportStream:
        """Keep the real stdout for the report and point descriptor 1 at stderr."""
        sys.stdout.flush() if sys.stdout is not None else None
        try:
            fd = os.dup(1)
        except OSError:  # started with stdout closed
            fd = None
        is_terminal = fd is not None and os.isatty(fd)
        try:
            # Also fills a closed descriptor 1, so no file opened later becomes "stdout".
            os.dup2(2, 1)
        except OSError:
            pass
        return cls(fd, is_terminal)

    def write(self, text: str) -> None:
        if self.fd is None:
            raise AuditError("standard output is closed: nowhere to write the report (use --output FILE)")
        data = text.encode("utf-8")
        try:
            while data:
                written = os.write(self.fd, data)
                data = data[written:]
        except BrokenPipeError:
            raise ReaderGone() from None
        except OSError as exc:
            raise AuditError(
                f"cannot write the report to standard output: {exc.strerror or errno.errorcode.get(exc.errno or 0, exc)}"
            ) from None


def use_color(choice: str, to_terminal: bool, environ: dict[str, str] | os._Environ[str]) -> bool:
    """``--color``: ``always`` and ``never`` win; ``auto`` follows NO_COLOR, then FORCE_COLOR,
    then whether the report goes to a terminal (not a dumb one), as rich does."""
    if choice == "always":
        return True
    if choice == "never":
        return False
    if environ.get("NO_COLOR", ""):
        return False
    if environ.get("FORCE_COLOR", ""):
        return True
    return to_terminal and environ.get("TERM", "") != "dumb"


def report_width(terminal_fd: int | None, environ: dict[str, str] | os._Environ[str]) -> int:
    """``COLUMNS`` when set to a number; else the width of the terminal on ``terminal_fd``;
    else 100. Never below :data:`MIN_WIDTH`."""
    columns = environ.get("COLUMNS", "").strip()
    if columns.isdigit() and int(columns) > 0:
        return max(int(columns), MIN_WIDTH)
    if terminal_fd is not None:
        try:
            return max(os.get_terminal_size(terminal_fd).columns or PIPED_WIDTH, MIN_WIDTH)
        except OSError:
            pass
    return PIPED_WIDTH
