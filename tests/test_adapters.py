"""adapters/: grimp's and import-linter's internals behind a version check, and each check
of contracts leaving no state behind for the next one in the same process."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, assert_clean_error, run_cli, write_tree
from grimp.application.config import settings as grimp_settings
from importlinter.application.app_config import settings as importlinter_settings

from cloacina_audit.adapters import versions
from cloacina_audit.analysis.contracts import symbols
from cloacina_audit.app.kinds import check_target
from cloacina_audit.app.options import CheckOptions
from cloacina_audit.discover.target import discover
from cloacina_audit.errors import AuditError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

#: The releases just below the minimums (what the adapters refuse).
BELOW_MINIMUM = {"grimp": "3.17", "import-linter": "2.13"}

#: A tiny project with one broken forbidden contract: a check at the minimums must find it.
BROKEN = {
    ".importlinter": """
        [importlinter]
        root_package = mv
        [importlinter:contract:db]
        name = Tasks do not touch storage
        type = forbidden
        source_modules = mv.tasks
        forbidden_modules = mv.db
    """,
    "mv/__init__.py": "",
    "mv/db.py": "",
    "mv/tasks.py": "import mv.db\n",
}


# --- the version check ------------------------------------------------------------------


def test_pyproject_states_the_minimums_the_adapters_check() -> None:
    dependencies = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    stated = dict(re.match(r"([\w-]+)>=([\d.]+)$", d).groups() for d in dependencies
                  if d.startswith(tuple(versions.MINIMUM)))
    assert stated == versions.MINIMUM


def test_release_order_is_numeric() -> None:
    assert versions.release("3.8.2") < versions.release("3.14") < versions.release("3.20")
    assert versions.release("3.21rc1") == (3, 21)
    assert versions.release("2.14.post1") == (2, 14)


@pytest.mark.parametrize("distribution", sorted(versions.MINIMUM))
def test_an_older_release_is_refused_naming_both_versions(
    distribution: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    older = BELOW_MINIMUM[distribution]
    monkeypatch.setattr(versions, "installed_version",
                        lambda name: older if name == distribution else "99")
    with pytest.raises(AuditError) as caught:
        versions.require(distribution)
    minimum = versions.MINIMUM[distribution]
    assert str(caught.value) == (
        f"{distribution} {older} is installed, cloacina-audit needs {distribution}>={minimum}: "
        f"pip install --upgrade '{distribution}>={minimum}'"
    )


def test_the_minimum_itself_and_newer_releases_are_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    for release in (versions.MINIMUM["grimp"], "3.20", "4.0", "3.100"):
        monkeypatch.setattr(versions, "installed_version", lambda name, r=release: r)
        assert versions.require("grimp") == release


def test_a_release_without_an_internal_names_what_it_lacks() -> None:
    error = versions.missing_api("grimp", ImportError(
        "cannot import name 'FoundPackage' from 'grimp.application.ports.modulefinder' "
        "(/site-packages/grimp/application/ports/modulefinder.py)"))
    installed = versions.installed_version("grimp")
    minimum = versions.MINIMUM["grimp"]
    assert str(error) == (
        f"grimp {installed} is installed (it has no grimp.application.ports.modulefinder."
        f"FoundPackage), cloacina-audit needs grimp>={minimum}: "
        f"pip install --upgrade 'grimp>={minimum}'"
    )


def test_the_version_read_from_dist_info_is_importlib_metadata_s() -> None:
    """Without importing importlib.metadata, the same answer for what is installed here,
    whatever the spelling of the name; an unknown name is still None."""
    from importlib import metadata

    for name in ("grimp", "import-linter", "import_linter", "Import.Linter", "click", "hypothesis"):
        assert versions.installed_version(name) == metadata.version(name)
    assert versions.installed_version("surely-not-installed-here") is None


def test_check_with_an_older_grimp_says_so_in_one_line(tmp_path: Path) -> None:
    """The metadata the check reads says 3.17 (a dist-info first on the path), the CLI
    stops before using grimp: exit 2 and the line, no traceback."""
    older = BELOW_MINIMUM["grimp"]
    write_tree(tmp_path / "shadow" / f"grimp-{older}.dist-info",
               {"METADATA": f"Metadata-Version: 2.1\nName: grimp\nVersion: {older}\n"})
    tree = write_tree(tmp_path / "tree", BROKEN)
    result = run_cli("check", str(tree), env={"PYTHONPATH": str(tmp_path / "shadow")})
    minimum = versions.MINIMUM["grimp"]
    assert_clean_error(result, f"grimp {older} is installed, cloacina-audit needs grimp>={minimum}")


# --- one check leaves nothing for the next ------------------------------------------------

CUSTOM_TYPES = """
from importlinter import Contract, ContractCheck, fields


class AlwaysBroken(Contract):
    source_modules = fields.ListField(subfield=fields.StringField(), required=False)
    forbidden_modules = fields.ListField(subfield=fields.StringField(), required=False)

    def check(self, graph, verbose):
        return ContractCheck(kept=False, warnings=[], metadata={})

    def render_broken_contract(self, check):
        pass
"""


def _config(contract_type: str, declared: str = "") -> dict[str, str]:
    types = f"contract_types =\n    {declared}\n" if declared else ""
    return {
        ".importlinter": (
            f"[importlinter]\nroot_package = iso\n{types}"
            "[importlinter:contract:c]\nname = the contract\n"
            f"type = {contract_type}\nsource_modules = iso.a\nforbidden_modules = iso.b\n"
        ),
        "iso/__init__.py": "",
        "iso/a.py": "",
        "iso/b.py": "",
    }


def _kept(root: Path) -> bool:
    audit = check_target(discover(str(root)), CheckOptions(cache_dir=None))
    [contract] = audit.contracts
    return contract.kept


def test_a_contract_type_one_configuration_declares_does_not_exist_for_the_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_tree(tmp_path / "types", {"isotypes.py": CUSTOM_TYPES})
    monkeypatch.syspath_prepend(str(tmp_path / "types"))
    grimp_state = (grimp_settings.PACKAGE_FINDER, grimp_settings.MODULE_FINDER,
                   grimp_settings.CACHE_CLASS)
    importlinter_state = dict(importlinter_settings._config)

    declares = write_tree(tmp_path / "declares", _config(
        "always_broken", "always_broken: isotypes.AlwaysBroken"))
    assert _kept(declares) is False
    # Declared in another configuration only: unknown here, as in lint-imports.
    with pytest.raises(AuditError, match="has unknown type 'always_broken'"):
        _kept(write_tree(tmp_path / "undeclared", _config("always_broken")))

    # A configuration's type wins over a built-in of the same name, for that configuration.
    overrides = write_tree(tmp_path / "overrides", _config(
        "forbidden", "forbidden: isotypes.AlwaysBroken"))
    assert _kept(overrides) is False
    assert _kept(write_tree(tmp_path / "plain", _config("forbidden"))) is True
    assert _kept(overrides) is False

    # grimp's finders and cache, import-linter's settings and the symbol contracts' files
    # are as before.
    assert (grimp_settings.PACKAGE_FINDER, grimp_settings.MODULE_FINDER,
            grimp_settings.CACHE_CLASS) == grimp_state
    assert dict(importlinter_settings._config) == importlinter_state
    assert symbols._resolver.get() is None


# --- the minimums, installed ------------------------------------------------------------


@pytest.mark.network
@pytest.mark.skipif(os.environ.get("CLOACINA_AUDIT_NETWORK_TESTS") != "1",
                    reason="set CLOACINA_AUDIT_NETWORK_TESTS=1 to install the minimums from PyPI")
def test_the_minimum_releases_check_end_to_end_and_older_ones_are_refused(tmp_path: Path) -> None:
    uv = Path(sys.executable).parent / "uv"
    venv = tmp_path / "venv"
    python = venv / "bin" / "python"

    def run(*command: str | Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(part) for part in command], capture_output=True, text=True,
                              timeout=900, cwd=tmp_path)

    def install(*requirements: str) -> None:
        done = run(uv, "pip", "install", "-q", "-p", python, *requirements)
        assert done.returncode == 0, done.stderr[-2000:]

    def check() -> subprocess.CompletedProcess[str]:
        return run(python, "-m", "cloacina_audit", "check", tree, "--format", "json")

    assert run(uv, "venv", "-q", "-p", sys.executable, venv).returncode == 0
    install(*(f"{name}=={version}" for name, version in versions.MINIMUM.items()), "-e", str(REPO))
    tree = write_tree(tmp_path / "tree", BROKEN)
    done = check()
    assert done.returncode == 1, done.stderr[-2000:]
    [contract] = json.loads(done.stdout)["packages"][0]["contracts"]
    assert [s["statement"] for s in contract["statements"]] == ["import mv.db"]

    for name, older in sorted(BELOW_MINIMUM.items()):
        install("--no-deps", f"{name}=={older}")
        done = check()
        assert done.returncode == 2, done.stderr
        assert done.stderr.strip() == (
            f"cloacina-audit: error: {name} {older} is installed, cloacina-audit needs "
            f"{name}>={versions.MINIMUM[name]}: pip install --upgrade '{name}>={versions.MINIMUM[name]}'"
        )
        install("--no-deps", f"{name}=={versions.MINIMUM[name]}")
