"""The presets beyond Cloacina, on wheels built here whose answer is known by construction.

airflow-task-sdk, prefect-client and dagster-pipes name the boundaries those
projects keep by hand (Airflow's check_core_imports_in_sdk.py, Prefect's
build_client.sh, dagster-pipes' standard-library promise). The real releases
are checked in the network tests at the end; docs/presets.md records them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from conftest import run_cli
from wheelmaker import make_wheel


def _contracts(wheel: Path, preset: str) -> dict[str, dict]:
    result = run_cli("check", str(wheel), "--preset", preset, "--format", "json")
    assert result.code in (0, 1), result.stderr
    return {c["name"]: c for c in json.loads(result.stdout)["packages"][0]["contracts"]}


def _offending(contract: dict) -> list[tuple[str, int, str]]:
    return [(s["file"].rsplit("site-packages/", 1)[-1], s["line"], s["statement"])
            for s in contract["statements"]]


def test_airflow_task_sdk_finds_the_sdk_reaching_the_core_through_a_parent(tmp_path):
    wheel = make_wheel(tmp_path, "fake-task-sdk", "1.0", {
        "airflow/__init__.py": "",
        "airflow/settings.py": "import airflow.models\n",
        "airflow/models.py": "",
        "airflow/sdk/__init__.py": "from airflow.sdk.dag import DAG\n",
        "airflow/sdk/dag.py": "import os\n\nfrom airflow import settings\n\nclass DAG: ...\n",
        "airflow/sdk/bases.py": "def later():\n    from airflow.utils import helpers\n",
        "airflow/utils/__init__.py": "",
        "airflow/utils/helpers.py": "",
    })
    [contract] = _contracts(wheel, "airflow-task-sdk").values()
    assert contract["status"] == "broken"
    assert _offending(contract) == [
        ("airflow/sdk/dag.py", 3, "from airflow import settings"),
        ("airflow/sdk/bases.py", 2, "from airflow.utils import helpers"),
    ] or sorted(_offending(contract)) == sorted([
        ("airflow/sdk/dag.py", 3, "from airflow import settings"),
        ("airflow/sdk/bases.py", 2, "from airflow.utils import helpers"),
    ])


def test_a_task_sdk_that_keeps_to_itself_keeps_the_contract(tmp_path):
    wheel = make_wheel(tmp_path, "fake-task-sdk", "1.0", {
        "airflow/sdk/__init__.py": "from airflow.sdk.dag import DAG\n",
        "airflow/sdk/dag.py": "class DAG: ...\n",
    })
    [contract] = _contracts(wheel, "airflow-task-sdk").values()
    assert contract["kept"] is True


def test_prefect_client_reports_a_client_module_importing_the_database_stack(tmp_path):
    wheel = make_wheel(tmp_path, "fake-prefect-client", "1.0", {
        "prefect/__init__.py": "from prefect.client import Client\n",
        "prefect/client.py": "class Client: ...\n",
        "prefect/server/__init__.py": "",
        "prefect/server/api.py": "import sqlalchemy as sa\n",
        "prefect/cli.py": "",
        "prefect/flows.py": "from prefect import cli\n",
    })
    contracts = _contracts(wheel, "prefect-client")
    database = contracts["The Prefect client must not pull in the server's database stack"]
    assert _offending(database) == [("prefect/server/api.py", 1, "import sqlalchemy as sa")]
    server = contracts["The Prefect client must not reach the server"]
    assert _offending(server) == [("prefect/flows.py", 1, "from prefect import cli")]


def test_dagster_pipes_allows_the_standard_library_only(tmp_path):
    kept = make_wheel(tmp_path / "kept", "fake-pipes", "1.0", {
        "dagster_pipes/__init__.py": "import json\nimport os\nfrom typing import TYPE_CHECKING\n"
                                     "if TYPE_CHECKING:\n    import pandas\n",
    })
    [contract] = _contracts(kept, "dagster-pipes").values()
    assert contract["kept"] is True
    broken = make_wheel(tmp_path / "broken", "fake-pipes", "1.0", {
        "dagster_pipes/__init__.py": "import json\nimport requests\n",
    })
    [contract] = _contracts(broken, "dagster-pipes").values()
    assert contract["status"] == "broken"
    assert [step["imported"] for v in contract["violations"] for step in v["chain"][-1:]] == \
        ["requests"]


NETWORK = pytest.mark.skipif(not os.environ.get("CLOACINA_AUDIT_NETWORK_TESTS"),
                             reason="set CLOACINA_AUDIT_NETWORK_TESTS=1 to check real releases")


@pytest.mark.network
@NETWORK
@pytest.mark.parametrize("requirement, preset, broken", [
    ("apache-airflow-task-sdk==1.3.2", "airflow-task-sdk", True),
    ("apache-airflow-task-sdk==1.2.2", "airflow-task-sdk", True),
    ("dagster-pipes==1.13.29", "dagster-pipes", False),
])
def test_real_releases(requirement, preset, broken):
    result = run_cli("check", requirement, "--preset", preset, "--format", "json", timeout=900)
    assert result.code == (1 if broken else 0), result.stderr
