"""Last week's new movie and TV releases from the TMDb v3 API, as listing records.

Uses ``/discover/movie`` and ``/discover/tv`` over a release-date window, paginated, with
genre ids named through ``/genre/{movie,tv}/list``. The client keeps under TMDb's rate
limit (~40-50 requests/s), honours 429 ``Retry-After``, retries 5xx and timeouts with a
bounded backoff, and fails clearly on 401.

The credential never leaves this module: error messages carry paths without query
strings, exceptions are raised without their httpx cause (whose message holds the URL),
and a logging filter masks ``api_key=`` in httpx's own request log lines.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

import httpx
import pandas as pd

from trending_assets.lib.datasets import LISTING_COLUMNS, REJECT_COLUMNS, LoadResult

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.themoviedb.org/3"
TMDB_PAGE_LIMIT = 500  # TMDb refuses page numbers above this
_SECRET_PARAM = re.compile(r"(api_key=)[^&\s\"']+", re.IGNORECASE)

MediaType = Literal["movie", "tv"]


class TmdbApiError(RuntimeError):
    """TMDb could not be queried (after retries, where retrying made sense)."""


class TmdbAuthError(TmdbApiError):
    """TMDb refused the credential (HTTP 401)."""


class _RedactQueryKeys(logging.Filter):
    """Mask ``api_key=…`` in log records; httpx logs every request URL at INFO."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "api_key=" in message.lower():
            record.msg, record.args = _SECRET_PARAM.sub(r"\1***", message), ()
        return True


def _install_log_redaction() -> None:
    httpx_logger = logging.getLogger("httpx")
    if not any(isinstance(f, _RedactQueryKeys) for f in httpx_logger.filters):
        httpx_logger.addFilter(_RedactQueryKeys())


_install_log_redaction()


@dataclass(frozen=True)
class _Media:
    kind: MediaType
    title_field: str
    date_field: str
    date_param: str


_MEDIA: tuple[_Media, ...] = (
    _Media("movie", "title", "release_date", "primary_release_date"),
    _Media("tv", "name", "first_air_date", "first_air_date"),
)


class _RateLimiter:
    """Spaces requests at least ``1/rate`` seconds apart (TMDb allows ~40-50/s); None: no limit."""

    def __init__(
        self,
        rate: float | None,
        sleep: Callable[[float], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._interval = 1.0 / rate if rate else 0.0
        self._sleep = sleep
        self._clock = clock
        self._next = 0.0

    def wait(self) -> None:
        if not self._interval:
            return
        now = self._clock()
        if now < self._next:
            self._sleep(self._next - now)
            now = self._next
        self._next = now + self._interval


class _TmdbClient:
    """GET with auth, rate limiting and bounded retries; never exposes the credential."""

    def __init__(
        self,
        client: httpx.Client,
        base_url: str,
        api_key: str | None,
        *,
        sleep: Callable[[float], None],
        max_retries: int,
        max_wait: float,
        requests_per_second: float | None,
    ) -> None:
        self._client = client
        self._base_url = base_url.rstrip("/")
        self._secret = api_key or None
        self._headers: dict[str, str] = {"Accept": "application/json"}
        self._auth_params: dict[str, str] = {}
        if api_key and api_key.startswith("eyJ"):
            self._headers["Authorization"] = f"Bearer {api_key}"  # v4 read-access token
        elif api_key:
            self._auth_params["api_key"] = api_key  # v3 key
        self._sleep = sleep
        self._max_retries = max_retries
        self._max_wait = max_wait
        self._limiter = _RateLimiter(requests_per_second, sleep)

    def _scrub(self, text: str) -> str:
        text = _SECRET_PARAM.sub(r"\1***", text)
        return text.replace(self._secret, "***") if self._secret else text

    def get(self, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        query = {**(params or {}), **self._auth_params}
        for attempt in range(self._max_retries + 1):
            self._limiter.wait()
            try:
                response = self._client.get(
                    f"{self._base_url}{path}", params=query, headers=self._headers
                )
            except httpx.TimeoutException:
                problem, wait = "timed out", self._backoff(attempt)
            except httpx.TransportError as exc:
                problem, wait = f"connection failed ({type(exc).__name__})", self._backoff(attempt)
            else:
                status = response.status_code
                if status == 200:
                    return self._json(response, path)
                if status == 401:
                    raise TmdbAuthError(self._auth_message(response))
                if status == 429:
                    problem, wait = "rate limited (429)", self._retry_after(response, attempt)
                elif status >= 500:
                    problem, wait = f"server error {status}", self._backoff(attempt)
                else:
                    raise TmdbApiError(
                        f"TMDb GET {path} failed: HTTP {status} {self._status_message(response)}"
                    )
            if attempt == self._max_retries:
                raise TmdbApiError(
                    f"TMDb GET {path} failed after {attempt + 1} attempts: {problem}"
                )
            log.warning("TMDb GET %s %s; retrying in %.1fs", path, problem, wait)
            self._sleep(wait)
        raise AssertionError("unreachable")

    def _backoff(self, attempt: int) -> float:
        return min(self._max_wait, 0.5 * 2**attempt)

    def _retry_after(self, response: httpx.Response, attempt: int) -> float:
        header = response.headers.get("retry-after", "").strip()
        try:
            seconds = float(header)
        except ValueError:
            seconds = self._backoff(attempt)  # absent or an HTTP date: fall back to backoff
        return min(self._max_wait, max(0.0, seconds))

    def _json(self, response: httpx.Response, path: str) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            raise TmdbApiError(f"TMDb GET {path} returned a body that is not JSON") from None
        if not isinstance(body, dict):
            raise TmdbApiError(f"TMDb GET {path} returned JSON that is not an object")
        return body

    def _status_message(self, response: httpx.Response) -> str:
        try:
            message = str(response.json().get("status_message", ""))
        except (ValueError, AttributeError):
            message = ""
        return self._scrub(message)[:200]

    def _auth_message(self, response: httpx.Response) -> str:
        detail = self._status_message(response)
        if self._secret is None:
            return f"TMDb answered 401 Unauthorized and no API key was configured. {detail}".strip()
        kind = "v4 read-access token" if "Authorization" in self._headers else "v3 API key"
        return f"TMDb rejected the {kind} (401 Unauthorized). {detail}".strip()


def fetch_recent_releases(
    *,
    api_key: str | None,
    base_url: str = DEFAULT_BASE_URL,
    since: date,
    until: date,
    max_pages: int = 5,
    client: httpx.Client | None = None,
    sleep: Callable[[float], None] = time.sleep,
    max_retries: int = 4,
    max_wait: float = 60.0,
    requests_per_second: float | None = 35.0,
    timeout: float = 15.0,
) -> LoadResult:
    """Movies first released and TV series first aired between ``since`` and ``until``.

    ``api_key`` is a v4 read-access token (``eyJ…``, sent as a Bearer header) or a v3
    key (sent as the ``api_key`` query parameter); None sends no credential (for a local
    stand-in). At most ``max_pages`` pages per media type. Every pause (rate limit, 429
    ``Retry-After``, backoff) goes through ``sleep`` and is capped at ``max_wait``, so
    tests can make them instant; ``requests_per_second=None`` turns the client-side
    limiter off (e.g. behind a proxy that already limits).
    Returns listing records (no ``dataset`` column; the caller adds ``fetched_on``);
    results without an id or title come back as rejects.
    """
    if since > until:
        raise ValueError(f"since ({since}) is after until ({until})")
    if max_pages < 1:
        raise ValueError("max_pages must be at least 1")
    owned = client is None
    http = client or httpx.Client(timeout=timeout)
    try:
        tmdb = _TmdbClient(
            http,
            base_url,
            api_key,
            sleep=sleep,
            max_retries=max_retries,
            max_wait=max_wait,
            requests_per_second=requests_per_second,
        )
        records: list[dict[str, Any]] = []
        rejects: list[dict[str, str]] = []
        for media in _MEDIA:
            genre_names = _genre_names(tmdb, media.kind)
            for item in _discover(tmdb, media, since, until, max_pages):
                try:
                    records.append(_record(item, media, genre_names))
                except ValueError as exc:
                    rejects.append(_reject(media.kind, str(exc), item))
    finally:
        if owned:
            http.close()
    frame = pd.DataFrame.from_records(records, columns=LISTING_COLUMNS)
    frame = frame.drop_duplicates("source_title_id", ignore_index=True)  # pages can overlap
    frame["year"] = pd.array(frame["year"].tolist(), dtype="Int64")
    for column in ("release_date", "plot", "original_language", "url"):
        frame[column] = pd.Series(frame[column].tolist(), dtype="object")
    log.info(
        "TMDb discover %s..%s: %d releases, %d rejected", since, until, len(frame), len(rejects)
    )
    return LoadResult(frame, pd.DataFrame(rejects, columns=REJECT_COLUMNS))


def _genre_names(tmdb: _TmdbClient, kind: MediaType) -> dict[int, str]:
    body = tmdb.get(f"/genre/{kind}/list")
    return {
        genre["id"]: str(genre["name"])
        for genre in body.get("genres") or []
        if isinstance(genre, dict) and isinstance(genre.get("id"), int) and genre.get("name")
    }


def _discover(
    tmdb: _TmdbClient, media: _Media, since: date, until: date, max_pages: int
) -> list[dict[str, Any]]:
    params: dict[str, Any] = {
        f"{media.date_param}.gte": since.isoformat(),
        f"{media.date_param}.lte": until.isoformat(),
        "sort_by": f"{media.date_param}.desc",
        "include_adult": "false",
    }
    if media.kind == "tv":
        params["include_null_first_air_dates"] = "false"
    items: list[dict[str, Any]] = []
    page, total_pages = 1, 1
    while page <= min(total_pages, max_pages, TMDB_PAGE_LIMIT):
        body = tmdb.get(f"/discover/{media.kind}", {**params, "page": page})
        results = body.get("results") or []
        items.extend(item for item in results if isinstance(item, dict))
        total_pages = int(body.get("total_pages") or 1)
        if not results:
            break
        page += 1
    if total_pages > max_pages:
        log.info("TMDb /discover/%s: read %d of %d pages", media.kind, max_pages, total_pages)
    return items


def _record(item: dict[str, Any], media: _Media, genre_names: dict[int, str]) -> dict[str, Any]:
    tmdb_id = item.get("id")
    if not isinstance(tmdb_id, int):
        raise ValueError("result has no numeric id")
    title = item.get(media.title_field)
    if not isinstance(title, str) or not title.strip():
        raise ValueError(f"result has no {media.title_field}")
    released = _parse_date(item.get(media.date_field))
    genres = []
    for genre_id in item.get("genre_ids") or []:
        name = genre_names.get(genre_id)
        if name is None:
            log.warning(
                "TMDb %s genre id %s is not in /genre/%s/list", media.kind, genre_id, media.kind
            )
            name = str(genre_id)
        genres.append(name)
    return {
        "source": "tmdb_api",
        "source_title_id": f"{media.kind}/{tmdb_id}",
        "url": f"https://www.themoviedb.org/{media.kind}/{tmdb_id}",
        "title": title,
        "year": released.year if released else None,
        "title_type": media.kind,
        "plot": item.get("overview") or None,
        "genres": genres,
        "original_language": item.get("original_language") or None,
        "release_date": released,
    }


def _parse_date(value: Any) -> date | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"unparseable date {value!r}") from None


def _reject(kind: MediaType, reason: str, item: dict[str, Any]) -> dict[str, str]:
    dataset = f"tmdb_api/discover/{kind}"
    return {
        "dataset": dataset,
        "reason": reason,
        "record": json.dumps({"dataset": dataset, **item}, ensure_ascii=False, default=str),
    }
