"""Run `cloacina-audit check` on every Rust package of the public Cloacina repository.

    python scripts/rust_examples_check.py GIT_DIR [--markdown]

GIT_DIR is a clone (bare is fine) of colliery-io/cloacina. Its examples/,
crates/ (which the examples' path dependencies point into) and the workspace's
Cargo.toml (which those crates inherit from) are extracted with
`git archive` into a temporary directory (nothing is kept), and
every directory holding package.toml and Cargo.toml is checked once, timed as a
process. Prints one row per package: exit code, verdict, offending statements,
whether the crate closure was resolved, seconds.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path


def main() -> int:
    git_dir = Path(sys.argv[1])
    markdown = "--markdown" in sys.argv
    archive = subprocess.run(["git", f"--git-dir={git_dir}", "archive", "HEAD", "examples", "crates", "Cargo.toml"],
                             check=True, capture_output=True).stdout
    failures = 0
    with tempfile.TemporaryDirectory(prefix="rust-examples-") as scratch:
        with tarfile.open(fileobj=BytesIO(archive)) as tar:
            tar.extractall(scratch, filter="data")
        root = Path(scratch)
        packages = sorted(p.parent for p in root.rglob("package.toml") if (p.parent / "Cargo.toml").is_file())
        if markdown:
            print("| package | exit | verdict | offending statements | closure | seconds |")
            print("| --- | --- | --- | --- | --- | --- |")
        for package in packages:
            started = time.monotonic()
            completed = subprocess.run(
                [sys.executable, "-m", "cloacina_audit", "check", str(package), "--format", "json",
                 "--no-cache"], capture_output=True, text=True)
            seconds = time.monotonic() - started
            name = package.relative_to(root).as_posix()
            if completed.returncode == 2:
                failures += 1
                row = (name, "2", completed.stderr.strip(), "", "", f"{seconds:.2f}")
            else:
                audit = json.loads(completed.stdout)["packages"][0]
                contract = audit["contracts"][0] if audit["contracts"] else {}
                warnings = " ".join(contract.get("warnings", []))
                resolved = ("resolved" if "could not resolve" not in warnings else
                            "direct + Cargo.lock" if "Cargo.lock's closure" in warnings else
                            "direct only")
                row = (name, str(completed.returncode), contract.get("status", "-"),
                       str(len(contract.get("statements", []))), resolved, f"{seconds:.2f}")
            print("| " + " | ".join(row) + " |" if markdown else "  ".join(row))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
