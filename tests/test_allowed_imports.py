"""The allowed_imports contract type: only the standard library and listed packages, transitively.

Tested from plain lint-imports (as a user of import-linter meets it) and through
cloacina-audit's cloaca preset on Cloacina packages, as directories and archives.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cloacina_shapes import flat_module, namespace_layout, pack
from conftest import run_cli, write_tree

from cloacina_audit.analysis.contracts.guarded_imports import fallback_import_lines, optional_import_lines

LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")

CONFIG = """
[importlinter]
root_packages =
    pipes
    vendored_lib
include_external_packages = True
exclude_type_checking_imports = True
contract_types =
    allowed_imports: cloacina_audit.analysis.contracts.allowed_imports.AllowedImportsContract

[importlinter:contract:stdlib-only]
name = pipes imports only the standard library
type = allowed_imports
source_modules =
    pipes
allowed_modules =
    vendored_lib
{extra}
"""

PIPES = {
    "pipes/__init__.py": "import json\nfrom . import context\n",
    "pipes/context.py": (
        "import os\n"
        "from typing import TYPE_CHECKING\n"
        "try:\n"
        "    import ujson\n"
        "except ImportError:\n"
        "    ujson = None\n"
        "if TYPE_CHECKING:\n"
        "    import boto3\n"
        "if sys.platform == 'emscripten':\n"
        "    import js\n"
        "from pipes import transport\n"
        "import vendored_lib\n"
    ),
    "pipes/transport.py": "import socket\n\ndef send():\n    import requests\n",
    "vendored_lib/__init__.py": "from vendored_lib import core\n",
    "vendored_lib/core.py": "import shutil\nimport click\n",
}


def lint_imports(root: Path, extra: str = "") -> subprocess.CompletedProcess[str]:
    (root / ".importlinter").write_text(CONFIG.format(extra=extra), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(root), "NO_COLOR": "1", "COLUMNS": "500"}
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=root, env=env,
                          capture_output=True, text=True, timeout=60)


needs_lint_imports = pytest.mark.skipif(
    not LINT_IMPORTS.exists(), reason="lint-imports is not installed next to python")


@needs_lint_imports
def test_transitive_violation_with_its_chain_from_lint_imports(tmp_path):
    write_tree(tmp_path, PIPES)
    result = lint_imports(tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    out = result.stdout
    assert "pipes imports only the standard library BROKEN" in out
    assert ("requests is not allowed (neither the standard library nor allowed; from the "
            "distribution that provides 'requests'):") in out
    chains = [line.strip() for line in out.splitlines() if line.strip().startswith("-   ")]
    assert chains == [
        f"-   {tmp_path / 'pipes/context.py'}:12: import vendored_lib",
        f"-   {tmp_path / 'vendored_lib/__init__.py'}:1: from vendored_lib import core",
        f"-   {tmp_path / 'vendored_lib/core.py'}:2: import click",
        f"-   {tmp_path / 'pipes/transport.py'}:4: import requests  "
        "(deferred: runs when the function is called)",
    ]
    assert "click is not allowed (neither the standard library nor allowed; from click " in out
    for optional in ("ujson", "boto3", " js "):
        assert optional not in out


@needs_lint_imports
def test_listed_packages_are_allowed_from_lint_imports(tmp_path):
    write_tree(tmp_path, PIPES)
    result = lint_imports(tmp_path, "    requests\n    click")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "pipes imports only the standard library KEPT" in result.stdout


@needs_lint_imports
def test_allowed_distribution_is_read_from_installed_metadata(tmp_path):
    write_tree(tmp_path, {"pipes/__init__.py": "import yaml\nimport click\n",
                          "vendored_lib/__init__.py": ""})
    result = lint_imports(tmp_path, "allowed_distributions = PyYAML")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "click is not allowed" in result.stdout and "yaml is not allowed" not in result.stdout


def test_optional_import_lines():
    source = (
        b"import sys, os\n"
        b"try:\n    import a\nexcept (ValueError, ImportError):\n    pass\n"
        b"try:\n    import b\nexcept KeyError:\n    pass\n"
        b"if sys.platform == 'win32':\n    import c\nelse:\n    import d\n"
        b"if os.name != 'nt':\n    import e\nelse:\n    import f\n"
        b"if sys.platform.startswith('linux'):\n    import g\n"
        b"if FLAG:\n    import h\n"
    )
    assert optional_import_lines(source, "linux") == {3, 11, 17}
    assert optional_import_lines(source, "win32") == {3, 13, 15, 19}


def test_fallback_import_lines():
    source = (
        b"try:\n    import threading\nexcept ImportError:\n    import dummy_threading\n"
        b"try:\n    from . import fast\n    import ujson.x\nexcept (ImportError, OSError):\n"
        b"    import simplejson\n"
    )
    assert fallback_import_lines(source) == {
        4: frozenset({"threading"}), 9: frozenset({"", "ujson"})}


@pytest.mark.parametrize("form", ["directory", "archive"])
def test_a_fallback_counts_only_when_its_try_can_fail(form, tmp_path):
    package = namespace_layout(tmp_path / "src", tasks=(
        "try:\n    import threading\nexcept ImportError:\n    import dummy_threading\n"
        "try:\n    import ujson\nexcept ImportError:\n    import simplejson as ujson\n"))
    code, contract = server_imports(package if form == "directory" else pack(package, tmp_path))
    assert code == 1
    assert [v["chain"][-1]["imported"] for v in contract["violations"]] == ["simplejson"]


# --- through cloacina-audit: what a packaged workflow may import on the server ---------------

def server_imports(path: Path) -> tuple[int, dict]:
    result = run_cli("check", str(path), "--format", "json")
    assert result.code in (0, 1) and result.stderr == "", (result.code, result.stderr)
    entry = json.loads(result.stdout)["packages"][0]
    [contract] = [c for c in entry["contracts"] if c["type"] == "allowed_imports"]
    return result.code, contract


@pytest.mark.parametrize("form", ["directory", "archive"])
def test_unvendored_import_breaks_with_the_distribution_to_vendor(form, tmp_path):
    package = namespace_layout(tmp_path / "src", tasks=(
        "import json\nimport cloaca\nimport some_missing_dist\n\n"
        "def later():\n    import yaml\n"))
    code, contract = server_imports(package if form == "directory" else pack(package, tmp_path))
    assert code == 1 and not contract["kept"]
    found = {(v["chain"][-1]["imported"], v["chain"][-1]["kind"], v["reason"])
             for v in contract["violations"]}
    assert ("some_missing_dist", "module", "not importable on the server: vendor the "
            "distribution that provides 'some_missing_dist'") in found
    [(_, kind, reason)] = [f for f in found if f[0] == "yaml"]
    assert kind == "function" and reason.startswith("deferred, not importable on the server: vendor")


@pytest.mark.parametrize("form", ["directory", "archive"])
def test_vendored_code_is_allowed_and_followed(form, tmp_path):
    package = flat_module(tmp_path / "src", tasks="import tinyhttp\nimport cloaca\n")
    write_tree(package, {
        "vendor/tinyhttp/__init__.py": "from . import wire\n",
        "vendor/tinyhttp/wire.py": "import socket\nimport tinyjson\n",
        "vendor/tinyjson.py": "import json\n",
        "vendor/tinyhttp-1.0.dist-info/METADATA": "Name: tinyhttp\nVersion: 1.0\n",
    })
    code, contract = server_imports(package if form == "directory" else pack(package, tmp_path))
    assert code == 0 and contract["kept"], contract

    (package / "vendor/tinyjson.py").unlink()
    code, contract = server_imports(package)
    assert code == 1
    [violation] = contract["violations"]
    assert [s["importer"] for s in violation["chain"]] == ["flat_tasks", "tinyhttp", "tinyhttp.wire"]
    assert violation["chain"][-1]["file"].endswith("vendor/tinyhttp/wire.py")


def test_output_is_the_same_under_every_hash_seed(tmp_path):
    package = flat_module(tmp_path / "src", tasks=(
        "import alpha_missing\nimport beta_missing\nimport yaml\nimport cloaca\n"
        "from cloaca import Runner, Other\n"))
    write_tree(package, {"vendor/gamma/__init__.py": "import delta_missing\nimport epsilon\n"})
    (package / "workflow/flat_tasks.py").write_text(
        (package / "workflow/flat_tasks.py").read_text() + "import gamma\n")
    outputs = {
        run_cli("check", str(package), "--format", "json", "--no-cache",
                env={"PYTHONHASHSEED": seed}).stdout
        for seed in ("0", "1", "2", "3")
    }
    assert len(outputs) == 1
    violations = [v for c in json.loads(outputs.pop())["packages"][0]["contracts"]
                  for v in c["violations"]]
    assert len(violations) == 7


@pytest.mark.network
@pytest.mark.skipif(os.environ.get("CLOACINA_AUDIT_NETWORK_TESTS") != "1",
                    reason="set CLOACINA_AUDIT_NETWORK_TESTS=1 to vendor requests from PyPI")
def test_requests_vendored_with_pip(tmp_path):
    """`pip install --target vendor requests`: every module-level import is satisfied;
    urllib3's optional HTTP/2 support imports h2 inside a function (labelled deferred)."""
    package = flat_module(tmp_path / "src", tasks="import requests\nimport cloaca\n")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--target",
                    str(package / "vendor"), "requests==2.32.3"], check=True, timeout=300)
    result = run_cli("check", str(package), "--format", "json", "--deferred-imports", "ignore")
    assert result.code == 0, result.stdout
    code, contract = server_imports(pack(package, tmp_path))
    assert code == 1
    for violation in contract["violations"]:
        assert violation["reason"].startswith("deferred, ")
        assert "function" in {step["kind"] for step in violation["chain"]}


@needs_lint_imports
def test_parent_packages_of_a_source_module_run_too_from_lint_imports(tmp_path):
    write_tree(tmp_path, {"pipes/__init__.py": "import click\n", "pipes/entry.py": "import json\n",
                          "vendored_lib/__init__.py": ""})
    config = CONFIG.replace("source_modules =\n    pipes\n", "source_modules =\n    pipes.entry\n")
    (tmp_path / ".importlinter").write_text(config.format(extra=""), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "NO_COLOR": "1", "COLUMNS": "500"}
    result = subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1, result.stdout + result.stderr
    chains = [line.strip() for line in result.stdout.splitlines() if line.strip().startswith("-   ")]
    assert chains == [
        f"-   {tmp_path / 'pipes/entry.py'}: (implicit) importing pipes.entry runs pipes/__init__.py",
        f"-   {tmp_path / 'pipes/__init__.py'}:1: import click",
    ]
