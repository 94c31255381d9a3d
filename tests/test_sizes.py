"""Human sizes: exact SI and binary units, and formatting that reads back."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cloacina_audit.model.units import format_bytes, parse_size


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2 MB", 2_000_000),
        ("2MB", 2_000_000),
        ("2 mb", 2_000_000),
        ("512 KiB", 524_288),
        ("512kib", 524_288),
        ("1.5GB", 1_500_000_000),
        ("1.5 GiB", 1_610_612_736),
        ("1.1 MB", 1_100_000),  # exact: no binary float drift
        ("3 kB", 3_000),
        ("3 KB", 3_000),
        ("2 TiB", 2 * 1024**4),
        ("100", 100),
        ("100 B", 100),
        (" 7 b ", 7),
        (".5 kB", 500),
        (4096, 4096),
        (0, 0),
        (1024.0, 1024),
    ],
)
def test_parse_size(text: str | int, expected: int) -> None:
    assert parse_size(text) == expected


@pytest.mark.parametrize(
    "text", ["two MB", "", "MB", "2 MBs", "1e3", "2 M", "1,5 MB", "0x10", True, None, [1]]
)
def test_parse_size_rejects(text: object) -> None:
    with pytest.raises(ValueError, match="cannot parse|not a whole number"):
        parse_size(text)  # type: ignore[arg-type]


@pytest.mark.parametrize("text", ["-1 MB", -5, "-0.5KiB"])
def test_parse_size_rejects_negative(text: str | int) -> None:
    with pytest.raises(ValueError, match="negative"):
        parse_size(text)


def test_parse_size_rejects_fractional_bytes_without_unit() -> None:
    with pytest.raises(ValueError, match="whole number"):
        parse_size(1.5)


@pytest.mark.parametrize(
    ("count", "si", "binary"),
    [
        (0, "0 B", "0 B"),
        (999, "999 B", "999 B"),
        (1000, "1.00 kB", "1000 B"),
        (1024, "1.02 kB", "1.00 KiB"),
        (1_234_567, "1.23 MB", "1.18 MiB"),
        (12_345_678, "12.3 MB", "11.8 MiB"),
        (123_456_789, "123 MB", "118 MiB"),
        (999_999, "1.00 MB", "977 KiB"),  # rounding carries into the next unit
        (-2_500, "-2.50 kB", "-2.44 KiB"),
    ],
)
def test_format_bytes(count: int, si: str, binary: str) -> None:
    assert format_bytes(count) == si
    assert format_bytes(count, binary=True) == binary


@given(st.integers(min_value=0, max_value=10**15))
def test_formatted_sizes_read_back_within_half_a_percent(count: int) -> None:
    for binary in (False, True):
        parsed = parse_size(format_bytes(count, binary=binary))
        assert abs(parsed - count) <= max(1, count * 0.005)
