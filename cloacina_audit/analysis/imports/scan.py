"""grimp's scanner, run on the roots we located and the modules our walk found.

grimp's own module finder skips directories without ``__init__.py`` inside a
package (python-grimp/grimp#298) and its package finder only knows ``sys.path``;
both are replaced here, for one build, through grimp's settings (adapters/grimp.py).
Only a build imports grimp: a graph read from the cache never does.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import grimp

from cloacina_audit.adapters.grimp import (
    AbstractModuleFinder,
    FoundPackage,
    GrimpException,
    Module,
    ModuleFile,
    SourceSyntaxError,
    finders,
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

    def find_package(
        self, package_name: str, package_directory: str, file_system: object
    ) -> FoundPackage:
        directory = Path(package_directory)
        if package_name not in self.walked:
            self.walked[package_name] = self._side.walk(directory, audited=False)
        found = self.walked[package_name]
        return FoundPackage(
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



class _RootFinder:
    """grimp's package finder: the roots already located on our search path
    (top-level modules and namespace packages included)."""

    def __init__(self, roots: dict[str, Path]) -> None:
        self.roots = roots

    def determine_package_directories(self, package_name: str, file_system: object) -> set[str]:
        return {str(self.roots[package_name])}


@contextlib.contextmanager
def _grimp_adapters(roots: dict[str, Path], finder: ModuleFinder) -> Iterator[None]:
    """Packages are the roots located on our search path, and their modules found by
    our walk (which follows symlinks without looping, and includes namespace directories)."""
    with finders(_RootFinder(roots), finder):
        yield


def scan(
    roots: dict[str, Path], finder: ModuleFinder, scan_cache: str | None
) -> grimp.ImportGraph:
    """The graph of ``roots`` as grimp scans it, with every failure as one line."""
    # grimp's own (mtime-keyed) cache lives only as long as this build: it saves
    # re-parsing the packages already scanned while the closure grows.
    with _grimp_adapters(roots, finder):
        try:
            return grimp.build_graph(
                *roots, include_external_packages=True, cache_dir=scan_cache
            )
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
