"""What is PATH? Turn a command-line argument into a :class:`Target`.

Discovery only reads files; it never imports or runs the audited code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from .config import AuditConfig, audit_config_from_pyproject, read_toml
from .errors import AuditError

TargetKind = Literal["project", "wheel", "requirement"]

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


@dataclass
class Target:
    kind: TargetKind
    #: The argument as the user gave it.
    spec: str
    name: str
    config: AuditConfig = field(default_factory=AuditConfig)
    #: For projects: the tree itself. None for wheels and requirements.
    tree: SourceTree | None = None
    #: Local projects the target depends on through ``[tool.uv.sources]`` paths,
    #: transitively, keyed by canonical distribution name.
    path_sources: dict[str, SourceTree] = field(default_factory=dict)
    #: The parsed pyproject.toml, when there is one.
    pyproject: dict[str, Any] = field(default_factory=dict)

    @property
    def root(self) -> Path | None:
        return self.tree.root if self.tree else None

    @property
    def packages(self) -> list[str]:
        return self.tree.packages if self.tree else []


def discover(spec: str) -> Target:
    """Classify ``spec`` and read what can be read without installing anything."""
    path = Path(spec)
    if path.is_dir():
        if (path / "pyproject.toml").is_file():
            return _project_target(spec, path.resolve())
        if (path / "package.toml").is_file():
            raise AuditError(
                f"{spec}: Cloacina package directories (package.toml) are not supported yet"
            )
        raise AuditError(f"{spec}: no pyproject.toml in this directory")
    if path.is_file():
        if path.suffix == ".whl":
            return Target(kind="wheel", spec=str(path.resolve()), name=_wheel_name(path))
        if path.suffix == ".cloacina":
            raise AuditError(f"{spec}: .cloacina archives are not supported yet")
        raise AuditError(f"{spec}: not a project directory, wheel or .cloacina archive")
    if _looks_like_path(spec):
        raise AuditError(f"{spec}: no such file or directory")
    try:
        requirement = Requirement(spec)
    except InvalidRequirement:
        raise AuditError(f"{spec}: no such path, and not a valid requirement") from None
    return Target(kind="requirement", spec=spec, name=canonicalize_name(requirement.name))


def _looks_like_path(spec: str) -> bool:
    return "/" in spec or "\\" in spec or spec.startswith(".") or spec.endswith(
        (".whl", ".cloacina", ".toml")
    )


def _wheel_name(path: Path) -> str:
    return canonicalize_name(path.name.split("-")[0])


def _project_target(spec: str, root: Path) -> Target:
    pyproject = read_toml(root / "pyproject.toml")
    config = audit_config_from_pyproject(pyproject, f"{spec}/pyproject.toml")
    tree = read_source_tree(root, pyproject, config.packages)
    if not tree.packages:
        raise AuditError(f"{spec}: no Python package found (a directory with __init__.py)")
    return Target(
        kind="project",
        spec=spec,
        name=tree.name,
        config=config,
        tree=tree,
        path_sources=_path_sources(root, pyproject),
        pyproject=pyproject,
    )


def read_source_tree(
    root: Path, pyproject: dict[str, Any], packages: list[str] | None = None
) -> SourceTree:
    project = pyproject.get("project", {})
    name = project.get("name") if isinstance(project, dict) else None
    if not isinstance(name, str) or not name:
        name = root.name
    version = project.get("version") if isinstance(project, dict) else None
    if packages:
        found = [_locate_package(root, p) for p in packages]
    else:
        found = _package_dirs(root, pyproject, name)
    search_paths = sorted({d.parent for d in found}, key=str)
    return SourceTree(
        root=root,
        name=canonicalize_name(name),
        version=version if isinstance(version, str) else None,
        packages=sorted(d.name for d in found),
        search_paths=search_paths,
    )


def _locate_package(root: Path, package: str) -> Path:
    for base in (root / "src", root):
        if (base / package / "__init__.py").is_file():
            return base / package
    raise AuditError(f"{root}: configured package {package!r} not found under src/ or the root")


def _package_dirs(root: Path, pyproject: dict[str, Any], name: str) -> list[Path]:
    declared = _declared_packages(root, pyproject)
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


def _declared_packages(root: Path, pyproject: dict[str, Any]) -> list[Path]:
    """Packages named in the build backend's own configuration (hatch, setuptools)."""
    tool = pyproject.get("tool", {})
    hatch = tool.get("hatch", {}).get("build", {}).get("targets", {}).get("wheel", {})
    candidates = hatch.get("packages", []) if isinstance(hatch, dict) else []
    setuptools_packages = tool.get("setuptools", {}).get("packages", [])
    if isinstance(setuptools_packages, list):
        top = [p for p in setuptools_packages if isinstance(p, str) and "." not in p]
        candidates = list(candidates) + top
    dirs = []
    for entry in candidates:
        if not isinstance(entry, str):
            continue
        for base in (root, root / "src"):
            if (base / entry / "__init__.py").is_file():
                dirs.append(base / entry)
                break
    return dirs


def _packages_in(directory: Path) -> list[Path]:
    return sorted(
        d for d in directory.iterdir() if d.is_dir() and (d / "__init__.py").is_file()
    )


def _path_sources(root: Path, pyproject: dict[str, Any]) -> dict[str, SourceTree]:
    """Local path dependencies from ``[tool.uv.sources]``, followed transitively."""
    found: dict[str, SourceTree] = {}
    pending = [(root, pyproject)]
    seen = {root}
    while pending:
        project_root, data = pending.pop()
        sources = data.get("tool", {}).get("uv", {}).get("sources", {})
        if not isinstance(sources, dict):
            continue
        for dist, source in sources.items():
            if not isinstance(source, dict) or "path" not in source:
                continue
            source_root = (project_root / str(source["path"])).resolve()
            if source_root in seen or not (source_root / "pyproject.toml").is_file():
                continue
            seen.add(source_root)
            source_data = read_toml(source_root / "pyproject.toml")
            found[canonicalize_name(dist)] = read_source_tree(source_root, source_data)
            pending.append((source_root, source_data))
    return found
