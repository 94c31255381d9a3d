"""The footprint of every Python example package of a Cloacina checkout, as directory and archive.

    python scripts/cloacina_examples_footprint.py CLOACINA_GIT_DIR [REF]

Reads the examples with ``git show`` (a bare repository is fine) into a temporary
directory, packs each one as ``cloacinactl package pack`` would
(:mod:`cloacina_audit.analysis.footprint.packing`), runs ``cloacina-audit footprint`` on the directory
and on the archive, and prints a Markdown table. Nothing is kept.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from cloacina_audit.analysis.footprint.packing import pack_package


def git(repo: str, *args: str) -> bytes:
    return subprocess.run(["git", "-C", repo, *args], capture_output=True, check=True).stdout


def python_examples(repo: str, ref: str) -> dict[str, list[str]]:
    files = git(repo, "ls-tree", "-r", "--name-only", ref).decode().splitlines()
    roots = sorted(p.rsplit("/", 1)[0] for p in files
                   if p.startswith("examples/") and p.endswith("/package.toml"))
    return {
        root: [p for p in files if p.startswith(root + "/")]
        for root in roots
        if any(p.startswith(root + "/workflow/") for p in files)
    }


def footprint(path: Path) -> tuple[int, dict]:
    done = subprocess.run(
        [sys.executable, "-m", "cloacina_audit", "footprint", str(path), "--format", "json"],
        capture_output=True, text=True,
    )
    if done.returncode == 2:
        return 2, {"error": done.stderr.strip()}
    return done.returncode, json.loads(done.stdout)["packages"][0]


def main(repo: str, ref: str = "HEAD") -> int:
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for root, files in python_examples(repo, ref).items():
            local = Path(scratch, root)
            for path in files:
                target = local / path[len(root) + 1:]
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(git(repo, "show", f"{ref}:{path}"))
            packed = pack_package(local, Path(scratch, Path(root).name + ".cloacina"))
            code, entry = footprint(local)
            archive_code, archive_entry = footprint(Path(scratch, Path(root).name + ".cloacina"))
            fp, afp = entry.get("footprint") or {}, archive_entry.get("footprint") or {}
            rows.append([
                f"`{root}`", str(code), str(archive_code), f"{packed.compressed_bytes:,}",
                str(len(packed.members)), "yes" if packed.staged else "no",
                f"{fp.get('install_bytes', 0):,}", str(fp.get("distributions")),
                ", ".join(h["name"] for h in fp.get("host_provided", [])) or "none",
                "yes" if afp.get("install_bytes") == fp.get("install_bytes") else "NO",
            ])
    header = ["example", "exit (dir)", "exit (archive)", "archive bytes", "files", "staged",
              "installed bytes", "vendored distributions", "from the host", "archive = dir"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
