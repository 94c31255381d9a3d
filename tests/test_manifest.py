"""``package.toml`` against the closed schema: every problem is a finding naming its key."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import write_tree

from cloacina_audit.discover.config import tomllib
from cloacina_audit.discover.manifest import Layout, Provider, read_manifest, validate_manifest
from cloacina_audit.errors import AuditError

PYTHON = Layout(has_workflow_dir=True)
RUST = Layout(has_workflow_dir=False, has_cargo_toml=True, has_src_lib_rs=True)


def check(text: str, layout: Layout = PYTHON):
    return validate_manifest(tomllib.loads(text), layout, file="pkg/package.toml", text=text)


def messages(findings) -> list[str]:
    return [f.message for f in findings]


def test_minimal_python_manifest_gets_the_defaults() -> None:
    manifest, findings = check('[package]\nname = "my-flow"\nversion = "1.2.0"\n')
    assert findings == []
    assert manifest.name == "my-flow" and manifest.version == "1.2.0"
    assert manifest.interface == "cloacina-workflow-plugin"
    assert manifest.interface_version == 1
    assert manifest.extension == "cloacina"
    assert manifest.language == "python" and manifest.language_inferred
    assert manifest.entry_module == "my_flow.tasks"
    assert manifest.archive_top_dir == "my-flow-1.2.0"


def test_full_manifest() -> None:
    manifest, findings = check(
        """
        [package]
        name = "etl"
        version = "0.3.0"
        interface = "cloacina-workflow-plugin"
        interface_version = 1
        extension = "cloacina"

        [metadata]
        language = "python"
        workflow_name = "etl"
        description = "Extract, transform, load"
        author = "me"
        requires_python = ">=3.10"
        entry_module = "etl.pipeline"
        reaction_mode = "when_any"
        input_strategy = "latest"
        accumulators = []

        [metadata.providers]
        pg = "1.0"
        local = { path = "../local" }
        remote = { git = "https://example.com/r.git", tag = "v1" }
        """
    )
    # requires_python is read and never checked by the server: a note, nothing more.
    assert [(f.rule, f.level) for f in findings] == [("manifest-not-enforced", "note")]
    assert manifest.language == "python" and not manifest.language_inferred
    assert manifest.entry_module == "etl.pipeline"
    assert manifest.requires_python == ">=3.10"
    assert manifest.providers == (
        Provider("pg", version="1.0"),
        Provider("local", path="../local"),
        Provider("remote", git="https://example.com/r.git", tag="v1"),
    )


def test_unknown_keys_are_findings_naming_the_key() -> None:
    # Issue 13 item 6: fidius PackageManifest/PackageHeader have no deny_unknown_fields
    # (the server drops those keys: warnings); CloacinaMetadata has it (errors).
    text = """
[package]
name = "x"
version = "1"
flavour = "sour"

[metadata]
colour = "blue"

[extras]
a = 1
"""
    _, findings = check(text)
    assert sorted((f.rule, f.level, f.message) for f in findings) == [
        ("manifest-ignored-key", "warning",
         "package.toml: key [package].flavour is ignored by the server"
         " (fidius PackageHeader has no such field)"),
        ("manifest-ignored-key", "warning",
         "package.toml: table [extras] is ignored by the server"
         " (fidius PackageManifest has no such field)"),
        ("manifest-unknown-key", "error",
         "package.toml: unknown key [metadata].colour: CloacinaMetadata refuses unknown fields"),
    ]
    lines = {key: next(f.line for f in findings if key in f.message)
             for key in ("[metadata].colour", "[package].flavour", "[extras]")}
    assert lines == {"[metadata].colour": 8, "[package].flavour": 5, "[extras]": 10}
    assert all(f.file == "pkg/package.toml" for f in findings)


def test_rejected_keys() -> None:
    text = """
[package]
name = "x"
version = "1"
package_type = "workflow"

[metadata]
package_type = "workflow"

[[metadata.triggers]]
name = "every-minute"
"""
    _, findings = check(text)
    assert [(f.rule, f.level) for f in findings] == [
        ("manifest-ignored-key", "warning"),  # PackageHeader drops it
        ("manifest-rejected-key", "error"),  # CloacinaMetadata refuses it
        ("manifest-rejected-key", "error"),
    ]
    assert "rejected key [metadata].package_type" in findings[1].message
    assert "rejected key [[metadata.triggers]]" in findings[2].message
    assert findings[2].line == 10


def test_missing_required_fields() -> None:
    _, findings = check('[package]\nversion = "1"\n')
    assert messages(findings) == ["package.toml: missing required field [package].name"]
    assert findings[0].rule == "manifest-missing-field"
    _, findings = check('[metadata]\nlanguage = "python"\n')
    assert messages(findings) == ["package.toml: missing required table [package]"]


def test_all_problems_are_reported_at_once() -> None:
    _, findings = check('package_type = "x"\n[package]\nname = 3\n[metadata]\nnope = 1\n')
    rules = sorted(f.rule for f in findings)
    assert rules == [
        "manifest-ignored-key",
        "manifest-invalid-value",
        "manifest-missing-field",
        "manifest-unknown-key",
    ]


@pytest.mark.parametrize(
    ("layout", "expected"),
    [
        (PYTHON, "python"),
        (RUST, "rust"),
    ],
)
def test_language_is_inferred_from_the_layout(layout: Layout, expected: str) -> None:
    manifest, findings = check('[package]\nname = "x"\nversion = "1"\n', layout)
    assert findings == [] and manifest.language == expected and manifest.language_inferred


@pytest.mark.parametrize(
    ("layout", "why"),
    [
        (Layout(has_workflow_dir=True, has_cargo_toml=True, has_src_lib_rs=True), "both"),
        (Layout(has_workflow_dir=False), "neither"),
        # Cargo.toml alone is not a Rust package.
        (Layout(has_workflow_dir=False, has_cargo_toml=True), "neither"),
    ],
)
def test_language_that_cannot_be_inferred(layout: Layout, why: str) -> None:
    manifest, findings = check('[package]\nname = "x"\nversion = "1"\n', layout)
    assert manifest.language is None
    assert [f.rule for f in findings] == ["manifest-language"]
    assert "[metadata].language is missing and cannot be inferred" in findings[0].message
    assert why in findings[0].message


def test_declared_language_must_be_known_and_match_the_layout() -> None:
    _, findings = check('[package]\nname = "x"\nversion = "1"\n[metadata]\nlanguage = "go"\n')
    assert [f.rule for f in findings] == ["manifest-language"]
    assert "'go'" in findings[0].message and findings[0].line == 5
    _, findings = check(
        '[package]\nname = "x"\nversion = "1"\n[metadata]\nlanguage = "python"\n', RUST
    )
    assert "no workflow/ directory" in findings[0].message


def test_invalid_values() -> None:
    _, findings = check(
        """
[package]
name = "x"
version = "1"
interface_version = "one"
[metadata]
requires_python = "python three"
accumulators = 3
[metadata.providers]
a = { version = "1", path = "p" }
b = { path = "p", tag = "v1" }
d = { git = "g", colour = "red" }
e = 5
f = { version = 1 }
g = {}
"""
    )
    by_level = {level: "\n".join(f.message for f in findings if f.level == level)
                for level in ("error", "warning", "note")}
    errors = by_level["error"]
    assert "[package].interface_version must be an integer from 0 to 4294967295 (a u32)" in errors
    assert "[metadata].accumulators must be an array of tables" in errors
    assert "[metadata.providers].e must be a version string or a table" in errors
    assert "[metadata.providers].f: version must be a string" in errors
    # ProviderDep is untagged and every field optional: a and b are valid.
    assert "providers].a" not in errors + by_level["warning"]
    assert "providers].b" not in errors + by_level["warning"]
    assert "[metadata.providers].d: key 'colour' is ignored" in by_level["warning"]
    assert "[metadata.providers].g names no version, path or git" in by_level["warning"]
    # requires_python is not enforced, so a bad one is not an error either.
    assert "requires_python" not in errors and "requires_python" in by_level["note"]


def test_read_manifest_from_a_directory(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "package.toml": '[package]\nname = "demo"\nversion = "1.0.0"\n',
            "workflow/demo/tasks.py": "",
        },
    )
    manifest, findings = read_manifest(tmp_path)
    assert findings == [] and manifest.language == "python"
    assert manifest.entry_module == "demo.tasks"


def test_malformed_toml_is_an_input_error(tmp_path: Path) -> None:
    (tmp_path / "package.toml").write_text("[package\nname = ", encoding="utf-8")
    with pytest.raises(AuditError, match="package.toml: malformed TOML"):
        read_manifest(tmp_path)
