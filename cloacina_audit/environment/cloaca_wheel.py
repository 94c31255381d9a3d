"""What installing ``cloaca`` itself costs, measured from its wheel without installing it.

``cloaca``'s Linux wheel needs glibc 2.38, so it cannot be installed on many
hosts that still want to know its size. A wheel's RECORD lists every file it
installs with its size: read from the zip (nothing is extracted), it gives the
installed bytes, the file count and the native code (extension modules and the
shared libraries auditwheel bundles under ``<name>.libs/``).

The wheel for the target platform is fetched with ``pip download`` (or, when
the running Python has no pip, pip run by uv) into ``<cache>/wheels``, and
reused from there; without a cache, into a temporary directory.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import os
import re
import shutil
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import InvalidWheelFilename, parse_wheel_filename

from cloacina_audit.errors import AuditError
from cloacina_audit.model.report import DistributionFootprint
from cloacina_audit.system.processes import ProcessTimeout, run

CLOACA = "cloaca"
CLOACA_VERSION = "0.12.0"
DEFAULT_PLATFORM = "manylinux_2_38_x86_64"
DEFAULT_PYTHON = "3.11"

_NATIVE_FILE = re.compile(r"\.(so(\.\d+)*|pyd|dylib|dll)$")
_BUNDLED_LIBS_DIR = re.compile(r"^[^/]+\.(libs|dylibs)/|^[^/]+/\.dylibs/")
_DOWNLOAD_TIMEOUT = 600


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


# --- getting the wheel -----------------------------------------------------------------


def cloaca_footprint(
    wheel: Path | None = None,
    *,
    version: str = CLOACA_VERSION,
    platform: str = DEFAULT_PLATFORM,
    python_version: str = DEFAULT_PYTHON,
    cache_dir: Path | None = None,
) -> WheelMeasurement:
    """The cost of installing ``cloaca``: from a local wheel, or the cached/downloaded one.

    ``cache_dir`` is the cache root (the wheel is kept in its ``wheels/``); with
    None (``--no-cache``) the wheel is downloaded into a temporary directory
    and removed once measured.
    """
    if wheel is not None:
        if not Path(wheel).is_file():
            raise AuditError(f"{wheel}: no such wheel file")
        return measure_wheel(Path(wheel))
    if cache_dir is None:
        with tempfile.TemporaryDirectory(prefix="cloacina-audit-wheel-") as scratch:
            return measure_wheel(download_wheel(
                CLOACA, version, platform=platform, python_version=python_version,
                cache_dir=Path(scratch),
            ))
    return measure_wheel(download_wheel(
        CLOACA, version, platform=platform, python_version=python_version, cache_dir=cache_dir,
    ))


def download_wheel(
    project: str,
    version: str,
    *,
    cache_dir: Path,
    platform: str = DEFAULT_PLATFORM,
    python_version: str = DEFAULT_PYTHON,
) -> Path:
    """The wheel of ``project==version`` for ``platform``, from ``cache_dir/wheels`` or the index."""
    slot = Path(cache_dir) / "wheels" / f"{project}-{version}-{platform}-py{python_version}"
    cached = _wheel_in(slot)
    if cached is not None:
        return cached
    slot.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=slot.parent, prefix=".download-") as scratch:
        _pip_download(f"{project}=={version}", Path(scratch), platform, python_version)
        downloaded = _wheel_in(Path(scratch))
        if downloaded is None:
            raise AuditError(
                f"cannot download {project}=={version} for {platform}: pip saved no wheel"
            )
        slot.mkdir(exist_ok=True)
        final = slot / downloaded.name
        os.replace(downloaded, final)  # atomic: a concurrent run sees the whole wheel or none
    return final


def _wheel_in(directory: Path) -> Path | None:
    wheels = sorted(directory.glob("*.whl")) if directory.is_dir() else []
    return wheels[0] if wheels else None


def _pip_command() -> list[str]:
    if importlib.util.find_spec("pip") is not None:
        return [sys.executable, "-m", "pip"]
    uv = _uv_binary()
    if uv is None:
        raise AuditError(
            "cannot download wheels: neither pip nor uv is available; pass a wheel file"
        )
    return [uv, "tool", "run", "--from", "pip", "pip"]


def _uv_binary() -> str | None:
    try:
        from uv import find_uv_bin

        return find_uv_bin()
    except (ImportError, FileNotFoundError):
        return shutil.which("uv")


def _pip_download(requirement: str, destination: Path, platform: str, python_version: str) -> None:
    command = [
        *_pip_command(),
        "download",
        requirement,
        "--no-deps",
        "--only-binary=:all:",
        "--platform",
        platform,
        "--python-version",
        python_version,
        "--dest",
        str(destination),
        "--retries",
        "1",
        "--timeout",
        "30",
        "--disable-pip-version-check",
        "--no-cache-dir",  # the wheel is kept in our cache (or nowhere, with --no-cache)
        "--progress-bar",
        "off",
    ]
    try:
        completed = run(command, timeout=_DOWNLOAD_TIMEOUT)
    except ProcessTimeout:
        raise AuditError(
            f"cannot download {requirement}: no answer within {_DOWNLOAD_TIMEOUT} s"
        ) from None
    except OSError as exc:
        raise AuditError(f"cannot download {requirement}: {exc.strerror or exc}") from None
    if completed.returncode != 0:
        raise AuditError(
            f"cannot download {requirement} for {platform} / Python {python_version}: "
            + _pip_failure(completed.stderr)
        )


def _pip_failure(stderr: str) -> str:
    errors = [
        line[len("ERROR:") :].strip() for line in stderr.splitlines() if line.startswith("ERROR:")
    ]
    unreachable = any(
        marker in stderr
        for marker in (
            "NewConnectionError",
            "Max retries exceeded",
            "Could not fetch URL",
            "ConnectTimeout",
        )
    )
    if unreachable and (not errors or "(from versions: none)" in errors[0]):
        return "the package index cannot be reached"
    if errors and "(from versions: none)" in errors[0]:
        return f"{errors[-1]} (no such project, or the package index cannot be reached)"
    if errors:
        return errors[0]
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    return lines[-1] if lines else "pip failed without a message"
