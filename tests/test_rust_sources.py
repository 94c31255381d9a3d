"""Source paths to forbidden crates, read with tree-sitter-rust: every form a crate is named in."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import REPO, run_cli, write_tree

from cloacina_audit.rust.sources import forbidden_paths


def test_a_use_that_renames_the_crate_is_found(tmp_path: Path) -> None:
    write_tree(tmp_path, {"src/lib.rs": (
        "use cloacina_workflow::Context;\n"
        "use cloacina as engine;\n"
        "#[cfg(not(test))]\n"
        "use deadpool_diesel::{Pool as P, Manager};\n"
        "pub fn run() { let _ = engine::runtime::Runner::new(); }\n"
    )})
    found = forbidden_paths(tmp_path / "src", {"cloacina", "deadpool-diesel"})
    assert [(u.line, u.crate, u.statement) for u in found] == [
        (2, "cloacina", "use cloacina as engine;"),
        (4, "deadpool_diesel", "use deadpool_diesel::{Pool as P, Manager};"),
    ]


def test_every_other_form_is_found_and_test_only_items_are_not(tmp_path: Path) -> None:
    write_tree(tmp_path, {"src/lib.rs": (
        "extern crate cloacina;\n"
        "pub fn run() {\n"
        "    let _r = cloacina::runtime::Runner::new();\n"
        "    let _c: ::cloacina::Context = Default::default();\n"
        "}\n"
        "#[cfg(test)]\n"
        "mod tests { use cloacina::runtime::Runner; }\n"
    )})
    found = forbidden_paths(tmp_path / "src", {"cloacina"})
    assert [u.line for u in found] == [1, 3, 4]


@pytest.mark.skipif(shutil.which("cargo") is None, reason="needs cargo")
def test_check_breaks_the_preset_on_a_renaming_use(tmp_path: Path) -> None:
    workflow = (REPO / "fixtures/framework-rust/cloacina-workflow").as_posix()
    write_tree(tmp_path, {
        "Cargo.toml": (
            '[package]\nname = "aliased"\nversion = "0.1.0"\nedition = "2021"\n\n'
            '[lib]\ncrate-type = ["cdylib"]\n\n'
            f'[dependencies]\ncloacina-workflow = {{ path = "{workflow}" }}\n\n'
            '[package.metadata.cloacina-audit]\npreset = "cloacina-rust"\n'
        ),
        "src/lib.rs": "use cloacina as engine;\n",
    })
    result = run_cli("check", str(tmp_path), "--format", "json")
    assert result.code == 1, result.stderr
    (contract,) = json.loads(result.stdout)["packages"][0]["contracts"]
    steps = [step for v in contract["violations"] for step in v["chain"]]
    assert [(s["file"].endswith("src/lib.rs"), s["line"], s["kind"], s["imported"]) for s in steps] == [
        (True, 1, "use", "cloacina")]
