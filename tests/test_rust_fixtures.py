"""The Rust fixtures build offline from their lock files, and the slim one is the smaller library."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from cloacina_audit.system import processes

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
DATA = Path(__file__).resolve().parent / "data"

pytestmark = pytest.mark.skipif(shutil.which("cargo") is None, reason="cargo is not installed")


def _build(name: str, target: Path) -> Path:
    done = processes.run(
        ["cargo", "build", "--release", "--lib", "--offline", "--locked", "--quiet",
         "--target-dir", str(target)],
        cwd=FIXTURES / name, timeout=600,
    )
    assert done.returncode == 0, done.stderr
    return target / "release" / "liborder_pipeline.so"


def _normal_closure(metadata: dict) -> set[str]:
    nodes = {node["id"]: node for node in metadata["resolve"]["nodes"]}
    names = {package["id"]: package["name"] for package in metadata["packages"]}
    seen: set[str] = set()
    todo = [metadata["resolve"]["root"]]
    while todo:
        for dep in nodes[todo.pop()]["deps"]:
            if any(kind["kind"] is None for kind in dep["dep_kinds"]) and dep["pkg"] not in seen:
                seen.add(dep["pkg"])
                todo.append(dep["pkg"])
    return {names[package] for package in seen}


def test_the_bloated_library_is_larger_than_the_slim_one(tmp_path: Path) -> None:
    bloated = _build("rust-bloated", tmp_path / "bloated").stat().st_size
    slim = _build("rust-slim", tmp_path / "slim").stat().st_size
    assert slim < bloated * 0.6, (slim, bloated)


def test_the_recorded_metadata_shows_the_slim_library_links_only_the_authoring_crate() -> None:
    slim = json.loads((DATA / "cargo-metadata-rust-slim.json").read_text())
    bloated = json.loads((DATA / "cargo-metadata-rust-bloated.json").read_text())
    assert _normal_closure(slim) == {"cloacina-workflow"}
    assert {"cloacina", "diesel", "deadpool", "libsqlite3-sys", "tokio", "libloading"} <= _normal_closure(bloated)
    links = {p["name"]: p["links"] for p in bloated["packages"] if p["links"]}
    assert links == {"libsqlite3-sys": "sqlite3"}
