"""Module files that must not be read: a device, a FIFO, a link out of the tree.

Each is left out of the graph with a warning naming the file (never its
content); the check still ends with a verdict, in bounded time and memory.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from .support import assert_verdict, audit, project

SECRET = "AWS_SECRET_ACCESS_KEY=hunter2-do-not-print"


def _tree(tmp_path: Path) -> Path:
    return project(tmp_path / "tree", {"pkg/__init__.py": "import json\n"})


def _warnings(stdout: str) -> list[dict]:
    findings = json.loads(stdout)["packages"][0]["findings"]
    return [f for f in findings if f["rule"] == "module-not-read"]


def test_a_link_to_dev_zero_is_not_read(tmp_path):
    tree = _tree(tmp_path)
    os.symlink("/dev/zero", tree / "pkg" / "zero.py")
    result = audit(tree, "check", str(tree), "--format", "json", timeout=60)
    assert_verdict(result, 0)
    [warning] = _warnings(result.stdout)
    assert warning["file"].endswith("pkg/zero.py") and "not a regular file" in warning["message"]


def test_a_fifo_named_like_a_module_does_not_hang_check(tmp_path):
    tree = _tree(tmp_path)
    os.mkfifo(tree / "pkg" / "pipe.py")
    for cache in ("--no-cache", "--cache-dir=" + str(tmp_path / "cache")):
        result = audit(tree, "check", str(tree), "--format", "json", cache, timeout=60)
        assert_verdict(result, 0)
        [warning] = _warnings(result.stdout)
        assert warning["file"].endswith("pkg/pipe.py")


def test_a_link_to_a_file_outside_the_tree_is_never_echoed(tmp_path):
    outside = tmp_path / "credentials"
    outside.write_text(f"{SECRET} (\n")  # a syntax error if it were read as Python
    tree = _tree(tmp_path)
    os.symlink(outside, tree / "pkg" / "creds.py")
    for fmt in ("text", "json", "sarif", "github"):
        result = audit(tree, "check", str(tree), "--format", fmt, "--no-cache")
        assert_verdict(result, 0)
        assert "hunter2" not in result.stdout + result.stderr
        assert "creds.py" in result.stdout
    [warning] = _warnings(audit(tree, "check", str(tree), "--format", "json").stdout)
    assert "outside the package" in warning["message"]


def test_a_link_inside_the_package_is_read(tmp_path):
    tree = project(tmp_path / "tree", {"pkg/__init__.py": "", "pkg/real.py": "import sqlalchemy\n"})
    os.symlink("real.py", tree / "pkg" / "alias.py")
    result = audit(tree, "check", str(tree), "--format", "json")
    assert_verdict(result, 1)
    assert _warnings(result.stdout) == []
