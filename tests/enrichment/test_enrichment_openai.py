"""The openai provider against the fake OpenAI-compatible server, through the real client."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from trending_assets.lib.enrichment.cache import EnrichmentCache
from trending_assets.lib.enrichment.openai_client import parse_retry_after
from trending_assets.lib.enrichment.openai_provider import OpenAIConfig, OpenAIEnricher
from trending_assets.lib.enrichment.results import quarantine_frame, results_frame
from trending_assets.lib.enrichment.schema import EnrichmentInput
from trending_assets.lib.enrichment.structured import validate_answer

KEY = "sk-test-SECRET-0123456789"


def item(name: str, review: str = "A warm, funny film with a slow middle.") -> EnrichmentInput:
    return EnrichmentInput(
        title_id=f"id-{name}",
        title=name,
        title_type="movie",
        plot=f"{name} follows a family on a long trip.",
        reviews=[(review, 8), ("Loved the cast; the ending dragged.", 6)],
    )


def config(server, **overrides) -> OpenAIConfig:
    values = dict(
        model="gpt-4o-mini",
        base_url=server.url,
        api_key=KEY,
        concurrency=4,
        request_timeout_s=5.0,
        backoff_base_s=0.01,
        backoff_max_s=0.05,
    )
    values.update(overrides)
    return OpenAIConfig(**values)


def run(server, items, cache=None, **overrides):
    return OpenAIEnricher(config(server, **overrides)).run(items, cache)


def test_valid_outputs_are_parsed_validated_and_stored(fake_server):
    items = [item(n) for n in ("Alpha", "Beta", "Gamma")]
    cache = EnrichmentCache()
    result = run(fake_server, items, cache)

    assert [r.status for r in result.results] == ["ok"] * 3
    first = result.results[0].enrichment
    assert first.genres == ["drama", "comedy"]
    assert first.vibe_tags == ["heartwarming", "witty", "slow burn"]  # normalised
    assert len(cache) == 3
    frame = results_frame(result.results)
    assert list(frame["title_id"]) == ["id-Alpha", "id-Beta", "id-Gamma"]
    assert set(frame["prompt_version"]) == {"v1"} and set(frame["provider"]) == {"openai"}
    stats = result.stats
    assert (stats.ok, stats.calls, stats.quarantined, stats.retried) == (3, 3, 0, 0)
    assert stats.prompt_tokens > 0 and stats.completion_tokens > 0
    assert stats.estimated_cost_usd > 0 and stats.latency_p50_ms is not None
    # Strict structured output was asked for, with the schema.
    body = fake_server.calls()[0].body
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["strict"] is True
    assert body["response_format"]["json_schema"]["schema"]["additionalProperties"] is False


def test_concurrency_is_bounded(fake_server):
    fake_server.latency = 0.15
    result = run(fake_server, [item(f"T{i}") for i in range(10)], concurrency=3)
    assert result.stats.ok == 10
    assert fake_server.max_in_flight == 3


def test_429_waits_at_least_retry_after(fake_server, fake):
    fake_server.script("Slowpoke", fake.rate_limited(1))
    result = run(fake_server, [item("Slowpoke")])
    calls = fake_server.calls("Slowpoke")
    assert [c.action for c in calls] == ["429", "ok"]
    assert calls[1].at - calls[0].at >= 1.0
    assert result.results[0].status == "ok" and result.results[0].retried
    assert result.stats.retried == 1


def test_retry_after_parsing():
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after({"retry-after": "3"}) == 3.0
    assert parse_retry_after({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5
    date = format_datetime(now + timedelta(seconds=7), usegmt=True)
    assert parse_retry_after({"retry-after": date}, now=now) == pytest.approx(7.0)
    assert parse_retry_after({"retry-after": "garbage"}) is None
    assert parse_retry_after({}) is None


def test_5xx_are_retried(fake_server, fake):
    fake_server.script("Flaky", fake.server_error(500), fake.server_error(503))
    result = run(fake_server, [item("Flaky"), item("Steady")])
    flaky = result.by_title()["id-Flaky"]
    assert flaky.status == "ok" and flaky.attempts == 3
    assert [c.action for c in fake_server.calls("Flaky")] == ["5xx", "5xx", "ok"]
    assert result.stats.retried == 1


def test_a_timed_out_request_is_retried(fake_server, fake):
    # The scripted stall (4 s) is far past the timeout (1 s), and the timeout is far past what
    # an ordinary answer takes even on a loaded CI machine, so only the stalled call times out.
    fake_server.script("Sleepy", fake.slow(4.0))
    result = run(fake_server, [item("Sleepy")], request_timeout_s=1.0)
    sleepy = result.results[0]
    assert sleepy.status == "ok" and sleepy.attempts == 2
    assert result.stats.retried == 1


def test_transport_failures_give_up_and_are_kept(fake_server, fake):
    fake_server.script("Down", *[fake.server_error(502)] * 3)
    result = run(fake_server, [item("Down"), item("Up")], max_transport_retries=2)
    down = result.by_title()["id-Down"]
    assert down.status == "failed" and down.attempts == 3 and "HTTP 502" in down.reason
    quarantine = quarantine_frame(result.results)
    assert list(quarantine["title_id"]) == ["id-Down"]
    assert result.stats.ok == 1 and result.stats.failed == 1


def test_an_html_page_with_200_is_retried_like_a_transport_error(fake_server, fake):
    """A proxy answering 200 with its HTML page: retried (a later call may reach the model),
    not re-asked (the model never saw the prompt) and not an unexpected error."""
    fake_server.script("Gateway", fake.not_json(), fake.not_json("application/json"))
    result = run(fake_server, [item("Gateway")], max_transport_retries=3)
    gateway = result.results[0]
    assert gateway.status == "ok" and gateway.attempts == 3 and gateway.retried
    calls = fake_server.calls("Gateway")
    assert [c.action for c in calls] == ["not_json", "not_json", "ok"]
    # The same prompt each time: no "that answer was rejected" correction appended.
    assert all(c.body["messages"] == calls[0].body["messages"] for c in calls)


@pytest.mark.parametrize(
    "content_type", ["text/html; charset=utf-8", "application/json", "text/plain", None]
)
def test_non_json_200s_are_quarantined_after_bounded_retries(fake_server, fake, content_type):
    body = fake.HTML_PAGE if content_type != "text/plain" else "upstream says hello"
    page = fake.not_json(content_type or "", body)
    fake_server.script("Portal", *[page] * 10)
    result = run(fake_server, [item("Portal"), item("Fine")], max_transport_retries=2)
    portal = result.by_title()["id-Portal"]
    assert portal.status == "quarantined" and portal.attempts == 3
    assert len(fake_server.calls("Portal")) == 3  # bounded: 1 call + 2 retries
    assert "not a JSON chat completion" in portal.reason
    assert "gave up after 3 calls" in portal.reason
    assert portal.raw_response == body  # what the endpoint sent, kept for the quarantine
    row = quarantine_frame(result.results).iloc[0]
    assert row["title_id"] == "id-Portal" and row["raw_response"] == body
    assert result.stats.quarantined == 1 and result.stats.ok == 1 and result.stats.failed == 0


def test_invalid_output_is_reasked_then_recovers(fake_server, fake):
    fake_server.script("Fixable", fake.broken_json())
    result = run(fake_server, [item("Fixable")])
    assert result.results[0].status == "ok" and result.results[0].attempts == 2
    reask = fake_server.calls("Fixable")[1].body["messages"]
    assert [m["role"] for m in reask] == ["system", "user", "assistant", "user"]
    assert "rejected" in reask[-1]["content"]


@pytest.mark.parametrize(
    ("actions", "reason_start"),
    [(("broken_json",) * 3, "invalid JSON"), (("schema_invalid",) * 3, "schema-invalid")],
)
def test_garbage_is_quarantined_with_raw_text(fake_server, fake, actions, reason_start):
    fake_server.script("Garbage", *[getattr(fake, a)() for a in actions])
    result = run(fake_server, [item("Garbage"), item("Fine")], max_invalid_retries=2)
    garbage = result.by_title()["id-Garbage"]
    assert garbage.status == "quarantined" and garbage.attempts == 3
    assert garbage.reason.startswith(reason_start)
    assert garbage.raw_response  # the last answer, verbatim (see the test below)
    row = quarantine_frame(result.results).iloc[0]
    assert row["status"] == "quarantined" and row["raw_response"] == garbage.raw_response
    assert result.stats.quarantined == 1 and result.stats.ok == 1


def test_quarantined_raw_text_is_what_the_server_sent(fake_server, fake):
    fake_server.script("Broken", fake.broken_json())
    result = run(fake_server, [item("Broken")], max_invalid_retries=0)
    assert result.results[0].raw_response == '{"genres": ["drama"], "summary": "cut off'


def test_json_schema_rejection_falls_back_to_json_object(fake):
    with fake.FakeOpenAI(api_key=KEY, reject_json_schema=True) as server:
        result = run(server, [item("Old"), item("School")], concurrency=1)
        formats = [c.response_format for c in server.calls()]
    assert result.stats.ok == 2 and result.stats.structured_output == "json_object"
    assert formats == ["json_schema", "json_object", "json_object"]
    with fake.FakeOpenAI(api_key=KEY, reject_json_schema=True) as server:
        strict = run(server, [item("Old")], structured_output="json_schema")
    assert strict.results[0].status == "failed" and "HTTP 400" in strict.results[0].reason


def test_token_budget_stops_cleanly(fake_server):
    items = [item(f"Budget{i}") for i in range(6)]
    probe = run(fake_server, items[:1], max_completion_tokens=50).stats
    per_call = probe.prompt_tokens + probe.completion_tokens
    budget = int(per_call * 2.6) + 60
    calls_before = fake_server.call_count
    result = run(
        fake_server, items, max_total_tokens=budget, max_completion_tokens=50, concurrency=1
    )
    stats = result.stats
    assert stats.ok >= 1 and stats.skipped_budget >= 1
    assert stats.ok + stats.skipped_budget == 6 and stats.failed == stats.quarantined == 0
    assert stats.budget_exhausted and "budget" in stats.stop_reason
    assert stats.prompt_tokens + stats.completion_tokens <= budget
    assert fake_server.call_count - calls_before == stats.ok == stats.calls
    skipped = [r for r in result.results if r.status == "skipped_budget"]
    assert all(r.reason.startswith("budget") for r in skipped)
    assert quarantine_frame(result.results).empty  # skipped is not failed


def test_cost_budget_stops_before_the_first_call(fake_server):
    result = run(fake_server, [item("Pricey"), item("Costly")], max_cost_usd=1e-9)
    assert result.stats.skipped_budget == 2 and result.stats.calls == 0
    assert fake_server.call_count == 0


def test_cache_makes_second_run_call_free_and_prompt_change_recalls(fake_server, tmp_path):
    items = [item(n) for n in ("One", "Two", "Three")]
    cache = EnrichmentCache()
    run(fake_server, items, cache)
    assert fake_server.call_count == 3

    cache.save(tmp_path / "cache.parquet")
    reloaded = EnrichmentCache.load(tmp_path / "cache.parquet")
    again = run(fake_server, items, reloaded)
    assert fake_server.call_count == 3  # no call at all
    assert again.stats.cached == 3 and again.stats.calls == 0 and again.stats.ok == 3
    assert all(r.cached for r in again.results)

    changed = [items[0], item("Two", review="Changed my mind: dull."), items[2]]
    partial = run(fake_server, changed, reloaded)
    assert fake_server.call_count == 4 and partial.stats.cached == 2

    v2 = run(fake_server, items, reloaded, prompt_version="v2")
    assert fake_server.call_count == 7 and v2.stats.cached == 0
    assert set(results_frame(v2.results)["prompt_version"]) == {"v2"}
    assert "careful film critic" in fake_server.calls()[-1].body["messages"][0]["content"]


def test_api_key_never_leaks(fake_server, fake, caplog):
    caplog.set_level(logging.DEBUG)
    fake_server.script("Loud", fake.rate_limited(0), fake.server_error(500))
    fake_server.script("Junk", *[fake.broken_json()] * 3)
    cfg = config(fake_server, max_invalid_retries=2)
    enricher = OpenAIEnricher(cfg)
    result = enricher.run([item("Loud"), item("Junk"), item("Calm")])
    assert result.stats.ok == 2 and result.stats.quarantined == 1
    # The key did reach the server (the auth header), and nowhere else.
    assert fake_server.calls()[0].headers["authorization"] == f"Bearer {KEY}"
    exposed = [
        caplog.text,
        repr(cfg), str(cfg), cfg.model_dump_json(), repr(enricher),
        repr(result.results), repr(result.stats), json.dumps(result.stats.as_metadata()),
        results_frame(result.results).to_json(), quarantine_frame(result.results).to_json(),
    ]  # fmt: skip
    assert caplog.records, "expected some logging to inspect"
    for text in exposed:
        assert KEY not in text


def test_wrong_key_stops_the_run_without_leaking(fake_server, caplog):
    caplog.set_level(logging.DEBUG)
    wrong = "sk-wrong-key-9876543210"
    items = [item(f"Auth{i}") for i in range(8)]
    result = run(fake_server, items, api_key=wrong, concurrency=2)
    assert result.stats.failed == 8 and result.stats.ok == 0
    assert fake_server.call_count <= 2  # the first refusals stop the rest
    assert "credentials" in result.stats.stop_reason
    for text in (caplog.text, repr(result.results), repr(result.stats)):
        assert wrong not in text


def test_validate_answer_accepts_fenced_json_and_rejects_bad_fields():
    good = {"genres": ["Science Fiction"], "summary": "Fun.", "vibe_score": 8.0,
            "vibe_tags": ["Fun", "fun", "Dark", "Epic!"]}  # fmt: skip
    enrichment, reason = validate_answer(f"```json\n{json.dumps(good)}\n```")
    assert reason is None
    assert enrichment.genres == ["science_fiction"] and enrichment.vibe_score == 8
    assert enrichment.vibe_tags == ["fun", "dark", "epic"]
    assert validate_answer("[1, 2]")[1].startswith("invalid JSON")
    assert validate_answer("")[1] == "empty answer"
    too_long = dict(good, summary="word " * 200)
    assert "summary" in validate_answer(json.dumps(too_long))[1]


def test_sync_run_works_inside_a_running_event_loop(fake_server):
    import asyncio

    async def inside():
        return OpenAIEnricher(config(fake_server)).run([item("Looped")])

    assert asyncio.run(inside()).stats.ok == 1  # returns: no deadlock on the running loop
