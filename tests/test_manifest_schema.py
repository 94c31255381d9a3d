"""``package.toml`` checked as the server's structs read it (fidius ``PackageHeader`` /
``PackageManifest``, Cloacina ``CloacinaMetadata``), on manifests shaped like every
example of the Cloacina repository."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from cloacina_shapes import package_table
from conftest import run_cli, write_tree

from cloacina_audit.discover.config import tomllib
from cloacina_audit.discover.manifest import Accumulator, Layout, Provider, read_manifest, validate_manifest

PYTHON = Layout(has_workflow_dir=True)
RUST = Layout(has_workflow_dir=False, has_cargo_toml=True, has_src_lib_rs=True)
HEADER = '[package]\nname = "x"\nversion = "0.1.0"\n'


def check(text: str, layout: Layout = PYTHON):
    text = textwrap.dedent(text)
    return validate_manifest(tomllib.loads(text), layout, file="pkg/package.toml", text=text)


def levels(findings) -> list[tuple[str, str]]:
    return [(f.rule, f.level) for f in findings]


# --- fidius PackageHeader / PackageManifest -------------------------------------------------


@pytest.mark.parametrize("value", [0, 1, 7, 2**32 - 1])
def test_interface_version_is_a_u32_and_zero_is_valid(value):
    manifest, findings = check(HEADER + f"interface_version = {value}\n")
    assert findings == [] and manifest.interface_version == value


@pytest.mark.parametrize("value", ["-1", str(2**32), "true", '"1"', "1.0"])
def test_interface_version_outside_u32_is_an_error(value):
    _, findings = check(HEADER + f"interface_version = {value}\n")
    assert levels(findings) == [("manifest-invalid-value", "error")]
    assert "must be an integer from 0 to 4294967295 (a u32)" in findings[0].message


def test_source_hash_and_dependencies_are_not_in_the_structs_so_the_server_ignores_them():
    _, findings = check(HEADER + 'source_hash = "abc"\n\n[dependencies]\nrequests = "2"\n')
    assert levels(findings) == [("manifest-ignored-key", "warning")] * 2
    messages = " ".join(f.message for f in findings)
    assert "key [package].source_hash is ignored by the server" in messages
    assert "table [dependencies] is ignored by the server" in messages


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (HEADER + 'runtime = "node"\n', "[package].runtime 'node' is unknown"),
        (HEADER + 'runtime = "python"\n', 'runtime = "python" requires a [python] section'),
        (HEADER + '[python]\nentry_module = "x.tasks"\n', '[python] is only valid when'),
        (HEADER + 'runtime = "wasm"\n[wasm]\nprecompiled = "x.cwasm"\n',
         "missing required field [wasm].component"),
        (HEADER + 'runtime = "wasm"\n[wasm]\ncomponent = "p.wasm"\ncapabilities = "all"\n',
         "[wasm].capabilities must be an array of strings"),
    ],
)
def test_runtime_and_its_sections_as_validate_runtime_checks_them(text, message):
    _, findings = check(text)
    assert [f.level for f in findings] == ["error"], findings
    assert message in findings[0].message


def test_runtime_sections_accept_unknown_keys_with_a_warning():
    manifest, findings = check(
        HEADER + 'runtime = "python"\n[python]\nentry_module = "x.tasks"\nextra = 1\n'
    )
    assert manifest.runtime == "python"
    assert levels(findings) == [("manifest-ignored-key", "warning")]
    assert "fidius PythonPackageMeta has no such field" in findings[0].message


# --- Cloacina CloacinaMetadata --------------------------------------------------------------


def test_accumulators_are_a_list_of_tables_each_with_a_name():
    manifest, findings = check(HEADER + """
        [metadata]
        graph_name = "g"

        [[metadata.accumulators]]
        name = "ticks"
        accumulator_type = "stream"
        window = 3

        [metadata.accumulators.config]
        topic = "t"

        [[metadata.accumulators]]
        name = "plain"
    """)
    assert manifest.accumulators == (
        Accumulator("ticks", "stream", (("topic", "t"),)),
        Accumulator("plain", "passthrough", ()),
    )
    # AccumulatorConfig has no deny_unknown_fields: a warning.
    assert levels(findings) == [("manifest-ignored-key", "warning")]
    assert "'window' is ignored" in findings[0].message


@pytest.mark.parametrize(
    ("accumulators", "message"),
    [
        ('[metadata.accumulators]\nticks = { name = "ticks" }\n', "must be an array of tables"),
        ('[[metadata.accumulators]]\naccumulator_type = "stream"\n', "#1 needs a name"),
        ('[[metadata.accumulators]]\nname = "a"\n[metadata.accumulators.config]\nsize = 3\n',
         "#1: config must be a table of strings"),
    ],
)
def test_malformed_accumulators_are_errors(accumulators, message):
    _, findings = check(HEADER + "[metadata]\n" + accumulators)
    assert [f.level for f in findings] == ["error"], findings
    assert message in findings[0].message


def test_provider_dep_is_untagged_version_and_path_together_are_valid():
    manifest, findings = check(HEADER + """
        [metadata.providers]
        pinned = "0.3"
        both = { version = "0.1", path = "../both" }
        tagged = { git = "https://example.com/p.git", tag = "v1", branch = "main" }
    """)
    assert findings == []
    assert manifest.providers == (
        Provider("pinned", version="0.3"),
        Provider("both", version="0.1", path="../both"),
        Provider("tagged", git="https://example.com/p.git", tag="v1", branch="main"),
    )


def test_a_workspace_placeholder_in_providers_is_a_warning():
    _, findings = check(HEADER + """
        [metadata.providers]
        cloacina-provider-fs = { path = "__WORKSPACE__/providers/cloacina-provider-fs" }
    """)
    assert levels(findings) == [("manifest-workspace-placeholder", "warning")]
    assert findings[0].line == 6


def test_requires_python_is_a_note_because_the_server_does_not_enforce_it():
    _, findings = check(HEADER + '[metadata]\nrequires_python = ">=3.99"\n')
    assert levels(findings) == [("manifest-not-enforced", "note")]


def test_unknown_metadata_key_is_an_error_and_language_is_exact():
    _, findings = check(HEADER + '[metadata]\nlanguage = "Python"\nflavour = "x"\n')
    assert levels(findings) == [("manifest-unknown-key", "error"), ("manifest-language", "error")]


# --- cloacinactl's lint: a computation graph needs graph_name -----------------------------

GRAPH = """
    import cloaca

    with cloaca.ComputationGraphBuilder("g") as builder:
        pass
"""


def test_python_computation_graph_without_graph_name_fails_the_check(tmp_path):
    package = write_tree(tmp_path / "g-0.1.0", {
        "package.toml": '[package]\nname = "g"\nversion = "0.1.0"\n'
                        '[metadata]\nentry_module = "g.graph"\n',
        "workflow/g/__init__.py": "",
        "workflow/g/graph.py": GRAPH,
    })
    result = run_cli("check", str(package), "--format", "json")
    assert result.code == 1, result.stderr
    findings = json.loads(result.stdout)["packages"][0]["findings"]
    assert [(f["rule"], f["level"]) for f in findings] == [("manifest-graph-name", "error")]
    (package / "package.toml").write_text(
        '[package]\nname = "g"\nversion = "0.1.0"\n'
        '[metadata]\nentry_module = "g.graph"\ngraph_name = "g"\n'
    )
    assert run_cli("check", str(package)).code == 0


def test_rust_computation_graph_without_graph_name(tmp_path):
    package = write_tree(tmp_path / "r", {
        "package.toml": HEADER + '[metadata]\nworkflow_name = "w"\nlanguage = "rust"\n',
        "Cargo.toml": '[package]\nname = "r"\n',
        "src/lib.rs": (
            "#[cloacina_macros::computation_graph(\n  react = when_any(a)\n)]\npub mod g {}\n"
        ),
    })
    _, findings = read_manifest(package)
    assert levels(findings) == [("manifest-graph-name", "error")]
    assert "src/lib.rs defines a #[computation_graph]" in findings[0].message


def test_ignored_and_placeholder_keys_warn_without_failing_the_check(tmp_path):
    package = write_tree(tmp_path / "orders-1.0.0", {
        "package.toml": """
            [package]
            name = "orders"
            version = "1.0.0"
            source_hash = "abc"

            [metadata]
            workflow_name = "orders"

            [metadata.providers]
            fs = { path = "__WORKSPACE__/providers/fs" }
        """,
        "workflow/orders/__init__.py": "",
        "workflow/orders/tasks.py": "from cloaca import task\n",
    })
    result = run_cli("check", str(package), "--format", "json")
    assert result.code == 0, result.stdout + result.stderr
    rules = [(f["rule"], f["level"]) for f in json.loads(result.stdout)["packages"][0]["findings"]]
    assert rules == [
        ("manifest-ignored-key", "warning"), ("manifest-workspace-placeholder", "warning")
    ]
    shown = subprocess.run(
        ["script", "-qec", f"{sys.executable} -m cloacina_audit check {package}", "/dev/null"],
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200"},
    )
    assert shown.returncode == 0, shown.stdout
    text = " ".join(shown.stdout.split())
    assert "[package].source_hash is ignored by the server" in text
    assert "unrewritten __WORKSPACE__ placeholder" in text
    assert "Traceback" not in text


# --- every shape among the repository's 48 package.toml files -----------------------------
# Written here from what the examples hold (17 Python, 31 Rust); none of their text is copied.

FULL = package_table("{name}", "{version}")
ACCUMULATOR = """
    [[metadata.accumulators]]
    name = "feed"
    accumulator_type = "stream"

    [metadata.accumulators.config]
    provider = "some-provider"
    constructor = "source"
    broker = "{{ BROKER }}"
    topic = "feed.topic"
"""
PROVIDER = """
    [metadata.providers]
    some-provider = { path = "__WORKSPACE__/providers/some-provider" }
"""
SHAPES = {
    # Rust workflows: name + description (+ author), pre-release version too.
    "rust-workflow": ("rust", FULL + '[metadata]\nworkflow_name = "wf"\nlanguage = "rust"\n'
                      'description = "a workflow"\nauthor = "Team"\n'),
    "rust-workflow-no-author": ("rust", FULL + '[metadata]\nworkflow_name = "wf"\n'
                                'language = "rust"\ndescription = "d"\n'),
    "rust-prerelease": ("rust", FULL.replace("{version}", "0.2.0-alpha.5")
                        + '[metadata]\nworkflow_name = "wf"\nlanguage = "rust"\n'),
    # Rust computation graphs: graph_name with reaction settings, or with a workflow too.
    "rust-graph": ("rust", FULL + '[metadata]\ngraph_name = "g"\nlanguage = "rust"\n'
                   'reaction_mode = "when_any"\ninput_strategy = "latest"\n'),
    "rust-mixed": ("rust", FULL + '[metadata]\nworkflow_name = "w"\ngraph_name = "g"\n'
                   'language = "rust"\nauthor = "Fixtures"\n'),
    "rust-stream-graph": ("rust", FULL + '[metadata]\ngraph_name = "g"\nlanguage = "rust"\n'
                          + ACCUMULATOR + PROVIDER),
    "rust-tour": ("rust", FULL + '[metadata]\nworkflow_name = "w"\ngraph_name = "g"\n'
                  'language = "rust"\n' + ACCUMULATOR + PROVIDER),
    # Python: full headers, computation graphs, providers, and the minimal form.
    "python-workflow": ("python", FULL + '[metadata]\nworkflow_name = "w"\nlanguage = "python"\n'
                        'author = "demo"\nentry_module = "pkg.tasks"\n'),
    "python-graph": ("python", FULL + '[metadata]\ngraph_name = "g"\nlanguage = "python"\n'
                     'entry_module = "pkg.graph"\nreaction_mode = "when_any"\n'
                     'input_strategy = "latest"\n'),
    "python-providers": ("python", FULL + '[metadata]\nworkflow_name = "w"\nlanguage = "python"\n'
                         'entry_module = "pkg.tasks"\n' + PROVIDER),
    "python-minimal": ("python", '[package]\nname = "{name}"\nversion = "{version}"\n'
                       '[metadata]\nworkflow_name = "w"\ndescription = "d"\n'),
}


def _lay_out(root: Path, language: str, manifest: str, name: str) -> Path:
    module = name.replace("-", "_")
    text = textwrap.dedent(manifest).replace("{name}", name).replace("{version}", "0.1.0")
    text = text.replace("pkg.", f"{module}.")
    files = {"package.toml": text}
    if language == "python":
        entry = "graph" if "graph_name" in text else "tasks"
        files[f"workflow/{module}/__init__.py"] = ""
        files[f"workflow/{module}/{entry}.py"] = (
            textwrap.dedent(GRAPH) if entry == "graph" else "from cloaca import task\n"
        )
    else:
        files["Cargo.toml"] = f'[package]\nname = "{name}"\n'
        marker = "#[computation_graph(react = when_any(a))]\n" if "graph_name" in text else ""
        files["src/lib.rs"] = f"// shaped like a packaged workflow\n{marker}pub mod w {{}}\n"
    root.mkdir(parents=True)
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
    return root


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_every_example_shape_validates(tmp_path, shape):
    language, manifest = SHAPES[shape]
    package = _lay_out(tmp_path / shape, language, manifest, f"demo-{shape}")
    parsed, findings = read_manifest(package)
    placeholder = [("manifest-workspace-placeholder", "warning")]
    expected = placeholder if "__WORKSPACE__" in manifest else []
    assert levels(findings) == expected
    assert parsed.language == language
    if language == "python":
        assert run_cli("check", str(package)).code == 0


MIRROR = Path("/work/.mirror/colliery-io+cloacina/repo")


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(MIRROR), *args], capture_output=True, text=True, check=True, timeout=60
    ).stdout


@pytest.mark.skipif(not MIRROR.is_dir(), reason="no local copy of the Cloacina repository")
def test_the_repositorys_48_manifests_validate(tmp_path):
    """Read from the local mirror at test time; nothing of it is kept."""
    tree = _git("ls-tree", "-r", "--name-only", "HEAD").splitlines()
    manifests = sorted(p for p in tree if p.endswith("/package.toml") and p.startswith("examples/"))
    assert len(manifests) == 48
    files = set(tree)
    outcome = {}
    for path in manifests:
        directory = path.rsplit("/", 1)[0]
        layout = Layout(
            has_workflow_dir=any(p.startswith(directory + "/workflow/") for p in files),
            has_cargo_toml=f"{directory}/Cargo.toml" in files,
            has_src_lib_rs=f"{directory}/src/lib.rs" in files,
        )
        text = _git("show", f"HEAD:{path}")
        manifest, findings = validate_manifest(tomllib.loads(text), layout, text=text)
        outcome[directory.rsplit("/", 1)[1]] = (manifest.language, levels(findings))
    languages = [language for language, _ in outcome.values()]
    assert (languages.count("python"), languages.count("rust")) == (17, 31)
    problems = {
        name: found for name, (_, found) in outcome.items()
        if any(rule != "manifest-workspace-placeholder" for rule, _ in found)
    }
    assert problems == {}
    placeholders = sorted(name for name, (_, found) in outcome.items() if found)
    assert placeholders == ["cg-feature-tour", "demo-constructor-py", "demo-kafka-stream-rust"]


@pytest.mark.skipif(not MIRROR.is_dir(), reason="no local copy of the Cloacina repository")
def test_the_repositorys_examples_with_their_sources_only_one_lacks_graph_name(tmp_path):
    """package.toml, Cargo.toml, src/lib.rs and workflow/ copied to a temp dir, then read
    as cloacinactl would: only reactor-subscriber-rust defines a computation graph
    without graph_name, which ``cloacinactl package pack`` refuses."""
    tree = _git("ls-tree", "-r", "--name-only", "HEAD").splitlines()
    directories = sorted(
        p.rsplit("/", 1)[0]
        for p in tree
        if p.endswith("/package.toml") and p.startswith("examples/")
    )
    wanted = ("/package.toml", "/Cargo.toml", "/src/lib.rs")
    errors = {}
    for directory in directories:
        local = tmp_path / directory.rsplit("/", 1)[1]
        for path in tree:
            inside = path.startswith(directory + "/")
            if inside and (path.endswith(wanted) and path.count("/") - directory.count("/") <= 2
                           or path.startswith(directory + "/workflow/")):
                target = local / path[len(directory) + 1:]
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(subprocess.run(
                    ["git", "-C", str(MIRROR), "show", f"HEAD:{path}"],
                    capture_output=True, check=True, timeout=60,
                ).stdout)
        _, findings = read_manifest(local)
        found = [f.rule for f in findings if f.level == "error"]
        if found:
            errors[local.name] = found
    assert errors == {"reactor-subscriber-rust": ["manifest-graph-name"]}
