"""Footprint of a Cloacina package (package.toml + workflow/ [+ vendor/]).

Such a package is not pip-installed: the server unpacks it and puts workflow/
and vendor/ on sys.path. Its cost is therefore the files it ships (the archive,
the workflow sources, each vendored top-level package with its native files)
plus, when it is written against ``cloaca``, what installing ``cloaca`` costs,
read from the wheel's RECORD for the server's platform rather than installed
(its Linux wheel needs glibc 2.38).
"""

from __future__ import annotations

import ast
import os
from pathlib import Path

from .cloaca_wheel import CLOACA, cloaca_footprint, is_native
from .discover import Target
from .models import DistributionFootprint, Footprint

NOT_PROBED = (
    "a Cloacina package is imported by the cloaca server, which is measured from its "
    "wheel here, not installed"
)


def measure_package_footprint(
    target: Target, *, cache_dir: Path | None, cloaca_wheel: Path | None = None
) -> Footprint:
    assert target.tree is not None and target.manifest is not None
    root = target.tree.root
    shipped = [root / "workflow", root / "package.toml"]
    package = _measure_files(target.name, target.manifest.version or "", shipped, root)
    vendor = root / "vendor"
    rows = [
        _measure_files(name, "vendored", [vendor / entry], vendor)
        for name, entry in _vendor_entries(vendor)
    ]
    uses_cloaca = _imports_top_level(root / "workflow", CLOACA)
    if uses_cloaca:
        cloaca = cloaca_footprint(cloaca_wheel, cache_dir=cache_dir).footprint
        cloaca.direct = True
        cloaca.unique_bytes = cloaca.bytes
        rows.append(cloaca)
    measured = [package, *rows]
    source = f"Cloacina package {target.spec}"
    if target.archive_bytes is not None:
        source += f" (.cloacina archive of {target.archive_bytes} bytes)"
    if uses_cloaca:
        source += "; cloaca measured from its wheel's RECORD, not installed"
    return Footprint(
        distributions=len(rows),
        install_bytes=sum(d.bytes or 0 for d in measured),
        native_files=sum(d.native_files for d in measured),
        native_bytes=sum(d.native_bytes for d in measured),
        by_distribution=rows,
        package=package,
        environment=source,
        archive_bytes=target.archive_bytes,
        import_not_probed=NOT_PROBED,
    )


def _vendor_entries(vendor: Path) -> list[tuple[str, str]]:
    if not vendor.is_dir():
        return []
    return sorted(
        (entry.name.split(".")[0], entry.name)
        for entry in vendor.iterdir()
        if entry.name != "__pycache__" and not entry.name.startswith(".")
    )


def _measure_files(
    name: str, version: str, paths: list[Path], base: Path
) -> DistributionFootprint:
    total = files = native_files = native_bytes = 0
    for path in paths:
        for file in _files(path):
            size = file.stat().st_size
            total += size
            files += 1
            if is_native(file.relative_to(base).as_posix()):
                native_files += 1
                native_bytes += size
    return DistributionFootprint(
        name=name,
        version=version,
        bytes=total,
        files=files,
        native_files=native_files,
        native_bytes=native_bytes,
    )


def _files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    found = []
    for dirpath, dirnames, filenames in os.walk(path):
        dirnames[:] = [d for d in dirnames if d != "__pycache__"]
        found += [Path(dirpath, f) for f in filenames if not Path(dirpath, f).is_symlink()]
    return found


def _imports_top_level(directory: Path, name: str) -> bool:
    """Whether any module below ``directory`` imports ``name`` (read, not executed)."""
    for file in _files(directory):
        if file.suffix != ".py":
            continue
        try:
            tree = ast.parse(file.read_bytes())
        except (SyntaxError, ValueError):
            continue  # check reports syntax errors; the footprint does not depend on them
        for node in ast.walk(tree):
            if isinstance(node, ast.Import) and any(
                alias.name.split(".")[0] == name for alias in node.names
            ):
                return True
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and (
                node.module.split(".")[0] == name
            ):
                return True
    return False
