"""Distribution names, normalised as PEP 503 says.

This is what ``packaging.utils.canonicalize_name`` does (tests/test_names.py
checks that they agree), without importing ``packaging.utils``, which loads the
wheel-tag machinery (~25 ms) on every ``check``, the pre-commit path.
"""

from __future__ import annotations

import re

_SEPARATORS = re.compile(r"[-_.]+")


def canonical_name(name: str) -> str:
    """``Foo.Bar_baz`` -> ``foo-bar-baz``."""
    return _SEPARATORS.sub("-", name).lower()
