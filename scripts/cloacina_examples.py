"""Run `cloacina-audit check` on every Python example of the public Cloacina repository.

    python scripts/cloacina_examples.py GIT_DIR [--markdown]

GIT_DIR is a clone (bare is fine) of colliery-io/cloacina. Each example is
extracted with `git archive` into a temporary directory (nothing of it is kept),
checked as a directory, then packed the way fidius `pack_package` packs (bzip2
level 9, regular files sorted, under `<name>-<version>/`, skipping target/ and
.git/; cloacinactl's staging also drops __pycache__, node_modules, *.cloacina)
and checked as that archive. Each check runs once cold (--no-cache) and is timed
as a process. Prints one row per example: verdict, contracts kept, violations,
findings, seconds.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import tomllib

PATTERNS = (
    "examples/fixtures/demo-py-*",
    "examples/fixtures/demo-constructor-py",
    "examples/features/workflows/python-*",
    "examples/features/computation-graphs/python-*-graph",
)
SKIPPED_DIRS = {"target", ".git", "__pycache__", "node_modules"}


def examples(git_dir: Path) -> list[str]:
    listing = subprocess.run(
        ["git", "-C", str(git_dir), "ls-tree", "-d", "--name-only", "HEAD",
         "examples/fixtures/", "examples/features/workflows/",
         "examples/features/computation-graphs/"],
        check=True, capture_output=True, text=True,
    ).stdout.split()
    return sorted(p for p in listing if any(Path(p).match(pattern) for pattern in PATTERNS))


def extract(git_dir: Path, example: str, into: Path) -> Path:
    archive = subprocess.run(["git", "-C", str(git_dir), "archive", "HEAD", example],
                             check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into / example


def pack(package: Path, into: Path) -> Path:
    header = tomllib.loads((package / "package.toml").read_text())["package"]
    prefix = f"{header['name']}-{header['version']}"
    files = sorted(
        p for p in package.rglob("*")
        if p.is_file() and not p.is_symlink() and not p.name.endswith(".cloacina")
        and not SKIPPED_DIRS & set(p.relative_to(package).parts)
    )
    destination = into / f"{prefix}.cloacina"
    with tarfile.open(destination, "w:bz2", compresslevel=9) as tar:
        for path in files:
            tar.add(path, arcname=f"{prefix}/{path.relative_to(package).as_posix()}",
                    recursive=False)
    return destination


def check(path: Path) -> dict:
    started = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "-m", "cloacina_audit", "check", str(path), "--format", "json",
         "--no-cache"],
        capture_output=True, text=True,
    )
    seconds = time.perf_counter() - started
    row = {"exit": completed.returncode, "seconds": round(seconds, 2), "stderr": completed.stderr}
    if completed.stdout:
        entry = json.loads(completed.stdout)["packages"][0]
        row["kept"] = sum(c["kept"] for c in entry["contracts"])
        row["contracts"] = len(entry["contracts"])
        row["violations"] = sum(len(c["violations"]) for c in entry["contracts"])
        row["findings"] = [f"{f['level']}: {f['rule']}" for f in entry.get("findings", [])]
        row["warnings"] = [w for c in entry["contracts"] for w in c["warnings"]]
    return row


def main() -> None:
    git_dir = Path(sys.argv[1])
    rows = []
    with tempfile.TemporaryDirectory(prefix="cloacina-examples-") as scratch:
        for example in examples(git_dir):
            package = extract(git_dir, example, Path(scratch))
            row = {"example": example, "directory": check(package)}
            if (package / "package.toml").is_file():
                row["archive"] = check(pack(package, Path(scratch)))
            rows.append(row)
    if "--markdown" in sys.argv:
        print("| example | form | exit | contracts kept | violations | findings | seconds |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        for row in rows:
            for form in ("directory", "archive"):
                if form not in row:
                    continue
                r = row[form]
                kept = f"{r['kept']}/{r['contracts']}" if "kept" in r else "-"
                findings = ", ".join(r.get("findings", [])) or (r["stderr"].strip() or "none")
                print(f"| {row['example'].removeprefix('examples/')} | {form} | {r['exit']} | "
                      f"{kept} | {r.get('violations', '-')} | {findings} | {r['seconds']:.2f} |")
    else:
        print(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
