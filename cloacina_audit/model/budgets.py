"""``[tool.cloacina-audit.budget]``: parse the limits, and hold a footprint to them.

Keys and values:

- ``max-install-size``: a size (``"2 MB"``, ``"512 KiB"``, or bytes as an int),
  compared with ``install_bytes`` (the package itself included).
- ``max-distributions``, ``max-native-files``, ``max-import-modules``: whole
  numbers, compared with the closure's distributions (the package excluded),
  its native files, and the modules the import probe saw loaded.
- ``max-import-time``: seconds (``0.3``) or a duration (``"300 ms"``, ``"1.5 s"``),
  compared with the median import time. Timings are noisy, so the budget is
  only exceeded beyond ``import-time-tolerance`` (default ``"10%"``): a
  ``"300 ms"`` budget fails above 330 ms. The reported limit is the one written.
- ``forbid-distributions``: glob patterns (``"psycopg2*"``) matched with
  fnmatch against canonical names of the closure's distributions.
- ``max-install-growth``: a percentage (``"5%"``); how much ``install_bytes``
  may grow over a before-footprint. Evaluated only when one is given.

Every other key, and every value that does not parse, is an AuditError naming
the key.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cloacina_audit.errors import AuditError
from cloacina_audit.model.names import canonical_name
from cloacina_audit.model.report import BudgetResult, Footprint
from cloacina_audit.model.units import parse_size

WHERE = "tool.cloacina-audit.budget"
DEFAULT_IMPORT_TIME_TOLERANCE = 0.10

_COUNT_KEYS = ("max-distributions", "max-native-files", "max-import-modules", "max-crates")
#: Rust packages: the stripped cdylib (the footprint's install bytes), its crates.
_SIZE_KEYS = ("max-install-size", "max-binary-size")
_PATTERN_KEYS = ("forbid-distributions", "forbid-crates")
_KNOWN_KEYS = (
    "max-install-size",
    "max-binary-size",
    "forbid-crates",
    *_COUNT_KEYS,
    "max-import-time",
    "import-time-tolerance",
    "forbid-distributions",
    "max-install-growth",
)

_DURATION = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*(ms|s|sec|seconds?)?\s*$", re.IGNORECASE)
_PERCENT = re.compile(r"^\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+))\s*%\s*$")


@dataclass(frozen=True)
class Budgets:
    """Validated budgets; ``limits`` keeps the order they were written in."""

    limits: dict[str, Any] = field(default_factory=dict)
    import_time_tolerance: float = DEFAULT_IMPORT_TIME_TOLERANCE

    def __bool__(self) -> bool:
        return bool(self.limits)


def parse_budgets(raw: Mapping[str, Any], where: str = WHERE) -> Budgets:
    """Validate a raw budget table; AuditError naming ``where.key`` on the first bad entry."""
    if not isinstance(raw, Mapping):
        raise AuditError(f"{where} must be a table")
    limits: dict[str, Any] = {}
    tolerance = DEFAULT_IMPORT_TIME_TOLERANCE
    for key, value in raw.items():
        name = f"{where}.{key}"
        if key not in _KNOWN_KEYS:
            raise AuditError(f"{name}: unknown budget (known: {', '.join(_KNOWN_KEYS)})")
        if key in _SIZE_KEYS:
            limits[key] = _size(name, value)
        elif key in _COUNT_KEYS:
            limits[key] = _count(name, value)
        elif key == "max-import-time":
            limits[key] = parse_duration(name, value)
        elif key == "import-time-tolerance":
            tolerance = parse_percent(name, value)
        elif key in _PATTERN_KEYS:
            limits[key] = _patterns(name, value)
        elif key == "max-install-growth":
            limits[key] = parse_percent(name, value, allow_negative=True)
    return Budgets(limits=limits, import_time_tolerance=tolerance)


def evaluate_budgets(
    config_budget: Mapping[str, Any] | Budgets,
    footprint: Footprint,
    before: Footprint | None = None,
) -> list[BudgetResult]:
    """One result per budget, in the order they were written.

    Relative budgets (``max-install-growth``) need ``before``; without it they
    are left out. A budget on the import probe fails when there is no probe.
    """
    budgets = config_budget if isinstance(config_budget, Budgets) else parse_budgets(config_budget)
    results = []
    for key, limit in budgets.limits.items():
        if key == "max-install-growth" and before is None:
            continue
        results.append(_evaluate(key, limit, budgets, footprint, before))
    return results


def _evaluate(
    key: str, limit: Any, budgets: Budgets, footprint: Footprint, before: Footprint | None
) -> BudgetResult:
    probe = footprint.import_probe
    if key in _SIZE_KEYS:
        return _at_most(key, limit, footprint.install_bytes)
    if key in ("max-distributions", "max-crates"):
        return _at_most(key, limit, footprint.distributions)
    if key == "max-native-files":
        return _at_most(key, limit, footprint.native_files)
    if key == "max-import-modules":
        return _at_most(key, limit, probe.modules if probe else None)
    if key == "max-import-time":
        actual = probe.seconds_median if probe else None
        allowed = limit * (1 + budgets.import_time_tolerance)
        return BudgetResult(key, limit, actual, actual is not None and actual <= allowed)
    if key in _PATTERN_KEYS:
        found = forbidden_distributions(limit, footprint)
        return BudgetResult(key, ", ".join(limit), ", ".join(found) or "none", not found)
    if key == "max-install-growth":
        assert before is not None
        growth = _growth_percent(before.install_bytes, footprint.install_bytes)
        return BudgetResult(key, f"{limit:g}%", f"{growth:+.1f}%", growth <= limit)
    raise AssertionError(f"unhandled budget {key}")  # pragma: no cover - _KNOWN_KEYS guards


def _at_most(key: str, limit: int, actual: int | None) -> BudgetResult:
    return BudgetResult(key, limit, actual, actual is not None and actual <= limit)


def forbidden_distributions(patterns: list[str], footprint: Footprint) -> list[str]:
    """Canonical names of closure distributions that match one of ``patterns``."""
    canonical = [canonical_name(d.name) for d in footprint.by_distribution]
    return [
        name
        for name in canonical
        if any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)
    ]


def _growth_percent(before: int, after: int) -> float:
    if before == 0:
        return 0.0 if after == 0 else float("inf")
    return (after - before) / before * 100


def _size(name: str, value: Any) -> int:
    try:
        return parse_size(value)
    except ValueError as exc:
        if "negative" in str(exc):
            raise AuditError(f"{name}: must not be negative ({_shown(value)})") from None
        raise AuditError(f"{name}: cannot parse {_shown(value)} as a size") from None


def _count(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise AuditError(f"{name}: cannot parse {_shown(value)}; expected a whole number")
    if isinstance(value, str):
        if not re.fullmatch(r"\s*[+-]?\d+\s*", value):
            raise AuditError(f"{name}: cannot parse {_shown(value)}; expected a whole number")
        value = int(value)
    if value < 0:
        raise AuditError(f"{name}: must not be negative ({value})")
    return int(value)


def parse_duration(name: str, value: Any) -> float:
    """Seconds from ``0.3``, ``"0.3"``, ``"300 ms"`` or ``"1.5 s"``; AuditError naming ``name``."""
    if isinstance(value, bool):
        raise AuditError(f"{name}: cannot parse {_shown(value)} as a duration")
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str):
        match = _DURATION.match(value)
        if not match:
            if value.strip().startswith("-"):
                raise AuditError(f"{name}: must not be negative ({_shown(value)})")
            raise AuditError(f"{name}: cannot parse {_shown(value)} as a duration")
        seconds = float(match.group(1))
        if (match.group(2) or "s").lower() == "ms":
            seconds /= 1000
    else:
        raise AuditError(f"{name}: cannot parse {_shown(value)} as a duration")
    if seconds < 0:
        raise AuditError(f"{name}: must not be negative ({_shown(value)})")
    if seconds != seconds or seconds == float("inf"):
        raise AuditError(f"{name}: cannot parse {_shown(value)} as a duration")
    return seconds


def parse_percent(name: str, value: Any, *, allow_negative: bool = False) -> float:
    """``"20%"`` -> 20.0 for growth, 0.2 for a tolerance; a bare number is a fraction (0.2)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and abs(value) <= 1:
        percent = float(value) * 100
    elif isinstance(value, str) and (match := _PERCENT.match(value)):
        percent = float(match.group(1))
    else:
        raise AuditError(f'{name}: cannot parse {_shown(value)}; write a percentage such as "10%"')
    if percent < 0 and not allow_negative:
        raise AuditError(f"{name}: must not be negative ({_shown(value)})")
    return percent / 100 if name.endswith("tolerance") else percent


def _patterns(name: str, value: Any) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise AuditError(f"{name}: expected a list of distribution names or glob patterns")
    # Canonical form, so "Psycopg2_*" matches the distribution psycopg2-binary.
    return [_canonical_pattern(v) for v in value]


def _canonical_pattern(pattern: str) -> str:
    return re.sub(r"[-_.]+", "-", pattern.strip()).lower()


def _shown(value: Any) -> str:
    return f'"{value}"' if isinstance(value, str) else repr(value)
