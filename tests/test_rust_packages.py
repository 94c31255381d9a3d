"""Rust workflow packages: the crate boundary, source paths and the cdylib, before and after.

The fixtures are the same workflow as a Cloacina Rust package against stand-ins
of the real crates (path dependencies only), so they resolve and build offline.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import REPO, assert_clean_error, run_cli, write_tree

pytestmark = pytest.mark.skipif(shutil.which("cargo") is None, reason="needs cargo")

BLOATED = str(REPO / "fixtures/rust-bloated")
SLIM = str(REPO / "fixtures/rust-slim")


def _json(*args: str) -> dict:
    result = run_cli(*args, "--format", "json")
    assert result.code in (0, 1, 3), result.stderr
    return json.loads(result.stdout)["packages"][0]


def test_check_finds_the_engine_dependency_and_the_use_paths_on_their_lines():
    result = run_cli("check", BLOATED, "--format", "json")
    assert result.code == 1, result.stderr
    [contract] = json.loads(result.stdout)["packages"][0]["contracts"]
    statements = [(Path(s["file"]).name, s["line"], s["kind"], s["statement"])
                  for s in contract["statements"]]
    assert statements == [
        ("Cargo.toml", 17, "crate", 'cloacina = { path = "../framework-rust/cloacina" }'),
        ("lib.rs", 2, "use", "use cloacina::runtime::Runner;"),
        ("lib.rs", 3, "use", "use cloacina::{Context, Task, TaskError};"),
    ]
    chains = {" -> ".join([v["chain"][0]["importer"]] + [s["imported"] for s in v["chain"]])
              for v in contract["violations"]}
    assert "order-pipeline -> cloacina -> diesel -> libsqlite3-sys" in chains
    libsqlite = next(v for v in contract["violations"] if v["chain"][-1]["imported"] == "libsqlite3-sys")
    assert [(Path(s["file"]).parent.name, s["line"]) for s in libsqlite["chain"]] == [
        ("rust-bloated", 17), ("cloacina", 16), ("diesel", 9)]


def test_tokio_full_is_a_warning_and_tests_only_uses_do_not_count():
    bloated = _json("check", BLOATED)
    assert [f["rule"] for f in bloated["findings"]] == ["rust-heavy-feature"]
    slim = _json("check", SLIM)  # uses cloacina in #[cfg(test)] and as a dev-dependency
    assert slim["contracts"][0]["status"] == "kept"
    assert slim["findings"] == []


def test_report_shows_the_binary_before_and_after_with_the_std_share(tmp_path):
    """Slow (about 10 s): cargo builds both fixtures' cdylibs in release mode once, then four
    reports read them from the cache."""
    result = run_cli("report", SLIM, "--before", BLOATED, "--format", "json",
                     "--cache-dir", str(tmp_path / "cache"), timeout=600)
    assert result.code == 0, result.stderr
    document = json.loads(result.stdout)
    before = document["before"]["footprint"]["binary"]
    after = document["packages"][0]["footprint"]["binary"]
    assert after["stripped_bytes"] < before["stripped_bytes"] <= before["built_bytes"]
    assert after["text_by_crate"]["std"] > after["text_bytes"] / 2  # a small cdylib is mostly std
    assert "cloacina" in before["text_by_crate"] and "cloacina" not in after["text_by_crate"]
    text = run_cli("report", SLIM, "--before", BLOATED, "--cache-dir", str(tmp_path / "cache"),
                   env={"COLUMNS": "100"}, timeout=600).stdout
    assert "Binary liborder_pipeline.so" in text and "stripped cdylib" in text
    assert "goal 30% reduction: reached" in text
    for fmt in ("text", "markdown", "html"):
        out = run_cli("report", SLIM, "--before", BLOATED, "--cache-dir", str(tmp_path / "cache"),
                      "--format", fmt, env={"COLUMNS": "100"}, timeout=600).stdout
        # A cdylib is made of crates, and is not imported: no Python words, no n/a rows.
        assert "Crates that changed" in out or "8 crates changed" in out, fmt
        assert ".text" in out and "Crate" in out, fmt
        assert "Distribution" not in out and "distribution" not in out, fmt
        assert "Modules imported" not in out and "Import time" not in out, fmt
        assert "Native size" not in out and "native crates (" not in out, fmt


def test_budgets_fail_with_exit_3(tmp_path):
    package = tmp_path / "pkg"
    shutil.copytree(SLIM, package)
    shutil.copytree(REPO / "fixtures/framework-rust", tmp_path / "framework-rust")
    manifest = package / "Cargo.toml"
    manifest.write_text(manifest.read_text().replace('max-binary-size = "600 KB"',
                                                     'max-binary-size = "10 KB"'))
    result = run_cli("footprint", str(package), "--format", "json",
                     "--cache-dir", str(tmp_path / "cache"), timeout=600)
    assert result.code == 3, result.stderr
    budgets = {b["name"]: b["ok"] for b in json.loads(result.stdout)["packages"][0]["budgets"]}
    assert budgets == {"max-binary-size": False, "max-crates": True, "forbid-crates": True}


def test_a_package_with_registry_dependencies_is_checked_on_its_direct_dependencies_offline(tmp_path):
    """Shaped like Cloacina's simple-packaged: crates.io version dependencies, nothing cached."""
    write_tree(tmp_path, {
        "pkg/package.toml": (REPO / "fixtures/rust-slim/package.toml").read_text(),
        "pkg/Cargo.toml": """
            [workspace]
            [package]
            name = "registry-shaped"
            version = "0.1.0"
            edition = "2021"
            [features]
            default = ["packaged"]
            packaged = []
            [lib]
            crate-type = ["cdylib", "rlib"]
            [dependencies]
            cloacina-workflow = { version = "0.10", features = ["packaged"] }
            cloacina = "0.10"
            tokio = { version = "1.0", features = ["full"] }
            [dev-dependencies]
            tempfile = "3.0"
        """,
        "pkg/src/lib.rs": "use cloacina_workflow::Context;\n",
    })
    result = run_cli("check", str(tmp_path / "pkg"), "--format", "json",
                     env={"CARGO_HOME": str(tmp_path / "cargo-home")})
    assert result.code == 1, result.stderr
    package = json.loads(result.stdout)["packages"][0]
    [contract] = package["contracts"]
    assert [(s["line"], s["statement"]) for s in contract["statements"]] == [
        (13, 'cloacina = "0.10"')]
    assert any("could not resolve the closure offline" in w and "direct dependencies only" in w
               for w in contract["warnings"])
    assert [f["rule"] for f in package["findings"]] == ["rust-heavy-feature"]


def test_an_unresolvable_crate_without_forbidden_dependencies_is_unverified_not_kept(tmp_path):
    write_tree(tmp_path, {
        "pkg/Cargo.toml": """
            [package]
            name = "plain"
            version = "0.1.0"
            edition = "2021"
            [dependencies]
            serde = "1"
        """,
        "pkg/src/lib.rs": "pub fn f() {}\n",
    })
    package = _json("check", str(tmp_path / "pkg"))
    assert package["contracts"][0]["status"] == "unverified"


def test_bad_rust_input_is_one_line_and_exit_2(tmp_path):
    write_tree(tmp_path, {"ws/Cargo.toml": "[workspace]\nmembers = []\n"})
    assert_clean_error(run_cli("check", str(tmp_path / "ws")), "no [package] name")
    write_tree(tmp_path, {
        "broken/Cargo.toml": '[package]\nname = "broken"\nversion = "0.1.0"\nedition = "2021"\n'
                             '[lib]\ncrate-type = ["cdylib"]\n',
        "broken/src/lib.rs": "pub fn f() -> u32 { \"not a number\" }\n",
    })
    result = run_cli("footprint", str(tmp_path / "broken"), "--cache-dir", str(tmp_path / "c"),
                     timeout=600)
    assert_clean_error(result, "cargo build failed", "error")


def test_recorded_metadata_gives_the_same_chains(tmp_path, monkeypatch):
    """Unit test on cargo metadata recorded from the bloated fixture (paths as /REPO)."""
    from cloacina_audit.rust import metadata
    from cloacina_audit.rust.contracts import normal_closure

    document = json.loads((REPO / "tests/data/rust-bloated-metadata.json").read_text())
    graph = metadata._graph(document, resolved=True, lock={})
    closure = normal_closure(graph)
    assert graph.root.name == "order-pipeline"
    assert closure["libsqlite3-sys"] == "diesel" and closure["diesel"] == "cloacina"
    assert graph.crates["libsqlite3-sys"].links == "sqlite3"
    assert "full" in graph.crates["tokio"].enabled_features
