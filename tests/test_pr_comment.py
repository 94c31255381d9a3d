"""The pull-request comment: one per pull request, updated on each push; the job summary
where the token cannot write. Run as action.yml runs it, against a local GitHub API."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from github_api import NUMBER, REPOSITORY, Server

REPORT = "## cloacina-audit report\n<!-- cloacina-audit -->\n\n### ✅ OK\n\nrun {n}\n"


def post(tmp: Path, env: dict[str, str], body: str, *args: str) -> subprocess.CompletedProcess:
    report = tmp / "cloacina-audit.md"
    report.write_text(body)
    clean = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    return subprocess.run(
        [sys.executable, "-m", "cloacina_audit.ci.pr_comment", str(report), *args],
        env={**clean, **env}, capture_output=True, text=True, timeout=60,
    )


def summary(env: dict[str, str]) -> str:
    return Path(env["GITHUB_STEP_SUMMARY"]).read_text()


@pytest.fixture
def api():
    with Server() as fake:
        yield fake


def test_the_first_run_posts_the_next_ones_update_the_same_comment(tmp_path, api):
    api.add("LGTM")
    env = api.env(tmp_path)
    first = post(tmp_path, env, REPORT.format(n=1), "--job-summary", "false")
    assert first.returncode == 0, first.stderr
    assert first.stderr == ""
    [report] = api.reports()
    assert first.stdout == (f"cloacina-audit: posted the report on pull request #{NUMBER}: "
                            f"https://github.com/{REPOSITORY}/pull/{NUMBER}#issuecomment-{report['id']}\n")
    for n in (2, 3):
        again = post(tmp_path, env, REPORT.format(n=n), "--job-summary", "false")
        assert again.returncode == 0 and "updated the report" in again.stdout, again
    assert api.reports() == [report] and report["body"].endswith("run 3\n")
    assert len(api.comments) == 2
    assert [(r.method, r.path.split("?")[0]) for r in api.requests] == [
        ("GET", f"/repos/{REPOSITORY}/issues/{NUMBER}/comments"),
        ("POST", f"/repos/{REPOSITORY}/issues/{NUMBER}/comments"),
        ("GET", f"/repos/{REPOSITORY}/issues/{NUMBER}/comments"),
        ("PATCH", f"/repos/{REPOSITORY}/issues/comments/{report['id']}"),
        ("GET", f"/repos/{REPOSITORY}/issues/{NUMBER}/comments"),
        ("PATCH", f"/repos/{REPOSITORY}/issues/comments/{report['id']}"),
    ]
    assert all(r.headers["x-github-api-version"] == "2022-11-28" for r in api.requests)
    assert summary(env) == ""  # --job-summary false: the comment is enough


def test_the_comment_is_found_on_a_later_page_and_a_quote_of_it_is_not_it(tmp_path, api):
    for i in range(120):
        api.add(f"comment {i}")
    api.add("> ## cloacina-audit report\n> <!-- cloacina-audit -->\n> quoted by a reviewer")
    api.add("see <!-- cloacina-audit -->")
    mine = api.add(REPORT.format(n=0).replace("\n", "\r\n"), user="github-actions[bot]")
    env = api.env(tmp_path)
    result = post(tmp_path, env, REPORT.format(n=1))
    assert result.returncode == 0, result.stderr
    pages = [r.path for r in api.requests if r.method == "GET"]
    assert [p.split("?")[1] for p in pages] == ["per_page=100", "per_page=100&page=2"]
    assert [(w.method, w.path) for w in api.writes] == [
        ("PATCH", f"/repos/{REPOSITORY}/issues/comments/{mine['id']}")]
    assert mine["body"] == REPORT.format(n=1)
    # --job-summary true (the default): the summary has the report as well.
    assert summary(env) == REPORT.format(n=1)


def test_a_fork_gets_the_job_summary_and_no_write_is_tried(tmp_path, api):
    env = api.env(tmp_path, fork=True)
    result = post(tmp_path, env, REPORT.format(n=1), "--job-summary", "false")
    assert result.returncode == 0, result.stderr
    assert api.writes == [] and api.requests == []
    assert summary(env) == REPORT.format(n=1)
    assert result.stdout == (
        "::notice title=cloacina-audit::pull request #7 comes from a fork, whose token cannot "
        "comment: the report is in the job summary\n")


def test_a_403_falls_back_to_the_job_summary_in_one_line(tmp_path, api):
    api.refuse_writes = 403
    env = api.env(tmp_path)
    result = post(tmp_path, env, REPORT.format(n=1), "--job-summary", "false")
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert result.stdout == (
        f"::warning title=cloacina-audit::could not comment on pull request #7 (POST "
        f"/repos/{REPOSITORY}/issues/7/comments: HTTP 403 (Resource not accessible by "
        "integration)): the report is in the job summary\n")
    assert api.reports() == []
    assert summary(env) == REPORT.format(n=1)  # written once, not twice


def test_an_unreachable_api_or_a_missing_token_falls_back_too(tmp_path, api):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**api.env(tmp_path), "GITHUB_API_URL": f"http://127.0.0.1:{port}"}
    down = post(tmp_path, env, REPORT.format(n=1), "--job-summary", "false")
    assert down.returncode == 0 and down.stdout.count("\n") == 1, down
    assert down.stdout.startswith("::warning title=cloacina-audit::could not comment")
    assert "Connection refused" in down.stdout
    assert summary(env) == REPORT.format(n=1)

    (tmp_path / "bad").mkdir()
    bad = api.env(tmp_path / "bad", token="wrong")
    refused = post(tmp_path, bad, REPORT.format(n=2), "--job-summary", "false")
    assert "HTTP 401 (Bad credentials)" in refused.stdout
    assert summary(bad) == REPORT.format(n=2)

    (tmp_path / "none").mkdir()
    none = api.env(tmp_path / "none", token="")
    missing = post(tmp_path, none, REPORT.format(n=3), "--job-summary", "false")
    assert missing.stdout.startswith("::warning title=cloacina-audit::no token")
    assert summary(none) == REPORT.format(n=3)
    assert api.writes == []


def test_no_pull_request_no_comment_and_the_summary_as_asked(tmp_path, api):
    env = api.env(tmp_path)
    push = tmp_path / "push.json"
    push.write_text('{"ref": "refs/heads/main", "before": "abc"}')
    env["GITHUB_EVENT_PATH"] = str(push)
    quiet = post(tmp_path, env, REPORT.format(n=1), "--job-summary", "false")
    assert (quiet.returncode, quiet.stdout, summary(env)) == (0, "", "")
    shown = post(tmp_path, env, REPORT.format(n=2))
    assert (shown.returncode, shown.stdout, summary(env)) == (0, "", REPORT.format(n=2))
    off = post(tmp_path, api.env(tmp_path), REPORT.format(n=3), "--comment", "false")
    assert off.returncode == 0 and api.requests == []


def test_a_long_report_is_cut_to_what_github_accepts(tmp_path, api):
    env = api.env(tmp_path)
    body = REPORT.format(n=1) + "x" * 70000 + "\n"
    assert post(tmp_path, env, body, "--job-summary", "false").returncode == 0
    [report] = api.reports()
    assert len(report["body"]) == 65536 and report["body"].endswith("in the job summary)\n")


def test_bad_arguments_are_one_line_and_exit_2(tmp_path):
    result = post(tmp_path, {}, REPORT.format(n=1), "--comment", "maybe")
    assert result.returncode == 2 and "expected true or false" in result.stderr
    assert "Traceback" not in result.stderr
    missing = subprocess.run([sys.executable, "-m", "cloacina_audit.ci.pr_comment",
                              str(tmp_path / "none.md")], capture_output=True, text=True,
                             timeout=60)
    assert missing.returncode == 0 and missing.stdout.startswith("::warning")
