"""Safe reading of ``.cloacina`` archives: every archive here is built by the test itself."""

from __future__ import annotations

import gzip
import io
import os
import tarfile
import tempfile
from pathlib import Path

import pytest
from conftest import tree_digest

from cloacina_audit.archive import open_package_archive
from cloacina_audit.errors import AuditError

TOP = "demo-1.0.0"


def _file(name: str, data: bytes = b"x = 1\n") -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def _special(name: str, kind: bytes, linkname: str = "") -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    return info, b""


GOOD = [
    _file(f"{TOP}/package.toml", b'[package]\nname = "demo"\nversion = "1.0.0"\n'),
    _special(f"{TOP}/workflow", tarfile.DIRTYPE),
    _file(f"{TOP}/workflow/demo/__init__.py", b""),
    _file(f"{TOP}/workflow/demo/tasks.py", b"from cloaca import task\n"),
    _special(f"{TOP}/workflow/demo/alias.py", tarfile.SYMTYPE, "tasks.py"),
    _special(f"{TOP}/workflow/demo/copy.py", tarfile.LNKTYPE, f"{TOP}/workflow/demo/tasks.py"),
]


def build(path: Path, entries: list[tuple[tarfile.TarInfo, bytes]], mode: str = "w:bz2") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, mode) as tar:
        for info, data in entries:
            tar.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return path


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The directory temporary directories are made in, so leftovers can be seen."""
    directory = tmp_path / "scratch"
    directory.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(directory))
    return directory


def test_good_archive_is_extracted_and_removed_afterwards(tmp_path: Path, scratch: Path) -> None:
    archive = build(tmp_path / "in" / "demo.cloacina", GOOD)
    with open_package_archive(archive) as top:
        assert top.name == TOP
        assert top.parent.parent == scratch
        assert (top / "package.toml").read_text().startswith("[package]")
        assert (top / "workflow/demo/tasks.py").read_text() == "from cloaca import task\n"
        assert os.readlink(top / "workflow/demo/alias.py") == "tasks.py"
        assert (top / "workflow/demo/copy.py").read_text() == "from cloaca import task\n"
    assert list(scratch.iterdir()) == []


def test_temp_dir_is_removed_when_the_caller_fails(tmp_path: Path, scratch: Path) -> None:
    archive = build(tmp_path / "in" / "demo.cloacina", GOOD)
    with pytest.raises(RuntimeError):
        with open_package_archive(archive):
            raise RuntimeError("boom")
    assert list(scratch.iterdir()) == []


MALICIOUS = {
    "dotdot": ([_file(f"{TOP}/package.toml"), _file(f"{TOP}/../escape")], f"{TOP}/../escape"),
    "leading-dotdot": ([_file("../escape")], "../escape"),
    "absolute": ([_file(f"{TOP}/package.toml"), _file("/tmp/abs-escape")], "/tmp/abs-escape"),
    "symlink-absolute": (
        [_special(f"{TOP}/passwd", tarfile.SYMTYPE, "/etc/passwd")],
        f"{TOP}/passwd",
    ),
    "symlink-outside": (
        [_special(f"{TOP}/workflow/x", tarfile.SYMTYPE, "../../x")],
        f"{TOP}/workflow/x",
    ),
    "symlink-then-through": (
        [
            _special(f"{TOP}/d", tarfile.SYMTYPE, "."),
            _special(f"{TOP}/d/l", tarfile.SYMTYPE, "../escape"),
        ],
        f"{TOP}/d/l",
    ),
    "hardlink-outside": (
        [_special(f"{TOP}/h", tarfile.LNKTYPE, "../outside")],
        f"{TOP}/h",
    ),
    "hardlink-absolute": (
        [_special(f"{TOP}/h", tarfile.LNKTYPE, "/etc/passwd")],
        f"{TOP}/h",
    ),
    "device": ([_special(f"{TOP}/null", tarfile.CHRTYPE)], f"{TOP}/null"),
    "block-device": ([_special(f"{TOP}/sda", tarfile.BLKTYPE)], f"{TOP}/sda"),
    "fifo": ([_special(f"{TOP}/pipe", tarfile.FIFOTYPE)], f"{TOP}/pipe"),
    "two-top-dirs": (
        [_file(f"{TOP}/package.toml"), _file("other-1.0/package.toml")],
        "other-1.0/package.toml",
    ),
    "file-at-top": ([_file(f"{TOP}/package.toml"), _file("README")], "README"),
    "duplicate": ([_file(f"{TOP}/a.py"), _file(f"{TOP}/a.py")], f"{TOP}/a.py"),
}


@pytest.mark.parametrize("case", sorted(MALICIOUS))
def test_malicious_archive_is_refused_naming_the_entry(
    case: str, tmp_path: Path, scratch: Path
) -> None:
    entries, entry = MALICIOUS[case]
    inputs = tmp_path / "in"
    archive = build(inputs / f"{case}.cloacina", entries)
    before = tree_digest(tmp_path)
    with pytest.raises(AuditError) as caught:
        with open_package_archive(archive):
            pytest.fail("a malicious archive was opened")
    message = str(caught.value)
    assert str(archive) in message
    assert repr(entry) in message, message
    assert "\n" not in message
    # Nothing written anywhere: not next to the archive, not above it, no temp dir left.
    assert list(scratch.iterdir()) == []
    assert tree_digest(tmp_path) == before
    assert not (tmp_path / "escape").exists() and not (tmp_path / "outside").exists()
    assert not Path("/tmp/abs-escape").exists()


def test_too_many_files(tmp_path: Path, scratch: Path) -> None:
    entries = [_file(f"{TOP}/f{i}.py") for i in range(6)]
    archive = build(tmp_path / "many.cloacina", entries)
    with pytest.raises(AuditError, match=r"more than 5 entries \(at 'demo-1.0.0/f5.py'\)"):
        with open_package_archive(archive, max_files=5):
            pass
    with open_package_archive(archive, max_files=6) as top:
        assert len(list(top.iterdir())) == 6
    assert list(scratch.iterdir()) == []


def test_too_large(tmp_path: Path, scratch: Path) -> None:
    entries = [_file(f"{TOP}/a.bin", b"a" * 600), _file(f"{TOP}/b.bin", b"b" * 600)]
    archive = build(tmp_path / "big.cloacina", entries)
    with pytest.raises(AuditError, match=r"exceeds 1000 bytes \(at 'demo-1.0.0/b.bin'\)"):
        with open_package_archive(archive, max_bytes=1000):
            pass
    assert list(scratch.iterdir()) == []


def test_hardlinks_count_towards_the_size_limit(tmp_path: Path, scratch: Path) -> None:
    entries = [
        _file(f"{TOP}/a.bin", b"a" * 600),
        _special(f"{TOP}/b.bin", tarfile.LNKTYPE, f"{TOP}/a.bin"),
    ]
    archive = build(tmp_path / "linked.cloacina", entries)
    with pytest.raises(AuditError, match="b.bin"):
        with open_package_archive(archive, max_bytes=1000):
            pass


def test_not_a_tar(tmp_path: Path, scratch: Path) -> None:
    archive = tmp_path / "junk.cloacina"
    archive.write_bytes(b"this is not an archive at all")
    with pytest.raises(AuditError, match="junk.cloacina: not a .cloacina archive"):
        with open_package_archive(archive):
            pass


def test_gzip_instead_of_bzip2(tmp_path: Path, scratch: Path) -> None:
    archive = build(tmp_path / "gz.cloacina", GOOD, mode="w:gz")
    with pytest.raises(AuditError, match="gzip-compressed, expected a bzip2-compressed tar"):
        with open_package_archive(archive):
            pass


def test_bzip2_of_something_else_is_corrupt(tmp_path: Path, scratch: Path) -> None:
    import bz2

    archive = tmp_path / "notar.cloacina"
    archive.write_bytes(bz2.compress(b"plain text, not a tar stream\n" * 40))
    with pytest.raises(AuditError, match="notar.cloacina: corrupt archive"):
        with open_package_archive(archive):
            pass
    assert list(scratch.iterdir()) == []


def test_truncated_archive_is_corrupt(tmp_path: Path, scratch: Path) -> None:
    entries = [_file(f"{TOP}/f{i}.py", os.urandom(2000)) for i in range(5)]
    whole = build(tmp_path / "whole.cloacina", entries).read_bytes()
    archive = tmp_path / "cut.cloacina"
    archive.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(AuditError, match="cut.cloacina: corrupt archive"):
        with open_package_archive(archive):
            pass
    assert list(scratch.iterdir()) == []


def test_empty_archive(tmp_path: Path, scratch: Path) -> None:
    archive = build(tmp_path / "empty.cloacina", [])
    with pytest.raises(AuditError, match="empty archive"):
        with open_package_archive(archive):
            pass


def test_gzip_module_is_not_needed_to_detect_gzip(tmp_path: Path) -> None:
    # A gzip file that is not even a tar is still named for what it is.
    archive = tmp_path / "plain.cloacina"
    archive.write_bytes(gzip.compress(b"hello"))
    with pytest.raises(AuditError, match="gzip-compressed"):
        with open_package_archive(archive):
            pass
