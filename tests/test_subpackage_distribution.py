"""A distribution that installs only a subpackage (``apache-airflow-task-sdk`` installs
``airflow/sdk/``, no ``airflow/__init__.py``) is checked as that import package."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import write_tree
from hostile.support import assert_verdict, audit
from wheelmaker import make_wheel

# Offline: the wheel has no dependencies, and nothing may be looked up.
OFFLINE = {"UV_NO_INDEX": "1", "UV_OFFLINE": "1"}

FILES = {
    "ns/sub/__init__.py": "from ns.sub import tasks\n",
    "ns/sub/tasks.py": "from ns.sub.helpers import price\nfrom cloacina.runtime import Runner\n",
    "ns/sub/helpers.py": "from ns.sub.engine import connect\n\ndef price():\n    return 1\n",
    "ns/sub/engine.py": "def connect():\n    pass\n",
}

CONFIG = """
    [importlinter]
    root_packages = ns.sub
    [importlinter:contract:engine]
    name = Tasks never reach the engine
    type = forbidden
    source_modules = ns.sub.tasks
    forbidden_modules = ns.sub.engine
"""


def wheel_and_config(tmp_path: Path, files: dict[str, str] = FILES) -> tuple[Path, Path]:
    wheel = make_wheel(tmp_path / "tree", "ns-sub", "1.0", files)
    config = write_tree(tmp_path / "config", {".importlinter": CONFIG}) / ".importlinter"
    return wheel, config


def contracts(stdout: str) -> list[dict]:
    return json.loads(stdout)["packages"][0]["contracts"]


def test_check_reads_the_subpackage_with_the_configured_contracts(tmp_path):
    wheel, config = wheel_and_config(tmp_path)
    result = audit(tmp_path / "tree", "check", str(wheel), "--config", str(config),
                   "--preset", "none", "--format", "json", env=OFFLINE)
    assert_verdict(result, 1)
    [contract] = contracts(result.stdout)
    [violation] = contract["violations"]
    assert [(s["importer"], s["imported"]) for s in violation["chain"]] == [
        ("ns.sub.tasks", "ns.sub.helpers"), ("ns.sub.helpers", "ns.sub.engine")]
    # Located in the installed files, line by line.
    assert [(Path(s["file"]).as_posix().rsplit("/", 3)[-3:], s["line"]) for s in violation["chain"]] == [
        (["ns", "sub", "tasks.py"], 1), (["ns", "sub", "helpers.py"], 1)]


def test_check_applies_the_preset_to_the_subpackage(tmp_path):
    wheel, _ = wheel_and_config(tmp_path)
    result = audit(tmp_path / "tree", "check", str(wheel), "--format", "json",
                   "--missing-dependencies", "accept", env=OFFLINE)
    assert_verdict(result, 1)
    engine = next(c for c in contracts(result.stdout) if "engine" in c["name"])
    chains = [[(s["importer"], s["imported"]) for s in v["chain"]] for v in engine["violations"]]
    assert [("ns.sub.tasks", "cloacina.runtime")] in chains


def test_report_applies_the_contracts_too(tmp_path):
    # Importable as it is (the probe imports it): no engine import.
    files = {**FILES, "ns/sub/tasks.py": "from ns.sub.helpers import price\n"}
    wheel, config = wheel_and_config(tmp_path, files)
    result = audit(tmp_path / "tree", "report", str(wheel), "--config", str(config),
                   "--preset", "none", "--format", "json", "--probe-runs", "1",
                   env=OFFLINE, timeout=300)
    assert result.code == 1, (result.stdout[-2000:], result.stderr[-2000:])
    [contract] = contracts(result.stdout)
    assert contract["kept"] is False and contract["violations"]
    assert not any(f["rule"] == "contracts-not-applied"
                   for f in json.loads(result.stdout)["packages"][0]["findings"])


def test_a_subpackage_inside_another_distributions_regular_package(tmp_path):
    # airflow/__init__.py comes from apache-airflow-core, airflow/sdk/ from the task SDK:
    # the SDK is graphed within airflow, and importing it runs airflow/__init__.py.
    index = tmp_path / "index"
    make_wheel(index, "ns-core", "1.0", {
        "ns/__init__.py": "from ns import models\n",
        "ns/models.py": "",
    })
    wheel = make_wheel(tmp_path / "tree", "ns-sub", "1.0", {"ns/sub/__init__.py": ""},
                       requires=("ns-core",))
    config = write_tree(tmp_path / "config", {".importlinter": """
        [importlinter]
        root_packages = ns
        [importlinter:contract:models]
        name = The SDK never loads the models
        type = forbidden
        source_modules = ns.sub
        forbidden_modules = ns.models
    """}) / ".importlinter"
    result = audit(tmp_path / "tree", "check", str(wheel), "--config", str(config),
                   "--preset", "none", "--format", "json",
                   env={"UV_NO_INDEX": "1", "UV_FIND_LINKS": str(index)})
    assert_verdict(result, 1)
    [contract] = contracts(result.stdout)
    assert [[(s["importer"], s["imported"], s["kind"]) for s in v["chain"]]
            for v in contract["violations"]] == [
        [("ns.sub", "ns", "implicit"), ("ns", "ns.models", "module")]]
