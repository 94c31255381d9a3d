"""What is PATH? Turn a command-line argument into a :class:`Target`.

Discovery only reads files; it never imports or runs the audited code.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .config import (
    AuditConfig,
    audit_config_from_pyproject,
    find_importlinter_config,
    read_importlinter_options,
    read_toml,
)
from .archive import open_package_archive
from .errors import AuditError
from .loader_rules import check_loader_rules, source_roots
from .manifest import Manifest, read_manifest
from .models import Finding
from .names import canonical_name

TargetKind = Literal["project", "importlinter", "cloacina_package", "wheel", "requirement"]

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
    #: Cloacina packages: the validated package.toml and what the loader would refuse.
    manifest: Manifest | None = None
    findings: list[Finding] = field(default_factory=list)
    #: Size of the ``.cloacina`` archive the package came from.
    archive_bytes: int | None = None
    #: Directories to show under another name in reports (an archive's temporary
    #: extraction directory is shown as ``pkg.cloacina!``).
    shown_as: dict[Path, str] = field(default_factory=dict)

    def show(self, file: str) -> str:
        for directory, label in self.shown_as.items():
            prefix = str(directory)
            if file.startswith(prefix):
                return label + file[len(prefix):]
        return file

    @property
    def root(self) -> Path | None:
        return self.tree.root if self.tree else None

    @property
    def packages(self) -> list[str]:
        return self.tree.packages if self.tree else []


@contextlib.contextmanager
def open_target(spec: str, config_file: Path | None = None) -> Iterator[Target]:
    """Like :func:`discover`, but also opens ``.cloacina`` archives.

    An archive is unpacked safely into a temporary directory that lives as long
    as the ``with`` block; the target then reads like a package directory.
    """
    path = Path(spec)
    if path.is_file() and path.suffix == ".cloacina":
        with open_package_archive(path) as top:
            target = _cloacina_package_target(spec, top)
            target.archive_bytes = path.stat().st_size
            target.shown_as = {top.parent: f"{path.resolve()}!"}
            expected = target.manifest.archive_top_dir if target.manifest else None
            if expected and top.name != expected:
                target.findings.append(Finding(
                    rule="archive-top-directory",
                    message=f"{path.name}: top directory is {top.name}/, expected {expected}/",
                ))
            yield target
    else:
        yield discover(spec, config_file)


def discover(spec: str, config_file: Path | None = None) -> Target:
    """Classify ``spec`` and read what can be read without installing anything.

    ``config_file`` is an import-linter configuration given on the command line;
    a directory that is not a project but has one is checked the way
    lint-imports would check it.
    """
    path = Path(spec)
    if path.is_dir():
        root = path.resolve()
        pyproject = read_toml(root / "pyproject.toml") if (root / "pyproject.toml").is_file() else None
        if pyproject is not None and "project" in pyproject:
            return _project_target(spec, root, pyproject)
        if (path / "package.toml").is_file():
            return _cloacina_package_target(spec, root)
        importlinter_file = config_file or find_importlinter_config(root)
        if importlinter_file is not None:
            return _importlinter_target(spec, root, importlinter_file)
        if pyproject is not None:
            return _project_target(spec, root, pyproject)
        raise AuditError(
            f"{spec}: no pyproject.toml, package.toml or import-linter configuration here"
        )
    if path.is_file():
        if path.suffix == ".whl":
            return Target(kind="wheel", spec=str(path.resolve()), name=_wheel_name(path))
        if path.suffix == ".cloacina":
            raise AuditError(f"{spec}: .cloacina archives are opened with open_target()")
        raise AuditError(f"{spec}: not a project directory, wheel or .cloacina archive")
    if _looks_like_path(spec):
        raise AuditError(f"{spec}: no such file or directory")
    # Imported here: only requirements need it, and check must start fast.
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        requirement = Requirement(spec)
    except InvalidRequirement:
        raise AuditError(f"{spec}: no such path, and not a valid requirement") from None
    return Target(kind="requirement", spec=spec, name=canonical_name(requirement.name))


def _looks_like_path(spec: str) -> bool:
    return "/" in spec or "\\" in spec or spec.startswith(".") or spec.endswith(
        (".whl", ".cloacina", ".toml")
    )


def _wheel_name(path: Path) -> str:
    return canonical_name(path.name.split("-")[0])


def _project_target(spec: str, root: Path, pyproject: dict[str, Any]) -> Target:
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


def _cloacina_package_target(spec: str, root: Path) -> Target:
    """A Cloacina package: workflow/ and vendor/ on the path, as the server's loader has them."""
    manifest, findings = read_manifest(root)
    findings += check_loader_rules(root, manifest)
    workflow = root / "workflow"
    packages = source_roots(workflow)
    if not packages:
        raise AuditError(f"{spec}: no Python source in workflow/ (a package or a module)")
    search_paths = [d for d in (workflow, root / "vendor") if d.is_dir()]
    tree = SourceTree(root=root, name=canonical_name(manifest.name or root.name),
                      version=manifest.version, packages=packages, search_paths=search_paths)
    return Target(
        kind="cloacina_package",
        spec=spec,
        name=tree.name,
        config=AuditConfig(preset="cloaca"),
        tree=tree,
        manifest=manifest,
        findings=findings,
    )


def _importlinter_target(spec: str, root: Path, config_file: Path) -> Target:
    """A directory with only an import-linter configuration: its root packages, as lint-imports."""
    session = read_importlinter_options(config_file).session_options
    roots = session.get("root_packages") or []
    roots = [roots] if isinstance(roots, str) else list(roots)
    if not roots:
        raise AuditError(f"{config_file}: no root_packages in the import-linter configuration")
    search_paths = [d for d in (root, root / "src") if d.is_dir()]
    tree = SourceTree(root=root, name=root.name, version=None, packages=roots,
                      search_paths=search_paths)
    return Target(kind="importlinter", spec=spec, name=root.name, tree=tree)


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
        name=canonical_name(name),
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
            found[canonical_name(dist)] = read_source_tree(source_root, source_data)
            pending.append((source_root, source_data))
    return found
