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
import json
import tarfile
import uuid
from pathlib import Path

import pytest
from cloacina_shapes import member, special_member

from .support import assert_clean_error, assert_verdict, audit

TOP = "demo-1.0.0"
MANIFEST = b"""[package]
name = "demo"
version = "1.0.0"

[metadata]
workflow_name = "demo"
entry_module = "demo.tasks"
"""


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
    member(f"{TOP}/package.toml", MANIFEST),
    member(f"{TOP}/workflow/demo/__init__.py", b""),
    member(f"{TOP}/workflow/demo/tasks.py", b"import json\n"),
]

ABSOLUTE = f"/tmp/cloacina-audit-hostile-{uuid.uuid4().hex}"

UNSAFE = {
    "dotdot": ([member(f"{TOP}/../escape")], "escapes the top directory"),
    "absolute": ([member(ABSOLUTE)], "absolute path"),
    "device": ([special_member(f"{TOP}/null", tarfile.CHRTYPE)], "device"),
    "fifo": ([special_member(f"{TOP}/pipe", tarfile.FIFOTYPE)], "pipe"),
    "symlink-out": ([special_member(f"{TOP}/workflow/demo/x.py", tarfile.SYMTYPE,
                                    "../../../../etc/passwd")], "symbolic link"),
    "symlink-absolute": ([special_member(f"{TOP}/workflow/demo/x.py", tarfile.SYMTYPE,
                                         "/etc/passwd")], "symbolic link"),
    "hardlink-out": ([special_member(f"{TOP}/h", tarfile.LNKTYPE, "../outside")], "link"),
    "two-top-dirs": ([member("other-1.0/package.toml", MANIFEST)], "more than one top directory"),
    # 101 MB of zeros in a 1 kB archive: over fidius' 10x ratio long before 500 MiB.
    "too-big": ([], "10 times the archive's"),
    "name-with-control-characters": ([member(f"{TOP}/../\x1b[2J\nevil.py")], "escapes"),
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



# --- as fidius unpack_package reads archives ------------------------------------------------

def _archive(path: Path, entries: list[tuple[tarfile.TarInfo, bytes]]) -> Path:
    with tarfile.open(path, mode="w:bz2") as tar:
        for info, data in entries:
            tar.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return path


def test_two_links_each_harmless_by_its_text_cannot_read_outside(tmp_path, scratch):
    """``leak.py`` is checked before ``up`` exists; together they reach a file beside TMPDIR.

    leak.py -> up/A/B/C/../../../../../../secret is TOP/secret by its text, and so
    is up -> ../.. (TOP). On disk, up/ is TOP, so the six '..' climb three levels
    above it: out of the extraction directory, to the test's own directory.
    """
    secret = tmp_path / "secret"
    secret.write_text("TOPSECRET hunter2\n")
    tree = tmp_path / "tree"
    tree.mkdir()
    archive = _archive(tree / "leak.cloacina", [
        *BASE,
        *(special_member(f"{TOP}/{d}", tarfile.DIRTYPE) for d in ("A", "A/B", "A/B/C")),
        special_member(f"{TOP}/workflow/demo/leak.py", tarfile.SYMTYPE,
                 "up/A/B/C/../../../../../../secret"),
        special_member(f"{TOP}/workflow/demo/up", tarfile.SYMTYPE, "../.."),
    ])
    result = audit(tree, "check", str(archive), env=scratch)
    assert "hunter2" not in result.stdout + result.stderr
    assert_clean_error(result, "leak.py", "symbolic link", "refuses every link")
    _nothing_written(tmp_path)


def test_any_top_directory_name_is_accepted_as_the_server_does(tmp_path, scratch):
    tree = tmp_path / "tree"
    tree.mkdir()
    entries = [(member(info.name.replace(TOP, "foo", 1), data)) for info, data in BASE]
    archive = _archive(tree / "foo.cloacina", entries)
    result = audit(tree, "check", str(archive), "--format", "json", env=scratch)
    assert_verdict(result, 0)
    assert json.loads(result.stdout)["packages"][0]["findings"] == []


def test_macosx_and_other_top_level_entries_are_ignored_with_a_warning(tmp_path, scratch):
    tree = tmp_path / "tree"
    tree.mkdir()
    archive = _archive(tree / "mac.cloacina", [
        member(f"__MACOSX/{TOP}/._package.toml", b"\x00\x05\x16\x07"),
        *BASE,
        member("README.md", b"# beside the package, not in it\n"),
    ])
    result = audit(tree, "check", str(archive), "--format", "json", env=scratch)
    assert_verdict(result, 0)
    findings = json.loads(result.stdout)["packages"][0]["findings"]
    assert [(f["rule"], f["level"]) for f in findings] == [("archive-ignored-entries", "warning")]
    assert "README.md, __MACOSX/" in findings[0]["message"]
    _nothing_written(tmp_path)


def _pax_bomb(path: Path) -> Path:
    """1.6 kB-class archive: a PAX header declaring 1 GiB of zeros, then the zeros.

    The zeros are 1024 concatenated bzip2 streams of 1 MiB each, so the test
    builds it in milliseconds (a bzip2 reader reads concatenated streams as one).
    """
    import bz2

    header = tarfile.TarInfo("././@PaxHeader")
    header.type = tarfile.XHDTYPE
    header.size = 1 << 30
    zeros = bz2.compress(bytes(1 << 20))
    path.write_bytes(bz2.compress(header.tobuf(tarfile.USTAR_FORMAT)) + zeros * 1024)
    return path


def test_a_one_gib_pax_header_is_refused_without_reading_it(tmp_path, scratch):
    tree = tmp_path / "tree"
    tree.mkdir()
    archive = _pax_bomb(tree / "pax.cloacina")
    result = audit(tree, "check", str(archive), env=scratch, timeout=30)
    assert_clean_error(result, "pax.cloacina", "an extended header of 1073741824 bytes")
    _nothing_written(tmp_path)


def test_a_one_gib_pax_header_costs_no_memory(tmp_path):
    import subprocess
    import sys

    from conftest import REPO

    archive = _pax_bomb(tmp_path / "pax.cloacina")
    probe = (
        "import resource, subprocess, sys\n"
        "subprocess.run([sys.executable, '-m', 'cloacina_audit', 'check', sys.argv[1]],\n"
        "               capture_output=True, timeout=60)\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    measured = subprocess.run([sys.executable, "-c", probe, str(archive)], cwd=REPO,
                              capture_output=True, text=True, timeout=90)
    peak_kib = int(measured.stdout.strip())
    assert peak_kib < 200 * 1024, f"peak RSS {peak_kib} KiB"
