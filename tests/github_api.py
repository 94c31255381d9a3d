"""A local HTTP server answering the GitHub REST calls of a pull request's comments.

``GET /repos/{repo}/issues/{n}/comments`` (paginated by ``per_page`` and ``page``, with
GitHub's ``Link`` header), ``POST`` to the same path and ``PATCH
/repos/{repo}/issues/comments/{id}``. It checks the token, records every request, keeps
the comments it was given or sent, and can refuse writes with 403 as GitHub does for a
read-only token.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

REPOSITORY = "acme/flows"
NUMBER = 7
TOKEN = "test-token"


@dataclass
class Request:
    method: str
    path: str  #: with the query string
    headers: dict[str, str]  #: names in lower case
    body: Any


@dataclass
class FakeGitHub:
    comments: list[dict[str, Any]] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    #: Answer POST and PATCH with this status (403: "Resource not accessible by integration").
    refuse_writes: int | None = None
    url: str = ""

    def add(self, body: str, user: str = "someone") -> dict[str, Any]:
        comment = {"id": 1000 + len(self.comments), "body": body, "user": {"login": user}}
        self.comments.append(comment)
        return comment

    @property
    def writes(self) -> list[Request]:
        return [r for r in self.requests if r.method in {"POST", "PATCH"}]

    def reports(self) -> list[dict[str, Any]]:
        return [c for c in self.comments if c["body"].startswith("## cloacina-audit report\n")]

    def env(self, tmp: Path, *, fork: bool = False, token: str = TOKEN) -> dict[str, str]:
        """What the runner sets for a ``pull_request`` event of this repository."""
        head = "someone-else/flows" if fork else REPOSITORY
        event = {"action": "synchronize", "number": NUMBER, "pull_request": {
            "number": NUMBER,
            "head": {"repo": {"full_name": head}},
            "base": {"repo": {"full_name": REPOSITORY}},
        }}
        path = tmp / "event.json"
        path.write_text(json.dumps(event))
        summary = tmp / "step-summary.md"
        summary.touch()
        return {"GITHUB_API_URL": self.url, "GITHUB_REPOSITORY": REPOSITORY,
                "GITHUB_EVENT_PATH": str(path), "GITHUB_TOKEN": token,
                "GITHUB_STEP_SUMMARY": str(summary), "GITHUB_EVENT_NAME": "pull_request"}


def _handler(api: FakeGitHub) -> type[BaseHTTPRequestHandler]:
    prefix = f"/repos/{REPOSITORY}/issues"

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def _answer(self, status: int, document: object, headers: dict[str, str] | None = None) -> None:
            data = json.dumps(document).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def _record(self) -> Request | None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            request = Request(self.command, self.path, {k.lower(): v for k, v in self.headers.items()},
                              json.loads(raw) if raw else None)
            api.requests.append(request)
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                self._answer(401, {"message": "Bad credentials"})
                return None
            return request

        def do_GET(self) -> None:
            if self._record() is None:
                return
            url = urlsplit(self.path)
            if url.path != f"{prefix}/{NUMBER}/comments":
                return self._answer(404, {"message": "Not Found"})
            query = parse_qs(url.query)
            per_page = min(int(query.get("per_page", ["30"])[0]), 100)
            page = int(query.get("page", ["1"])[0])
            last = max(1, -(-len(api.comments) // per_page))
            links = []
            if page < last:
                links.append(f'<{api.url}{url.path}?per_page={per_page}&page={page + 1}>; rel="next"')
                links.append(f'<{api.url}{url.path}?per_page={per_page}&page={last}>; rel="last"')
            shown = api.comments[(page - 1) * per_page: page * per_page]
            self._answer(200, shown, {"Link": ", ".join(links)} if links else {})

        def do_POST(self) -> None:
            request = self._record()
            if request is None:
                return
            if urlsplit(self.path).path != f"{prefix}/{NUMBER}/comments":
                return self._answer(404, {"message": "Not Found"})
            if api.refuse_writes:
                return self._answer(api.refuse_writes,
                                    {"message": "Resource not accessible by integration"})
            comment = api.add(request.body["body"], user="github-actions[bot]")
            comment["html_url"] = f"https://github.com/{REPOSITORY}/pull/{NUMBER}#issuecomment-{comment['id']}"
            self._answer(201, comment)

        def do_PATCH(self) -> None:
            request = self._record()
            if request is None:
                return
            path = urlsplit(self.path).path
            found = [c for c in api.comments if path == f"{prefix}/comments/{c['id']}"]
            if not found:
                return self._answer(404, {"message": "Not Found"})
            if api.refuse_writes:
                return self._answer(api.refuse_writes,
                                    {"message": "Resource not accessible by integration"})
            found[0]["body"] = request.body["body"]
            self._answer(200, found[0])

    return Handler


class Server:
    """``with Server() as api:`` a :class:`FakeGitHub` listening on 127.0.0.1."""

    def __enter__(self) -> FakeGitHub:
        self.api = FakeGitHub()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self.api))
        self.api.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        return self.api

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)
