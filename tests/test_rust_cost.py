"""What each Cargo.toml dependency line and each ``use`` of a forbidden crate costs, on Rust
packages built here (path dependencies) where the answer is known by construction:

- ``one-use``: ``src/lib.rs:1 use cloacina::run;`` is the only line naming cloacina, which
  alone pulls cloacina and diesel (two crates); ``common`` is reached by cloacina too, but
  the package depends on it itself, so it stays;
- ``two-uses``: two lines use cloacina: neither alone saves anything, together they save
  cloacina and diesel, and so does cloacina's Cargo.toml line (its uses go with it);
and on the fixtures: the offending lines of rust-bloated account for its difference to
rust-slim.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from conftest import REPO, run_cli, write_tree
from pseudo_terminal import run_in_terminal

pytestmark = pytest.mark.skipif(shutil.which("cargo") is None, reason="needs cargo")

CRATE = """
    [package]
    name = "{name}"
    version = "1.0.0"
    edition = "2021"
    [dependencies]
    {deps}
"""

#: Work that cannot be folded away, in a function of its own (one symbol per crate).
WORK = """
    #[inline(never)]
    pub fn {fn}(x: u32) -> u32 {{
        let mut v: Vec<u32> = (0..x).map(|i| i.wrapping_mul({k}) ^ {k}).collect();
        v.sort_unstable();
        v.iter().fold({k}u32, |a, b| a.rotate_left(3) ^ b){extra}
    }}
"""

PACKAGE = """
    [workspace]
    [package]
    name = "{name}"
    version = "0.1.0"
    edition = "2021"
    [lib]
    crate-type = ["cdylib"]
    [dependencies]
    cloacina = {{ path = "../crates/cloacina" }}
    common = {{ path = "../crates/common" }}
    [package.metadata.cloacina-audit]
    preset = "cloacina-rust"
"""


def _crates(root: Path) -> None:
    library = {
        "diesel": ("", "query", 7, ""),
        "common": ("", "shared", 11, ""),
        "cloacina": ('diesel = { path = "../diesel" }\ncommon = { path = "../common" }', "run", 13,
                     " ^ diesel::query(x) ^ common::shared(x)"),
    }
    for name, (deps, fn, k, extra) in library.items():
        write_tree(root / "crates" / name, {
            "Cargo.toml": CRATE.format(name=name, deps=deps),
            "src/lib.rs": WORK.format(fn=fn, k=k, extra=extra)
            + ("\npub fn other(x: u32) -> u32 { run(x + 1) }\n" if name == "cloacina" else ""),
        })


@pytest.fixture(scope="module")
def packages(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("rustcost")
    _crates(root)
    write_tree(root / "one-use", {
        "package.toml": (REPO / "fixtures/rust-slim/package.toml").read_text(),
        "Cargo.toml": PACKAGE.format(name="one-use"),
        "src/lib.rs": """
            use cloacina::run;
            #[no_mangle]
            pub extern "C" fn one_use(x: u32) -> u32 { run(x) ^ common::shared(x + 2) }
        """,
    })
    write_tree(root / "two-uses", {
        "Cargo.toml": PACKAGE.format(name="two-uses"),
        "src/lib.rs": """
            use cloacina::run;
            use cloacina::other;
            #[no_mangle]
            pub extern "C" fn two_uses(x: u32) -> u32 { run(x) ^ other(x) ^ common::shared(x) }
        """,
    })
    return root


def _report(path: Path, cache: Path) -> dict:
    result = run_cli("report", str(path), "--format", "json", "--cache-dir", str(cache), timeout=600)
    assert result.code == 1, result.stderr[-2000:]
    return json.loads(result.stdout)["packages"][0]


@pytest.fixture(scope="module")
def one_use(packages: Path) -> dict:
    return _report(packages / "one-use", packages / "cache")


@pytest.fixture(scope="module")
def two_uses(packages: Path) -> dict:
    return _report(packages / "two-uses", packages / "cache")


def _text(package: dict, *crates: str) -> int:
    rows = {r["name"]: r["bytes"] for r in package["footprint"]["by_distribution"]}
    return sum(rows[c] for c in crates)


def _by_place(package: dict) -> dict[tuple[str, int], dict]:
    return {(Path(c["file"]).name, c["line"]): c for c in package["costs"]}


def test_one_use_alone_brings_two_crates_and_the_std_code_only_they_call(one_use):
    costs = _by_place(one_use)
    assert set(costs) == {("Cargo.toml", 9), ("Cargo.toml", 10), ("lib.rs", 1)}
    use = costs[("lib.rs", 1)]
    assert (use["kind"], use["offending"], use["statement"]) == ("use", True, "use cloacina::run;")
    assert use["distributions"] == ["cloacina", "diesel"]
    assert _text(one_use, "cloacina", "diesel") > 0
    assert use["bytes"] == _text(one_use, "cloacina", "diesel") + use["std_bytes"]
    assert use["shared_bytes"] == 0
    # cloacina's dependency line takes its only use with it: the same saving.
    line = costs[("Cargo.toml", 9)]
    assert (line["kind"], line["offending"]) == ("crate", True)
    assert line["distributions"] == use["distributions"] and line["bytes"] == use["bytes"]
    # common: the package depends on it itself; its line breaks no contract and saves nothing
    # while cloacina still needs common, and common's own .text once cloacina is gone.
    common = costs[("Cargo.toml", 10)]
    assert (common["offending"], common["distributions"], common["bytes"]) == (False, [], 0)
    assert common["then_distributions"] == ["common"]
    assert common["then_bytes"] >= _text(one_use, "common") > 0
    together = one_use["costs_together"]
    assert together["distributions"] == ["cloacina", "diesel"]
    assert together["bytes"] == use["bytes"]
    # Ranked: offending lines first, most expensive first; lines breaking no contract last.
    assert [c["offending"] for c in one_use["costs"]] == [True, True, False]


def test_the_audited_tree_gets_no_cargo_lock(packages, one_use):
    """cargo metadata and cargo build write Cargo.lock beside a manifest that has none."""
    assert not (packages / "one-use" / "Cargo.lock").exists()


def test_a_crate_two_uses_reach_costs_nothing_unique(two_uses):
    costs = _by_place(two_uses)
    together = two_uses["costs_together"]
    assert together["distributions"] == ["cloacina", "diesel"]
    for line in (1, 2):
        use = costs[("lib.rs", line)]
        assert (use["bytes"], use["distributions"]) == (0, [])
        assert use["shared_bytes"] == together["bytes"] > _text(two_uses, "cloacina", "diesel") - 1
        assert use["reaches"] == ["cloacina", "common", "diesel"]
    # Removing the dependency line removes both uses: it saves what they save together.
    assert costs[("Cargo.toml", 9)]["distributions"] == ["cloacina", "diesel"]
    assert costs[("Cargo.toml", 9)]["bytes"] == together["bytes"]


def test_text_sarif_and_html_say_what_a_line_saves(packages, one_use):
    path, cache = str(packages / "one-use"), str(packages / "cache")
    text = run_cli("report", path, "--cache-dir", cache, env={"COLUMNS": "400"}, timeout=600).stdout
    lines = text.splitlines()
    where = next(i for i, line in enumerate(lines) if line.strip().endswith("lib.rs:1"))
    saving = one_use["costs"][0]
    assert lines[where + 1].strip().startswith("saves ")
    assert "of .text" in lines[where + 1] and "2 crates (cloacina, diesel)" in lines[where + 1]
    assert any(line.strip().endswith("Cargo.toml:10 (breaks no contract)") for line in lines)
    sarif = json.loads(run_cli("report", path, "--cache-dir", cache, "--format", "sarif",
                               timeout=600).stdout)
    messages = [r["message"]["text"] for r in sarif["runs"][0]["results"]]
    assert any("; removing it saves" in m and "of .text" in m for m in messages), messages
    assert saving["bytes"] > 0
    html = run_cli("report", path, "--cache-dir", cache, "--format", "html", timeout=600).stdout
    assert '<figure class="split">' in html and "How the footprint (.text " in html
    assert "<th>Part</th>" in html
    # The dependency line and the one use it takes along save the same: one segment.
    [label] = re.findall(r"</span>([^<]*) alone</td>", html)
    first, second = label.split(" and ")
    assert first.endswith("Cargo.toml:9") and second.endswith("src/lib.rs:1")
    shares = re.findall(r'<td class="num">([0-9.]+)%</td>', html[html.index("<th>Part</th>"):])
    assert abs(sum(float(x) for x in shares[:3]) - 100) < 0.2
    assert "<script" not in html and "http://" not in html.replace(
        'xmlns="http://www.w3.org/2000/svg"', "")


def test_why_a_crate_lists_every_line_with_its_crates(packages):
    result = run_cli("why", "diesel", str(packages / "two-uses"), "--format", "json",
                     "--cache-dir", str(packages / "cache"), timeout=600)
    assert result.code == 0, result.stderr
    data = json.loads(result.stdout)
    assert (data["language"], data["crate"]) == ("rust", "diesel")
    assert data["text_bytes"] > 0
    assert [(r["kind"], Path(r["file"]).name, r["line"], r["crates"]) for r in data["routes"]] == [
        ("crate", "Cargo.toml", 9, ["cloacina", "diesel"]),
        ("use", "lib.rs", 1, ["cloacina", "diesel"]),
        ("use", "lib.rs", 2, ["cloacina", "diesel"]),
    ]
    assert [(Path(s["file"]).parent.name, s["line"]) for s in data["routes"][0]["steps"]] == [
        ("cloacina", 6)]
    missing = run_cli("why", "serde", str(packages / "two-uses"),
                      "--cache-dir", str(packages / "cache"), timeout=600)
    assert missing.code == 2 and missing.stderr.count("\n") == 1
    assert "serde: not in the crate graph of two-uses" in missing.stderr


def test_report_at_a_terminal_and_in_markdown(packages, one_use):
    path, cache = str(packages / "one-use"), str(packages / "cache")
    run = run_in_terminal("report", path, "--cache-dir", cache, columns=80)
    assert run.code == 1, run.text()
    screen = run.screen()
    assert all(len(line) <= 80 for line in screen)
    start = screen.index("Cost of each offending statement (what removing it alone saves)")
    assert screen[start + 2].strip().startswith("saves ") and "of .text" in screen[start + 2]
    markdown = run_cli("report", path, "--cache-dir", cache, "--format", "markdown",
                       timeout=600).stdout
    assert "Cargo.toml:10 (breaks no contract)` |" in markdown
    assert "2 crates (cloacina, diesel)" in markdown


def test_why_at_a_terminal(packages):
    run = run_in_terminal("why", "diesel", str(packages / "one-use"),
                          "--cache-dir", str(packages / "cache"), columns=200)
    assert run.code == 0, run.text()
    screen = run.screen()
    assert screen[0].startswith("diesel 1.0.0 (") and "of .text" in screen[0]
    assert any("crates   cloacina -> diesel" in line for line in screen)


def test_the_bloated_fixtures_lines_account_for_the_difference_to_slim(tmp_path):
    """Slow (about 7 s): cargo builds both fixtures' cdylibs, and objdump disassembles them
    to attribute std's code to the crates that call it."""
    cache = str(tmp_path / "cache")
    result = run_cli("report", str(REPO / "fixtures/rust-slim"), "--before",
                     str(REPO / "fixtures/rust-bloated"), "--format", "json", "--cache-dir", cache,
                     timeout=900)
    assert result.code == 0, result.stderr[-2000:]
    document = json.loads(result.stdout)
    bloated, slim = document["before"], document["packages"][0]
    costs = _by_place(bloated)
    assert {k for k, c in costs.items() if c["offending"]} == {
        ("Cargo.toml", 17), ("lib.rs", 2), ("lib.rs", 3)}
    together = bloated["costs_together"]
    assert together["distributions"] == [
        "cloacina", "cloacina-workflow", "deadpool", "diesel", "libloading", "libsqlite3-sys"]
    tokio = costs[("Cargo.toml", 18)]  # breaks no contract: tokio stays while cloacina needs it
    assert (tokio["offending"], tokio["bytes"], tokio["then_distributions"]) == (False, 0, ["tokio"])
    # Crates: 7 - 6 - 1 + cloacina-workflow, which slim depends on itself = 1.
    assert bloated["footprint"]["distributions"] - len(together["distributions"]) - 1 + 1 == \
        slim["footprint"]["distributions"] == 1
    # .text: the lines account for at least 90% of the difference (the rest: code only
    # reached through pointers the disassembly does not show, and the package's own glue).
    difference = bloated["footprint"]["binary"]["text_bytes"] - slim["footprint"]["binary"]["text_bytes"]
    accounted = together["bytes"] + tokio["then_bytes"]
    assert 0.9 * difference <= accounted <= difference
    text = run_cli("report", str(REPO / "fixtures/rust-slim"), "--before",
                   str(REPO / "fixtures/rust-bloated"), "--cache-dir", cache,
                   env={"COLUMNS": "120"}, timeout=900).stdout
    assert "Crates " in text and "Stripped cdylib size" in text  # the comparison's labels
    assert "Install size" not in text and "Distributions   " not in text


def test_a_rust_archive_records_its_size(tmp_path):
    """A .cloacina archive of a Rust package that needs nothing outside it."""
    import tarfile

    package = write_tree(tmp_path / "src" / "alone", {
        "package.toml": (REPO / "fixtures/rust-slim/package.toml").read_text(),
        "Cargo.toml": """
            [workspace]
            [package]
            name = "alone"
            version = "0.1.0"
            edition = "2021"
            [lib]
            crate-type = ["cdylib"]
        """,
        "src/lib.rs": '#[no_mangle]\npub extern "C" fn alone(x: u32) -> u32 { x + 1 }\n',
    })
    archive = tmp_path / "alone-0.1.0.cloacina"
    with tarfile.open(archive, "w:bz2") as tar:
        tar.add(package, arcname=package.name)
    result = run_cli("footprint", str(archive), "--format", "json",
                     "--cache-dir", str(tmp_path / "cache"), timeout=600)
    assert result.code == 0, result.stderr
    footprint = json.loads(result.stdout)["packages"][0]["footprint"]
    assert footprint["archive_bytes"] == archive.stat().st_size
    assert (footprint["archive_files"], footprint["archive_packed"]) == (3, False)
    assert footprint["binary"]["text_bytes"] > 0


def test_std_code_goes_with_the_crates_that_alone_call_it():
    """The call graph on a listing written here: app calls diesel and std::a; diesel calls
    std::b (which calls std::a) and loads a table whose entry is std::c; nobody calls std::d."""
    from cloacina_audit.rust.callgraph import _group

    def name(crate: str, item: str) -> str:
        return f"_ZN{len(crate)}{crate}{len(item)}{item}17h0123456789abcdefE"

    functions = {0x1000: (0x20, name("app", "run")), 0x2000: (0x20, name("diesel", "query")),
                 0x3000: (0x10, name("std", "a")), 0x3100: (0x20, name("std", "b")),
                 0x3200: (0x30, name("std", "c")), 0x3300: (0x40, name("std", "d"))}
    listing = [
        f"0000000000001000 <{name('app', 'run')}>:",
        f"    1004:\tcall   2000 <{name('diesel', 'query')}>",
        f"    1009:\tjmp    3000 <{name('std', 'a')}>",
        f"0000000000002000 <{name('diesel', 'query')}>:",
        f"    2004:\tcall   3100 <{name('std', 'b')}>",
        "    2009:\tlea    0x2ff0(%rip),%rax        # 5000 <anon.1>",
        f"0000000000003100 <{name('std', 'b')}>:",
        f"    3104:\tcall   3000 <{name('std', 'a')}>",
    ]
    relocations = [(0x5000, 0x9999), (0x5008, 0x3200)]  # a table: a pointer outside .text, then std::c
    grouped = _group(functions, set(), relocations, listing, {"app", "diesel"})
    assert grouped == {frozenset({"app", "diesel"}): 0x10, frozenset({"diesel"}): 0x20 + 0x30,
                       frozenset(): 0x40}


def test_dependency_lines_of_platform_tables_are_found(tmp_path):
    from cloacina_audit.rust.contracts import declaration_line

    manifest = write_tree(tmp_path, {"Cargo.toml": """
        [package]
        name = "p"
        [dependencies]
        a = "1"
        [target.'cfg(unix)'.dependencies]
        b = { path = "../b" }
        [target.'cfg(windows)'.dependencies.c]
        path = "../c"
        [dev-dependencies]
        d = "1"
    """}) / "Cargo.toml"
    assert [declaration_line(manifest, n)[0] for n in "abcd"] == [4, 6, 7, 0]
