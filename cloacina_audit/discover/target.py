"""What is PATH? Turn a command-line argument into a :class:`Target`.

Discovery only reads files; it never imports or runs the audited code.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from cloacina_audit.discover.config import (
    AuditConfig,
    audit_config_from_pyproject,
    find_importlinter_config,
    project_version,
    read_importlinter_options,
    read_toml,
    table_at,
)
from cloacina_audit.discover.loader_rules import check_loader_rules, source_roots
from cloacina_audit.discover.manifest import Manifest, read_manifest
from cloacina_audit.discover.project_packages import SourceTree, path_sources, read_source_tree
from cloacina_audit.discover.requirements import not_found, requirement_name
from cloacina_audit.errors import AuditError
from cloacina_audit.model.names import canonical_name
from cloacina_audit.model.report import Finding

#: The kinds discovery tells apart; what the commands do with each is in app/kinds/.
KindName = Literal["project", "importlinter", "cloacina_package", "wheel", "requirement", "rust"]

@dataclass(frozen=True)
class InstallSource:
    """What uv installs into an isolated environment for a target: exactly one of these."""

    #: A project, built from a copy of its tree (with its path sources).
    project: Path | None = None
    wheel: Path | None = None
    requirement: str | None = None

    @property
    def label(self) -> str:
        return "project" if self.project else "wheel" if self.wheel else "requirement"


@dataclass
class Target:
    kind: KindName
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
    #: For a git-ref baseline: the full commit id the ref resolved to.
    git_commit: str | None = None
    #: What an isolated environment installs for it; None when nothing can be installed.
    install: InstallSource | None = None
    #: False for an import-linter-only directory: like lint-imports, its graph holds
    #: its root packages alone; every other target is followed into what it reaches.
    follows_imports: bool = True

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

    @property
    def built_from_source(self) -> bool:
        """A project: an isolated environment builds it from a copy of its tree."""
        return self.install is not None and self.install.project is not None

    @property
    def installed_only(self) -> bool:
        """A wheel or a requirement: read where it is installed, in its own environment."""
        return self.install is not None and self.install.project is None


@contextlib.contextmanager
def open_target(
    spec: str, config_file: Path | None = None, *, ceiling: Path | None = None,
    cache_dir: Path | None = None,
) -> Iterator[Target]:
    """Like :func:`discover`, but also opens ``.cloacina`` archives.

    An archive is unpacked safely into a temporary directory that lives as long
    as the ``with`` block; the target then reads like a package directory.
    """
    path = Path(spec)
    if path.is_file() and path.suffix == ".cloacina":
        # Imported here: tarfile is for archives only, and every command starts here.
        from cloacina_audit.discover.archive import unpack_package_archive

        with unpack_package_archive(path) as unpacked:
            top = unpacked.top
            target = _rust_target(spec, top) if (top / "Cargo.toml").is_file() else \
                _cloacina_package_target(spec, top)
            target.archive_bytes = path.stat().st_size
            target.shown_as = {unpacked.top.parent: f"{path.resolve()}!"}
            if unpacked.ignored:
                # fidius unpack_package keeps only the directory holding package.toml.
                target.findings.append(Finding(
                    rule="archive-ignored-entries", level="warning",
                    message=f"{path.name}: outside the package directory {unpacked.top.name}/, "
                            f"ignored by the server: {', '.join(unpacked.ignored)}",
                ))
            yield target
    else:
        yield discover(spec, config_file, ceiling=ceiling, cache_dir=cache_dir)


def discover(
    spec: str, config_file: Path | None = None, *, ceiling: Path | None = None,
    cache_dir: Path | None = None,
) -> Target:
    """Classify ``spec`` and read what can be read without installing anything.

    ``config_file`` is an import-linter configuration given on the command line;
    a directory that is not a project but has one is checked the way
    lint-imports would check it. A subdirectory audits the nearest enclosing
    target, looked for up to ``ceiling`` (default: the top of the git work tree).
    ``cache_dir`` keeps what import-linter's readers made of a configuration.
    """
    path = Path(spec)
    if path.is_dir() and config_file is None:
        spec, path = _nearest_target_dir(spec, path, ceiling)
    if path.is_dir():
        root = path.resolve()
        pyproject = read_toml(root / "pyproject.toml") if (root / "pyproject.toml").exists() else None
        if pyproject is not None and "project" in pyproject:
            return _project_target(spec, root, pyproject)
        if (path / "Cargo.toml").is_file():
            return _rust_target(spec, root)
        if (path / "package.toml").is_file():
            return _cloacina_package_target(spec, root)
        importlinter_file = config_file or find_importlinter_config(root)
        if importlinter_file is not None:
            return _importlinter_target(spec, root, importlinter_file, cache_dir)
        if pyproject is not None:
            return _project_target(spec, root, pyproject)
        raise AuditError(
            f"{spec}: no pyproject.toml, package.toml or import-linter configuration here "
            "or in a parent directory"
        )
    if path.is_file():
        if path.suffix == ".whl":
            wheel = path.resolve()
            return Target(kind="wheel", spec=str(wheel), name=_wheel_name(path),
                          install=InstallSource(wheel=wheel))
        if path.suffix == ".cloacina":
            raise AuditError(f"{spec}: .cloacina archives are opened with open_target()")
        raise AuditError(f"{spec}: not a project directory, wheel or .cloacina archive")
    name = requirement_name(spec)
    if name is None:
        raise not_found(spec)
    return Target(kind="requirement", spec=spec, name=canonical_name(name),
                  install=InstallSource(requirement=spec))


def _nearest_target_dir(spec: str, path: Path, ceiling: Path | None) -> tuple[str, Path]:
    """The directory to audit for ``path``: itself, or the nearest parent that is a target.

    Like ruff finding its pyproject.toml: a subdirectory of a project (or the
    current directory, when PATH is omitted) audits the project it is in. The
    walk stops at the top of the git work tree (the first directory holding
    ``.git``) and at the file-system root. Returns (spec, path) as shown to the user.
    """
    start = path.resolve()
    top = ceiling.resolve() if ceiling is not None else None
    for directory in (start, *start.parents):
        if _is_target_dir(directory):
            if directory == start:
                return spec, path
            shown = str(directory) if Path(spec).is_absolute() else os.path.relpath(directory)
            return shown, Path(shown)
        if directory == top or (directory / ".git").exists():
            break
    return spec, path


def _is_target_dir(directory: Path) -> bool:
    return (
        (directory / "pyproject.toml").exists()
        or (directory / "package.toml").is_file()
        or (directory / "Cargo.toml").is_file()
        or find_importlinter_config(directory) is not None
    )


def _wheel_name(path: Path) -> str:
    return canonical_name(path.name.split("-")[0])


def _project_target(spec: str, root: Path, pyproject: dict[str, Any]) -> Target:
    where = f"{spec}/pyproject.toml"
    config = audit_config_from_pyproject(pyproject, where)
    tree = read_source_tree(root, pyproject, config.packages)
    if not tree.packages:
        raise AuditError(f"{spec}: no Python package found (a directory with __init__.py)")
    if "project" in pyproject:
        project_version(pyproject["project"], where)
    return Target(
        kind="project",
        spec=spec,
        name=tree.name,
        config=config,
        tree=tree,
        path_sources=path_sources(root, pyproject),
        pyproject=pyproject,
        install=InstallSource(project=root),
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


def _rust_target(spec: str, root: Path) -> Target:
    """A Cargo crate; with a package.toml, a Rust Cloacina package (validated as the server does).

    Configuration lives in ``[package.metadata.cloacina-audit]``, Cargo's table for tools.
    """
    where = f"{spec}/Cargo.toml"
    cargo = read_toml(root / "Cargo.toml")
    package = table_at(cargo, "package", where)
    name = package.get("name")
    if not isinstance(name, str):
        raise AuditError(f"{where}: no [package] name (a workspace root is not a package)")
    metadata = table_at(cargo, "package.metadata.cloacina-audit", where)
    config = audit_config_from_pyproject({"tool": {"cloacina-audit": metadata}}, where)
    manifest, findings = (read_manifest(root) if (root / "package.toml").is_file() else (None, []))
    version = package.get("version") if isinstance(package.get("version"), str) else None
    tree = SourceTree(root=root, name=name, version=version, packages=[name], search_paths=[])
    return Target(kind="rust", spec=spec, name=name, config=config, tree=tree,
                  manifest=manifest, findings=findings, pyproject=cargo)


def _importlinter_target(spec: str, root: Path, config_file: Path, cache_dir: Path | None) -> Target:
    """A directory with only an import-linter configuration: its root packages, as lint-imports."""
    session = read_importlinter_options(config_file, cache_dir).session_options
    roots = session.get("root_packages") or []
    roots = [roots] if isinstance(roots, str) else list(roots)
    if not roots:
        raise AuditError(f"{config_file}: no root_packages in the import-linter configuration")
    search_paths = [d for d in (root, root / "src") if d.is_dir()]
    tree = SourceTree(root=root, name=root.name, version=None, packages=roots,
                      search_paths=search_paths)
    return Target(kind="importlinter", spec=spec, name=root.name, tree=tree, follows_imports=False)
