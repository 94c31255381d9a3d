"""The fixture Cloacina framework really works, and the two workflow packages run on it.

fixtures/framework holds a small but real engine (cloacina) on an authoring layer
(cloacina_workflow); fixtures/bloated and fixtures/slim are the same workflow written
against each. Both packages are imported as ``order_pipeline``, so every test that
loads one purges it from ``sys.modules`` before and after.
"""

from __future__ import annotations

import ast
import asyncio
import os
import subprocess
import sys
import types
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures"
FRAMEWORK = [FIXTURES / "framework" / "cloacina-workflow", FIXTURES / "framework" / "cloacina"]
FRAMEWORK_PACKAGES = ("cloacina", "cloacina_workflow", "order_pipeline")
PIPELINE = ["fetch_orders", "validate_orders", "price_orders", "publish_summary"]


def _purge(*roots: str) -> None:
    for name in [n for n in sys.modules if n.split(".")[0] in roots]:
        del sys.modules[name]


@pytest.fixture(autouse=True, scope="module")
def framework_on_path():
    """Put the fixture framework on sys.path; leave no trace of it afterwards."""
    saved = list(sys.path)
    sys.path[:0] = [str(p) for p in FRAMEWORK]
    _purge(*FRAMEWORK_PACKAGES)
    yield
    sys.path[:] = saved
    _purge(*FRAMEWORK_PACKAGES)


@pytest.fixture
def runner(tmp_path):
    """A DefaultRunner on a fresh SQLite file with its own registry."""
    from cloacina import DefaultRunner
    from cloacina.registry import TaskRegistry

    with DefaultRunner(database_url=f"sqlite:///{tmp_path / 'runs.db'}", registry=TaskRegistry()) as r:
        yield r


def _module(name: str, *functions) -> types.ModuleType:
    module = types.ModuleType(name)
    for fn in functions:
        setattr(module, fn.__name__, fn)
    return module


# --- authoring layer -----------------------------------------------------------


def test_context_insert_update_delete_semantics():
    from cloacina_workflow import Context, ContextError

    ctx = Context({"a": 1})
    ctx.insert("b", [1, 2])
    assert ctx["b"] == [1, 2] and "b" in ctx and ctx.get("zz", "dflt") == "dflt"
    with pytest.raises(ContextError, match="'a' already exists"):
        ctx.insert("a", 2)
    with pytest.raises(ContextError, match="'missing' does not exist"):
        ctx.update("missing", 1)
    ctx.update("a", 5)
    assert ctx.delete("a") == 5 and "a" not in ctx
    with pytest.raises(ContextError, match="does not exist"):
        ctx.delete("a")
    with pytest.raises(KeyError):
        ctx["a"]


def test_context_json_round_trip_and_non_json_rejected():
    from cloacina_workflow import Context, ContextError

    ctx = Context({"n": 1, "nested": {"list": [1, "x", None, True]}, "f": 1.5})
    assert Context.from_json(ctx.to_json()) == ctx
    for bad in ({1, 2}, object(), float("nan"), {"k": b"bytes"}):
        with pytest.raises(ContextError, match="'bad' is not JSON-serialisable"):
            ctx.insert("bad", bad)
    with pytest.raises(ContextError, match="not JSON-serialisable"):
        ctx.update("n", {1})
    assert ctx["n"] == 1 and "bad" not in ctx
    with pytest.raises(ContextError, match="must be an object"):
        Context.from_json("[1, 2]")


def test_retry_policy_and_namespace():
    from cloacina_workflow import Backoff, RetryPolicy, TaskNamespace

    exp = RetryPolicy(max_attempts=5, initial_delay=0.1, max_delay=0.3)
    assert [exp.delay_for(n) for n in (1, 2, 3, 4)] == [0.1, 0.2, 0.3, 0.3]
    fixed = RetryPolicy(backoff="fixed", initial_delay=0.5)
    assert fixed.backoff is Backoff.FIXED and fixed.delay_for(3) == 0.5
    assert fixed.should_retry(2) and not fixed.should_retry(3)
    with pytest.raises(ValueError, match="backoff must be one of"):
        RetryPolicy(backoff="linear")

    ns = TaskNamespace("public", "order_pipeline", "order_pipeline", "fetch_orders")
    assert str(ns) == "public::order_pipeline::order_pipeline::fetch_orders"
    assert TaskNamespace.parse(str(ns)) == ns
    with pytest.raises(ValueError, match="tenant::package::workflow::task"):
        TaskNamespace.parse("a::b")


def test_task_decorator_attaches_metadata_without_registering():
    import cloacina_workflow
    from cloacina_workflow import RetryPolicy, TaskDefinition, collect_tasks, task

    @task
    async def extract(context):
        return context

    @task(id="load", dependencies=[extract], retry_policy=RetryPolicy(max_attempts=2))
    def load_rows(context):
        return None

    definition = load_rows.__cloacina_task__
    assert isinstance(definition, TaskDefinition)
    assert (definition.id, definition.dependencies, definition.retry_policy.max_attempts) == ("load", ("extract",), 2)
    assert extract.__cloacina_task__.is_async and not definition.is_async
    assert [t.id for t in collect_tasks(_module("wf", extract, load_rows))] == ["extract", "load"]
    assert not any(isinstance(v, (list, dict)) and v for k, v in vars(cloacina_workflow).items()
                   if not k.startswith("__")), "the authoring layer keeps no registry"


# --- the engine ----------------------------------------------------------------


def test_workflow_runs_in_dependency_order_with_retries(runner, tmp_path):
    from cloacina import Context, RetryPolicy, task
    from cloacina.database import DAL
    from cloacina_workflow import collect_tasks

    calls = {"transform": 0}

    # Defined out of order on purpose: the executor must sort by dependencies.
    @task(id="load", dependencies=["transform"])
    def load(context):
        context.update("log", context["log"] + ["load"])

    @task(id="transform", dependencies=["extract"],
          retry_policy=RetryPolicy(max_attempts=3, initial_delay=0.001))
    async def transform(context):
        calls["transform"] += 1
        context.update("log", context["log"] + [f"transform#{calls['transform']}"])
        if calls["transform"] < 3:
            raise ConnectionError("flaky upstream")
        context.insert("rows", [r * 10 for r in context["raw"]])
        return context

    @task(id="extract")
    async def extract(context):
        context.insert("raw", [1, 2])
        context.update("log", context["log"] + ["extract"])
        return context

    runner.registry.register_workflow("etl", "etl", collect_tasks(_module("etl", load, transform, extract)))
    result = runner.run_workflow_sync("etl", Context({"log": []}))

    assert result.ok, result.error
    # failed attempts leave no partial writes: only the successful attempt's log entry remains
    assert result.context["log"] == ["extract", "transform#3", "load"]
    assert result.context["rows"] == [10, 20]
    assert result.attempts == {"extract": 1, "transform": 3, "load": 1}

    # history is persisted: read it back through a separate DAL on the same file
    dal = DAL(f"sqlite:///{tmp_path / 'runs.db'}")
    try:
        (run,) = dal.list_workflow_executions("etl")
        assert (run.status, run.context["rows"]) == ("completed", [10, 20])
        assert [(t.task_id, t.status, t.attempts) for t in run.tasks] == [
            ("extract", "completed", 1), ("transform", "completed", 3), ("load", "completed", 1)]
        assert run.tasks[1].namespace == "public::etl::etl::transform"
        assert run.finished_at is not None and all(t.finished_at for t in run.tasks)
    finally:
        dal.close()
    assert "psycopg2" not in sys.modules


def test_permanent_failure_fails_the_workflow(runner):
    from cloacina import Context, RetryPolicy, TaskError, task
    from cloacina_workflow import collect_tasks

    @task(id="ok")
    def ok(context):
        context.insert("ok", True)

    @task(id="broken", dependencies=["ok"], retry_policy=RetryPolicy(max_attempts=2, initial_delay=0))
    def broken(context):
        context.insert("half", "written")
        raise TaskError("upstream is gone", task_id="broken")

    @task(id="after", dependencies=["broken"])
    def after(context):
        raise AssertionError("must not run")

    runner.registry.register_workflow("wf", "wf", collect_tasks(_module("wf", ok, broken, after)))
    result = asyncio.run(runner.run_workflow("wf", Context()))

    assert result.status == "failed" and not result.ok
    assert result.task_status == {"ok": "completed", "broken": "failed", "after": "skipped"}
    assert result.attempts["broken"] == 2
    assert "task 'broken' failed after 2 attempt(s)" in result.error and "upstream is gone" in result.error
    (run,) = runner.history("wf")
    assert run.status == "failed" and run.error == result.error
    assert run.context == {"ok": True}  # the failed task's writes are discarded
    assert {t.task_id: t.status for t in run.tasks} == result.task_status
    assert "upstream is gone" in run.tasks[1].error


@pytest.mark.parametrize(("deps", "message"), [
    ({"a": ["b"], "b": ["c"], "c": ["a"]}, "dependency cycle among tasks: 'a', 'b', 'c'"),
    ({"a": [], "b": ["a", "nope"]}, "task 'b' depends on unknown task(s): 'nope'"),
])
def test_invalid_graphs_rejected_before_anything_runs(runner, deps, message):
    from cloacina import Context, task
    from cloacina.runtime import WorkflowValidationError, plan

    tasks = [task(id=tid, dependencies=d)(lambda ctx: None).__cloacina_task__ for tid, d in deps.items()]
    with pytest.raises(WorkflowValidationError) as caught:
        plan(tasks)
    assert str(caught.value) == message
    runner.registry.register_workflow("bad", "bad", tasks)
    with pytest.raises(WorkflowValidationError):
        runner.run_workflow_sync("bad", Context())
    assert runner.history() == []


def test_loader_rejects_missing_and_empty_packages(runner, tmp_path):
    from cloacina.registry import PackageLoadError

    with pytest.raises(PackageLoadError, match="no such directory"):
        runner.load_package(tmp_path / "absent")
    (tmp_path / "empty_wf").mkdir()
    (tmp_path / "empty_wf" / "__init__.py").write_text("VALUE = 1\n")
    try:
        with pytest.raises(PackageLoadError, match="empty package: 'empty_wf'"):
            runner.load_package(tmp_path)
    finally:
        _purge("empty_wf")


# --- the workflow packages on the full runtime -----------------------------------

EXPECTED_SUMMARY = {
    "orders": 2,
    "rejected": ["o-3", "o-4"],
    "total_cents": 3 * 250 + 1999,
    "pipeline": PIPELINE,
    "previous_runs": 0,
}


@pytest.mark.parametrize("variant", ["slim", "bloated"])
def test_workflow_package_runs_unchanged_on_the_runtime(variant, tmp_path):
    """Load fixtures/<variant> through the package loader and run it with DefaultRunner.

    The global registry is used on purpose: the bloated package's helpers read it.
    """
    from cloacina import Context, DefaultRunner
    from cloacina.registry import global_task_registry

    url = f"sqlite:///{tmp_path / 'runs.db'}"
    _purge("order_pipeline")
    try:
        with DefaultRunner(database_url=url) as runner:
            workflow = runner.load_package(FIXTURES / variant)
            module = sys.modules["order_pipeline"]
            assert Path(module.__file__).parent == FIXTURES / variant / "order_pipeline"
            assert (workflow.name, [t.id for t in workflow.tasks]) == ("order_pipeline", PIPELINE)
            assert str(workflow.namespace("fetch_orders")) == "public::order_pipeline::order_pipeline::fetch_orders"

            first = runner.run_workflow_sync("order_pipeline", Context({"database_url": url}))
            assert first.ok, first.error
            assert first.context["summary"] == EXPECTED_SUMMARY
            assert [line["line_cents"] for line in first.context["priced_orders"]] == [750, 1999]

            # bloated counts earlier runs in the engine's database; slim is told by its caller
            second = runner.run_workflow_sync(
                "order_pipeline", Context({"database_url": url, "previous_runs": 1}))
            assert second.context["summary"] == {**EXPECTED_SUMMARY, "previous_runs": 1}

            bad = runner.run_workflow_sync(
                "order_pipeline", Context({"raw_orders": [{"id": "x", "sku": "widget", "qty": 0}]}))
            assert bad.status == "failed" and "no valid orders" in bad.error
            assert bad.task_status["publish_summary"] == "skipped"
            assert [r.status for r in runner.history("order_pipeline")] == ["failed", "completed", "completed"]
    finally:
        global_task_registry().unregister_workflow("order_pipeline")
        _purge("order_pipeline")
    assert "psycopg2" not in sys.modules


# --- static shape of the fixtures ----------------------------------------------


def _imports(package_dir: Path) -> dict[str, set[str]]:
    """Absolute imports per file below ``package_dir`` (relative imports are internal)."""
    found: dict[str, set[str]] = {}
    for path in sorted(package_dir.rglob("*.py")):
        names = found.setdefault(path.name, set())
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module)
    return found


def _outside(imports: dict[str, set[str]], allowed: set[str]) -> set[str]:
    allowed = allowed | set(sys.stdlib_module_names)
    return {name for names in imports.values() for name in names if name.split(".")[0] not in allowed}


def test_slim_package_imports_only_the_authoring_layer_and_stdlib():
    imports = _imports(FIXTURES / "slim" / "order_pipeline")
    assert set(imports) == {"__init__.py", "helpers.py", "pricing.py", "tasks.py"}
    assert _outside(imports, {"cloacina_workflow", "order_pipeline"}) == set()
    assert any("cloacina_workflow" in names for names in imports.values())


def test_authoring_layer_is_stdlib_only_and_bloated_reaches_the_engine():
    authoring = _imports(FIXTURES / "framework" / "cloacina-workflow" / "cloacina_workflow")
    assert _outside(authoring, {"cloacina_workflow"}) == set()
    assert _imports(FIXTURES / "framework" / "cloacina" / "cloacina")["context.py"] == {"cloacina_workflow.context"}

    bloated = _imports(FIXTURES / "bloated" / "order_pipeline")
    assert {"cloacina", "cloacina.runtime.executor"} <= bloated["tasks.py"]
    assert {"cloacina.registry", "cloacina.database", "cloacina.database.dal"} <= bloated["helpers.py"]
    assert "cloacina.context" in bloated["pricing.py"]


def _loaded_after(statement: str) -> set[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(map(str, FRAMEWORK))}
    code = f"import sys; base = set(sys.modules); {statement}; print('\\n'.join(set(sys.modules) - base))"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return {line.split(".")[0] + ("." + line.split(".")[1] if line.count(".") else "") for line in out.stdout.split()}


def test_engine_import_drags_runtime_but_authoring_import_does_not():
    via_engine = _loaded_after("from cloacina.context import Context")
    assert {"cloacina.runtime", "cloacina.database", "cloacina.registry", "sqlalchemy"} <= via_engine
    assert "psycopg2" not in via_engine  # the driver loads only for postgresql URLs
    authoring = _loaded_after("from cloacina_workflow import Context, task")
    assert not {m for m in authoring if m.split(".")[0] in ("cloacina", "sqlalchemy")}
