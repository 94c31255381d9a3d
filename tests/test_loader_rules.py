"""The server loader's rules: stdlib shadowing in workflow/ and vendor/, and the entry module."""

from __future__ import annotations

from pathlib import Path

from conftest import write_tree

from cloacina_audit.discover.loader_rules import (
    STDLIB_DENY_LIST,
    check_loader_rules,
    resolve_entry_module,
    source_roots,
    top_level_names,
)
from cloacina_audit.discover.manifest import read_manifest

MANIFEST = '[package]\nname = "demo"\nversion = "1.0.0"\n'


def audit(root: Path, files: dict[str, str]):
    write_tree(root, {"package.toml": MANIFEST, **files})
    manifest, findings = read_manifest(root)
    assert findings == []
    return check_loader_rules(root, manifest)


def test_clean_package_has_no_findings(tmp_path: Path) -> None:
    findings = audit(
        tmp_path,
        {
            "workflow/demo/__init__.py": "",
            "workflow/demo/tasks.py": "from cloaca import task\n",
            "workflow/helpers.py": "",
            "vendor/requests_lite/__init__.py": "",
            "vendor/requests_lite-1.0.dist-info/METADATA": "",
            "workflow/README.md": "",
        },
    )
    assert findings == []


def test_shadowing_names_are_refused_with_their_path(tmp_path: Path) -> None:
    findings = audit(
        tmp_path,
        {
            "workflow/demo/tasks.py": "",
            "workflow/json.py": "",
            "workflow/os/__init__.py": "",
            "vendor/subprocess/helpers.py": "",  # a namespace package shadows too
            "vendor/pickle.cpython-311-x86_64-linux-gnu.so": "",
            "vendor/typing.py": "",  # shadows the stdlib, but is not on the deny list
        },
    )
    findings = [f for f in findings if f.rule != "loader-stdlib-first"]  # vendor/typing.py
    # An extension module is not refused: the server strips only ".py" (item 8 of issue 13).
    assert [f.rule for f in findings] == ["loader-shadows-stdlib"] * 3
    assert [f.message.split(" shadows")[0] for f in findings] == [
        "workflow/json.py",
        "workflow/os/",
        "vendor/subprocess/",
    ]
    assert "standard-library module 'json'" in findings[0].message
    assert findings[0].file == str(tmp_path / "workflow/json.py")
    assert all(f.level == "error" for f in findings)


def test_deny_list_is_the_servers() -> None:
    assert len(STDLIB_DENY_LIST) == 25
    assert {"os", "importlib", "fnmatch", "compile"} <= STDLIB_DENY_LIST


def test_entry_module_must_resolve(tmp_path: Path) -> None:
    findings = audit(tmp_path, {"workflow/demo/pipeline.py": ""})
    assert [f.rule for f in findings] == ["loader-entry-module"]
    assert findings[0].message == (
        "entry module 'demo.tasks' does not resolve: no workflow/demo/tasks.py "
        "or workflow/demo/tasks/__init__.py"
    )


def test_entry_module_in_vendor_does_not_count(tmp_path: Path) -> None:
    findings = audit(tmp_path, {"workflow/x.py": "", "vendor/demo/tasks.py": ""})
    assert [f.rule for f in findings] == ["loader-entry-module"]


def test_entry_module_resolution(tmp_path: Path) -> None:
    write_tree(tmp_path, {"a/b/__init__.py": "", "a/c.py": ""})
    assert resolve_entry_module(tmp_path, "a.b") == tmp_path / "a/b/__init__.py"
    assert resolve_entry_module(tmp_path, "a.c") == tmp_path / "a/c.py"
    assert resolve_entry_module(tmp_path, "a") is None  # a namespace package runs no file
    assert resolve_entry_module(tmp_path, "a.d") is None


def test_top_level_names(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "mod.py": "",
            "notes.txt": "",
            "__pycache__/x.pyc": "",
            "my-dir/x": "",
        },
    )
    assert top_level_names(tmp_path) == [("mod", "mod.py"), ("pkg", "pkg/")]
    assert top_level_names(tmp_path / "missing") == []


def test_rust_packages_have_no_python_loader(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {"package.toml": MANIFEST, "Cargo.toml": "", "src/lib.rs": "", "vendor/os.py": ""},
    )
    manifest, _ = read_manifest(tmp_path)
    assert manifest.language == "rust"
    assert check_loader_rules(tmp_path, manifest) == []


def test_shadowing_is_the_servers_name_check(tmp_path: Path) -> None:
    """loader.rs validate_no_stdlib_shadowing: every entry's name, ".py" stripped."""
    findings = audit(
        tmp_path,
        {
            "workflow/demo/tasks.py": "",
            "workflow/signal": "",  # an extensionless file: refused by the server
            "workflow/glob.txt": "",  # not refused: "glob.txt" is not on the list
            "vendor/os.cpython-311-x86_64-linux-gnu.so": "",  # not refused
            "vendor/threading.pyc": "",  # not refused
            "vendor/my-io/x.py": "",  # not refused
        },
    )
    assert [f.message.split(" shadows")[0] for f in findings] == ["workflow/signal"]
    assert "standard-library module 'signal'" in findings[0].message


def test_stdlib_names_are_taken_from_the_stdlib_first(tmp_path: Path) -> None:
    """The loader appends workflow/ and vendor/ to sys.path: the stdlib's module wins."""
    findings = audit(
        tmp_path,
        {"workflow/demo/tasks.py": "", "workflow/logging.py": "", "vendor/typing/__init__.py": ""},
    )
    assert [(f.rule, f.level, f.message) for f in findings] == [
        ("loader-stdlib-first", "warning", "workflow/logging.py is never imported on the server: "
         "the standard-library module 'logging' comes first on sys.path"),
        ("loader-stdlib-first", "warning", "vendor/typing/ is never imported on the server: "
         "the standard-library module 'typing' comes first on sys.path"),
    ]
    assert source_roots(tmp_path / "workflow") == ["demo"]


def test_source_roots_hold_source(tmp_path: Path) -> None:
    write_tree(tmp_path, {"pkg/__init__.py": "", "flat.py": "", "ns/sub/m.py": "",
                          "data/rows.csv": "", "my-dir/x.py": "", "typing.py": ""})
    (tmp_path / "broken.py").symlink_to(tmp_path / "missing.py")
    assert source_roots(tmp_path) == ["flat", "ns", "pkg"]
