"""Command-line interface: parse options, run the pipeline, render, exit with the right code.

``footprint`` and ``report`` import their machinery (uv environments, probes,
comparisons) when they run, so that ``check``, the pre-commit hook, starts fast.
"""

from __future__ import annotations

import errno
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import click

from cloacina_audit import __version__
from cloacina_audit.app.kinds import check_target
from cloacina_audit.app.options import CheckOptions
from cloacina_audit.discover.target import open_target
from cloacina_audit.errors import AuditError
from cloacina_audit.model.report import EXIT_INPUT_ERROR, AuditReport, Comparison, exit_code
from cloacina_audit.render import FORMATS, render
from cloacina_audit.render.terminal import COLOR_CHOICES, ReaderGone, ReportStream, report_width, use_color
from cloacina_audit.system.cachedir import cache_root
from cloacina_audit.system.processes import (
    EXIT_TERMINATED,
    Terminated,
    install_signal_handlers,
    stop_everything,
)

if TYPE_CHECKING:
    from cloacina_audit.app.options import AuditOptions

_CHECK_FORMATS = ("text", "json", "sarif", "github")
_FOOTPRINT_FORMATS = ("text", "json", "markdown", "github", "html")


def _apply(options: list, command):
    for option in reversed(options):
        command = option(command)
    return command


def _common(formats: tuple[str, ...]):
    """Options every command has: input, output and how the output looks."""

    def decorate(command):
        return _apply([
            click.option("--format", "fmt", type=click.Choice(formats), default="text",
                         show_default=True, help="Output format."),
            click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
                         help="Write the report to FILE instead of standard output."),
            click.option("--config", "config_file", type=click.Path(path_type=Path),
                         help="An import-linter configuration to use instead of the project's."),
            click.option("--preset", help='Contract preset from contracts/ ("none" to disable).'),
            click.option("--python", help="Interpreter whose environment provides dependencies."),
            click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path),
                         help="Cache directory (default: $CLOACINA_AUDIT_CACHE_DIR or ~/.cache)."),
            click.option("--no-cache", is_flag=True, help="Neither read nor write the cache."),
            click.option("--color", type=click.Choice(COLOR_CHOICES), default="auto",
                         show_default=True,
                         help="Colour the text report: auto follows NO_COLOR, FORCE_COLOR and "
                              "whether stdout is a terminal."),
            click.option("--quiet", "-q", is_flag=True,
                         help="Only what fails, no progress; a summary line at the end."),
            click.option("--verbose", "-v", is_flag=True,
                         help="Every import chain, not only the best one per statement."),
        ], command)

    return decorate


def _import_policy_options(command):
    """Only commands that check contracts take these."""
    return _apply([
        click.option("--type-checking-imports", type=click.Choice(["count", "ignore"]),
                     help="Whether imports under `if TYPE_CHECKING:` can break contracts."),
        click.option("--lazy-imports", type=click.Choice(["count", "ignore"]),
                     help="Whether PEP 810 `lazy import` statements can break contracts."),
        click.option("--deferred-imports", type=click.Choice(["count", "ignore"]),
                     help="Whether imports inside functions can break contracts."),
    ], command)


def _baseline_options(command):
    """Only commands that check contracts take these."""
    return _apply([
        click.option("--baseline", "baseline_file", type=click.Path(dir_okay=False, path_type=Path),
                     help="Fail only on violations this file does not record."),
        click.option("--write-baseline", "write_baseline_file",
                     type=click.Path(dir_okay=False, path_type=Path),
                     help="Record today's violations in FILE (and fail on none of them)."),
    ], command)


def _given_baseline(kwargs: dict) -> list | None:
    """Read --baseline and check --write-baseline's directory before any work starts."""
    from cloacina_audit.app.baseline import read_baseline

    written = kwargs["write_baseline_file"]
    if written is not None and not written.parent.is_dir():
        raise AuditError(f"--write-baseline {written}: no such directory: {written.parent}")
    given = kwargs["baseline_file"]
    return read_baseline(given) if given is not None else None


def _with_baseline(audits: list, kwargs: dict, baseline: list | None) -> None:
    """--write-baseline records today's violations, which then count as known;
    else --baseline's entries do."""
    from cloacina_audit.app.baseline import write_baseline
    from cloacina_audit.model.baseline import apply_baseline, entries_of

    if kwargs["write_baseline_file"] is not None:
        baseline = entries_of(audits)
        write_baseline(kwargs["write_baseline_file"], baseline)
    if baseline is not None:
        apply_baseline(audits, baseline)


def _footprint_options(command):
    return _apply([
        click.option("--env", type=click.Choice(["isolated", "current"]), default="isolated",
                     show_default=True,
                     help="Build an isolated uv environment, or measure --python's as it is."),
        click.option("--probe-runs", type=click.IntRange(1, 50), default=3, show_default=True,
                     help="Most fresh-process imports timed (they stop once two agree within 10 % or 20 ms); the median is reported."),
        click.option("--import-timeout", type=float, callback=_timeout,
                     help="Seconds an import may take (default: config, then 60)."),
        click.option("--cloaca-wheel", type=click.Path(dir_okay=False, path_type=Path),
                     help="The host's cloaca, measured from this wheel (shown, never counted)."),
    ], command)


@dataclass
class _Output:
    """Where the report goes and how it looks, settled before any work starts."""

    fmt: str
    path: Path | None
    stream: ReportStream
    color: bool
    width: int
    detail: int
    #: Whether a spinner may run on stderr.
    progress: bool


def _start(fmt: str, output: Path | None, kwargs: dict) -> _Output:
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
    return _Output(
        fmt=fmt,
        path=output,
        stream=stream,
        color=use_color(color, to_terminal, os.environ),
        width=report_width(stream.fd if to_terminal else None, os.environ),
        detail=-1 if kwargs["quiet"] else 1 if kwargs["verbose"] else 0,
        progress=not kwargs["quiet"] and sys.stderr.isatty(),
    )
def _missing_dependencies_option(command):
    return click.option(
        "--missing-dependencies", type=click.Choice(["resolve", "fail", "accept"]),
        default="resolve", show_default=True,
        help="Declared dependencies not installed here: resolve them from wheels (never run), "
             "fail, or check without them.",
    )(command)


def _check_options(kwargs: dict) -> CheckOptions:
    return CheckOptions(
        missing_dependencies=kwargs.get("missing_dependencies", "resolve"),
        python=kwargs["python"],
        config_file=kwargs["config_file"],
        preset=kwargs["preset"],
        type_checking_imports=kwargs.get("type_checking_imports"),
        deferred_imports=kwargs.get("deferred_imports"),
        lazy_imports=kwargs.get("lazy_imports"),
        cache_dir=None if kwargs["no_cache"] else cache_root(kwargs["cache_dir"]),
    )


def _emit(report: AuditReport, out: _Output) -> None:
    _write(render(report, out.fmt, color=out.color, width=out.width, detail=out.detail), out)


def _write(text: str, out: _Output) -> None:
    if out.path is None:
        out.stream.write(text if not text or text.endswith("\n") else text + "\n")
        return
    try:
        out.path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise AuditError(f"--output {out.path}: cannot write: {exc.strerror}") from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]},
             invoke_without_command=True, subcommand_metavar="COMMAND [ARGS]...")
@click.version_option(__version__, "-V", "--version", prog_name="cloacina-audit")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Keep Cloacina workflow packages slim, and prove it."""
    if ctx.invoked_subcommand is None:
        # What click prints for a usage error, without the error: the usage and a hint.
        click.echo(ctx.get_usage(), err=True)
        click.echo(f"Try '{ctx.command_path} --help' for help.", err=True)
        ctx.exit(EXIT_INPUT_ERROR)


@cli.command()
@click.argument("paths", nargs=-1, metavar="[PATH]...")
@_common(_CHECK_FORMATS)
@_import_policy_options
@_baseline_options
@_missing_dependencies_option
def check(paths: tuple[str, ...], fmt: str, output: Path | None, **kwargs) -> None:
    """Check import contracts; runs no package code.

    PATH defaults to the current directory. A directory with only an
    import-linter configuration is checked the way lint-imports would check it.
    """
    out = _start(fmt, output, kwargs)
    baseline = _given_baseline(kwargs)
    options = _check_options(kwargs)
    audits = []
    for path in paths or (".",):
        with open_target(path, options.config_file) as target:
            audits.append(check_target(target, options)[0])
    _with_baseline(audits, kwargs, baseline)
    _emit(AuditReport(packages=audits, tool_version=__version__), out)
    sys.exit(exit_code(audits))


def _timeout(_ctx: click.Context, _param: click.Parameter, value: float | None) -> float | None:
    # Written so that nan fails too: a nan timeout would never expire.
    if value is not None and not 0 < value <= 86400:
        raise click.BadParameter(f"{value} is not a number of seconds between 0 and 86400")
    return value


def _audit_options(kwargs: dict, out: _Output, with_contracts: bool) -> AuditOptions:
    from cloacina_audit.app.options import AuditOptions

    return AuditOptions(
        check=_check_options(kwargs),
        with_contracts=with_contracts,
        env=kwargs["env"],
        probe_runs=kwargs["probe_runs"],
        import_timeout=kwargs["import_timeout"],
        progress=out.progress,
        cloaca_wheel=kwargs["cloaca_wheel"],
    )


@cli.command()
@click.argument("paths", nargs=-1, metavar="[PATH]...")
@_common(_FOOTPRINT_FORMATS)
@_footprint_options
def footprint(paths: tuple[str, ...], fmt: str, output: Path | None, **kwargs) -> None:
    """Measure install and import footprint.

    PATH is a project directory, a Cloacina package directory or .cloacina
    archive, a wheel, or a requirement such as prefect-client==3.8.8.
    Footprint budgets are checked too.
    """
    out = _start(fmt, output, kwargs)
    from cloacina_audit.app.report import audit_many

    audits = audit_many(list(paths or (".",)), _audit_options(kwargs, out, with_contracts=False))
    _emit(AuditReport(packages=audits, tool_version=__version__), out)
    sys.exit(exit_code(audits))


@cli.command()
@click.argument("paths", nargs=-1, metavar="[PATH]...")
@_common(FORMATS)
@_import_policy_options
@_baseline_options
@_footprint_options
@_missing_dependencies_option
@click.option("--before", "before_spec", metavar="PATH|GIT_REF|REQUIREMENT",
              help="Compare with this version: a path, a git ref, or a requirement.")
@click.option("--target-reduction", metavar="PERCENT",
              help='Goal for the install-size reduction against --before, e.g. "80%".')
def report(paths: tuple[str, ...], fmt: str, output: Path | None, before_spec: str | None,
           target_reduction: str | None, **kwargs) -> None:
    """Contracts and footprint, before and after.

    With --before, the audit is compared with an earlier version.
    """
    from cloacina_audit.model.compare import parse_reduction

    paths = paths or (".",)
    goal = None
    if target_reduction is not None:  # refused before the audit, not after it
        try:
            goal = parse_reduction(target_reduction)
        except AuditError as exc:
            raise AuditError(f"--target-reduction: {exc}") from None
    if before_spec is not None and len(paths) != 1:
        raise AuditError("--before compares one package: give exactly one PATH")
    out = _start(fmt, output, kwargs)
    baseline = _given_baseline(kwargs)
    from cloacina_audit.app.report import audit_comparison, audit_many

    options = _audit_options(kwargs, out, with_contracts=True)
    if before_spec is None:
        audits = audit_many(list(paths), options)
        _with_baseline(audits, kwargs, baseline)
        _emit(AuditReport(packages=audits, tool_version=__version__), out)
        sys.exit(exit_code(audits))
    before, after, configured_goal = audit_comparison(before_spec, paths[0], options)
    if goal is None and configured_goal:
        goal = parse_reduction(configured_goal)
    _with_baseline([after], kwargs, baseline)
    comparison = Comparison(before=before, after=after, target_reduction=goal)
    report = AuditReport(packages=[after], tool_version=__version__, comparison=comparison)
    _emit(report, out)
    sys.exit(exit_code([after]))


@cli.command()
@click.argument("distribution")
@click.argument("path", required=False, default=".")
@_common(("text", "json"))
@_import_policy_options
@_footprint_options
@_missing_dependencies_option
def why(distribution: str, path: str, fmt: str, output: Path | None, **kwargs) -> None:
    """Which lines of the package bring DISTRIBUTION in.

    Routes go through imports (module by module) and through declared
    dependencies (Requires-Dist), with the distribution's size. For a Rust
    package DISTRIBUTION is a crate: routes go from Cargo.toml dependency lines
    and source lines through crate dependencies, with its .text bytes.
    """
    out = _start(fmt, output, kwargs)
    from cloacina_audit.app import why as why_view

    result = why_view.why(distribution, path, _audit_options(kwargs, out, with_contracts=True))
    text = why_view.render_json(result) if fmt == "json" else why_view.render_text(result)
    _write(text, out)


def main() -> None:
    """Entry point: every failure becomes one line on stderr and a documented exit code."""
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
