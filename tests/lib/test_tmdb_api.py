"""The TMDb discover client against a loopback server that answers in TMDb's shapes."""

from __future__ import annotations

import http.server
import json
import logging
import threading
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from trending_assets.lib.datasets import LISTING_COLUMNS
from trending_assets.lib.tmdb_api import (
    TmdbApiError,
    TmdbAuthError,
    _RateLimiter,
    fetch_recent_releases,
)

V3_KEY = "v3secretkey0123456789"
V4_TOKEN = "eyJhbGciOiJIUzI1NiJ9.c2VjcmV0LXRva2Vu.sig-secret-part"
SINCE, UNTIL = date(2026, 11, 13), date(2026, 11, 20)

MOVIE_GENRES = [
    {"id": 28, "name": "Action"},
    {"id": 18, "name": "Drama"},
    {"id": 878, "name": "Science Fiction"},
]
TV_GENRES = [{"id": 18, "name": "Drama"}, {"id": 10764, "name": "Reality"}]


def movie(tmdb_id: int, title: str, released: str, genre_ids: list[int]) -> dict[str, Any]:
    return {
        "id": tmdb_id, "title": title, "original_title": title, "release_date": released,
        "genre_ids": genre_ids, "overview": f"Plot of {title}.", "original_language": "en",
        "popularity": 12.5, "adult": False,
    }  # fmt: skip


MOVIE_PAGES = [
    [movie(101, "Alpha", "2026-11-20", [28, 878]), movie(102, "Beta", "2026-11-19", [18])],
    [movie(103, "Gamma", "2026-11-17", []), movie(102, "Beta", "2026-11-19", [18])],  # overlap
    [movie(104, "Delta", "", [28]), {"id": 105, "title": "", "release_date": "2026-11-14"}],
]
TV_PAGES = [
    [
        {"id": 201, "name": "Show One", "first_air_date": "2026-11-18", "genre_ids": [10764, 99999],
         "overview": "", "original_language": "ko"},
        {"id": 202, "name": "Show Two", "first_air_date": "2026-11-15", "genre_ids": [18],
         "overview": "A drama.", "original_language": "en"},
    ]
]  # fmt: skip


@dataclass
class FakeTmdb:
    """State of the loopback TMDb: canned failures to serve first, and every request seen."""

    requests: list[dict[str, Any]] = field(default_factory=list)
    failures: dict[tuple[str, int], list[tuple[int, dict[str, str]]]] = field(default_factory=dict)
    delays: dict[tuple[str, int], list[float]] = field(default_factory=dict)
    base_url: str = ""

    def answer(
        self, path: str, query: dict[str, str], headers: dict[str, str]
    ) -> tuple[int, dict[str, str], Any]:
        self.requests.append({"path": path, "query": query, "headers": headers})
        page = int(query.get("page", "0"))
        if self.delays.get((path, page)):
            time.sleep(self.delays[(path, page)].pop(0))
        if self.failures.get((path, page)):
            status, extra = self.failures[(path, page)].pop(0)
            return (
                status,
                extra,
                {"status_code": 25, "status_message": "Try again.", "success": False},
            )
        bearer = headers.get("authorization") == f"Bearer {V4_TOKEN}"
        if not bearer and query.get("api_key") != V3_KEY:
            body = {
                "status_code": 7,
                "status_message": "Invalid API key: You must be granted a valid key.",
                "success": False,
            }
            return 401, {}, body
        if path == "/3/genre/movie/list":
            return 200, {}, {"genres": MOVIE_GENRES}
        if path == "/3/genre/tv/list":
            return 200, {}, {"genres": TV_GENRES}
        pages = {"/3/discover/movie": MOVIE_PAGES, "/3/discover/tv": TV_PAGES}.get(path)
        if pages is None:
            return 404, {}, {"status_code": 34, "status_message": "Not found.", "success": False}
        results = pages[page - 1] if 1 <= page <= len(pages) else []
        total = sum(len(p) for p in pages)
        return (
            200,
            {},
            {"page": page, "results": results, "total_pages": len(pages), "total_results": total},
        )


@pytest.fixture
def tmdb() -> Iterator[FakeTmdb]:
    state = FakeTmdb()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            parts = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, extra, body = state.answer(parts.path, query, headers)
            data = json.dumps(body).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json;charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                for name, value in extra.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client timed out on a delayed answer

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}/3"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


class Sleeps(list[float]):
    """An injectable sleep that records instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def fetch(tmdb: FakeTmdb, sleeps: Sleeps, **overrides: Any):
    options: dict[str, Any] = {
        "api_key": V3_KEY, "base_url": tmdb.base_url, "since": SINCE, "until": UNTIL,
        "sleep": sleeps, "requests_per_second": None,
    }  # fmt: skip
    return fetch_recent_releases(**{**options, **overrides})


def test_paginates_maps_genres_and_retries(tmdb: FakeTmdb) -> None:
    tmdb.failures[("/3/discover/movie", 2)] = [(429, {"Retry-After": "1"})]
    tmdb.failures[("/3/discover/tv", 1)] = [(500, {})]
    sleeps = Sleeps()
    result = fetch(tmdb, sleeps)
    frame = result.frame

    assert list(frame.columns) == LISTING_COLUMNS
    assert str(frame["year"].dtype) == "Int64"
    assert frame["source_title_id"].tolist() == [
        "movie/101",
        "movie/102",
        "movie/103",
        "movie/104",
        "tv/201",
        "tv/202",
    ]
    alpha = frame.iloc[0]
    assert alpha["source"] == "tmdb_api"
    assert alpha["genres"] == ["Action", "Science Fiction"]
    assert alpha["release_date"] == date(2026, 11, 20)
    assert alpha["year"] == 2026
    assert alpha["url"] == "https://www.themoviedb.org/movie/101"
    assert alpha["plot"] == "Plot of Alpha."
    assert alpha["original_language"] == "en"
    delta = frame.iloc[3]
    assert delta["release_date"] is None and frame["year"].isna().tolist()[3]
    show = frame.iloc[4]
    assert (show["title"], show["title_type"], show["url"]) == (
        "Show One",
        "tv",
        "https://www.themoviedb.org/tv/201",
    )
    assert show["genres"] == ["Reality", "99999"]  # unknown id kept visibly, not dropped
    assert show["plot"] is None
    assert result.rejects["reason"].tolist() == ["result has no title"]

    assert sleeps == [1.0, 0.5]  # Retry-After honoured, then the first 5xx backoff
    movie_calls = [r for r in tmdb.requests if r["path"] == "/3/discover/movie"]
    assert [r["query"]["page"] for r in movie_calls] == ["1", "2", "2", "3"]
    query = movie_calls[0]["query"]
    assert query["primary_release_date.gte"] == "2026-11-13"
    assert query["primary_release_date.lte"] == "2026-11-20"
    assert query["sort_by"] == "primary_release_date.desc"
    tv_query = next(r for r in tmdb.requests if r["path"] == "/3/discover/tv")["query"]
    assert (tv_query["first_air_date.gte"], tv_query["first_air_date.lte"]) == (
        "2026-11-13",
        "2026-11-20",
    )
    assert all(r["query"].get("api_key") == V3_KEY for r in tmdb.requests)
    assert all("authorization" not in r["headers"] for r in tmdb.requests)


def test_v4_token_goes_in_bearer_header(tmdb: FakeTmdb) -> None:
    result = fetch(tmdb, Sleeps(), api_key=V4_TOKEN, max_pages=1)
    assert len(result.frame) == 4  # one movie page, one TV page
    assert all(r["headers"]["authorization"] == f"Bearer {V4_TOKEN}" for r in tmdb.requests)
    assert all("api_key" not in r["query"] for r in tmdb.requests)
    assert [r["query"]["page"] for r in tmdb.requests if r["path"] == "/3/discover/movie"] == ["1"]


@pytest.mark.parametrize("key", [V3_KEY + "-wrong", V4_TOKEN + "-wrong", None])
def test_401_is_clear_and_never_shows_the_key(tmdb: FakeTmdb, key: str | None) -> None:
    with pytest.raises(TmdbAuthError, match="401") as err:
        fetch(tmdb, Sleeps(), api_key=key)
    assert len(tmdb.requests) == 1  # no retry on a bad credential
    shown = "".join(traceback.format_exception(err.value)) + repr(err.value)
    if key:
        assert key not in shown
        assert "Invalid API key" in str(err.value)
    else:
        assert "no API key was configured" in str(err.value)


def test_key_never_in_logs_errors_or_data(tmdb: FakeTmdb, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    tmdb.failures[("/3/discover/movie", 1)] = [(429, {"Retry-After": "1"}), (503, {})]
    result = fetch(tmdb, Sleeps())
    assert "HTTP Request" in caplog.text  # httpx did log its request lines
    assert V3_KEY not in caplog.text
    assert V3_KEY not in result.frame.to_json(default_handler=str)
    assert V3_KEY not in result.rejects.to_json()

    tmdb.failures[("/3/genre/movie/list", 0)] = [(500, {})] * 10
    with pytest.raises(TmdbApiError) as err:
        fetch(tmdb, Sleeps(), max_retries=2)
    assert V3_KEY not in "".join(traceback.format_exception(err.value))
    assert V3_KEY not in caplog.text


def test_retries_are_bounded(tmdb: FakeTmdb) -> None:
    tmdb.failures[("/3/genre/movie/list", 0)] = [(502, {})] * 10
    sleeps = Sleeps()
    with pytest.raises(TmdbApiError, match="failed after 4 attempts: server error 502"):
        fetch(tmdb, sleeps, max_retries=3)
    assert len(tmdb.requests) == 4
    assert sleeps == [0.5, 1.0, 2.0]


def test_retry_after_is_capped(tmdb: FakeTmdb) -> None:
    tmdb.failures[("/3/genre/tv/list", 0)] = [(429, {"Retry-After": "3600"})]
    sleeps = Sleeps()
    fetch(tmdb, sleeps, max_wait=2.0)
    assert sleeps == [2.0]


def test_timeout_is_retried(tmdb: FakeTmdb) -> None:
    tmdb.delays[("/3/genre/movie/list", 0)] = [1.0]
    sleeps = Sleeps()
    result = fetch(tmdb, sleeps, timeout=0.2)
    assert len(result.frame) == 6
    assert sleeps == [0.5]


def test_bad_window_is_refused() -> None:
    with pytest.raises(ValueError, match="after"):
        fetch_recent_releases(api_key=V3_KEY, since=UNTIL, until=SINCE)


def test_rate_limiter_spaces_requests() -> None:
    now = [100.0]
    sleeps = Sleeps()

    def sleep(seconds: float) -> None:
        sleeps(seconds)
        now[0] += seconds

    limiter = _RateLimiter(10.0, sleep, clock=lambda: now[0])
    limiter.wait()
    limiter.wait()
    now[0] += 0.03
    limiter.wait()
    now[0] += 0.5
    limiter.wait()
    assert sleeps == pytest.approx([0.1, 0.07])


def test_default_limiter_is_used(tmdb: FakeTmdb) -> None:
    sleeps = Sleeps()
    fetch(tmdb, sleeps, requests_per_second=35.0)
    assert sleeps  # loopback answers faster than 35/s, so the limiter paused
