"""What a PATH argument is: a path, a requirement only when written as one, never a guess.

A typo must not reach the package index, and ``check`` (which never runs the
audited code) must never build a source distribution, even one named by URL.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import subprocess
import tarfile
import zipfile
from pathlib import Path

import pytest

from .support import assert_clean_error, assert_verdict, audit, project

# An index nobody answers: a run that asks it fails loudly instead of downloading.
NO_INDEX = {"UV_DEFAULT_INDEX": "http://127.0.0.1:9/simple", "UV_HTTP_RETRIES": "0"}


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def wheel(directory: Path, name: str, files: dict[str, str]) -> Path:
    """A pure-Python wheel written by hand: no build backend, no network."""
    info = f"{name}-1.0.dist-info"
    contents = {
        **{path: text.encode() for path, text in files.items()},
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n".encode(),
        f"{info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n"
                         b"Tag: py3-none-any\n",
    }
    record = [_record_line(path, data) for path, data in contents.items()] + [f"{info}/RECORD,,"]
    path = directory / f"{name}-1.0-py3-none-any.whl"
    directory.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as archive:
        for member, data in contents.items():
            archive.writestr(member, data)
        archive.writestr(f"{info}/RECORD", "\n".join(record) + "\n")
    return path


@pytest.mark.parametrize("typo", ["slimm", "fixtures-slim", "./slimm", "slimm.whl"])
def test_a_mistyped_path_is_no_such_path_and_asks_no_index(tmp_path, typo):
    tree = tmp_path / "tree"
    tree.mkdir()
    result = audit(tree, "check", typo, env=NO_INDEX, cwd=tree)
    assert_clean_error(result, f"{typo}: no such file or directory")
    assert "cannot install" not in result.stderr and "no network" not in result.stderr
    assert not (tmp_path / "cache" / "envs").exists(), "an environment was built for a typo"


def test_the_message_for_a_bare_word_says_how_to_name_a_distribution(tmp_path):
    tree = tmp_path / "tree"
    tree.mkdir()
    result = audit(tree, "check", "slimm", env=NO_INDEX, cwd=tree)
    assert_clean_error(result, "slimm==1.0", "slimm>=0")


@pytest.mark.parametrize("spec, fragment", [
    ("slimm; python_version > '3'", "a requirement needs a version, extras or a URL"),
    ("slimm==", "not a valid requirement"),
    ("slimm[extra", "not a valid requirement"),
])
def test_text_written_as_a_requirement_that_is_not_one(tmp_path, spec, fragment):
    tree = tmp_path / "tree"
    tree.mkdir()
    result = audit(tree, "check", spec, env=NO_INDEX, cwd=tree)
    assert_clean_error(result, fragment)


def test_a_pinned_requirement_still_goes_to_the_index(tmp_path):
    """The control: ``name==1.0`` is a requirement (here the index is unreachable)."""
    tree = tmp_path / "tree"
    tree.mkdir()
    result = audit(tree, "check", "prefect-client==3.8.8", env=NO_INDEX, cwd=tree)
    assert_clean_error(result, "cannot install prefect-client==3.8.8", "no network")


def test_a_url_requirement_to_a_local_wheel_is_checked(tmp_path):
    tree = tmp_path / "tree"
    built = wheel(tmp_path / "dist", "urlwf", {
        "urlwf/__init__.py": "from urlwf import db\n",
        "urlwf/db.py": "import sqlalchemy\n",
    })
    tree.mkdir()
    result = audit(tree, "check", f"urlwf @ {built.as_uri()}", "--format", "json",
                   env=NO_INDEX, cwd=tree)
    assert_verdict(result, 1)
    package = json.loads(result.stdout)["packages"][0]
    assert package["name"] == "urlwf"
    chains = [v["chain"] for c in package["contracts"] for v in c["violations"]]
    assert [(s["importer"], s["imported"]) for s in chains[0]] == [("urlwf.db", "sqlalchemy")]


def _sdist(directory: Path, marker: Path) -> Path:
    """An sdist whose in-tree build backend leaves ``marker`` behind if it ever runs."""
    backend = (
        "import pathlib\n"
        f"pathlib.Path({str(marker)!r}).write_text('the build backend ran')\n"
        "def build_wheel(*args, **kwargs):\n    raise RuntimeError('built')\n"
        "def get_requires_for_build_wheel(*args, **kwargs):\n    return []\n"
    )
    files = {
        "evilsdist-1.0/pyproject.toml": (
            '[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["."]\n'
            '[project]\nname = "evilsdist"\nversion = "1.0"\n'
        ),
        "evilsdist-1.0/backend.py": backend,
        "evilsdist-1.0/PKG-INFO": "Metadata-Version: 2.1\nName: evilsdist\nVersion: 1.0\n",
        "evilsdist-1.0/evilsdist/__init__.py": "",
    }
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "evilsdist-1.0.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        for name, text in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(text.encode())
            archive.addfile(info, io.BytesIO(text.encode()))
    return path


def test_check_never_builds_a_source_distribution(tmp_path):
    tree = tmp_path / "tree"
    tree.mkdir()
    marker = tmp_path / "backend-ran"
    sdist = _sdist(tmp_path / "dist", marker)
    result = audit(tree, "check", f"evilsdist @ {sdist.as_uri()}", env=NO_INDEX, cwd=tree)
    assert_clean_error(result, "cannot install evilsdist", "never builds a source distribution")
    assert not marker.exists(), "check ran a build backend"


def test_a_hatch_project_is_unaffected(tmp_path):
    """The control for paths: an existing directory is a path whatever its name."""
    tree = project(tmp_path / "tree", {"pkg/__init__.py": ""})
    assert_verdict(audit(tree, "check", "tree", cwd=tmp_path), 0)


def test_a_mistyped_baseline_is_not_sent_to_the_index(tmp_path):
    """``--before mian``: no such path, no such ref, and not written as a requirement."""
    tree = project(tmp_path / "tree", {"pkg/__init__.py": ""})
    subprocess.run(["git", "init", "-q", str(tree)], check=True)
    result = audit(tree, "report", str(tree), "--before", "mian", "--probe-runs", "1",
                   timeout=300)
    assert_clean_error(result, "--before mian: not a path, a git ref")
    assert "cannot install mian" not in result.stderr


def test_a_rebuilt_wheel_behind_the_same_url_is_not_read_from_a_stale_environment(tmp_path):
    tree = tmp_path / "tree"
    tree.mkdir()
    dist = tmp_path / "dist"
    wheel(dist, "urlwf", {"urlwf/__init__.py": "import sqlalchemy\n"})
    spec = f"urlwf @ {(dist / 'urlwf-1.0-py3-none-any.whl').as_uri()}"
    assert_verdict(audit(tree, "check", spec, env=NO_INDEX, cwd=tree), 1)
    wheel(dist, "urlwf", {"urlwf/__init__.py": "import json\n"})  # same name, same URL
    assert_verdict(audit(tree, "check", spec, env=NO_INDEX, cwd=tree), 0)
