"""Reading ``.cloacina`` archives without trusting them, by the rules the server applies.

A ``.cloacina`` package is a bzip2-compressed tar. The Cloacina server unpacks
it with fidius ``unpack_package`` (fidius-core ``package.rs``, strict
``UnpackOptions::default()``), and this module refuses what that function
refuses, so that an archive passing here is one the server would load:

- every symbolic and hard link, whatever it points at;
- ``..`` components and absolute paths;
- more than 10,000 entries;
- more than 500 MiB declared in entry headers, or more than 10 times the
  archive's own size.

The package directory is whichever top-level directory holds ``package.toml``
(fidius takes the first ``read_dir`` finds; its name does not matter). Other
top-level entries, ``__MACOSX/`` included, are extracted by fidius into its
staging directory and thrown away with it: they are not extracted here and
are reported as ignored. Two top directories with a ``package.toml`` are
refused, since which one the server would pick depends on directory order.

Stricter than fidius, for our own safety: device files, FIFOs, sparse files and
duplicate entries are refused, no extended (PAX or GNU long-name) header may
exceed 64 KiB, and sizes are counted again from what lands on disk. Only
then, entry by entry, is the package directory extracted into a fresh
temporary directory that is removed afterwards.
"""

from __future__ import annotations

import contextlib
import copy
import os
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from cloacina_audit.errors import AuditError

#: fidius ``UnpackOptions::default().max_decompressed``: 500 MiB.
DEFAULT_MAX_BYTES = 500 * 1024 * 1024
#: fidius ``UnpackOptions::default().max_ratio``.
DEFAULT_MAX_RATIO = 10
#: fidius ``UnpackOptions::default().max_entries``.
DEFAULT_MAX_FILES = 10_000
#: cloacina-server's router: ``DefaultBodyLimit::max(100 * 1024 * 1024)`` on the
#: upload body, i.e. on the compressed archive.
UPLOAD_LIMIT_BYTES = 100 * 1024 * 1024

#: The largest PAX or GNU long-name header read (tarfile holds it in memory).
MAX_EXTENDED_HEADER_BYTES = 64 * 1024
#: Extended headers in a row before a member (tarfile recurses on each).
MAX_EXTENDED_HEADER_RUN = 8

_BZIP2_MAGIC = b"BZh"
_OTHER_COMPRESSIONS = {
    b"\x1f\x8b": "gzip",
    b"\xfd7zXZ": "xz",
    b"\x28\xb5\x2f\xfd": "zstd",
    b"PK\x03\x04": "zip",
}


@dataclass
class UnpackedArchive:
    #: The package directory (the top directory holding package.toml).
    top: Path
    #: Top-level entries outside the package directory, which the server discards.
    ignored: list[str] = field(default_factory=list)


@contextlib.contextmanager
def unpack_package_archive(
    path: Path,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_files: int = DEFAULT_MAX_FILES,
    max_ratio: int = DEFAULT_MAX_RATIO,
) -> Iterator[UnpackedArchive]:
    """Extract the package directory of ``path`` safely; everything is removed on exit."""
    path = Path(path)
    limits = _Limits(max_bytes, max_files, max_ratio, compressed=_check_archive_file(path))
    with tempfile.TemporaryDirectory(prefix="cloacina-audit-archive-") as scratch:
        destination = Path(scratch)
        with _open_tar(path) as tar:
            plan = _plan_extraction(path, tar, limits)
            _extract(path, tar, plan, destination, max_bytes=max_bytes)
        yield UnpackedArchive(top=destination / plan.top, ignored=plan.ignored)


@contextlib.contextmanager
def open_package_archive(path: Path, **limits: int) -> Iterator[Path]:
    """Like :func:`unpack_package_archive`, yielding only the package directory."""
    with unpack_package_archive(path, **limits) as unpacked:
        yield unpacked.top


# --- what the archive is -------------------------------------------------------


def _check_archive_file(path: Path) -> int:
    """The archive's size, once it is known to be a bzip2 stream within the upload limit."""
    try:
        with path.open("rb") as handle:
            head = handle.read(8)
            size = os.fstat(handle.fileno()).st_size
    except OSError as exc:
        raise AuditError(f"{path}: cannot read archive: {exc.strerror}") from None
    for magic, kind in _OTHER_COMPRESSIONS.items():
        if head.startswith(magic):
            raise AuditError(
                f"{path}: not a .cloacina archive: {kind}-compressed, "
                "expected a bzip2-compressed tar"
            )
    if not head.startswith(_BZIP2_MAGIC):
        raise AuditError(f"{path}: not a .cloacina archive: expected a bzip2-compressed tar")
    if size > UPLOAD_LIMIT_BYTES:
        raise AuditError(
            f"{path}: {size} bytes, over the server's upload limit of {UPLOAD_LIMIT_BYTES} "
            "bytes (100 MiB); limit exceeded"
        )
    return size


class _Refused(Exception):
    """A header refused while tarfile is still reading it."""


class _BoundedTarInfo(tarfile.TarInfo):
    """A TarInfo that refuses oversized extended headers before tarfile reads them whole.

    tarfile reads a PAX or GNU long-name header's payload into memory in one
    piece, and recurses for every extended header in a row: a 1 GiB header
    costs 1 GiB of memory. Sparse files are refused before their maps are read
    (GNU sparse 1.0 reads blocks until it finds a newline).
    """

    _EXTENDED = (tarfile.XHDTYPE, tarfile.XGLTYPE, tarfile.SOLARIS_XHDTYPE,
                 tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK)

    def _proc_member(self, tarfile_):
        if self.type in self._EXTENDED:
            if self.size > MAX_EXTENDED_HEADER_BYTES:
                raise _Refused(
                    f"an extended header of {self.size} bytes "
                    f"(at most {MAX_EXTENDED_HEADER_BYTES} are read)"
                )
            run = getattr(tarfile_, "_cloacina_extended_run", 0) + 1
            if run > MAX_EXTENDED_HEADER_RUN:
                raise _Refused(f"more than {MAX_EXTENDED_HEADER_RUN} extended headers in a row")
            tarfile_._cloacina_extended_run = run
        else:
            tarfile_._cloacina_extended_run = 0
        return super()._proc_member(tarfile_)

    def _proc_sparse(self, tarfile_):
        raise _Refused("sparse files are not supported")

    def _proc_gnusparse_00(self, *args):
        raise _Refused("sparse files are not supported")

    _proc_gnusparse_01 = _proc_gnusparse_00
    _proc_gnusparse_10 = _proc_gnusparse_00


@contextlib.contextmanager
def _open_tar(path: Path) -> Iterator[tarfile.TarFile]:
    try:
        tar = tarfile.open(path, mode="r:bz2", tarinfo=_BoundedTarInfo)
    except _Refused as exc:
        raise AuditError(f"{path}: refusing the archive: {exc}") from None
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise AuditError(f"{path}: corrupt archive: {_reason(exc)}") from None
    try:
        yield tar
    except _Refused as exc:
        raise AuditError(f"{path}: refusing the archive: {exc}") from None
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise AuditError(f"{path}: corrupt archive: {_reason(exc)}") from None
    finally:
        tar.close()


def _reason(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


# --- checking every header before writing anything -----------------------------


@dataclass(frozen=True)
class _Limits:
    max_bytes: int
    max_files: int
    #: Declared bytes per compressed byte; 0 turns the ratio off.
    max_ratio: int
    #: The archive's own size.
    compressed: int


@dataclass
class _Plan:
    top: str
    members: list[tarfile.TarInfo] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)


def _plan_extraction(archive: Path, tar: tarfile.TarFile, limits: _Limits) -> _Plan:
    """Read headers one at a time, refusing the archive at the first bad entry.

    Headers are read lazily so that a limit is hit before the rest of the
    stream is decompressed. The checks follow fidius
    ``unpack_package_with_options``, in its order: entry count, links, path
    components, declared size.
    """
    members: list[tarfile.TarInfo] = []
    seen: set[str] = set()
    tops: list[str] = []
    top_level_manifest: tarfile.TarInfo | None = None
    count = 0
    total = 0

    def refuse(member: tarfile.TarInfo, why: str) -> AuditError:
        return AuditError(f"{archive}: refusing entry {member.name!r}: {why}")

    while True:
        member = tar.next()
        if member is None:
            break
        count += 1
        if count > limits.max_files:  # fidius: PackageError::TooManyEntries
            raise AuditError(
                f"{archive}: more than {limits.max_files} entries (at {member.name!r}); "
                "limit exceeded"
            )
        if member.issym():  # fidius: PackageError::SymlinkRejected
            raise refuse(member, f"symbolic link (to {member.linkname!r}): the server refuses "
                                 "every link in an archive")
        if member.islnk():  # fidius: PackageError::HardlinkRejected
            raise refuse(member, f"hard link (to {member.linkname!r}): the server refuses "
                                 "every link in an archive")
        parts = _parts(member.name)
        problem = _path_problem(member.name, parts)  # fidius: PathTraversal, AbsolutePath
        if problem:
            raise refuse(member, problem)
        if not parts:
            if member.isdir():
                continue  # "./", the root written by `tar -C dir .`
            raise refuse(member, "empty path")
        relative = "/".join(parts)
        if relative in seen:
            raise refuse(member, "duplicate entry")
        seen.add(relative)
        if member.isreg():
            if member.issparse():
                raise refuse(member, "sparse files are not supported")
        elif not member.isdir():
            raise refuse(member, f"{_type_name(member)} entries are not allowed")

        # fidius: the sum of every entry's declared size (PackageError::SizeLimitExceeded).
        total += member.size
        if total > limits.max_bytes:
            raise AuditError(
                f"{archive}: uncompressed size exceeds {limits.max_bytes} bytes "
                f"(at {member.name!r}); limit exceeded"
            )
        if limits.max_ratio and total > limits.max_ratio * limits.compressed:
            raise AuditError(
                f"{archive}: uncompressed size exceeds {limits.max_ratio * limits.compressed} "
                f"bytes, {limits.max_ratio} times the archive's {limits.compressed} bytes "
                f"(at {member.name!r}); limit exceeded"
            )

        if parts[-1] == "package.toml" and member.isreg():
            if len(parts) == 1:
                top_level_manifest = member
            elif len(parts) == 2:
                tops.append(parts[0])
                if len(tops) > 1:
                    raise refuse(member, f"more than one top directory holds package.toml "
                                         f"({tops[0]!r} and {tops[1]!r}): which one the "
                                         "server loads depends on directory order")
        members.append(member)

    if not tops:
        if top_level_manifest is not None:
            raise AuditError(
                f"{archive}: package.toml is at the top level of the archive (packed with "
                "`tar -C DIR .`?); the server needs it inside one top directory, as "
                "`cloacinactl package pack` writes NAME-VERSION/package.toml"
            )
        if not members:
            raise AuditError(f"{archive}: empty archive")
        raise AuditError(f"{archive}: no top directory holds a package.toml")
    top = tops[0]
    plan = _Plan(top=top)
    ignored: set[str] = set()
    for member in members:
        parts = _parts(member.name)
        if parts[0] == top:
            plan.members.append(member)
        else:
            ignored.add(parts[0] + ("/" if member.isdir() or len(parts) > 1 else ""))
    plan.ignored = sorted(ignored)
    return plan


def _parts(name: str) -> list[str]:
    return [p for p in name.split("/") if p not in ("", ".")]


def _path_problem(name: str, parts: list[str]) -> str | None:
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return "absolute path"
    if "\\" in name:
        return "backslash in path"
    if ".." in parts:
        return "escapes the top directory ('..')"
    return None


def _type_name(member: tarfile.TarInfo) -> str:
    if member.ischr():
        return "character device"
    if member.isblk():
        return "block device"
    if member.isfifo():
        return "FIFO (named pipe)"
    return f"type {member.type!r}"


# --- writing -------------------------------------------------------------------


def _extract(
    archive: Path, tar: tarfile.TarFile, plan: _Plan, destination: Path, *, max_bytes: int
) -> None:
    written = 0
    for member in plan.members:
        # "./demo-1.0/x" is written as "demo-1.0/x": the same place, no dot directory.
        member = copy.copy(member)
        member.name = "/".join(_parts(member.name))
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
        if member.isreg():
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
