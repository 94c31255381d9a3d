"""Footprint of a Cloacina package (package.toml + workflow/ [+ vendor/]): what it ships.

Such a package is not pip-installed: the server unpacks its ``.cloacina`` archive
and puts workflow/ and vendor/ on sys.path. What it costs is therefore the archive
(a directory is packed here the way ``cloacinactl package pack`` packs it, see
:mod:`cloacina_audit.analysis.footprint.packing`), the files in it, and each distribution vendored
under vendor/, grouped by its ``.dist-info`` (name and version from METADATA, files
from RECORD).

``cloaca`` is never in a package: the server injects its own module before the
import (``ensure_cloaca_module``, crates/cloacina-python/src/loader.rs). It is shown
apart as provided by the host, and counted nowhere; its version is the server's,
known only from a wheel given with ``--cloaca-wheel``.
"""

from __future__ import annotations

import ast
import csv
import io
import posixpath
from collections.abc import Iterable
from dataclasses import dataclass, field
from email.parser import HeaderParser
from pathlib import Path

from cloacina_audit.analysis.footprint.packing import ArchiveMember, collect_members, pack_package
from cloacina_audit.discover.target import Target
from cloacina_audit.environment.cloaca_wheel import CLOACA, is_native, measure_wheel
from cloacina_audit.model.names import canonical_name
from cloacina_audit.model.report import DistributionFootprint, Footprint, HostProvided

NOT_PROBED = (
    "a Cloacina package is imported by the Cloacina server, which provides the cloaca "
    "module itself; it cannot be imported here"
)
VENDOR = "vendor/"
#: The version shown for vendored code that has no ``.dist-info``.
UNKNOWN_VERSION = "unknown"


def measure_package_footprint(target: Target, *, cloaca_wheel: Path | None = None) -> Footprint:
    assert target.tree is not None and target.manifest is not None
    root = target.tree.root
    if target.archive_bytes is None:
        packed = pack_package(root)
        members, archive_bytes = list(packed.members), packed.compressed_bytes
        source = (
            f"the files of {packed.top_dir}.cloacina as `cloacinactl package pack` packs them"
            + (" (a staged copy with the resolved manifest)" if packed.staged else "")
        )
    else:
        members, archive_bytes = collect_members(root, staged=None), target.archive_bytes
        source = f"the files of {Path(target.spec).name} as the server unpacks them"
    own = [m for m in members if not m.path.startswith(VENDOR)]
    package = _row(target.manifest.name or target.name, target.manifest.version or "", own)
    rows = vendored_distributions([m for m in members if m.path.startswith(VENDOR)])
    return Footprint(
        distributions=len(rows),
        install_bytes=sum(m.size for m in members),
        native_files=sum(1 for m in members if _native(m)),
        native_bytes=sum(m.size for m in members if _native(m)),
        pyc_bytes=sum(m.size for m in members if m.path.endswith(".pyc")),
        by_distribution=rows,
        package=package,
        environment=source,
        archive_bytes=archive_bytes,
        archive_files=len(members),
        archive_packed=target.archive_bytes is None,
        import_not_probed=NOT_PROBED,
        host_provided=(
            [host_cloaca(cloaca_wheel)]
            if _imports_top_level([m for m in own if m.path.startswith("workflow/")], CLOACA)
            else []
        ),
    )


def host_cloaca(wheel: Path | None) -> HostProvided:
    """``cloaca`` as the host provides it: measured from ``wheel`` when one is given."""
    if wheel is None:
        return HostProvided(
            name=CLOACA,
            version=None,
            source="the Cloacina server's own module; its version is the server's "
            "(give --cloaca-wheel to measure one)",
        )
    measured = measure_wheel(wheel)
    return HostProvided(
        name=CLOACA,
        version=measured.footprint.version,
        source=f"measured from {Path(wheel).name}",
        footprint=measured.footprint,
    )


# --- vendor/: one row per distribution ----------------------------------------------------


@dataclass
class _Vendored:
    name: str
    version: str
    requires: list[str] = field(default_factory=list)
    requested: bool = False
    members: list[ArchiveMember] = field(default_factory=list)


def vendored_distributions(members: list[ArchiveMember]) -> list[DistributionFootprint]:
    """Rows for the files under vendor/: one per ``.dist-info``, then loose top-level names.

    A file belongs to the distribution whose RECORD lists it (``pip install
    --target`` records scripts as ``../../bin/x``: they land in vendor/bin/x), or
    else to the one that owns its top-level directory. Vendored code without
    metadata becomes a row named after its top-level module, version ``unknown``.
    """
    by_path = {m.path[len(VENDOR):]: m for m in members}
    dists: dict[str, _Vendored] = {}
    owner: dict[str, str] = {}
    for info_dir in sorted({p.split("/")[0] for p in by_path if _is_dist_info(p.split("/")[0])}):
        dist = _read_dist_info(info_dir, by_path)
        key = canonical_name(dist.name)
        if key in dists:  # two .dist-info of one name: keep them apart
            key = info_dir
        dists[key] = dist
        for path in by_path:
            if path.startswith(info_dir + "/"):
                owner[path] = key
        for path in _record_paths(info_dir, by_path):
            owner.setdefault(path, key)
    top_owners: dict[str, set[str]] = {}
    for path, key in owner.items():
        top_owners.setdefault(path.split("/")[0], set()).add(key)
    for path, member in by_path.items():
        owned = owner.get(path)
        if owned is not None:
            key = owned
        else:
            top = path.split("/")[0]
            claimed = top_owners.get(top, set())
            if len(claimed) == 1:
                key = next(iter(claimed))
            else:
                name = _loose_name(path)
                key = f"loose:{name}"
                dists.setdefault(key, _Vendored(name, UNKNOWN_VERSION, requested=True))
        dists[key].members.append(member)
    return _rows(dists)


def _rows(dists: dict[str, _Vendored]) -> list[DistributionFootprint]:
    """Rows in name order; direct ones (pip's REQUESTED, else required by no other) get
    ``unique_bytes``: what would leave vendor/ with them."""
    names = {canonical_name(d.name): key for key, d in dists.items()}
    edges = {
        key: {names[r] for r in d.requires if r in names and names[r] != key}
        for key, d in dists.items()
    }
    if any(d.requested for d in dists.values() if d.version != UNKNOWN_VERSION):
        direct = {key for key, d in dists.items() if d.requested}
    else:
        required = set().union(*edges.values()) if edges else set()
        direct = {key for key in dists if key not in required}
    size = {key: sum(m.size for m in d.members) for key, d in dists.items()}
    everything = _reachable(direct, edges)
    rows = []
    by_name = sorted(dists.items(), key=lambda item: (canonical_name(item[1].name), item[0]))
    for key, dist in by_name:
        row = _row(dist.name, dist.version, dist.members)
        if key in direct:
            row.direct = True
            without = _reachable(direct - {key}, edges, blocked=key)
            row.unique_bytes = sum(size[k] for k in everything - without)
        rows.append(row)
    return rows


def _reachable(
    start: Iterable[str], edges: dict[str, set[str]], blocked: str | None = None
) -> set[str]:
    seen: set[str] = set()
    pending = [k for k in start if k != blocked]
    while pending:
        key = pending.pop()
        if key in seen:
            continue
        seen.add(key)
        pending += [k for k in edges.get(key, ()) if k != blocked]
    return seen


def _is_dist_info(name: str) -> bool:
    return name.endswith(".dist-info")


def _read_dist_info(info_dir: str, by_path: dict[str, ArchiveMember]) -> _Vendored:
    stem = info_dir[: -len(".dist-info")]
    fallback_name, _, fallback_version = stem.partition("-")
    metadata = by_path.get(f"{info_dir}/METADATA")
    headers = HeaderParser().parsestr(_text(metadata)) if metadata else None
    name = (headers.get("Name") if headers else None) or fallback_name
    version = (headers.get("Version") if headers else None) or fallback_version or UNKNOWN_VERSION
    requires = [
        r for line in (headers.get_all("Requires-Dist") or [] if headers else [])
        if (r := _required_name(line))
    ]
    return _Vendored(
        name=str(name).strip(),
        version=str(version).strip(),
        requires=requires,
        requested=f"{info_dir}/REQUESTED" in by_path,
    )


def _required_name(line: str) -> str | None:
    """The canonical name a Requires-Dist line needs unconditionally (no extra), else None."""
    # Imported here: only vendored packages need it, and check must start fast.
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        requirement = Requirement(line)
    except InvalidRequirement:
        return None
    if requirement.marker is not None:
        try:
            if not requirement.marker.evaluate({"extra": ""}):
                return None
        except Exception:  # an unknown marker variable: keep the edge
            pass
    return canonical_name(requirement.name)


def _record_paths(info_dir: str, by_path: dict[str, ArchiveMember]) -> list[str]:
    record = by_path.get(f"{info_dir}/RECORD")
    if record is None:
        return []
    found = []
    for row in csv.reader(io.StringIO(_text(record))):
        if not row or not row[0]:
            continue
        path = posixpath.normpath(row[0].replace("\\", "/"))
        while path.startswith("../"):  # outside purelib: scripts of a --target install
            path = path[3:]
        if path in by_path:
            found.append(path)
    return found


def _loose_name(path: str) -> str:
    """The import name a loose vendored file belongs to: ``tinylib`` for tinylib/x.py."""
    parts = path.split("/")
    if parts[0] == "__pycache__" and len(parts) > 1:
        return parts[1].split(".")[0]
    return parts[0] if len(parts) > 1 else parts[0].split(".")[0]


def _text(member: ArchiveMember) -> str:
    return member.read().decode("utf-8", "replace")


# --- figures -------------------------------------------------------------------------------


def _row(name: str, version: str, members: list[ArchiveMember]) -> DistributionFootprint:
    native = [m for m in members if _native(m)]
    return DistributionFootprint(
        name=name,
        version=version,
        bytes=sum(m.size for m in members),
        files=len(members),
        native_files=len(native),
        native_bytes=sum(m.size for m in native),
        pyc_bytes=sum(m.size for m in members if m.path.endswith(".pyc")),
    )


def _native(member: ArchiveMember) -> bool:
    # vendor/ is a site-packages of its own: bundled ``<name>.libs/`` sit at its top.
    return is_native(member.path.removeprefix(VENDOR))


def _imports_top_level(members: list[ArchiveMember], name: str) -> bool:
    """Whether any of the package's own modules imports ``name`` (read, not executed)."""
    for member in members:
        if not member.path.endswith(".py"):
            continue
        try:
            tree = ast.parse(member.read())
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
