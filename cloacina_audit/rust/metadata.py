"""The crate graph of a Rust package, from ``cargo metadata`` (never a build).

``cargo metadata --format-version 1 --offline`` resolves the closure from what the cargo home
already holds (``--locked`` when a Cargo.lock is present). When that fails (no registry, no
cached crates: every real Cloacina example on an offline machine), ``--no-deps`` still gives
the package's direct dependencies with their kinds and features, and Cargo.lock (when present)
the names of the locked closure. :class:`CrateGraph` says which of the two was read.
"""
from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cloacina_audit.errors import AuditError
from cloacina_audit.system import processes

TIMEOUT = 120.0


@dataclass(frozen=True)
class Dependency:
    """One declared dependency of a package: ``kind`` is None (normal), "dev" or "build"."""

    name: str
    kind: str | None
    features: tuple[str, ...] = ()
    uses_default_features: bool = True
    optional: bool = False


@dataclass(frozen=True)
class CrateGraph:
    """What cargo told about a package: ``resolved`` False means the closure is not known."""

    root: str
    manifest: Path
    resolved: bool
    direct: tuple[Dependency, ...]
    closure: frozenset[str] = frozenset()
    links: dict[str, str] = field(default_factory=dict)
    features: dict[str, tuple[str, ...]] = field(default_factory=dict)
    limitation: str = ""


def read(crate_dir: Path) -> CrateGraph:
    """The crate graph of the package in ``crate_dir``; exit-2 errors when cargo cannot read it."""
    manifest = crate_dir / "Cargo.toml"
    locked = ["--locked"] if (crate_dir / "Cargo.lock").is_file() else []
    base = ["cargo", "metadata", "--format-version", "1", "--manifest-path", str(manifest)]
    try:
        done = processes.run([*base, "--offline", *locked], timeout=TIMEOUT, cwd=crate_dir)
        if done.returncode == 0:
            return from_metadata(json.loads(done.stdout), manifest)
        first = _first_error(done.stderr)
        fallback = processes.run([*base, "--offline", "--no-deps"], timeout=TIMEOUT, cwd=crate_dir)
    except FileNotFoundError:
        raise AuditError("cargo is not installed: a Rust package needs cargo to be read") from None
    except processes.ProcessTimeout as timeout:
        raise AuditError(str(timeout)) from None
    if fallback.returncode != 0:
        raise AuditError(f"{manifest}: cargo metadata failed: {_first_error(fallback.stderr)}")
    graph = from_metadata(json.loads(fallback.stdout), manifest)
    lock = crate_dir / "Cargo.lock"
    closure = _lock_names(lock) - {graph.root} if lock.is_file() else frozenset()
    checked = "direct dependencies and Cargo.lock's crates" if closure else "direct dependencies only"
    return CrateGraph(
        root=graph.root, manifest=manifest, resolved=False, direct=graph.direct,
        closure=frozenset(closure), links={}, features={},
        limitation=f"the closure could not be resolved offline ({first}); checked: {checked}",
    )


def from_metadata(data: dict[str, Any], manifest: Path) -> CrateGraph:
    """A :class:`CrateGraph` from ``cargo metadata`` output (resolved when it has ``resolve``)."""
    packages = {package["id"]: package for package in data["packages"]}
    wanted = str(manifest.resolve())
    root = next((p for p in packages.values() if str(Path(p["manifest_path"]).resolve()) == wanted),
                None) or next(iter(packages.values()))
    direct = tuple(sorted(
        (Dependency(d["name"], d["kind"], tuple(d.get("features", ())),
                    d.get("uses_default_features", True), d.get("optional", False))
         for d in root["dependencies"]),
        key=lambda d: (d.name, d.kind or ""),
    ))
    resolve = data.get("resolve")
    if not resolve:
        return CrateGraph(root=root["name"], manifest=manifest, resolved=False, direct=direct)
    nodes = {node["id"]: node for node in resolve["nodes"]}
    seen: set[str] = set()
    todo = [root["id"]]
    while todo:
        for dep in nodes[todo.pop()]["deps"]:
            normal = any(kind["kind"] is None for kind in dep["dep_kinds"])
            if normal and dep["pkg"] not in seen:
                seen.add(dep["pkg"])
                todo.append(dep["pkg"])
    return CrateGraph(
        root=root["name"], manifest=manifest, resolved=True, direct=direct,
        closure=frozenset(packages[p]["name"] for p in seen),
        links={packages[p]["name"]: packages[p]["links"] for p in seen if packages[p].get("links")},
        features={packages[p]["name"]: tuple(sorted(nodes[p].get("features", ()))) for p in seen},
    )


def _lock_names(lock: Path) -> set[str]:
    try:
        data = tomllib.loads(lock.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise AuditError(f"{lock}: not a readable Cargo.lock ({error})") from None
    return {str(package.get("name")) for package in data.get("package", [])}


def _first_error(stderr: str) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    return next((line for line in lines if line.startswith("error")), lines[0] if lines else "no output")
