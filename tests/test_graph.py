"""analysis/imports/graph.py on its own: what the package graph holds, built by grimp
from packages written in temp dirs (the CLI tests see it only through verdicts)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from conftest import write_tree
from hypothesis import example, given, settings
from hypothesis import strategies as st

from cloacina_audit.analysis.imports.graph import IMPLICIT, build_package_graph
from cloacina_audit.analysis.imports.searchpath import SearchPath
from cloacina_audit.errors import AuditError

TREE = {
    "site/wf/__init__.py": "from wf import tasks\n",
    "site/wf/tasks.py": "import engine.runner\nimport json\n\ndef later():\n    import nowhere\n",
    "site/wf/nested/deep.py": "from ..tasks import later\n",  # nested/ is a namespace directory
    "site/engine/__init__.py": "",
    "site/engine/runner.py": "from engine import db\n",
    "site/engine/db.py": "import sqlite3\n",
}


@pytest.fixture
def site(tmp_path: Path) -> Path:
    write_tree(tmp_path, TREE)
    return tmp_path / "site"


def edges(graph, importer: str) -> set[str]:
    return set(graph.find_modules_directly_imported_by(importer))


def test_following_graphs_the_packages_the_audited_ones_reach(site: Path) -> None:
    graph = build_package_graph(["wf"], SearchPath([site]), cache_dir=None)
    assert set(graph.roots) == {"wf", "engine"}
    assert graph.roots["engine"] == site / "engine"
    assert edges(graph.graph, "engine.runner") == {"engine.db"}
    # What stays squashed: the stdlib, and what no search path holds.
    assert graph.externals == {"json", "nowhere", "sqlite3"}
    assert not graph.graph.is_module_squashed("engine")


def test_without_following_the_other_packages_stay_squashed(site: Path) -> None:
    graph = build_package_graph(["wf"], SearchPath([site]), cache_dir=None, follow=False)
    assert set(graph.roots) == {"wf"}
    assert graph.graph.is_module_squashed("engine")
    assert edges(graph.graph, "wf.tasks") >= {"engine"}
    assert graph.externals == set()


def test_a_package_on_no_search_path_is_missing(site: Path) -> None:
    graph = build_package_graph(["wf"], SearchPath([site]), cache_dir=None)
    assert "nowhere" in graph.missing
    assert graph.is_not_installed("nowhere")
    assert graph.missing_ancestor("nowhere.sub.mod") == "nowhere"
    assert graph.missing_ancestor("engine.db") is None
    assert "json" not in graph.missing and "sqlite3" not in graph.missing  # the stdlib


def test_module_files(site: Path) -> None:
    graph = build_package_graph(["wf"], SearchPath([site]), cache_dir=None)
    assert graph.module_file("wf") == site / "wf" / "__init__.py"
    assert graph.module_file("wf.tasks") == site / "wf" / "tasks.py"
    assert graph.module_file("wf.nested") is None  # a namespace directory runs nothing
    assert graph.module_file("wf.nested.deep") == site / "wf" / "nested" / "deep.py"
    assert graph.module_file("json") is None  # not in a scanned root


def test_implicit_parent_imports_go_to_the_nearest_package_that_runs_code(site: Path) -> None:
    graph = build_package_graph(["wf"], SearchPath([site]), cache_dir=None)
    implicit = graph.with_implicit_parent_imports()
    assert "wf" in edges(implicit, "wf.tasks")
    # wf.nested has no __init__.py: importing wf.nested.deep runs wf/__init__.py.
    assert "wf" in edges(implicit, "wf.nested.deep")
    [detail] = [d for d in implicit.get_import_details(importer="wf.tasks", imported="wf")]
    assert detail["line_contents"] == IMPLICIT
    assert "wf" not in edges(graph.graph, "wf.tasks")  # the original is unchanged


def test_a_cached_graph_is_the_same_graph_and_an_edit_is_seen(site: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    search = SearchPath([site])
    cold = build_package_graph(["wf"], search, cache_dir=cache)
    warm = build_package_graph(["wf"], search, cache_dir=cache)
    assert warm.graph.modules == cold.graph.modules
    for module in sorted(cold.graph.modules):
        assert edges(warm.graph, module) == edges(cold.graph, module)
    assert warm.roots == cold.roots and warm.missing == cold.missing

    (site / "wf" / "tasks.py").write_text("import engine.db\n# edited\n")
    edited = build_package_graph(["wf"], search, cache_dir=cache)
    assert edges(edited.graph, "wf.tasks") == {"engine.db"}


def test_a_package_that_is_not_there_is_one_clear_error(site: Path) -> None:
    with pytest.raises(AuditError, match="absent"):
        build_package_graph(["absent"], SearchPath([site]), cache_dir=None)


def test_a_relative_import_beyond_the_top_level_package_is_refused(tmp_path: Path) -> None:
    write_tree(tmp_path, {"site/wf/__init__.py": "", "site/wf/bad.py": "from ... import x\n"})
    with pytest.raises(AuditError) as caught:
        build_package_graph(["wf"], SearchPath([tmp_path / "site"]), cache_dir=None)
    assert "bad.py" in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("files", "found"),
    [
        ({"a/mod/__init__.py": ""}, "a/mod"),
        ({"a/mod.py": "", "b/mod/__init__.py": ""}, None),  # a module earlier on the path shadows
        ({"a/mod.cpython-311-x86_64-linux-gnu.so": "", "b/mod/__init__.py": ""}, None),
        ({"a/mod.abi3.so": "", "b/mod/__init__.py": ""}, None),
        ({"a/mod.so": "", "b/mod/__init__.py": ""}, None),
        ({"a/mod/__init__.py": "", "a/mod.py": ""}, "a/mod"),  # within a directory the package wins
        ({"a/mod/plain.py": "", "b/mod/__init__.py": ""}, "b/mod"),  # no __init__: not a package
        ({"a/mode.py": "", "a/mod.sox": "", "a/modx.abi3.so": "", "b/mod/__init__.py": ""}, "b/mod"),
        ({"a/mod.py/__init__.py": "", "b/mod/__init__.py": ""}, "b/mod"),  # a directory, not a module
    ],
)
def test_find_package_follows_the_path_finders_order(tmp_path: Path, files, found) -> None:
    write_tree(tmp_path, files)
    (tmp_path / "a").mkdir(exist_ok=True)
    (tmp_path / "b").mkdir(exist_ok=True)
    search = SearchPath([tmp_path / "a", tmp_path / "b"])
    assert search.find_package("mod") == (tmp_path / found if found else None)
    assert search.find_package("absent") is None


# --- the closure, scanned a round at a time ---------------------------------------------

_PACKAGES = ("p0", "p1", "p2", "p3")
_STATEMENTS = st.sampled_from([
    "import {p}.m{m}", "from {p} import m{m}", "from {p}.m{m} import name", "import {p}",
    "from {p} import name", "import nowhere.sub", "import json",
])


@st.composite
def _closures(draw: st.DrawFn) -> dict[str, str]:
    """Four packages of three modules each, importing each other's modules, names and
    packages at random: the closure from p0 takes one to four rounds."""
    files = {}
    for package in _PACKAGES:
        for module in ("__init__", "m0", "m1", "m2"):
            lines = [
                draw(_STATEMENTS).format(p=draw(st.sampled_from(_PACKAGES)),
                                         m=draw(st.integers(0, 2)))
                for _ in range(draw(st.integers(0, 3)))
            ]
            files[f"site/{package}/{module}.py"] = "".join(f"{line}\nname = 1\n" for line in lines)
    return files


def _dump(graph) -> list[tuple]:
    return [
        (module, graph.is_module_squashed(module), imported,
         sorted((d["line_number"], d["line_contents"])
                for d in graph.get_import_details(importer=module, imported=imported)))
        for module in sorted(graph.modules)
        for imported in sorted(graph.find_modules_directly_imported_by(module))
    ]


@settings(max_examples=40, deadline=None)
@given(_closures())
@example({  # three rounds: p0 reaches p1, which reaches p2; p0 also imports p2.m1 itself
    "site/p0/__init__.py": "import p1.m0\nimport p2.m1\n",
    "site/p1/__init__.py": "", "site/p1/m0.py": "from p2 import m0\n",
    "site/p2/__init__.py": "", "site/p2/m0.py": "", "site/p2/m1.py": "",
})
def test_the_closure_scanned_round_by_round_is_one_scan_of_every_package(files) -> None:
    """A file's scan is kept from an earlier round unless it imports a package added
    since; the graph must be the one a single scan of the final packages gives, where
    p0's ``import p2.m1`` is an edge to p2.m1, not to a squashed p2."""
    with tempfile.TemporaryDirectory() as directory:
        site = write_tree(Path(directory), files) / "site"
        grown = build_package_graph(["p0"], SearchPath([site]), cache_dir=None)
        at_once = build_package_graph(sorted(grown.roots), SearchPath([site]), cache_dir=None,
                                      follow=False)
        assert _dump(grown.graph) == _dump(at_once.graph)
        assert set(grown.roots) == _reached_from("p0", at_once.graph)


def _reached_from(package: str, graph) -> set[str]:
    """The packages of the site whose modules ``package``'s modules reach through imports
    and parents."""
    pending = [m for m in graph.modules if m.split(".")[0] == package]
    seen = set(pending)
    while pending:
        module = pending.pop()
        parent = {module.rsplit(".", 1)[0]} if "." in module else set()
        for neighbour in (graph.find_modules_directly_imported_by(module) | parent) - seen:
            seen.add(neighbour)
            pending.append(neighbour)
    return {m.split(".")[0] for m in seen} & set(_PACKAGES)
