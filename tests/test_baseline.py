"""Baselines: record today's violations, fail only on new ones, never let a swap hide.

A violation is known by package, contract, importer, imported module and the
statement's text: moving code keeps it, swapping the import does not.
"""

from __future__ import annotations

import json
from pathlib import Path

from conftest import assert_clean_error, run_cli, write_tree
from hostile.support import project

CONTRACTS = """
    [importlinter]
    root_packages = shop
    [importlinter:contract:layers]
    name = Tasks stay away from storage
    type = forbidden
    source_modules = shop.tasks
    forbidden_modules =
        shop.db
        shop.net
"""


def _shop(root: Path, tasks: str) -> Path:
    return project(root, {
        ".importlinter": CONTRACTS,
        "shop/__init__.py": "",
        "shop/db.py": "",
        "shop/net.py": "",
        "shop/tasks.py": tasks,
        "shop/other.py": "",
    }, name="shop", extra='[tool.cloacina-audit]\npreset = "none"\n')


def _check(tree: Path, *args: str):
    return run_cli("check", str(tree), *args)


def test_a_written_baseline_passes_and_is_sorted_readable_json(tmp_path):
    tree = _shop(tmp_path / "shop", "import shop.net\nimport shop.db\n")
    baseline = tmp_path / "baseline.json"
    assert _check(tree).code == 1
    written = _check(tree, "--write-baseline", str(baseline))
    assert written.code == 0, written.stdout + written.stderr
    document = json.loads(baseline.read_text())
    assert document["format"] == 1
    assert [(v["imported"], v["statement"]) for v in document["violations"]] == [
        ("shop.db", "import shop.db"), ("shop.net", "import shop.net"),
    ]
    assert all(v["importer"] == "shop.tasks" and v["package"] == "shop"
               for v in document["violations"])
    again = _check(tree, "--baseline", str(baseline))
    assert again.code == 0, again.stdout
    assert "2 baselined statements" in " ".join(again.stdout.split())
    # Stable: writing it again gives the same bytes.
    before = baseline.read_bytes()
    _check(tree, "--write-baseline", str(baseline))
    assert baseline.read_bytes() == before


def test_moving_the_statement_keeps_it_known(tmp_path):
    tree = _shop(tmp_path / "shop", "import shop.db\n")
    baseline = tmp_path / "baseline.json"
    _check(tree, "--write-baseline", str(baseline))
    (tree / "shop/tasks.py").write_text('"""Tasks."""\n\n\nimport os\nimport shop.db\n')
    assert _check(tree, "--baseline", str(baseline)).code == 0


def test_swapping_one_forbidden_import_for_another_fails_and_names_the_stale_entry(tmp_path):
    tree = _shop(tmp_path / "shop", "import shop.db\n")
    baseline = tmp_path / "baseline.json"
    _check(tree, "--write-baseline", str(baseline))
    (tree / "shop/tasks.py").write_text("import shop.net\n")
    result = _check(tree, "--baseline", str(baseline), "--format", "json")
    assert result.code == 1
    package = json.loads(result.stdout)["packages"][0]
    contract = package["contracts"][0]
    assert [v["chain"][0]["imported"] for v in contract["violations"]] == ["shop.net"]
    assert contract["baselined"] == []
    stale = [f for f in package["findings"] if f["rule"] == "baseline-stale"]
    assert len(stale) == 1 and "import shop.db" in stale[0]["message"]


def test_annotations_show_only_new_violations_and_count_the_known(tmp_path):
    tree = _shop(tmp_path / "shop", "import shop.db\n")
    baseline = tmp_path / "baseline.json"
    _check(tree, "--write-baseline", str(baseline))
    (tree / "shop/tasks.py").write_text("import shop.db\nimport shop.net\n")
    result = _check(tree, "--baseline", str(baseline), "--format", "github")
    assert result.code == 1
    errors = [line for line in result.stdout.splitlines() if line.startswith("::error")]
    assert len(errors) == 1 and "shop.net" in errors[0] and "line=2" in errors[0]
    assert "::notice title=Tasks stay away from storage::1 offending statement known to the " \
           "baseline, not shown" in result.stdout


def test_sarif_carries_baseline_states_and_fingerprints_that_survive_a_move(tmp_path):
    tree = _shop(tmp_path / "shop", "import shop.db\nimport shop.net\n")
    baseline = tmp_path / "baseline.json"
    _check(tree, "--write-baseline", str(baseline))

    def results() -> list[dict]:
        out = _check(tree, "--baseline", str(baseline), "--format", "sarif").stdout
        return json.loads(out)["runs"][0]["results"]

    first = {r["partialFingerprints"]["cloacinaAuditStatement/v1"]: r for r in results()}
    assert {r["baselineState"] for r in first.values()} == {"unchanged"}
    (tree / "shop/tasks.py").write_text("\n\nimport shop.net\nimport shop.other\nimport shop.db\n")
    moved = {r["partialFingerprints"]["cloacinaAuditStatement/v1"]: r for r in results()}
    assert moved.keys() == first.keys()
    (tree / "shop/tasks.py").write_text("import shop.db\n")
    (tree / "shop/other.py").write_text("")
    states = sorted(r.get("baselineState") for r in results())
    assert states == ["absent", "unchanged"]
    (tree / "shop/tasks.py").write_text("import shop.db\nfrom shop import net\n")
    assert "new" in [r.get("baselineState") for r in results()]


def test_rewriting_the_baseline_drops_what_was_fixed(tmp_path):
    tree = _shop(tmp_path / "shop", "import shop.db\nimport shop.net\n")
    baseline = tmp_path / "baseline.json"
    _check(tree, "--write-baseline", str(baseline))
    (tree / "shop/tasks.py").write_text("import shop.db\n")
    assert _check(tree, "--write-baseline", str(baseline)).code == 0
    entries = json.loads(baseline.read_text())["violations"]
    assert [e["imported"] for e in entries] == ["shop.db"]


def test_bad_baseline_files_are_one_line_and_exit_2_before_any_work(tmp_path):
    tree = _shop(tmp_path / "shop", "import shop.db\n")
    assert_clean_error(_check(tree, "--baseline", str(tmp_path / "missing.json")),
                       "missing.json", "no such file")
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    assert_clean_error(_check(tree, "--baseline", str(broken)), "not a baseline file")
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({"format": 1, "violations": [{"package": "shop"}]}))
    assert_clean_error(_check(tree, "--baseline", str(wrong)), "violation 1")
    assert_clean_error(_check(tree, "--write-baseline", str(tmp_path / "no/dir/b.json")),
                       "no such directory")


def test_report_takes_the_baseline_too(tmp_path):
    tree = _shop(tmp_path / "shop", "import shop.db\n")
    baseline = tmp_path / "baseline.json"
    write_tree(tmp_path, {})
    assert _check(tree, "--write-baseline", str(baseline)).code == 0
    result = run_cli("report", str(tree), "--baseline", str(baseline), "--format", "json",
                     "--probe-runs", "1")
    assert result.code == 0, result.stderr
    contract = json.loads(result.stdout)["packages"][0]["contracts"][0]
    assert contract["violations"] == [] and len(contract["baselined"]) == 1


def test_the_markdown_comment_leads_with_new_violations_and_counts_baselined_ones(tmp_path):
    tree = _shop(tmp_path / "shop", "import shop.db\n")
    baseline = tmp_path / "baseline.json"
    _check(tree, "--write-baseline", str(baseline))
    (tree / "shop/tasks.py").write_text("import shop.db\nimport shop.net\n")
    report = ("report", str(tree), "--probe-runs", "1", "--format", "markdown")
    result = run_cli(*report, "--baseline", str(baseline))
    assert result.code == 1, result.stderr
    lines = result.stdout.splitlines()
    assert lines[3] == "### ❌ Contract broken"
    assert lines[5] == ("**Result:** 1 contract: 0 kept, 1 broken; 1 offending statement in "
                        "1 import chain · 1 baselined statement (known to the baseline, not shown)")
    assert "broken: 1 offending statement (1 baselined statement)" in result.stdout
    assert "import shop.net" in result.stdout and "import shop.db" not in result.stdout
    plain = run_cli(*report).stdout
    assert "baselined" not in plain
