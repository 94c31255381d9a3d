"""What installing ``cloaca`` itself costs, measured from its wheel without installing it.

``cloaca``'s Linux wheel needs glibc 2.38, so it cannot be installed on many
hosts that still want to know its size. A wheel's RECORD lists every file it
installs with its size: read from the zip (nothing is extracted), it gives the
installed bytes, the file count and the native code (extension modules and the
shared libraries auditwheel bundles under ``<name>.libs/``).

The wheel is the one the user gives (``--cloaca-wheel``): nothing is downloaded.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import InvalidWheelFilename, parse_wheel_filename

from cloacina_audit.errors import AuditError
from cloacina_audit.model.report import DistributionFootprint

CLOACA = "cloaca"

_NATIVE_FILE = re.compile(r"\.(so(\.\d+)*|pyd|dylib|dll)$")
_BUNDLED_LIBS_DIR = re.compile(r"^[^/]+\.(libs|dylibs)/|^[^/]+/\.dylibs/")


@dataclass(frozen=True)
class WheelMeasurement:
    """A wheel's install cost, from its RECORD."""

    path: Path
    wheel_bytes: int
    footprint: DistributionFootprint
    #: Shared libraries bundled by auditwheel/delocate (``cloaca.libs/``).
    bundled_libraries: int
    bundled_library_bytes: int
    #: ``Requires-Dist`` lines of the wheel's METADATA.
    requires_dist: tuple[str, ...] = ()


# --- pure: RECORD -> figures ---------------------------------------------------------


def is_native(path: str) -> bool:
    return bool(_NATIVE_FILE.search(path)) or bool(_BUNDLED_LIBS_DIR.match(path))


def measure_record(
    name: str,
    version: str,
    record: str,
    sizes_in_zip: dict[str, int],
) -> tuple[DistributionFootprint, int, int]:
    """Figures from a RECORD's rows; ``sizes_in_zip`` fills rows without a size (RECORD itself).

    Returns the footprint, the number of bundled libraries and their bytes.
    """
    data_dir = f"{name}-{version}.data/"
    total = files = native_files = native_bytes = outside = libs = lib_bytes = 0
    for row in csv.reader(io.StringIO(record)):
        if not row or not row[0]:
            continue
        path = row[0]
        size_field = row[2] if len(row) > 2 else ""
        size = int(size_field) if size_field.isdigit() else sizes_in_zip.get(path, 0)
        files += 1
        total += size
        if is_native(path):
            native_files += 1
            native_bytes += size
        if _BUNDLED_LIBS_DIR.match(path):
            libs += 1
            lib_bytes += size
        if path.startswith(data_dir) and not path.startswith(
            (data_dir + "purelib/", data_dir + "platlib/")
        ):
            outside += size
    footprint = DistributionFootprint(
        name=name,
        version=version,
        bytes=total,
        files=files,
        native_files=native_files,
        native_bytes=native_bytes,
        outside_bytes=outside,
    )
    return footprint, libs, lib_bytes


# --- reading a wheel -----------------------------------------------------------------


def measure_wheel(path: Path) -> WheelMeasurement:
    """Read ``path``'s RECORD (and METADATA) from the zip; nothing is extracted."""
    path = Path(path)
    try:
        parsed_name, parsed_version, _, _ = parse_wheel_filename(path.name)
    except InvalidWheelFilename:
        raise AuditError(f"{path}: not a wheel file name (name-version-tags.whl)") from None
    try:
        with zipfile.ZipFile(path) as wheel:
            infos = {info.filename: info.file_size for info in wheel.infolist()}
            dist_info = _dist_info_dir(path, infos)
            record = wheel.read(f"{dist_info}/RECORD").decode("utf-8")
            metadata = (
                wheel.read(f"{dist_info}/METADATA").decode("utf-8", "replace")
                if (f"{dist_info}/METADATA" in infos)
                else ""
            )
    except (zipfile.BadZipFile, OSError, KeyError, UnicodeDecodeError) as exc:
        raise AuditError(f"{path}: cannot read the wheel: {exc}") from None
    name, version = dist_info.removesuffix(".dist-info").rsplit("-", 1)
    footprint, libs, lib_bytes = measure_record(name, version, record, infos)
    footprint.name = str(parsed_name)
    footprint.version = str(parsed_version)
    return WheelMeasurement(
        path=path,
        wheel_bytes=path.stat().st_size,
        footprint=footprint,
        bundled_libraries=libs,
        bundled_library_bytes=lib_bytes,
        requires_dist=tuple(
            line.split(":", 1)[1].strip()
            for line in metadata.splitlines()
            if line.startswith("Requires-Dist:")
        ),
    )


def _dist_info_dir(path: Path, names: dict[str, int]) -> str:
    candidates = {n.split("/")[0] for n in names if n.split("/")[0].endswith(".dist-info")}
    with_record = sorted(c for c in candidates if f"{c}/RECORD" in names)
    if len(with_record) != 1:
        raise AuditError(f"{path}: expected one .dist-info directory with a RECORD in the wheel")
    return with_record[0]
