"""Import kinds: the column-0 shortcut must agree with the syntax tree on any source."""

from __future__ import annotations

import itertools
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from cloacina_audit.analysis.imports.kinds import ImportKinds, classify_source

_names = itertools.count()


def _import_lines(kind: str) -> st.SearchStrategy[list[tuple[str, str | None]]]:
    """One import statement as (line, expected kind of the statement or None) pairs."""
    name = f"m{next(_names)}"
    return st.sampled_from([
        [(f"import {name}", kind)],
        [(f"from {name} import x", kind)],
        [(f"from {name} import (", kind), ("    a,", None), ("    b,", None), (")", None)],
        [(f"import {name}; y = 1", kind)],
    ])


def _block(kind: str, depth: int) -> st.SearchStrategy[list[tuple[str, str | None]]]:
    """A list of statements whose imports all run as ``kind``."""
    deferred = "type_checking" if kind == "type_checking" else "function"
    leaves = [
        _import_lines(kind),
        st.just([("x = 1", None)]),
        st.just([(f"def one_liner(): import n{next(_names)}", deferred)]),
        st.just([(f"if TYPE_CHECKING: import n{next(_names)}", "type_checking")]),
        st.just([("s = '''", None), ("import not_an_import", None), ("'''", None)]),
        # A header inside a string (in column 0 at the top level), and a decorated one:
        # neither may cut the part of the file parsed around a line wrongly.
        st.just([('s = """', None), ("class InString:", None), ("def in_string():", None),
                 ('"""', None)]),
        st.just([("@decorator", None), (f"def decorated(): import n{next(_names)}", deferred)]),
    ]
    if depth > 0:
        def nested(header: str, inner: str) -> st.SearchStrategy:
            return _block(inner, depth - 1).map(
                lambda body: [(header, None)] + [("    " + line, k) for line, k in body]
            )

        leaves += [
            nested("def f():", deferred),
            nested("async def g():", deferred),
            nested("class C:", kind),
            nested("if TYPE_CHECKING:", "type_checking"),
            nested("if sys.version_info >= (3, 11):", kind),
            nested("try:", kind).map(lambda b: b + [("except ImportError:", None), ("    pass", None)]),
            nested("with context():", kind),
        ]
    return st.lists(st.one_of(leaves), min_size=1, max_size=5).map(
        lambda parts: [line for part in parts for line in part]
    )


@settings(max_examples=200, deadline=None)
@given(_block("module", depth=3))
def test_every_import_line_gets_the_kind_its_nesting_says(tmp_path_factory, lines):
    source = "\n".join(line for line, _ in lines) + "\n"
    path = Path(tmp_path_factory.mktemp("kinds")) / "module.py"
    path.write_text(source)
    expected = {number: kind for number, (_, kind) in enumerate(lines, start=1) if kind}

    kinds = ImportKinds(cache_dir=None)
    assert {line: kinds.of_line(path, line) for line in expected} == expected
    parsed = classify_source(source.encode())
    assert {line: parsed[line] for line in expected} == expected


def test_a_file_that_is_not_python_counts_as_module_level(tmp_path):
    path = tmp_path / "broken.py"
    path.write_text("def f(:\n    import x\n")
    assert ImportKinds(cache_dir=None).of_line(path, 2) == "module"
    assert ImportKinds(cache_dir=None).of_line(tmp_path / "missing.py", 1) == "module"


def test_classification_is_cached_by_content(tmp_path):
    path = tmp_path / "mod.py"
    path.write_text("def f():\n    import x\n")
    cache = tmp_path / "cache"
    assert _classified_and_saved(cache, path, 2) == "function"
    entries = list((cache / "kinds").iterdir())
    assert len(entries) == 1
    path.write_text("if TYPE_CHECKING:\n    import x\n")
    assert _classified_and_saved(cache, path, 2) == "type_checking"
    assert len(list((cache / "kinds").iterdir())) == 2


def _classified_and_saved(cache: Path, path: Path, line: int) -> str:
    kinds = ImportKinds(cache)
    kind = kinds.of_line(path, line)
    kinds.save()
    return kind


def test_a_lazy_line_is_lazy_whether_asked_before_or_after_its_file_is_parsed(tmp_path):
    """Before 3.15 the file does not parse as a whole, but the function does on its own:
    its import is deferred on any Python; the lazy line is read from its text either way."""
    path = tmp_path / "mod.py"
    path.write_text("lazy import a\ndef f():\n    import b\n")
    first = ImportKinds(cache_dir=None)
    assert (first.of_line(path, 3), first.of_line(path, 1)) == ("function", "lazy")
    second = ImportKinds(cache_dir=None)
    assert (second.of_line(path, 1), second.of_line(path, 3)) == ("lazy", "function")


def test_every_statement_that_holds_statements_is_walked():
    """The walk skips simple statements; one that holds a body must not be skipped,
    or the imports inside it would go unclassified (a new Python's compound statement)."""
    import ast

    from cloacina_audit.analysis.imports.kinds import _COMPOUND

    holders = {
        node for node in vars(ast).values()
        if isinstance(node, type) and issubclass(node, ast.stmt)
        and {"body", "orelse", "finalbody", "handlers", "cases"} & set(node._fields)
    }
    assert holders - set(_COMPOUND) == {ast.FunctionDef, ast.AsyncFunctionDef}


_HEADERS_IN_STRINGS = '''\
import os


class Outer:
    doc = """
def not_a_header():
    import nothing
"""

    def method(self):
        text = \'\'\'
class AlsoNot:
\'\'\'
        import deferred_one
        return text


@decorator(
    "arg",
)
def decorated():
    if TYPE_CHECKING:
        import checked_only
    import deferred_two  # it's a comment with a quote


def continued():
    s = 'one \\
def still_in_a_string(): x'
    import deferred_three


if TYPE_CHECKING:
    import checked_top
'''


def test_a_part_parsed_alone_gives_the_kinds_of_the_whole_file(tmp_path):
    """Headers inside strings, decorated functions and continued strings: each import's
    kind from the statements around it equals the whole file's parse."""
    path = tmp_path / "mod.py"
    path.write_text(_HEADERS_IN_STRINGS)
    whole = classify_source(_HEADERS_IN_STRINGS.encode())
    lines = [n for n, text in enumerate(_HEADERS_IN_STRINGS.splitlines(), 1)
             if text.lstrip().startswith("import ") and "nothing" not in text]
    assert len(lines) == 6
    for order in (lines, lines[::-1]):
        kinds = ImportKinds(cache_dir=None)
        assert {line: kinds.of_line(path, line) for line in order} == {
            line: whole[line] for line in lines}
    assert sorted(set(whole[line] for line in lines)) == ["function", "module", "type_checking"]


def test_a_quote_the_lexer_cannot_place_sends_the_file_to_the_whole_parse(tmp_path):
    """A quote outside every string found (PEP 701 nesting, or text that is not Python):
    the headers are not trusted, and the file is parsed whole, as a file that does
    not parse is: its imports count as module level."""
    from cloacina_audit.analysis.imports.kinds import _header_lines

    source = 'def f():\n    x = f"{\'"\'}"\n    import a\n'
    assert _header_lines(source.encode()) is None
    assert _header_lines(b"def f():\n    import a\n") == [1]
    path = tmp_path / "mod.py"
    path.write_text(source)
    expected = classify_source(source.encode()).get(3, "module")
    assert ImportKinds(cache_dir=None).of_line(path, 3) == expected


def test_one_cache_entry_per_file_holds_every_part_parsed(tmp_path):
    """Parts asked about in two runs land in the file's one entry; a third run answers
    both from it, and a changed file gets an entry of its own."""
    path = tmp_path / "mod.py"
    path.write_text("def f():\n    import a\n\n\nclass C:\n    if TYPE_CHECKING:\n        import b\n")
    cache = tmp_path / "cache"
    assert _classified_and_saved(cache, path, 2) == "function"
    assert _classified_and_saved(cache, path, 7) == "type_checking"
    entries = list((cache / "kinds").iterdir())
    assert len(entries) == 1
    assert b'"parts":{"1":{"2":"function"},"5":{"7":"type_checking"}}' in entries[0].read_bytes()
    third = ImportKinds(cache)
    assert (third.of_line(path, 7), third.of_line(path, 2)) == ("type_checking", "function")
    path.write_text("def f():\n    if TYPE_CHECKING:\n        import a\n")
    assert _classified_and_saved(cache, path, 3) == "type_checking"
    assert len(list((cache / "kinds").iterdir())) == 2
