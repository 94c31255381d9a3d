"""What ``footprint`` reads and writes while it builds: the audited tree stays as it
was, only regular files are read, and a cached environment is not trusted blindly.

- a setuptools project: setuptools writes ``build/`` and ``*.egg-info/`` into the
  tree it builds, so the tool builds from a copy;
- a FIFO anywhere in a project: hashing the tree for the cache key used to open it
  and wait forever for a writer;
- an import that appends to its own installed file: the next run used to measure
  the grown file from the cached environment (1,965 -> 1,001,966 B).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from .support import assert_verdict, audit, project, write_tree

NO_AUDIT_PRESET = '[tool.cloacina-audit]\npreset = "none"\n'


def _footprint(tree: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 180):
    return audit(tree, "footprint", str(tree), "--probe-runs", "1", "--format", "json", *args,
                 env=env, timeout=timeout)


def test_a_setuptools_project_is_built_without_writing_into_it(tmp_path):
    tree = write_tree(tmp_path / "tree", {
        "pyproject.toml": """
            [build-system]
            requires = ["setuptools>=61"]
            build-backend = "setuptools.build_meta"
            [project]
            name = "legacy"
            version = "1.0"
            [tool.setuptools]
            packages = ["legacy"]
            [tool.cloacina-audit]
            preset = "none"
        """,
        "legacy/__init__.py": "VALUE = 1\n",
    })
    result = _footprint(tree)  # audit() asserts the tree is byte-for-byte unchanged
    assert_verdict(result, 0)
    assert not (tree / "build").exists()
    assert not list(tree.glob("*.egg-info"))
    package = json.loads(result.stdout)["packages"][0]["footprint"]["package"]
    assert package["name"] == "legacy" and package["bytes"] > 0


def test_a_fifo_in_the_project_does_not_hang_the_cache_key(tmp_path):
    tree = project(tmp_path / "tree", {"fifo_pkg/__init__.py": "VALUE = 1\n"}, name="fifo-pkg",
                   extra=NO_AUDIT_PRESET)
    os.mkfifo(tree / "notes.fifo")
    (tree / "docs").mkdir()
    os.mkfifo(tree / "docs" / "pipe")
    result = _footprint(tree, timeout=120)
    assert_verdict(result, 0)


APPENDER = """
    import os
    if os.environ.get("HOSTILE_IMPORT") == "append":
        with open(__file__, "a") as handle:
            handle.write("#" * 1_000_000 + "\\n")
    VALUE = 1
"""


def test_an_import_that_grows_its_installed_file_does_not_change_later_runs(tmp_path):
    tree = project(tmp_path / "tree", {"grower/__init__.py": APPENDER}, name="grower",
                   extra=NO_AUDIT_PRESET)
    env = {"CLOACINA_AUDIT_CACHE_DIR": str(tmp_path / "cache")}
    first = _footprint(tree, env={**env, "HOSTILE_IMPORT": "append"})
    assert_verdict(first, 0)
    second = _footprint(tree, env=env)
    assert_verdict(second, 0)
    size = [json.loads(r.stdout)["packages"][0]["footprint"]["install_bytes"]
            for r in (first, second)]
    assert size[0] == size[1], f"the cached environment grew: {size[0]} -> {size[1]} B"
