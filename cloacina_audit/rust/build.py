"""Build a package's library as it ships: ``cargo build --release --lib``, in a target
directory of its own under the cache, keyed by everything that decides the build.

Offline (``--offline``, ``--locked`` with a Cargo.lock); the audited tree is never
written to (the target directory is elsewhere). A failed build is one line: cargo's
first error. Only footprint builds; check never compiles.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cloacina_audit.errors import AuditError
from cloacina_audit.rust.metadata import CrateGraph, cargo_binary, leaving_no_lock_file
from cloacina_audit.system.processes import ProcessTimeout, run

BUILD_TIMEOUT = 1800.0


@dataclass(frozen=True)
class BuiltLibrary:
    path: Path
    built_bytes: int
    stripped_bytes: int


@contextmanager
def built_library(root: Path, graph: CrateGraph, cache_dir: Path | None) -> Iterator[BuiltLibrary]:
    """The cdylib of the crate at ``root``, built (or reused) under ``cache_dir``."""
    if cache_dir is None:
        with tempfile.TemporaryDirectory(prefix="cloacina-audit-cargo-") as scratch:
            yield _build(root, Path(scratch))
        return
    target = Path(cache_dir) / "rust-targets" / build_key(root, graph)
    yield _build(root, target)


def build_key(root: Path, graph: CrateGraph) -> str:
    """Manifests, lock file and sources of the crate and of its path dependencies, and rustc."""
    digest = hashlib.sha256()
    digest.update(_rustc_version().encode())
    local = sorted({c.manifest_path.parent for c in graph.crates.values()
                    if _is_local(c.manifest_path)} | {root.resolve()})
    for directory in local:
        for path in sorted(directory.rglob("*")):
            if path.is_file() and "target" not in path.relative_to(directory).parts[:1] and \
                    (path.suffix in (".rs", ".toml", ".lock") or path.name == "build.rs"):
                digest.update(str(path.relative_to(directory.parent)).encode() + b"\0")
                digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:32]


def _is_local(manifest: Path) -> bool:
    return ".cargo/registry" not in manifest.as_posix() and ".cargo/git" not in manifest.as_posix()


def _rustc_version() -> str:
    completed = _cargo_run(["rustc", "-vV"], Path.cwd(), 60)
    return completed[1]


def _build(root: Path, target: Path) -> BuiltLibrary:
    locked = ["--locked"] if (root / "Cargo.lock").is_file() else []
    command = [cargo_binary(), "build", "--release", "--lib", "--offline", *locked,
               "--message-format", "json-render-diagnostics",
               "--manifest-path", str(root / "Cargo.toml")]
    with leaving_no_lock_file(root):
        code, stdout, stderr = _cargo_run(command, root, BUILD_TIMEOUT,
                                          env={"CARGO_TARGET_DIR": str(target)})
    if code != 0:
        raise AuditError(f"{root}: cargo build failed: {_first_error(stderr)}")
    library = _cdylib(stdout)
    if library is None:
        raise AuditError(f"{root}: the build made no cdylib (is [lib] crate-type = [\"cdylib\"] set?)")
    with tempfile.TemporaryDirectory(prefix="cloacina-audit-strip-") as scratch:
        stripped = Path(scratch) / library.name
        code, _, stderr = _cargo_run(["strip", "-o", str(stripped), str(library)], root, 120)
        if code != 0:
            raise AuditError(f"{library}: strip failed: {_first_error(stderr)}")
        stripped_bytes = stripped.stat().st_size
    return BuiltLibrary(path=library, built_bytes=library.stat().st_size,
                        stripped_bytes=stripped_bytes)


def _cdylib(messages: str) -> Path | None:
    found = None
    for line in messages.splitlines():
        try:
            message = json.loads(line)
        except json.JSONDecodeError:
            continue
        if message.get("reason") == "compiler-artifact" and "cdylib" in message.get("target", {}).get(
                "crate_types", []):
            found = next((Path(f) for f in message.get("filenames", [])
                          if f.endswith((".so", ".dylib", ".dll"))), found)
    return found


def _first_error(stderr: str) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    return next((line for line in lines if line.startswith("error")), lines[-1] if lines else "no output")


def _cargo_run(command: list[str], cwd: Path, timeout: float,
               env: dict[str, str] | None = None) -> tuple[int, str, str]:
    if shutil.which(command[0]) is None and not os.path.isabs(command[0]):
        raise AuditError(f"{command[0]} not found: install the Rust toolchain (cargo, rustc) and binutils")
    try:
        completed = run(command, cwd=cwd, timeout=timeout,
                        env={**os.environ, "CARGO_TERM_COLOR": "never", **(env or {})})
    except ProcessTimeout:
        raise AuditError(f"{' '.join(command[:2])} gave no result within {timeout:g} s") from None
    except OSError as exc:
        raise AuditError(f"cannot run {command[0]}: {exc.strerror}") from None
    return completed.returncode, completed.stdout, completed.stderr


