"""The files a distribution's RECORD installs, as they are on disk.

Sizes are apparent sizes (``st_size``) from one ``stat`` per file, not RECORD's
size column: a file rewritten or removed after the install counts as it is, and
a hard link is seen as one (RECORD cannot say that two names share an inode).
A file is counted once per inode. The ``.pyc`` files in the ``__pycache__`` next
to a RECORD's modules count too, listed or not (uv's ``--compile-bytecode``
does not list them).

This runs once per installed file, tens of thousands in a large environment,
so the loop does as little as it can per file: one pass over RECORD's lines
that splits each path once, and what depends on a file's directory (inside the
site directory or not, under a wheel-repair library folder or not) worked out
once per directory.
"""

from __future__ import annotations

import csv
import os
import stat
from pathlib import Path
from typing import NamedTuple

NATIVE_SUFFIXES = (".so", ".pyd", ".dylib", ".dll")
#: Folders that wheel repair tools (auditwheel, delocate, delvewheel) fill with shared libraries.
NATIVE_FOLDER_SUFFIXES = (".libs", ".dylibs")

#: Files an installer writes that hold the time of the install, so their size changes from
#: one install of the same thing to the next (uv's ``uv_cache.json``: a timestamp whose
#: nanoseconds have 8 or 9 digits). Not part of what a package costs; never counted.
_INSTALL_TIMESTAMPS = (".dist-info/uv_cache.json",)

Inode = tuple[int, int]


class DiskFile(NamedTuple):
    size: int
    native: bool
    pyc: bool
    outside: bool


def record_files(record: str, site_dir: Path) -> dict[Inode, DiskFile]:
    """Files listed in ``record`` plus their ``__pycache__`` files, de-duplicated by path and inode.

    Where two names share an inode, the first (in RECORD's order, then the
    bytecode's in path order) decides how the file is classified.
    """
    prefix = os.path.normpath(site_dir) + os.sep
    #: path -> (directory, file name), in the order the paths are met
    entries = _listed(record, prefix)
    entries.update((p, e) for p, e in _bytecode_of(entries) if p not in entries)

    files: dict[Inode, DiskFile] = {}
    places: dict[str, tuple[bool, bool]] = {}
    stat_file, is_regular = os.stat, stat.S_ISREG
    for path, (directory, name) in entries.items():
        try:
            info = stat_file(path)
        except OSError:
            continue  # listed but gone: nothing on disk to count
        if not is_regular(info.st_mode):
            continue
        inode = (info.st_dev, info.st_ino)
        if inode in files:
            continue
        place = places.get(directory)
        if place is None:
            place = places[directory] = _place(directory, prefix)
        inside, native_folder = place
        native = native_folder or name.endswith(NATIVE_SUFFIXES) or ".so." in name
        files[inode] = DiskFile(info.st_size, native, name.endswith(".pyc"), not inside)
    return files


def _listed(record: str, prefix: str) -> dict[str, tuple[str, str]]:
    lines = [line for line in record.splitlines() if line.strip()]
    if '"' in record:  # a quoted path holds a comma or a quote: csv for those lines
        relatives = [next(csv.reader([line]), [""])[0] if line.startswith('"') else line.partition(",")[0]
                     for line in lines]
    else:
        relatives = [line.partition(",")[0] for line in lines]
    entries: dict[str, tuple[str, str]] = {}
    sep, normpath = os.sep, os.path.normpath
    for relative in relatives:
        if not relative:
            continue
        path = relative if relative.startswith(sep) else prefix + relative
        # ../bin/script, ./x: only these need normalising (the prefix is normalised already)
        if "/." in relative or relative.startswith(".") or "\\" in relative:
            path = normpath(path)
        if path.endswith(_INSTALL_TIMESTAMPS) or path in entries:
            continue
        directory, _, name = path.rpartition(sep)
        entries[path] = (directory, name)
    return entries


def _bytecode_of(entries: dict[str, tuple[str, str]]) -> list[tuple[str, tuple[str, str]]]:
    """``__pycache__/<module>.<tag>[.opt-N].pyc`` files of the listed ``.py`` files, by path."""
    modules_by_dir: dict[str, set[str]] = {}
    for directory, name in entries.values():
        if name.endswith(".py"):
            modules_by_dir.setdefault(directory, set()).add(name[:-3])
    found = []
    for directory, modules in modules_by_dir.items():
        cache = directory + os.sep + "__pycache__"
        try:
            names = os.listdir(cache)
        except OSError:
            continue
        found += [
            (cache + os.sep + n, (cache, n))
            for n in names
            if n.endswith(".pyc") and n.split(".", 1)[0] in modules
        ]
    return sorted(found)


def _place(directory: str, prefix: str) -> tuple[bool, bool]:
    """(inside the site directory, under a folder of repaired shared libraries)."""
    if not (directory + os.sep).startswith(prefix):
        return False, False
    if ".libs" not in directory and ".dylibs" not in directory:
        return True, False
    parts = directory[len(prefix):].split(os.sep)
    return True, any(part.endswith(NATIVE_FOLDER_SUFFIXES) for part in parts)
