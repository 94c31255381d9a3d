"""A laptop and CI must agree to the byte: sizes do not depend on where the cache is.

Every ``.pyc`` stores the path of its source; the environment is compiled in
``<cache>/envs/<key>.tmp-*`` and renamed, so the stored path (and the file size)
used to follow the cache directory's path length.
"""

from __future__ import annotations

import json
from pathlib import Path

import projects
from conftest import run_cli, write_tree

PROJECT = {
    "pyproject.toml": projects.pyproject("sized", dependencies="[]",
                                         extra='[tool.cloacina-audit]\npreset = "none"\n'),
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


def test_a_wheels_check_is_the_same_wherever_its_environment_is_cached(tmp_path):
    """A wheel is graphed in its environment under the cache: its chains name
    ``site-packages/…``, not the cache's path, so a laptop and CI print the same bytes."""
    from wheelmaker import make_wheel

    wheel = make_wheel(tmp_path / "dist", "cachedwf", "1.0", {
        "cachedwf/__init__.py": "from cachedwf import db\n",
        "cachedwf/db.py": "import sqlalchemy\n",
    })
    outputs = []
    for cache, seed in ((tmp_path / "a", "1"), (tmp_path / "a-much-longer-cache-path", "2")):
        result = run_cli("check", str(wheel), "--format", "json", "--cache-dir", str(cache),
                         env={"PYTHONHASHSEED": seed})
        assert result.code == 1, result.stderr
        outputs.append(result.stdout)
    assert outputs[0] == outputs[1]
    assert str(tmp_path / "a") not in outputs[0]
    files = [step["file"] for contract in json.loads(outputs[0])["packages"][0]["contracts"]
             for violation in contract["violations"] for step in violation["chain"]]
    assert files == ["site-packages/cachedwf/db.py"]
