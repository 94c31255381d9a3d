"""The entry point: every failure becomes one line on stderr and a documented exit code."""

from __future__ import annotations

import errno
import gc
import os
import sys
from typing import NoReturn

import click

from cloacina_audit.cli.commands import cli
from cloacina_audit.errors import AuditError
from cloacina_audit.model.report import EXIT_INPUT_ERROR
from cloacina_audit.render.terminal import ReaderGone
from cloacina_audit.system.processes import (
    EXIT_TERMINATED,
    Terminated,
    install_signal_handlers,
    stop_everything,
)

#: The first generation's threshold (CPython's default: 700). A check allocates
#: millions of short-lived, acyclic objects (syntax trees parsed for import kinds,
#: the graph's details) that reference counting frees; at the default each few
#: hundred of them start a collection that walks the young heap, and the older
#: generations' passes walk the whole of it: a fifth of a cold check of four large
#: packages. mypy, a process of the same shape, raises it the same way.
_YOUNG_THRESHOLD = 200_000


def _collect_garbage_rarely() -> None:
    # What was loaded at start-up lives until exit: frozen, no pass walks it again.
    gc.freeze()
    gc.set_threshold(_YOUNG_THRESHOLD, 30, 30)


def main() -> None:
    """Entry point: every failure becomes one line on stderr and a documented exit code."""
    _collect_garbage_rarely()
    install_signal_handlers()
    try:
        code = cli.main(prog_name="cloacina-audit", standalone_mode=False)
        _flush_stdout()  # --help and --version, the only output written through sys.stdout
        sys.exit(code if isinstance(code, int) else 0)
    except Terminated:  # SIGTERM: the running steps have cleaned up on the way out
        stop_everything()
        click.echo("cloacina-audit: terminated", err=True)
        sys.exit(EXIT_TERMINATED)
    except AuditError as exc:
        click.echo(f"cloacina-audit: error: {exc}", err=True)
        sys.exit(EXIT_INPUT_ERROR)
    except ReaderGone:
        # `| head` closed the pipe: the reader chose to stop reading, so nothing is said,
        # but the report was not delivered whole, so the exit code is not a verdict.
        sys.exit(EXIT_INPUT_ERROR)
    except click.exceptions.Exit as exc:
        _flush_stdout()
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        click.echo(f"cloacina-audit: error: {' '.join(exc.format_message().split())}", err=True)
        sys.exit(EXIT_INPUT_ERROR)
    except BrokenPipeError:
        _silence_stdout()
        sys.exit(EXIT_INPUT_ERROR)
    except OSError as exc:
        if exc.errno not in _NO_ROOM:
            _internal_error(exc)
        _silence_stdout()
        click.echo(f"cloacina-audit: error: cannot write: {exc.strerror}", err=True)
        sys.exit(EXIT_INPUT_ERROR)
    except click.exceptions.Abort:  # click's name for a KeyboardInterrupt
        click.echo("cloacina-audit: interrupted", err=True)
        sys.exit(130)
    except KeyboardInterrupt:
        click.echo("cloacina-audit: interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - the promise is: never a traceback
        _internal_error(exc)
    finally:
        stop_everything()  # nothing the tool started outlives it


#: Errors of a full or failing disk: the environment's fault, not the tool's.
_NO_ROOM = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO}


def _internal_error(exc: BaseException) -> NoReturn:
    if os.environ.get("CLOACINA_AUDIT_DEBUG"):
        raise exc
    message = " ".join(str(exc).split()) or type(exc).__name__
    click.echo(
        f"cloacina-audit: internal error: {type(exc).__name__}: {message} "
        "(set CLOACINA_AUDIT_DEBUG=1 for details)",
        err=True,
    )
    sys.exit(EXIT_INPUT_ERROR)


def _flush_stdout() -> None:
    """Write what click printed now, so that a full or closed stdout is an error, not a
    complaint from the interpreter at exit."""
    if sys.stdout is None:
        return
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()
        sys.exit(EXIT_INPUT_ERROR)
    except (OSError, ValueError) as exc:
        _silence_stdout()
        reason = getattr(exc, "strerror", None) or str(exc)
        click.echo(f"cloacina-audit: error: cannot write to standard output: {reason}", err=True)
        sys.exit(EXIT_INPUT_ERROR)


def _silence_stdout() -> None:
    """Drop what could not be written, so the interpreter does not try again at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
