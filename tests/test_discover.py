"""discover/target.py on its own: what kind of target a PATH is and what discovery
records about it, for each kind, without installing or running anything."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from cloacina_shapes import namespace_layout, pack
from conftest import write_tree
from hostile.support import project

from cloacina_audit.discover.target import InstallSource, discover, open_target
from cloacina_audit.errors import AuditError


def test_a_project_is_built_from_its_tree(tmp_path: Path) -> None:
    root = project(tmp_path / "proj", {"src/order_pipeline/__init__.py": "",
                                       "tests/test_x.py": ""}, name="Order.Pipeline")
    target = discover(str(root))
    assert target.kind == "project"
    assert target.name == "order-pipeline"  # canonical
    assert target.packages == ["order_pipeline"]  # tests/ is not a package of the project
    assert target.tree is not None and target.tree.search_paths == [root.resolve() / "src"]
    assert target.install == InstallSource(project=root.resolve())
    assert target.built_from_source and not target.installed_only
    assert target.follows_imports


def test_a_path_source_is_recorded_with_its_packages(tmp_path: Path) -> None:
    project(tmp_path / "lib", {"lib_pkg/__init__.py": ""}, name="lib")
    root = project(tmp_path / "app", {"app/__init__.py": ""}, name="app",
                   dependencies='["lib"]', extra='[tool.uv.sources]\nlib = { path = "../lib" }\n')
    target = discover(str(root))
    assert list(target.path_sources) == ["lib"]
    assert target.path_sources["lib"].packages == ["lib_pkg"]


def test_a_subdirectory_audits_the_project_it_is_in(tmp_path: Path) -> None:
    root = project(tmp_path / "proj", {"pkg/__init__.py": "", "pkg/sub/__init__.py": ""})
    target = discover(str(root / "pkg" / "sub"), ceiling=tmp_path)
    assert target.kind == "project" and target.root == root.resolve()


def test_the_walk_up_stops_at_the_ceiling(tmp_path: Path) -> None:
    project(tmp_path / "proj", {"pkg/__init__.py": ""})
    inner = tmp_path / "proj" / "pkg"
    with pytest.raises(AuditError, match="no pyproject.toml, package.toml or import-linter"):
        discover(str(inner), ceiling=inner)


def test_an_import_linter_directory_is_graphed_from_its_roots_alone(tmp_path: Path) -> None:
    write_tree(tmp_path, {
        "repo/.importlinter": "[importlinter]\nroot_packages =\n    alpha\n    beta\n",
        "repo/alpha/__init__.py": "",
        "repo/src/beta/__init__.py": "",
    })
    target = discover(str(tmp_path / "repo"))
    assert target.kind == "importlinter"
    assert not target.follows_imports and target.install is None
    assert sorted(target.packages) == ["alpha", "beta"]


def test_a_cloacina_package_carries_its_manifest(tmp_path: Path) -> None:
    package = namespace_layout(tmp_path)
    target = discover(str(package))
    assert target.kind == "cloacina_package"
    assert target.manifest is not None
    assert (target.manifest.name, target.manifest.entry_module) == (
        "data-pipeline", "data_pipeline.tasks")
    assert target.install is None  # the server installs nothing of its own for it


def test_an_archive_reads_like_its_package_and_is_shown_as_itself(tmp_path: Path) -> None:
    archive = pack(namespace_layout(tmp_path / "src"), tmp_path)
    with open_target(str(archive)) as target:
        assert target.kind == "cloacina_package"
        assert target.archive_bytes == archive.stat().st_size
        assert target.root is not None and target.root.is_dir()
        extracted = target.root
        shown = target.show(str(extracted / "workflow" / "data_pipeline" / "tasks.py"))
        assert shown == f"{archive.resolve()}!/data-pipeline-0.1.0/workflow/data_pipeline/tasks.py"
    assert not extracted.exists()  # unpacked for the with block only


def test_a_wheel_and_a_requirement_are_installed_only(tmp_path: Path) -> None:
    wheel = tmp_path / "order_pipeline-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("order_pipeline/__init__.py", "")
    target = discover(str(wheel))
    assert (target.kind, target.name) == ("wheel", "order-pipeline")
    assert target.install == InstallSource(wheel=wheel.resolve()) and target.installed_only

    requirement = discover("Prefect_Client==3.9.0")
    assert (requirement.kind, requirement.name) == ("requirement", "prefect-client")
    assert requirement.install == InstallSource(requirement="Prefect_Client==3.9.0")


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: (d / "notes.txt").write_text("x") and d / "notes.txt",
         "not a project directory, wheel or .cloacina archive"),
        (lambda d: d / "missing-dir/", "missing-dir"),
        (lambda d: d / "no_such_thing.whl", "no_such_thing.whl"),
    ],
    ids=["plain-file", "missing-directory", "missing-wheel"],
)
def test_what_is_no_target_is_one_clear_error(tmp_path: Path, make, message: str) -> None:
    spec = make(tmp_path)
    with pytest.raises(AuditError) as caught:
        discover(str(spec), ceiling=tmp_path)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_an_archive_needs_open_target(tmp_path: Path) -> None:
    archive = tmp_path / "wf-1.0.cloacina"
    archive.write_bytes(b"")
    with pytest.raises(AuditError, match="opened with open_target"):
        discover(str(archive))


def test_open_target_passes_directories_through(tmp_path: Path) -> None:
    root = project(tmp_path / "proj", {"pkg/__init__.py": ""})
    with open_target(str(root)) as target:
        assert target.kind == "project" and target.archive_bytes is None
