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
    for module in sorted(downstream):
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            first = (module, imported)
            if first in starts or imported not in reaching or imported in downstream:
                continue
            chain = _best_chain(
                graph, {module}, upstream, family, reaching, set(), edge_kind, costs, first=first
            )
            if chain is not None:
                chains.append(chain)
    return chains


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
    heap: list[tuple[int, int, int, tuple[str, ...]]] = [
        (0, 0, 0, (start,)) for start in sorted(downstream) if start in reaching
    ]
    if first is not None:  # only chains that begin with this import
        if first not in costs:
            costs[first] = cost_of_kind(edge_kind(*first))
        heap = [(*costs[first], first)]
    heapq.heapify(heap)
    done: set[str] = set()
    while heap:
        type_checking, deferred, length, path = heapq.heappop(heap)
        module = path[-1]
        if module in done:
            continue
        done.add(module)
        if length and module in upstream:
            return path
        if length and module in family:
            continue  # a module of either package is never an inner step
        for imported in graph.find_modules_directly_imported_by(module):
            if imported in done or imported not in reaching or (module, imported) in used:
                continue
            if (module, imported) not in costs:
                costs[(module, imported)] = cost_of_kind(edge_kind(module, imported))
            a, b, c = costs[(module, imported)]
            heapq.heappush(heap, (type_checking + a, deferred + b, length + c, (*path, imported)))
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
