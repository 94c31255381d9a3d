"""Source references to forbidden crates: use, paths, extern crate; not test-only code."""
from __future__ import annotations

from pathlib import Path

from cloacina_audit.rust.sources import find_uses
from tests.conftest import write_tree

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def test_every_form_of_reference_is_found_with_its_line(tmp_path: Path) -> None:
    write_tree(tmp_path, {
        "Cargo.toml": '[package]\nname = "p"\nversion = "0.1.0"\n',
        "src/lib.rs": (
            "extern crate cloacina;\n"
            "use cloacina_workflow::Context;\n"
            "pub fn run() -> usize {\n"
            "    let r = cloacina::runtime::Runner::new();\n"
            "    let t: ::cloacina::Context = Default::default();\n"
            "    0\n"
            "}\n"
            "#[cfg(test)]\n"
            "mod tests { use cloacina::runtime::Runner; }\n"
            "#[cfg(not(test))]\n"
            "use deadpool_diesel as pool;\n"
        ),
        "tests/it.rs": "use cloacina::runtime::Runner;\n",
        "examples/e.rs": "use cloacina::Context;\n",
    })
    found = find_uses(tmp_path, ["cloacina", "deadpool-diesel"])
    assert [(u.line, u.crate) for u in found] == [
        (1, "cloacina"), (4, "cloacina"), (5, "cloacina"), (11, "deadpool-diesel")]
    assert found[0].statement == "extern crate cloacina;"
    assert all(u.file == "src/lib.rs" for u in found)


def test_the_bloated_fixture_imports_the_engine_and_the_slim_one_only_in_its_tests() -> None:
    bloated = find_uses(FIXTURES / "rust-bloated", ["cloacina"])
    assert [(u.file, u.line, u.statement) for u in bloated] == [
        ("src/lib.rs", 2, "use cloacina::runtime::Runner;"),
        ("src/lib.rs", 3, "use cloacina::{task, Context, TaskError};"),
    ]
    assert find_uses(FIXTURES / "rust-slim", ["cloacina"]) == []
