"""The chains to show for a broken forbidden contract: the routes that run at import time.

For a (source, forbidden) pair of packages, grimp (3.20, which import-linter
asks) reports edge-disjoint shortest chains: a shortest chain from the source
package's modules to the forbidden package's, then another without the imports
already shown, until none is left. It picks *a* shortest chain in the iteration
order of its hash sets, so the chains, and even which modules they end at,
change with ``PYTHONHASHSEED``; and a chain through ``if TYPE_CHECKING:`` imports
can be shown while a module-level route exists.

Here the chains are found the same way, edge-disjoint and with inner modules
outside both packages, but each one is the best under a lexicographic rank:

1. fewest TYPE_CHECKING steps (they never run),
2. then fewest deferred (function-level) steps (they run only when called),
3. then fewest steps,
4. then the module names, compared as a tuple: a deterministic tie-break.

Module-level and implicit (parent ``__init__``) steps cost only their length.
The rank is a sum over the steps followed by the path itself, so Dijkstra's
search with (cost, path) as the priority pops the best chain first; it searches
backwards, from the forbidden package, which is usually the smaller side.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Iterator

import grimp

#: (type_checking steps, deferred steps, steps) of one import edge.
EdgeCost = tuple[int, int, int]

_COST_OF_KIND: dict[str, EdgeCost] = {
    "module": (0, 0, 1),
    "implicit": (0, 0, 1),
    "function": (0, 1, 1),
    "type_checking": (1, 0, 1),
}


#: What an edge costs at least, whatever its kind: one step.
_LEAST: EdgeCost = (0, 0, 1)


def cost_of_kind(kind: str) -> EdgeCost:
    return _COST_OF_KIND.get(kind, (0, 0, 1))


def chain_rank(kinds: Iterable[str], modules: tuple[str, ...]) -> tuple[int, int, int, tuple[str, ...]]:
    """The rank of a chain with steps of ``kinds`` through ``modules`` (lower is better)."""
    total = (0, 0, 0)
    for kind in kinds:
        total = _add(total, cost_of_kind(kind))
    return (*total, modules)


def _add(a: EdgeCost, b: EdgeCost) -> EdgeCost:
    return (a[0] + b[0], a[1] + b[1], a[2] + b[2])


def forbidden_chains(
    graph: grimp.ImportGraph,
    downstream: set[str],
    upstream: set[str],
    edge_kind: Callable[[str, str], str],
) -> list[tuple[str, ...]]:
    """Edge-disjoint chains from ``downstream`` modules to ``upstream`` ones, best first,
    with inner modules in neither set (the two never overlap: import-linter skips such pairs).

    ``edge_kind(importer, imported)`` is the kind that describes an edge (its
    strongest import statement); it is asked only for edges on routes to an
    upstream module, so kinds are read for the files of candidate chains alone.
    """
    family = downstream | upstream
    costs: dict[tuple[str, str], EdgeCost] = {}
    used: set[tuple[str, str]] = set()
    chains = []
    while True:
        chain = next((path for path in _settled(graph, upstream, family, downstream, used,
                                                edge_kind, costs)
                      if len(path) > 1 and path[0] in downstream), None)
        if chain is None:
            break
        chains.append(chain)
        used.update(zip(chain, chain[1:]))
    # Edge-disjoint chains hide a statement whose only routes share a later edge with a
    # chain already shown (pricing.py's ``from cloacina.context import Context`` runs
    # cloacina/__init__.py like tasks.py's ``from cloacina import ...``): every import out
    # of the source package that starts a route still gets its best chain.
    starts = {chain[:2] for chain in chains}
    reaching = _modules_reaching(graph, upstream, family)
    wanted = [
        (module, imported)
        for module in sorted(downstream)
        for imported in sorted(graph.find_modules_directly_imported_by(module))
        if (module, imported) not in starts and imported in reaching and imported not in downstream
    ]
    routes: dict[str, tuple[str, ...]] = {}
    pending = {imported for _, imported in wanted}
    for path in _settled(graph, upstream, family, set(), set(), edge_kind, costs):
        if not pending:
            break
        routes[path[0]] = path
        pending.discard(path[0])
    chains += [(module, *routes[imported]) for module, imported in wanted if imported in routes]
    return chains


def _settled(
    graph: grimp.ImportGraph,
    upstream: set[str],
    family: set[str],
    starts: set[str],
    used: set[tuple[str, str]],
    edge_kind: Callable[[str, str], str],
    costs: dict[tuple[str, str], EdgeCost],
) -> Iterator[tuple[str, ...]]:
    """The best route from each module to an upstream one, best first (Dijkstra's search,
    backwards from the upstream modules): an upstream module alone, then routes through
    modules outside ``family``, and routes that begin at one of ``starts``. No route
    takes an edge in ``used``.

    The best route from a module is the module, then the best route from one of its
    imports (ranks add up, and behind a common first module the rest decides), so
    each module is settled once, from the upstream end. The first route settled from
    a source module is the best chain of all; the routes of the modules a source module
    imports come from one search instead of one search from each.

    Edges are priced lazily: a route whose first edge has no known cost yet is queued
    at the least cost any edge has (``_LEAST``) and priced only when it comes first;
    its cost is then exact, or it is queued again at its exact cost. A queued cost is
    never above the exact one, so routes are settled in the order an eager search
    settles them, and kinds are read only for the edges that came first (reading a
    kind can mean parsing the importer's file).
    """
    heap: list[tuple[int, int, int, tuple[str, ...], bool]] = [
        (0, 0, 0, (module,), True) for module in upstream
    ]
    heapq.heapify(heap)
    settled: set[str] = set()
    while heap:
        type_checking, deferred, length, path, exact = heapq.heappop(heap)
        module = path[0]
        if module in settled:
            continue
        if not exact:
            edge = (module, path[1])
            if edge not in costs:
                costs[edge] = cost_of_kind(edge_kind(*edge))
            cost = costs[edge]
            if cost != _LEAST:
                heapq.heappush(heap, (type_checking + cost[0], deferred + cost[1],
                                      length - 1 + cost[2], path, True))
                continue
        settled.add(module)
        yield path
        if length and module in family:
            continue  # a module of either package is never an inner step
        for importer in graph.find_modules_that_directly_import(module):
            if importer in settled or (importer, module) in used:
                continue
            if importer in family and importer not in starts:
                continue
            a, b, c = costs.get((importer, module), _LEAST)
            heapq.heappush(heap, (type_checking + a, deferred + b, length + c,
                                  (importer, *path), (importer, module) in costs))


def _modules_reaching(graph: grimp.ImportGraph, upstream: set[str], family: set[str]) -> set[str]:
    """``upstream`` and every module with a chain to it whose inner modules avoid ``family``."""
    reaching = set(upstream)
    pending = list(upstream)
    while pending:
        module = pending.pop()
        for importer in graph.find_modules_that_directly_import(module):
            if importer in reaching:
                continue
            reaching.add(importer)
            if importer not in family:
                pending.append(importer)
    return reaching
