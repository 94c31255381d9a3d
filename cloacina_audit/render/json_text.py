"""``json.dumps(value, indent=2, ensure_ascii=False)``, the same bytes, faster.

With ``indent`` set, the standard library falls back to its pure-Python encoder:
one generator per container, every chunk yielded up through each level (a large
``check`` report is over a million generator steps). Here one recursive function
appends to a list, and strings go through the C escaper the encoder itself uses,
so the text is identical (tests/test_json_text.py compares it with ``json.dumps``
on generated documents). Only what a report holds is written: dicts, lists,
tuples, str, int, float, bool and None; anything else raises ``TypeError``, as
``json.dumps`` does.
"""

from __future__ import annotations

from json.encoder import encode_basestring
from typing import Any

_INFINITY = float("inf")


def _float(value: float) -> str:
    if value != value:
        return "NaN"
    if value == _INFINITY:
        return "Infinity"
    if value == -_INFINITY:
        return "-Infinity"
    return float.__repr__(value)


def _key(key: object) -> str:
    if isinstance(key, str):
        return encode_basestring(key)
    if isinstance(key, float):
        return encode_basestring(_float(key))
    if key is True:
        return '"true"'
    if key is False:
        return '"false"'
    if key is None:
        return '"null"'
    if isinstance(key, int):
        return encode_basestring(int.__repr__(key))
    raise TypeError(f"keys must be str, int, float, bool or None, not {type(key).__name__}")


def dumps_indented(value: Any, indent: int = 2) -> str:
    """The text of ``json.dumps(value, indent=indent, ensure_ascii=False)``."""
    out: list[str] = []
    append = out.append
    step = " " * indent
    newlines: list[str] = ["\n"]

    def newline(level: int) -> str:
        while len(newlines) <= level:
            newlines.append(newlines[-1] + step)
        return newlines[level]

    def write(item: Any, level: int) -> None:
        if isinstance(item, str):
            append(encode_basestring(item))
        elif item is None:
            append("null")
        elif item is True:
            append("true")
        elif item is False:
            append("false")
        elif isinstance(item, int):
            append(int.__repr__(item))
        elif isinstance(item, float):
            append(_float(item))
        elif isinstance(item, (list, tuple)):
            if not item:
                append("[]")
                return
            inner = newline(level + 1)
            separator = "," + inner
            append("[" + inner)
            first = True
            for element in item:
                if not first:
                    append(separator)
                first = False
                write(element, level + 1)
            append(newline(level) + "]")
        elif isinstance(item, dict):
            if not item:
                append("{}")
                return
            inner = newline(level + 1)
            separator = "," + inner
            append("{" + inner)
            first = True
            for key, element in item.items():
                if not first:
                    append(separator)
                first = False
                append(_key(key) + ": ")
                write(element, level + 1)
            append(newline(level) + "}")
        else:
            raise TypeError(f"Object of type {type(item).__name__} is not JSON serializable")

    write(value, 0)
    return "".join(out)
