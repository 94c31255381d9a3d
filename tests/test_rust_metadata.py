"""cargo metadata: the resolved closure from recorded output, and the offline --no-deps fallback."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from cloacina_audit.rust import metadata
from tests.conftest import write_tree

DATA = Path(__file__).resolve().parent / "data"


def _recorded(name: str) -> metadata.CrateGraph:
    data = json.loads((DATA / f"cargo-metadata-{name}.json").read_text())
    return metadata.from_metadata(data, Path(f"/FIXTURES/{name}/Cargo.toml"))


def test_the_bloated_closure_holds_the_engine_its_native_crate_and_tokio_full() -> None:
    graph = _recorded("rust-bloated")
    assert graph.resolved and graph.root == "order-pipeline"
    assert graph.closure == {"cloacina", "cloacina-workflow", "diesel", "deadpool",
                             "libsqlite3-sys", "tokio", "libloading"}
    assert graph.links == {"libsqlite3-sys": "sqlite3"}
    assert "full" in graph.features["tokio"] and "rt-multi-thread" in graph.features["tokio"]


def test_dev_dependencies_stay_out_of_the_slim_closure() -> None:
    graph = _recorded("rust-slim")
    assert graph.closure == {"cloacina-workflow"}
    assert ("cloacina", "dev") in {(d.name, d.kind) for d in graph.direct}


@pytest.mark.skipif(shutil.which("cargo") is None, reason="cargo is not installed")
def test_a_registry_crate_offline_falls_back_to_its_direct_dependencies(tmp_path: Path) -> None:
    write_tree(tmp_path, {
        "Cargo.toml": (
            '[package]\nname = "simple-packaged"\nversion = "0.1.0"\nedition = "2021"\n\n'
            '[lib]\ncrate-type = ["cdylib", "rlib"]\n\n'
            '[dependencies]\ncloacina-workflow = { version = "0.10.0", features = ["packaged"] }\n'
            'tokio = { version = "1", features = ["full"] }\n\n'
            '[dev-dependencies]\ncloacina = "0.10.0"\n'
        ),
        "src/lib.rs": "",
    })
    graph = metadata.read(tmp_path)
    assert not graph.resolved
    assert "could not be resolved offline" in graph.limitation
    assert "direct dependencies only" in graph.limitation
    assert {(d.name, d.kind) for d in graph.direct} == {
        ("cloacina-workflow", None), ("tokio", None), ("cloacina", "dev")}
    assert next(d for d in graph.direct if d.name == "tokio").features == ("full",)
