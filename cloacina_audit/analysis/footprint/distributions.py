"""What a package's runtime closure costs on disk, read from installed metadata.

Nothing here runs code of the measured environment: distributions are found
with ``importlib.metadata`` on the environment's site-packages, requirements
are evaluated with ``packaging`` against the environment's marker values, and
sizes come from ``stat`` over the files each RECORD lists (``record.py``:
apparent sizes, once per inode, bytecode included). A file two distributions
share counts once in a closure's total, classified as the package's, else as
the first dependency's in name order.

Why not pipdeptree's ``-c size,unique-deps-size`` (4.2.14, a Rust engine whose
Python API only returns rendered text)? Checked against real environments:
it sums RECORD entries without inode de-duplication (a hard-linked file counts
twice), misses the ``.pyc`` files uv compiles (for ``six`` 38 kB of 85 kB), gives
an editable install a size of a few hundred bytes instead of "unmeasured",
splits out neither native nor script bytes, and its ``unique_deps_size`` is
relative to the whole environment (dependencies no other installed package
needs) rather than to the audited package's closure.
"""

from __future__ import annotations

import csv
import importlib.metadata
import io
import json
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from packaging.markers import UndefinedComparison, UndefinedEnvironmentName
from packaging.requirements import InvalidRequirement, Requirement

from cloacina_audit.analysis.footprint.record import NATIVE_SUFFIXES, DiskFile, Inode, record_files
from cloacina_audit.errors import AuditError
from cloacina_audit.model.core_metadata import metadata_headers
from cloacina_audit.model.names import canonical_name
from cloacina_audit.model.report import DistributionFootprint, Footprint

EDITABLE = "editable install (its files live in the source tree)"
NO_RECORD = "no RECORD file (installed by a tool that does not list its files)"
NOT_INSTALLED = "required but not installed"


@dataclass(frozen=True)
class InstalledDistribution:
    name: str
    """Canonical name."""
    display_name: str
    version: str
    distribution: importlib.metadata.Distribution = field(compare=False, repr=False)
    site_dir: Path
    #: Its METADATA's Requires-Dist lines (empty: none, or an egg-info's requires.txt has them).
    requires_dist: tuple[str, ...] = field(default=(), compare=False, repr=False)

    def requirements(self) -> list[Requirement]:
        lines: Iterable[str] = self.requires_dist
        if not lines and self.distribution.read_text("requires.txt") is not None:
            lines = self.distribution.requires or []  # an egg-info's, as Requires-Dist lines
        return _parse_requirements(lines)


@dataclass
class Closure:
    """The distributions a root needs at run time, as a graph of canonical names."""

    root: str
    direct: list[str]
    #: Every distribution reachable from the root, the root excluded, in name order.
    members: list[str]
    edges: dict[str, set[str]]

    def reachable(self, starts: Iterable[str]) -> set[str]:
        seen: set[str] = set()
        pending = [s for s in starts if s != self.root]
        while pending:
            name = pending.pop()
            if name in seen:
                continue
            seen.add(name)
            pending += [d for d in self.edges.get(name, ()) if d != self.root and d not in seen]
        return seen


def installed_distributions(site_packages: Iterable[Path]) -> dict[str, InstalledDistribution]:
    """Distributions by canonical name; where one is installed twice the first path wins."""
    found: dict[str, InstalledDistribution] = {}
    for site in site_packages:
        if not Path(site).is_dir():
            continue
        for dist in importlib.metadata.distributions(path=[str(site)]):
            headers = metadata_headers(dist.read_text("METADATA") or dist.read_text("PKG-INFO"))
            raw_name = next(iter(headers.get("name", ())), "")
            if not raw_name:
                continue
            name = canonical_name(raw_name)
            if name not in found:
                found[name] = InstalledDistribution(
                    name=name,
                    display_name=raw_name,
                    version=next(iter(headers.get("version", ())), ""),
                    distribution=dist,
                    site_dir=Path(site),
                    requires_dist=tuple(headers.get("requires-dist", ())),
                )
    return found


def resolve_closure(
    root: str,
    root_requirements: list[Requirement],
    installed: Mapping[str, InstalledDistribution],
    markers: Mapping[str, str],
    root_extras: Iterable[str] = (),
) -> Closure:
    """Follow Requires-Dist from the root, markers and extras evaluated for ``markers``."""
    root = canonical_name(root)
    requested: dict[str, set[str]] = {}
    edges: dict[str, set[str]] = {}
    pending: deque[str] = deque()

    def want(name: str, extras: Iterable[str]) -> None:
        extras = {canonical_name(e) for e in extras}
        known = requested.get(name)
        if known is None or not extras <= known:
            requested.setdefault(name, set()).update(extras)
            pending.append(name)

    direct = _applicable(root_requirements, {canonical_name(e) for e in root_extras}, markers)
    edges[root] = {canonical_name(r.name) for r in direct}
    for requirement in direct:
        want(canonical_name(requirement.name), requirement.extras)
    while pending:
        name = pending.popleft()
        dist = installed.get(name)
        if name == root or dist is None:
            continue
        for requirement in _applicable(dist.requirements(), requested[name], markers):
            dependency = canonical_name(requirement.name)
            edges.setdefault(name, set()).add(dependency)
            want(dependency, requirement.extras)
    members = sorted(n for n in requested if n != root)
    return Closure(root=root, direct=sorted(edges[root] - {root}), members=members, edges=edges)


def _applicable(
    requirements: list[Requirement], extras: set[str], markers: Mapping[str, str]
) -> list[Requirement]:
    kept = []
    for requirement in requirements:
        if requirement.marker is None:
            kept.append(requirement)
            continue
        for extra in ("", *sorted(extras)):
            try:
                if requirement.marker.evaluate({**markers, "extra": extra}):
                    kept.append(requirement)
                    break
            except (UndefinedComparison, UndefinedEnvironmentName):
                break
    return kept


def _parse_requirements(lines: Iterable[str]) -> list[Requirement]:
    parsed = []
    for line in lines:
        try:
            parsed.append(Requirement(line))
        except InvalidRequirement:
            continue  # one broken metadata line must not hide the rest of the closure
    return parsed


def measure_distribution(
    dist: InstalledDistribution,
) -> tuple[DistributionFootprint, dict[Inode, DiskFile]]:
    """One distribution's files on disk, and the files themselves keyed by inode."""
    footprint = DistributionFootprint(
        name=dist.display_name, version=dist.version, bytes=None, files=None
    )
    if _is_editable(dist.distribution):
        footprint.unmeasured = EDITABLE
        return footprint, {}
    record = dist.distribution.read_text("RECORD")
    if record is None:
        footprint.unmeasured = NO_RECORD
        return footprint, {}
    files = record_files(record, dist.site_dir)
    footprint.bytes = sum(f.size for f in files.values())
    footprint.files = len(files)
    footprint.native_files = sum(1 for f in files.values() if f.native)
    footprint.native_bytes = sum(f.size for f in files.values() if f.native)
    footprint.pyc_bytes = sum(f.size for f in files.values() if f.pyc)
    footprint.outside_bytes = sum(f.size for f in files.values() if f.outside)
    return footprint, files


def _is_editable(dist: importlib.metadata.Distribution) -> bool:
    text = dist.read_text("direct_url.json")
    if not text:
        return False
    try:
        return bool(json.loads(text).get("dir_info", {}).get("editable"))
    except (ValueError, AttributeError):
        return False


def measure_closure(
    installed: Mapping[str, InstalledDistribution],
    root: str,
    markers: Mapping[str, str],
    *,
    root_extras: Iterable[str] = (),
    root_requirements: list[Requirement] | None = None,
    root_unmeasured: str | None = None,
) -> Footprint:
    """The footprint of ``root``'s runtime closure: distributions and bytes, no import probe.

    ``root_requirements`` stands in for the root's metadata when the root is not
    installed (a project measured in an environment that lacks it); the root is
    then reported unmeasured with ``root_unmeasured`` as the reason.
    """
    root = canonical_name(root)
    root_dist = installed.get(root)
    if root_dist is None and root_requirements is None:
        raise AuditError(f"{root} is not installed in the environment being measured")
    requirements = root_dist.requirements() if root_dist else list(root_requirements or [])
    closure = resolve_closure(root, requirements, installed, markers, root_extras)

    if root_dist is not None:
        package, package_files = measure_distribution(root_dist)
    else:
        package = DistributionFootprint(
            name=root, version="", bytes=None, files=None, unmeasured=root_unmeasured or NOT_INSTALLED
        )
        package_files = {}
    members: list[DistributionFootprint] = []
    files_by_member: dict[str, dict[Inode, DiskFile]] = {}
    for name in closure.members:
        dist = installed.get(name)
        if dist is None:
            footprint = DistributionFootprint(
                name=name, version="", bytes=None, files=None, unmeasured=NOT_INSTALLED
            )
            files: dict[Inode, DiskFile] = {}
        else:
            footprint, files = measure_distribution(dist)
        footprint.direct = name in closure.direct
        members.append(footprint)
        files_by_member[name] = files

    _set_unique_bytes(closure, members)
    every_file: dict[Inode, DiskFile] = dict(package_files)
    for files in files_by_member.values():
        for inode, file in files.items():
            every_file.setdefault(inode, file)
    return Footprint(
        distributions=len(members),
        install_bytes=sum(f.size for f in every_file.values()),
        native_files=sum(1 for f in every_file.values() if f.native),
        native_bytes=sum(f.size for f in every_file.values() if f.native),
        by_distribution=members,
        pyc_bytes=sum(f.size for f in every_file.values() if f.pyc),
        outside_bytes=sum(f.size for f in every_file.values() if f.outside),
        package=package,
        requires={
            name: sorted(d for d in closure.edges.get(name, ()) if d != name)
            for name in [root, *closure.members]
        },
        import_owners={
            top: name
            for name in [*reversed(closure.members), root]
            if (dist := installed.get(name)) is not None
            for top in import_names(dist)
        },
    )


def _set_unique_bytes(closure: Closure, members: list[DistributionFootprint]) -> None:
    """For each direct dependency: the bytes that leave the closure when it is dropped."""
    by_name = {canonical_name(m.name): m for m in members}
    everything = closure.reachable(closure.direct)
    for name in closure.direct:
        member = by_name.get(name)
        if member is None:
            continue
        others = [d for d in closure.direct if d != name]
        leaving = everything - closure.reachable(others)
        sizes = [by_name[n].bytes for n in leaving if n in by_name]
        member.unique_bytes = None if any(s is None for s in sizes) else sum(s or 0 for s in sizes)


def measure_installed(
    installed: Mapping[str, InstalledDistribution],
) -> list[DistributionFootprint]:
    """Every installed distribution measured on its own (for whole-environment views)."""
    return [measure_distribution(dist)[0] for _, dist in sorted(installed.items())]


def import_names(dist: InstalledDistribution) -> list[str]:
    """The top-level names a distribution makes importable, from its metadata (no import).

    In order of trust: ``Import-Name`` (PEP 794, public names only), ``top_level.txt``,
    then the packages (``__init__.py``, namespace parents skipped) and modules its RECORD installs.
    """
    declared = [
        value.split(";")[0].strip()
        for value in dist.distribution.metadata.get_all("Import-Name") or []
        if "private" not in value.partition(";")[2]
    ]
    if declared:
        return _outermost(declared)
    top_level = dist.distribution.read_text("top_level.txt")
    if top_level:
        names = [line.strip().replace("/", ".") for line in top_level.splitlines() if line.strip()]
        return _public_first(sorted(set(names)))
    record = dist.distribution.read_text("RECORD") or ""
    return _public_first(_record_import_names(row[0] for row in csv.reader(io.StringIO(record)) if row))


def _record_import_names(paths: Iterable[str]) -> list[str]:
    package_dirs: set[tuple[str, ...]] = set()
    modules: set[str] = set()
    for path in paths:
        parts = tuple(p for p in path.replace("\\", "/").split("/") if p)
        if not parts or parts[0] == ".." or parts[0].endswith((".dist-info", ".data")):
            continue
        if len(parts) == 1:
            name, _, suffix = parts[0].partition(".")
            if suffix == "py" or suffix.endswith(NATIVE_SUFFIXES):
                modules.add(name)
        elif parts[-1] == "__init__.py":
            package_dirs.add(parts[:-1])
    outermost = {
        d for d in package_dirs if not any(d[:k] in package_dirs for k in range(1, len(d)))
    }
    return sorted(modules | {".".join(d) for d in outermost})


def _outermost(names: list[str]) -> list[str]:
    unique = set(names)
    return sorted(
        n for n in unique if not any(".".join(n.split(".")[:k]) in unique for k in range(1, n.count(".") + 1))
    )


def _public_first(names: list[str]) -> list[str]:
    """Private top-level names (``_cffi_backend``) only when there is nothing else."""
    public = [n for n in names if not n.startswith("_")]
    return public or names
