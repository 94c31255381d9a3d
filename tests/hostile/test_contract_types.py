"""``contract_types`` of an import-linter configuration, run as ``python -m cloacina_audit``
from inside the audited tree: nothing of the tree is imported, and stdout stays the report's."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from .support import assert_clean_error, audit, project

CONFIG = textwrap.dedent("""
    [importlinter]
    root_package = pkg
    contract_types =
        loud: {module}.Loud

    [importlinter:contract:loud]
    name = loud contract
    type = loud
""").lstrip()

LOUD = """
import os
from importlinter.domain.contract import Contract, ContractCheck

print("PRINTED AT IMPORT")
os.write(1, b"WRITTEN TO FD 1 AT IMPORT\\n")
open({marker!r}, "w").close()


class Loud(Contract):
    def check(self, graph, verbose):
        print("PRINTED IN CHECK")
        os.write(1, b"WRITTEN TO FD 1 IN CHECK\\n")
        return ContractCheck(kept=True, warnings=[])

    def render_broken_contract(self, check):
        pass
"""


def _tree(tmp_path: Path, module: str) -> Path:
    return project(tmp_path / "tree", {
        "pkg/__init__.py": "import json\n",
        ".importlinter": CONFIG.format(module=module),
    })


def test_a_contract_type_in_the_working_directory_is_not_imported(tmp_path):
    tree = _tree(tmp_path, "treetypes")
    marker = tmp_path / "imported"
    (tree / "treetypes.py").write_text(LOUD.format(marker=str(marker)))
    result = audit(tree, "check", ".", "--format", "json", cwd=tree)
    assert_clean_error(result, "cannot load contract type", "treetypes.Loud")
    assert result.stdout == ""
    assert not marker.exists(), "a module of the audited tree was imported"


def test_an_installed_contract_type_that_prints_cannot_corrupt_the_report(tmp_path):
    tree = _tree(tmp_path, "loudtypes")
    marker = tmp_path / "imported"
    site = tmp_path / "site"  # the tool's environment, outside the tree
    site.mkdir()
    (site / "loudtypes.py").write_text(LOUD.format(marker=str(marker)))
    result = audit(tree, "check", ".", "--format", "json", "--preset", "none", cwd=tree,
                   env={"PYTHONPATH": str(site)})
    assert result.code == 0, (result.stdout, result.stderr)
    [contract] = json.loads(result.stdout)["packages"][0]["contracts"]  # parses: nothing mixed in
    assert contract["name"] == "loud contract" and contract["kept"]
    assert marker.exists()
    for line in ("PRINTED AT IMPORT", "WRITTEN TO FD 1 AT IMPORT", "PRINTED IN CHECK",
                 "WRITTEN TO FD 1 IN CHECK"):
        assert line in result.stderr and line not in result.stdout
