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
search with (cost, path) as the priority pops the best chain first.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable

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
    with inner modules in neither set.

    ``edge_kind(importer, imported)`` is the kind that describes an edge (its
    strongest import statement); it is asked only for edges on routes to an
    upstream module, so kinds are read for the files of candidate chains alone.
    """
    family = downstream | upstream
    reaching = _modules_reaching(graph, upstream, family)
    costs: dict[tuple[str, str], EdgeCost] = {}
    used: set[tuple[str, str]] = set()
    chains = []
    while True:
        chain = _best_chain(graph, downstream, upstream, family, reaching, used, edge_kind, costs)
        if chain is None:
            break
        chains.append(chain)
        used.update(zip(chain, chain[1:]))
    # Edge-disjoint chains hide a statement whose only routes share a later edge with a
    # chain already shown (pricing.py's ``from cloacina.context import Context`` runs
    # cloacina/__init__.py like tasks.py's ``from cloacina import ...``): every import out
    # of the source package that starts a route still gets its best chain.
    starts = {chain[:2] for chain in chains}
    wanted = [
        (module, imported)
        for module in sorted(downstream)
        for imported in sorted(graph.find_modules_directly_imported_by(module))
        if (module, imported) not in starts and imported in reaching and imported not in downstream
    ]
    routes = _best_routes(graph, upstream, family, {imported for _, imported in wanted},
                          edge_kind, costs)
    chains += [(module, *routes[imported]) for module, imported in wanted if imported in routes]
    return chains


def _best_routes(
    graph: grimp.ImportGraph,
    upstream: set[str],
    family: set[str],
    targets: set[str],
    edge_kind: Callable[[str, str], str],
    costs: dict[tuple[str, str], EdgeCost],
) -> dict[str, tuple[str, ...]]:
    """The best route from each of ``targets`` to an upstream module (the module alone
    when it is one), with inner modules outside ``family``.

    One search backwards from the upstream modules instead of one forwards from each
    target: the best route from a module is the module, then the best route from one
    of its imports (ranks add up, and a common prefix leaves the module names to decide
    as they would), so routes are settled in rank order from the upstream end, each
    at most once. Edges are priced lazily, as in ``_best_chain``.
    """
    heap: list[tuple[int, int, int, tuple[str, ...], bool]] = [
        (0, 0, 0, (module,), True) for module in upstream
    ]
    heapq.heapify(heap)
    routes: dict[str, tuple[str, ...]] = {}
    pending = set(targets)
    while heap and pending:
        type_checking, deferred, length, path, exact = heapq.heappop(heap)
        module = path[0]
        if module in routes:
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
        routes[module] = path
        pending.discard(module)
        for importer in graph.find_modules_that_directly_import(module):
            if importer in routes or importer in family:
                continue  # a module of either package is never an inner step
            a, b, c = costs.get((importer, module), _LEAST)
            heapq.heappush(heap, (type_checking + a, deferred + b, length + c,
                                  (importer, *path), (importer, module) in costs))
    return routes


def _best_chain(
    graph: grimp.ImportGraph,
    downstream: set[str],
    upstream: set[str],
    family: set[str],
    reaching: set[str],
    used: set[tuple[str, str]],
    edge_kind: Callable[[str, str], str],
    costs: dict[tuple[str, str], EdgeCost],
    first: tuple[str, str] | None = None,
) -> tuple[str, ...] | None:
    """Dijkstra's search, pricing edges lazily: a path whose last edge has no known cost
    yet is queued at the least cost any edge has (``_LEAST``), and priced only when it
    comes first. Its cost then is exact, or it is queued again at its exact cost. A
    queued cost is never above the exact one, so the first exact path to pop is the one
    an eager search pops: the same chain, with kinds read only for the edges that came
    first (reading a kind can mean parsing the importer's file)."""
    heap: list[tuple[int, int, int, tuple[str, ...], bool]] = [
        (0, 0, 0, (start,), True) for start in sorted(downstream) if start in reaching
    ]
    if first is not None:  # only chains that begin with this import
        heap = [(0, 0, 1, first, False)]
    heapq.heapify(heap)
    done: set[str] = set()
    while heap:
        type_checking, deferred, length, path, exact = heapq.heappop(heap)
        module = path[-1]
        if module in done:
            continue
        if not exact:
            edge = (path[-2], module)
            if edge not in costs:
                costs[edge] = cost_of_kind(edge_kind(*edge))
            cost = costs[edge]
            if cost != _LEAST:
                heapq.heappush(heap, (type_checking + cost[0], deferred + cost[1],
                                      length - 1 + cost[2], path, True))
                continue
        done.add(module)
        if length and module in upstream:
            return path
        if length and module in family:
            continue  # a module of either package is never an inner step
        for imported in graph.find_modules_directly_imported_by(module):
            if imported in done or imported not in reaching or (module, imported) in used:
                continue
            a, b, c = costs.get((module, imported), _LEAST)
            heapq.heappush(heap, (type_checking + a, deferred + b, length + c,
                                  (*path, imported), (module, imported) in costs))
    return None


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
