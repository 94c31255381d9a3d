"""``names.canonical_name`` is PEP 503 normalisation: it must agree with packaging's."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from packaging.utils import canonicalize_name

from cloacina_audit.model.names import canonical_name

# Distribution names are letters, digits and separators; other characters too,
# since the function must not differ on anything it is given.
NAMES = st.text(alphabet=st.sampled_from("aAzZ09-_.~ é"), max_size=20) | st.text(max_size=20)


@given(NAMES)
def test_agrees_with_packaging(name):
    assert canonical_name(name) == canonicalize_name(name)


def test_examples():
    assert canonical_name("Foo.Bar__baz") == "foo-bar-baz"
    assert canonical_name("typing_extensions") == "typing-extensions"
