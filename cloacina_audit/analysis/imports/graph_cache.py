"""The scanned import graph, cached: validated by stat, confirmed by content.

An entry (``graphs/<key>.marshal``) holds the graph and the sha256 of every module
file it was built from; it is believed only if it is signed with this user's key
(signed_cache.py), its roots and externals are where they were, no module was
added or removed, and every file still has that content.

Reading and hashing every file on each warm run costs as much as the rest of the
run, so a signed side entry (``graph-stats/<key>.marshal``) records each file's
stat as it was when its hash was taken: (size, mtime_ns, ctime_ns, inode). A
file whose stat is unchanged is taken to have the recorded hash; one whose stat
changed (an edit, ``git checkout``, ``git stash``, a copied or restored tree) is
read and hashed, and the entry is still used when the content is the same, the
side entry then updated. ``ctime`` cannot be set back by ``os.utime``, so an edit
that restores size and mtime is seen too. A file changed in the same clock tick
as its stat was taken would keep its stat (the "racy" case that git handles the
same way): a stat within 2 s of when it was taken is not recorded
(``cachedir.settled``), so such a file is hashed on every run until it is older.

Both entries are ``marshal`` data behind the signature (signed_cache.py's binary
entries): a large graph's entry is megabytes, and ``marshal`` reads it several
times faster than JSON. Nothing is decoded before the MAC verifies, and the
Python version is part of the key (``marshal``'s format is that version's).
"""

from __future__ import annotations

import hashlib
import marshal
import os
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from stat import S_ISREG
from typing import TYPE_CHECKING, Any, NamedTuple

from cloacina_audit.adapters.versions import installed_version
from cloacina_audit.analysis.imports.searchpath import SearchPath
from cloacina_audit.analysis.imports.walk import (
    MAX_MODULE_BYTES,
    PackageFiles,
    unchanged_listings,
    walk_package,
)
from cloacina_audit.system.cachedir import settled
from cloacina_audit.system.signed_cache import read_signed_bytes, write_signed_bytes
from cloacina_audit.system.tool_identity import tool_identity

if TYPE_CHECKING:
    import grimp

#: 2: entries are signed (signed_cache.py). 3: stats in a side entry. 4: marshal.
#: 5: the side entry also holds the packages' walks.
_CACHE_FORMAT = 5

#: (size, mtime_ns, ctime_ns, inode), and the sha256 taken with it.
_Stat = tuple[int, int, int, int]


def cache_key(packages: list[str], search: SearchPath, follow: bool) -> str:
    """The name of the entry for a build of ``packages`` on ``search``."""
    material = "\n".join(
        [
            f"format={_CACHE_FORMAT}",
            f"follow={follow}",
            f"tool={tool_identity()}",
            f"grimp={installed_version('grimp')}",
            f"python={sys.version_info[0]}.{sys.version_info[1]}",
            "packages=" + ",".join(sorted(packages)),
            "search=" + os.pathsep.join(str(d) for d in search.directories),
        ]
    )
    return hashlib.sha256(material.encode()).hexdigest()[:32]


def _stat_of(status: os.stat_result) -> _Stat:
    return (status.st_size, status.st_mtime_ns, status.st_ctime_ns, status.st_ino)


def _hash_with_stat(path: str) -> tuple[str, _Stat]:
    """The sha256 of ``path`` and the stat of the file that was read."""
    return read_hashed(path)[1]


#: A file's sha256 and the stat of the file it was read from.
Hashed = tuple[str, _Stat]


def read_hashed(path: str) -> tuple[bytes, Hashed]:
    """The content of ``path``, with its sha256 and the stat of the file that was read:
    a caller that reads every file anyway hands the hashes to ``store``."""
    with open(path, "rb") as handle:
        status = os.fstat(handle.fileno())
        content = handle.read()
    return content, (hashlib.sha256(content).hexdigest(), _stat_of(status))


def _stable(status: _Stat, now_ns: int) -> bool:
    return settled(status[1], status[2], now_ns)


def _module_paths(roots: dict[str, Path], known: dict[str, list[Path]], side: SideEntry) -> list[str]:
    """Every module file of ``roots``; ``known`` holds file lists already walked."""
    return [
        str(path)
        for name, directory in roots.items()
        for path in (known[name] if name in known else side.walk(directory, audited=False).modules)
    ]


def _stats_file(cache_file: Path) -> Path:
    """``<cache>/graph-stats/<key>.marshal`` beside ``<cache>/graphs/<key>.marshal``."""
    return cache_file.parent.parent / "graph-stats" / cache_file.name


def _write(path: Path, document: dict[str, Any], key: bytes | None) -> None:
    try:
        write_signed_bytes(path, marshal.dumps(document), key)
    except OSError:
        pass  # a read-only cache only costs speed


def _read_with_digest(path: Path, key: bytes | None) -> tuple[object | None, str]:
    """The entry's document and the sha256 of its bytes (the graph's identity)."""
    payload = read_signed_bytes(path, key)
    if payload is None:
        return None, ""
    try:
        return marshal.loads(payload), hashlib.sha256(payload).hexdigest()
    except (ValueError, EOFError, TypeError):
        return None, ""


class SideEntry:
    """What the graph entry of one key was last validated with: each module file's stat
    and hash (``stats``), and each package's walk with the stats of the directories it
    listed (``walks``, see walk.unchanged_listings). Written back when either changed."""

    def __init__(self, cache_file: Path | None, key: bytes | None) -> None:
        self._file = _stats_file(cache_file) if cache_file is not None else None
        self._key = key
        document = _read_with_digest(self._file, key)[0] if self._file is not None else None
        if not (isinstance(document, dict) and isinstance(document.get("stats"), dict)
                and isinstance(document.get("walks"), dict)):
            document = {"stats": {}, "walks": {}}
        self.stats: dict[str, list[object]] = document["stats"]
        self.walks: dict[str, list[object]] = document["walks"]
        self._written = (dict(self.stats), dict(self.walks))
        #: The stat of each module file of a recorded walk, taken when it was confirmed,
        #: and the clock before any of them (the racy-stat rule needs the earlier clock).
        self.statted: dict[str, os.stat_result] = {}
        self.clock = time.time_ns()

    def walk(self, directory: Path, *, audited: bool) -> PackageFiles:
        """The modules of package ``directory``: the recorded walk while every directory it
        listed is unchanged, else a new walk (recorded when its listings can be trusted)."""
        recorded = _recorded_walk(self.walks.get(str(directory)), audited, self.statted)
        if recorded is not None:
            return recorded
        found = walk_package(directory, audited=audited)
        self.walks.pop(str(directory), None)
        listed = found.listed
        if listed is not None and all(settled(e[3], e[4], found.listed_at) for e in listed):
            self.walks[str(directory)] = [audited, [str(p) for p in found.modules],
                                          [str(p) for p in found.namespace_dirs],
                                          [list(e) for e in listed]]
        return found

    def keep_walks_of(self, directories: Iterable[Path]) -> None:
        wanted = {str(d) for d in directories}
        self.walks = {d: walk for d, walk in self.walks.items() if d in wanted}

    def write(self) -> None:
        if self._file is not None and (self.stats, self.walks) != self._written:
            _write(self._file, {"stats": self.stats, "walks": self.walks}, self._key)
            self._written = (dict(self.stats), dict(self.walks))


def _recorded_walk(
    entry: object, audited: bool, statted: dict[str, os.stat_result]
) -> PackageFiles | None:
    """A recorded walk whose directories are all unchanged, as ``walk_package`` gave it,
    and whose modules are all still files the walk would read (a file can grow in place
    past the bound without its directory changing)."""
    if not (isinstance(entry, list) and len(entry) == 4 and entry[0] == audited):
        return None
    _, modules, namespace_dirs, listed = entry
    try:
        if not unchanged_listings([(p, dev, ino, mtime, ctime) for p, dev, ino, mtime, ctime in listed]):
            return None
        found = {path: os.stat(path) for path in modules}
        if not all(S_ISREG(s.st_mode) and s.st_size <= MAX_MODULE_BYTES for s in found.values()):
            return None
    except (TypeError, ValueError, OSError):
        return None  # not a walk this version wrote, or a module vanished: walked again
    statted.update(found)
    return PackageFiles(modules=[Path(p) for p in modules],
                        namespace_dirs=[Path(p) for p in namespace_dirs])


def store(cache_file: Path, graph: grimp.ImportGraph, roots: dict[str, Path], externals: set[str],
          files: dict[str, list[Path]], key: bytes | None, side: SideEntry,
          read: tuple[int, dict[str, Hashed]] | None = None) -> str | None:
    """Write the entry for ``graph`` and the stats of the files it was read from; the
    graph's identity (as ``load`` gives it), None when nothing could be stored.

    ``read``: the clock before the files were read, and the hashes (``read_hashed``) of
    those already read; the others are read here."""
    imports = [
        [importer, imported, detail["line_number"], detail["line_contents"]]
        for importer in sorted(graph.modules)
        for imported in sorted(graph.find_modules_directly_imported_by(importer))
        for detail in graph.get_import_details(importer=importer, imported=imported)
    ]
    now, known = read if read is not None else (time.time_ns(), {})
    hashes: dict[str, str] = {}
    stats: dict[str, list[object]] = {}
    try:
        for path in _module_paths(roots, files, side):
            hashes[path], status = known[path] if path in known else _hash_with_stat(path)
            if _stable(status, now):
                stats[path] = [*status, hashes[path]]
    except OSError:
        return None  # a file vanished while it was hashed: nothing is stored
    document = {
        "roots": {name: str(path) for name, path in roots.items()},
        "files": hashes,
        "externals": sorted(externals),
        "modules": sorted(graph.modules),
        "squashed": sorted(m for m in graph.modules if graph.is_module_squashed(m)),
        "imports": imports,
    }
    payload = marshal.dumps(document)
    try:
        write_signed_bytes(cache_file, payload, key)
    except OSError:
        return None  # a read-only cache only costs speed
    side.stats = stats
    side.keep_walks_of(roots.values())
    side.write()
    return hashlib.sha256(payload).hexdigest() if key is not None else None


def _unchanged(files: dict[str, str], paths: list[str], side: SideEntry) -> bool:
    """Whether ``paths`` are exactly the files recorded, each with its recorded content
    (and still a module the walk would read: a regular file of a bounded size)."""
    if len(paths) != len(files) or not all(path in files for path in paths):
        return False  # a module was added or removed
    recorded = side.stats
    now = side.clock  # before every stat below, and before those the walks took
    fresh: dict[str, list[object]] = {}
    for path in paths:
        result = side.statted.get(path) or os.stat(path)
        if not S_ISREG(result.st_mode) or result.st_size > MAX_MODULE_BYTES:
            return False
        status = _stat_of(result)
        entry = recorded.get(path)
        if isinstance(entry, list) and len(entry) == 5 and tuple(entry[:4]) == status \
                and entry[4] == files[path]:
            fresh[path] = entry
            continue
        digest, status = _hash_with_stat(path)  # the stat changed (or is racy): read it
        if digest != files[path]:
            return False
        if _stable(status, now):
            fresh[path] = [*status, digest]
    side.stats = fresh
    side.write()
    return True


class Loaded(NamedTuple):
    roots: dict[str, Path]
    externals: set[str]
    #: The sha256 of the entry: the same for every run that finds the same files with the
    #: same content, so what is computed from the graph can be cached under it.
    identity: str
    #: Every module file of the roots (each confirmed to have the content it was read with).
    files: set[str]
    modules: list[str]
    squashed: set[str]
    imports: list[list[Any]]

    def build_graph(self) -> grimp.ImportGraph:
        """The grimp graph of the entry: built only when something asks for it (a warm
        check whose verdicts are cached never does)."""
        import grimp  # only now: a warm check with cached verdicts never loads it

        graph = grimp.ImportGraph()
        for module in self.modules:
            graph.add_module(module, is_squashed=module in self.squashed)
        for importer, imported, line, contents in self.imports:
            graph.add_import(
                importer=importer, imported=imported, line_number=line, line_contents=contents
            )
        return graph


def load(
    cache_file: Path, search: SearchPath, known: dict[str, list[Path]], key: bytes | None,
    locate_root: Callable[[str, SearchPath], Path | None], side: SideEntry,
) -> Loaded | None:
    """The verified entry whose files all still have the same content; None when there is none."""
    document, identity = _read_with_digest(cache_file, key)
    if not isinstance(document, dict):
        return None
    try:
        roots = {name: Path(path) for name, path in document["roots"].items()}
        if any(locate_root(name, search) != path for name, path in roots.items()):
            return None
        if any(search.find_package(name) for name in document["externals"]):
            return None  # something the package imports has been installed since
        if not _unchanged(document["files"], _module_paths(roots, known, side), side):
            return None
        modules, squashed, imports = document["modules"], document["squashed"], document["imports"]
        if not (isinstance(modules, list) and isinstance(squashed, list) and isinstance(imports, list)):
            return None
        return Loaded(roots, set(document["externals"]), identity, set(document["files"]),
                      modules, set(squashed), imports)
    except (KeyError, TypeError, ValueError, AttributeError, OSError):
        return None
