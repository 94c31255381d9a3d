"""Every command on Cloacina package directories and .cloacina archives, end to end."""

from __future__ import annotations

import io
import json
import tarfile
import tempfile
from pathlib import Path

from conftest import assert_clean_error, run_cli, tree_digest, write_tree

MANIFEST = """
    [package]
    name = "orders"
    version = "1.2.0"

    [metadata]
    workflow_name = "orders"
    entry_module = "orders.tasks"
"""

AUTHORING_ONLY = """
    from cloaca import task, Context, RetryPolicy

    @task(id="fetch")
    def fetch(context: Context) -> Context:
        return context
"""

HOST_SURFACE = """
    import cloaca as engine
    from cloaca import task, DatabaseAdmin as Admin

    @task(id="fetch")
    def fetch(context):
        runner = engine.DefaultRunner("sqlite://")
        return context
"""


def make_package(root: Path, tasks: str, manifest: str = MANIFEST, extra: dict | None = None) -> Path:
    package = root / "orders-1.2.0"
    write_tree(package, {
        "package.toml": manifest,
        "workflow/orders/__init__.py": "",
        "workflow/orders/tasks.py": tasks,
        **(extra or {}),
    })
    return package


def make_archive(package: Path, destination: Path) -> Path:
    with tarfile.open(destination, "w:bz2") as tar:
        tar.add(package, arcname=package.name)
    return destination


def contract_results(stdout: str) -> list[dict]:
    return json.loads(stdout)["packages"][0]["contracts"]


def test_authoring_only_package_directory_passes(tmp_path):
    package = make_package(tmp_path, AUTHORING_ONLY)
    result = run_cli("check", str(package), "--format", "json")
    assert result.code == 0, result.stdout + result.stderr
    assert all(c["kept"] for c in contract_results(result.stdout))


def test_host_only_names_are_caught_in_every_form(tmp_path):
    package = make_package(tmp_path, HOST_SURFACE)
    result = run_cli("check", str(package), "--format", "json")
    assert result.code == 1
    steps = [v["chain"][0] for c in contract_results(result.stdout) for v in c["violations"]]
    used = {(s["imported"], s["line"]) for s in steps}
    assert ("cloaca.DatabaseAdmin", 2) in used
    assert ("cloaca.DefaultRunner", 6) in used
    runner = next(s for s in steps if s["imported"] == "cloaca.DefaultRunner")
    assert runner["kind"] == "function"
    assert runner["file"].endswith("workflow/orders/tasks.py")


def test_workflow_builder_is_a_warning_not_a_failure(tmp_path):
    package = make_package(tmp_path, "from cloaca import WorkflowBuilder\nb = WorkflowBuilder('x')\n")
    result = run_cli("check", str(package), "--format", "json")
    assert result.code == 0
    warnings = [w for c in contract_results(result.stdout) for w in c["warnings"]]
    assert any("registers no tasks" in w for w in warnings)


def test_archive_is_checked_like_the_directory_and_leaves_nothing_behind(tmp_path):
    package = make_package(tmp_path / "src", HOST_SURFACE)
    archive = make_archive(package, tmp_path / "orders-1.2.0.cloacina")
    before = (tree_digest(tmp_path / "src"), archive.read_bytes())
    scratch = Path(tempfile.gettempdir())
    leftovers = set(scratch.glob("cloacina-audit-archive-*"))
    result = run_cli("check", str(archive), "--format", "json")
    assert result.code == 1, result.stderr
    step = contract_results(result.stdout)[0]["violations"][0]["chain"][0]
    assert "orders-1.2.0.cloacina!" in step["file"]
    assert (tree_digest(tmp_path / "src"), archive.read_bytes()) == before
    assert set(scratch.glob("cloacina-audit-archive-*")) == leftovers


def test_manifest_findings_name_the_key_and_fail_the_check(tmp_path):
    manifest = MANIFEST + '\n    colour = "blue"\n    package_type = "python"\n'
    package = make_package(tmp_path, AUTHORING_ONLY, manifest=manifest)
    result = run_cli("check", str(package), "--format", "json")
    assert result.code == 1
    messages = [f["message"] for f in json.loads(result.stdout)["packages"][0]["findings"]]
    assert any("colour" in m for m in messages), messages
    assert any("package_type" in m for m in messages), messages


def test_loader_rules_are_findings(tmp_path):
    package = make_package(tmp_path, AUTHORING_ONLY, extra={"vendor/json.py": "x = 1\n"})
    result = run_cli("check", str(package), "--format", "json")
    assert result.code == 1
    rules = {f["rule"] for f in json.loads(result.stdout)["packages"][0]["findings"]}
    assert "loader-shadows-stdlib" in rules


def _malicious_archive(path: Path, member: tarfile.TarInfo, data: bytes = b"") -> Path:
    with tarfile.open(path, "w:bz2") as tar:
        top = tarfile.TarInfo("orders-1.2.0")
        top.type = tarfile.DIRTYPE
        tar.addfile(top)
        tar.addfile(member, io.BytesIO(data) if member.isfile() else None)
    return path


def test_unsafe_archive_is_refused_with_the_entry_named(tmp_path):
    member = tarfile.TarInfo("orders-1.2.0/../../escape.py")
    member.size = 3
    archive = _malicious_archive(tmp_path / "evil.cloacina", member, b"x=1")
    assert_clean_error(run_cli("check", str(archive)), "evil.cloacina", "escape.py")
    assert not (tmp_path.parent / "escape.py").exists()


def test_symlink_out_of_the_archive_is_refused(tmp_path):
    member = tarfile.TarInfo("orders-1.2.0/workflow/passwd")
    member.type = tarfile.SYMTYPE
    member.linkname = "/etc/passwd"
    archive = _malicious_archive(tmp_path / "link.cloacina", member)
    assert_clean_error(run_cli("check", str(archive)), "link.cloacina", "passwd")


def test_not_an_archive(tmp_path):
    bogus = tmp_path / "bogus.cloacina"
    bogus.write_bytes(b"this is not a tarball")
    assert_clean_error(run_cli("check", str(bogus)), "bogus.cloacina")


# --- footprint and report of Cloacina packages --------------------------------------


def _vendored_package(tmp_path: Path) -> Path:
    return make_package(tmp_path, AUTHORING_ONLY, extra={
        "vendor/tinylib/__init__.py": "VALUE = 1\n",
        "vendor/tinylib/_speed.cpython-311-x86_64-linux-gnu.so": "\x7fELF" + "x" * 4000,
    })


def test_footprint_counts_what_the_package_ships_and_shows_cloaca_apart(tmp_path):
    # Issue 13 item 3 changed this: cloaca is the host's, shown apart and counted nowhere.
    from test_cloaca_wheel import FILES, fake_wheel

    package = _vendored_package(tmp_path / "pkg")
    wheel = fake_wheel(tmp_path)
    result = run_cli("footprint", str(package), "--cloaca-wheel", str(wheel), "--format", "json")
    assert result.code == 0, result.stderr
    footprint = json.loads(result.stdout)["packages"][0]["footprint"]
    rows = {d["name"]: d for d in footprint["by_distribution"]}
    assert set(rows) == {"tinylib"}
    assert rows["tinylib"]["version"] == "unknown" and rows["tinylib"]["native_files"] == 1
    own = footprint["package"]["bytes"]
    assert footprint["install_bytes"] == own + rows["tinylib"]["bytes"]
    assert footprint["distributions"] == 1
    assert footprint["native_files"] == 1
    [host] = footprint["host_provided"]
    assert host["name"] == "cloaca" and host["version"] == "0.12.0"
    assert host["native_files"] == 3
    assert host["bytes"] >= sum(len(d) for d in FILES.values())
    assert footprint["import"] is None  # cloaca cannot be installed here: no probe
    assert "provides the cloaca module" in footprint["import_not_probed"]
    text = " ".join(run_cli("footprint", str(package), "--cloaca-wheel", str(wheel)).stdout.split())
    assert "Import: not probed: a Cloacina package is imported by the Cloacina server" in text
    assert "Provided by the host, not counted: cloaca 0.12.0" in text


def test_report_on_an_archive_records_the_archive_size(tmp_path):
    from test_cloaca_wheel import fake_wheel

    package = _vendored_package(tmp_path / "src")
    archive = make_archive(package, tmp_path / "orders-1.2.0.cloacina")
    wheel = fake_wheel(tmp_path)
    result = run_cli("report", str(archive), "--cloaca-wheel", str(wheel), "--format", "json")
    assert result.code == 0, result.stderr
    entry = json.loads(result.stdout)["packages"][0]
    assert entry["footprint"]["archive_bytes"] == archive.stat().st_size
    assert all(c["kept"] for c in entry["contracts"])
