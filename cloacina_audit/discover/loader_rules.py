"""The Cloacina server's Python loader rules, checked before the server sees the package.

The loader (crates/cloacina-python/src/loader.rs, Cloacina 0.10.0) refuses a
package whose ``workflow/`` or ``vendor/`` holds an entry named like a
standard-library module on its deny list (``validate_no_stdlib_shadowing``),
appends ``workflow/`` then ``vendor/`` to ``sys.path`` and imports
``[metadata].entry_module`` (``import_and_register_python_workflow_named``).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path

from cloacina_audit.discover.manifest import Manifest
from cloacina_audit.model.report import Finding

#: Standard-library modules the server refuses to let a package shadow: loader.rs
#: ``STDLIB_DENY_LIST`` (Cloacina 0.10.0, crates/cloacina-python/src/loader.rs).
STDLIB_DENY_LIST = frozenset(
    {
        "os", "sys", "subprocess", "shutil", "socket", "http", "urllib", "ctypes",
        "importlib", "pathlib", "io", "json", "pickle", "marshal", "code", "codeop",
        "compile", "compileall", "builtins", "signal", "multiprocessing", "threading",
        "tempfile", "glob", "fnmatch",
    }
)  # fmt: skip

#: The directories the loader puts on sys.path, in order.
SEARCH_DIRS = ("workflow", "vendor")

_EXTENSION_SUFFIXES = (".so", ".pyd")


def check_loader_rules(package_dir: Path, manifest: Manifest) -> list[Finding]:
    """Findings for a Python package; a Rust package has no Python loader to satisfy."""
    if manifest.language == "rust":
        return []
    findings = []
    for directory in SEARCH_DIRS:
        findings += shadowing_findings(package_dir, directory, shadowing_names(package_dir / directory))
        findings += stdlib_first_findings(package_dir, directory, top_level_names(package_dir / directory))
    findings += entry_module_findings(package_dir, manifest.entry_module)
    return findings


def top_level_names(directory: Path) -> list[tuple[str, str]]:
    """``(import name, entry name)`` for each importable thing directly in ``directory``.

    Directories count with or without ``__init__.py`` (a namespace package
    shadows too); files count when Python would import them (.py, extension modules).
    """
    if not directory.is_dir():
        return []
    names = []
    for entry in sorted(directory.iterdir()):
        name = _import_name(entry)
        if name is not None:
            names.append((name, entry.name + ("/" if entry.is_dir() else "")))
    return names


def shadowing_names(directory: Path) -> list[tuple[str, str]]:
    """``(name, entry name)`` for every entry of ``directory``, as the server names it.

    ``validate_no_stdlib_shadowing`` (loader.rs) reads the directory and strips only
    ``.py`` from each entry's name, whatever the entry is: an extensionless file
    ``signal`` counts, ``os.cpython-311-x86_64-linux-gnu.so`` does not.
    """
    if not directory.is_dir():
        return []
    entries = sorted(directory.iterdir())
    return [
        (entry.name.removesuffix(".py"), entry.name + ("/" if entry.is_dir() else ""))
        for entry in entries
    ]


def source_roots(directory: Path) -> list[str]:
    """The top-level names in ``directory`` whose Python source an import can run.

    A module (``name.py``), a regular package, or a namespace package (a directory
    without ``__init__.py``, the layout of the packaging how-to's Step 3) that holds
    ``.py`` files. Extension modules have no source to read; a name of the standard
    library is never imported from here (see :func:`stdlib_first_findings`).
    """
    return sorted(
        name for name, entry in top_level_names(directory)
        if name not in sys.stdlib_module_names
        and (
            (entry.endswith(".py") and (directory / entry).is_file())
            or (directory / entry / "__init__.py").is_file()
            or (entry.endswith("/") and any((directory / entry).rglob("*.py")))
        )
    )


def vendored_names(package_dir: Path | None) -> list[str]:
    """Top-level names importable from the package's ``vendor/``."""
    if package_dir is None:
        return []
    return sorted({name for name, _ in top_level_names(package_dir / "vendor")})


def _import_name(entry: Path) -> str | None:
    if entry.is_dir():
        name = entry.name
    elif entry.suffix == ".py" or entry.suffix in _EXTENSION_SUFFIXES:
        name = entry.name.split(".", 1)[0]
    else:
        return None
    return name if name.isidentifier() and name != "__pycache__" else None


def shadowing_findings(
    package_dir: Path, directory: str, names: Iterable[tuple[str, str]]
) -> list[Finding]:
    return [
        Finding(
            rule="loader-shadows-stdlib",
            message=(
                f"{directory}/{entry} shadows the standard-library module {name!r}; "
                "the Cloacina loader refuses the package"
            ),
            file=str(package_dir / directory / entry.rstrip("/")),
        )
        for name, entry in names
        if name in STDLIB_DENY_LIST
    ]


def stdlib_first_findings(
    package_dir: Path, directory: str, names: Iterable[tuple[str, str]]
) -> list[Finding]:
    """Names the standard library takes first: the loader *appends* workflow/ and vendor/
    to sys.path ("append, not insert — avoid shadowing stdlib", loader.rs), so the
    package's own module of that name is never imported on the server.

    The standard library is ``sys.stdlib_module_names`` of the Python running this tool.
    """
    return [
        Finding(
            rule="loader-stdlib-first",
            level="warning",
            message=(
                f"{directory}/{entry} is never imported on the server: the standard-library "
                f"module {name!r} comes first on sys.path"
            ),
            file=str(package_dir / directory / entry.rstrip("/")),
        )
        for name, entry in names
        if name in sys.stdlib_module_names and name not in STDLIB_DENY_LIST
    ]


def resolve_entry_module(workflow_dir: Path, entry_module: str) -> Path | None:
    """The file ``import entry_module`` would run with only workflow/ on the path."""
    if not all(part.isidentifier() for part in entry_module.split(".")):
        return None  # no import statement can name it
    base = workflow_dir.joinpath(*entry_module.split("."))
    for candidate in (base / "__init__.py", base.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def entry_module_findings(package_dir: Path, entry_module: str | None) -> list[Finding]:
    if entry_module is None:
        return []  # no name to default from: the manifest findings already say so
    workflow = package_dir / "workflow"
    if resolve_entry_module(workflow, entry_module) is not None:
        return []
    relative = "/".join(entry_module.split("."))
    return [
        Finding(
            rule="loader-entry-module",
            message=(
                f"entry module {entry_module!r} does not resolve: no workflow/{relative}.py "
                f"or workflow/{relative}/__init__.py"
            ),
            file=str(package_dir / "package.toml"),
        )
    ]
