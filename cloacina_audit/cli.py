"""Command-line interface: parse options, run the pipeline, render, exit with the right code.

``footprint`` and ``report`` import their machinery (uv environments, probes,
comparisons) when they run, so that ``check``, the pre-commit hook, starts fast.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from . import __version__
from .cachedir import cache_root
from .check import CheckOptions, check_target
from .discover import open_target
from .errors import AuditError
from .models import EXIT_INPUT_ERROR, AuditReport, Comparison, exit_code
from .render import FORMATS, render

if TYPE_CHECKING:
    from .audit import AuditOptions

_CHECK_FORMATS = ("text", "json", "sarif", "github")
_FOOTPRINT_FORMATS = ("text", "json", "markdown", "github", "html")


def _common(formats: tuple[str, ...]):
    def decorate(command):
        options = [
            click.option("--format", "fmt", type=click.Choice(formats), default="text",
                         show_default=True, help="Output format."),
            click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
                         help="Write the report to FILE instead of standard output."),
            click.option("--config", "config_file", type=click.Path(path_type=Path),
                         help="An import-linter configuration to use instead of the project's."),
            click.option("--preset", help='Contract preset from contracts/ ("none" to disable).'),
            click.option("--python", help="Interpreter whose environment provides dependencies."),
            click.option("--type-checking-imports", type=click.Choice(["count", "ignore"]),
                         help="Whether imports under `if TYPE_CHECKING:` can break contracts."),
            click.option("--deferred-imports", type=click.Choice(["count", "ignore"]),
                         help="Whether imports inside functions can break contracts."),
            click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path),
                         help="Cache directory (default: $CLOACINA_AUDIT_CACHE_DIR or ~/.cache)."),
            click.option("--no-cache", is_flag=True, help="Neither read nor write the cache."),
        ]
        for option in reversed(options):
            command = option(command)
        return command

    return decorate


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
        type_checking_imports=kwargs["type_checking_imports"],
        deferred_imports=kwargs["deferred_imports"],
        cache_dir=None if kwargs["no_cache"] else cache_root(kwargs["cache_dir"]),
    )


def _emit(report: AuditReport, fmt: str, output: Path | None) -> None:
    to_terminal = output is None and sys.stdout.isatty()
    width = shutil.get_terminal_size((100, 24)).columns if to_terminal else 100
    text = render(report, fmt, color=to_terminal and "NO_COLOR" not in os.environ, width=width)
    if output is None:
        click.echo(text, nl=not text.endswith("\n"))
    else:
        try:
            output.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise AuditError(f"--output {output}: cannot write: {exc.strerror}") from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="cloacina-audit")
def cli() -> None:
    """Keep Cloacina workflow packages slim, and prove it."""


@cli.command()
@click.argument("paths", nargs=-1)
@_common(_CHECK_FORMATS)
@_missing_dependencies_option
def check(paths: tuple[str, ...], fmt: str, output: Path | None, **kwargs) -> None:
    """Check import boundary contracts statically; never runs the package's code.

    PATH defaults to the current directory. A directory with only an
    import-linter configuration is checked the way lint-imports would check it.
    """
    options = _check_options(kwargs)
    audits = []
    for path in paths or (".",):
        with open_target(path, options.config_file) as target:
            audits.append(check_target(target, options)[0])
    _emit(AuditReport(packages=audits, tool_version=__version__), fmt, output)
    sys.exit(exit_code(audits))


def _footprint_options(command):
    options = [
        click.option("--env", type=click.Choice(["isolated", "current"]), default="isolated",
                     show_default=True,
                     help="Build an isolated uv environment, or measure --python's as it is."),
        click.option("--probe-runs", type=click.IntRange(1, 50), default=3, show_default=True,
                     help="Fresh-process imports timed; the median is reported."),
        click.option("--import-timeout", type=click.FloatRange(min=0, min_open=True),
                     help="Seconds an import may take (default: config, then 60)."),
        click.option("--cloaca-wheel", type=click.Path(dir_okay=False, path_type=Path),
                     help="Measure cloaca from this wheel instead of the published one."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _audit_options(kwargs: dict, with_contracts: bool) -> AuditOptions:
    from .audit import AuditOptions

    return AuditOptions(
        check=_check_options(kwargs),
        with_contracts=with_contracts,
        env=kwargs["env"],
        probe_runs=kwargs["probe_runs"],
        import_timeout=kwargs["import_timeout"],
        progress=sys.stderr.isatty(),
        cloaca_wheel=kwargs["cloaca_wheel"],
    )


@cli.command()
@click.argument("paths", nargs=-1)
@_common(_FOOTPRINT_FORMATS)
@_footprint_options
def footprint(paths: tuple[str, ...], fmt: str, output: Path | None, **kwargs) -> None:
    """Measure install and import footprint, and check footprint budgets.

    PATH is a project directory, a Cloacina package directory or .cloacina
    archive, a wheel, or a requirement such as prefect-client==3.8.8.
    """
    from .audit import audit_many

    audits = audit_many(list(paths or (".",)), _audit_options(kwargs, with_contracts=False))
    _emit(AuditReport(packages=audits, tool_version=__version__), fmt, output)
    sys.exit(exit_code(audits))


@cli.command()
@click.argument("paths", nargs=-1)
@_common(FORMATS)
@_footprint_options
@_missing_dependencies_option
@click.option("--before", "before_spec", metavar="PATH|GIT_REF|REQUIREMENT",
              help="Compare with this version: a path, a git ref, or a requirement.")
@click.option("--target-reduction", metavar="PERCENT",
              help='Goal for the install-size reduction against --before, e.g. "80%".')
def report(paths: tuple[str, ...], fmt: str, output: Path | None, before_spec: str | None,
           target_reduction: str | None, **kwargs) -> None:
    """Contracts and footprint in one audit; with --before, a before-and-after comparison."""
    from .audit import audit_comparison, audit_many
    from .compare import parse_reduction

    options = _audit_options(kwargs, with_contracts=True)
    paths = paths or (".",)
    if before_spec is None:
        audits = audit_many(list(paths), options)
        _emit(AuditReport(packages=audits, tool_version=__version__), fmt, output)
        sys.exit(exit_code(audits))
    if len(paths) != 1:
        raise AuditError("--before compares one package: give exactly one PATH")
    before, after, configured_goal = audit_comparison(before_spec, paths[0], options)
    goal = target_reduction or configured_goal
    comparison = Comparison(
        before=before, after=after, target_reduction=parse_reduction(goal) if goal else None
    )
    report = AuditReport(packages=[after], tool_version=__version__, comparison=comparison)
    _emit(report, fmt, output)
    sys.exit(exit_code([after]))


def main() -> None:
    """Entry point: every failure becomes one line on stderr and a documented exit code."""
    try:
        cli.main(standalone_mode=False)
    except AuditError as exc:
        click.echo(f"cloacina-audit: error: {exc}", err=True)
        sys.exit(EXIT_INPUT_ERROR)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        click.echo(f"cloacina-audit: error: {' '.join(exc.format_message().split())}", err=True)
        sys.exit(EXIT_INPUT_ERROR)
    except click.exceptions.Abort:
        click.echo("cloacina-audit: aborted", err=True)
        sys.exit(130)
    except KeyboardInterrupt:
        click.echo("cloacina-audit: interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - the promise is: never a traceback
        if os.environ.get("CLOACINA_AUDIT_DEBUG"):
            raise
        message = " ".join(str(exc).split()) or type(exc).__name__
        click.echo(
            f"cloacina-audit: internal error: {type(exc).__name__}: {message} "
            "(set CLOACINA_AUDIT_DEBUG=1 for details)",
            err=True,
        )
        sys.exit(EXIT_INPUT_ERROR)
