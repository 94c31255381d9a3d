"""The cost of installing ``cloaca``, read from a wheel's RECORD without installing it."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest

from cloacina_audit.environment.cloaca_wheel import (
    _pip_failure,
    cloaca_footprint,
    download_wheel,
    is_native,
    measure_record,
    measure_wheel,
)
from cloacina_audit.errors import AuditError

FILES = {
    "cloaca/__init__.py": b"from .cloaca import *\n",
    "cloaca/cloaca.abi3.so": b"\x7fELF" + b"s" * 5000,
    "cloaca.libs/libpq-e6f752c5.so.5": b"p" * 1200,
    "cloaca.libs/libssl-a40e7b67.so.3": b"l" * 800,
    "cloaca-0.12.0.dist-info/METADATA": b"Metadata-Version: 2.4\nName: cloaca\nVersion: 0.12.0\n",
    "cloaca-0.12.0.dist-info/WHEEL": b"Wheel-Version: 1.0\n",
    "cloaca-0.12.0.data/scripts/cloaca-tool": b"#!python\n",
}


def fake_wheel(
    directory: Path,
    files: dict[str, bytes] = FILES,
    *,
    record: bool = True,
    name: str = "cloaca-0.12.0-cp39-abi3-manylinux_2_38_x86_64.whl",
) -> Path:
    path = directory / name
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as wheel:
        rows = []
        for member, data in files.items():
            wheel.writestr(member, data)
            rows.append(f"{member},sha256=x,{len(data)}")
        if record:
            rows.append("cloaca-0.12.0.dist-info/RECORD,,")
            wheel.writestr("cloaca-0.12.0.dist-info/RECORD", "\n".join(rows) + "\n")
    return path


def test_measure_a_wheel_from_its_record(tmp_path: Path) -> None:
    wheel = fake_wheel(tmp_path)
    measured = measure_wheel(wheel)
    fp = measured.footprint
    record_size = zipfile.ZipFile(wheel).getinfo("cloaca-0.12.0.dist-info/RECORD").file_size
    content = sum(len(d) for d in FILES.values())
    assert (fp.name, fp.version) == ("cloaca", "0.12.0")
    assert fp.files == len(FILES) + 1
    assert fp.bytes == content + record_size
    assert fp.native_files == 3
    assert fp.native_bytes == 5004 + 1200 + 800
    assert fp.outside_bytes == len(b"#!python\n")
    assert (measured.bundled_libraries, measured.bundled_library_bytes) == (2, 2000)
    assert measured.wheel_bytes == wheel.stat().st_size
    assert measured.requires_dist == ()


def test_nothing_is_extracted(tmp_path: Path) -> None:
    wheel = fake_wheel(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    measure_wheel(wheel)
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_requires_dist_is_reported(tmp_path: Path) -> None:
    files = dict(FILES)
    files["cloaca-0.12.0.dist-info/METADATA"] += b"Requires-Dist: pydantic>=2\n"
    assert measure_wheel(fake_wheel(tmp_path, files)).requires_dist == ("pydantic>=2",)


@pytest.mark.parametrize(
    ("path", "native"),
    [
        ("cloaca/cloaca.abi3.so", True),
        ("cloaca.libs/libpq-e6f752c5.so.5", True),
        ("numpy/.dylibs/libgfortran.5.dylib", True),
        ("x/_speedups.cp311-win_amd64.pyd", True),
        ("cloaca/__init__.py", False),
        ("cloaca/solve.py", False),
    ],
)
def test_native_files(path: str, native: bool) -> None:
    assert is_native(path) is native


def test_measure_record_is_pure() -> None:
    record = "a/__init__.py,sha256=x,10\na/_c.so,sha256=y,90\na-1.dist-info/RECORD,,\n"
    fp, libs, lib_bytes = measure_record("a", "1", record, {"a-1.dist-info/RECORD": 5})
    assert (fp.bytes, fp.files, fp.native_files, fp.native_bytes) == (105, 3, 1, 90)
    assert (libs, lib_bytes) == (0, 0)


def test_local_wheel_path(tmp_path: Path) -> None:
    wheel = fake_wheel(tmp_path)
    assert cloaca_footprint(wheel).footprint.native_files == 3


def test_bad_inputs_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(AuditError, match="no such wheel file"):
        cloaca_footprint(tmp_path / "missing.whl")
    junk = tmp_path / "cloaca-0.12.0-py3-none-any.whl"
    junk.write_bytes(b"not a zip")
    with pytest.raises(AuditError, match="cannot read the wheel"):
        measure_wheel(junk)
    with pytest.raises(AuditError, match="expected one .dist-info directory with a RECORD"):
        measure_wheel(
            fake_wheel(tmp_path / "", record=False, name="cloaca-0.12.0-py3-none-any.whl")
        )
    odd = tmp_path / "cloaca.whl"
    odd.write_bytes(b"")
    with pytest.raises(AuditError, match="not a wheel file name"):
        measure_wheel(odd)


def test_a_cached_wheel_is_used_without_the_network(tmp_path: Path) -> None:
    slot = tmp_path / "wheels" / "cloaca-0.12.0-manylinux_2_38_x86_64-py3.11"
    slot.mkdir(parents=True)
    wheel = fake_wheel(slot)
    found = download_wheel("cloaca", "0.12.0", cache_dir=tmp_path)
    assert found == wheel


def test_pip_failures_become_one_clear_reason() -> None:
    missing = (
        "ERROR: Could not find a version that satisfies the requirement cloaca==9.9.9 "
        "(from versions: 0.6.0, 0.12.0)\nERROR: No matching distribution found for cloaca==9.9.9\n"
    )
    assert _pip_failure(missing).startswith("Could not find a version that satisfies")
    offline = (
        "WARNING: Retrying ... NewConnectionError(...)\n"
        "ERROR: Could not find a version that satisfies the requirement cloaca==0.12.0 "
        "(from versions: none)\nERROR: No matching distribution found for cloaca==0.12.0\n"
    )
    assert _pip_failure(offline) == "the package index cannot be reached"


network = pytest.mark.skipif(
    os.environ.get("CLOACINA_AUDIT_NETWORK_TESTS") != "1",
    reason="set CLOACINA_AUDIT_NETWORK_TESTS=1 to download the real cloaca wheel",
)


@pytest.mark.network
@network
def test_real_cloaca_wheel(tmp_path: Path) -> None:
    measured = cloaca_footprint(cache_dir=tmp_path / "wheels")
    fp = measured.footprint
    print(
        f"\ncloaca {fp.version}: wheel {measured.wheel_bytes} B, installed {fp.bytes} B in "
        f"{fp.files} files, native {fp.native_files} files / {fp.native_bytes} B, "
        f"bundled libs {measured.bundled_libraries} / {measured.bundled_library_bytes} B"
    )
    assert measured.path.name == "cloaca-0.12.0-cp39-abi3-manylinux_2_38_x86_64.whl"
    assert 64.0e6 < fp.bytes < 64.8e6
    assert measured.bundled_libraries == 21
    assert 15.5e6 < measured.bundled_library_bytes < 16.3e6
    assert fp.native_bytes == measured.bundled_library_bytes + 47945025
    assert measured.requires_dist == ()
    # The second call is served from the cache.
    assert cloaca_footprint(cache_dir=tmp_path / "wheels").path == measured.path


@pytest.mark.network
@network
def test_no_such_version_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(AuditError, match=r"cannot download cloaca==999\.0\.0"):
        cloaca_footprint(version="999.0.0", cache_dir=tmp_path / "wheels")


def _local_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """pip finds the cloaca wheel in a local directory: no network, the real pip download."""
    links = tmp_path / "links"
    links.mkdir()
    fake_wheel(links)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(links))
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.delenv("CLOACINA_AUDIT_CACHE_DIR", raising=False)


def _written_under_home(tmp_path: Path) -> list[Path]:
    """Files below HOME, except the settings file this machine's rustup proxy writes
    whenever pip runs (outside this tool's control)."""
    home = tmp_path / "home"
    return [p for p in home.rglob("*") if p.is_file() and ".rustup" not in p.parts]


def test_without_a_cache_the_wheel_is_measured_and_nothing_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--no-cache (cache_dir None) used to download into ~/.cache/cloacina-audit/wheels."""
    _local_index(tmp_path, monkeypatch)
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(scratch))
    measured = cloaca_footprint(cache_dir=None)
    assert measured.footprint.native_files == 3
    assert _written_under_home(tmp_path) == []
    assert list(scratch.iterdir()) == []


def test_with_a_cache_dir_the_wheel_is_kept_in_its_wheels_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--cache-dir DIR used to put the wheel in DIR itself instead of DIR/wheels."""
    _local_index(tmp_path, monkeypatch)
    cache = tmp_path / "cache"
    measured = cloaca_footprint(cache_dir=cache)
    assert measured.path.parent.parent == cache / "wheels"
    assert cloaca_footprint(cache_dir=cache).path == measured.path
    assert _written_under_home(tmp_path) == []
