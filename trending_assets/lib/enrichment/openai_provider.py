"""The ``openai`` provider: any OpenAI-compatible chat-completions endpoint, through the
official ``openai`` client (OpenAI itself, vLLM, Ollama, LM Studio ...).

One ``asyncio`` run per batch: titles are sent concurrently, at most ``concurrency`` calls
in flight (an ``asyncio.Semaphore`` around each HTTP call; waits between retries happen
outside it). The client's own retries are off (``max_retries=0``): this module owns them.

Per title, until it is done:
- 429: wait ``Retry-After`` (seconds or HTTP date; ``retry-after-ms`` too), else backoff;
- timeouts, connection errors, 408/409 and 5xx: exponential backoff with jitter
  (``backoff_base_s * 2**n``, capped, times a random factor in [1, 1.5));
  after ``max_transport_retries`` the title is ``failed``;
- a 200 whose body is not a JSON chat completion (an HTML page from a proxy, a captive
  portal or a load balancer; JSON that is not an object): retried the same way, as a
  transport error; after ``max_transport_retries`` the title is ``quarantined`` with the
  reason and the start of the body;
- 400 while using ``json_schema`` and ``structured_output="auto"``: the endpoint does not do
  strict structured output, so the whole run falls back to ``{"type": "json_object"}`` (the
  schema is in the system prompt anyway) and the title is sent again;
- 401/403: the run stops (every further title ``failed``, one clear reason);
- an answer that is not JSON, or not valid against ``Enrichment``: re-asked with the error
  (the bad answer and a correction message appended), at most ``max_invalid_retries`` times,
  then ``quarantined`` with the raw text and the reason.

Budget: before each call the estimated tokens (prompt characters / 4 + the completion
limit) and cost are reserved; a call that would take the run past ``max_total_tokens`` or
``max_cost_usd`` is not made, and from then on every title not yet done is
``skipped_budget`` (in-flight calls finish). Reservations are settled with the real usage,
so the budget is never exceeded.

The API key lives in a ``SecretStr``; it is only handed to the client, and every reason,
raw response and log line passes through ``_redact`` as a second line of defence.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import random
import re
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Literal

import openai
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from trending_assets.lib.enrichment.cache import CacheKey, EnrichmentCache
from trending_assets.lib.enrichment.prompts import (
    PER_REVIEW_CHARS,
    PROMPT_VERSION,
    REVIEW_CHAR_BUDGET,
    render,
)
from trending_assets.lib.enrichment.results import (
    EnrichmentRun,
    RunStats,
    TitleResult,
    percentiles_ms,
    tally,
)
from trending_assets.lib.enrichment.schema import (
    SCHEMA_VERSION,
    Enrichment,
    EnrichmentInput,
    enrichment_json_schema,
)

log = logging.getLogger(__name__)

PROVIDER = "openai"

# USD per 1M tokens (input, output); list prices as published in 2025. Override per run
# with OpenAIConfig.prices; a model not listed (self-hosted) is counted at 0.
DEFAULT_PRICES: dict[str, tuple[float, float]] = {
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.00),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1": (2.00, 8.00),
}

_RETRYABLE_STATUS = {408, 409}
RAW_BODY_CHARS = 2000  # how much of a non-JSON body is kept with a quarantined title
_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.DOTALL)


class OpenAIConfig(BaseModel):
    model_config = ConfigDict(frozen=True)

    model: str
    base_url: str | None = None  # None: the client's default (api.openai.com)
    api_key: SecretStr = Field(default=SecretStr(""), repr=False)
    provider_name: str = PROVIDER
    prompt_version: str = PROMPT_VERSION
    concurrency: int = Field(default=8, ge=1)
    request_timeout_s: float = Field(default=60.0, gt=0)
    max_transport_retries: int = Field(default=5, ge=0)
    max_invalid_retries: int = Field(default=2, ge=0)
    backoff_base_s: float = Field(default=0.5, ge=0)
    backoff_max_s: float = Field(default=30.0, ge=0)
    retry_after_max_s: float = Field(default=120.0, ge=0)
    structured_output: Literal["auto", "json_schema", "json_object"] = "auto"
    temperature: float | None = 0.0
    max_completion_tokens: int = Field(default=400, ge=16)
    token_limit_param: Literal["max_completion_tokens", "max_tokens"] = "max_completion_tokens"
    review_char_budget: int = Field(default=REVIEW_CHAR_BUDGET, ge=200)
    per_review_chars: int = Field(default=PER_REVIEW_CHARS, ge=80)
    max_total_tokens: int | None = Field(default=None, ge=1)
    max_cost_usd: float | None = Field(default=None, gt=0)
    prices: dict[str, tuple[float, float]] = Field(default_factory=lambda: dict(DEFAULT_PRICES))
    seed: int = 0  # jitter

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> OpenAIConfig:
        """``TRENDING_LLM_MODEL``, ``TRENDING_LLM_BASE_URL`` and ``OPENAI_API_KEY``."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {
            "model": env.get("TRENDING_LLM_MODEL", "gpt-4o-mini"),
            "base_url": env.get("TRENDING_LLM_BASE_URL") or None,
            "api_key": SecretStr(env.get("OPENAI_API_KEY", "")),
        }
        values.update(overrides)
        return cls(**values)

    def price(self) -> tuple[float, float]:
        """(input, output) USD per 1M tokens: exact name, else the longest listed prefix."""
        if self.model in self.prices:
            return self.prices[self.model]
        prefixes = [name for name in self.prices if self.model.startswith(name)]
        return self.prices[max(prefixes, key=len)] if prefixes else (0.0, 0.0)


class _Budget:
    """Tokens and cost spent plus reserved for calls in flight; refuses what would overrun."""

    def __init__(self, config: OpenAIConfig) -> None:
        self.max_tokens = config.max_total_tokens
        self.max_cost = config.max_cost_usd
        self.price_in, self.price_out = config.price()
        self.spent_tokens = 0
        self.spent_cost = 0.0
        self.reserved_tokens = 0
        self.reserved_cost = 0.0
        self.exhausted = False
        self.reason: str | None = None

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (prompt_tokens * self.price_in + completion_tokens * self.price_out) / 1e6

    def reserve(self, prompt_tokens: int, completion_tokens: int) -> tuple[int, float] | None:
        if self.exhausted:
            return None
        tokens = prompt_tokens + completion_tokens
        cost = self.cost(prompt_tokens, completion_tokens)
        if self.max_tokens is not None and (
            self.spent_tokens + self.reserved_tokens + tokens > self.max_tokens
        ):
            self._stop(f"token budget of {self.max_tokens} reached ({self.spent_tokens} spent)")
            return None
        if self.max_cost is not None and (
            self.spent_cost + self.reserved_cost + cost > self.max_cost
        ):
            self._stop(f"cost budget of ${self.max_cost:g} reached (${self.spent_cost:.6f} spent)")
            return None
        self.reserved_tokens += tokens
        self.reserved_cost += cost
        return tokens, cost

    def settle(self, reservation: tuple[int, float], prompt_tokens: int, completion_tokens: int):
        self.reserved_tokens -= reservation[0]
        self.reserved_cost -= reservation[1]
        self.spent_tokens += prompt_tokens + completion_tokens
        self.spent_cost += self.cost(prompt_tokens, completion_tokens)

    def _stop(self, reason: str) -> None:
        if not self.exhausted:
            self.exhausted = True
            self.reason = reason
            log.info("enrichment budget: %s; remaining titles are skipped", reason)


@dataclass
class _Outcome:
    """What one title's loop ended with."""

    status: str
    enrichment: Enrichment | None = None
    reason: str | None = None
    raw: str | None = None


class _Transient(Exception):
    """A failed call worth retrying after ``delay`` seconds (None: use backoff)."""

    def __init__(self, reason: str, delay: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.delay = delay


class _NotJSON(_Transient):
    """A 200 whose body is not a JSON chat completion: retried like a transport error,
    then quarantined with the body (a retry may reach a healthy upstream)."""

    def __init__(self, body: str, content_type: str | None) -> None:
        snippet = " ".join(body.split())[:80]
        kind = content_type or "no content type"
        super().__init__(f"HTTP 200 with a body that is not a JSON chat completion ({kind}): "
                         f"{snippet!r}")  # fmt: skip
        self.raw = body[:RAW_BODY_CHARS]


class _Fatal(Exception):
    def __init__(self, reason: str, abort_run: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.abort_run = abort_run


class _SchemaUnsupported(Exception):
    pass


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


def extract_json(content: str) -> Any:
    """``json.loads`` of the answer, tolerating a Markdown code fence around it."""
    fenced = _FENCE.match(content)
    return json.loads(fenced.group(1) if fenced else content)


def validate_answer(content: str | None) -> tuple[Enrichment | None, str | None]:
    """(enrichment, None) for a valid answer, (None, reason) otherwise."""
    if content is None or not content.strip():
        return None, "empty answer"
    try:
        data = extract_json(content)
    except json.JSONDecodeError as exc:
        return None, f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
    if not isinstance(data, dict):
        return None, f"invalid JSON: expected an object, got {type(data).__name__}"
    try:
        return Enrichment.model_validate(data), None
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'answer'}: {err['msg']}"
            for err in exc.errors(include_url=False)[:5]
        )
        return None, f"schema-invalid: {problems}"


class OpenAIEnricher:
    """Enrich titles through an OpenAI-compatible endpoint. ``run`` is the sync entry point."""

    def __init__(self, config: OpenAIConfig) -> None:
        self.config = config
        self._secret = config.api_key.get_secret_value()
        self._rng = random.Random(config.seed)
        # "auto" starts with json_schema and falls back on the first 400 it gets for it.
        self._format = "json_object" if config.structured_output == "json_object" else "json_schema"

    def __repr__(self) -> str:  # never the key
        return f"OpenAIEnricher(model={self.config.model!r}, base_url={self.config.base_url!r})"

    # -- public -------------------------------------------------------------------------

    def cache_key(self, item: EnrichmentInput) -> CacheKey:
        return CacheKey(
            self.config.provider_name, self.config.model, self.config.prompt_version,
            SCHEMA_VERSION, item.input_hash(),
        )  # fmt: skip

    def run(
        self, inputs: Sequence[EnrichmentInput], cache: EnrichmentCache | None = None
    ) -> EnrichmentRun:
        """Synchronous wrapper (Dagster assets are sync); safe inside a running loop too."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(self.arun(inputs, cache))
        box: dict[str, Any] = {}

        def target() -> None:
            try:
                box["run"] = asyncio.run(self.arun(inputs, cache))
            except BaseException as exc:  # re-raised in the caller's thread
                box["error"] = exc

        thread = threading.Thread(target=target, name="enrichment-run")
        thread.start()
        thread.join()
        if "error" in box:
            raise box["error"]
        return box["run"]

    async def arun(
        self, inputs: Sequence[EnrichmentInput], cache: EnrichmentCache | None = None
    ) -> EnrichmentRun:
        started = time.monotonic()
        config = self.config
        self._budget = _Budget(config)
        self._sem = asyncio.Semaphore(config.concurrency)
        self._abort: str | None = None
        self._latencies: list[float] = []
        self._calls = 0
        self._tokens = [0, 0]

        results: list[TitleResult | None] = [None] * len(inputs)
        pending: list[tuple[int, CacheKey]] = []
        for index, item in enumerate(inputs):
            key = self.cache_key(item)
            hit = cache.get(key) if cache is not None else None
            if hit is not None:
                results[index] = self._result(item, key, "ok", enrichment=hit, cached=True)
            else:
                pending.append((index, key))
        log.info(
            "enrichment run: %d titles, %d cached, model=%s, prompt=%s, concurrency=%d",
            len(inputs), len(inputs) - len(pending), config.model, config.prompt_version,
            config.concurrency,
        )  # fmt: skip

        if pending:
            self._client = openai.AsyncOpenAI(
                api_key=self._secret or "not-needed",  # local servers often need none
                base_url=config.base_url,
                max_retries=0,
                timeout=config.request_timeout_s,
            )
            try:
                done = await asyncio.gather(
                    *(self._guarded(inputs[index], key, cache) for index, key in pending)
                )
            finally:
                await self._client.close()
            for (index, _), result in zip(pending, done, strict=True):
                results[index] = result

        final = [r for r in results if r is not None]
        stats = tally(self._stats(), final)
        stats.wall_seconds = time.monotonic() - started
        log.info(
            "enrichment run done: ok=%d cached=%d retried=%d quarantined=%d failed=%d "
            "skipped_budget=%d calls=%d tokens=%d cost=$%.6f",
            stats.ok, stats.cached, stats.retried, stats.quarantined, stats.failed,
            stats.skipped_budget, stats.calls, stats.prompt_tokens + stats.completion_tokens,
            stats.estimated_cost_usd,
        )  # fmt: skip
        return EnrichmentRun(final, stats)

    # -- one title --------------------------------------------------------------------

    async def _guarded(
        self, item: EnrichmentInput, key: CacheKey, cache: EnrichmentCache | None
    ) -> TitleResult:
        """``_enrich``, with an unexpected error kept as that title's failure (never the
        whole batch's), and an ok result cached as soon as it is there."""
        try:
            result = await self._enrich(item, key)
        except Exception as exc:  # noqa: BLE001 - recorded, not swallowed
            log.exception("title %s: unexpected error", item.title_id)
            reason = f"unexpected {type(exc).__name__}: {exc}"
            return self._result(item, key, "failed", reason=reason)
        if cache is not None and result.status == "ok" and result.enrichment is not None:
            cache.put(key, result.title_id, result.enrichment)
        return result

    async def _enrich(self, item: EnrichmentInput, key: CacheKey) -> TitleResult:
        config = self.config
        prompt = render(
            item,
            config.prompt_version,
            review_char_budget=config.review_char_budget,
            per_review_chars=config.per_review_chars,
        )
        base_messages = prompt.messages()
        messages = list(base_messages)
        attempts = invalid = transport = 0
        tokens = [0, 0]
        outcome: _Outcome | None = None
        while outcome is None:
            try:
                content, usage = await self._call(messages, item.title_id)
            except _Skipped as skip:
                outcome = _Outcome(
                    "skipped_budget" if skip.budget else "failed", reason=skip.reason
                )
                break
            except _SchemaUnsupported:
                continue  # the format switched to json_object: send again, not a retry
            except _Transient as exc:
                attempts += 1
                transport += 1
                if transport > config.max_transport_retries:
                    reason = f"{exc.reason} (gave up after {attempts} calls)"
                    if isinstance(exc, _NotJSON):
                        outcome = _Outcome("quarantined", reason=reason, raw=exc.raw)
                    else:
                        outcome = _Outcome("failed", reason=reason)
                    break
                delay = exc.delay if exc.delay is not None else self._backoff(transport)
                log.debug(
                    "title %s: %s; retry %d in %.2fs", item.title_id, exc.reason, transport, delay
                )
                await asyncio.sleep(delay)
                continue
            except _Fatal as exc:
                attempts += 1
                if exc.abort_run and self._abort is None:
                    self._abort = exc.reason
                    log.error("enrichment run stopped: %s", exc.reason)
                outcome = _Outcome("failed", reason=exc.reason)
                break
            attempts += 1
            tokens[0] += usage[0]
            tokens[1] += usage[1]
            enrichment, reason = validate_answer(content)
            if enrichment is not None:
                outcome = _Outcome("ok", enrichment=enrichment)
                break
            invalid += 1
            log.debug("title %s: answer rejected (%s)", item.title_id, self._redact(reason))
            if invalid > config.max_invalid_retries:
                outcome = _Outcome("quarantined", reason=reason, raw=content)
                break
            messages = [
                *base_messages,
                {"role": "assistant", "content": (content or "")[:2000]},
                {
                    "role": "user",
                    "content": f"That answer was rejected ({reason}). Reply again with only "
                    "the JSON object, valid against the schema.",
                },
            ]
        result = self._result(
            item, key, outcome.status, enrichment=outcome.enrichment, reason=outcome.reason,
            raw=outcome.raw, attempts=attempts,
        )  # fmt: skip
        result.prompt_tokens, result.completion_tokens = tokens
        return result

    async def _call(
        self, messages: list[dict[str, str]], title_id: str
    ) -> tuple[str | None, tuple[int, int]]:
        """One HTTP call; the answer's content and (prompt, completion) tokens."""
        config = self.config
        async with self._sem:
            if self._abort is not None:
                raise _Skipped(f"run stopped: {self._abort}", budget=False)
            estimate = sum(estimate_tokens(m["content"]) + 8 for m in messages)
            reservation = self._budget.reserve(estimate, config.max_completion_tokens)
            if reservation is None:
                raise _Skipped(f"budget: {self._budget.reason}", budget=True)
            fmt = self._format
            started = time.monotonic()
            self._calls += 1
            usage = (0, 0)
            try:
                raw = await self._client.chat.completions.with_raw_response.create(
                    **self._request(messages, fmt)
                )
                self._latencies.append(time.monotonic() - started)
                content_type = raw.headers.get("content-type")
                try:
                    response = raw.parse()
                except ValueError:  # JSONDecodeError: labelled JSON, but it is not
                    raise _NotJSON(raw.http_response.text, content_type) from None
                if not hasattr(response, "choices"):
                    # The client hands back the text of a body that is not JSON (an HTML
                    # page) instead of raising; a JSON string or list is not an answer either.
                    raise _NotJSON(raw.http_response.text, content_type)
                content = _content(response)
                if response.usage is not None:
                    usage = (
                        response.usage.prompt_tokens or 0,
                        response.usage.completion_tokens or 0,
                    )
                else:  # some local servers report no usage: count the estimate
                    usage = (estimate, estimate_tokens(content or ""))
                self._tokens[0] += usage[0]
                self._tokens[1] += usage[1]
                return content, usage
            except openai.RateLimitError as exc:
                delay = parse_retry_after(exc.response.headers)
                if delay is not None:
                    delay = min(delay, config.retry_after_max_s) + self._rng.uniform(0, 0.05)
                raise _Transient("HTTP 429 rate limited", delay) from None
            except openai.APITimeoutError:
                raise _Transient(f"timeout after {config.request_timeout_s:g}s") from None
            except openai.APIConnectionError as exc:
                raise _Transient(f"connection error: {self._redact(str(exc))}") from None
            except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
                raise _Fatal(
                    f"HTTP {exc.status_code}: the endpoint refused the credentials", True
                ) from None
            except openai.BadRequestError as exc:
                if fmt == "json_schema" and config.structured_output == "auto":
                    self._fall_back(exc)
                    raise _SchemaUnsupported from None
                raise _Fatal(f"HTTP 400: {self._redact(_message(exc))}") from None
            except openai.APIStatusError as exc:
                status = exc.status_code
                if status >= 500 or status in _RETRYABLE_STATUS:
                    raise _Transient(
                        f"HTTP {status}", parse_retry_after(exc.response.headers)
                    ) from None
                raise _Fatal(f"HTTP {status}: {self._redact(_message(exc))}") from None
            finally:
                self._budget.settle(reservation, *usage)

    def _request(self, messages: list[dict[str, str]], fmt: str) -> dict[str, Any]:
        config = self.config
        if fmt == "json_schema":
            response_format: dict[str, Any] = {
                "type": "json_schema",
                "json_schema": {
                    "name": "title_enrichment",
                    "schema": enrichment_json_schema(),
                    "strict": True,
                },
            }
        else:
            response_format = {"type": "json_object"}
        request: dict[str, Any] = {
            "model": config.model,
            "messages": messages,
            "response_format": response_format,
            config.token_limit_param: config.max_completion_tokens,
        }
        if config.temperature is not None:
            request["temperature"] = config.temperature
        return request

    def _fall_back(self, exc: openai.BadRequestError) -> None:
        if self._format == "json_schema":
            self._format = "json_object"
            log.warning(
                "endpoint rejected json_schema response_format (%s); using json_object",
                self._redact(_message(exc))[:200],
            )

    def _backoff(self, failures: int) -> float:
        base = min(self.config.backoff_max_s, self.config.backoff_base_s * 2 ** (failures - 1))
        return base * self._rng.uniform(1.0, 1.5)

    def _redact(self, text: str | None) -> str:
        if not text:
            return text or ""
        return text.replace(self._secret, "[redacted]") if len(self._secret) >= 4 else text

    def _result(
        self, item: EnrichmentInput, key: CacheKey, status: str, *, enrichment: Enrichment | None = None,
        cached: bool = False, reason: str | None = None, raw: str | None = None, attempts: int = 0,
    ) -> TitleResult:  # fmt: skip
        return TitleResult(
            title_id=item.title_id,
            status=status,  # type: ignore[arg-type]
            provider=key.provider,
            model=key.model,
            prompt_version=key.prompt_version,
            schema_version=key.schema_version,
            input_hash=key.input_hash,
            enrichment=enrichment,
            cached=cached,
            attempts=attempts,
            retried=attempts > 1,
            reason=self._redact(reason) if reason else None,
            raw_response=self._redact(raw) if raw is not None else None,
        )

    def _stats(self) -> RunStats:
        config = self.config
        stats = RunStats(
            provider=config.provider_name,
            model=config.model,
            prompt_version=config.prompt_version,
            schema_version=SCHEMA_VERSION,
            calls=self._calls,
            estimated_cost_usd=self._budget.spent_cost,
            budget_exhausted=self._budget.exhausted,
            stop_reason=self._abort or self._budget.reason,
            structured_output=self._format,
            **percentiles_ms(self._latencies),
        )
        stats.prompt_tokens, stats.completion_tokens = self._tokens
        return stats


class _Skipped(Exception):
    def __init__(self, reason: str, budget: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.budget = budget


def _content(response: Any) -> str | None:
    """The answer's text; a refusal is kept (marked) so it reaches the quarantine."""
    if not response.choices:
        return None
    message = response.choices[0].message
    if message.content:
        return message.content
    refusal = getattr(message, "refusal", None)
    return f"[refusal] {refusal}" if refusal else None


def _message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            return inner["message"]
    return str(exc.message)


def estimate_tokens(text: str) -> int:
    """Rough token count (4 characters a token), for budgets when no usage is reported."""
    return math.ceil(len(text) / 4)
