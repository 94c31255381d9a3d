"""Projects the tests write in temp dirs: a pyproject.toml that hatchling builds, and a
miniature engine with a workflow project depending on it through a uv path source."""

from __future__ import annotations

import textwrap

BUILD_SYSTEM = '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n'


def pyproject(name: str, version: str = "1.0", *, dependencies: str | None = None,
              extra: str = "") -> str:
    """A hatchling project's pyproject.toml; ``dependencies`` and ``extra`` are TOML text."""
    text = BUILD_SYSTEM + f'[project]\nname = "{name}"\nversion = "{version}"\n'
    if dependencies is not None:
        text += f"dependencies = {dependencies}\n"
    return text + textwrap.dedent(extra).lstrip("\n")


#: A miniature engine: ``cloacina/__init__.py`` pulls the runtime in, ``cloacina_workflow``
#: is the authoring layer; it builds, so that footprints can install it.
ENGINE = {
    "fw/pyproject.toml": pyproject("cloacina", "1", extra="""
        [tool.hatch.build.targets.wheel]
        packages = ["cloacina", "cloacina_workflow"]
    """),
    "fw/cloacina/__init__.py": "from cloacina.runtime import Runner\n",
    "fw/cloacina/runtime/__init__.py": "class Runner:\n    pass\n",
    "fw/cloacina_workflow/__init__.py": "def task(f):\n    return f\n",
}

#: The workflow project ``wf`` beside the engine, depending on it.
WORKFLOW = pyproject("wf", "1", dependencies='["cloacina"]', extra="""
    [tool.uv.sources]
    cloacina = { path = "../fw" }
""")


def engine_db_contract(source_modules: str = "wf") -> dict[str, str]:
    """A bare engine project ``eng/`` (its modules are the test's) and the workflow ``wf`` in
    ``proj/`` depending on it through a uv path source, with one contract: ``source_modules``
    must not import ``eng.db``."""
    return {
        "eng/pyproject.toml": '[project]\nname = "eng"\nversion = "1"\n',
        "proj/pyproject.toml": """
            [project]
            name = "wf"
            version = "1"
            dependencies = ["eng"]
            [tool.uv.sources]
            eng = { path = "../eng" }
            [tool.cloacina-audit]
            preset = "none"
        """,
        "proj/.importlinter": f"""
            [importlinter]
            root_packages = wf
            [importlinter:contract:db]
            name = No database
            type = forbidden
            source_modules = {source_modules}
            forbidden_modules = eng.db
        """,
    }


#: A directory holding only an import-linter configuration (checked as lint-imports
#: would check it) and the two packages it names; ``shop.views`` breaks the contract.
DROP_IN = {
    ".importlinter": """
        [importlinter]
        root_packages =
            shop
            engine

        [importlinter:contract:no-engine]
        name = Shop must not use the engine
        type = forbidden
        source_modules = shop
        forbidden_modules = engine.db
    """,
    "shop/__init__.py": "",
    "shop/views.py": "from engine import db\n",
    "engine/__init__.py": "",
    "engine/db.py": "",
}
