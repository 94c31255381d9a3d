"""grimp's scanner, run on the roots we located and the modules our walk found.

grimp's own module finder skips directories without ``__init__.py`` inside a
package (python-grimp/grimp#298), its package finder only knows ``sys.path``, and its
cache is keyed by the whole set of packages; all three are replaced here, for one build,
through grimp's settings (adapters/grimp.py). Only a build imports grimp: a graph read
from the cache never does.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grimp

from cloacina_audit.adapters.grimp import (
    AbstractModuleFinder,
    CacheMiss,
    DirectImport,
    FoundPackage,
    GrimpException,
    Module,
    ModuleFile,
    SourceSyntaxError,
    build_settings,
    scan_imports,
)
from cloacina_audit.analysis.imports.graph_cache import SideEntry
from cloacina_audit.analysis.imports.walk import PackageFiles, module_name
from cloacina_audit.errors import AuditError


class ModuleFinder(AbstractModuleFinder):
    """grimp's module finder, replaced by ``walk_package``: namespace portions included."""

    def __init__(self, walked: dict[str, PackageFiles], side: SideEntry) -> None:
        #: Every package found so far; the audited ones come walked already.
        self.walked = dict(walked)
        self._side = side
        #: What grimp was told of each package, once per build (each round asks again).
        self._found: dict[tuple[str, str], FoundPackage] = {}

    def find_package(
        self, package_name: str, package_directory: str, file_system: object
    ) -> FoundPackage:
        key = (package_name, package_directory)
        if key in self._found:
            return self._found[key]
        directory = Path(package_directory)
        if package_name not in self.walked:
            self.walked[package_name] = self._side.walk(directory, audited=False)
        found = self.walked[package_name]
        self._found[key] = FoundPackage(
            name=package_name,
            directory=package_directory,
            module_files=frozenset(
                ModuleFile(module=Module(module_name(package_name, directory, path)),
                           mtime=path.stat().st_mtime)
                for path in found.modules
            ),
            namespace_packages=frozenset(
                module_name(package_name, directory, path) for path in found.namespace_dirs
            ),
        )
        return self._found[key]


class ClosureScans:
    """The scans of one build, in memory: grimp's cache (its ``CACHE_CLASS``) for the
    final build, and what the rounds of the closure read.

    The closure grows a round at a time: the imports of the packages found so far name
    the packages they reach, which are scanned in the next round. grimp's own cache is
    keyed by the whole set of packages (how an import resolves depends on which packages
    are graphed), so every round parsed every file again. An import resolves differently
    after a round only when it imports a package that round added (``sqlalchemy``,
    external and squashed, becomes ``sqlalchemy.orm``); an import within the packages
    already graphed resolves as before. So a file's scan is kept unless it imports a
    package added since it was scanned. The rounds only scan; grimp assembles the graph
    once, from these scans, when the closure is complete.
    """

    def __init__(self) -> None:
        self._scans: dict[str, _Scan] = {}

    def setup(self, *, found_packages: set[FoundPackage], **options: Any) -> _Round:
        """What grimp calls as ``Cache.setup`` at the start of a build; the other options
        are the same for every round of one build."""
        return _Round(self._scans, found_packages)

    def imports(self, roots: dict[str, Path], finder: ModuleFinder) -> ScannedImports:
        """The imports of every module of ``roots``, scanning the files not scanned yet
        (or to be scanned again) in grimp's scanner, as ``grimp.build_graph`` would."""
        found = {finder.find_package(name, str(path), None) for name, path in roots.items()}
        scans = _Round(self._scans, found)
        unscanned = [file for package in found for file in package.module_files
                     if not scans.holds(file)]
        with _one_line_errors(roots):
            scanned = scan_imports(unscanned, found_packages=found,
                                   include_external_packages=True,
                                   exclude_type_checking_imports=False)
        scans.write({file.module: imports for file, imports in scanned.items()})
        imports = {file.module.name: self._scans[file.module.name].names
                   for package in found for file in package.module_files}
        namespaces = {name for package in found for name in package.namespace_packages}
        return ScannedImports(imports, frozenset(package.name for package in found), namespaces)


class _Round:
    """The scans as one round reads and writes them."""

    def __init__(
        self,
        scans: dict[str, _Scan],
        found_packages: set[FoundPackage],
    ) -> None:
        self._scans = scans
        self._tops = frozenset(package.name.split(".")[0] for package in found_packages)
        self._mtimes = {file.module.name: file.mtime
                        for package in found_packages for file in package.module_files}

    def holds(self, module_file: ModuleFile) -> bool:
        scan = self._scans.get(module_file.module.name)
        return (scan is not None and scan.mtime == module_file.mtime
                and scan.imported.isdisjoint(self._tops - scan.graphed))

    def read_imports(self, module_file: ModuleFile) -> set[DirectImport]:
        if not self.holds(module_file):
            raise CacheMiss
        return self._scans[module_file.module.name].imports

    def write(self, imports_by_module: dict[Module, set[DirectImport]]) -> None:
        for module, imports in imports_by_module.items():
            known = self._scans.get(module.name)
            if known is not None and known.imports is imports:
                continue  # read from here: what it was scanned with still holds
            names = frozenset(i.imported.name for i in imports)
            self._scans[module.name] = _Scan(self._mtimes[module.name], self._tops, imports,
                                             names, frozenset(n.split(".")[0] for n in names))


@dataclass(frozen=True)
class _Scan:
    """One file's scan, and what it was scanned with."""

    mtime: float
    #: The top-level packages graphed when it was scanned.
    graphed: frozenset[str]
    imports: set[DirectImport]
    #: The modules it imports, and their top-level packages.
    names: frozenset[str]
    imported: frozenset[str]


@dataclass(frozen=True)
class ScannedImports:
    """What a round's scan says: each module's imports, as names."""

    #: module -> the modules it imports, as grimp resolves them.
    imports: dict[str, frozenset[str]]
    #: The packages scanned (top-level, or a namespace portion graphed as a root).
    packages: frozenset[str]
    #: Directories inside them without ``__init__.py`` that hold modules.
    namespaces: set[str]

    def is_external(self, module: str) -> bool:
        """grimp's rule: a module is external (squashed) unless it is in a package scanned."""
        parts = module.split(".")
        return not any(".".join(parts[:n]) in self.packages for n in range(1, len(parts) + 1))

    def external_top_levels(self, packages: list[str]) -> set[str]:
        """External packages that code reachable from ``packages`` imports.

        Reachability follows imports and, as Python does, each module's parent
        package, so a package is only pulled in when some run-time path leads to it
        (sqlalchemy.testing importing pytest does not make pytest part of every
        package that uses sqlalchemy).
        """
        modules = self.imports.keys() | self.namespaces
        pending = [m for m in modules for p in packages if m == p or m.startswith(p + ".")]
        seen = set(pending)
        external: set[str] = set()
        while pending:
            module = pending.pop()
            if module not in self.imports and self.is_external(module):
                external.add(module.split(".")[0])
                continue
            neighbours = set(self.imports.get(module, ()))
            if "." in module and module.rsplit(".", 1)[0] in modules:  # not a namespace root's
                neighbours.add(module.rsplit(".", 1)[0])
            for neighbour in neighbours - seen:
                seen.add(neighbour)
                pending.append(neighbour)
        return external


class _RootFinder:
    """grimp's package finder: the roots already located on our search path
    (top-level modules and namespace packages included)."""

    def __init__(self, roots: dict[str, Path]) -> None:
        self.roots = roots

    def determine_package_directories(self, package_name: str, file_system: object) -> set[str]:
        return {str(self.roots[package_name])}


@contextlib.contextmanager
def _grimp_adapters(
    roots: dict[str, Path], finder: ModuleFinder, scans: ClosureScans
) -> Iterator[None]:
    """Packages are the roots located on our search path, their modules found by our walk
    (which follows symlinks without looping, and includes namespace directories), and
    scans kept across the rounds of one build."""
    with build_settings(_RootFinder(roots), finder, scans):
        yield


def scan(roots: dict[str, Path], finder: ModuleFinder, scans: ClosureScans) -> grimp.ImportGraph:
    """The graph of ``roots`` as grimp builds it, from ``scans`` where they hold."""
    with _grimp_adapters(roots, finder, scans), _one_line_errors(roots):
        # cache_dir left out: grimp then uses its CACHE_CLASS (ours, in memory).
        return grimp.build_graph(*roots, include_external_packages=True)


@contextlib.contextmanager
def _one_line_errors(roots: dict[str, Path]) -> Iterator[None]:
    """Every failure of grimp's scanner as one line."""
    try:
        yield
    except SourceSyntaxError as exc:
        text = (exc.text or "").strip()
        if "\x00" in text:
            text = "the file contains null bytes"
        raise AuditError(f"{exc.filename}:{exc.lineno or '?'}: syntax error: {text}") from None
    except UnicodeDecodeError as exc:
        raise AuditError(f"cannot decode a module as UTF-8: {exc.reason}") from None
    except (GrimpException, ValueError, OSError) as exc:
        raise AuditError(f"cannot build the import graph: {exc}") from None
    except BaseException as exc:  # grimp's Rust core can panic (a BaseException)
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        raise AuditError(f"grimp failed while scanning {', '.join(roots)}: {exc}") from None
