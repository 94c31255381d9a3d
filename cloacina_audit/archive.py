"""Reading ``.cloacina`` archives without trusting them.

A ``.cloacina`` package is a bzip2-compressed tar holding exactly one top
directory ``<name>-<version>/``. An archive is untrusted input: before anything
is written, every header is checked (no absolute paths, no ``..``, no links
leading out of the top directory, no device files or FIFOs, one top directory,
size and file-count limits), and only then is it extracted, entry by entry,
into a fresh temporary directory that is removed afterwards. Sizes are counted
again from what actually lands on disk, so a header that lies cannot get more
than ``max_bytes`` written.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .errors import AuditError

#: The Cloacina server's upload limit, used as the default uncompressed limit too.
DEFAULT_MAX_BYTES = 100 * 10**6
DEFAULT_MAX_FILES = 10_000

_BZIP2_MAGIC = b"BZh"
_OTHER_COMPRESSIONS = {
    b"\x1f\x8b": "gzip",
    b"\xfd7zXZ": "xz",
    b"\x28\xb5\x2f\xfd": "zstd",
    b"PK\x03\x04": "zip",
}


@contextlib.contextmanager
def open_package_archive(
    path: Path, *, max_bytes: int = DEFAULT_MAX_BYTES, max_files: int = DEFAULT_MAX_FILES
) -> Iterator[Path]:
    """Extract ``path`` safely and yield its top directory; everything is removed on exit."""
    path = Path(path)
    _check_compression(path)
    with tempfile.TemporaryDirectory(prefix="cloacina-audit-archive-") as scratch:
        destination = Path(scratch)
        with _open_tar(path) as tar:
            plan = _plan_extraction(path, tar, max_bytes=max_bytes, max_files=max_files)
            _extract(path, tar, plan, destination, max_bytes=max_bytes)
        yield destination / plan.top


# --- what the archive is -------------------------------------------------------


def _check_compression(path: Path) -> None:
    try:
        with path.open("rb") as handle:
            head = handle.read(8)
    except OSError as exc:
        raise AuditError(f"{path}: cannot read archive: {exc.strerror}") from None
    if head.startswith(_BZIP2_MAGIC):
        return
    for magic, kind in _OTHER_COMPRESSIONS.items():
        if head.startswith(magic):
            raise AuditError(
                f"{path}: not a .cloacina archive: {kind}-compressed, "
                "expected a bzip2-compressed tar"
            )
    raise AuditError(f"{path}: not a .cloacina archive: expected a bzip2-compressed tar")


@contextlib.contextmanager
def _open_tar(path: Path) -> Iterator[tarfile.TarFile]:
    try:
        tar = tarfile.open(path, mode="r:bz2")
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise AuditError(f"{path}: corrupt archive: {_reason(exc)}") from None
    try:
        yield tar
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise AuditError(f"{path}: corrupt archive: {_reason(exc)}") from None
    finally:
        tar.close()


def _reason(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


# --- checking every header before writing anything -----------------------------


@dataclass
class _Plan:
    top: str
    members: list[tarfile.TarInfo] = field(default_factory=list)


def _plan_extraction(
    archive: Path, tar: tarfile.TarFile, *, max_bytes: int, max_files: int
) -> _Plan:
    """Read headers one at a time, refusing the archive at the first bad entry.

    Headers are read lazily so that a limit is hit before the rest of the
    stream is decompressed.
    """
    top: str | None = None
    members: list[tarfile.TarInfo] = []
    regular_sizes: dict[str, int] = {}
    symlinks: set[str] = set()
    seen: set[str] = set()
    total = 0

    def refuse(member: tarfile.TarInfo, why: str) -> AuditError:
        return AuditError(f"{archive}: refusing entry {member.name!r}: {why}")

    while True:
        member = tar.next()
        if member is None:
            break
        if len(members) >= max_files:
            raise AuditError(
                f"{archive}: more than {max_files} entries (at {member.name!r}); limit exceeded"
            )
        parts = _parts(member.name)
        problem = _path_problem(member.name, parts)
        if problem:
            raise refuse(member, problem)
        relative = "/".join(parts)
        if relative in seen:
            raise refuse(member, "duplicate entry")
        seen.add(relative)
        if top is None:
            top = parts[0]
        elif parts[0] != top:
            raise refuse(member, f"more than one top directory ({top!r} and {parts[0]!r})")
        if len(parts) == 1 and not member.isdir():
            raise refuse(member, "a file at the top level; expected one top directory")
        if any("/".join(parts[:i]) in symlinks for i in range(1, len(parts))):
            raise refuse(member, "its path goes through a symbolic link")

        if member.isreg():
            if member.issparse():
                raise refuse(member, "sparse files are not supported")
            total += member.size
            regular_sizes[relative] = member.size
        elif member.issym():
            problem = _symlink_problem(parts, member.linkname, top)
            if problem:
                raise refuse(member, problem)
            symlinks.add(relative)
        elif member.islnk():
            target = "/".join(_parts(member.linkname))
            if (
                _path_problem(member.linkname, _parts(member.linkname))
                or target not in regular_sizes
            ):
                raise refuse(
                    member, f"hard link to {member.linkname!r}, not a file earlier in the archive"
                )
            total += regular_sizes[target]
        elif not member.isdir():
            raise refuse(member, f"{_type_name(member)} entries are not allowed")
        if total > max_bytes:
            raise AuditError(
                f"{archive}: uncompressed size exceeds {max_bytes} bytes (at {member.name!r}); "
                "limit exceeded"
            )
        members.append(member)

    if top is None:
        raise AuditError(f"{archive}: empty archive")
    return _Plan(top=top, members=members)


def _parts(name: str) -> list[str]:
    return [p for p in name.split("/") if p not in ("", ".")]


def _path_problem(name: str, parts: list[str]) -> str | None:
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return "absolute path"
    if "\\" in name:
        return "backslash in path"
    if ".." in parts:
        return "escapes the top directory ('..')"
    if not parts:
        return "empty path"
    return None


def _symlink_problem(parts: list[str], linkname: str, top: str) -> str | None:
    if linkname.startswith("/") or (len(linkname) > 1 and linkname[1] == ":"):
        return f"symbolic link to an absolute path ({linkname!r})"
    resolved = posixpath.normpath(posixpath.join(*parts[:-1], linkname))
    if resolved != top and not resolved.startswith(top + "/"):
        return f"symbolic link pointing outside the top directory ({linkname!r})"
    return None


def _type_name(member: tarfile.TarInfo) -> str:
    if member.ischr():
        return "character device"
    if member.isblk():
        return "block device"
    if member.isfifo():
        return "FIFO"
    return f"type {member.type!r}"


# --- writing -------------------------------------------------------------------


def _extract(
    archive: Path, tar: tarfile.TarFile, plan: _Plan, destination: Path, *, max_bytes: int
) -> None:
    written = 0
    for member in plan.members:
        try:
            _extract_member(tar, member, destination)
        except tarfile.FilterError as exc:
            raise AuditError(f"{archive}: refusing entry {member.name!r}: {exc}") from None
        except (tarfile.TarError, EOFError) as exc:
            raise AuditError(
                f"{archive}: corrupt archive at {member.name!r}: {_reason(exc)}"
            ) from None
        except OSError as exc:
            raise AuditError(
                f"{archive}: cannot extract {member.name!r}: {exc.strerror or exc}"
            ) from None
        if member.isreg() or member.islnk():
            written += os.lstat(destination / member.name).st_size
            if written > max_bytes:
                raise AuditError(
                    f"{archive}: uncompressed size exceeds {max_bytes} bytes "
                    f"(at {member.name!r}); limit exceeded"
                )


def _extract_member(tar: tarfile.TarFile, member: tarfile.TarInfo, destination: Path) -> None:
    if hasattr(tarfile, "data_filter"):
        tar.extract(member, destination, filter="data")
    else:  # pragma: no cover - Pythons without extraction filters (before 3.10.12 / 3.11.4)
        tar.extract(member, destination, set_attrs=False)
