"""What the commands were asked to do: the options every kind of target reads."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from cloacina_audit.discover.config import ImportPolicy
from cloacina_audit.environment.dependency_env import MissingPolicy


@dataclass
class CheckOptions:
    #: Interpreter whose environment provides the third-party packages (default: ours).
    python: str | None = None
    #: An import-linter configuration to use instead of the one found in the project.
    config_file: Path | None = None
    #: Overrides ``[tool.cloacina-audit] preset``; "none" disables presets.
    preset: str | None = None
    type_checking_imports: ImportPolicy | None = None
    deferred_imports: ImportPolicy | None = None
    lazy_imports: ImportPolicy | None = None
    cache_dir: Path | None = None
    #: What to do when declared dependencies are not installed where check runs.
    missing_dependencies: MissingPolicy = "resolve"


@dataclass
class AuditOptions:
    check: CheckOptions = field(default_factory=CheckOptions)
    with_contracts: bool = True
    env: str = "isolated"
    probe_runs: int = 3
    import_timeout: float | None = None
    progress: bool = False
    #: A local cloaca wheel to measure instead of downloading the published one.
    cloaca_wheel: Path | None = None
