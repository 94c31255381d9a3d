"""What cargo knows about a crate, without building it: ``cargo metadata``.

Resolved offline first (whatever the cargo home holds), ``--locked`` when there is
a Cargo.lock, never from the network. When the closure cannot be resolved (no
registry, nothing cached), ``--no-deps`` still gives the direct dependencies
with their kinds, and Cargo.lock, when there is one, the closure it records.
cargo metadata runs no build script and no proc macro.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from cloacina_audit.discover.config import read_toml
from cloacina_audit.errors import AuditError
from cloacina_audit.system.processes import ProcessTimeout, run

CARGO_TIMEOUT = 300.0


@dataclass(frozen=True)
class Dependency:
    name: str
    #: None (normal), "dev" or "build", as cargo says.
    kind: str | None
    features: tuple[str, ...] = ()
    uses_default_features: bool = True
    #: The key it is declared under when that is not its name (``engine = { package = "cloacina" }``).
    rename: str | None = None

    @property
    def key(self) -> str:
        """The name Cargo.toml declares it under, and the sources name it by (``-`` as ``_``)."""
        return self.rename or self.name


@dataclass
class Crate:
    name: str
    version: str
    manifest_path: Path
    #: The native library it links (``links`` in its manifest), if any.
    links: str | None = None
    dependencies: list[Dependency] = field(default_factory=list)
    features: dict[str, list[str]] = field(default_factory=dict)
    #: Features the resolve enabled (empty when unresolved).
    enabled_features: tuple[str, ...] = ()


@dataclass
class CrateGraph:
    root: Crate
    crates: dict[str, Crate]
    #: crate name -> [(dependency name, kinds)] as resolved for the host: only when resolved.
    edges: dict[str, list[tuple[str, frozenset[str | None]]]]
    #: True when cargo resolved the whole closure; else edges come from Cargo.lock (or are empty).
    resolved: bool
    #: Why the closure was not resolved, in cargo's words.
    unresolved_reason: str = ""
    #: Cargo.lock's closure: name -> dependency names (no kinds, no features).
    lock: dict[str, list[str]] = field(default_factory=dict)


def cargo_binary() -> str:
    return os.environ.get("CARGO", "cargo")


@contextmanager
def leaving_no_lock_file(root: Path) -> Iterator[None]:
    """cargo writes a Cargo.lock beside a manifest that has none: remove the one it wrote,
    so that the audited tree is left as it was found."""
    lock = root / "Cargo.lock"
    existed = lock.exists()
    try:
        yield
    finally:
        if not existed:
            lock.unlink(missing_ok=True)


def read_crate_graph(root: Path) -> CrateGraph:
    with leaving_no_lock_file(root):
        return _read_crate_graph(root)


def _read_crate_graph(root: Path) -> CrateGraph:
    manifest = root / "Cargo.toml"
    base = [cargo_binary(), "metadata", "--format-version", "1", "--manifest-path", str(manifest)]
    locked = ["--locked"] if (root / "Cargo.lock").is_file() else []
    full = _cargo([*base, "--offline", *locked], root)
    if full[0] == 0:
        return _graph(json.loads(full[1]), resolved=True, lock=_lock(root))
    reason = _first_error(full[2])
    shallow = _cargo([*base, "--no-deps", "--offline"], root)
    if shallow[0] == 0:
        graph = _graph(json.loads(shallow[1]), resolved=False, lock=_lock(root))
    else:
        # cargo cannot even load the manifests of path dependencies (a package copied
        # out of its workspace): the manifest's own tables still say what it depends on.
        reason = _first_error(shallow[2])
        graph = _manifest_graph(manifest, lock=_lock(root))
    graph.unresolved_reason = reason
    return graph


def _manifest_graph(manifest: Path, lock: dict[str, list[str]]) -> CrateGraph:
    document = read_toml(manifest)
    package = document.get("package")
    if not isinstance(package, dict) or not isinstance(package.get("name"), str):
        raise AuditError(f"{manifest}: no [package] name (a workspace root is not a package)")
    dependencies = []
    for table, kind in (("dependencies", None), ("dev-dependencies", "dev"),
                        ("build-dependencies", "build")):
        entries = document.get(table, {})
        for name, spec in (entries.items() if isinstance(entries, dict) else []):
            spec = spec if isinstance(spec, dict) else {}
            package_name = spec.get("package")
            real = package_name if isinstance(package_name, str) else name
            features = spec.get("features", [])
            dependencies.append(Dependency(
                real, kind, tuple(f for f in features if isinstance(f, str)) if isinstance(features, list) else (),
                spec.get("default-features", True) is not False,
                rename=name if real != name else None))
    features = document.get("features", {})
    version = package.get("version")
    root = Crate(
        name=package["name"], version=version if isinstance(version, str) else "",
        manifest_path=manifest, links=package.get("links") if isinstance(package.get("links"), str) else None,
        dependencies=dependencies,
        features={k: list(v) for k, v in features.items() if isinstance(v, list)} if isinstance(features, dict) else {},
    )
    return CrateGraph(root=root, crates={root.name: root}, edges={}, resolved=False, lock=lock)


def _cargo(command: list[str], cwd: Path) -> tuple[int, str, str]:
    try:
        completed = run(command, cwd=cwd, timeout=CARGO_TIMEOUT,
                        env={**os.environ, "CARGO_TERM_COLOR": "never"})
    except ProcessTimeout:
        raise AuditError(f"cargo metadata gave no result within {CARGO_TIMEOUT:g} s") from None
    except OSError as exc:
        raise AuditError(f"cannot run cargo ({command[0]}): {exc.strerror}") from None
    return completed.returncode, completed.stdout, completed.stderr


def _first_error(stderr: str) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    for line in lines:
        if line.startswith("error"):
            return line.removeprefix("error: ")
    return lines[-1] if lines else "no output"


def _graph(document: dict, *, resolved: bool, lock: dict[str, list[str]]) -> CrateGraph:
    by_id: dict[str, Crate] = {}
    for package in document["packages"]:
        by_id[package["id"]] = Crate(
            name=package["name"],
            version=package["version"],
            manifest_path=Path(package["manifest_path"]),
            links=package.get("links"),
            dependencies=[
                Dependency(d["name"], d.get("kind"), tuple(d.get("features", [])),
                           d.get("uses_default_features", True), rename=d.get("rename"))
                for d in package.get("dependencies", [])
            ],
            features={k: list(v) for k, v in package.get("features", {}).items()},
        )
    root_id = (document.get("resolve") or {}).get("root") or document["workspace_members"][0]
    edges: dict[str, list[tuple[str, frozenset[str | None]]]] = {}
    for node in (document.get("resolve") or {}).get("nodes", []):
        crate = by_id[node["id"]]
        crate.enabled_features = tuple(node.get("features", []))
        edges[crate.name] = sorted(
            (by_id[dep["pkg"]].name, frozenset(k.get("kind") for k in dep.get("dep_kinds", [])))
            for dep in node.get("deps", [])
        )
    crates = {crate.name: crate for crate in by_id.values()}
    return CrateGraph(root=by_id[root_id], crates=crates, edges=edges, resolved=resolved, lock=lock)


def _lock(root: Path) -> dict[str, list[str]]:
    path = root / "Cargo.lock"
    if not path.is_file():
        return {}
    packages = read_toml(path).get("package", [])
    return {
        p["name"]: sorted(d.split(" ")[0] for d in p.get("dependencies", []))
        for p in packages if isinstance(p, dict) and "name" in p
    }
