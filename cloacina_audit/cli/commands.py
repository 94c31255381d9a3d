"""The commands: check, footprint, report and why."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from cloacina_audit import __version__
from cloacina_audit.app.kinds import check_target
from cloacina_audit.cli.options import (
    CHECK_FORMATS,
    FOOTPRINT_FORMATS,
    audit_options,
    baseline_options,
    check_options,
    common,
    footprint_options,
    import_policy_options,
    missing_dependencies_option,
)
from cloacina_audit.cli.output import emit, start, write
from cloacina_audit.discover.target import open_target
from cloacina_audit.errors import AuditError
from cloacina_audit.model.report import EXIT_INPUT_ERROR, AuditReport, Comparison, exit_code
from cloacina_audit.render import FORMATS


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
@common(CHECK_FORMATS)
@import_policy_options
@baseline_options
@missing_dependencies_option
def check(paths: tuple[str, ...], fmt: str, output: Path | None, **kwargs) -> None:
    """Check import contracts; runs no package code.

    PATH defaults to the current directory. A directory with only an
    import-linter configuration is checked the way lint-imports would check it.
    """
    out = start(fmt, output, kwargs)
    baseline = given_baseline(kwargs)
    options = check_options(kwargs)
    audits = []
    for path in paths or (".",):
        with open_target(path, options.config_file, cache_dir=options.cache_dir) as target:
            audits.append(check_target(target, options))
    with_baseline(audits, kwargs, baseline)
    emit(AuditReport(packages=audits, tool_version=__version__), out)
    sys.exit(exit_code(audits))


@cli.command()
@click.argument("paths", nargs=-1, metavar="[PATH]...")
@common(FOOTPRINT_FORMATS)
@footprint_options
def footprint(paths: tuple[str, ...], fmt: str, output: Path | None, **kwargs) -> None:
    """Measure install and import footprint.

    PATH is a project directory, a Cloacina package directory or .cloacina
    archive, a wheel, or a requirement such as prefect-client==3.8.8.
    Footprint budgets are checked too.
    """
    out = start(fmt, output, kwargs)
    from cloacina_audit.app.report import audit_many

    audits = audit_many(list(paths or (".",)), audit_options(kwargs, out, with_contracts=False))
    emit(AuditReport(packages=audits, tool_version=__version__), out)
    sys.exit(exit_code(audits))


@cli.command()
@click.argument("paths", nargs=-1, metavar="[PATH]...")
@common(FORMATS)
@import_policy_options
@baseline_options
@footprint_options
@missing_dependencies_option
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
    out = start(fmt, output, kwargs)
    baseline = given_baseline(kwargs)
    from cloacina_audit.app.report import audit_comparison, audit_many

    options = audit_options(kwargs, out, with_contracts=True)
    if before_spec is None:
        audits = audit_many(list(paths), options)
        with_baseline(audits, kwargs, baseline)
        emit(AuditReport(packages=audits, tool_version=__version__), out)
        sys.exit(exit_code(audits))
    before, after, configured_goal = audit_comparison(before_spec, paths[0], options)
    if goal is None and configured_goal:
        goal = parse_reduction(configured_goal)
    with_baseline([after], kwargs, baseline)
    comparison = Comparison(before=before, after=after, target_reduction=goal)
    report = AuditReport(packages=[after], tool_version=__version__, comparison=comparison)
    emit(report, out)
    sys.exit(exit_code([after]))


@cli.command()
@click.argument("distribution")
@click.argument("path", required=False, default=".")
@common(("text", "json"))
@import_policy_options
@footprint_options
@missing_dependencies_option
def why(distribution: str, path: str, fmt: str, output: Path | None, **kwargs) -> None:
    """Which lines of the package bring DISTRIBUTION in.

    Routes go through imports (module by module) and through declared
    dependencies (Requires-Dist), with the distribution's size. For a Rust
    package DISTRIBUTION is a crate: routes go from Cargo.toml dependency lines
    and source lines through crate dependencies, with its .text bytes.
    """
    out = start(fmt, output, kwargs)
    from cloacina_audit.app.why import why as routes_to
    from cloacina_audit.render.why import render_why

    result = routes_to(distribution, path, audit_options(kwargs, out, with_contracts=True))
    write(render_why(result, fmt, color=out.color, width=out.width), out)


def given_baseline(kwargs: dict) -> list | None:
    """Read --baseline and check --write-baseline's directory before any work starts."""
    from cloacina_audit.app.baseline import read_baseline

    written = kwargs["write_baseline_file"]
    if written is not None and not written.parent.is_dir():
        raise AuditError(f"--write-baseline {written}: no such directory: {written.parent}")
    given = kwargs["baseline_file"]
    return read_baseline(given) if given is not None else None


def with_baseline(audits: list, kwargs: dict, baseline: list | None) -> None:
    """--write-baseline records today's violations, which then count as known;
    else --baseline's entries do."""
    from cloacina_audit.app.baseline import write_baseline
    from cloacina_audit.model.baseline import apply_baseline, entries_of

    if kwargs["write_baseline_file"] is not None:
        baseline = entries_of(audits)
        write_baseline(kwargs["write_baseline_file"], baseline)
    if baseline is not None:
        apply_baseline(audits, baseline)
