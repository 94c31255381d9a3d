"""A laptop and CI must agree to the byte: sizes do not depend on where the cache is.

Every ``.pyc`` stores the path of its source; the environment is compiled in
``<cache>/envs/<key>.tmp-*`` and renamed, so the stored path (and the file size)
used to follow the cache directory's path length.
"""

from __future__ import annotations

import json
from pathlib import Path

from conftest import run_cli, write_tree

PROJECT = {
    "pyproject.toml": """
        [build-system]
        requires = ["hatchling"]
        build-backend = "hatchling.build"
        [project]
        name = "sized"
        version = "1.0"
        dependencies = []
        [tool.cloacina-audit]
        preset = "none"
    """,
    "sized/__init__.py": "from .one import VALUE\n",
    "sized/one.py": "VALUE = 1\n\ndef helper():\n    return VALUE\n",
    "sized/deep/__init__.py": "",
    "sized/deep/two.py": "class Thing:\n    pass\n",
}


def _footprint(tree: Path, cache: Path) -> dict:
    result = run_cli("footprint", str(tree), "--probe-runs", "1", "--format", "json",
                     "--cache-dir", str(cache))
    assert result.code == 0, result.stderr
    return json.loads(result.stdout)["packages"][0]["footprint"]


def test_the_same_package_under_two_cache_dirs_has_the_same_bytes(tmp_path: Path) -> None:
    tree = write_tree(tmp_path / "tree", PROJECT)
    short = _footprint(tree, tmp_path / "c")
    long = _footprint(tree, tmp_path / ("a-much-longer-cache-directory-name" * 3) / "nested")
    assert short["pyc_bytes"] > 0
    assert long["install_bytes"] == short["install_bytes"]
    assert long["pyc_bytes"] == short["pyc_bytes"]
