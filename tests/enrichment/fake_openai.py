"""A small OpenAI-compatible chat-completions server for tests and the benchmark.

``POST /v1/chat/completions`` only. It reads the title from the prompt's ``Title: ...``
line and answers according to a script: per title (``script(title, *actions)``, consumed
in order), else the ``default`` action. Actions:

- ``ok()``                      a valid enrichment (``answers[title]`` overrides it)
- ``slow(seconds)``             the same, after an extra delay
- ``rate_limited(retry_after)`` 429 with ``Retry-After`` (seconds, or an HTTP date string)
- ``server_error(status)``      5xx
- ``broken_json()``             200 whose content is not JSON
- ``schema_invalid()``          200 with JSON that breaks the schema (score 42, unknown genre)
- ``not_json(content_type)``    200 whose body is not a chat completion: an HTML page (as a
                                proxy or captive portal sends) by default

``latency`` (seconds) is added to every answer; ``reject_json_schema=True`` answers 400 to a
``json_schema`` response_format, like endpoints without structured outputs. Every request is
recorded in ``requests`` (title, action, response_format type, arrival time, headers
with lower-case names). The
bearer token must equal ``api_key`` (else 401). Usage tokens are characters / 4.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_TITLE = re.compile(r"^Title: (.+)$", re.MULTILINE)


@dataclass(frozen=True)
class Action:
    kind: str
    retry_after: str | None = None
    delay: float = 0.0
    status: int = 200
    content_type: str | None = None
    body: str | None = None


def ok() -> Action:
    return Action("ok")


def slow(seconds: float) -> Action:
    return Action("ok", delay=seconds)


def rate_limited(retry_after: str | float = 1) -> Action:
    return Action("429", retry_after=str(retry_after), status=429)


def server_error(status: int = 500) -> Action:
    return Action("5xx", status=status)


def broken_json() -> Action:
    return Action("broken_json")


def schema_invalid() -> Action:
    return Action("schema_invalid")


HTML_PAGE = (
    "<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head>"
    "<body><h1>Bad Gateway</h1><p>The upstream is waking up, try again.</p></body></html>"
)


def not_json(content_type: str = "text/html; charset=utf-8", body: str = HTML_PAGE) -> Action:
    return Action("not_json", content_type=content_type, body=body)


@dataclass
class Recorded:
    title: str | None
    action: str
    response_format: str | None
    at: float
    headers: dict[str, str]
    body: dict[str, Any] = field(repr=False)


def good_answer(title: str) -> dict[str, Any]:
    return {
        "genres": ["drama", "comedy"],
        "summary": f"Reviewers found {title} warm and funny, with a few calling it slow.",
        "vibe_score": 7,
        "vibe_tags": ["Heartwarming", "witty", "slow burn"],
    }


class FakeOpenAI:
    def __init__(
        self,
        api_key: str = "sk-test-fake",
        latency: float = 0.0,
        default: Action | None = None,
        reject_json_schema: bool = False,
    ) -> None:
        self.api_key = api_key
        self.latency = latency
        self.default = default or ok()
        self.reject_json_schema = reject_json_schema
        self.answers: dict[str, dict[str, Any]] = {}
        self.requests: list[Recorded] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._scripts: dict[str, deque[Action]] = defaultdict(deque)
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- control ----------------------------------------------------------------------

    def script(self, title: str, *actions: Action) -> None:
        with self._lock:
            self._scripts[title].extend(actions)

    def calls(self, title: str | None = None) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if title is None or r.title == title]

    @property
    def call_count(self) -> int:
        return len(self.calls())

    @property
    def url(self) -> str:
        assert self._server is not None, "server not started"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def start(self) -> FakeOpenAI:
        fake = self

        class Handler(_Handler):
            server_state = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._server.request_queue_size = 128
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- answering (called from handler threads) --------------------------------------

    def _next_action(self, title: str | None) -> Action:
        with self._lock:
            queue = self._scripts.get(title or "")
            return queue.popleft() if queue else self.default

    def _record(self, rec: Recorded) -> None:
        with self._lock:
            self.requests.append(rec)

    def _enter(self) -> None:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def _leave(self) -> None:
        with self._lock:
            self.in_flight -= 1


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: with Nagle on, the body waits for the client's
    # delayed ACK (~40 ms on Linux), a latency no real server adds.
    disable_nagle_algorithm = True
    server_state: FakeOpenAI

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        self.server_state._enter()
        try:
            self._answer()
        finally:
            self.server_state._leave()

    def _answer(self) -> None:
        arrived = time.monotonic()
        fake = self.server_state
        length = int(self.headers.get("Content-Length", 0))
        body = json.loads(self.rfile.read(length) or b"{}")
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._send(404, {"error": {"message": "not found"}})
            return
        if self.headers.get("Authorization") != f"Bearer {fake.api_key}":
            self._send(401, {"error": {"message": "Incorrect API key provided."}})
            return
        messages = body.get("messages", [])
        text = "\n".join(str(m.get("content", "")) for m in messages)
        match = _TITLE.search(text)
        title = match.group(1).strip() if match else None
        fmt = (body.get("response_format") or {}).get("type")
        if fake.reject_json_schema and fmt == "json_schema":
            action = Action("reject_json_schema", status=400)
        else:
            action = fake._next_action(title)
        headers = {name.lower(): value for name, value in self.headers.items()}
        fake._record(Recorded(title, action.kind, fmt, arrived, headers, body))
        delay = fake.latency + action.delay
        if delay:
            time.sleep(delay)
        if action.kind == "reject_json_schema":
            self._send(
                400,
                {
                    "error": {
                        "message": "response_format json_schema is not supported",
                        "type": "invalid_request_error",
                    }
                },
            )
        elif action.kind == "429":
            self._send(
                429,
                {"error": {"message": "Rate limit reached", "type": "rate_limit"}},
                {"Retry-After": action.retry_after or "1"},
            )
        elif action.kind == "5xx":
            self._send(action.status, {"error": {"message": "upstream exploded"}})
        elif action.kind == "not_json":
            data = (action.body or "").encode()
            self.send_response(200)
            if action.content_type:  # "" sends none at all
                self.send_header("Content-Type", action.content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        else:
            if action.kind == "broken_json":
                content = '{"genres": ["drama"], "summary": "cut off'
            elif action.kind == "schema_invalid":
                content = json.dumps(
                    {"genres": ["spaghetti"], "summary": "ok", "vibe_score": 42, "vibe_tags": ["x"]}
                )
            else:
                content = json.dumps(fake.answers.get(title or "", good_answer(title or "?")))
            prompt_tokens = max(len(text) // 4, 1)
            self._send(
                200,
                {
                    "id": f"chatcmpl-{len(fake.requests)}",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": body.get("model", "fake"),
                    "choices": [
                        {
                            "index": 0,
                            "finish_reason": "stop",
                            "message": {"role": "assistant", "content": content},
                        }
                    ],
                    "usage": {
                        "prompt_tokens": prompt_tokens,
                        "completion_tokens": max(len(content) // 4, 1),
                        "total_tokens": prompt_tokens + max(len(content) // 4, 1),
                    },
                },
            )


def main() -> None:
    """``python fake_openai.py [--latency S] [--api-key K]``: serve in this process (so a
    benchmark's client does not share a GIL with it), print the base URL, stop on EOF."""
    import argparse
    import sys

    parser = argparse.ArgumentParser()
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--api-key", default="sk-test-fake")
    args = parser.parse_args()
    with FakeOpenAI(api_key=args.api_key, latency=args.latency) as server:
        print(server.url, flush=True)
        sys.stdin.read()  # until the parent closes our stdin
        print(json.dumps({"requests": server.call_count, "max_in_flight": server.max_in_flight}),
              flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
