"""A timeout that cannot expire is refused before any work: ``nan`` compares false with
everything, so ``elapsed > nan`` never holds and the probe would never be stopped."""

from __future__ import annotations

import time

import pytest

from .support import assert_clean_error, audit, project


@pytest.mark.parametrize("value", ["nan", "inf", "-1", "0", "1e9"])
def test_import_timeout_option_must_be_a_finite_positive_bound(tmp_path, value):
    tree = project(tmp_path / "tree", {"pkg/__init__.py": ""})
    started = time.monotonic()
    result = audit(tree, "footprint", str(tree), "--import-timeout", value)
    assert_clean_error(result, "--import-timeout", "between 0 and 86400")
    assert time.monotonic() - started < 15
    assert not (tmp_path / "cache").exists(), "work started before the option was refused"


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e9"])
def test_import_timeout_in_config_must_be_a_finite_positive_bound(tmp_path, value):
    tree = project(tmp_path / "tree", {"pkg/__init__.py": ""},
                   extra=f"[tool.cloacina-audit]\nimport-timeout = {value}\n")
    result = audit(tree, "footprint", str(tree))
    assert_clean_error(result, "import-timeout", "between 0 and 86400")
    assert not (tmp_path / "cache").exists(), "work started before the config was refused"
