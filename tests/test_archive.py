"""Safe reading of ``.cloacina`` archives: every archive here is built by the test itself."""

from __future__ import annotations

import gzip
import io
import os
import tarfile
import tempfile
from pathlib import Path

import pytest
from cloacina_shapes import member, special_member
from conftest import tree_digest

from cloacina_audit.discover.archive import open_package_archive, unpack_package_archive
from cloacina_audit.errors import AuditError

TOP = "demo-1.0.0"


GOOD = [
    member(f"{TOP}/package.toml", b'[package]\nname = "demo"\nversion = "1.0.0"\n'),
    special_member(f"{TOP}/workflow", tarfile.DIRTYPE),
    member(f"{TOP}/workflow/demo/__init__.py", b""),
    member(f"{TOP}/workflow/demo/tasks.py", b"from cloaca import task\n"),
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
    assert list(scratch.iterdir()) == []


def test_temp_dir_is_removed_when_the_caller_fails(tmp_path: Path, scratch: Path) -> None:
    archive = build(tmp_path / "in" / "demo.cloacina", GOOD)
    with pytest.raises(RuntimeError):
        with open_package_archive(archive):
            raise RuntimeError("boom")
    assert list(scratch.iterdir()) == []


MALICIOUS = {
    "dotdot": ([member(f"{TOP}/package.toml"), member(f"{TOP}/../escape")], f"{TOP}/../escape"),
    "leading-dotdot": ([member("../escape")], "../escape"),
    "absolute": ([member(f"{TOP}/package.toml"), member("/tmp/abs-escape")], "/tmp/abs-escape"),
    "symlink-absolute": (
        [special_member(f"{TOP}/passwd", tarfile.SYMTYPE, "/etc/passwd")],
        f"{TOP}/passwd",
    ),
    "symlink-outside": (
        [special_member(f"{TOP}/workflow/x", tarfile.SYMTYPE, "../../x")],
        f"{TOP}/workflow/x",
    ),
    "symlink-then-through": (
        [
            special_member(f"{TOP}/d", tarfile.SYMTYPE, "."),
            special_member(f"{TOP}/d/l", tarfile.SYMTYPE, "../escape"),
        ],
        f"{TOP}/d",  # every link is refused: the first one already
    ),
    "hardlink-outside": (
        [special_member(f"{TOP}/h", tarfile.LNKTYPE, "../outside")],
        f"{TOP}/h",
    ),
    "hardlink-absolute": (
        [special_member(f"{TOP}/h", tarfile.LNKTYPE, "/etc/passwd")],
        f"{TOP}/h",
    ),
    "device": ([special_member(f"{TOP}/null", tarfile.CHRTYPE)], f"{TOP}/null"),
    "block-device": ([special_member(f"{TOP}/sda", tarfile.BLKTYPE)], f"{TOP}/sda"),
    "fifo": ([special_member(f"{TOP}/pipe", tarfile.FIFOTYPE)], f"{TOP}/pipe"),
    "two-top-dirs": (
        [member(f"{TOP}/package.toml"), member("other-1.0/package.toml")],
        "other-1.0/package.toml",
    ),
    "duplicate": ([member(f"{TOP}/a.py"), member(f"{TOP}/a.py")], f"{TOP}/a.py"),
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
    entries = [member(f"{TOP}/f{i}.py") for i in range(6)] + [member(f"{TOP}/package.toml")]
    archive = build(tmp_path / "many.cloacina", entries)
    with pytest.raises(AuditError, match=r"more than 5 entries \(at 'demo-1.0.0/f5.py'\)"):
        with open_package_archive(archive, max_files=5):
            pass
    with open_package_archive(archive, max_files=7) as top:
        assert len(list(top.iterdir())) == 7
    assert list(scratch.iterdir()) == []


def test_too_large(tmp_path: Path, scratch: Path) -> None:
    entries = [member(f"{TOP}/a.bin", b"a" * 600), member(f"{TOP}/b.bin", b"b" * 600)]
    archive = build(tmp_path / "big.cloacina", entries)
    with pytest.raises(AuditError, match=r"exceeds 1000 bytes \(at 'demo-1.0.0/b.bin'\)"):
        with open_package_archive(archive, max_bytes=1000):
            pass
    assert list(scratch.iterdir()) == []


def test_hardlinks_count_towards_the_size_limit(tmp_path: Path, scratch: Path) -> None:
    entries = [
        member(f"{TOP}/a.bin", b"a" * 600),
        special_member(f"{TOP}/b.bin", tarfile.LNKTYPE, f"{TOP}/a.bin"),
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
    entries = [member(f"{TOP}/f{i}.py", os.urandom(2000)) for i in range(5)]
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


# --- the rules of fidius unpack_package (UnpackOptions::default()) --------------------------

MANIFEST_ENTRY = member(f"{TOP}/package.toml", b'[package]\nname = "demo"\nversion = "1.0.0"\n')


@pytest.mark.parametrize("link", [
    special_member(f"{TOP}/workflow/demo/alias.py", tarfile.SYMTYPE, "tasks.py"),
    special_member(f"{TOP}/workflow/demo/copy.py", tarfile.LNKTYPE, f"{TOP}/workflow/demo/tasks.py"),
], ids=["symlink-inside", "hardlink-inside"])
def test_every_link_is_refused_even_one_inside_the_top_directory(tmp_path, scratch, link):
    archive = build(tmp_path / "in" / "links.cloacina", [*GOOD, link])
    with pytest.raises(AuditError, match="the server refuses every link in an archive"):
        with open_package_archive(archive):
            pytest.fail("an archive with a link was opened")
    assert list(scratch.iterdir()) == []


def test_the_top_directory_is_the_one_holding_package_toml_whatever_its_name(tmp_path, scratch):
    entries = [member("foo/package.toml"), member("foo/workflow/demo/__init__.py", b"")]
    with open_package_archive(build(tmp_path / "foo.cloacina", entries)) as top:
        assert top.name == "foo"
        assert (top / "workflow/demo/__init__.py").is_file()


def test_entries_outside_the_package_directory_are_ignored_as_the_server_does(tmp_path, scratch):
    entries = [
        member("__MACOSX/demo-1.0.0/._package.toml", b"\x00\x05\x16\x07"),
        MANIFEST_ENTRY,
        member("README.md", b"# not shipped\n"),
        member("other/notes.txt"),
    ]
    with unpack_package_archive(build(tmp_path / "mac.cloacina", entries)) as unpacked:
        assert unpacked.top.name == TOP
        assert unpacked.ignored == ["README.md", "__MACOSX/", "other/"]
        assert sorted(p.name for p in unpacked.top.parent.iterdir()) == [TOP]


def test_two_top_directories_with_a_package_toml_are_ambiguous(tmp_path, scratch):
    entries = [MANIFEST_ENTRY, member("demo-2.0.0/package.toml")]
    with pytest.raises(AuditError, match="more than one top directory holds package.toml"):
        with open_package_archive(build(tmp_path / "two.cloacina", entries)):
            pass


def test_no_package_toml_in_any_top_directory(tmp_path, scratch):
    entries = [member(f"{TOP}/workflow/demo/__init__.py", b"")]
    with pytest.raises(AuditError, match="no top directory holds a package.toml"):
        with open_package_archive(build(tmp_path / "none.cloacina", entries)):
            pass


def _tar_c(tmp_path: Path, directory: Path, what: str) -> Path:
    import subprocess

    archive = tmp_path / "tarred.cloacina"
    subprocess.run(["tar", "-C", str(directory), "-cjf", str(archive), what], check=True)
    return archive


def _package_dir(root: Path) -> Path:
    (root / TOP / "workflow/demo").mkdir(parents=True)
    (root / TOP / "package.toml").write_text('[package]\nname = "demo"\nversion = "1.0.0"\n')
    (root / TOP / "workflow/demo/__init__.py").write_text("")
    return root


def test_tar_of_dot_slash_top_directory_is_accepted(tmp_path, scratch):
    """``tar -C parent ./demo-1.0.0`` writes ``./``-prefixed names; fidius accepts them."""
    archive = _tar_c(tmp_path, _package_dir(tmp_path / "src"), f"./{TOP}")
    with open_package_archive(archive) as top:
        assert top.name == TOP
        assert (top / "workflow/demo/__init__.py").is_file()
    assert list(scratch.iterdir()) == []


def test_tar_of_the_package_directory_itself_gets_a_clear_message(tmp_path, scratch):
    """``tar -C demo-1.0.0 .`` puts package.toml at the top: fidius finds no package directory."""
    archive = _tar_c(tmp_path, _package_dir(tmp_path / "src") / TOP, ".")
    with pytest.raises(AuditError, match=r"package.toml is at the top level of the archive "
                                         r"\(packed with `tar -C DIR .`\?\)"):
        with open_package_archive(archive):
            pass
    assert list(scratch.iterdir()) == []


def _raw_bz2(*blocks: bytes) -> bytes:
    import bz2

    return bz2.compress(b"".join(blocks) + bytes(1024))


def test_the_declared_size_limit_is_500_mib(tmp_path, scratch):
    """A header declaring 501 MiB is refused at the header; 500 MiB is what fidius allows."""
    big = tarfile.TarInfo(f"{TOP}/blob.bin")
    big.size = 501 * 1024 * 1024
    archive = tmp_path / "big.cloacina"
    archive.write_bytes(_raw_bz2(MANIFEST_ENTRY[0].tobuf(), MANIFEST_ENTRY[1].ljust(512, b"\0"),
                                 big.tobuf(tarfile.GNU_FORMAT)))
    with pytest.raises(AuditError, match=r"exceeds 524288000 bytes \(at 'demo-1.0.0/blob.bin'\)"):
        with open_package_archive(archive, max_ratio=0):
            pass
    assert list(scratch.iterdir()) == []


def test_the_declared_size_may_be_at_most_ten_times_the_archive(tmp_path, scratch):
    entries = [MANIFEST_ENTRY, member(f"{TOP}/zeros.bin", bytes(200_000))]
    archive = build(tmp_path / "ratio.cloacina", entries)
    size = archive.stat().st_size
    with pytest.raises(AuditError, match=rf"exceeds {10 * size} bytes, 10 times the archive's "
                                         rf"{size} bytes \(at 'demo-1.0.0/zeros.bin'\)"):
        with open_package_archive(archive):
            pass
    with open_package_archive(archive, max_ratio=0) as top:
        assert (top / "zeros.bin").stat().st_size == 200_000


def test_more_than_ten_thousand_entries_are_refused(tmp_path, scratch):
    entries = [MANIFEST_ENTRY] + [member(f"{TOP}/d/f{i}", b"") for i in range(10_000)]
    archive = build(tmp_path / "many.cloacina", entries)
    with pytest.raises(AuditError, match=r"more than 10000 entries \(at 'demo-1.0.0/d/f9999'\)"):
        with open_package_archive(archive):
            pass


def test_an_archive_over_the_upload_limit_is_refused_before_it_is_read(tmp_path, scratch):
    """cloacina-server's DefaultBodyLimit is 100 MiB of upload body: the compressed archive."""
    archive = tmp_path / "huge.cloacina"
    with archive.open("wb") as handle:
        handle.write(b"BZh9")
        handle.truncate(100 * 1024 * 1024 + 1)  # sparse: no 100 MiB written to disk
    with pytest.raises(AuditError, match=r"104857601 bytes, over the server's upload limit "
                                         r"of 104857600 bytes \(100 MiB\)"):
        with open_package_archive(archive):
            pass


@pytest.mark.parametrize("kind", [tarfile.XHDTYPE, tarfile.GNUTYPE_LONGNAME],
                         ids=["pax", "gnu-longname"])
def test_an_oversized_extended_header_is_refused_before_it_is_read(tmp_path, scratch, kind):
    header = tarfile.TarInfo("././@PaxHeader")
    header.type = kind
    header.size = 1 << 30  # the payload is never read: it is not even there
    archive = tmp_path / "pax.cloacina"
    archive.write_bytes(_raw_bz2(MANIFEST_ENTRY[0].tobuf(), MANIFEST_ENTRY[1].ljust(512, b"\0"),
                                 header.tobuf(tarfile.USTAR_FORMAT)))
    with pytest.raises(AuditError, match="an extended header of 1073741824 bytes"):
        with open_package_archive(archive):
            pass
    assert list(scratch.iterdir()) == []


def test_a_run_of_extended_headers_is_refused(tmp_path, scratch):
    record = b"30 comment=" + b"x" * 18 + b"\n"
    header = tarfile.TarInfo("././@PaxHeader")
    header.type = tarfile.XHDTYPE
    header.size = len(record)
    block = header.tobuf(tarfile.USTAR_FORMAT) + record.ljust(512, b"\0")
    archive = tmp_path / "run.cloacina"
    archive.write_bytes(_raw_bz2(block * 2000, MANIFEST_ENTRY[0].tobuf(),
                                 MANIFEST_ENTRY[1].ljust(512, b"\0")))
    with pytest.raises(AuditError, match="more than 8 extended headers in a row"):
        with open_package_archive(archive):
            pass


def test_tar_of_the_parent_directory_with_its_dot_entry_is_accepted(tmp_path, scratch):
    """``tar -C parent .`` starts with a ``./`` entry: the root, not an "empty path"."""
    archive = _tar_c(tmp_path, _package_dir(tmp_path / "src"), ".")
    with open_package_archive(archive) as top:
        assert top.name == TOP
        assert (top / "package.toml").is_file()
    assert list(scratch.iterdir()) == []
