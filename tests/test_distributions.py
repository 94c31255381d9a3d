"""Closure and bytes on disk, from real dist-info directories and a real uv environment."""

from __future__ import annotations

import os
from pathlib import Path

import projects
import pytest
from conftest import FIXTURES, write_tree
from packaging.markers import default_environment
from packaging.requirements import Requirement

from cloacina_audit.analysis.footprint.distributions import (
    EDITABLE,
    NO_RECORD,
    NOT_INSTALLED,
    import_names,
    installed_distributions,
    measure_closure,
    measure_distribution,
    resolve_closure,
)
from cloacina_audit.errors import AuditError
from cloacina_audit.model.core_metadata import metadata_headers

MARKERS = default_environment()


def fake_dist(
    site: Path,
    name: str,
    files: dict[str, bytes] | None = None,
    *,
    version: str = "1.0",
    requires: list[str] = (),  # type: ignore[assignment]
    record: bool = True,
    editable: bool = False,
    extra_metadata: str = "",
    extra_dist_info: dict[str, str] | None = None,
) -> Path:
    """A dist-info directory as an installer leaves it, with a RECORD listing real files."""
    dist_info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    dist_info.mkdir(parents=True)
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n{extra_metadata}"
    metadata += "".join(f"Requires-Dist: {r}\n" for r in requires)
    (dist_info / "METADATA").write_text(metadata)
    listed = [f"{dist_info.name}/METADATA"]
    for relative, content in (files or {}).items():
        path = site / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        listed.append(relative)
    for relative, content in (extra_dist_info or {}).items():
        (dist_info / relative).write_text(content)
        listed.append(f"{dist_info.name}/{relative}")
    if editable:
        (dist_info / "direct_url.json").write_text('{"url": "file:///src", "dir_info": {"editable": true}}')
        listed.append(f"{dist_info.name}/direct_url.json")
    if record:
        listed.append(f"{dist_info.name}/RECORD")
        (dist_info / "RECORD").write_text("".join(f"{p},,\n" for p in listed))
    return dist_info


def record_bytes(site: Path, dist_info: Path) -> int:
    rows = (dist_info / "RECORD").read_text().splitlines()
    return sum(os.stat(os.path.normpath(site / r.split(",")[0])).st_size for r in rows)


def test_hard_links_are_counted_once(tmp_path: Path) -> None:
    site = tmp_path / "site-packages"
    fake_dist(site, "linked", {"linked/__init__.py": b"", "linked/data.bin": b"x" * 100_000})
    os.link(site / "linked/data.bin", site / "linked/copy.bin")
    dist_info = site / "linked-1.0.dist-info"
    with open(dist_info / "RECORD", "a") as record:
        record.write("linked/copy.bin,,\nlinked/./data.bin,,\n")  # a second name, and a second spelling

    footprint, _ = measure_distribution(installed_distributions([site])["linked"])

    metadata = (dist_info / "METADATA").stat().st_size + (dist_info / "RECORD").stat().st_size
    assert footprint.bytes == 100_000 + metadata
    assert footprint.files == 4  # __init__, data (once), METADATA, RECORD


def test_record_spellings_under_a_dotted_environment_path(tmp_path: Path) -> None:
    """Quoted paths (a comma in the name), ``./`` and ``../`` spellings, in a ``.venv``:
    the site directory's own ``/.`` must not make every row look like one to normalise."""
    site = tmp_path / ".venv" / "lib" / "site-packages"
    dist_info = fake_dist(site, "odd", {"odd/__init__.py": b"i" * 3, "odd/a,b.txt": b"c" * 11})
    (site.parent / "bin").mkdir()
    (site.parent / "bin" / "odd-tool").write_bytes(b"t" * 5)
    with open(dist_info / "RECORD", "a") as record:
        record.write('"odd/a,b.txt",,\nodd/./__init__.py,,\n../bin/odd-tool,,\nodd/missing.py,,\n\n')

    footprint, _ = measure_distribution(installed_distributions([site])["odd"])

    metadata = (dist_info / "METADATA").stat().st_size + (dist_info / "RECORD").stat().st_size
    assert footprint.bytes == 3 + 11 + 5 + metadata
    assert footprint.files == 5  # __init__, a,b.txt, odd-tool, METADATA, RECORD
    assert footprint.outside_bytes == 5


def test_hard_links_shared_between_distributions_count_once_in_the_total(tmp_path: Path) -> None:
    site = tmp_path / "site-packages"
    fake_dist(site, "root", {"root/__init__.py": b""}, requires=["left", "right"])
    fake_dist(site, "left", {"left/blob.bin": b"l" * 50_000})
    fake_dist(site, "right", {"right/__init__.py": b""})
    os.link(site / "left/blob.bin", site / "right/blob.bin")
    with open(site / "right-1.0.dist-info/RECORD", "a") as record:
        record.write("right/blob.bin,,\n")

    footprint = measure_closure(installed_distributions([site]), "root", MARKERS)

    per_distribution = sum(d.bytes for d in footprint.by_distribution) + footprint.package.bytes
    assert per_distribution - footprint.install_bytes == 50_000


def test_editable_and_record_less_distributions_are_unmeasured_never_zero(tmp_path: Path) -> None:
    site = tmp_path / "site-packages"
    fake_dist(site, "root", {"root/__init__.py": b"x"}, requires=["editable-dep", "no-record", "ghost"])
    fake_dist(site, "editable-dep", {"__editable__.editable_dep.pth": b"/src\n"}, editable=True)
    fake_dist(site, "no-record", {"no_record/__init__.py": b"y" * 10}, record=False)

    footprint = measure_closure(installed_distributions([site]), "root", MARKERS)

    by_name = {d.name: d for d in footprint.by_distribution}
    assert (by_name["editable-dep"].bytes, by_name["editable-dep"].unmeasured) == (None, EDITABLE)
    assert (by_name["no-record"].bytes, by_name["no-record"].unmeasured) == (None, NO_RECORD)
    assert (by_name["ghost"].bytes, by_name["ghost"].unmeasured) == (None, NOT_INSTALLED)
    assert [d.name for d in footprint.unmeasured] == ["editable-dep", "ghost", "no-record"]
    assert footprint.distributions == 3
    assert all(d.unique_bytes is None for d in footprint.by_distribution)


def test_native_pyc_and_outside_files_have_their_own_figures(tmp_path: Path) -> None:
    env = tmp_path / "env"
    site = env / "lib" / "site-packages"
    dist_info = fake_dist(
        site,
        "psycopg2-binary",
        {
            "psycopg2/__init__.py": b"a" * 10,
            "psycopg2/_psycopg.cpython-311-x86_64-linux-gnu.so": b"s" * 1000,
            "psycopg2_binary.libs/libpq-9a8b.so.5.16": b"l" * 2000,
            "psycopg2_binary.libs/libcrypto-1a2b.so.3": b"c" * 3000,
            "psycopg2/_json.py": b"j" * 20,
            "psycopg2/listed.cpython-311.pyc": b"p" * 7,
            "../../bin/pgtool": b"#!python\n",
        },
    )
    # uv's --compile-bytecode writes these without listing them in RECORD.
    (site / "psycopg2/__pycache__").mkdir()
    (site / "psycopg2/__pycache__/__init__.cpython-311.pyc").write_bytes(b"c" * 40)
    (site / "psycopg2/__pycache__/_json.cpython-311.opt-1.pyc").write_bytes(b"c" * 50)
    (site / "psycopg2/__pycache__/unrelated.cpython-311.pyc").write_bytes(b"c" * 60)

    footprint, _ = measure_distribution(installed_distributions([site])["psycopg2-binary"])

    assert (footprint.native_files, footprint.native_bytes) == (3, 6000)
    assert footprint.pyc_bytes == 7 + 40 + 50
    assert footprint.outside_bytes == len(b"#!python\n")
    assert footprint.bytes == record_bytes(site, dist_info) + 40 + 50
    assert footprint.files == 8 + 2 + 1  # RECORD rows, two pyc, RECORD itself


def test_closure_follows_markers_and_extras(tmp_path: Path) -> None:
    site = tmp_path / "site-packages"
    fake_dist(site, "root", {"root/__init__.py": b""}, requires=[
        "engine[postgres]",
        "windows-only; sys_platform == 'nonexistent-os'",
        "docs-tool; extra == 'docs'",
        "modern; python_version >= '3.0'",
    ])
    fake_dist(site, "engine", requires=["driver; extra == 'postgres'", "shared", "mysql; extra == 'mysql'"])
    fake_dist(site, "modern", requires=["shared"])
    fake_dist(site, "driver", requires=["root"])  # a cycle back to the root
    for name in ("shared", "windows-only", "docs-tool", "mysql"):
        fake_dist(site, name)
    installed = installed_distributions([site])
    root = installed["root"]

    closure = resolve_closure("root", root.requirements(), installed, MARKERS)
    assert closure.members == ["driver", "engine", "modern", "shared"]
    assert closure.direct == ["engine", "modern"]

    with_docs = resolve_closure("root", root.requirements(), installed, MARKERS, root_extras=["Docs"])
    assert "docs-tool" in with_docs.members


def test_metadata_headers_read_as_the_email_parser_reads_them(tmp_path: Path) -> None:
    """The header reader that replaced ``Distribution.metadata`` on every installed
    distribution: same fields, folded lines joined, the description not read."""
    text = (
        "Metadata-Version: 2.4\nName:  Odd.Name \nVersion: 2.0\n"
        "Requires-Dist: engine[postgres]>=1;\n extra == 'db'\n"
        "Requires-Dist: shared\nSummary: a: colon\n\n"
        "Requires-Dist: in-the-description\nName: not-a-header\n"
    )
    fields = metadata_headers(text)
    assert fields["name"] == ["Odd.Name"] and fields["version"] == ["2.0"]
    assert fields["requires-dist"] == ["engine[postgres]>=1; extra == 'db'", "shared"]
    assert fields["summary"] == ["a: colon"]
    assert metadata_headers(None) == {} and metadata_headers("") == {}
    # Installed: the same name, version and requirements as importlib.metadata's parser.
    site = tmp_path / "site-packages"
    fake_dist(site, "root", requires=["engine[postgres]; extra == 'db'", "shared"],
              extra_metadata="Summary: x\n")
    [root] = installed_distributions([site]).values()
    parsed = root.distribution.metadata
    assert (root.display_name, root.version) == (parsed["Name"], parsed["Version"])
    assert root.requirements() == [Requirement(line) for line in parsed.get_all("Requires-Dist")]


def test_unique_bytes_of_direct_dependencies(tmp_path: Path) -> None:
    site = tmp_path / "site-packages"
    fake_dist(site, "root", requires=["heavy", "light"])
    fake_dist(site, "heavy", {"heavy.py": b"h" * 1000}, requires=["driver", "shared"])
    fake_dist(site, "light", {"light.py": b"l" * 10}, requires=["shared"])
    fake_dist(site, "driver", {"driver.py": b"d" * 5000})
    fake_dist(site, "shared", {"shared.py": b"s" * 300})

    footprint = measure_closure(installed_distributions([site]), "root", MARKERS)

    by_name = {d.name: d for d in footprint.by_distribution}
    assert by_name["heavy"].unique_bytes == by_name["heavy"].bytes + by_name["driver"].bytes
    assert by_name["light"].unique_bytes == by_name["light"].bytes  # shared stays with heavy
    assert by_name["driver"].unique_bytes is None and not by_name["driver"].direct
    assert footprint.distributions == 4
    assert footprint.package.name == "root"
    total = footprint.package.bytes + sum(d.bytes for d in footprint.by_distribution)
    assert footprint.install_bytes == total


def test_root_not_installed_uses_the_declared_requirements(tmp_path: Path) -> None:
    site = tmp_path / "site-packages"
    fake_dist(site, "dep", {"dep.py": b"d"})
    installed = installed_distributions([site])

    footprint = measure_closure(
        installed, "project", MARKERS, root_requirements=[Requirement("dep")], root_unmeasured="not here"
    )
    assert [d.name for d in footprint.by_distribution] == ["dep"]
    assert footprint.package.unmeasured == "not here"
    with pytest.raises(AuditError, match="project is not installed"):
        measure_closure(installed, "project", MARKERS)


def test_import_names_from_metadata(tmp_path: Path) -> None:
    site = tmp_path / "site-packages"
    fake_dist(site, "declared", extra_metadata="Import-Name: declared\nImport-Name: declared.sub\n"
              "Import-Name: _declared_impl; private\n")
    fake_dist(site, "toplevel", {"tl/__init__.py": b""}, extra_dist_info={"top_level.txt": "tl\n_tl_c\n"})
    fake_dist(site, "recorded", {
        "six_like.py": b"",
        "_private_ext.cpython-311-x86_64-linux-gnu.so": b"",
        "ns/inner/__init__.py": b"",
        "ns/inner/deep/__init__.py": b"",
        "pkg/__init__.py": b"",
        "pkg/__pycache__/__init__.cpython-311.pyc": b"",
        "recorded.pth": b"",
    })
    installed = installed_distributions([site])
    assert import_names(installed["declared"]) == ["declared"]
    assert import_names(installed["toplevel"]) == ["tl"]
    assert import_names(installed["recorded"]) == ["ns.inner", "pkg", "six_like"]


# --- against the disk: a real uv environment -------------------------------------


@pytest.fixture(scope="module")
def built_env(tmp_path_factory: pytest.TempPathFactory):
    """An isolated environment holding a local project, a path source and ``six`` from PyPI."""
    from cloacina_audit.discover.target import discover
    from cloacina_audit.environment.isolated import isolated_environment

    root = tmp_path_factory.mktemp("du")
    write_tree(root, {
        "lib/pyproject.toml": projects.pyproject("du-lib", dependencies='["six"]', extra="""
            scripts = { du-tool = "du_lib:main" }
            [tool.hatch.build.targets.wheel]
            packages = ["du_lib"]
        """),
        "lib/du_lib/__init__.py": "def main():\n    return 0\n" + "# padding\n" * 2000,
        "lib/du_lib/native/_fast.cpython-311-x86_64-linux-gnu.so": "not really native\n" * 100,
        "app/pyproject.toml": projects.pyproject("du-app", dependencies='["du-lib"]', extra="""
            [tool.uv.sources]
            du-lib = { path = "../lib", editable = true }
        """),
        "app/du_app/__init__.py": "import du_lib\n",
    })
    target = discover(str(root / "app"))
    with isolated_environment(target, cache_dir=root / "cache") as env:
        yield target, env


def test_totals_match_an_independent_count_of_site_packages(built_env) -> None:
    target, env = built_env
    installed = installed_distributions(env.site_packages)
    footprint = measure_closure(installed, target.name, env.markers)

    # du-style: every regular file below site-packages, each inode once.
    seen: set[tuple[int, int]] = set()
    on_disk = 0
    for site in set(env.site_packages):
        for directory, _, names in os.walk(site):
            for name in names:
                info = os.lstat(os.path.join(directory, name))
                if (info.st_dev, info.st_ino) not in seen:
                    seen.add((info.st_dev, info.st_ino))
                    on_disk += info.st_size

    inside = footprint.install_bytes - footprint.outside_bytes
    assert abs(inside - on_disk) <= 0.02 * on_disk, (inside, on_disk)
    assert sorted(d.name for d in footprint.by_distribution) == ["du-lib", "six"]
    assert footprint.package.name == "du-app" and footprint.package.measured
    assert footprint.native_files == 1
    assert footprint.outside_bytes > 0  # bin/du-tool
    assert footprint.pyc_bytes > 0  # compiled at install, not listed in RECORD
    by_name = {d.name: d for d in footprint.by_distribution}
    assert by_name["du-lib"].direct
    assert by_name["du-lib"].unique_bytes == footprint.install_bytes - footprint.package.bytes


def test_fixture_slim_is_at_least_80_percent_smaller_than_bloated(tmp_path: Path) -> None:
    if not all((FIXTURES / name / "pyproject.toml").is_file() for name in ("bloated", "slim")):
        pytest.skip("fixtures/bloated and fixtures/slim are not there yet")
    from cloacina_audit.app.footprint import measure_footprint
    from cloacina_audit.discover.target import discover

    forbidden = ["cloacina.runtime", "cloacina.database", "cloacina.registry", "sqlalchemy", "psycopg2"]
    bloated = measure_footprint(
        discover(str(FIXTURES / "bloated")), cache_dir=tmp_path, forbidden_modules=forbidden, probe_runs=1
    )
    slim = measure_footprint(
        discover(str(FIXTURES / "slim")), cache_dir=tmp_path, forbidden_modules=forbidden, probe_runs=1
    )
    assert slim.install_bytes <= 0.2 * bloated.install_bytes, (slim.install_bytes, bloated.install_bytes)
    assert "sqlalchemy" in bloated.import_probe.forbidden_loaded
    assert "cloacina.runtime" in bloated.import_probe.forbidden_loaded
    assert slim.import_probe.forbidden_loaded == []


def test_an_installers_timestamp_file_is_not_counted(tmp_path: Path) -> None:
    """uv's uv_cache.json holds the install time (nanoseconds of 8 or 9 digits), so two
    installs of the same directory differed by a byte; it is not what the package costs."""
    sizes = []
    for nanos in (89118048, 289118048):
        site = tmp_path / str(nanos) / "site-packages"
        stamp = ('{"timestamp":{"secs_since_epoch":1796199471,"nanos_since_epoch":%d},'
                 '"commit":null,"tags":null,"env":{},"directories":{"src":null}}' % nanos)
        fake_dist(site, "grower", {"grower/__init__.py": b"VALUE = 1\n"},
                  extra_dist_info={"uv_cache.json": stamp})
        footprint, _ = measure_distribution(installed_distributions([site])["grower"])
        sizes.append((footprint.bytes, footprint.files))
    assert sizes[0] == sizes[1]
    assert sizes[0][1] == 3  # __init__.py, METADATA, RECORD
