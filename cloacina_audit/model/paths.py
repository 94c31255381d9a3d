"""Shortest paths in a dependency mapping, breadth first: the route ``why`` shows."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable


def shortest_path(
    starts: Iterable[str], target: str, following: Callable[[str], Iterable[str]]
) -> list[str]:
    """The fewest-steps path from one of ``starts`` to ``target`` (start and target
    included), following ``following(name)`` in order; [] when none reaches it."""
    parents: dict[str, str | None] = {}
    pending: deque[str] = deque()
    for start in starts:
        if start not in parents:
            parents[start] = None
            pending.append(start)
    while pending:
        name = pending.popleft()
        if name == target:
            path: list[str] = []
            current: str | None = name
            while current is not None:
                path.insert(0, current)
                current = parents[current]
            return path
        for dependency in following(name):
            if dependency not in parents:
                parents[dependency] = name
                pending.append(dependency)
    return []
