"""PATH omitted or a subdirectory: the project it is in is audited, as ruff finds its config."""

from __future__ import annotations

import json
import subprocess

from conftest import assert_clean_error, run_cli, write_tree

PYPROJECT = """
    [project]
    name = "walked"
    version = "1.0"
"""


def _project(root):
    return write_tree(root, {
        "pyproject.toml": PYPROJECT,
        "walked/__init__.py": "",
        "walked/sub/__init__.py": "import sqlalchemy\n",
        "walked/sub/deeper/__init__.py": "",
    })


def test_check_without_path_from_a_subdirectory_audits_the_project(tmp_path):
    root = _project(tmp_path / "proj")
    result = run_cli("check", "--format", "json", cwd=root / "walked" / "sub" / "deeper")
    assert result.code == 1, result.stderr  # walked.sub imports sqlalchemy: the project's verdict
    package = json.loads(result.stdout)["packages"][0]
    assert package["name"] == "walked"
    assert package["path"] == "../../.."


def test_a_subdirectory_given_as_path_audits_the_project(tmp_path):
    root = _project(tmp_path / "proj")
    result = run_cli("check", str(root / "walked" / "sub"), "--format", "json")
    assert result.code == 1, result.stderr
    package = json.loads(result.stdout)["packages"][0]
    assert (package["name"], package["path"]) == ("walked", str(root))


def test_the_walk_stops_at_the_top_of_the_git_work_tree(tmp_path):
    _project(tmp_path)  # a project above the repository must not be picked up
    repo = tmp_path / "repo"
    (repo / "docs").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    result = run_cli("check", cwd=repo / "docs")
    assert_clean_error(result, "no pyproject.toml, package.toml or import-linter configuration",
                       "parent directory")


def test_the_nearest_project_wins(tmp_path):
    outer = _project(tmp_path / "outer")
    write_tree(outer / "nested", {
        "pyproject.toml": '[project]\nname = "inner"\nversion = "1"\n',
        "inner/__init__.py": "",
        "inner/x/__init__.py": "",
    })
    result = run_cli("check", "--format", "json", cwd=outer / "nested" / "inner" / "x")
    assert result.code == 0, result.stderr
    assert json.loads(result.stdout)["packages"][0]["name"] == "inner"
