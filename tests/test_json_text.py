"""The report's JSON writer gives exactly ``json.dumps(indent=2, ensure_ascii=False)``'s text."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cloacina_audit.render.json_text import dumps_indented

_SCALARS = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True)
    | st.text()
)
_KEYS = st.text() | st.integers() | st.floats() | st.booleans() | st.none()
_DOCUMENTS = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner)
    | st.dictionaries(_KEYS, inner, max_size=4),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(_DOCUMENTS)
def test_same_text_as_json_dumps(document: object) -> None:
    assert dumps_indented(document) == json.dumps(document, indent=2, ensure_ascii=False)


def test_same_text_for_escapes_and_non_ascii() -> None:
    document = {"quote\"and\\": ["\n\t\x00", "naïve – ü", "\U0001f600", -0.0, math.inf, 10**30],
                "empty": [{}, [], ""], 3: {None: True, 1.5: False}}
    assert dumps_indented(document) == json.dumps(document, indent=2, ensure_ascii=False)
    assert dumps_indented(document, indent=4) == json.dumps(document, indent=4, ensure_ascii=False)


def test_what_json_cannot_write_is_refused_as_json_refuses_it() -> None:
    for document in ({"a": {1, 2}}, [object()], {(1, 2): "tuple key"}):
        with pytest.raises(TypeError):
            json.dumps(document, indent=2)
        with pytest.raises(TypeError):
            dumps_indented(document)
