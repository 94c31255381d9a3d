"""The import graph of a package and everything it reaches, built by grimp.

Starting from the audited packages, every external package that is found on the
search path is added as a root and the graph rebuilt, until nothing new is
reached: the framework and third-party code a package drags in become part of
the graph, so chains through them are visible. Names that are not packages on
the search path (the stdlib, single-module distributions, missing packages)
stay as grimp's squashed external nodes.

Modules under a directory without ``__init__.py`` inside a package are part of
it (PEP 420 namespace portions: ``import pkg.sub.m`` works). grimp's own module
finder skips them (python-grimp/grimp#298); the walk lists them to grimp
(scan.py), so their imports are scanned too.

The scanned imports are cached, keyed on file *content* and validated by stat
first (graph_cache.py): an entry is used only if no module was added or removed,
every file still has the content it was built from, and the entry is signed with
this user's key (signed_cache.py): a planted entry is never believed.
"""

from __future__ import annotations

import ast
import copy
import os
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from cloacina_audit.analysis.imports import graph_cache
from cloacina_audit.analysis.imports.kinds import ImportKinds
from cloacina_audit.analysis.imports.not_installed import add_not_installed_nodes, missing_modules
from cloacina_audit.analysis.imports.searchpath import SearchPath
from cloacina_audit.errors import AuditError
from cloacina_audit.system.signed_cache import cache_key

if TYPE_CHECKING:
    import grimp

#: Marks the edges this module adds from a module to its parent package.
IMPLICIT = "<implicit>"


@dataclass
class PackageGraph:
    """A grimp graph plus what is needed to point at source lines.

    The grimp graph of a cached entry is built when first asked for (``graph``): a
    warm check whose verdicts are cached needs only what the entry says besides it.
    """

    #: Top-level packages scanned, with their directories.
    roots: dict[str, Path]
    #: Squashed external top-level names (not found, or not packages).
    externals: set[str] = field(default_factory=set)
    #: When each import line runs, read from the syntax tree on demand.
    kinds: ImportKinds = field(default_factory=lambda: ImportKinds(None))
    #: External (squashed) modules imported but not installed: neither the stdlib
    #: nor any module or package on the search path. Top-level names, or the first
    #: name below a namespace package (``airflow.models`` beside ``airflow.sdk``).
    missing: set[str] = field(default_factory=set)
    #: Files of the audited packages named as modules but not read, with the reason.
    unread: list[tuple[Path, str]] = field(default_factory=list)
    #: The graph cache entry's digest: it names this graph built from these files'
    #: contents (graph_cache.py), None without a cache.
    identity: str | None = None
    #: Every module file of the roots, as the walk found them (None: not known, stat).
    module_paths: set[str] | None = field(default=None, repr=False)
    #: Builds the grimp graph (then given its not-installed nodes); None once it is built.
    builder: Callable[[], grimp.ImportGraph] | None = field(default=None, repr=False)
    _graph: grimp.ImportGraph | None = field(default=None, repr=False)
    _not_installed: set[str] = field(default_factory=set, repr=False)
    _files: dict[str, Path | None] = field(default_factory=dict, repr=False)

    @property
    def graph(self) -> grimp.ImportGraph:
        if self._graph is None:
            assert self.builder is not None, "a PackageGraph is built from a graph or a builder"
            self._graph, self.builder = self.builder(), None
            add_not_installed_nodes(self)
        return self._graph

    @property
    def not_installed(self) -> set[str]:
        """Modules added to the graph because an import statement names them while they
        are not installed (``from cloacina.database import DAL`` without cloacina):
        grimp records such an import as one of the nearest module it has."""
        self.graph  # noqa: B018  (building it adds them)
        return self._not_installed

    def missing_ancestor(self, module: str) -> str | None:
        """The missing package ``module`` lives in (itself or an ancestor), if any."""
        parts = module.split(".")
        for depth in range(1, len(parts) + 1):
            if ".".join(parts[:depth]) in self.missing:
                return ".".join(parts[:depth])
        return None

    def is_not_installed(self, module: str) -> bool:
        return module in self.not_installed or (
            module in self.missing and self.graph.is_module_squashed(module)
        )

    def module_file(self, module: str) -> Path | None:
        """The file that runs when ``module`` is imported (None: not in a scanned root)."""
        if module not in self._files:
            self._files[module] = self._find_file(module)
        return self._files[module]

    def _find_file(self, module: str) -> Path | None:
        parts = module.split(".")
        # The longest root that holds it: a namespace portion (airflow.sdk) is a root too.
        depth = next((d for d in range(len(parts), 0, -1) if ".".join(parts[:d]) in self.roots), 0)
        if not depth:
            return None
        # Strings, not pathlib: this runs for most modules of a large graph.
        base = os.path.join(self.roots[".".join(parts[:depth])], *parts[depth:])
        for candidate in (os.path.join(base, "__init__.py"), base + ".py"):
            if self._is_module_file(candidate):
                return Path(candidate)
        return None

    def _is_module_file(self, path: str) -> bool:
        # The walk that listed the modules answers without a stat per module.
        return os.path.isfile(path) if self.module_paths is None else path in self.module_paths

    def with_implicit_parent_imports(self) -> grimp.ImportGraph:
        """A copy in which every module imports its parent package.

        That is what Python does: importing ``a.b.c`` first runs ``a/__init__.py``
        and ``a/b/__init__.py``, so whatever those import is reached too.
        """
        graph = copy.deepcopy(self.graph)
        runs_code: dict[str, bool] = {}
        modules = self.graph.modules  # a new set on each call to grimp: taken once
        for module in modules:
            if "." not in module or self.graph.is_module_squashed(module):
                continue
            parent = module.rsplit(".", 1)[0]
            # A namespace package (no __init__.py) runs nothing of its own: the
            # code that runs is its nearest regular ancestor's __init__.py.
            while "." in parent and not _runs_code(self, parent, runs_code):
                parent = parent.rsplit(".", 1)[0]
            if parent in modules:
                graph.add_import(
                    importer=module, imported=parent, line_number=0, line_contents=IMPLICIT
                )
        return graph


def _runs_code(package_graph: PackageGraph, module: str, memo: dict[str, bool]) -> bool:
    if module not in memo:
        memo[module] = package_graph.module_file(module) is not None
    return memo[module]


def build_package_graph(
    packages: list[str], search: SearchPath, cache_dir: Path | None, follow: bool = True
) -> PackageGraph:
    """Graph ``packages`` and, when ``follow``, the closure of packages they reach.

    A dotted package (a distribution's subpackage, ``airflow.sdk``) is graphed
    within its top-level package, or as a root of its own when its parents are
    namespace directories (see :func:`graph_root`).
    """
    roots = {name: _require_package(name, search)
             for name in sorted({graph_root(p, search) for p in packages})}
    key = graph_cache.cache_key(packages, search, follow)
    cache_file = cache_dir / "graphs" / f"{key}.marshal" if cache_dir else None
    signing_key = cache_key(cache_dir) if cache_dir else None
    side = graph_cache.SideEntry(cache_file, signing_key)
    walked = {name: side.walk(directory, audited=True) for name, directory in roots.items()}
    files = {name: found.modules for name, found in walked.items()}
    unread = [entry for found in walked.values() for entry in found.skipped]
    if cache_file is not None:
        loaded = graph_cache.load(cache_file, search, files, signing_key, _locate_root, side)
        if loaded is not None:
            return PackageGraph(
                roots=loaded.roots, externals=loaded.externals, kinds=ImportKinds(cache_dir),
                missing=missing_modules(loaded.modules, loaded.squashed, search), unread=unread,
                identity=f"{key}:{loaded.identity}", module_paths=loaded.files,
                builder=loaded.build_graph,
            )

    # The cache's hashes are taken in the same read (the racy-stat rule: the clock before it).
    read: tuple[int, dict[str, graph_cache.Hashed]] | None = \
        (time.time_ns(), {}) if cache_file is not None else None
    for name, directory in roots.items():
        _refuse_relative_imports_beyond_top(directory, files[name], read[1] if read else None)
    # Imported here: a warm run whose graph comes from the cache never loads grimp.
    from cloacina_audit.analysis.imports.scan import ClosureScans, ModuleFinder, scan

    finder = ModuleFinder(walked, side)
    scans = ClosureScans()
    while True:
        reached = scans.imports(roots, finder).external_top_levels(packages)
        new = {
            name: found
            for name in sorted(reached)
            if name not in sys.stdlib_module_names and (found := search.find_package(name))
        }
        if not new or not follow:
            break
        roots.update(new)
    graph = scan(roots, finder, scans)  # assembled once: every file is scanned already

    # Without following, externals found on the path are expected; they do not
    # invalidate the cache.
    modules = graph.modules  # a new set on each call to grimp: taken once
    result = PackageGraph(
        roots=roots,
        externals=reached if follow else set(),
        kinds=ImportKinds(cache_dir),
        unread=unread,
        module_paths={str(path) for found in finder.walked.values() for path in found.modules},
        missing=missing_modules(modules, {m for m in modules if graph.is_module_squashed(m)}, search),
        _graph=graph,
    )
    if cache_file is not None:
        stored = graph_cache.store(cache_file, graph, roots, result.externals,
                                   {name: found.modules for name, found in finder.walked.items()},
                                   signing_key, side, read)
        result.identity = f"{key}:{stored}" if stored else None
    add_not_installed_nodes(result)
    return result



def graph_root(package: str, search: SearchPath) -> str:
    """The root grimp graphs ``package`` under: its top-level package when that is a
    regular package, else ``package`` itself (a namespace portion, or top-level)."""
    top = package.split(".")[0]
    return top if "." in package and search.find_package(top) else package


def _require_package(name: str, search: SearchPath) -> Path:
    found = _locate_root(name, search)
    if found is None:
        raise AuditError(f"package {name!r} not found (no {name}/__init__.py on the search path)")
    return found


def _locate_root(name: str, search: SearchPath) -> Path | None:
    """Where an audited top-level name lives, as ``import name`` would find it.

    Besides regular packages: a plain module ``name.py`` (given as ``<dir>/name``,
    the directory a package would have: grimp reads ``<dir>/name.py`` for the root
    module) and a namespace package (a directory without ``__init__.py``, which
    Python takes only when no entry of the path has a package or module of that name).
    """
    found = search.find_package(name)
    if found is not None:
        return found
    portion = None
    for directory in search.directories:
        if (directory / f"{name}.py").is_file():
            return directory / name
        if any(directory.glob(f"{name}.*.so")):
            return None
        if portion is None and (directory / name).is_dir():
            portion = directory / name
    return portion


#: ``from ..x`` / ``from . . x``: group 1 holds the dots. One dot never climbs above the
#: top package (every module sits at depth 1 or deeper), so only two or more are sought,
#: and the pattern starts with a literal, which ``re`` finds fast. A match may be text in
#: a string or a comment: the syntax tree decides.
_RELATIVE_IMPORT = re.compile(rb"from[ \t]+((?:\.[ \t]*){2,})")


def _refuse_relative_imports_beyond_top(
    directory: Path, files: list[Path], hashed: dict[str, graph_cache.Hashed] | None = None
) -> None:
    """Python raises ImportError for ``from ... import x`` above the top package;
    grimp would drop such an import silently (or fail), so say where it is.
    ``hashed``: filled with each file's hash for the graph cache, from the same read."""
    prefix = len(str(directory))
    for path in files:
        # a/b/c.py and a/b/__init__.py both sit in package a.b: two levels up at most,
        # one per separator after a/.
        name = str(path)
        depth = name[prefix:].count(os.sep)
        if hashed is None:
            source = path.read_bytes()
        else:
            source, hashed[name] = graph_cache.read_hashed(name)
        levels = (match.group(1).count(b".") for match in _RELATIVE_IMPORT.finditer(source))
        if max(levels, default=0) <= depth:
            continue
        # Only a syntax tree tells a real statement from text in a string.
        try:
            tree = ast.parse(source)
        except (SyntaxError, ValueError):
            continue  # grimp reports the syntax error
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level > depth:
                target = "." * node.level + (node.module or "")
                raise AuditError(
                    f"{path}:{node.lineno}: relative import beyond the top package: from {target}"
                )

