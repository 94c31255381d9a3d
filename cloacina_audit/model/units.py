"""Human sizes: ``"2 MB"`` to bytes and back.

SI units are powers of 1000 (``kB``, ``MB``, ``GB``, ``TB``), binary units
powers of 1024 (``KiB``, ``MiB``, ``GiB``, ``TiB``), both exact: ``"1.1 MB"``
is 1 100 000 bytes, ``"512 KiB"`` is 524 288. Unit letters are matched without
regard to case (``"mb"`` is a megabyte: bits are never meant in a size budget).
A plain number, or an int, is a number of bytes.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

_UNITS: dict[str, int] = {
    "": 1,
    "b": 1,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "tb": 1000**4,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
    "tib": 1024**4,
}

_SIZE = re.compile(r"^\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+))\s*([a-zA-Z]*)\s*$")

_SI_STEPS = ("B", "kB", "MB", "GB", "TB")
_BINARY_STEPS = ("B", "KiB", "MiB", "GiB", "TiB")


def parse_size(value: str | int) -> int:
    """Bytes in ``value``; ValueError with the reason when it is not a size."""
    if isinstance(value, bool):
        raise ValueError(f"cannot parse {value!r} as a size")
    if isinstance(value, int):
        amount, factor = Decimal(value), 1
    elif isinstance(value, float):
        if not value.is_integer():
            raise ValueError(f"{value!r} is not a whole number of bytes; add a unit such as MB")
        amount, factor = Decimal(int(value)), 1
    elif isinstance(value, str):
        match = _SIZE.match(value)
        unit = match.group(2).lower() if match else ""
        if not match or unit not in _UNITS:
            raise ValueError(f"cannot parse {value!r}")
        try:
            amount = Decimal(match.group(1))
        except InvalidOperation:  # pragma: no cover - the pattern only admits decimals
            raise ValueError(f"cannot parse {value!r}") from None
        factor = _UNITS[unit]
    else:
        raise ValueError(f"cannot parse {value!r} as a size")
    if amount < 0:
        raise ValueError(f"{value!r} is negative")
    return int((amount * factor).to_integral_value(rounding=ROUND_HALF_UP))


def format_bytes(count: int | float, *, binary: bool = False) -> str:
    """``1234567`` -> ``"1.23 MB"`` (three significant digits; ``binary`` for KiB, MiB...)."""
    base = 1024 if binary else 1000
    steps = _BINARY_STEPS if binary else _SI_STEPS
    sign = "-" if count < 0 else ""
    size = float(abs(count))
    if size < base:
        return f"{sign}{int(size)} B"
    unit = 0
    while size >= base and unit < len(steps) - 1:
        size /= base
        unit += 1
    # Rounding can carry into the next unit: 999.96 kB shows as 1.00 MB.
    if round(size, _decimals(size)) >= base and unit < len(steps) - 1:
        size /= base
        unit += 1
    return f"{sign}{size:.{_decimals(size)}f} {steps[unit]}"


def _decimals(size: float) -> int:
    if size < 10:
        return 2
    if size < 100:
        return 1
    return 0
