"""A package directory's ``.cloacina`` archive, packed as ``cloacinactl package pack`` packs it.

``pack_to`` (cloacina: crates/cloacinactl/src/nouns/package/pack.rs) compares the
manifest on disk with the resolved one (``resolve_manifest_str``). When resolution
changes nothing it hands the directory itself to fidius ``pack_package``; otherwise
it stages a copy (``copy_package_tree``: no ``target``, ``.git``, ``node_modules``,
``__pycache__`` or ``*.cloacina`` entries, at any depth) whose package.toml is the
resolved manifest written by ``toml::to_string_pretty``, and packs the copy.

fidius ``pack_package`` (fidius: crates/fidius-core/src/package.rs) lists every
non-directory below the package with ``collect_archive_files`` (``is_dir`` follows
symlinks; directories named ``target`` or ``.git`` are skipped at any depth),
sorts the relative paths, and appends each as ``<name>-<version>/<path>`` with
tar-rs's ``append_path_with_name`` (GNU headers, symlinks followed, no directory
entries) into a ``BzEncoder`` at ``Compression::best()``, bzip2 level 9; the tar
ends with two zero blocks and no record padding.

fidius leaves tar-rs at its default ``HeaderMode::Complete``: each header carries
the file's mtime, uid, gid and mode, so two packs of one tree differ in those
fields. Here they are fixed as tar-rs's ``HeaderMode::Deterministic`` fixes them
(mtime 1153704088, uid and gid 0, mode 0644, or 0755 when the owner may execute),
so the figure is reproducible; the headers are otherwise laid out as tar-rs lays
them out, and the size differs from a real pack's by a few bytes.
"""

from __future__ import annotations

import bz2
import functools
import os
import re
import stat
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from cloacina_audit.discover.config import read_toml
from cloacina_audit.discover.manifest import Layout, resolve_manifest
from cloacina_audit.errors import AuditError

#: Directories fidius ``collect_archive_files`` never enters.
FIDIUS_SKIPPED_DIRS = frozenset({"target", ".git"})
#: Names cloacinactl's ``copy_package_tree`` leaves out of its staging copy (files too).
STAGING_SKIPPED_NAMES = frozenset({"target", ".git", "node_modules", "__pycache__"})
STAGING_SKIPPED_SUFFIX = ".cloacina"

#: tar-rs ``HeaderMode::Deterministic``'s mtime.
DETERMINISTIC_MTIME = 1153704088
BZIP2_LEVEL = 9  # bzip2 ``Compression::best()``
_BLOCK = 512
_CHUNK = 1 << 20


@dataclass(frozen=True)
class ArchiveMember:
    """One file of the archive, by its path below the top directory."""

    path: str
    size: int
    #: The file to read, or None when ``data`` holds the bytes (a resolved package.toml).
    source: Path | None
    data: bytes | None = None
    executable: bool = False

    def read(self) -> bytes:
        if self.data is not None:
            return self.data
        assert self.source is not None
        return self.source.read_bytes()

    def chunks(self) -> Iterator[bytes]:
        if self.data is not None:
            yield self.data
            return
        assert self.source is not None
        with self.source.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                yield chunk


@dataclass(frozen=True)
class PackedArchive:
    top_dir: str
    members: tuple[ArchiveMember, ...]
    #: Whether cloacinactl would pack a staged copy (the manifest needed resolving).
    staged: bool
    #: Size of the bzip2-compressed tar.
    compressed_bytes: int


def pack_package(package_dir: Path, destination: Path | None = None) -> PackedArchive:
    """Pack ``package_dir`` as ``cloacinactl package pack`` would.

    The archive is compressed to count its bytes; it is written only when
    ``destination`` is given.
    """
    top_dir, members, staged = archive_members(package_dir)
    if destination is None:
        sink = _CountingSink()
        _write_tar_bz2(top_dir, members, sink)
        size = sink.count
    else:
        with destination.open("wb") as handle:
            _write_tar_bz2(top_dir, members, handle)
        size = destination.stat().st_size
    return PackedArchive(top_dir, tuple(members), staged, size)


def archive_members(package_dir: Path) -> tuple[str, list[ArchiveMember], bool]:
    """``(top directory, members in archive order, staged)`` for ``package_dir``."""
    raw = read_toml(package_dir / "package.toml")
    resolved = resolve_manifest(raw, Layout.of(package_dir))
    # cloacinactl refuses a manifest it cannot resolve; packing it as it is still
    # measures what it holds.
    staged = resolved is not None and resolved != raw
    members = collect_members(package_dir, staged=staged)
    if staged:
        assert resolved is not None
        text = to_toml_pretty(resolved).encode("utf-8")
        members = [
            ArchiveMember("package.toml", len(text), None, data=text)
            if m.path == "package.toml" else m
            for m in members
        ]
    package = raw.get("package")
    package = package if isinstance(package, dict) else {}
    name, version = package.get("name"), package.get("version")
    # fidius names the top directory after the manifest; without a name and
    # version it refuses to pack, and the directory's own name stands in.
    named = isinstance(name, str) and isinstance(version, str) and name and version
    top = f"{name}-{version}" if named else package_dir.name
    return top, members, staged


def collect_members(root: Path, *, staged: bool | None) -> list[ArchiveMember]:
    """Every file below ``root`` in archive order.

    ``staged`` applies cloacinactl's staging filter on top of fidius's; ``None``
    takes every file (an archive already unpacked: what the server holds).
    """
    found: list[ArchiveMember] = []

    def skipped(name: str, is_dir: bool) -> bool:
        if staged is None:
            return False
        if staged and (name in STAGING_SKIPPED_NAMES or name.endswith(STAGING_SKIPPED_SUFFIX)):
            return True
        return is_dir and name in FIDIUS_SKIPPED_DIRS

    def walk(directory: Path, prefix: str, seen: frozenset[tuple[int, int]]) -> None:
        with os.scandir(directory) as entries:
            listed = sorted(entries, key=lambda e: e.name)
        for entry in listed:
            path = Path(entry.path)
            relative = prefix + entry.name
            is_dir = entry.is_dir()  # follows symlinks, like Rust's Path::is_dir
            if skipped(entry.name, is_dir):
                continue
            if is_dir:
                info = path.stat()
                key = (info.st_dev, info.st_ino)
                if key in seen:
                    raise AuditError(f"{path}: a symbolic link loop; the package cannot be packed")
                walk(path, relative + "/", seen | {key})
                continue
            try:
                info = path.stat()  # symlinks are followed: the archive holds the target
            except OSError:
                raise AuditError(
                    f"{path}: a broken symbolic link; cloacinactl package pack fails on it"
                ) from None
            if not stat.S_ISREG(info.st_mode):
                raise AuditError(f"{path}: not a regular file; the package cannot be packed")
            found.append(
                ArchiveMember(relative, info.st_size, path, executable=bool(info.st_mode & 0o100))
            )

    top = root.stat()
    walk(root, "", frozenset({(top.st_dev, top.st_ino)}))
    # fidius sorts the relative paths as Rust strings: by their UTF-8 bytes.
    return sorted(found, key=lambda m: m.path.encode("utf-8", "surrogateescape"))


# --- the tar.bz2 stream ----------------------------------------------------------------


class _CountingSink:
    def __init__(self) -> None:
        self.count = 0

    def write(self, data: bytes) -> int:
        self.count += len(data)
        return len(data)


def _write_tar_bz2(top: str, members: list[ArchiveMember], out: BinaryIO | _CountingSink) -> None:
    compressor = bz2.BZ2Compressor(BZIP2_LEVEL)

    def emit(data: bytes) -> None:
        if data:
            out.write(compressor.compress(data))

    for member in members:
        info = tarfile.TarInfo(f"{top}/{member.path}")
        info.size = member.size
        info.mode = 0o755 if member.executable else 0o644
        info.mtime = DETERMINISTIC_MTIME
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        emit(_as_tar_rs_writes(info.tobuf(tarfile.GNU_FORMAT, "utf-8", "surrogateescape")))
        written = 0
        for chunk in member.chunks():
            chunk = chunk[: member.size - written]  # a file that grew is cut at its header size
            emit(chunk)
            written += len(chunk)
        if written < member.size:
            raise AuditError(f"{member.source}: changed while it was being packed")
        emit(b"\0" * (-member.size % _BLOCK))
    emit(b"\0" * (2 * _BLOCK))
    out.write(compressor.flush())


def _as_tar_rs_writes(headers: bytes) -> bytes:
    """Python's GNU headers as tar-rs writes them: the checksum as seven octal digits and a
    NUL (Python: six, a NUL, a space), and a ``././@LongLink`` entry with mode 0644."""
    blocks = bytearray(headers)
    position = 0
    while position < len(blocks):
        header = position
        position += _BLOCK
        if blocks[header + 156] == ord(tarfile.GNUTYPE_LONGNAME):
            blocks[header + 100 : header + 108] = b"0000644\0"
            size = int(bytes(blocks[header + 124 : header + 135]), 8)
            position += -(-size // _BLOCK) * _BLOCK  # the long name itself follows
        block = blocks[header : header + _BLOCK]
        checksum = sum(block[:148]) + 8 * ord(" ") + sum(block[156:])
        blocks[header + 148 : header + 156] = b"%07o\0" % checksum
    return bytes(blocks)


# --- toml::to_string_pretty, for the staged manifest -------------------------------------

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def to_toml_pretty(document: dict[str, Any]) -> str:
    """``document`` as toml 0.8's ``to_string_pretty`` writes a ``toml::Value``.

    Its tables are BTreeMaps (no ``preserve_order`` in Cloacina's Cargo.lock), so
    keys come sorted; values first, then tables; a table holding only tables gets
    no header of its own; arrays of scalars one item per line. Comments are lost,
    as they are in the staged copy.
    """
    sections: list[str] = []
    _table(document, (), sections, array_item=False)
    return "\n".join(s for s in sections if s)


def _table(
    table: dict[str, Any], path: tuple[str, ...], sections: list[str], *, array_item: bool
) -> None:
    values = []
    subtables: list[tuple[str, Callable[[], None]]] = []
    for key in sorted(table, key=lambda k: k.encode("utf-8", "surrogateescape")):
        value = table[key]
        child = path + (key,)
        if isinstance(value, dict):
            subtables.append(
                (key, functools.partial(_table, value, child, sections, array_item=False))
            )
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            def each(items=value, c=child) -> None:
                for item in items:
                    _table(item, c, sections, array_item=True)
            subtables.append((key, each))
        else:
            values.append(f"{_key(key)} = {_value(value)}\n")
    if path and (values or array_item or not subtables):
        dotted = ".".join(_key(k) for k in path)
        header = f"[[{dotted}]]\n" if array_item else f"[{dotted}]\n"
        sections.append(header + "".join(values))
    elif values:
        sections.append("".join(values))
    for _, write in subtables:
        write()


def _key(key: str) -> str:
    return key if _BARE_KEY.match(key) else _string(key)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, list):
        if not value:
            return "[]"
        return "[\n" + "".join(f"    {_value(v)},\n" for v in value) + "]"
    if isinstance(value, dict):
        inner = ", ".join(f"{_key(k)} = {_value(v)}" for k, v in sorted(value.items()))
        return "{ " + inner + " }" if inner else "{}"
    return str(value)  # dates and times print as TOML writes them


def _string(text: str) -> str:
    if ('"' in text or "\\" in text) and "'" not in text and text.isprintable():
        return f"'{text}'"
    escaped = []
    for char in text:
        if char in '"\\':
            escaped.append("\\" + char)
        elif char == "\n":
            escaped.append("\\n")
        elif char == "\t":
            escaped.append("\\t")
        elif not char.isprintable():
            escaped.append(f"\\u{ord(char):04X}")
        else:
            escaped.append(char)
    return '"' + "".join(escaped) + '"'
