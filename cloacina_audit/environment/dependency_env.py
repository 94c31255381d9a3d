"""Where ``check`` finds the declared dependencies that are not installed where it runs.

A pre-commit hook runs in an environment holding cloacina-audit and nothing of
the project: without its dependencies the graph stops at the project's edge,
and a contract about ``cloacina.runtime`` cannot be checked through cloacina.
So when a declared runtime dependency is not installed on the search path,
the declared dependencies are resolved into a directory of their own:

- ``uv pip install --target DIR --only-binary :all:``: wheels only, so no build
  backend runs; bytecode is not compiled; no interpreter of DIR is ever started
  (DIR is not an environment, only files that the graph reads). Nothing of the
  dependencies runs; ``uv`` is asked for the running interpreter's tags only.
- cached under ``<cache>/deps/<key>``, the key hashing the requirements, the
  interpreter, uv's version and uv's index settings from the environment; built
  in ``<key>.tmp-*`` and renamed into place, so a reader sees all or nothing.
  With ``--no-cache`` it lives in a temporary directory for the run.

``--missing-dependencies fail`` refuses instead (exit 2 naming them), and
``accept`` checks without them, reporting the contracts that could not be
verified as such.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Literal

from cloacina_audit.discover.config import read_toml
from cloacina_audit.discover.target import Target
from cloacina_audit.errors import AuditError
from cloacina_audit.model.names import canonical_name
from cloacina_audit.system.processes import ProcessTimeout, run

MissingPolicy = Literal["resolve", "fail", "accept"]

#: Bump when the way the directory is built changes.
_FORMAT = 1
#: Resolving and downloading a large closure (airflow) takes a few minutes at most.
RESOLVE_TIMEOUT = 600
_COMPLETE = ".cloacina-audit-deps"
#: The distribution name at the start of a PEP 508 requirement.
_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?")


def declared_requirements(target: Target) -> list[str]:
    """The runtime requirements of the project and of its local path sources,
    the path sources themselves excluded (their trees are on the search path)."""
    if not target.built_from_source:
        return []
    documents = [(target.spec, target.pyproject)]
    for name, tree in sorted(target.path_sources.items()):
        path = tree.root / "pyproject.toml"
        documents.append((str(path), read_toml(path) if path.is_file() else {}))
    found: dict[str, None] = {}
    for origin, document in documents:
        project = document.get("project", {})
        dependencies = project.get("dependencies", []) if isinstance(project, dict) else []
        for entry in dependencies if isinstance(dependencies, list) else []:
            if not isinstance(entry, str):
                continue
            if _requirement_name(entry) in target.path_sources:
                continue
            if ";" in entry and not _marker_holds(entry, origin):
                continue
            found[entry.strip()] = None
    return list(found)


def _marker_holds(entry: str, origin: str) -> bool:
    """Whether the requirement's environment marker holds for the running interpreter."""
    # Imported here: most requirements have no marker, and check must start fast.
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        marker = Requirement(entry).marker
    except InvalidRequirement:
        raise AuditError(f"{origin}: dependency {entry!r} is not a valid requirement") from None
    return marker is None or marker.evaluate({"extra": ""})


def missing_distributions(requirements: Iterable[str], directories: Iterable[Path]) -> list[str]:
    """Canonical names of the required distributions not installed in ``directories``,
    read from the names of their ``.dist-info``/``.egg-info`` directories (nothing
    imported or parsed: a listing per directory)."""
    installed: set[str] = set()
    for directory in directories:
        try:
            entries = os.listdir(directory)
        except OSError:
            continue
        installed.update(
            canonical_name(entry.split("-")[0])
            for entry in entries if entry.endswith((".dist-info", ".egg-info"))
        )
    return sorted({_requirement_name(r) for r in requirements} - installed)


def _requirement_name(requirement: str) -> str:
    match = _NAME.match(requirement)
    return canonical_name(match.group(0)) if match else requirement


@contextlib.contextmanager
def dependency_directories(
    target: Target,
    environment: list[Path],
    policy: MissingPolicy,
    cache_dir: Path | None,
    python: str | None = None,
) -> Iterator[tuple[list[Path], list[str]]]:
    """Directories providing the declared dependencies that ``environment`` lacks, and the
    names of those still missing (only with ``accept``)."""
    requirements = declared_requirements(target)
    missing = missing_distributions(requirements, environment) if requirements else []
    if not missing:
        yield [], []
        return
    names = ", ".join(missing)
    if policy == "accept":
        yield [], missing
        return
    if policy == "fail":
        raise AuditError(
            f"{target.spec}: dependencies not installed where check runs: {names} "
            "(install them, let check resolve them with --missing-dependencies resolve, "
            "or check without them with --missing-dependencies accept)"
        )
    interpreter = python or sys.executable
    if cache_dir is None:
        with tempfile.TemporaryDirectory(prefix="cloacina-audit-deps-") as scratch:
            directory = Path(scratch) / "site"
            # uv's own cache would be written under HOME: not with --no-cache.
            _resolve(target, requirements, interpreter, directory, names, uv_cache=False)
            yield [directory], []
        return
    yield [_cached(target, requirements, interpreter, Path(cache_dir) / "deps", names)], []


def _cached(target: Target, requirements: list[str], python: str, deps: Path, names: str) -> Path:
    final = deps / _key(requirements, python)
    if (final / _COMPLETE).is_file():
        return final
    building = deps / f"{final.name}.tmp-{os.urandom(4).hex()}"
    try:
        _resolve(target, requirements, python, building, names)
        (building / _COMPLETE).write_text("\n".join(requirements) + "\n", encoding="utf-8")
        try:
            os.rename(building, final)
        except OSError:
            if not (final / _COMPLETE).is_file():  # not another run's finished copy
                shutil.rmtree(final, ignore_errors=True)
                os.rename(building, final)
    except OSError as exc:
        raise AuditError(f"cache directory {deps}: cannot write: {exc.strerror}") from None
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return final


def _key(requirements: list[str], python: str) -> str:
    from cloacina_audit.environment.uv import RESOLUTION_VARIABLES, uv_binary, uv_version

    digest = hashlib.sha256()
    parts = [f"format={_FORMAT}", f"uv={uv_version(uv_binary())}", f"python={_identity(python)}",
             *sorted(requirements)]
    parts += [f"{v}={os.environ[v]}" for v in RESOLUTION_VARIABLES if os.environ.get(v)]
    digest.update("\n".join(parts).encode())
    return digest.hexdigest()[:32]


def _identity(python: str) -> str:
    """The interpreter as resolution sees it: its path and version (the running one
    needs no process)."""
    if python == sys.executable:
        return f"{sys.executable} {sys.version} {sys.platform}"
    return os.path.realpath(python)


def _resolve(target: Target, requirements: list[str], python: str, directory: Path,
             names: str, uv_cache: bool = True) -> None:
    from cloacina_audit.environment.uv import uv_binary, uv_error_line

    directory.parent.mkdir(parents=True, exist_ok=True)
    command = [
        uv_binary(), "pip", "install",
        "--target", str(directory),
        "--python", python,
        "--only-binary", ":all:",
        "--no-compile-bytecode",
        *([] if uv_cache else ["--no-cache"]),
        *requirements,
    ]
    environ = {**os.environ, "NO_COLOR": "1", "UV_NO_PROGRESS": "1"}
    for variable in ("VIRTUAL_ENV", "UV_COMPILE_BYTECODE"):
        environ.pop(variable, None)
    try:
        completed = run(command, cwd=directory.parent, env=environ, timeout=RESOLVE_TIMEOUT)
    except ProcessTimeout:
        raise AuditError(
            f"{target.spec}: resolving the missing dependencies ({names}) took over "
            f"{RESOLVE_TIMEOUT} s"
        ) from None
    except OSError as exc:
        raise AuditError(f"cannot run uv ({command[0]}): {exc.strerror}") from None
    if completed.returncode != 0:
        raise AuditError(
            f"{target.spec}: dependencies not installed where check runs ({names}) could not "
            f"be resolved from wheels: {uv_error_line(completed.stderr)} (install them, or "
            "check without them with --missing-dependencies accept)"
        )
