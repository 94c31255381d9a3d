"""``check`` never runs the audited code, not even the ``.pth`` file a wheel ships.

A ``.pth`` line starting with ``import`` is executed by ``site`` whenever an
interpreter of the environment starts: uv's bytecode compiler used to start one
(twice), and so did the tool's own interpreter query (``-I`` still runs ``site``).
"""

from __future__ import annotations

import base64
import hashlib
import zipfile
from pathlib import Path

from .support import audit

PTH = 'import os; open(os.environ["EVIL_MARK"], "a").write("ran\\n")\n'


def hostile_wheel(directory: Path) -> Path:
    files = {
        "evil/__init__.py": b"from cloacina.runtime import Runner\n",
        "evil.pth": PTH.encode(),
        "evil-1.0.dist-info/METADATA": b"Metadata-Version: 2.1\nName: evil\nVersion: 1.0\n",
        "evil-1.0.dist-info/WHEEL": b"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    path = directory / "evil-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as wheel:
        rows = []
        for name, data in files.items():
            wheel.writestr(name, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            rows.append(f"{name},sha256={digest},{len(data)}")
        rows.append("evil-1.0.dist-info/RECORD,,")
        wheel.writestr("evil-1.0.dist-info/RECORD", "\n".join(rows) + "\n")
    return path


def test_check_of_a_wheel_with_a_pth_file_runs_none_of_it(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    wheel = hostile_wheel(tree)
    mark = tmp_path / "ran"
    result = audit(tree, "check", str(wheel), env={"EVIL_MARK": str(mark)})
    # The verdict on a forbidden import of a package that is not installed is another matter.
    assert result.code in (0, 1), (result.code, result.stdout, result.stderr)
    assert "evil" in result.stdout
    assert not mark.exists(), f"the wheel's .pth ran {mark.read_text().count('ran')} times"


def test_a_uv_configuration_that_compiles_bytecode_does_not_make_check_run_it(tmp_path: Path) -> None:
    """`compile-bytecode = true` in a uv.toml where the user runs the tool: uv would compile."""
    tree = tmp_path / "tree"
    tree.mkdir()
    wheel = hostile_wheel(tree)
    (tree / "uv.toml").write_text("compile-bytecode = true\n")
    mark = tmp_path / "ran"
    result = audit(tree, "check", str(wheel), env={"EVIL_MARK": str(mark)}, cwd=tree)
    assert result.code in (0, 1), (result.code, result.stdout, result.stderr)
    assert not mark.exists(), f"the wheel's .pth ran {mark.read_text().count('ran')} times"


def test_the_pth_file_does_run_where_the_footprint_imports_the_package(tmp_path: Path) -> None:
    """The control: the same wheel's .pth is live code (the probe starts the environment)."""
    tree = tmp_path / "tree"
    tree.mkdir()
    wheel = hostile_wheel(tree)
    mark = tmp_path / "ran"
    audit(tree, "footprint", str(wheel), "--probe-runs", "1", env={"EVIL_MARK": str(mark)})
    assert mark.exists()
