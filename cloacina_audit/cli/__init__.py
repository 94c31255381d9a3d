"""Command-line interface: parse options, run the pipeline, render, exit with the right code.

``main.py`` turns every failure into one line and an exit code; ``commands.py`` holds
the click commands; ``options.py`` the options they share and what they mean to the
app; ``output.py`` where the report goes. ``footprint`` and ``report`` import their
machinery (uv environments, probes, comparisons) when they run, so that ``check``,
the pre-commit hook, starts fast.
"""

from cloacina_audit.cli.main import main

__all__ = ["main"]
