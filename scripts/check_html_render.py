"""Render the sample audit reports to HTML and screenshot them with headless Chromium.

    python scripts/check_html_render.py [OUT_DIR]

Writes comparison.html / many.html and, when /usr/bin/chromium (or CHROMIUM)
exists, a .png screenshot of each, so a person can look at what a release
attachment looks like. Chromium runs with networking features off: the report
must render from the file alone. Exits 1 if a screenshot could not be taken.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from report_samples import comparison_report, many_packages_report  # noqa: E402

from cloacina_audit.render import render  # noqa: E402

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


def screenshot(html_file: Path, png_file: Path) -> bool:
    with tempfile.TemporaryDirectory() as profile:
        command = [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            f"--screenshot={png_file}",
            "--window-size=1200,1600",
            html_file.as_uri(),
        ]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    if done.returncode != 0 or not png_file.is_file():
        print(f"chromium failed on {html_file}:\n{done.stderr[-2000:]}", file=sys.stderr)
        return False
    return True


def main() -> int:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="audit-html-"))
    out.mkdir(parents=True, exist_ok=True)
    ok = True
    for name, report in (("comparison", comparison_report()), ("many", many_packages_report())):
        html_file = out / f"{name}.html"
        html_file.write_text(render(report, "html"), encoding="utf-8")
        print(html_file)
        if not Path(CHROMIUM).exists():
            continue
        png_file = out / f"{name}.png"
        if screenshot(html_file, png_file):
            print(png_file)
        else:
            ok = False
    if not Path(CHROMIUM).exists():
        print(f"{CHROMIUM} not found: HTML written, no screenshots taken", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
