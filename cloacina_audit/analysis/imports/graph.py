"""The import graph of a package and everything it reaches, built by grimp.

Starting from the audited packages, every external package that is found on the
search path is added as a root and the graph rebuilt, until nothing new is
reached: the framework and third-party code a package drags in become part of
the graph, so chains through them are visible. Names that are not packages on
the search path (the stdlib, single-module distributions, missing packages)
stay as grimp's squashed external nodes.

Modules under a directory without ``__init__.py`` inside a package are part of
it (PEP 420 namespace portions: ``import pkg.sub.m`` works). grimp's own module
finder skips them (python-grimp/grimp#298); this module lists them to grimp
through its ``MODULE_FINDER`` setting, so their imports are scanned too.

The scanned imports are cached, keyed on file *content*: a cache entry records
the sha256 of every file it was built from and is used only if all of them
still match and no module was added or removed, and only if it is signed with
this user's key (signed_cache.py): a planted entry is never believed.
"""

from __future__ import annotations

import ast
import contextlib
import copy
import hashlib
import os
import re
import stat
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import grimp
from grimp.application.ports.modulefinder import AbstractModuleFinder, FoundPackage, ModuleFile
from grimp.application.config import settings as grimp_settings
from grimp.domain.valueobjects import Module
from grimp.exceptions import GrimpException, SourceSyntaxError

from cloacina_audit import __version__
from cloacina_audit.errors import AuditError
from cloacina_audit.analysis.imports.kinds import ImportKinds
from cloacina_audit.analysis.imports.searchpath import SearchPath
from cloacina_audit.system.signed_cache import cache_key, read_signed, write_signed

#: Marks the edges this module adds from a module to its parent package.
IMPLICIT = "<implicit>"

#: 2: entries are signed (signed_cache.py).
_CACHE_FORMAT = 2


@dataclass
class PackageGraph:
    """A grimp graph plus what is needed to point at source lines."""

    graph: grimp.ImportGraph
    #: Top-level packages scanned, with their directories.
    roots: dict[str, Path]
    #: Squashed external top-level names (not found, or not packages).
    externals: set[str] = field(default_factory=set)
    from_cache: bool = False
    #: When each import line runs, read from the syntax tree on demand.
    kinds: ImportKinds = field(default_factory=lambda: ImportKinds(None))
    #: External (squashed) modules imported but not installed: neither the stdlib
    #: nor any module or package on the search path. Top-level names, or the first
    #: name below a namespace package (``airflow.models`` beside ``airflow.sdk``).
    missing: set[str] = field(default_factory=set)
    #: Modules added to the graph because an import statement names them while they
    #: are not installed (``from cloacina.database import DAL`` without cloacina):
    #: grimp records such an import as one of the nearest module it has.
    not_installed: set[str] = field(default_factory=set)
    #: Files of the audited packages named as modules but not read, with the reason.
    unread: list[tuple[Path, str]] = field(default_factory=list)
    _files: dict[str, Path | None] = field(default_factory=dict, repr=False)

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
        path = self.roots[".".join(parts[:depth])].joinpath(*parts[depth:])
        if (path / "__init__.py").is_file():
            return path / "__init__.py"
        if path.with_suffix(".py").is_file():
            return path.with_suffix(".py")
        return None

    def with_implicit_parent_imports(self) -> grimp.ImportGraph:
        """A copy in which every module imports its parent package.

        That is what Python does: importing ``a.b.c`` first runs ``a/__init__.py``
        and ``a/b/__init__.py``, so whatever those import is reached too.
        """
        graph = copy.deepcopy(self.graph)
        runs_code: dict[str, bool] = {}
        for module in self.graph.modules:
            if "." not in module or self.graph.is_module_squashed(module):
                continue
            parent = module.rsplit(".", 1)[0]
            # A namespace package (no __init__.py) runs nothing of its own: the
            # code that runs is its nearest regular ancestor's __init__.py.
            while "." in parent and not _runs_code(self, parent, runs_code):
                parent = parent.rsplit(".", 1)[0]
            if parent in self.graph.modules:
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
    walked = {name: walk_package(directory, audited=True) for name, directory in roots.items()}
    files = {name: found.modules for name, found in walked.items()}
    unread = [entry for found in walked.values() for entry in found.skipped]
    key = _cache_key(packages, search, follow)
    cache_file = cache_dir / "graphs" / f"{key}.json" if cache_dir else None
    if cache_file is not None:
        cached = _load_cached(cache_file, search, files, cache_key(cache_dir))
        if cached is not None:
            cached.kinds = ImportKinds(cache_dir)
            cached.unread = unread
            return _with_not_installed_modules(cached, search)

    for name, directory in roots.items():
        _refuse_relative_imports_beyond_top(directory, files[name])
    finder = _ModuleFinder(walked)
    with tempfile.TemporaryDirectory(prefix="cloacina-audit-grimp-") as scan_cache:
        while True:
            graph = _scan(roots, finder, scan_cache if follow else None)
            reached = _external_top_levels(graph, packages)
            new = {
                name: found
                for name in sorted(reached)
                if name not in sys.stdlib_module_names and (found := search.find_package(name))
            }
            if not new or not follow:
                break
            roots.update(new)

    # Without following, externals found on the path are expected; they do not
    # invalidate the cache.
    result = PackageGraph(
        graph=graph,
        roots=roots,
        externals=reached if follow else set(),
        kinds=ImportKinds(cache_dir),
        unread=unread,
    )
    if cache_file is not None:
        _store(cache_file, result, {name: found.modules for name, found in finder.walked.items()},
               cache_key(cache_dir))
    return _with_not_installed_modules(result, search)


# --- imports of what is not installed -------------------------------------------

#: ``from X import ...`` (group 1: the dots, group 2: X) and ``import X, Y as z``.
_FROM = re.compile(r"^\s*from\s+(\.*)\s*([\w.]*)\s+import\b")
_IMPORT = re.compile(r"^\s*import\s+(.+)$")


def imported_modules(statement: str, importer: str, is_package: bool) -> list[str]:
    """The absolute names of the modules an import statement surely imports.

    ``import a.b as c, d`` imports ``a.b`` and ``d``; ``from a.b import c`` imports
    ``a.b`` (``c`` may be a module or a name in it: it is not counted). Relative
    forms are resolved against ``importer``.
    """
    if match := _FROM.match(statement):
        dots, name = match.group(1), match.group(2)
        if not dots:
            return [name] if name else []
        parts = importer.split(".")
        base = parts if is_package else parts[:-1]
        base = base[: len(base) - (len(dots) - 1)] if len(dots) > 1 else base
        if not base:
            return []
        return [".".join([*base, name] if name else base)]
    if match := _IMPORT.match(statement):
        names = match.group(1).split("#")[0].strip().strip("()\\").split(",")
        return [n.split(" as ")[0].strip() for n in names if n.split(" as ")[0].strip()]
    return []


_RELATIVE_FROM = re.compile(r"^\s*from\s+\.")


def _is_package(result: PackageGraph, module: str, memo: dict[str, bool]) -> bool:
    if module not in memo:
        file = result.module_file(module)
        memo[module] = file is not None and file.name == "__init__.py"
    return memo[module]


def _is_installed(name: str, search: SearchPath, listings: dict[Path, set[str]]) -> bool:
    """Whether module ``name`` is importable from the search path (a package, a
    namespace directory, a module or an extension module). ``listings`` caches
    directory listings between calls."""
    *parents, last = name.split(".")
    for directory in search.directories:
        base = directory.joinpath(*parents)
        if base not in listings:
            try:
                listings[base] = set(os.listdir(base))
            except OSError:
                listings[base] = set()
        entries = listings[base]
        if last in entries or f"{last}.py" in entries:
            return True  # a package or namespace directory (a file named so is rare), a module
        if any(e.startswith(f"{last}.") and e.endswith((".so", ".pyd")) for e in entries):
            return True
    return False


def _with_not_installed_modules(result: PackageGraph, search: SearchPath) -> PackageGraph:
    """Give the modules that import statements name, but that are not installed, a node.

    grimp records ``from cloacina.database import DAL`` as an import of the squashed
    ``cloacina`` when cloacina is missing, and ``from airflow.providers.k import X``
    as one of ``airflow`` when only airflow.providers is missing. A forbidden
    ``cloacina.database`` must still be seen as imported, and a step must not
    claim that ``airflow`` itself is imported: each such import is moved to a node
    named as the statement names it, recorded in ``not_installed``.
    """
    graph = result.graph
    listings: dict[Path, set[str]] = {}
    result.missing = {
        module for module in graph.modules
        if graph.is_module_squashed(module)
        and module.split(".")[0] not in sys.stdlib_module_names
        and not _is_installed(module, search, listings)
    }
    #: (importer, imported, [(line, statement, where the statement really goes)])
    moves: list[tuple[str, str, list[tuple[int, str, str]]]] = []
    packages: dict[str, bool] = {}
    for module in sorted(graph.modules):
        squashed = graph.is_module_squashed(module)
        if squashed and module not in result.missing:
            continue  # the stdlib, or an installed single-file module: nothing to name
        if not squashed and not graph.find_children(module):
            file = result.module_file(module)
            if file is not None and file.name != "__init__.py":
                continue  # a plain module: statements cannot name a missing module below it
        for importer in sorted(graph.find_modules_that_directly_import(module)):
            targets = []
            for detail in graph.get_import_details(importer=importer, imported=module):
                statement = str(detail["line_contents"])
                relative = _RELATIVE_FROM.match(statement) is not None
                if not relative and f"{module}." not in statement:
                    targets.append((int(detail["line_number"]), statement, module))
                    continue  # names nothing below module: the common case, no parsing
                named = [
                    n for n in imported_modules(statement, importer, relative and _is_package(
                        result, importer, packages))
                    if n.startswith(module + ".") and n not in graph.modules
                ]
                target = max(named, key=lambda n: (len(n), n)) if named else module
                targets.append((int(detail["line_number"]), statement, target))
            if any(target != module for _, _, target in targets):
                moves.append((importer, module, targets))
    if not moves:
        return result
    for module in sorted({old for _, old, _ in moves if graph.is_module_squashed(old)}):
        # A squashed module cannot have descendants: it becomes a plain one.
        edges = [(i, graph.get_import_details(importer=i, imported=module))
                 for i in sorted(graph.find_modules_that_directly_import(module))]
        graph.remove_module(module)
        graph.add_module(module)
        for importer, details in edges:
            for detail in details:
                graph.add_import(importer=importer, imported=module,
                                 line_number=detail["line_number"],
                                 line_contents=detail["line_contents"])
    for importer, old, targets in moves:
        graph.remove_import(importer=importer, imported=old)
        for line, statement, target in targets:
            parts = target.split(".")
            for depth in range(len(old.split(".")) + 1, len(parts) + 1):
                name = ".".join(parts[:depth])
                if name not in graph.modules:
                    graph.add_module(name)
                    result.not_installed.add(name)
            graph.add_import(importer=importer, imported=target, line_number=line,
                             line_contents=statement)
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


def walk_once(directory: Path | str) -> Iterator[tuple[str, list[str], list[str]]]:
    """``os.walk`` top-down, following symlinks as Python's imports do, but never into
    a directory already walked (same device and inode): a link to ``.`` or to a
    parent would otherwise loop forever. Subdirectories come sorted, without
    ``__pycache__``; pruning ``dirnames`` in place skips them, as with ``os.walk``.

    Only symlinks are stat'ed: a plain directory's inode comes with its entry.
    """
    seen: set[tuple[int, int]] = set()
    pending = [(os.fspath(directory), _identity(directory))]
    while pending:
        dirpath, identity = pending.pop()
        if identity in seen:
            continue
        seen.add(identity)
        children, filenames = _list_directory(dirpath, device=identity[0])
        unseen = {name: ident for name, ident in children.items() if ident not in seen}
        dirnames = sorted(unseen)
        yield dirpath, dirnames, filenames
        # Popped last-in first-out: reversed, so the first name is walked first.
        pending += [(os.path.join(dirpath, d), unseen[d]) for d in reversed(dirnames)]


def _list_directory(path: str, device: int) -> tuple[dict[str, tuple[int, int]], list[str]]:
    """Subdirectories (with their identity) and other entries of ``path``."""
    children: dict[str, tuple[int, int]] = {}
    filenames: list[str] = []
    try:
        entries = list(os.scandir(path))
    except OSError:  # vanished or unreadable: skipped, as os.walk does
        return children, filenames
    for entry in entries:
        try:
            is_dir = entry.is_dir()
        except OSError:
            is_dir = False
        if not is_dir:
            filenames.append(entry.name)
        elif entry.name != "__pycache__":
            children[entry.name] = (
                _identity(entry.path) if entry.is_symlink() else (device, entry.inode())
            )
    return children, filenames


def _identity(path: str | Path) -> tuple[int, int]:
    try:
        status = os.stat(path)
    except OSError:  # vanished or unreadable: listing it will find nothing
        return (-1, -1)
    return (status.st_dev, status.st_ino)


class _ModuleFinder(AbstractModuleFinder):
    """grimp's module finder, replaced by ``walk_package``: namespace portions included."""

    def __init__(self, walked: dict[str, PackageFiles]) -> None:
        #: Every package found so far; the audited ones come walked already.
        self.walked = dict(walked)

    def find_package(
        self, package_name: str, package_directory: str, file_system: object
    ) -> FoundPackage:
        directory = Path(package_directory)
        if package_name not in self.walked:
            self.walked[package_name] = walk_package(directory, audited=False)
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


def module_name(package: str, directory: Path, path: Path) -> str:
    """``pkg.sub.m`` for ``<directory>/sub/m.py``, ``pkg.sub`` for ``sub/__init__.py`` or ``sub/``."""
    relative = str(path)[len(str(directory)) + 1:]  # string work: called for every module
    if relative == "py":  # <directory>.py: a top-level module
        return package
    parts = relative.split(os.sep) if relative else []
    if relative.endswith(".py"):
        stem = parts.pop()[:-3]
        if stem != "__init__":
            parts.append(stem)
    return ".".join((package, *parts))


class _RootFinder:
    """grimp's package finder: the roots already located on our search path
    (top-level modules and namespace packages included)."""

    def __init__(self, roots: dict[str, Path]) -> None:
        self.roots = roots

    def determine_package_directories(self, package_name: str, file_system: object) -> set[str]:
        return {str(self.roots[package_name])}


@contextlib.contextmanager
def _grimp_adapters(roots: dict[str, Path], finder: _ModuleFinder) -> Iterator[None]:
    """Packages are the roots located on our search path, and their modules found by
    our walk (which follows symlinks without looping, and includes namespace directories)."""
    previous = {key: getattr(grimp_settings, key) for key in ("PACKAGE_FINDER", "MODULE_FINDER")}
    grimp_settings.configure(PACKAGE_FINDER=_RootFinder(roots), MODULE_FINDER=finder)
    try:
        yield
    finally:
        grimp_settings.configure(**previous)


#: ``from ..x`` / ``from . . x``: group 1 holds the dots. One dot never climbs above the
#: top package (every module sits at depth 1 or deeper), so only two or more are sought,
#: and the pattern starts with a literal, which ``re`` finds fast. A match may be text in
#: a string or a comment: the syntax tree decides.
_RELATIVE_IMPORT = re.compile(rb"from[ \t]+((?:\.[ \t]*){2,})")


def _refuse_relative_imports_beyond_top(directory: Path, files: list[Path]) -> None:
    """Python raises ImportError for ``from ... import x`` above the top package;
    grimp would drop such an import silently (or fail), so say where it is."""
    prefix = len(str(directory))
    for path in files:
        # a/b/c.py and a/b/__init__.py both sit in package a.b: two levels up at most,
        # one per separator after a/.
        depth = str(path)[prefix:].count(os.sep)
        source = path.read_bytes()
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


def _scan(
    roots: dict[str, Path], finder: _ModuleFinder, scan_cache: str | None
) -> grimp.ImportGraph:
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


def _external_top_levels(graph: grimp.ImportGraph, packages: list[str]) -> set[str]:
    """External packages that code reachable from ``packages`` imports.

    Reachability follows imports and, as Python does, each module's parent
    package, so a package is only pulled in when some run-time path leads to it
    (sqlalchemy.testing importing pytest does not make pytest part of every
    package that uses sqlalchemy).
    """
    pending = [m for p in packages for m in (p, *graph.find_descendants(p))]
    seen = set(pending)
    external: set[str] = set()
    while pending:
        module = pending.pop()
        if graph.is_module_squashed(module):
            external.add(module.split(".")[0])
            continue
        neighbours = set(graph.find_modules_directly_imported_by(module))
        if "." in module and module.rsplit(".", 1)[0] in graph.modules:  # not a namespace root's
            neighbours.add(module.rsplit(".", 1)[0])
        for neighbour in neighbours - seen:
            seen.add(neighbour)
            pending.append(neighbour)
    return external


# --- the content-keyed cache -------------------------------------------------


def _cache_key(packages: list[str], search: SearchPath, follow: bool) -> str:
    material = "\n".join(
        [
            f"format={_CACHE_FORMAT}",
            f"follow={follow}",
            f"tool={__version__}",
            f"grimp={getattr(grimp, '__version__', '?')}",
            "packages=" + ",".join(sorted(packages)),
            "search=" + os.pathsep.join(str(d) for d in search.directories),
        ]
    )
    return hashlib.sha256(material.encode()).hexdigest()[:32]


@dataclass
class PackageFiles:
    #: Every module file Python can import from the package.
    modules: list[Path]
    #: Directories inside the package without ``__init__.py`` that hold modules:
    #: implicit namespace packages (PEP 420).
    namespace_dirs: list[Path]
    #: Files named as modules that are not read, with the reason (see _module_files).
    skipped: list[tuple[Path, str]] = field(default_factory=list)


def walk_package(directory: Path, *, audited: bool) -> PackageFiles:
    """The module files of package ``directory``, in one walk.

    Like grimp, the walk skips directories whose names are not identifiers, and
    files with more than one dot. Unlike grimp's, it includes modules under
    directories without ``__init__.py``. In an ``audited`` package it enters every
    such directory; in a package it only follows into, one that holds no module
    itself is not entered, so the data, template and locale trees of large
    third-party packages are listed once instead of walked.
    """
    if not (directory / "__init__.py").is_file() and (module := directory.with_suffix(".py")).is_file():
        return PackageFiles(modules=[module], namespace_dirs=[])  # a top-level module
    found = PackageFiles(modules=[], namespace_dirs=[])
    initless: list[str] = []  # walked directories without __init__.py
    namespace_modules: list[Path] = []
    inside_namespace: set[str] = set()  # directories below one without __init__.py
    tree = os.path.realpath(directory) if audited else None
    for dirpath, dirnames, filenames in walk_once(directory):
        dirnames[:] = [d for d in dirnames if d.isidentifier()]
        modules = _module_files(dirpath, filenames, found.skipped, tree)
        found.modules += modules
        if dirpath not in inside_namespace and "__init__.py" in filenames:
            continue
        if not modules and not audited:
            dirnames.clear()
            continue
        if "__init__.py" not in filenames:
            initless.append(dirpath)
        namespace_modules += modules
        inside_namespace.update(os.path.join(dirpath, d) for d in dirnames)
    holding = {str(parent) for path in namespace_modules for parent in path.parents}
    found.namespace_dirs = [Path(d) for d in initless if d in holding]
    return found


#: A module file larger than this is not read: no source comes near it, and reading
#: a hostile one (or a link to ``/dev/zero``) must not take the memory of the machine.
MAX_MODULE_BYTES = 64 * 1024 * 1024


def _module_files(
    dirpath: str, filenames: list[str], skipped: list[tuple[Path, str]] | None = None,
    tree: str | None = None,
) -> list[Path]:
    """The module files among ``filenames``: regular files of a bounded size only (a
    FIFO would block the reader forever, a device never ends). With ``tree``, a file
    reached through a link that leaves ``tree`` is not read either: its content is
    not the package's, and an error message quoting it would leak it. What is left
    out is listed in ``skipped`` with the reason."""
    found = []
    for name in sorted(filenames):
        if not (name.endswith(".py") and name.count(".") == 1 and not name.startswith(".")):
            continue
        path = Path(dirpath, name)
        reason = _unreadable(path, tree)
        if reason is None:
            found.append(path)
        elif skipped is not None:
            skipped.append((path, reason))
    return found


def _unreadable(path: Path, tree: str | None) -> str | None:
    try:
        status = os.stat(path)  # follows links: what a read would open
    except OSError:
        return "cannot be read (a dangling link, or no permission)"
    if not stat.S_ISREG(status.st_mode):
        return "not a regular file (a device, FIFO or socket)"
    if status.st_size > MAX_MODULE_BYTES:
        return f"larger than {MAX_MODULE_BYTES // (1024 * 1024)} MiB"
    if tree is not None and not os.path.realpath(path).startswith(tree + os.sep):
        return "a link to a file outside the package"
    return None


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _fingerprint(roots: dict[str, Path], known: dict[str, list[Path]] | None = None) -> dict[str, str]:
    """sha256 of every module file of ``roots``; ``known`` holds file lists already walked."""
    known = known or {}
    return {
        str(path): _digest(path)
        for name, directory in roots.items()
        for path in (known[name] if name in known else walk_package(directory, audited=False).modules)
    }


def _store(cache_file: Path, result: PackageGraph, files: dict[str, list[Path]],
           key: bytes | None) -> None:
    graph = result.graph
    imports = [
        [importer, imported, detail["line_number"], detail["line_contents"]]
        for importer in sorted(graph.modules)
        for imported in sorted(graph.find_modules_directly_imported_by(importer))
        for detail in graph.get_import_details(importer=importer, imported=imported)
    ]
    document = {
        "roots": {name: str(path) for name, path in result.roots.items()},
        "files": _fingerprint(result.roots, files),
        "externals": sorted(result.externals),
        "modules": sorted(graph.modules),
        "squashed": sorted(m for m in graph.modules if graph.is_module_squashed(m)),
        "imports": imports,
    }
    try:
        write_signed(cache_file, document, key)
    except OSError:
        pass  # a read-only cache only costs speed


def _load_cached(
    cache_file: Path, search: SearchPath, known: dict[str, list[Path]], key: bytes | None
) -> PackageGraph | None:
    """A verified entry (signed_cache.py) whose files all still have the same content."""
    document = read_signed(cache_file, key)
    if not isinstance(document, dict):
        return None
    try:
        roots = {name: Path(path) for name, path in document["roots"].items()}
        if any(_locate_root(name, search) != path for name, path in roots.items()):
            return None
        if any(search.find_package(name) for name in document["externals"]):
            return None  # something the package imports has been installed since
        if _fingerprint(roots, known) != document["files"]:
            return None
        graph = grimp.ImportGraph()
        squashed = set(document["squashed"])
        for module in document["modules"]:
            graph.add_module(module, is_squashed=module in squashed)
        for importer, imported, line, contents in document["imports"]:
            graph.add_import(
                importer=importer, imported=imported, line_number=line, line_contents=contents
            )
    except (KeyError, TypeError, ValueError, AttributeError, OSError, GrimpException):
        return None
    return PackageGraph(
        graph=graph, roots=roots, externals=set(document["externals"]), from_cache=True
    )
