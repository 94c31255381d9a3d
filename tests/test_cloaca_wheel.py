"""The cost of installing ``cloaca``, read from a wheel's RECORD without installing it."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from cloacina_audit.environment.cloaca_wheel import (
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
    assert measure_wheel(wheel).footprint.native_files == 3


def test_bad_inputs_are_one_line_errors(tmp_path: Path) -> None:
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
