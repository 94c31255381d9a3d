"""Isolated uv environments: built once, reused, rebuilt when an input changes, safe to race."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import REPO, tree_digest, write_tree
from packaging.markers import default_environment
from projects import pyproject

from cloacina_audit.analysis.footprint.distributions import installed_distributions
from cloacina_audit.app.footprint import measure_footprint
from cloacina_audit.discover.target import discover
from cloacina_audit.environment.cache_key import environment_key
from cloacina_audit.environment.isolated import (
    current_environment,
    isolated_environment,
    resolve_interpreter,
)
from cloacina_audit.environment.uv import uv_binary, uv_error_line, uv_version
from cloacina_audit.errors import AuditError


def projects(root: Path, lib_dependencies: str = "[]") -> Path:
    """``app`` depending on ``lib`` through a ``[tool.uv.sources]`` path; returns app's directory."""
    write_tree(root, {
        "lib/pyproject.toml": pyproject("env-lib", dependencies=lib_dependencies, extra="""
            [tool.hatch.build.targets.wheel]
            packages = ["env_lib"]
        """),
        "lib/env_lib/__init__.py": "VALUE = 1\n",
        "app/pyproject.toml": pyproject("env-app", dependencies='["env-lib"]', extra="""
            [tool.uv.sources]
            env-lib = { path = "../lib" }
        """),
        "app/env_app/__init__.py": "from env_lib import VALUE\n",
    })
    return root / "app"


def site_file(env, relative: str) -> Path:
    return next(Path(s) / relative for s in env.site_packages if (Path(s) / relative).exists())


def test_second_run_reuses_the_environment(tmp_path: Path) -> None:
    app = projects(tmp_path)
    cache = tmp_path / "cache"
    with isolated_environment(discover(str(app)), cache_dir=cache) as first:
        first_inode = first.prefix.stat().st_ino
        created = json.loads((first.prefix / "cloacina-audit-env.json").read_text())["created"]
        assert set(installed_distributions(first.site_packages)) == {"env-app", "env-lib"}
    with isolated_environment(discover(str(app)), cache_dir=cache) as second:
        assert second.prefix == first.prefix and second.key == first.key
        assert second.prefix.stat().st_ino == first_inode
        assert json.loads((second.prefix / "cloacina-audit-env.json").read_text())["created"] == created
    assert sorted(p.name for p in (cache / "envs").iterdir()) == [first.key, f"{first.key}.lock"]


def test_changing_a_path_source_dependency_builds_a_new_environment(tmp_path: Path) -> None:
    app = projects(tmp_path)
    cache = tmp_path / "cache"
    with isolated_environment(discover(str(app)), cache_dir=cache) as before:
        pass
    projects(tmp_path, lib_dependencies='["six"]')
    with isolated_environment(discover(str(app)), cache_dir=cache) as after:
        assert after.key != before.key and after.prefix != before.prefix
        assert "six" in installed_distributions(after.site_packages)


def test_editing_path_source_code_installs_the_new_code(tmp_path: Path) -> None:
    # uv's own cache keys local builds by pyproject.toml only; the refresh must beat it.
    app = projects(tmp_path)
    cache = tmp_path / "cache"
    with isolated_environment(discover(str(app)), cache_dir=cache) as before:
        assert site_file(before, "env_lib/__init__.py").read_text() == "VALUE = 1\n"
    (tmp_path / "lib/env_lib/__init__.py").write_text("VALUE = 2\n")
    with isolated_environment(discover(str(app)), cache_dir=cache) as after:
        assert after.key != before.key
        assert site_file(after, "env_lib/__init__.py").read_text() == "VALUE = 2\n"


def test_the_key_ignores_caches_and_vcs_data_but_not_code(tmp_path: Path) -> None:
    app = projects(tmp_path)
    base = resolve_interpreter(None)
    uv = uv_version(uv_binary())
    key = environment_key(discover(str(app)), base, uv)
    (app / ".git").mkdir()
    (app / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (app / "env_app" / "__pycache__").mkdir()
    (app / "env_app" / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"\0")
    assert environment_key(discover(str(app)), base, uv) == key
    (app / "env_app" / "extra.py").write_text("")
    assert environment_key(discover(str(app)), base, uv) != key


def test_building_never_writes_to_the_audited_trees(tmp_path: Path) -> None:
    app = projects(tmp_path)
    before = tree_digest(tmp_path)
    with isolated_environment(discover(str(app)), cache_dir=None):
        pass
    assert tree_digest(tmp_path) == before


def test_without_a_cache_the_environment_is_thrown_away(tmp_path: Path) -> None:
    with isolated_environment(discover(str(projects(tmp_path))), cache_dir=None) as env:
        assert env.key is None and env.prefix.is_dir()
    assert not env.prefix.exists()


_BUILD_SCRIPT = textwrap.dedent("""
    import sys
    from pathlib import Path
    from cloacina_audit.discover.target import discover
    from cloacina_audit.environment.isolated import isolated_environment
    with isolated_environment(discover(sys.argv[1]), cache_dir=Path(sys.argv[2])) as env:
        print(env.prefix)
""")


def test_concurrent_builds_of_one_key_both_succeed_with_one_environment(tmp_path: Path) -> None:
    app = projects(tmp_path)
    cache = tmp_path / "cache"
    environ = {**os.environ, "PYTHONPATH": str(REPO)}
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", _BUILD_SCRIPT, str(app), str(cache)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environ,
        )
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=180) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    prefixes = {out.strip() for out, _ in outputs}
    assert len(prefixes) == 1
    key = Path(prefixes.pop()).name
    assert sorted(p.name for p in (cache / "envs").iterdir()) == [key, f"{key}.lock"]


def test_half_built_and_broken_environments_are_replaced(tmp_path: Path) -> None:
    app = projects(tmp_path)
    cache = tmp_path / "cache"
    target = discover(str(app))
    key = environment_key(target, resolve_interpreter(None), uv_version(uv_binary()))
    (cache / "envs" / f"{key}.tmp-deadbeef" / "lib").mkdir(parents=True)  # a crashed build
    (cache / "envs" / key / "bin").mkdir(parents=True)  # a final directory without its metadata
    with isolated_environment(target, cache_dir=cache) as env:
        assert env.key == key
        assert "env-app" in installed_distributions(env.site_packages)
    assert sorted(p.name for p in (cache / "envs").iterdir()) == [key, f"{key}.lock"]


def test_unresolvable_dependency_is_one_clear_line(tmp_path: Path) -> None:
    app = projects(tmp_path, lib_dependencies='["six==999"]')
    with pytest.raises(AuditError) as caught, isolated_environment(
        discover(str(app)), cache_dir=tmp_path / "cache"
    ):
        pass
    message = str(caught.value)
    assert message.startswith(f"cannot install {app}: No solution found when resolving dependencies: ")
    assert "six==999" in message and "\n" not in message
    assert not list((tmp_path / "cache" / "envs").glob("*.tmp-*"))


def test_no_network_is_said_plainly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UV_DEFAULT_INDEX", "http://127.0.0.1:9/simple")
    monkeypatch.setenv("UV_HTTP_RETRIES", "0")
    expected = r"^cannot install idna==3\.7: no network: uv could not connect to http://127\.0\.0\.1:9/"
    with pytest.raises(AuditError, match=expected), isolated_environment(
        discover("idna==3.7"), cache_dir=None
    ):
        pass


def test_a_failing_build_backend_is_one_line(tmp_path: Path) -> None:
    write_tree(tmp_path / "bad", {
        "pyproject.toml": """
            [build-system]
            requires = []
            build-backend = "no_such_backend_module"
            [project]
            name = "bad"
            version = "1"
        """,
        "bad/__init__.py": "",
    })
    expected = r"^cannot install .*bad: Failed to build `bad @ .*: No module named 'no_such_backend_\w+'$"
    with pytest.raises(AuditError, match=expected), isolated_environment(
        discover(str(tmp_path / "bad")), cache_dir=None
    ):
        pass


def test_requirement_targets_are_measured_with_their_import_names(tmp_path: Path) -> None:
    footprint = measure_footprint(
        discover("six==1.17.0"), cache_dir=tmp_path / "cache", forbidden_modules=["six"], probe_runs=1
    )
    assert footprint.package.name == "six" and footprint.package.version == "1.17.0"
    assert footprint.distributions == 0 and footprint.install_bytes == footprint.package.bytes
    assert footprint.import_probe.entry_modules == ["six"]
    assert footprint.import_probe.forbidden_loaded == ["six"]
    assert footprint.environment.startswith("isolated (")


def test_wheel_targets_install_from_the_file(tmp_path: Path) -> None:
    projects(tmp_path)
    built = subprocess.run(
        [uv_binary(), "build", "--wheel", "--out-dir", str(tmp_path / "dist"), str(tmp_path / "lib")],
        capture_output=True, text=True,
    )
    assert built.returncode == 0, built.stderr
    wheel = next((tmp_path / "dist").glob("*.whl"))
    footprint = measure_footprint(discover(str(wheel)), cache_dir=tmp_path / "cache", probe_runs=1)
    assert footprint.package.name == "env-lib"
    assert footprint.import_probe.entry_modules == ["env_lib"]


def test_current_environment_is_the_running_interpreter() -> None:
    env = current_environment()
    assert env.kind == "current" and env.key is None
    assert env.markers == default_environment()
    assert any(Path(p).name == "site-packages" for p in env.site_packages)
    assert "packaging" in installed_distributions(env.site_packages)


def test_current_mode_measures_an_existing_environment_without_installing(tmp_path: Path) -> None:
    app = projects(tmp_path)
    with isolated_environment(discover(str(app)), cache_dir=tmp_path / "cache") as built:
        footprint = measure_footprint(
            discover(str(app)), env="current", python=str(built.python), probe_runs=1
        )
    assert footprint.environment.startswith("current (")
    assert [d.name for d in footprint.by_distribution] == ["env-lib"]
    assert footprint.import_probe.non_stdlib_modules == 2


def test_current_mode_for_a_project_the_environment_lacks(tmp_path: Path) -> None:
    # The running environment has neither env-app nor env-lib: the app is imported
    # from its source tree, and its missing dependency is reported, never counted as 0.
    app = projects(tmp_path)
    (app / "env_app" / "__init__.py").write_text("VALUE = 3\n")
    footprint = measure_footprint(discover(str(app)), env="current", probe_runs=1)
    assert not footprint.package.measured
    assert [(d.name, d.unmeasured) for d in footprint.by_distribution] == [
        ("env-lib", "required but not installed")
    ]
    assert footprint.import_probe.modules == 1


def test_unknown_env_kind_is_an_audit_error(tmp_path: Path) -> None:
    with pytest.raises(AuditError, match="--env docker: expected one of isolated, current"):
        measure_footprint(discover(str(projects(tmp_path))), env="docker")


@pytest.mark.parametrize(
    ("stderr", "expected"),
    [
        (
            "Using Python 3.11.7 environment at: env\n"
            "error: No solution found when resolving dependencies\n"
            "  cause: Because there is no version of six==999 and you require six==999, we can "
            "conclude that your requirements are unsatisfiable.\n",
            "No solution found when resolving dependencies: Because there is no version of six==999 "
            "and you require six==999, we can conclude that your requirements are unsatisfiable.",
        ),
        (
            "  × No solution found when resolving dependencies:\n"
            "  ╰─▶ Because nope was not found in the package registry and you require nope, we can\n"
            "      conclude that your requirements are unsatisfiable.\n",
            "No solution found when resolving dependencies: Because nope was not found in the package "
            "registry and you require nope, we can conclude that your requirements are unsatisfiable.",
        ),
        (
            "error: Request failed after 3 retries in 10.8s\n"
            "  cause: Failed to fetch: https://pypi.org/simple/idna/\n"
            "  cause: error sending request for url (https://pypi.org/simple/idna/)\n"
            "  cause: client error (Connect)\n"
            "  cause: tcp connect error\n"
            "  cause: Connection refused (os error 111)\n",
            "no network: uv could not connect to https://pypi.org/simple/idna/ "
            "(Connection refused (os error 111))",
        ),
        (
            "error: Failed to fetch: `https://pypi.org/simple/six/`\n"
            "  Caused by: dns error: failed to lookup address information: "
            "Temporary failure in name resolution\n",
            "no network: uv could not connect to https://pypi.org/simple/six/ (dns error: failed to "
            "lookup address information: Temporary failure in name resolution)",
        ),
        (
            "   Building bad @ file:///tmp/bad\n"
            "error: Failed to build `bad @ file:///tmp/bad`\n"
            "  cause: The build backend returned an error\n"
            "  cause: Call to `nope.build_wheel` failed (exit status: 1)\n"
            "\n"
            "         [stderr]\n"
            "         Traceback (most recent call last):\n"
            '           File "<string>", line 8, in <module>\n'
            "         ModuleNotFoundError: No module named 'nope'\n"
            "\n"
            "hint: This error likely indicates that `bad@1` depends on `nope`\n",
            "Failed to build `bad @ file:///tmp/bad`: Call to `nope.build_wheel` failed (exit status: 1): "
            "ModuleNotFoundError: No module named 'nope'",
        ),
        ("something odd happened\nand then this\n", "and then this"),
    ],
)
def test_uv_error_line(stderr: str, expected: str) -> None:
    assert uv_error_line(stderr) == expected


def test_an_unusable_cache_directory_is_an_audit_error(tmp_path: Path) -> None:
    not_a_directory = tmp_path / "cache"
    not_a_directory.write_text("")
    with pytest.raises(AuditError, match=r"^cache directory .*cache/envs: cannot write"), isolated_environment(
        discover(str(projects(tmp_path))), cache_dir=not_a_directory
    ):
        pass
