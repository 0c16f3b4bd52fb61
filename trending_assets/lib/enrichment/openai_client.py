"""Transport for the ``openai`` provider: the ``AsyncOpenAI`` client, its retries, one call.

The official client does the transport retries itself (``max_retries``, fed from
``OpenAIConfig.max_transport_retries``): connection errors, timeouts, 408, 409, 429 and
5xx (unless the server says ``x-should-retry: false``), waiting what ``retry-after-ms`` /
``Retry-After`` asks when that is above 0 and at most 120 s (a longer wait is not retried
at all: the error comes back at once), else an exponential backoff of 0.5 s doubling up to
8 s, minus up to 25 % jitter (openai ``_base_client``). The client built here carries an
httpx request hook that counts every HTTP request, the client's retries included, into the
``RequestTally`` of the current asyncio task, so that a title's ``attempts`` stays the
number of API calls actually made. ``chat_completion`` sends one request and returns the
parsed completion, or raises ``NotJSONBody`` for a 200 whose body is not a JSON chat
completion, which the client does not retry (the provider does). ``parse_retry_after`` and
``error_message`` put what a failed response said into words for a title's reason.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the client is imported where it is used: it costs ~1.7 s to import,
    import openai  # and every load of the code location would pay it (local provider too)

RAW_BODY_CHARS = 2000  # how much of a non-JSON body is kept with a quarantined title


@dataclass
class RequestTally:
    """HTTP requests sent from one asyncio task (one title), the client's retries included."""

    requests: int = 0
    last_sent: float | None = None  # time.monotonic() of the latest one


_TALLY: ContextVar[RequestTally | None] = ContextVar("enrichment_request_tally", default=None)


def start_tally() -> RequestTally:
    """A fresh tally for the calling task: every request it sends from now on is counted."""
    tally = RequestTally()
    _TALLY.set(tally)
    return tally


async def _count_request(request: Any) -> None:
    tally = _TALLY.get()
    if tally is not None:
        tally.requests += 1
        tally.last_sent = time.monotonic()


def make_client(
    *, api_key: str, base_url: str | None, max_retries: int, timeout_s: float
) -> openai.AsyncOpenAI:
    """The async client: its own transport retries, a per-request timeout, counted requests."""
    import openai

    return openai.AsyncOpenAI(
        api_key=api_key or "not-needed",  # local servers often need none
        base_url=base_url,
        max_retries=max_retries,
        timeout=timeout_s,
        http_client=openai.DefaultAsyncHttpxClient(
            timeout=timeout_s, event_hooks={"request": [_count_request]}
        ),
    )


class NotJSONBody(Exception):
    """A 200 whose body is not a JSON chat completion: an HTML page from a proxy, a captive
    portal or a load balancer, or JSON that is not an object. ``raw`` keeps its start."""

    def __init__(self, body: str, content_type: str | None) -> None:
        snippet = " ".join(body.split())[:80]
        kind = content_type or "no content type"
        self.reason = (
            f"HTTP 200 with a body that is not a JSON chat completion ({kind}): {snippet!r}"
        )
        super().__init__(self.reason)
        self.raw = body[:RAW_BODY_CHARS]


async def chat_completion(client: openai.AsyncOpenAI, request: dict[str, Any]) -> Any:
    """One chat completion (the client retrying transport errors); ``NotJSONBody`` for a
    200 that is not one. Errors that survive the client's retries are raised as they are."""
    raw = await client.chat.completions.with_raw_response.create(**request)
    content_type = raw.headers.get("content-type")
    try:
        response = raw.parse()
    except ValueError:  # JSONDecodeError: labelled JSON, but it is not
        raise NotJSONBody(raw.http_response.text, content_type) from None
    if not hasattr(response, "choices"):
        # The client hands back the text of a body that is not JSON (an HTML page) instead
        # of raising; a JSON string or list is not an answer either.
        raise NotJSONBody(raw.http_response.text, content_type)
    return response


def parse_retry_after(
    headers: Mapping[str, str] | None, now: datetime | None = None
) -> float | None:
    """Seconds to wait from ``retry-after-ms`` / ``Retry-After`` (delta seconds or HTTP date)."""
    if not headers:
        return None
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(float(millis) / 1000.0, 0.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - (now or datetime.now(UTC))).total_seconds(), 0.0)


def error_message(exc: openai.APIStatusError) -> str:
    """The endpoint's own message for a failed status (``error.message``), else the client's."""
    body = exc.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            return inner["message"]
    return str(exc.message)
