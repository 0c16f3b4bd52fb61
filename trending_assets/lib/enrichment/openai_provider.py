"""The ``openai`` provider: any OpenAI-compatible chat-completions endpoint, through the
official ``openai`` client (OpenAI itself, vLLM, Ollama, LM Studio ...).

One ``asyncio`` run per batch: titles are sent concurrently, at most ``concurrency`` calls
in flight (an ``asyncio.Semaphore`` around each call; the client's own retries of a call
happen inside it, so a rate-limited endpoint gets back-pressure, while our re-asks and the
waits between our retries below happen outside it).

Transport retries are the client's (``openai_client``): ``max_transport_retries`` is its
``max_retries`` and ``request_timeout_s`` its per-request timeout; it retries connection
errors, timeouts, 408/409/429 and 5xx with backoff, honouring ``Retry-After`` /
``retry-after-ms`` up to 120 s. What is left is ours, per title, until it is done:
- a 429, timeout, connection error, 408/409 or 5xx that survives the client's retries (or a
  429 whose ``Retry-After`` is too long for the client to wait): the title is ``failed``,
  with the reason and the number of calls made (it is in the quarantine frame and counted
  in ``RunStats.failed``);
- a 200 whose body is not a JSON chat completion (an HTML page from a proxy, a captive
  portal or a load balancer; JSON that is not an object), which the client does not retry:
  retried here with exponential backoff and jitter (``backoff_base_s * 2**n``, capped at
  ``backoff_max_s``, times a random factor in [1, 1.5)), the same prompt again (the model
  never saw it); after ``max_transport_retries`` the title is ``quarantined`` with the
  reason and the start of the body;
- 400 while using ``json_schema`` and ``structured_output="auto"``: the endpoint does not do
  strict structured output, so the whole run falls back to ``{"type": "json_object"}`` (the
  schema is in the system prompt anyway) and the title is sent again;
- 401/403: the run stops (every further title ``failed``, one clear reason);
- an answer that is not JSON, or not valid against ``Enrichment`` (``structured``):
  re-asked with the error (the bad answer and a correction message appended), at most
  ``max_invalid_retries`` times, then ``quarantined`` with the raw text and the reason.

``TitleResult.attempts`` and ``RunStats.calls`` count HTTP requests, the client's retries
included (``openai_client`` counts them); the 400 that triggers the ``json_object``
fallback is a call but not an attempt of its title.

Budget: before each call the estimated tokens (prompt characters / 4 + the completion
limit) and cost are reserved; a call that would take the run past ``max_total_tokens`` or
``max_cost_usd`` is not made, and from then on every title not yet done is
``skipped_budget`` (in-flight calls finish). Reservations are settled with the real usage,
so the budget is never exceeded (a request that failed, retried by the client, used none).

The API key lives in a ``SecretStr``; it is only handed to the client, and every reason,
raw response and log line passes through ``_redact`` as a second line of defence.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import random
import threading
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from trending_assets.lib.enrichment.cache import CacheKey, EnrichmentCache
from trending_assets.lib.enrichment.openai_client import (
    NotJSONBody,
    RequestTally,
    chat_completion,
    error_message,
    make_client,
    parse_retry_after,
    start_tally,
)
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
from trending_assets.lib.enrichment.schema import SCHEMA_VERSION, Enrichment, EnrichmentInput
from trending_assets.lib.enrichment.structured import (
    Format,
    answer_content,
    response_format,
    validate_answer,
)
from trending_assets.lib.progress import Progress

if TYPE_CHECKING:  # imported where a call is made (openai_client: ~1.7 s to import)
    import openai

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

# Statuses the client retries (besides 429 and timeouts / connection errors): one of these
# reaching us has survived its retries.
_TRANSPORT_STATUS = {408, 409}


class OpenAIConfig(BaseModel):
    model_config = ConfigDict(frozen=True)

    model: str
    base_url: str | None = None  # None: the client's default (api.openai.com)
    api_key: SecretStr = Field(default=SecretStr(""), repr=False)
    provider_name: str = PROVIDER
    prompt_version: str = PROMPT_VERSION
    concurrency: int = Field(default=8, ge=1)
    request_timeout_s: float = Field(default=60.0, gt=0)  # per HTTP request (the client's)
    # The client's max_retries (transport errors), and our bound on non-JSON 200 retries.
    max_transport_retries: int = Field(default=5, ge=0)
    max_invalid_retries: int = Field(default=2, ge=0)  # re-asks after an invalid answer
    # Backoff between our retries of a non-JSON 200 (the client has its own for transport).
    backoff_base_s: float = Field(default=0.5, ge=0)
    backoff_max_s: float = Field(default=30.0, ge=0)
    structured_output: Literal["auto", "json_schema", "json_object"] = "auto"
    temperature: float | None = 0.0
    max_completion_tokens: int = Field(default=400, ge=16)
    token_limit_param: Literal["max_completion_tokens", "max_tokens"] = "max_completion_tokens"
    review_char_budget: int = Field(default=REVIEW_CHAR_BUDGET, ge=200)
    per_review_chars: int = Field(default=PER_REVIEW_CHARS, ge=80)
    max_total_tokens: int | None = Field(default=None, ge=1)
    max_cost_usd: float | None = Field(default=None, gt=0)
    prices: dict[str, tuple[float, float]] = Field(default_factory=lambda: dict(DEFAULT_PRICES))
    seed: int = 0  # jitter of our backoff

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


class _Failed(Exception):
    """The title is ``failed``: ``transport`` when the client gave up retrying, ``abort_run``
    when no further title should be sent (the credentials were refused)."""

    def __init__(self, reason: str, *, transport: bool = False, abort_run: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.transport = transport
        self.abort_run = abort_run


class _SchemaUnsupported(Exception):
    pass


class _Skipped(Exception):
    def __init__(self, reason: str, budget: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.budget = budget


class OpenAIEnricher:
    """Enrich titles through an OpenAI-compatible endpoint. ``run`` is the sync entry point."""

    def __init__(self, config: OpenAIConfig) -> None:
        self.config = config
        self._secret = config.api_key.get_secret_value()
        self._rng = random.Random(config.seed)
        # "auto" starts with json_schema and falls back on the first 400 it gets for it.
        self._format: Format = (
            "json_object" if config.structured_output == "json_object" else "json_schema"
        )

    def __repr__(self) -> str:  # never the key
        return f"OpenAIEnricher(model={self.config.model!r}, base_url={self.config.base_url!r})"

    # -- public -------------------------------------------------------------------------

    def cache_key(self, item: EnrichmentInput) -> CacheKey:
        return CacheKey(
            self.config.provider_name, self.config.model, self.config.prompt_version,
            SCHEMA_VERSION, item.input_hash(),
        )  # fmt: skip

    def run(
        self,
        inputs: Sequence[EnrichmentInput],
        cache: EnrichmentCache | None = None,
        progress: Progress | None = None,
    ) -> EnrichmentRun:
        """Synchronous wrapper (Dagster assets are sync); safe inside a running loop too."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(self.arun(inputs, cache, progress))
        box: dict[str, Any] = {}

        def target() -> None:
            try:
                box["run"] = asyncio.run(self.arun(inputs, cache, progress))
            except BaseException as exc:  # re-raised in the caller's thread
                box["error"] = exc

        thread = threading.Thread(target=target, name="enrichment-run")
        thread.start()
        thread.join()
        if "error" in box:
            raise box["error"]
        return box["run"]

    async def arun(
        self,
        inputs: Sequence[EnrichmentInput],
        cache: EnrichmentCache | None = None,
        progress: Progress | None = None,
    ) -> EnrichmentRun:
        """Enrich ``inputs`` concurrently; ``progress`` hears of every finished title
        (throttled): how many are done, ok and kept out so far."""
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
            self._client = make_client(
                api_key=self._secret,
                base_url=config.base_url,
                max_retries=config.max_transport_retries,
                timeout_s=config.request_timeout_s,
            )
            finished: Counter[str] = Counter()
            if progress is not None:
                progress.total, progress.unit = len(pending), "titles"

            async def one(index: int, key: CacheKey) -> TitleResult:
                result = await self._guarded(inputs[index], key, cache)
                finished[result.status] += 1
                if progress is not None:
                    progress.update(
                        sum(finished.values()), ok=finished["ok"], kept_out=
                        sum(finished.values()) - finished["ok"], calls=self._calls,
                    )  # fmt: skip
                return result

            try:
                done = await asyncio.gather(*(one(index, key) for index, key in pending))
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
        requests = start_tally()  # this title's HTTP requests, the client's retries included
        fallbacks = invalid = not_json = 0
        tokens = [0, 0]
        outcome: _Outcome | None = None
        try:
            while outcome is None:
                try:
                    content, usage = await self._call(messages, requests)
                except _Skipped as skip:
                    status = "skipped_budget" if skip.budget else "failed"
                    outcome = _Outcome(status, reason=skip.reason)
                    break
                except _SchemaUnsupported:
                    fallbacks += 1  # the format switched to json_object: send again, no retry
                    continue
                except NotJSONBody as exc:
                    not_json += 1
                    if not_json > config.max_transport_retries:
                        reason = f"{exc.reason} (gave up after {_calls(requests, fallbacks)})"
                        outcome = _Outcome("quarantined", reason=reason, raw=exc.raw)
                        break
                    delay = self._backoff(not_json)
                    log.debug(
                        "title %s: %s; retry %d in %.2fs",
                        item.title_id, exc.reason, not_json, delay,
                    )  # fmt: skip
                    await asyncio.sleep(delay)
                    continue
                except _Failed as exc:
                    if exc.abort_run and self._abort is None:
                        self._abort = exc.reason
                        log.error("enrichment run stopped: %s", exc.reason)
                    reason = exc.reason
                    if exc.transport:  # what the client's retries did not get past
                        reason += f" (gave up after {_calls(requests, fallbacks)})"
                    outcome = _Outcome("failed", reason=reason)
                    break
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
                        "content": f"That answer was rejected ({reason}). Reply again with "
                        "only the JSON object, valid against the schema.",
                    },
                ]
        finally:
            self._calls += requests.requests
        result = self._result(
            item, key, outcome.status, enrichment=outcome.enrichment, reason=outcome.reason,
            raw=outcome.raw, attempts=requests.requests - fallbacks,
        )  # fmt: skip
        result.prompt_tokens, result.completion_tokens = tokens
        return result

    async def _call(
        self, messages: list[dict[str, str]], requests: RequestTally
    ) -> tuple[str | None, tuple[int, int]]:
        """One call (the client retrying transport errors inside it); the answer's content
        and (prompt, completion) tokens. Raises ``NotJSONBody``, ``_Failed``,
        ``_SchemaUnsupported`` or ``_Skipped``."""
        import openai

        config = self.config
        async with self._sem:
            if self._abort is not None:
                raise _Skipped(f"run stopped: {self._abort}", budget=False)
            estimate = sum(estimate_tokens(m["content"]) + 8 for m in messages)
            reservation = self._budget.reserve(estimate, config.max_completion_tokens)
            if reservation is None:
                raise _Skipped(f"budget: {self._budget.reason}", budget=True)
            fmt = self._format
            usage = (0, 0)
            try:
                response = await chat_completion(self._client, self._request(messages, fmt))
                if requests.last_sent is not None:  # the latency of the request that answered
                    self._latencies.append(time.monotonic() - requests.last_sent)
                content = answer_content(response)
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
                wait = parse_retry_after(exc.response.headers)
                after = f"; Retry-After {wait:g}s" if wait else ""
                raise _Failed(f"HTTP 429 rate limited{after}", transport=True) from None
            except openai.APITimeoutError:
                raise _Failed(
                    f"timeout after {config.request_timeout_s:g}s", transport=True
                ) from None
            except openai.APIConnectionError as exc:
                reason = f"connection error: {self._redact(str(exc))}"
                raise _Failed(reason, transport=True) from None
            except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
                raise _Failed(
                    f"HTTP {exc.status_code}: the endpoint refused the credentials",
                    abort_run=True,
                ) from None
            except openai.BadRequestError as exc:
                if fmt == "json_schema" and config.structured_output == "auto":
                    self._fall_back(exc)
                    raise _SchemaUnsupported from None
                raise _Failed(f"HTTP 400: {self._redact(error_message(exc))}") from None
            except openai.APIStatusError as exc:
                status = exc.status_code
                if status >= 500 or status in _TRANSPORT_STATUS:
                    raise _Failed(f"HTTP {status}", transport=True) from None
                raise _Failed(f"HTTP {status}: {self._redact(error_message(exc))}") from None
            finally:
                self._budget.settle(reservation, *usage)

    def _request(self, messages: list[dict[str, str]], fmt: Format) -> dict[str, Any]:
        config = self.config
        request: dict[str, Any] = {
            "model": config.model,
            "messages": messages,
            "response_format": response_format(fmt),
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
                self._redact(error_message(exc))[:200],
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


def _calls(requests: RequestTally, fallbacks: int) -> str:
    n = requests.requests - fallbacks
    return f"{n} call" if n == 1 else f"{n} calls"


def estimate_tokens(text: str) -> int:
    """Rough token count (4 characters a token), for budgets when no usage is reported."""
    return math.ceil(len(text) / 4)
