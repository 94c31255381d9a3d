"""Unsafe ``.cloacina`` archives through the CLI: refused before anything is written.

tests/test_archive.py covers the reader itself entry by entry; here every
command is run on archives built by the test (tarfile, bzip2), and besides the
one-line error it is checked that nothing was extracted: not next to the
archive, not above it, not at the absolute path named, and no temporary
directory left behind (TMPDIR is private to each test).
"""

from __future__ import annotations

import functools
import io
import tarfile
import uuid
from pathlib import Path

import pytest

from .support import assert_clean_error, assert_verdict, audit

TOP = "demo-1.0.0"
MANIFEST = b"""[package]
name = "demo"
version = "1.0.0"

[metadata]
workflow_name = "demo"
entry_module = "demo.tasks"
"""


def _file(name: str, data: bytes = b"x = 1\n") -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def _special(name: str, kind: bytes, linkname: str = "") -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    return info, b""


class _Zeros(io.RawIOBase):
    """``size`` zero bytes, streamed: a 101 MB entry without 101 MB in memory."""

    def __init__(self, size: int) -> None:
        self.left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        count = min(len(buffer), self.left)
        buffer[:count] = bytes(count)
        self.left -= count
        return count


BASE = [
    _file(f"{TOP}/package.toml", MANIFEST),
    _file(f"{TOP}/workflow/demo/__init__.py", b""),
    _file(f"{TOP}/workflow/demo/tasks.py", b"import json\n"),
]

ABSOLUTE = f"/tmp/cloacina-audit-hostile-{uuid.uuid4().hex}"

UNSAFE = {
    "dotdot": ([_file(f"{TOP}/../escape")], "escapes the top directory"),
    "absolute": ([_file(ABSOLUTE)], "absolute path"),
    "device": ([_special(f"{TOP}/null", tarfile.CHRTYPE)], "device"),
    "fifo": ([_special(f"{TOP}/pipe", tarfile.FIFOTYPE)], "pipe"),
    "symlink-out": ([_special(f"{TOP}/workflow/demo/x.py", tarfile.SYMTYPE,
                              "../../../../etc/passwd")], "symbolic link"),
    "symlink-absolute": ([_special(f"{TOP}/workflow/demo/x.py", tarfile.SYMTYPE, "/etc/passwd")],
                         "symbolic link"),
    "hardlink-out": ([_special(f"{TOP}/h", tarfile.LNKTYPE, "../outside")], "link"),
    "two-top-dirs": ([_file("other-1.0/package.toml", MANIFEST)], "more than one top directory"),
    "too-big": ([], "exceeds 100000000 bytes (at 'demo-1.0.0/workflow/demo/blob.bin')"),
    "name-with-control-characters": ([_file(f"{TOP}/../\x1b[2J\nevil.py")], "escapes"),
}


@functools.lru_cache(maxsize=None)
def _archive_bytes(case: str) -> bytes:
    extra, _ = UNSAFE.get(case, ([], ""))
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:bz2", compresslevel=1) as tar:
        for info, data in BASE + extra:
            tar.addfile(info, io.BytesIO(data) if info.isreg() else None)
        if case == "too-big":  # 101 MB of zeros: 1 kB compressed, over the 100 MB limit
            info = tarfile.TarInfo(f"{TOP}/workflow/demo/blob.bin")
            info.size = 101_000_000
            tar.addfile(info, io.BufferedReader(_Zeros(info.size)))
    return buffer.getvalue()


def _build(path: Path, case: str) -> Path:
    path.write_bytes(_archive_bytes(case))
    return path


@pytest.fixture
def scratch(tmp_path: Path) -> dict[str, str]:
    directory = tmp_path / "scratch"
    directory.mkdir()
    return {"TMPDIR": str(directory)}


def _nothing_written(tmp_path: Path) -> None:
    assert list((tmp_path / "scratch").iterdir()) == [], "a temporary directory was left behind"
    assert not (tmp_path / "escape").exists() and not (tmp_path / "tree/escape").exists()
    assert not (tmp_path / "outside").exists() and not (tmp_path / "tree/outside").exists()
    assert not Path(ABSOLUTE).exists()


@pytest.mark.parametrize("case", sorted(UNSAFE))
def test_unsafe_archive_is_refused_by_check(tmp_path, scratch, case):
    tree = tmp_path / "tree"
    tree.mkdir()
    archive = _build(tree / f"{case}.cloacina", case)
    result = audit(tree, "check", str(archive), env=scratch)
    assert_clean_error(result, f"{case}.cloacina", UNSAFE[case][1])
    assert result.stderr.strip().isprintable(), repr(result.stderr)
    _nothing_written(tmp_path)


@pytest.mark.parametrize("case, command", [
    ("dotdot", "footprint"), ("symlink-out", "report"), ("too-big", "footprint"),
])
def test_unsafe_archive_is_refused_before_any_environment_is_built(tmp_path, scratch, case,
                                                                   command):
    tree = tmp_path / "tree"
    tree.mkdir()
    archive = _build(tree / f"{case}.cloacina", case)
    result = audit(tree, command, str(archive), "--probe-runs", "1", env=scratch, timeout=30)
    assert_clean_error(result, f"{case}.cloacina", UNSAFE[case][1])
    _nothing_written(tmp_path)
    assert not (tmp_path / "cache" / "envs").exists() or not any(
        (tmp_path / "cache" / "envs").iterdir())


def test_the_safe_archive_passes(tmp_path, scratch):
    """The control: the same archive without the unsafe entry is checked normally."""
    tree = tmp_path / "tree"
    tree.mkdir()
    archive = _build(tree / "safe.cloacina", "safe")
    assert_verdict(audit(tree, "check", str(archive), env=scratch), 0)
    _nothing_written(tmp_path)


NOT_AN_ARCHIVE = {
    "text": (b"just some text\n", "not a .cloacina archive"),
    "gzip": (None, "gzip-compressed"),
    "truncated": (None, "corrupt archive"),
    "empty-file": (b"", "not a .cloacina archive"),
}


@pytest.mark.parametrize("case", sorted(NOT_AN_ARCHIVE))
def test_not_an_archive(tmp_path, scratch, case):
    tree = tmp_path / "tree"
    tree.mkdir()
    archive = tree / f"{case}.cloacina"
    data, fragment = NOT_AN_ARCHIVE[case]
    if case == "gzip":
        with tarfile.open(archive, "w:gz") as tar:
            for info, content in BASE:
                tar.addfile(info, io.BytesIO(content))
    elif case == "truncated":
        whole = _build(tmp_path / "whole.cloacina", "safe").read_bytes()
        archive.write_bytes(whole[: len(whole) // 2])
    else:
        archive.write_bytes(data)
    result = audit(tree, "check", str(archive), env=scratch)
    assert_clean_error(result, f"{case}.cloacina", fragment)
    _nothing_written(tmp_path)

