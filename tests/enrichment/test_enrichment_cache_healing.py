"""The LLM cache keeps every paid answer and heals: real kills, real corrupted files.

- A real process enriching against the loopback OpenAI-compatible fake server is killed
  with SIGKILL (and, separately, SIGTERM) late in its run, while the server holds its last
  requests (so the kill lands mid-run however busy the machine is): every answer it had
  received is in the cache, and the next run asks only for the rest.
- Corrupt snapshots, rows and journal lines on disk: the bad part is dropped (or the file
  moved aside), named in a warning, and those titles are asked again; nothing corrupt is
  served from the cache.
"""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from trending_assets.lib.enrichment.cache import (
    JOURNAL_SUFFIX,
    CacheKey,
    EnrichmentCache,
    open_cache,
)
from trending_assets.lib.enrichment.openai_provider import OpenAIConfig, OpenAIEnricher
from trending_assets.lib.enrichment.schema import SCHEMA_VERSION, Enrichment, EnrichmentInput
from trending_assets.lib.lake import LocalLake

# The fake server's module, as the conftest loaded it.
fake_openai = sys.modules["enrichment_fake_openai"]
REPO = Path(__file__).resolve().parents[2]
KEY = "sk-test-SECRET-0123456789"
CACHE_KEY = "enrichment/cache.parquet"
TITLES = 40


class TimedFake(fake_openai.FakeOpenAI):
    """The fake server, also recording when each answer was fully sent, and for which title.

    With ``hold_after=N`` it answers N requests, then holds every later one unanswered until
    ``release`` is set: a run killed then is mid-way whatever the machine's speed."""

    def __init__(self, *, hold_after: int | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.answered: list[tuple[float, str | None]] = []
        self.hold_after = hold_after
        self.release = threading.Event()
        self._started = 0
        self._current = threading.local()

    def _next_action(self, title):
        self._current.title = title
        with self._lock:
            self._started += 1
            held = self.hold_after is not None and self._started > self.hold_after
        if held:
            self.release.wait(timeout=120)
        return super()._next_action(title)

    def _leave(self) -> None:
        super()._leave()
        with self._lock:
            self.answered.append((time.monotonic(), getattr(self._current, "title", None)))

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        super().__exit__(*exc)


def items(n: int = TITLES) -> list[EnrichmentInput]:
    return [
        EnrichmentInput(
            title_id=f"id-{i:03d}",
            title=f"Title {i:03d}",
            title_type="movie",
            plot=f"Title {i:03d} follows a family on a long trip.",
            reviews=[("A warm, funny film with a slow middle.", 8)],
        )  # fmt: skip
        for i in range(n)
    ]


def config(server, **overrides) -> OpenAIConfig:
    values = dict(
        model="gpt-4o-mini", base_url=server.url, api_key=KEY, concurrency=2,
        request_timeout_s=10.0, backoff_base_s=0.01, backoff_max_s=0.05,
    )  # fmt: skip
    values.update(overrides)
    return OpenAIConfig(**values)


def _title_id(title: str) -> str:
    return "id-" + title.split()[-1]


def _cache_path(root: Path) -> Path:
    return root / CACHE_KEY


SCRIPT = textwrap.dedent(
    """
    import sys
    from trending_assets.lib.enrichment.cache import open_cache
    from trending_assets.lib.enrichment.openai_provider import OpenAIConfig, OpenAIEnricher
    from trending_assets.lib.enrichment.schema import EnrichmentInput
    from trending_assets.lib.lake import LocalLake

    root, url, key, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    items = [
        EnrichmentInput(
            title_id=f"id-{i:03d}", title=f"Title {i:03d}", title_type="movie",
            plot=f"Title {i:03d} follows a family on a long trip.",
            reviews=[("A warm, funny film with a slow middle.", 8)],
        )
        for i in range(n)
    ]
    config = OpenAIConfig(
        model="gpt-4o-mini", base_url=url, api_key=key, concurrency=2,
        request_timeout_s=10.0, backoff_base_s=0.01, backoff_max_s=0.05,
    )
    with open_cache(LocalLake(root), "enrichment/cache.parquet") as cache:
        OpenAIEnricher(config).run(items, cache)
    print("finished", flush=True)
    """
)


def _journal(root: Path) -> Path:
    return Path(str(_cache_path(root)) + JOURNAL_SUFFIX)


def _journalled(root: Path) -> set[str]:
    """Title ids whose answers are in the journal (whole lines only: it is being written)."""
    try:
        lines = _journal(root).read_bytes().split(b"\n")[:-1]
    except FileNotFoundError:
        return set()
    return {json.loads(line)["title_id"] for line in lines}


def _sigterm_default() -> None:
    """In the child, before it starts: SIGTERM with its default action. An ignored SIGTERM
    is inherited across exec, and the enrichment run rightly leaves an ignored SIGTERM
    ignored (as under nohup). Now and then a test worker had it ignored, seen as runs that
    finished despite the signal, and reproduced by running this file with SIGTERM ignored."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _run_and_kill(root: Path, server: TimedFake, sig: int) -> tuple[set[str], int]:
    """Start a real enrichment process; once the server answered its ``hold_after`` requests
    (it holds the rest) and the run journalled every answer it received, send ``sig``.
    (the answered titles, the exit code)."""
    after = server.hold_after
    process = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, str(root), server.url, KEY, str(TITLES)],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=_sigterm_default,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 240
        answered: set[str] = set()
        while len(answered) < after or not answered <= _journalled(root):
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, (
                f"the run never got going: {len(answered)} answered, "
                f"{len(_journalled(root))} journalled"
            )
            time.sleep(0.01)
            answered = {_title_id(t) for _, t in list(server.answered) if t}
        # Written through as they arrived: the run is still going, its requests held.
        assert process.poll() is None and len(server.answered) == after
        process.send_signal(sig)
        try:
            process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            # The signal can land on a thread other than the main one, which then sleeps
            # on the held sockets until something happens on them: answer them.
            server.release.set()
        process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        server.release.set()  # the held requests end; their client is gone
    assert len(answered) == after < TITLES
    time.sleep(0.3)  # let the server finish the held answers the dead client will not read
    return answered, process.returncode


def _assert_next_run_asks_only_the_rest(root: Path, server: TimedFake, cached: set[str]) -> None:
    before = server.call_count
    with open_cache(LocalLake(root), CACHE_KEY) as cache:
        run = OpenAIEnricher(config(server)).run(items(), cache)
    asked = {_title_id(c.title) for c in server.calls()[before:]}
    assert run.stats.ok == TITLES and run.stats.cached == len(cached)
    assert asked.isdisjoint(cached)  # no paid answer is paid for twice
    assert asked | cached == {i.title_id for i in items()}
    assert server.call_count - before == TITLES - len(cached)
    assert len(EnrichmentCache.load(_cache_path(root))) == TITLES


def test_sigkill_late_in_a_run_keeps_every_answer_received(tmp_path):
    # 30 of 40 answered, the rest held by the server: the kill lands mid-run on any machine.
    with TimedFake(api_key=KEY, latency=0.05, hold_after=30) as server:
        received, code = _run_and_kill(tmp_path, server, signal.SIGKILL)
        assert code == -signal.SIGKILL
        assert _journal(tmp_path).exists()  # the answers are in the journal; no snapshot
        cache = EnrichmentCache.load(_cache_path(tmp_path))
        cached = {title_id for title_id, _, _ in cache._rows.values()}
        assert received <= cached, sorted(received - cached)  # every answer received is kept
        _assert_next_run_asks_only_the_rest(tmp_path, server, cached)
    assert not _journal(tmp_path).exists()  # compacted into the snapshot by the finished run


def test_sigterm_compacts_the_cache_on_the_way_out(tmp_path):
    with TimedFake(api_key=KEY, latency=0.05, hold_after=25) as server:
        received, code = _run_and_kill(tmp_path, server, signal.SIGTERM)
        assert code != 0
        assert not _journal(tmp_path).exists()  # the finally block wrote the snapshot
        cached = set(pd.read_parquet(_cache_path(tmp_path))["title_id"])
        assert received <= cached, sorted(received - cached)
        _assert_next_run_asks_only_the_rest(tmp_path, server, cached)


def test_keyboard_interrupt_keeps_the_answers(tmp_path, fake_server):
    lake = LocalLake(tmp_path)
    with pytest.raises(KeyboardInterrupt), open_cache(lake, CACHE_KEY) as cache:
        OpenAIEnricher(config(fake_server)).run(items(5), cache)
        raise KeyboardInterrupt
    assert len(pd.read_parquet(_cache_path(tmp_path))) == 5
    assert not Path(str(_cache_path(tmp_path)) + JOURNAL_SUFFIX).exists()


def _good(title: str) -> str:
    return Enrichment.model_validate(fake_openai.good_answer(title)).model_dump_json()


def _seed(root: Path, fake_server, n: int = 6) -> pd.DataFrame:
    with open_cache(LocalLake(root), CACHE_KEY) as cache:
        OpenAIEnricher(config(fake_server)).run(items(n), cache)
    return pd.read_parquet(_cache_path(root))


def _warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


def test_corrupt_rows_are_dropped_named_and_asked_again(tmp_path, fake_server, caplog):
    frame = _seed(tmp_path, fake_server)
    frame.loc[0, "result_json"] = '{"genres": ["drama"], "summary": "cut'  # torn
    frame.loc[1, "result_json"] = json.dumps({**fake_openai.good_answer("x"), "vibe_score": 42})
    frame.loc[2, "input_hash"] = ""
    frame.to_parquet(_cache_path(tmp_path), index=False)
    broken = set(frame["title_id"][:3])

    before = fake_server.call_count
    with caplog.at_level(logging.WARNING), open_cache(LocalLake(tmp_path), CACHE_KEY) as cache:
        assert len(cache) == 3 and cache.problems
        run = OpenAIEnricher(config(fake_server)).run(items(6), cache)
    asked = {_title_id(c.title) for c in fake_server.calls()[before:]}
    assert asked == broken and run.stats.cached == 3 and run.stats.ok == 6
    path = str(_cache_path(tmp_path))
    assert any(path in w and "dropped 3 corrupt" in w for w in _warnings(caplog))
    healed = pd.read_parquet(_cache_path(tmp_path))
    assert len(healed) == 6
    for value in healed["result_json"]:
        Enrichment.model_validate_json(value)  # nothing corrupt stays cached


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda data: data[: len(data) // 2], id="truncated"),
        pytest.param(lambda data: os.urandom(512), id="garbage"),
        pytest.param(lambda data: _parquet(pd.DataFrame({"x": [1]})), id="wrong-columns"),
    ],
)
def test_corrupt_snapshot_is_moved_aside_and_the_run_goes_on(tmp_path, fake_server, caplog, damage):
    path = _cache_path(tmp_path)
    _seed(tmp_path, fake_server)
    broken = damage(path.read_bytes())
    path.write_bytes(broken)
    before = fake_server.call_count
    with caplog.at_level(logging.WARNING), open_cache(LocalLake(tmp_path), CACHE_KEY) as cache:
        run = OpenAIEnricher(config(fake_server)).run(items(6), cache)
    assert run.stats.ok == 6 and fake_server.call_count - before == 6
    [aside] = path.parent.glob("cache.parquet.corrupt-*")
    assert aside.read_bytes() == broken
    assert any(str(path) in w and "moved aside" in w for w in _warnings(caplog))
    assert len(pd.read_parquet(path)) == 6


def _parquet(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def test_journal_lines_are_validated_and_a_torn_tail_is_dropped(tmp_path, caplog):
    path = _cache_path(tmp_path)
    path.parent.mkdir(parents=True)
    journal = Path(str(path) + JOURNAL_SUFFIX)
    key = {"provider": "openai", "model": "m", "prompt_version": "v1",
           "schema_version": SCHEMA_VERSION}  # fmt: skip
    good = [
        {
            **key,
            "input_hash": f"h{i}",
            "title_id": f"t{i}",
            "result_json": _good(f"T{i}"),
            "created_at": "2026-01-01T00:00:00+00:00",
        }  # fmt: skip
        for i in range(3)
    ]
    lines = [json.dumps(line) for line in good]
    lines.insert(1, "\x00\x01 garbage")
    lines.insert(2, json.dumps({**good[0], "input_hash": "bad", "result_json": '{"x": 1}'}))
    lines.append(json.dumps({**good[0], "input_hash": "torn"})[:40])  # killed mid-write
    journal.write_text("\n".join(lines))

    with caplog.at_level(logging.WARNING):
        cache = EnrichmentCache.open(path)
    try:
        assert len(cache) == 3
        assert cache.get(CacheKey(**{**key, "input_hash": "h2"})) is not None
        assert cache.get(CacheKey(**{**key, "input_hash": "bad"})) is None
    finally:
        cache.close()
    warnings = _warnings(caplog)
    assert any(str(journal) in w and "2 unparsable" in w for w in warnings), warnings
    assert any(str(journal) in w and "dropped 1 corrupt" in w for w in warnings), warnings
    assert not journal.exists() and len(pd.read_parquet(path)) == 3


class _RemoteLake:
    """A lake with no local files (like S3): no appends, so checkpoints instead."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self.writes: list[int] = []

    def write_bytes(self, key: str, data: bytes) -> str:
        self.objects[key] = data
        if key == CACHE_KEY:
            self.writes.append(len(pd.read_parquet(io.BytesIO(data))))
        return self.uri(key)

    def read_bytes(self, key: str) -> bytes:
        return self.objects[key]

    def exists(self, key: str) -> bool:
        return key in self.objects

    def uri(self, key: str) -> str:
        return f"mem://{key}"


def test_remote_cache_is_checkpointed_every_n_answers(fake_server, caplog):
    lake = _RemoteLake()
    with open_cache(lake, CACHE_KEY, checkpoint_every=2) as cache:
        OpenAIEnricher(config(fake_server, concurrency=1)).run(items(5), cache)
    assert lake.writes == [2, 4, 5]  # every two answers, then the final write
    lake.objects[CACHE_KEY] = b"garbage"
    with caplog.at_level(logging.WARNING), open_cache(lake, CACHE_KEY) as cache:
        assert len(cache) == 0
    assert any(k.startswith(CACHE_KEY + ".corrupt-") for k in lake.objects)
    assert any("mem://" + CACHE_KEY in w for w in _warnings(caplog))


def test_llm_enrichments_asset_heals_a_corrupt_cache_and_journals_answers(
    tmp_path, fake_server, monkeypatch
):
    """The asset's own wiring: a garbage cache file is moved aside, every answer is asked,
    persisted and reused by the next materialisation (no call)."""
    import dagster as dg
    import duckdb
    from dagster_duckdb import DuckDBResource

    from trending_assets.defs.enrichment.llm import llm_enrichments
    from trending_assets.defs.resources import EnrichmentResource, LakeResource
    from trending_assets.lib.enrichment.rating_model import ReviewRatingModel

    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        con.execute("create table titles (title_id varchar, title varchar, title_type varchar, "
                    "plot varchar)")  # fmt: skip
        con.execute("create table reviews (review_id varchar, title_id varchar, text varchar, "
                    "rating double)")  # fmt: skip
        con.execute("create table title_predictions (title_id varchar, genre_id varchar, "
                    "probability double, predicted boolean, model_name varchar, "
                    "model_version varchar)")  # fmt: skip
        for item in items(4):
            con.execute("insert into titles values (?, ?, ?, ?)",
                        [item.title_id, item.title, "movie", item.plot])  # fmt: skip
            con.execute("insert into reviews values (?, ?, ?, ?)",
                        [f"r-{item.title_id}", item.title_id, item.reviews[0][0], 8.0])  # fmt: skip

    @dg.asset(name="review_rating_model")
    def stub_rating_model():
        texts = ["great fun, loved it", "awful and boring"] * 10
        return ReviewRatingModel(min_df=1).fit(texts, [9, 2] * 10)

    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    resources = {
        "warehouse": DuckDBResource(database=str(tmp_path / "warehouse.duckdb")),
        "lake": LakeResource(local_root=str(tmp_path / "lake")),
        "enrichment": EnrichmentResource(
            provider="openai", base_url=fake_server.url, model="gpt-4o-mini",
            prompt_version="v1", ab_prompt_version="v2", ab_sample_size=2, concurrency=2,
            max_total_tokens=None, max_cost_usd=None, max_quarantine_rate=0.5,
            max_reviews_per_title=5,
        ),
    }  # fmt: skip
    cache_path = _cache_path(tmp_path / "lake")
    cache_path.parent.mkdir(parents=True)
    cache_path.write_bytes(b"PAR1 not really parquet")

    def materialize() -> dict:
        result = dg.materialize([stub_rating_model, llm_enrichments], resources=resources)
        assert result.success
        [event] = [
            e for e in result.get_asset_materialization_events()
            if e.asset_key == dg.AssetKey("llm_enrichments")
        ]  # fmt: skip
        return {k: v.value for k, v in event.materialization.metadata.items()}

    first = materialize()
    assert first["ok"] == 4 and first["cache_problems_healed"] == 1
    assert len(list(cache_path.parent.glob("cache.parquet.corrupt-*"))) == 1
    assert len(pd.read_parquet(cache_path)) == 4
    assert not Path(str(cache_path) + JOURNAL_SUFFIX).exists()
    calls = fake_server.call_count
    second = materialize()
    assert second["cached"] == 4 and fake_server.call_count == calls
