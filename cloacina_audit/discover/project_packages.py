"""Where a Python project's import packages are: the packages its build backend
declares (setuptools, hatch, poetry, ...), else the importable directories under
src/ or the root; and its ``[tool.uv.sources]`` path dependencies, read the same way."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cloacina_audit.discover.config import project_table, read_toml, table_at
from cloacina_audit.errors import AuditError
from cloacina_audit.model.names import canonical_name

# Top-level directories that hold no importable package of the project.
_NOT_PACKAGES = {"tests", "test", "docs", "doc", "examples", "benchmarks", "build", "dist", "scripts"}


@dataclass
class SourceTree:
    """A project on disk: where its import packages live."""

    root: Path
    name: str
    version: str | None
    packages: list[str]
    #: Directories that go on sys.path for the packages (the root, or src/).
    search_paths: list[Path]


def read_source_tree(
    root: Path, pyproject: dict[str, Any], packages: list[str] | None = None
) -> SourceTree:
    where = f"{root}/pyproject.toml"
    project = project_table(pyproject, where) if "project" in pyproject else {}
    name = project.get("name") or root.name
    version = project.get("version")
    if packages:
        found = [_locate_package(root, p) for p in packages]
    else:
        found = _package_dirs(root, pyproject, name, where)
    search_paths = sorted({d.parent for d in found}, key=str)
    return SourceTree(
        root=root,
        name=canonical_name(name),
        version=version,
        packages=sorted(d.name for d in found),
        search_paths=search_paths,
    )


def _locate_package(root: Path, package: str) -> Path:
    for base in (root / "src", root):
        if (base / package / "__init__.py").is_file():
            return base / package
    raise AuditError(f"{root}: configured package {package!r} not found under src/ or the root")


def _package_dirs(root: Path, pyproject: dict[str, Any], name: str, where: str) -> list[Path]:
    declared = _declared_packages(root, pyproject, where)
    if declared:
        return declared
    src = root / "src"
    if src.is_dir():
        in_src = _packages_in(src)
        if in_src:
            return in_src
    import_name = re.sub(r"[-.]+", "_", name).lower()
    if (root / import_name / "__init__.py").is_file():
        return [root / import_name]
    return [d for d in _packages_in(root) if d.name not in _NOT_PACKAGES]


def _declared_packages(root: Path, pyproject: dict[str, Any], where: str) -> list[Path]:
    """Packages named in the build backend's own configuration (hatch, setuptools)."""
    hatch_key = "tool.hatch.build.targets.wheel"
    candidates = table_at(pyproject, hatch_key, where).get("packages", [])
    if not isinstance(candidates, list) or not all(isinstance(p, str) for p in candidates):
        raise AuditError(f"{where}: {hatch_key}.packages must be a list of strings")
    for entry in candidates:
        parts = entry.replace("\\", "/").split("/")
        if entry.startswith("/") or any(p in ("", ".", "..") for p in parts):
            raise AuditError(
                f"{where}: {hatch_key}.packages: {entry!r} is not a directory path "
                "below the project (no '.', '..' or leading '/')"
            )
    # setuptools' packages is a list of dotted names, or a table (find: {...}).
    setuptools_packages = table_at(pyproject, "tool.setuptools", where).get("packages", [])
    if isinstance(setuptools_packages, list):
        top = [p for p in setuptools_packages if isinstance(p, str) and "." not in p]
        candidates = list(candidates) + top
    dirs = []
    for entry in candidates:
        for base in (root, root / "src"):
            if (base / entry / "__init__.py").is_file():
                dirs.append(base / entry)
                break
    return dirs


def _packages_in(directory: Path) -> list[Path]:
    return sorted(
        d for d in directory.iterdir() if d.is_dir() and (d / "__init__.py").is_file()
    )


def path_sources(root: Path, pyproject: dict[str, Any]) -> dict[str, SourceTree]:
    """Local path dependencies from ``[tool.uv.sources]``, followed transitively."""
    found: dict[str, SourceTree] = {}
    pending = [(root, pyproject)]
    seen = {root}
    while pending:
        project_root, data = pending.pop()
        sources = table_at(data, "tool.uv.sources", f"{project_root}/pyproject.toml")
        for dist, source in sources.items():
            if not isinstance(source, dict) or "path" not in source:
                continue
            source_root = (project_root / str(source["path"])).resolve()
            if source_root in seen or not (source_root / "pyproject.toml").is_file():
                continue
            seen.add(source_root)
            source_data = read_toml(source_root / "pyproject.toml")
            found[canonical_name(dist)] = read_source_tree(source_root, source_data)
            pending.append((source_root, source_data))
    return found
