"""``footprint``: where the package lives -> what its closure costs -> what importing it loads."""

from __future__ import annotations

import contextlib
import csv
import io
import os
import stat
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement

from cloacina_audit.analysis.footprint.distributions import (
    InstalledDistribution,
    import_names,
    installed_distributions,
    measure_closure,
)
from cloacina_audit.analysis.footprint.probe import DEFAULT_RUNS, DEFAULT_TIMEOUT, probe_imports
from cloacina_audit.discover.target import Target
from cloacina_audit.environment.isolated import (
    Environment,
    StepCallback,
    current_environment,
    isolated_environment,
)
from cloacina_audit.errors import AuditError
from cloacina_audit.model.report import Footprint

ENV_KINDS = ("isolated", "current")


def measure_footprint(
    target: Target,
    *,
    env: str = "isolated",
    cache_dir: Path | None = None,
    forbidden_modules: Sequence[str] = (),
    probe_runs: int = DEFAULT_RUNS,
    timeout: float | None = None,
    progress: bool = False,
    python: str | None = None,
) -> Footprint:
    """Install (or find) ``target``, measure its runtime closure and probe its import.

    ``env="isolated"`` builds a uv environment, reused from ``cache_dir/envs`` when
    ``cache_dir`` is given and thrown away when it is None; ``env="current"``
    measures ``python``'s environment (default: the running one) as it is.
    ``timeout`` defaults to the config's ``import-timeout``, then 60 s.
    """
    if env not in ENV_KINDS:
        raise AuditError(f"--env {env}: expected one of {', '.join(ENV_KINDS)}")
    timeout = timeout or target.config.import_timeout or DEFAULT_TIMEOUT
    with _status(progress) as step, _environment(target, env, cache_dir, python, step) as environment:
        step(f"Measuring the distributions {target.name} needs")
        installed = installed_distributions(environment.site_packages)
        measure = _closure_measurement(target, environment, installed)
        entries = target.config.entry_modules or _default_entry_modules(target, installed)
        # The closure is stat calls and the probe a fresh interpreter: the closure is
        # measured on the other core while the probe's first import runs. The probe keeps
        # the main thread, so Ctrl-C stops its interpreter at once.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="closure") as pool:
            closure = pool.submit(measure)
            probe = probe_imports(
                environment.python,
                entries,
                forbidden=forbidden_modules,
                runs=probe_runs,
                timeout=timeout,
                search_path=_source_paths(target, installed),
                on_step=step,
                submodules=[] if target.config.entry_modules else _submodules(target, installed),
            )
            footprint = closure.result()
        footprint.import_probe = probe
        footprint.environment = environment.describe()
    return footprint


@contextlib.contextmanager
def _environment(
    target: Target, env: str, cache_dir: Path | None, python: str | None, step: StepCallback
) -> Iterator[Environment]:
    if env == "current":
        yield current_environment(python, cache_dir)
        return
    with isolated_environment(target, cache_dir=cache_dir, python=python, on_step=step) as built:
        yield built


def _closure_measurement(
    target: Target, environment: Environment, installed: dict[str, InstalledDistribution]
) -> Callable[[], Footprint]:
    """What measures the target's closure; what a user can get wrong is raised here,
    before anything runs."""
    if target.name in installed:
        extras = _extras(target)
        return lambda: measure_closure(installed, target.name, environment.markers, root_extras=extras)
    if not target.built_from_source:
        raise AuditError(f"{target.spec}: {target.name} is not installed in {environment.describe()}")
    # A project measured in an environment that lacks it: its declared
    # dependencies stand in for the metadata of the missing distribution.
    requirements = _declared_requirements(target)
    return lambda: measure_closure(
        installed,
        target.name,
        environment.markers,
        root_requirements=requirements,
        root_unmeasured="not installed in this environment (its dependencies are measured)",
    )


def _extras(target: Target) -> set[str]:
    if target.install is None or target.install.requirement is None:
        return set()
    return set(Requirement(target.install.requirement).extras)


def _declared_requirements(target: Target) -> list[Requirement]:
    project = target.pyproject.get("project", {})
    if "dependencies" in project.get("dynamic", []):
        raise AuditError(
            f"{target.spec}: its dependencies are dynamic and it is not installed in this "
            "environment; install it or use the isolated environment"
        )
    requirements = []
    for line in project.get("dependencies", []):
        try:
            requirements.append(Requirement(line))
        except InvalidRequirement as exc:
            raise AuditError(f"{target.spec}/pyproject.toml: bad dependency {line!r}: {exc}") from None
    return requirements


def _default_entry_modules(target: Target, installed: dict[str, InstalledDistribution]) -> list[str]:
    if target.packages:
        return list(target.packages)
    dist = installed.get(target.name)
    return import_names(dist) if dist else []


def _submodules(target: Target, installed: dict[str, InstalledDistribution]) -> list[str]:
    """For a project: every module of its import packages, as the runtime may import any of them.

    Read from the installed distribution's RECORD (what was really built), else from
    the source tree. ``__main__`` modules are left out: importing one runs a program.
    Wheels and requirements are imported by their top-level names only.
    """
    if not target.built_from_source or not target.packages:
        return []
    dist = installed.get(target.name)
    if dist is not None:
        record = dist.distribution.read_text("RECORD") or ""
        files = [row[0] for row in csv.reader(io.StringIO(record)) if row]
    elif target.tree is not None:
        files = list(_tree_files(target.tree.search_paths, target.packages))
    else:
        return []
    return module_names(files, target.packages)


def module_names(files: Iterable[str], packages: Sequence[str]) -> list[str]:
    """Dotted names of the ``.py`` files (relative POSIX paths) under ``packages``, sorted."""
    roots = set(packages)
    found = set()
    for path in files:
        if not path.endswith(".py"):
            continue
        parts = path[:-3].split("/")
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if not parts or parts[-1] == "__main__" or not all(p.isidentifier() for p in parts):
            continue
        name = ".".join(parts)
        if any(name == root or name.startswith(root + ".") for root in roots):
            found.add(name)
    return sorted(found)


def _tree_files(search_paths: Sequence[Path], packages: Sequence[str]) -> Iterator[str]:
    """Relative paths of the regular ``.py`` files of ``packages`` in a source tree."""
    for base in search_paths:
        for package in packages:
            top = Path(base, *package.split("."))
            if not top.is_dir():
                continue
            for directory, dirnames, filenames in os.walk(top):
                dirnames[:] = sorted(d for d in dirnames if d.isidentifier())
                for name in sorted(filenames):
                    path = Path(directory, name)
                    if name.endswith(".py") and stat.S_ISREG(path.lstat().st_mode):
                        yield path.relative_to(base).as_posix()


def _source_paths(target: Target, installed: dict[str, InstalledDistribution]) -> list[Path]:
    """The project's source directories, when the environment does not have it installed."""
    if target.tree is None or target.name in installed:
        return []
    return list(target.tree.search_paths)


@contextlib.contextmanager
def _status(progress: bool) -> Iterator[StepCallback]:
    """A spinner on stderr naming the current step, only when stderr is a terminal."""
    if not progress or not sys.stderr.isatty():
        yield lambda _message: None
        return
    from rich.console import Console

    console = Console(stderr=True)
    with console.status("Starting") as status:
        yield lambda message: status.update(message)
