"""Cache entries are untrusted input: a corrupt one is ignored, a planted one never believed.

The package's only violation is a deferred import (``deferred-imports`` counts by
default); an entry claiming that line is under ``if TYPE_CHECKING:`` (ignored by
the preset) would turn the verdict into a pass, and a graph entry without the
import would too.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import marshal
import shutil
from pathlib import Path

import pytest

from cloacina_audit.system.signed_cache import _BINARY_MAGIC

from .support import assert_verdict, audit, project

TASKS = "import json\n\ndef run():\n    import sqlalchemy\n    return sqlalchemy\n"


def _tree(tmp_path: Path) -> Path:
    return project(tmp_path / "tree", {"pkg/__init__.py": "", "pkg/tasks.py": TASKS})


def _first_run(tmp_path: Path, keep_verdicts: bool = False) -> tuple[Path, Path, str]:
    tree = _tree(tmp_path)
    cache = tmp_path / "cache"
    env = {"CLOACINA_AUDIT_CACHE_DIR": str(cache)}
    result = audit(tree, "check", str(tree), "--format", "json", env=env)
    assert_verdict(result, 1)
    if not keep_verdicts:
        # The stored verdict would answer the next run without the kinds or the graph.
        shutil.rmtree(cache / "verdicts")
    return tree, cache, result.stdout


@pytest.mark.parametrize("content", [
    b"not json at all",
    b'{"4": 7}',
    b'["module"]',
    b'{"x": "type_checking"}',
    b"\xff\xfe\x00",
])
def test_a_corrupt_kinds_entry_is_ignored_and_rewritten(tmp_path, content):
    tree, cache, expected = _first_run(tmp_path)
    entries = sorted((cache / "kinds").iterdir())
    assert entries, "no kinds entry was written"
    for entry in entries:
        entry.write_bytes(content)
    env = {"CLOACINA_AUDIT_CACHE_DIR": str(cache)}
    result = audit(tree, "check", str(tree), "--format", "json", env=env)
    assert_verdict(result, 1)
    assert result.stdout == expected
    assert all(entry.read_bytes() != content for entry in entries), "bad entry not rewritten"


def _planted_kinds(entry: Path, signed: bool) -> str:
    every_line = {str(n): "type_checking" for n in range(1, 6)}
    if not signed:  # the unsigned format of earlier versions
        return json.dumps(every_line)
    digest = entry.name.split("-", 1)[1].removesuffix(".json")
    return json.dumps({"mac": "0" * 64, "document": {"sha256": digest, "kinds": every_line}})


@pytest.mark.parametrize("signed", [False, True])
def test_a_planted_kinds_entry_does_not_change_the_verdict(tmp_path, signed):
    tree, cache, expected = _first_run(tmp_path)
    for entry in (cache / "kinds").iterdir():
        entry.write_text(_planted_kinds(entry, signed))
    env = {"CLOACINA_AUDIT_CACHE_DIR": str(cache)}
    result = audit(tree, "check", str(tree), "--format", "json", env=env)
    assert_verdict(result, 1)
    assert result.stdout == expected


def _replant(directory: Path, change) -> None:
    """Change the document of every binary entry in ``directory``, keeping its old MAC."""
    for entry in directory.iterdir():
        data = entry.read_bytes()
        head = len(_BINARY_MAGIC) + 32
        planted = marshal.loads(data[head:])
        change(planted)
        entry.write_bytes(data[:head] + marshal.dumps(planted))


def test_a_planted_graph_entry_does_not_change_the_verdict(tmp_path):
    tree, cache, expected = _first_run(tmp_path)
    _replant(cache / "graphs", lambda graph: graph.update(imports=[]))  # imports nothing
    env = {"CLOACINA_AUDIT_CACHE_DIR": str(cache)}
    result = audit(tree, "check", str(tree), "--format", "json", env=env)
    assert_verdict(result, 1)
    assert result.stdout == expected


def test_a_planted_verdict_does_not_change_the_verdict(tmp_path):
    tree, cache, expected = _first_run(tmp_path, keep_verdicts=True)
    _replant(cache / "verdicts", lambda entry: [
        result.update(kept=True, status="kept", violations=[]) for result in entry["results"]])
    env = {"CLOACINA_AUDIT_CACHE_DIR": str(cache)}
    result = audit(tree, "check", str(tree), "--format", "json", env=env)
    assert_verdict(result, 1)
    assert result.stdout == expected


def test_a_key_readable_by_others_is_not_trusted(tmp_path):
    tree, cache, expected = _first_run(tmp_path)
    (cache / ".hmac-key").chmod(0o644)
    for entry in (cache / "graphs").iterdir():
        planted = marshal.loads(entry.read_bytes()[len(_BINARY_MAGIC) + 32:])
        planted["imports"] = []
        # Whoever could read the key could sign this; it must not matter.
        key = (cache / ".hmac-key").read_bytes()
        payload = marshal.dumps(planted)
        entry.write_bytes(_BINARY_MAGIC + hmac.new(key, payload, hashlib.sha256).digest() + payload)
    env = {"CLOACINA_AUDIT_CACHE_DIR": str(cache)}
    result = audit(tree, "check", str(tree), "--format", "json", env=env)
    assert_verdict(result, 1)
    assert result.stdout == expected
