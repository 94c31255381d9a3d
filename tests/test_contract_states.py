"""Contracts that are neither kept nor broken say so: ``not_applicable`` when the graph
holds nothing the preset names, never counted as kept."""

from __future__ import annotations

import json

from conftest import FIXTURES, run_cli, write_tree


def test_a_preset_on_a_package_that_never_mentions_cloacina_is_not_applicable(tmp_path):
    tree = write_tree(tmp_path / "tree", {
        "pyproject.toml": '[project]\nname = "plain"\nversion = "1"\n',
        "plain/__init__.py": "import json\nimport csv\n",
    })
    result = run_cli("check", str(tree), "--format", "json")
    assert result.code == 0, result.stderr
    contracts = json.loads(result.stdout)["packages"][0]["contracts"]
    assert [c["status"] for c in contracts] == ["not_applicable", "not_applicable"]
    assert all(c["warnings"] and c["warnings"][0].startswith("not applicable") for c in contracts)
    text = run_cli("check", str(tree))
    assert "Contracts (0/2 kept, 2 not applicable)" in text.stdout
    assert "✓" not in text.stdout


def test_the_slim_fixture_keeps_its_contracts(tmp_path):
    # The authoring layer is in the graph: the contract applies, and nothing reaches the engine.
    result = run_cli("check", str(FIXTURES / "slim"), "--format", "json")
    assert result.code == 0, result.stderr
    contracts = json.loads(result.stdout)["packages"][0]["contracts"]
    assert [c["status"] for c in contracts] == ["kept", "kept"]
    assert "2/2 kept" in run_cli("check", str(FIXTURES / "slim")).stdout
