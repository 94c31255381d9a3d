"""Cloacina packages shaped like the public repository's Python examples, written here.

Shapes seen in colliery-io/cloacina 0.10.0 (examples/fixtures/demo-py-*,
examples/features/workflows/python-*, examples/features/computation-graphs/python-*-graph)
and in the packaging how-to (a package directory without ``__init__.py``); the code
is ours. :func:`pack` builds a ``.cloacina`` archive the way fidius ``pack_package``
does: bzip2 level 9, regular files only, sorted, under ``<name>-<version>/``;
:func:`member` and :func:`special_member` are entries of archives built by hand.
"""

from __future__ import annotations

import tarfile
import textwrap
from pathlib import Path

from conftest import write_tree

TASKS = """
    import cloaca


    @cloaca.task(id="fetch")
    def fetch(context):
        context.set("rows", 3)
        return context


    @cloaca.task(id="store", dependencies=["fetch"])
    def store(context):
        return context
"""

GRAPH = """
    import cloaca


    @cloaca.passthrough_accumulator
    def prices(event):
        return event


    @cloaca.reactor(name="quotes_rx", accumulators=["prices"], mode="when_any")
    class _Reactor:
        pass


    with cloaca.ComputationGraphBuilder(
        "quotes", reactor=_Reactor, graph={"decide": {"inputs": ["prices"]}}
    ) as builder:

        @cloaca.node
        def decide(prices):
            return {"spread": prices["ask"] - prices["bid"]}
"""


def package_table(name: str, version: str) -> str:
    """The full ``[package]`` table of a Cloacina package's ``package.toml``."""
    return (f'[package]\nname = "{name}"\nversion = "{version}"\n'
            'interface = "cloacina-workflow-plugin"\ninterface_version = 1\nextension = "cloacina"\n')


def manifest(name: str, entry_module: str, *, graph: bool = False, version: str = "0.1.0") -> str:
    kind = f'graph_name = "{name.replace("-", "_")}"' if graph else (
        f'workflow_name = "{name.replace("-", "_")}"'
    )
    return package_table(name, version) + textwrap.dedent(f"""
        [metadata]
        language = "python"
        {kind}
        entry_module = "{entry_module}"
    """)


def flat_module(root: Path, tasks: str = TASKS, *, graph: bool = False) -> Path:
    """``workflow/flat_tasks.py`` with ``entry_module = "flat_tasks"``."""
    return write_tree(root / "flat-tasks", {
        "package.toml": manifest("flat-tasks", "flat_tasks", graph=graph),
        "workflow/flat_tasks.py": tasks,
    })


def namespace_layout(root: Path, tasks: str = TASKS) -> Path:
    """The how-to's layout: ``workflow/data_pipeline/tasks.py``, no ``__init__.py``."""
    return write_tree(root / "data-pipeline", {
        "package.toml": manifest("data-pipeline", "data_pipeline.tasks"),
        "workflow/data_pipeline/tasks.py": tasks,
        "README.md": "# data pipeline\n",
    })


def computation_graph(root: Path, graph: str = GRAPH) -> Path:
    return write_tree(root / "quotes-graph", {
        "package.toml": manifest("quotes-graph", "quotes_graph.graph", graph=True),
        "workflow/quotes_graph/__init__.py": '"""Quotes graph."""\n',
        "workflow/quotes_graph/graph.py": graph,
    })


def two_packages(root: Path, helper: str = "def total(rows):\n    return sum(rows)\n") -> Path:
    """``workflow/orders/`` importing its sibling package ``workflow/shared/``."""
    return write_tree(root / "orders", {
        "package.toml": manifest("orders", "orders.tasks"),
        "workflow/orders/__init__.py": "",
        "workflow/orders/tasks.py": "from shared.sums import total\n" + textwrap.dedent(TASKS),
        "workflow/shared/__init__.py": "",
        "workflow/shared/sums.py": helper,
    })


def pack(package: Path, destination_dir: Path) -> Path:
    """``<name>-<version>.cloacina`` of ``package``, packed the fidius way."""
    import tomllib

    header = tomllib.loads((package / "package.toml").read_text())["package"]
    prefix = f"{header['name']}-{header['version']}"
    destination = destination_dir / f"{prefix}.cloacina"
    files = sorted(
        p for p in package.rglob("*")
        if p.is_file() and not p.is_symlink() and "__pycache__" not in p.parts
    )
    with tarfile.open(destination, "w:bz2", compresslevel=9) as tar:
        for path in files:
            tar.add(path, arcname=f"{prefix}/{path.relative_to(package).as_posix()}",
                    recursive=False)
    return destination


def member(name: str, data: bytes = b"x = 1\n") -> tuple[tarfile.TarInfo, bytes]:
    """A regular file of a hand-built archive, for ``tar.addfile``."""
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def special_member(name: str, kind: bytes, linkname: str = "") -> tuple[tarfile.TarInfo, bytes]:
    """A directory, link, device or pipe of a hand-built archive (``kind`` is a tarfile type)."""
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    return info, b""
