"""Hostile package layouts and import graphs: symlink loops, namespace directories,
cycles, relative imports that climb out of the package."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from .support import assert_clean_error, assert_verdict, audit, project


def _violations(stdout: str) -> list[list[dict]]:
    """Chains of every broken contract's violations."""
    report = json.loads(stdout)
    return [v["chain"] for c in report["packages"][0]["contracts"] if not c["kept"]
            for v in c["violations"]]


def _importers(stdout: str) -> set[str]:
    return {chain[0]["importer"] for chain in _violations(stdout)}


# --- symlink loops ------------------------------------------------------------------
#
# A directory symlink that points back up the package makes an infinite tree of
# module names (pkg.again.again...). Python would import any of them, but they
# are all the same files: the right outcome is the verdict on the real files
# (one violation, from pkg.m), found quickly; a loop is not followed.


def _loop_tree(tmp_path: Path, links: dict[str, str]) -> Path:
    tree = project(tmp_path / "tree", {
        "pkg/__init__.py": "",
        "pkg/sub/__init__.py": "",
        "pkg/m.py": "import sqlalchemy\n",
    })
    for link, target in links.items():
        os.symlink(target, tree / "pkg" / link, target_is_directory=True)
    return tree


LOOPS = {
    # The brief's case: a directory symlink pointing to its parent (plus one to itself).
    "parent-and-self": {"sub/up": "..", "self": "."},
    # One link back to the package: followed ~40 levels deep, until the path is too long.
    "back-to-package": {"again": "../pkg"},
}


@pytest.mark.parametrize("case", sorted(LOOPS))
def test_symlink_loop_is_not_followed(tmp_path, case):
    tree = _loop_tree(tmp_path, LOOPS[case])
    started = time.monotonic()
    result = audit(tree, "check", str(tree), "--format", "json", timeout=10)
    assert_verdict(result, 1)
    assert _importers(result.stdout) == {"pkg.m"}
    assert time.monotonic() - started < 10


def test_symlink_to_a_sibling_module_is_an_ordinary_module(tmp_path):
    """Not every symlink is a loop: a file symlink is read like the file it names."""
    tree = project(tmp_path / "tree", {"pkg/__init__.py": "", "pkg/real.py": "import sqlalchemy\n"})
    os.symlink("real.py", tree / "pkg/alias.py")
    result = audit(tree, "check", str(tree), "--format", "json")
    assert_verdict(result, 1)
    assert "pkg.real" in _importers(result.stdout)


def test_dangling_symlink_is_skipped(tmp_path):
    tree = project(tmp_path / "tree", {"pkg/__init__.py": "import json\n"})
    os.symlink("does-not-exist.py", tree / "pkg/gone.py")
    os.symlink("nowhere", tree / "pkg/gone_dir", target_is_directory=True)
    result = audit(tree, "check", str(tree))
    assert result.code in (0, 2), result.stderr
    if result.code == 2:
        assert_clean_error(result, "gone")
    else:
        assert_verdict(result, 0)


# --- directories without __init__.py --------------------------------------------------
#
# Inside a regular package, a directory without __init__.py is a namespace
# package to Python 3 (PEP 420): `import pkg.sub.m` works, and hatchling ships
# pkg/sub/m.py in the wheel. So its modules are part of the package, and a
# forbidden import in them breaks the contract. A top-level directory without
# __init__.py is not found as a package: exit 2, one line.


@pytest.mark.parametrize("imported", [True, False], ids=["imported-by-init", "not-imported"])
def test_namespace_subdirectory_is_part_of_the_package(tmp_path, imported):
    tree = project(tmp_path / "tree", {
        "pkg/__init__.py": "import pkg.sub.m\n" if imported else "",
        "pkg/sub/m.py": "import sqlalchemy\n",
        "pkg/sub/deeper/d.py": "X = 1\n",
    })
    result = audit(tree, "check", str(tree), "--format", "json")
    assert_verdict(result, 1)
    assert "pkg.sub.m" in {step["importer"] for chain in _violations(result.stdout)
                           for step in chain}


def test_namespace_directories_are_scanned_at_any_depth_and_cached_by_content(tmp_path):
    """grimp's own finder skips these (python-grimp/grimp#298); ours lists them."""
    tree = project(tmp_path / "tree", {
        "pkg/__init__.py": "",
        "pkg/plugins/builtin/x.py": "X = 1\n",  # plugins/ holds no module itself
        "pkg/ok/__init__.py": "",
        "pkg/ok/static/css/site.css": "body {}\n",
        "pkg/ok/not-importable/tool.py": "import sqlalchemy\n",  # not a package name
        ".importlinter": """
            [importlinter]
            root_package = pkg

            [importlinter:contract:light]
            name = the builtin plugin stays light
            type = forbidden
            source_modules = pkg.plugins.builtin.x
            forbidden_modules = sqlalchemy
        """,
    })
    assert_verdict(audit(tree, "check", str(tree)), 0)

    (tree / "pkg/plugins/builtin/x.py").write_text("from .. import y\n")
    (tree / "pkg/plugins/y.py").write_text("import sqlalchemy\n")
    result = audit(tree, "check", str(tree), "--format", "json")
    assert_verdict(result, 1)
    [chain] = _violations(result.stdout)
    assert [(s["importer"], s["imported"], s["statement"]) for s in chain] == [
        ("pkg.plugins.builtin.x", "pkg.plugins.y", "from .. import y"),
        ("pkg.plugins.y", "sqlalchemy", "import sqlalchemy"),
    ]


def test_implicit_chain_skips_a_namespace_parent_to_the_init_that_runs(tmp_path):
    tree = project(tmp_path / "tree", {
        "pkg/__init__.py": "import sqlalchemy\n",
        "pkg/sub/m.py": "X = 1\n",
        ".importlinter": """
            [importlinter]
            root_package = pkg

            [importlinter:contract:light]
            name = m stays light
            type = forbidden
            source_modules = pkg.sub.m
            forbidden_modules = sqlalchemy
        """,
    })
    result = audit(tree, "check", str(tree), "--preset", "none", "--format", "json")
    assert_verdict(result, 1)
    [chain] = _violations(result.stdout)
    assert [(s["importer"], s["imported"], s["kind"]) for s in chain] == [
        ("pkg.sub.m", "pkg", "implicit"), ("pkg", "sqlalchemy", "module"),
    ]
    assert chain[0]["statement"] == "(implicit) importing pkg.sub.m runs pkg/__init__.py"


def test_top_level_directory_without_init_is_not_a_package(tmp_path):
    tree = project(tmp_path / "tree", {"pkg/sub/m.py": "import sqlalchemy\n"})
    assert_clean_error(audit(tree, "check", str(tree)), "no Python package found")


# --- import cycles ----------------------------------------------------------------------


def test_two_module_cycle_with_a_forbidden_import(tmp_path):
    tree = project(tmp_path / "tree", {
        "pkg/__init__.py": "from pkg import a\n",
        "pkg/a.py": "from pkg import b\n",
        "pkg/b.py": "from pkg import a\nimport sqlalchemy\n",
    })
    result = audit(tree, "check", str(tree), "--format", "json", timeout=30)
    assert_verdict(result, 1)
    chains = _violations(result.stdout)
    assert [(s["importer"], s["imported"], s["line"]) for s in chains[0]] == [
        ("pkg.b", "sqlalchemy", 2)]


def test_cycles_without_forbidden_imports_pass(tmp_path):
    tree = project(tmp_path / "tree", {
        "pkg/__init__.py": "import pkg\nimport pkg.a\n",
        "pkg/a.py": "import pkg.b\nimport pkg.a\n",
        "pkg/b.py": "from pkg import a\nfrom . import b\n",
        "pkg/c/__init__.py": "from pkg.c import d\n",
        "pkg/c/d.py": "from .. import c\nimport pkg\n",
    })
    assert_verdict(audit(tree, "check", str(tree), timeout=30), 0)


def test_cycle_through_a_dependency_and_back(tmp_path):
    """pkg -> dep -> pkg -> dep...: the dependency found through a uv path source."""
    tree = tmp_path / "tree"
    project(tree / "dep", {"dep/__init__.py": "import pkg\nimport sqlalchemy\n"}, name="dep")
    project(tree / "proj", {"pkg/__init__.py": "import dep\n"}, dependencies='["dep"]',
            extra='[tool.uv.sources]\ndep = { path = "../dep" }\n')
    result = audit(tree, "check", str(tree / "proj"), "--format", "json", timeout=30)
    assert_verdict(result, 1)
    chain = _violations(result.stdout)[0]
    assert [(s["importer"], s["imported"]) for s in chain] == [
        ("pkg", "dep"), ("dep", "sqlalchemy")]


# --- relative imports beyond the top-level package --------------------------------------
#
# Python refuses them when the module is imported ("attempted relative import
# beyond top-level package"), so the package is broken in the same way as with
# a syntax error: exit 2, one line naming file and line.

BEYOND = {
    "three-dots-in-module": ("mod.py", "import json\nfrom ... import x\n"),
    "three-dots-in-init": ("__init__.py", "import json\nfrom ... import x\n"),
    "two-dots-in-module": ("mod.py", "import json\nfrom .. import x\n"),
    "two-dots-to-a-forbidden-name": ("mod.py", "import json\nfrom ..cloacina.runtime import x\n"),
    "spaced-dots": ("mod.py", "import json\nfrom . . import x\n"),
    "after-a-semicolon": ("mod.py", "import json\nx = 1; from .. import x\n"),
    "one-line-if": ("mod.py", "import json\nif x: from ..y import z\n"),
    "in-a-function": ("mod.py", "import json\ndef f(): from .. import x\n"),
}


@pytest.mark.parametrize("case", sorted(BEYOND))
def test_relative_import_beyond_the_top_package(tmp_path, case):
    name, source = BEYOND[case]
    files = {"pkg/__init__.py": "", f"pkg/{name}": source}
    tree = project(tmp_path / "tree", files)
    result = audit(tree, "check", str(tree))
    assert_clean_error(result, f"pkg/{name}:2")
    assert "relative import" in result.stderr


def test_relative_import_to_the_top_package_itself_is_fine(tmp_path):
    tree = project(tmp_path / "tree", {
        "pkg/__init__.py": "from . import mod\n",
        "pkg/mod.py": "from . import sub\n",
        "pkg/sub/__init__.py": "from .. import mod\nfrom ..mod import *\n",
        "pkg/text.py": 'DOC = """\nfrom ... import x\n"""\n# from .... import y\n',
    })
    assert_verdict(audit(tree, "check", str(tree)), 0)
