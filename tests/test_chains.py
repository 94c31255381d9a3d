"""Which chains ``check`` shows, and that it shows the same ones on every run.

Output must be byte-identical for the same input whatever ``PYTHONHASHSEED`` is
and whether the graph came from the cache or a fresh scan; the chain shown for a
pair of packages is the one that runs at import time (module-level and implicit
steps before deferred ones, before TYPE_CHECKING ones, then the shortest, then
by module names).
"""

from __future__ import annotations

import json

import projects
import pytest
from conftest import FIXTURES, run_cli, write_tree
from hypothesis import example, given, settings
from hypothesis import strategies as st

SEEDS = ("0", "1", "7", "123")

# Many equally short routes from the package into the engine's database: grimp's
# pick among them follows hash order.
TIES = {
    **projects.engine_db_contract(),
    "eng/eng/__init__.py": "",
    **{f"eng/eng/mid{i}.py": f"import eng.db.m{i}\n" for i in range(6)},
    "eng/eng/db/__init__.py": "",
    **{f"eng/eng/db/m{i}.py": "" for i in range(6)},
    "proj/wf/__init__.py": "".join(f"import eng.mid{i}\n" for i in range(6)),
    "proj/wf/a.py": "import eng.mid3\nimport eng.mid5\n",
    "proj/wf/b.py": "import eng.mid1\nimport eng.mid2\n",
}


def outputs(args: list[str], env: dict[str, str] | None = None) -> set[str]:
    found = set()
    for seed in SEEDS:
        result = run_cli(*args, env={"PYTHONHASHSEED": seed, **(env or {})})
        assert result.code in (0, 1), result.stderr
        found.add(result.stdout)
    return found


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "github"])
def test_bloated_fixture_output_is_identical_across_hash_seeds_and_cache_states(fmt, tmp_path):
    """Slow (about 6 s a format): eight checks, four hash seeds cold and four warm."""
    cold = outputs(["check", str(FIXTURES / "bloated"), "--no-cache", "--format", fmt])
    cache = {"CLOACINA_AUDIT_CACHE_DIR": str(tmp_path / "cache")}
    warm = outputs(["check", str(FIXTURES / "bloated"), "--format", fmt], env=cache)
    assert len(cold) == 1, f"{len(cold)} different outputs without the cache"
    assert warm == cold, "the cached graph gives other output than a fresh scan"


def test_tied_routes_give_one_output_across_hash_seeds(tmp_path):
    write_tree(tmp_path, TIES)
    project = str(tmp_path / "proj")
    cache = {"CLOACINA_AUDIT_CACHE_DIR": str(tmp_path / "cache")}
    for fmt in ("text", "json"):
        cold = outputs(["check", project, "--no-cache", "--format", fmt])
        warm = outputs(["check", project, "--format", fmt], env=cache)
        assert len(cold) == 1, f"{fmt}: {len(cold)} different outputs without the cache"
        assert warm == cold, f"{fmt}: the cached graph gives other output than a fresh scan"
    report = json.loads(cold.pop())
    [contract] = report["packages"][0]["contracts"]
    chains = [[s["importer"] for s in v["chain"]] + [v["chain"][-1]["imported"]]
              for v in contract["violations"]]
    # Ties are broken by module names: the smallest route first.
    assert chains[0] == ["wf", "eng.mid0", "eng.db.m0"]
    assert chains == sorted(chains, key=lambda c: (len(c), c))


ROUTES = {
    **projects.engine_db_contract("wf.tasks"),
    "eng/eng/__init__.py": "",
    "eng/eng/db.py": "",
    "eng/eng/hub.py": "import eng.relay\n",
    "eng/eng/relay.py": "import eng.db\n",
    "eng/eng/lazy.py": "def connect():\n    import eng.db\n",
    "proj/wf/__init__.py": "",
}


@pytest.mark.parametrize("tasks, expected", [
    # A direct import under TYPE_CHECKING is shorter; the module-level route runs.
    ("from typing import TYPE_CHECKING\nimport eng.hub\nif TYPE_CHECKING:\n    import eng.db\n",
     [("wf.tasks", "eng.hub", "module"), ("eng.hub", "eng.relay", "module"),
      ("eng.relay", "eng.db", "module")]),
    # A deferred step is preferred to a TYPE_CHECKING one, even when longer.
    ("from typing import TYPE_CHECKING\nimport eng.lazy\nif TYPE_CHECKING:\n    import eng.db\n",
     [("wf.tasks", "eng.lazy", "module"), ("eng.lazy", "eng.db", "function")]),
    # A module-level route is preferred to a shorter deferred one.
    ("import eng.hub\ndef f():\n    import eng.db\n",
     [("wf.tasks", "eng.hub", "module"), ("eng.hub", "eng.relay", "module"),
      ("eng.relay", "eng.db", "module")]),
])
def test_the_chain_shown_first_is_the_import_time_route(tmp_path, tasks, expected):
    write_tree(tmp_path, {**ROUTES, "proj/wf/tasks.py": tasks})
    result = run_cli("check", str(tmp_path / "proj"), "--format", "json",
                     "--type-checking-imports", "count")
    assert result.code == 1, result.stdout + result.stderr
    [contract] = json.loads(result.stdout)["packages"][0]["contracts"]
    first = contract["violations"][0]["chain"]
    assert [(s["importer"], s["imported"], s["kind"]) for s in first] == expected


def _reference_chains(edges, kinds, downstream, upstream):
    """The chains as the module docstring of chains.py defines them, by enumerating
    every simple path: edge-disjoint best chains, then the best chain for every import
    out of the source package that starts a route and no chain shown yet."""
    from cloacina_audit.analysis.contracts.chains import chain_rank

    family = downstream | upstream
    out: dict[str, list[str]] = {}
    for importer, imported in edges:
        out.setdefault(importer, []).append(imported)

    def paths_from(path):
        module = path[-1]
        if len(path) > 1 and module in upstream:
            yield path
            return
        if len(path) > 1 and module in family:
            return
        for imported in out.get(module, []):
            if imported not in path:
                yield from paths_from((*path, imported))

    def rank(path):
        return chain_rank((kinds[step] for step in zip(path, path[1:])), path)

    def best(starts, allowed):
        found = [p for s in starts for p in paths_from((s,))
                 if all(step in allowed for step in zip(p, p[1:]))]
        return min(found, key=rank, default=None)

    chains, allowed = [], set(edges)
    while (chain := best(sorted(downstream), allowed)) is not None:
        chains.append(chain)
        allowed -= set(zip(chain, chain[1:]))
    starts = {chain[:2] for chain in chains}
    for module in sorted(downstream):
        for imported in sorted(out.get(module, [])):
            if (module, imported) in starts or imported in downstream:
                continue
            routes = [p for p in paths_from((module,)) if p[1] == imported]
            if routes:
                chains.append(min(routes, key=rank))
    return chains


_NODES = ["s.a", "s.b", "m1", "m2", "m3", "m4", "f.x", "f.y"]
#: The route from the import s.b -> m4, shown by no edge-disjoint chain, is decided by kinds.
_KIND_DECIDES = {("s.a", "m1"): "module", ("m1", "f.x"): "function", ("s.a", "m2"): "module",
                 ("m2", "m3"): "module", ("m3", "f.y"): "module", ("s.b", "m4"): "module",
                 ("m4", "m1"): "module", ("m4", "m3"): "module"}


@settings(max_examples=400, deadline=None)
@example(_KIND_DECIDES)
@given(st.dictionaries(
    st.tuples(st.sampled_from(_NODES), st.sampled_from(_NODES)).filter(lambda e: e[0] != e[1]),
    st.sampled_from(["module", "implicit", "function", "type_checking"]),
    max_size=24,
))
def test_chains_are_the_best_ranked_routes_of_a_brute_force_search(kinds):
    """The searches (lazily priced, one backward search for the routes of the imports
    out of the source package) give exactly the chains that enumerating every path gives."""
    import grimp

    from cloacina_audit.analysis.contracts.chains import forbidden_chains

    graph = grimp.ImportGraph()
    for node in _NODES:
        graph.add_module(node)
    for importer, imported in kinds:
        graph.add_import(importer=importer, imported=imported)
    downstream, upstream = {"s.a", "s.b"}, {"f.x", "f.y"}
    asked: list[tuple[str, str]] = []

    def edge_kind(importer: str, imported: str) -> str:
        asked.append((importer, imported))
        return kinds[(importer, imported)]

    found = forbidden_chains(graph, downstream, upstream, edge_kind)
    assert found == _reference_chains(list(kinds), kinds, downstream, upstream)
    assert len(asked) == len(set(asked)), "an edge was priced twice"
