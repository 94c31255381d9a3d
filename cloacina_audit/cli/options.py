"""The options the commands share, and what they ask of the app."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from cloacina_audit.app.options import CheckOptions
from cloacina_audit.render.terminal import COLOR_CHOICES
from cloacina_audit.system.cachedir import cache_root

if TYPE_CHECKING:
    from cloacina_audit.app.options import AuditOptions
    from cloacina_audit.cli.output import Output

CHECK_FORMATS = ("text", "json", "sarif", "github")
FOOTPRINT_FORMATS = ("text", "json", "markdown", "github", "html")


def apply_all(options: list, command):
    for option in reversed(options):
        command = option(command)
    return command


def common(formats: tuple[str, ...]):
    """Options every command has: input, output and how the output looks."""

    def decorate(command):
        return apply_all([
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


def import_policy_options(command):
    """Only commands that check contracts take these."""
    return apply_all([
        click.option("--type-checking-imports", type=click.Choice(["count", "ignore"]),
                     help="Whether imports under `if TYPE_CHECKING:` can break contracts."),
        click.option("--lazy-imports", type=click.Choice(["count", "ignore"]),
                     help="Whether PEP 810 `lazy import` statements can break contracts."),
        click.option("--deferred-imports", type=click.Choice(["count", "ignore"]),
                     help="Whether imports inside functions can break contracts."),
    ], command)


def baseline_options(command):
    """Only commands that check contracts take these."""
    return apply_all([
        click.option("--baseline", "baseline_file", type=click.Path(dir_okay=False, path_type=Path),
                     help="Fail only on violations this file does not record."),
        click.option("--write-baseline", "write_baseline_file",
                     type=click.Path(dir_okay=False, path_type=Path),
                     help="Record today's violations in FILE (and fail on none of them)."),
    ], command)


def footprint_options(command):
    return apply_all([
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


def _timeout(_ctx: click.Context, _param: click.Parameter, value: float | None) -> float | None:
    # Written so that nan fails too: a nan timeout would never expire.
    if value is not None and not 0 < value <= 86400:
        raise click.BadParameter(f"{value} is not a number of seconds between 0 and 86400")
    return value


def missing_dependencies_option(command):
    return click.option(
        "--missing-dependencies", type=click.Choice(["resolve", "fail", "accept"]),
        default="resolve", show_default=True,
        help="Declared dependencies not installed here: resolve them from wheels (never run), "
             "fail, or check without them.",
    )(command)


def check_options(kwargs: dict) -> CheckOptions:
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


def audit_options(kwargs: dict, out: Output, with_contracts: bool) -> AuditOptions:
    from cloacina_audit.app.options import AuditOptions

    return AuditOptions(
        check=check_options(kwargs),
        with_contracts=with_contracts,
        env=kwargs["env"],
        probe_runs=kwargs["probe_runs"],
        import_timeout=kwargs["import_timeout"],
        progress=out.progress,
        cloaca_wheel=kwargs["cloaca_wheel"],
    )
