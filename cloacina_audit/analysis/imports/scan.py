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
    """grimp's scan cache for the rounds of one build, in memory.

    The closure grows a round at a time: the scan of the packages found so far names
    the packages they import, which are graphed in the next round. grimp's own cache is
    keyed by the whole set of packages (how an import resolves depends on which packages
    are graphed), so every round parsed every file again. An import resolves differently
    after a round only when it imports a package that round added (``sqlalchemy``,
    external and squashed, becomes ``sqlalchemy.orm``); an import within the packages
    already graphed resolves as before. So a file's scan is kept unless it imports a
    package added since it was scanned.
    """

    def __init__(self) -> None:
        #: module -> (mtime, top-level packages graphed when scanned, its imports)
        self._scans: dict[str, tuple[float, frozenset[str], set[DirectImport]]] = {}

    def setup(self, *, found_packages: set[FoundPackage], **options: Any) -> _Round:
        """What grimp calls as ``Cache.setup`` at the start of each build; the other
        options are the same for every round of one build."""
        return _Round(self._scans, found_packages)


class _Round:
    """The cache as one round's ``grimp.build_graph`` reads and writes it."""

    def __init__(
        self,
        scans: dict[str, tuple[float, frozenset[str], set[DirectImport]]],
        found_packages: set[FoundPackage],
    ) -> None:
        self._scans = scans
        self._tops = frozenset(package.name.split(".")[0] for package in found_packages)
        self._mtimes = {file.module.name: file.mtime
                        for package in found_packages for file in package.module_files}

    def read_imports(self, module_file: ModuleFile) -> set[DirectImport]:
        entry = self._scans.get(module_file.module.name)
        if entry is None or entry[0] != module_file.mtime:
            raise CacheMiss
        _, tops, imports = entry
        added = self._tops - tops
        if added and any(i.imported.name.split(".")[0] in added for i in imports):
            raise CacheMiss
        return imports

    def write(self, imports_by_module: dict[Module, set[DirectImport]]) -> None:
        for module, imports in imports_by_module.items():
            self._scans[module.name] = (self._mtimes[module.name], self._tops, imports)



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
    """The graph of ``roots`` as grimp scans it, with every failure as one line."""
    with _grimp_adapters(roots, finder, scans):
        try:
            # cache_dir left out: grimp then uses its CACHE_CLASS (ours, in memory).
            return grimp.build_graph(*roots, include_external_packages=True)
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
