"""The module files of a package, found in one walk of its directory tree.

Symlinks are followed as Python's imports follow them, never into a directory
already walked; namespace portions (directories without ``__init__.py`` that
hold modules) are found too, which grimp's own finder skips.
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

#: A directory as it was listed: (path, device, inode, mtime_ns, ctime_ns).
Listed = tuple[str, int, int, int, int]


def walk_once(
    directory: Path | str, listed: list[Listed | None] | None = None
) -> Iterator[tuple[str, list[str], list[str]]]:
    """``os.walk`` top-down, following symlinks as Python's imports do, but never into
    a directory already walked (same device and inode): a link to ``.`` or to a
    parent would otherwise loop forever. Subdirectories come sorted, without
    ``__pycache__``; pruning ``dirnames`` in place skips them, as with ``os.walk``.

    Only symlinks are stat'ed: a plain directory's inode comes with its entry.
    ``listed`` receives each directory's stat, taken before it is listed, and None for
    a link to a directory (what the walk finds there depends on where it points).
    """
    seen: set[tuple[int, int]] = set()
    pending = [(os.fspath(directory), _identity(directory))]
    while pending:
        dirpath, identity = pending.pop()
        if identity in seen:
            continue
        seen.add(identity)
        if listed is not None:
            listed.append(_listed(dirpath))
        children, filenames = _list_directory(dirpath, device=identity[0], listed=listed)
        unseen = {name: ident for name, ident in children.items() if ident not in seen}
        dirnames = sorted(unseen)
        yield dirpath, dirnames, filenames
        # Popped last-in first-out: reversed, so the first name is walked first.
        pending += [(os.path.join(dirpath, d), unseen[d]) for d in reversed(dirnames)]


def _listed(path: str) -> Listed | None:
    try:
        status = os.stat(path)
    except OSError:
        return None
    return (path, status.st_dev, status.st_ino, status.st_mtime_ns, status.st_ctime_ns)


def unchanged_listings(listed: list[Listed]) -> bool:
    """Whether every directory still has the stat it was listed with: then each holds
    the same entries (creating, removing or renaming one changes its directory's mtime
    and ctime), and walking them again finds what it found."""
    return all(_listed(entry[0]) == entry for entry in listed)


def _list_directory(
    path: str, device: int, listed: list[Listed | None] | None = None
) -> tuple[dict[str, tuple[int, int]], list[str]]:
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
            if not entry.is_symlink():
                children[entry.name] = (device, entry.inode())
                continue
            children[entry.name] = _identity(entry.path)
            if listed is not None:
                listed.append(None)  # where it leads can change without this directory changing
    return children, filenames


def _identity(path: str | Path) -> tuple[int, int]:
    try:
        status = os.stat(path)
    except OSError:  # vanished or unreadable: listing it will find nothing
        return (-1, -1)
    return (status.st_dev, status.st_ino)



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



@dataclass
class PackageFiles:
    #: Every module file Python can import from the package.
    modules: list[Path]
    #: Directories inside the package without ``__init__.py`` that hold modules:
    #: implicit namespace packages (PEP 420).
    namespace_dirs: list[Path]
    #: Files named as modules that are not read, with the reason (see _module_files).
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    #: Every directory listed, with its stat (see ``unchanged_listings``); None when the
    #: walk met a link, a directory it could not stat or a file it did not read: then
    #: only a new walk tells.
    listed: list[Listed] | None = None
    #: The clock before the walk: a listing whose mtime is this recent is not trusted later
    #: (an entry added in the same timestamp tick leaves the mtime as it was).
    listed_at: int = 0


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
    found = PackageFiles(modules=[], namespace_dirs=[], listed_at=time.time_ns())
    listed: list[Listed | None] = []
    initless: list[str] = []  # walked directories without __init__.py
    namespace_modules: list[Path] = []
    inside_namespace: set[str] = set()  # directories below one without __init__.py
    tree = os.path.realpath(directory) if audited else None
    for dirpath, dirnames, filenames in walk_once(directory, listed):
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
    # A module that is a link can change target without its directory changing.
    if None not in listed and not found.skipped and not any(map(os.path.islink, found.modules)):
        found.listed = [entry for entry in listed if entry is not None]
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
    inside: bool | None = None  # whether dirpath itself resolves into tree, once per directory
    for name in sorted(filenames):
        if not (name.endswith(".py") and name.count(".") == 1 and not name.startswith(".")):
            continue
        path = Path(dirpath, name)
        if tree is not None and inside is None:
            real = os.path.realpath(dirpath)
            inside = real == tree or real.startswith(tree + os.sep)
        reason = _unreadable(path, tree, inside is not False)
        if reason is None:
            found.append(path)
        elif skipped is not None:
            skipped.append((path, reason))
    return found


def _unreadable(path: Path, tree: str | None, directory_inside: bool) -> str | None:
    """Why ``path`` is not read, or None. A file that is not a link is in ``tree`` when
    its directory is (``directory_inside``); only a link is resolved."""
    try:
        status = os.lstat(path)
        link = stat.S_ISLNK(status.st_mode)
        if link:
            status = os.stat(path)  # follows links: what a read would open
    except OSError:
        return "cannot be read (a dangling link, or no permission)"
    if not stat.S_ISREG(status.st_mode):
        return "not a regular file (a device, FIFO or socket)"
    if status.st_size > MAX_MODULE_BYTES:
        return f"larger than {MAX_MODULE_BYTES // (1024 * 1024)} MiB"
    if tree is not None and not (
        os.path.realpath(path).startswith(tree + os.sep) if link else directory_inside
    ):
        return "a link to a file outside the package"
    return None
