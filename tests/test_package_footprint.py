"""A Cloacina package's footprint is what it ships: its archive, its files, its vendored
distributions; the host's ``cloaca`` is shown apart and counted nowhere."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
from conftest import run_cli, tree_digest, write_tree

from cloacina_audit.analysis.footprint.packing import DETERMINISTIC_MTIME, pack_package, to_toml_pretty

#: Shaped like examples/fixtures/demo-py-workflow/package.toml: nothing left to resolve.
FULL_MANIFEST = """
    [package]
    name = "orders"
    version = "1.2.0"
    interface = "cloacina-workflow-plugin"
    interface_version = 1
    extension = "cloacina"

    [metadata]
    workflow_name = "orders"
    language = "python"
    description = "orders workflow"
    entry_module = "orders.tasks"
"""

#: Shaped like examples/features/workflows/python-packaged/package.toml: the resolver
#: fills in the rest, so cloacinactl packs a staged copy.
MINIMAL_MANIFEST = """
    # comments do not survive the staged copy
    [package]
    name = "orders"
    version = "1.2.0"

    [metadata]
    workflow_name = "orders"
    description = "orders workflow"
"""

TASKS = """
    import cloaca

    @cloaca.task(id="fetch")
    def fetch(context):
        context.set("rows", 3)
        return context
"""


def slim_package(root: Path, manifest: str = FULL_MANIFEST, extra: dict | None = None) -> Path:
    return write_tree(root, {
        "package.toml": manifest,
        "README.md": "# orders\n\nFetches orders.\n",
        "workflow/orders/__init__.py": "",
        "workflow/orders/tasks.py": TASKS,
        **(extra or {}),
    })


def footprint_of(*args: str) -> dict:
    result = run_cli("footprint", *args, "--format", "json")
    assert result.code == 0, result.stderr
    return json.loads(result.stdout)["packages"][0]["footprint"]


# --- a vendor/ built offline by pip from wheels built here ---------------------------------


def _wheel(directory: Path, name: str, version: str, files: dict[str, bytes], metadata: str,
           entry_points: str = "") -> Path:
    dist_info = f"{name}-{version}.dist-info"
    contents = {
        **files,
        f"{dist_info}/METADATA": (
            f"Metadata-Version: 2.1\nName: {metadata.splitlines()[0]}\nVersion: {version}\n"
            + "".join(line + "\n" for line in metadata.splitlines()[1:])
        ).encode(),
        f"{dist_info}/WHEEL": (
            b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    if entry_points:
        contents[f"{dist_info}/entry_points.txt"] = entry_points.encode()
    record = "".join(f"{path},,\n" for path in contents) + f"{dist_info}/RECORD,,\n"
    path = directory / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for member, data in contents.items():
            archive.writestr(member, data)
        archive.writestr(f"{dist_info}/RECORD", record)
    return path


def vendor_offline(package: Path, scratch: Path) -> Path:
    """``pip install --target vendor tinyreq`` from two wheels of our own, no index."""
    wheels = scratch / "wheels"
    wheels.mkdir(parents=True)
    _wheel(wheels, "tinyreq", "1.4.0", {
        "tinyreq/__init__.py": b"import tiny_dep\nVALUE = tiny_dep.VALUE\n",
        "tinyreq/cli.py": b"def main():\n    return 0\n",
    }, "TinyReq\nRequires-Dist: tiny-dep>=1\nRequires-Dist: never-installed; extra == 'extra'",
        entry_points="[console_scripts]\ntinyreq = tinyreq.cli:main\n")
    _wheel(wheels, "tiny_dep", "2.0.1", {
        "tiny_dep/__init__.py": b"VALUE = 1\n" + b"# padding\n" * 400,
        # Incompressible, like machine code: the archive cannot hide it.
        "tiny_dep/_speed.cpython-311-x86_64-linux-gnu.so": b"\x7fELF" + b"".join(
            hashlib.sha256(str(i).encode()).digest() for i in range(1024)
        ),
    }, "tiny-dep")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-index", "--find-links",
         str(wheels), "--target", str(package / "vendor"), "--disable-pip-version-check",
         "tinyreq"],
        check=True, capture_output=True, timeout=300,
    )
    return package


@pytest.fixture(scope="module")
def offline_vendored(tmp_path_factory) -> Path:
    scratch = tmp_path_factory.mktemp("vendored")
    return vendor_offline(slim_package(scratch / "orders-1.2.0"), scratch)


def test_vendored_distributions_are_grouped_by_their_dist_info(offline_vendored):
    assert (offline_vendored / "vendor/bin/tinyreq").is_file()  # pip --target's scripts
    footprint = footprint_of(str(offline_vendored))
    rows = {d["name"]: d for d in footprint["by_distribution"]}
    assert set(rows) == {"TinyReq", "tiny-dep"}
    assert footprint["distributions"] == 2
    assert (rows["TinyReq"]["version"], rows["tiny-dep"]["version"]) == ("1.4.0", "2.0.1")
    assert rows["tiny-dep"]["native_files"] == 1 and rows["TinyReq"]["native_files"] == 0
    vendor_bytes = sum(
        p.stat().st_size for p in (offline_vendored / "vendor").rglob("*") if p.is_file()
    )
    assert rows["TinyReq"]["bytes"] + rows["tiny-dep"]["bytes"] == vendor_bytes
    script = (offline_vendored / "vendor/bin/tinyreq").stat().st_size
    assert rows["TinyReq"]["bytes"] > script  # bin/tinyreq is TinyReq's, from its RECORD
    # REQUESTED marks what pip was asked for; its unique bytes include what only it needs.
    assert rows["TinyReq"]["direct"] and not rows["tiny-dep"]["direct"]
    assert rows["TinyReq"]["unique_bytes"] == vendor_bytes
    assert rows["tiny-dep"]["unique_bytes"] is None
    assert footprint["install_bytes"] == vendor_bytes + footprint["package"]["bytes"]
    assert footprint["native_files"] == 1


def test_report_of_slim_against_vendored_shows_the_archive_shrinking(offline_vendored, tmp_path):
    slim = slim_package(tmp_path / "slim")
    result = run_cli("report", str(slim), "--before", str(offline_vendored),
                     "--target-reduction", "80%", "--format", "json")
    assert result.code == 0, result.stderr
    report = json.loads(result.stdout)
    before, after = report["before"]["footprint"], report["after"]["footprint"]
    assert after["distributions"] == 0 and after["host_provided"][0]["name"] == "cloaca"
    delta = report["delta"]
    assert delta["archive_bytes"] == after["archive_bytes"] - before["archive_bytes"]
    assert delta["archive_bytes_pct"] == round(
        (after["archive_bytes"] - before["archive_bytes"]) / before["archive_bytes"] * 100, 2
    )
    assert delta["archive_bytes_pct"] < -90
    assert delta["distributions"] == -2
    assert delta["reduction"]["reached"] is True
    markdown = run_cli("report", str(slim), "--before", str(offline_vendored), "--format",
                       "markdown").stdout
    assert "| Archive size |" in markdown
    assert f"Archive: {after['archive_bytes']} B, 4 files (packed here" in markdown
    assert "Provided by the host, not counted: cloaca (version unknown)" in markdown


def test_report_text_under_a_terminal_shows_archive_and_host(offline_vendored, tmp_path):
    slim = slim_package(tmp_path / "slim")
    command = (
        f"{sys.executable} -m cloacina_audit report {slim} --before {offline_vendored} "
        "--target-reduction 80%"
    )
    completed = subprocess.run(
        ["script", "-qec", command, "/dev/null"], capture_output=True, text=True,
        timeout=300, env={**os.environ, "NO_COLOR": "1", "COLUMNS": "120"},
    )
    assert completed.returncode == 0, completed.stdout
    text = completed.stdout
    assert "Archive size" in text
    assert "Provided by the host, not counted: cloaca (version unknown)" in text
    assert "goal 80% reduction: reached" in text
    assert "Traceback" not in text


# --- packing as cloacinactl packs ------------------------------------------------------------

JUNK = {
    "workflow/orders/__pycache__/tasks.cpython-311.pyc": "compiled",
    "target/debug/build.log": "rust build output",
    ".git/HEAD": "ref: refs/heads/main\n",
    "node_modules/left-pad/index.js": "module.exports = 1\n",
    "orders-1.1.0.cloacina": "an older archive",
}


def _names(archive: Path) -> list[str]:
    with tarfile.open(archive, "r:bz2") as tar:
        return tar.getnames()


def test_a_resolved_manifest_is_packed_as_it_is(tmp_path):
    package = slim_package(tmp_path / "pkg", extra=JUNK)
    packed = pack_package(package, tmp_path / "out.cloacina")
    assert not packed.staged
    # fidius pack_package skips target/ and .git/ only; the rest ships.
    assert _names(tmp_path / "out.cloacina") == [
        "orders-1.2.0/README.md",
        "orders-1.2.0/node_modules/left-pad/index.js",
        "orders-1.2.0/orders-1.1.0.cloacina",
        "orders-1.2.0/package.toml",
        "orders-1.2.0/workflow/orders/__init__.py",
        "orders-1.2.0/workflow/orders/__pycache__/tasks.cpython-311.pyc",
        "orders-1.2.0/workflow/orders/tasks.py",
    ]
    assert packed.compressed_bytes == (tmp_path / "out.cloacina").stat().st_size
    assert pack_package(package).compressed_bytes == packed.compressed_bytes  # counted, unwritten


def test_a_minimal_manifest_is_packed_from_a_staged_copy(tmp_path):
    package = slim_package(tmp_path / "pkg", MINIMAL_MANIFEST, extra=JUNK)
    before = tree_digest(package)
    archive = tmp_path / "out.cloacina"
    packed = pack_package(package, archive)
    assert packed.staged
    assert _names(archive) == [
        "orders-1.2.0/README.md",
        "orders-1.2.0/package.toml",
        "orders-1.2.0/workflow/orders/__init__.py",
        "orders-1.2.0/workflow/orders/tasks.py",
    ]
    with tarfile.open(archive, "r:bz2") as tar:
        members = tar.getmembers()
        manifest = tar.extractfile("orders-1.2.0/package.toml").read().decode()
    assert all(m.isreg() and m.mtime == DETERMINISTIC_MTIME and m.uid == m.gid == 0
               for m in members)
    assert manifest == (
        "[metadata]\n"
        'description = "orders workflow"\n'
        'entry_module = "orders.tasks"\n'
        'language = "python"\n'
        'workflow_name = "orders"\n'
        "\n"
        "[package]\n"
        'extension = "cloacina"\n'
        'interface = "cloacina-workflow-plugin"\n'
        "interface_version = 1\n"
        'name = "orders"\n'
        'version = "1.2.0"\n'
    )
    assert tree_digest(package) == before


def test_toml_pretty_writes_nested_tables_and_arrays_of_tables():
    document = {
        "package": {"name": "g", "version": "0.1.0"},
        "metadata": {
            "accumulators": [{"name": "ticks", "config": {"topic": "t"}}],
            "providers": {"fs": {"path": "../fs"}},
            "tags": ["a", "b"],
        },
    }
    assert to_toml_pretty(document) == (
        "[metadata]\n"
        "tags = [\n"
        '    "a",\n'
        '    "b",\n'
        "]\n"
        "\n"
        "[[metadata.accumulators]]\n"
        'name = "ticks"\n'
        "\n"
        "[metadata.accumulators.config]\n"
        'topic = "t"\n'
        "\n"
        "[metadata.providers.fs]\n"
        'path = "../fs"\n'
        "\n"
        "[package]\n"
        'name = "g"\n'
        'version = "0.1.0"\n'
    )


def test_footprint_of_a_directory_is_its_packed_archive(tmp_path):
    package = slim_package(tmp_path / "pkg", extra={"workflow/orders/__pycache__/x.pyc": "pyc"})
    footprint = footprint_of(str(package))
    expected = pack_package(package, tmp_path / "real.cloacina")
    assert footprint["archive_bytes"] == expected.compressed_bytes
    assert footprint["archive_packed"] is True and footprint["archive_files"] == 5
    assert footprint["distributions"] == 0 and footprint["by_distribution"] == []
    own = footprint["package"]
    assert own["files"] == 5  # README.md and the shipped __pycache__ count: they ship
    assert own["bytes"] == footprint["install_bytes"] == sum(m.size for m in expected.members)
    assert footprint["pyc_bytes"] == 3
    # The archive cloacinactl would build is one the tool reads back the same way.
    again = footprint_of(str(tmp_path / "real.cloacina"))
    assert again["archive_packed"] is False
    assert again["archive_bytes"] == (tmp_path / "real.cloacina").stat().st_size
    assert again["install_bytes"] == footprint["install_bytes"]


def test_footprint_is_byte_identical_across_hash_seeds(offline_vendored):
    outputs = {
        run_cli("footprint", str(offline_vendored), "--format", "json",
                env={"PYTHONHASHSEED": seed}).stdout
        for seed in ("0", "1", "12345")
    }
    assert len(outputs) == 1


# --- the host's cloaca ------------------------------------------------------------------------


def test_cloaca_is_the_hosts_and_its_version_comes_from_the_wheel_given(tmp_path):
    package = slim_package(tmp_path / "pkg")
    [unknown] = footprint_of(str(package))["host_provided"]
    assert unknown["version"] is None and unknown["bytes"] is None
    wheel = _wheel(tmp_path, "cloaca", "0.13.1", {
        "cloaca/__init__.py": b"from .cloaca import *\n",
        "cloaca/cloaca.abi3.so": b"\x7fELF" + b"x" * 5000,
    }, "cloaca")
    footprint = footprint_of(str(package), "--cloaca-wheel", str(wheel))
    [host] = footprint["host_provided"]
    assert (host["version"], host["native_files"]) == ("0.13.1", 1)
    assert host["bytes"] > 5000
    assert footprint["install_bytes"] == footprint["package"]["bytes"] < 1000


def test_a_package_that_never_imports_cloaca_needs_nothing_from_the_host(tmp_path):
    package = slim_package(tmp_path / "pkg")
    (package / "workflow/orders/tasks.py").write_text("VALUE = 1\n")
    assert footprint_of(str(package))["host_provided"] == []


# --- the real thing, from PyPI -------------------------------------------------------------


@pytest.mark.network
@pytest.mark.skipif(
    os.environ.get("CLOACINA_AUDIT_NETWORK_TESTS") != "1",
    reason="set CLOACINA_AUDIT_NETWORK_TESTS=1 to vendor requests and pyyaml from PyPI",
)
def test_requests_and_pyyaml_vendored_with_pip_are_six_distributions(tmp_path):
    vendored = slim_package(tmp_path / "vendored")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--target",
         str(vendored / "vendor"), "--disable-pip-version-check", "requests", "pyyaml"],
        check=True, capture_output=True, timeout=600,
    )
    footprint = footprint_of(str(vendored))
    names = {d["name"].lower() for d in footprint["by_distribution"]}
    assert names == {"certifi", "charset-normalizer", "idna", "pyyaml", "requests", "urllib3"}
    assert footprint["distributions"] == 6
    assert all(d["version"][0].isdigit() for d in footprint["by_distribution"])
    slim = slim_package(tmp_path / "slim")
    result = run_cli("report", str(slim), "--before", str(vendored), "--target-reduction",
                     "80%", "--format", "json")
    assert result.code == 0, result.stderr
    delta = json.loads(result.stdout)["delta"]
    assert delta["archive_bytes_pct"] < -99 and delta["reduction"]["reached"] is True


# --- what cloacinactl cannot pack ------------------------------------------------------------


def test_a_symlink_is_packed_as_the_file_it_points_to(tmp_path):
    outside = tmp_path / "shared.py"
    outside.write_text("SHARED = 1\n" * 50)
    package = slim_package(tmp_path / "pkg")
    (package / "workflow/orders/shared.py").symlink_to(outside)
    packed = pack_package(package, tmp_path / "out.cloacina")
    with tarfile.open(tmp_path / "out.cloacina", "r:bz2") as tar:
        member = tar.getmember("orders-1.2.0/workflow/orders/shared.py")
        assert member.isreg() and member.size == outside.stat().st_size
    assert footprint_of(str(package))["archive_bytes"] == packed.compressed_bytes


@pytest.mark.parametrize("kind", ["broken", "loop"])
def test_a_tree_cloacinactl_cannot_pack_is_one_clean_error(tmp_path, kind):
    from conftest import assert_clean_error

    package = slim_package(tmp_path / "pkg")
    if kind == "broken":
        (package / "workflow/orders/gone.py").symlink_to(tmp_path / "missing.py")
    else:
        (package / "workflow/orders/again").symlink_to(package / "workflow")
    before = tree_digest(package)
    result = run_cli("footprint", str(package))
    assert_clean_error(result, "broken symbolic link" if kind == "broken" else "symbolic link loop")
    assert tree_digest(package) == before


def test_a_missing_cloaca_wheel_is_one_clean_error(tmp_path):
    from conftest import assert_clean_error

    package = slim_package(tmp_path / "pkg")
    missing = tmp_path / "cloaca-1.0-py3-none-any.whl"
    result = run_cli("footprint", str(package), "--cloaca-wheel", str(missing))
    assert_clean_error(result, "cloaca-1.0-py3-none-any.whl")


def test_headers_are_laid_out_as_tar_rs_writes_them(tmp_path):
    import bz2

    long_name = "workflow/orders/" + "step_" * 30 + ".py"
    package = slim_package(tmp_path / "pkg", extra={long_name: "VALUE = 1\n"})
    archive = tmp_path / "out.cloacina"
    pack_package(package, archive)
    raw = bz2.decompress(archive.read_bytes())
    assert len(raw) % 512 == 0 and raw.endswith(b"\0" * 1024)
    assert len(raw) < 10240  # two zero blocks end it: no padding to tarfile's 20-block records
    headers, position = [], 0
    while raw[position:position + 512].strip(b"\0"):
        block = raw[position:position + 512]
        headers.append(block)
        size = int(block[124:135], 8)
        position += 512 + -(-size // 512) * 512
    for block in headers:
        expected = sum(block[:148]) + 8 * 32 + sum(block[156:])
        assert block[148:156] == b"%07o\0" % expected  # tar-rs: seven digits and a NUL
        assert block[257:265] == b"ustar  \0"  # tar-rs Header::new_gnu
    longlink = [b for b in headers if b[156:157] == b"L"]
    assert len(longlink) == 1 and longlink[0][:13] == b"././@LongLink"
    assert longlink[0][100:108] == b"0000644\0"
    with tarfile.open(archive, "r:bz2") as tar:
        assert f"orders-1.2.0/{long_name}" in tar.getnames()
