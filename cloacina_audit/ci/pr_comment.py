"""Keep one cloacina-audit comment on a pull request, or write the job summary instead.

Run by ``action.yml`` after the report: ``python -m cloacina_audit.ci.pr_comment REPORT.md``.
Like size-limit-action, a pull request has one comment, found by the report's first two
lines (:data:`~cloacina_audit.render.markdown.HEADING`, then the hidden
:data:`~cloacina_audit.render.markdown.MARKER`): posted on the first run, updated on each
push. Where the token cannot write (a pull request from a fork, or the API answers 403,
or anything else goes wrong) the report goes to the job summary instead, with one line
saying why; this step never fails the job (the action's last step does that).

Reads what the runner provides: ``GITHUB_TOKEN``, ``GITHUB_API_URL``, ``GITHUB_REPOSITORY``,
``GITHUB_EVENT_PATH`` and ``GITHUB_STEP_SUMMARY``. Talks to GitHub's REST API with the
standard library alone.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cloacina_audit.render.markdown import HEADING, MARKER

API_VERSION = "2022-11-28"
TIMEOUT_SECONDS = 30.0
#: GitHub refuses a comment body longer than this many characters.
MAX_BODY = 65536
_TRUNCATED = "\n\n… (truncated: the whole report is in the job summary)\n"
_NEXT = re.compile(r'<([^>]+)>;\s*rel="next"')


class NotPosted(Exception):
    """The comment could not be written; the message says why, in a few words."""


@dataclass(frozen=True)
class PullRequest:
    repository: str  #: ``owner/name`` of the base repository, where the comment lives
    number: int
    head_repository: str | None  #: ``owner/name`` of the head; None when the fork is gone

    @property
    def from_fork(self) -> bool:
        return self.head_repository != self.repository


def pull_request(event: Mapping[str, Any], repository: str) -> PullRequest | None:
    """The pull request of a ``pull_request`` (or ``pull_request_target``) event, else None."""
    pr = event.get("pull_request")
    if not isinstance(pr, dict) or not isinstance(pr.get("number"), int):
        return None
    base = ((pr.get("base") or {}).get("repo") or {}).get("full_name") or repository
    head = ((pr.get("head") or {}).get("repo") or {}).get("full_name")
    return PullRequest(repository=str(base), number=pr["number"],
                       head_repository=str(head) if head else None)


def is_report(body: str) -> bool:
    """A comment this step wrote: the report's heading, then its marker. A quote of it
    (``> ## cloacina-audit report``) or a mention of the marker elsewhere is not one."""
    return body.replace("\r\n", "\n").split("\n")[:2] == [HEADING, MARKER]


class GitHub:
    """The three REST calls of an issue's comments, authenticated with ``token``."""

    def __init__(self, api_url: str, token: str) -> None:
        self.api_url = api_url.rstrip("/")
        self._token = token

    def comments(self, pr: PullRequest) -> Iterator[dict[str, Any]]:
        """Every comment of the pull request, page by page (``Link: rel="next"``)."""
        url: str | None = f"{self.api_url}/repos/{pr.repository}/issues/{pr.number}/comments?per_page=100"
        while url is not None:
            page, headers = self._request("GET", url)
            if not isinstance(page, list):
                raise NotPosted("the list of comments is not a list")
            yield from (c for c in page if isinstance(c, dict))
            found = _NEXT.search(headers.get("Link", ""))
            url = found.group(1) if found else None
            if url is not None and not url.startswith(self.api_url + "/"):
                raise NotPosted(f"the next page is on another server: {url}")  # keep the token here

    def create(self, pr: PullRequest, body: str) -> dict[str, Any]:
        url = f"{self.api_url}/repos/{pr.repository}/issues/{pr.number}/comments"
        return self._request("POST", url, {"body": body})[0]

    def update(self, pr: PullRequest, comment_id: int, body: str) -> dict[str, Any]:
        url = f"{self.api_url}/repos/{pr.repository}/issues/comments/{comment_id}"
        return self._request("PATCH", url, {"body": body})[0]

    def _request(self, method: str, url: str, payload: object = None) -> tuple[Any, Mapping[str, str]]:
        data = None if payload is None else json.dumps(payload).encode()
        request = urllib.request.Request(url, data=data, method=method, headers={
            "Accept": "application/vnd.github+json",
            "Authorization": f"Bearer {self._token}",
            "X-GitHub-Api-Version": API_VERSION,
            "User-Agent": "cloacina-audit",
            **({"Content-Type": "application/json"} if data is not None else {}),
        })
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
                return json.loads(response.read() or b"null"), response.headers
        except urllib.error.HTTPError as exc:
            raise NotPosted(f"{method} {_path(url)}: HTTP {exc.code} {_api_message(exc)}".rstrip()) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise NotPosted(f"{method} {_path(url)}: {reason}") from None
        except ValueError:
            raise NotPosted(f"{method} {_path(url)}: the answer is not JSON") from None


def _path(url: str) -> str:
    return re.sub(r"^[a-z]+://[^/]+", "", url).split("?")[0]


def _api_message(error: urllib.error.HTTPError) -> str:
    """GitHub's own words (``Resource not accessible by integration``), when it gave some."""
    try:
        message = json.loads(error.read() or b"{}").get("message", "")
    except (ValueError, AttributeError, OSError):
        return ""
    return f"({message})" if isinstance(message, str) and message else ""


def keep_one_comment(github: GitHub, pr: PullRequest, body: str) -> str:
    """Update the pull request's report comment, or post it: what was done, in a line."""
    mine = next((c for c in github.comments(pr) if is_report(str(c.get("body") or ""))), None)
    if mine is not None and isinstance(mine.get("id"), int):
        written = github.update(pr, mine["id"], body)
        verb = "updated"
    else:
        written = github.create(pr, body)
        verb = "posted"
    url = written.get("html_url", "") if isinstance(written, dict) else ""
    return f"cloacina-audit: {verb} the report on pull request #{pr.number}" + (f": {url}" if url else "")


def fit(body: str) -> str:
    """The body cut to what GitHub accepts, saying so."""
    if len(body) <= MAX_BODY:
        return body
    return body[: MAX_BODY - len(_TRUNCATED)] + _TRUNCATED


def annotation(level: str, message: str) -> str:
    """A workflow command line (``::warning title=cloacina-audit::...``), escaped."""
    data = message.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return f"::{level} title=cloacina-audit::{data}"


def run(report: Path, *, comment: bool, job_summary: bool, env: Mapping[str, str]) -> list[str]:
    """Comment or write the summary as asked and as allowed; the lines to print."""
    try:
        body = report.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return [annotation("warning", f"no report to post: cannot read {report}: {exc}")]
    lines: list[str] = []
    posted = False
    pr = _event_pull_request(env) if comment else None
    if pr is None:
        pass  # not a pull request (or no comment asked): the summary as job-summary says
    elif pr.from_fork:
        lines.append(annotation("notice", f"pull request #{pr.number} comes from a fork, whose "
                                "token cannot comment: the report is in the job summary"))
    elif not env.get("GITHUB_TOKEN"):
        lines.append(annotation("warning", "no token to comment with (input github-token): "
                                "the report is in the job summary"))
    else:
        github = GitHub(env.get("GITHUB_API_URL") or "https://api.github.com", env["GITHUB_TOKEN"])
        try:
            lines.append(keep_one_comment(github, pr, fit(body)))
            posted = True
        except NotPosted as exc:
            lines.append(annotation("warning", f"could not comment on pull request #{pr.number} "
                                    f"({exc}): the report is in the job summary"))
    if job_summary or (pr is not None and not posted):
        lines.append(_write_summary(body, env))
    return [line for line in lines if line]


def _event_pull_request(env: Mapping[str, str]) -> PullRequest | None:
    path = env.get("GITHUB_EVENT_PATH")
    if not path:
        return None
    try:
        event = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return pull_request(event, env.get("GITHUB_REPOSITORY", "")) if isinstance(event, dict) else None


def _write_summary(body: str, env: Mapping[str, str]) -> str:
    path = env.get("GITHUB_STEP_SUMMARY")
    if not path:
        return annotation("warning", "GITHUB_STEP_SUMMARY is not set: no job summary written")
    try:
        with open(path, "a", encoding="utf-8") as summary:
            summary.write(body if body.endswith("\n") else body + "\n")
    except OSError as exc:
        return annotation("warning", f"cannot write the job summary: {exc}")
    return ""


def _flag(value: str) -> bool:
    if value.lower() not in {"true", "false"}:
        raise argparse.ArgumentTypeError(f"expected true or false, not {value!r}")
    return value.lower() == "true"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m cloacina_audit.ci.pr_comment",
        description="Keep one cloacina-audit comment on a pull request, or write the job summary.",
    )
    parser.add_argument("report", type=Path, help="the Markdown report (the comment body)")
    parser.add_argument("--comment", type=_flag, default=True, metavar="true|false",
                        help="keep one comment on the pull request (default: true)")
    parser.add_argument("--job-summary", type=_flag, default=True, metavar="true|false",
                        help="also append the report to the job summary when it was posted")
    options = parser.parse_args(argv)
    for line in run(options.report, comment=options.comment, job_summary=options.job_summary,
                    env=os.environ):
        print(line)
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
