"""The import graph of a package and everything it reaches, built by grimp.

Starting from the audited packages, every external package that is found on the
search path is added as a root and the graph rebuilt, until nothing new is
reached: the framework and third-party code a package drags in become part of
the graph, so chains through them are visible. Names that are not packages on
the search path (the stdlib, single-module distributions, missing packages)
stay as grimp's squashed external nodes.

The scanned imports are cached, keyed on file *content*: a cache entry records
the sha256 of every file it was built from and is used only if all of them
still match and no module was added or removed.
"""

from __future__ import annotations

import ast
import contextlib
import copy
import hashlib
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import grimp
from grimp.adaptors.filesystem import FileSystem
from grimp.application.config import settings as grimp_settings
from grimp.exceptions import GrimpException, SourceSyntaxError

from . import __version__
from .cachedir import read_json, write_json_atomically
from .errors import AuditError
from .kinds import ImportKinds
from .searchpath import SearchPath

#: Marks the edges this module adds from a module to its parent package.
IMPLICIT = "<implicit>"

_CACHE_FORMAT = 1


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
    #: Per audited package: module files Python can import but grimp does not scan
    #: (see ``PackageFiles.skipped``).
    skipped: dict[str, dict[Path, list[Path]]] = field(default_factory=dict)

    def module_file(self, module: str) -> Path | None:
        parts = module.split(".")
        directory = self.roots.get(parts[0])
        if directory is None:
            return None
        path = directory.joinpath(*parts[1:])
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
        for module in self.graph.modules:
            if "." not in module or self.graph.is_module_squashed(module):
                continue
            parent = module.rsplit(".", 1)[0]
            if parent in self.graph.modules:
                graph.add_import(
                    importer=module, imported=parent, line_number=0, line_contents=IMPLICIT
                )
        return graph


def build_package_graph(
    packages: list[str], search: SearchPath, cache_dir: Path | None, follow: bool = True
) -> PackageGraph:
    """Graph ``packages`` and, when ``follow``, the closure of packages they reach."""
    roots = {name: _require_package(name, search) for name in packages}
    walked = {name: walk_package(directory) for name, directory in roots.items()}
    files = {name: found.modules for name, found in walked.items()}
    skipped = {name: found.skipped for name, found in walked.items()}
    key = _cache_key(packages, search, follow)
    cache_file = cache_dir / "graphs" / f"{key}.json" if cache_dir else None
    if cache_file is not None:
        cached = _load_cached(cache_file, search, files)
        if cached is not None:
            cached.kinds = ImportKinds(cache_dir)
            cached.skipped = skipped
            return cached

    for name, directory in roots.items():
        _refuse_relative_imports_beyond_top(name, directory, files[name])
    with tempfile.TemporaryDirectory(prefix="cloacina-audit-grimp-") as scan_cache:
        while True:
            graph = _scan(list(roots), search, scan_cache if follow else None)
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
        skipped=skipped,
    )
    if cache_file is not None:
        _store(cache_file, result, files)
    return result


def _require_package(name: str, search: SearchPath) -> Path:
    found = search.find_package(name)
    if found is None:
        raise AuditError(f"package {name!r} not found (no {name}/__init__.py on the search path)")
    return found


def walk_once(directory: Path | str) -> Iterator[tuple[str, list[str], list[str]]]:
    """``os.walk`` following symlinks, as Python's imports do, but never into a directory
    already walked (same device and inode): a link to ``.`` or to a parent would
    otherwise loop forever."""
    seen: set[tuple[int, int]] = set()
    for dirpath, dirnames, filenames in os.walk(directory, followlinks=True):
        seen.add(_identity(dirpath))
        dirnames[:] = sorted(
            d for d in dirnames
            if d != "__pycache__" and _identity(os.path.join(dirpath, d)) not in seen
        )
        yield dirpath, dirnames, filenames


def _identity(path: str) -> tuple[int, int]:
    try:
        status = os.stat(path)
    except OSError:  # vanished or unreadable: os.walk will skip it
        return (-1, -1)
    return (status.st_dev, status.st_ino)


class _LoopFreeFileSystem(FileSystem):
    def walk(self, directory_name: str) -> Iterator[tuple[str, list[str], list[str]]]:
        yield from walk_once(directory_name)


@contextlib.contextmanager
def _grimp_adapters(search: SearchPath) -> Iterator[None]:
    previous = (grimp_settings.PACKAGE_FINDER, grimp_settings.FILE_SYSTEM)
    grimp_settings.configure(PACKAGE_FINDER=search, FILE_SYSTEM=_LoopFreeFileSystem())
    try:
        yield
    finally:
        grimp_settings.configure(PACKAGE_FINDER=previous[0], FILE_SYSTEM=previous[1])


#: ``from ..x`` / ``from . . x``: group 1 holds the dots. One dot never climbs above the
#: top package (every module sits at depth 1 or deeper), so only two or more are sought,
#: and the pattern starts with a literal, which ``re`` finds fast. A match may be text in
#: a string or a comment: the syntax tree decides.
_RELATIVE_IMPORT = re.compile(rb"from[ \t]+((?:\.[ \t]*){2,})")


def _refuse_relative_imports_beyond_top(package: str, directory: Path, files: list[Path]) -> None:
    """Python raises ImportError for ``from ... import x`` above the top package;
    grimp would drop such an import silently (or fail), so say where it is."""
    for path in files:
        # a/b/c.py and a/b/__init__.py both sit in package a.b: two levels up at most.
        parts = [package, *path.relative_to(directory).with_suffix("").parts]
        depth = len(parts) - 1
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


def _scan(roots: list[str], search: SearchPath, scan_cache: str | None) -> grimp.ImportGraph:
    # grimp's own (mtime-keyed) cache lives only as long as this build: it saves
    # re-parsing the packages already scanned while the closure grows.
    with _grimp_adapters(search):
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
        if "." in module:
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
    #: The module files grimp scans: ``.py`` files of the package and its subpackages.
    modules: list[Path]
    #: Module files Python imports but grimp never scans, keyed by the topmost
    #: directory without ``__init__.py`` above them. Such a directory inside a
    #: package is an implicit namespace package (PEP 420): ``import pkg.sub.m``
    #: works, but grimp does not descend into it (python-grimp/grimp#298).
    skipped: dict[Path, list[Path]]


def walk_package(directory: Path) -> PackageFiles:
    """The module files of package ``directory``, in one walk.

    Like grimp, the walk skips directories whose names are not identifiers. A
    directory without ``__init__.py`` is entered only when it holds modules itself,
    so data, template and locale trees are listed once, not walked.
    """
    found = PackageFiles(modules=[], skipped={})
    namespace_top: dict[str, Path] = {}  # walked directory -> its topmost init-less ancestor
    for dirpath, dirnames, filenames in walk_once(directory):
        dirnames[:] = [d for d in dirnames if d.isidentifier()]
        modules = _module_files(dirpath, filenames)
        top = namespace_top.get(dirpath)
        if top is None and "__init__.py" in filenames:
            found.modules += modules
            continue
        if not modules:
            dirnames.clear()
            continue
        top = top or Path(dirpath)
        found.skipped.setdefault(top, []).extend(modules)
        namespace_top.update((os.path.join(dirpath, d), top) for d in dirnames)
    return found


def _module_files(dirpath: str, filenames: list[str]) -> list[Path]:
    return [
        Path(dirpath, f)
        for f in sorted(filenames)
        if f.endswith(".py") and f.count(".") == 1 and not f.startswith(".")
    ]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _fingerprint(roots: dict[str, Path], known: dict[str, list[Path]] | None = None) -> dict[str, str]:
    """sha256 of every module file of ``roots``; ``known`` holds file lists already walked."""
    known = known or {}
    return {
        str(path): _digest(path)
        for name, directory in roots.items()
        for path in (known[name] if name in known else walk_package(directory).modules)
    }


def _store(cache_file: Path, result: PackageGraph, files: dict[str, list[Path]]) -> None:
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
        write_json_atomically(cache_file, document)
    except OSError:
        pass  # a read-only cache only costs speed


def _load_cached(
    cache_file: Path, search: SearchPath, known: dict[str, list[Path]]
) -> PackageGraph | None:
    document = read_json(cache_file)
    if not isinstance(document, dict):
        return None
    try:
        roots = {name: Path(path) for name, path in document["roots"].items()}
        if any(search.find_package(name) != path for name, path in roots.items()):
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
    except (KeyError, TypeError, ValueError, OSError):
        return None
    return PackageGraph(
        graph=graph, roots=roots, externals=set(document["externals"]), from_cache=True
    )
