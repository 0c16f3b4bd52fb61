"""Loading drift inputs from DuckDB: the latest crawl partition against a reference window.

Input features (plot / review lengths and vocabulary, source mixes) come from the raw crawl
tables by `crawl_date`, one row per record in the reference window (its last crawl); output
features (predicted genres, vibe scores, the LLM quarantine rate) compare the titles first
crawled on the latest day with those first crawled in the window, or with all earlier
titles when that cohort is too thin. Missing tables or partitions become the reason a
feature is skipped, never an error.
"""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import pandas as pd

from trending_assets.lib.drift.report import DriftInputs, Pair, RateCounts
from trending_assets.lib.drift.thresholds import MAX_TEXTS, MIN_SAMPLES


def _has_table(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    query = (
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?"
    )
    return bool(con.execute(query, [schema, table]).fetchone()[0])


def _words(texts: pd.Series) -> list[int]:
    return [len(str(t).split()) for t in texts.dropna()]


def _sample(texts: pd.Series, cap: int = MAX_TEXTS) -> list[str]:
    texts = texts.dropna()
    return (texts.sample(cap, random_state=0) if len(texts) > cap else texts).tolist()


def _crawl_rows(
    con, table: str, key: str, text: str, start: date, latest: date
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The latest partition's rows, and the reference window's (one row per record: its last crawl)."""
    current = con.execute(
        f"select source, {text} as text from raw.{table} where crawl_date = ?", [latest]
    ).df()
    reference = con.execute(
        f"""select source, {text} as text from raw.{table}
            where crawl_date >= ? and crawl_date < ?
            qualify row_number() over (partition by source, {key} order by crawl_date desc, ingested_at desc) = 1""",
        [start, latest],
    ).df()
    return reference, current


def load_inputs(con: duckdb.DuckDBPyConnection, reference_days: int) -> DriftInputs:
    """Split the warehouse into the latest crawl partition and the `reference_days` before it.

    Input features come from the raw crawl tables by `crawl_date`; output features from
    the titles first crawled on the latest day vs those first crawled in the reference
    window (all earlier titles, crawled or from datasets, when that cohort is too thin).
    """
    inputs = DriftInputs()
    crawl_tables = [t for t in ("listings", "reviews") if _has_table(con, "raw", t)]
    dates = [
        con.execute(f"select max(crawl_date) from raw.{t}").fetchone()[0] for t in crawl_tables
    ]
    dates = [d for d in dates if d is not None]
    if not dates:
        inputs.reason = "no crawl partition in raw.listings / raw.reviews yet"
        return inputs
    latest = max(dates)
    start = latest - timedelta(days=reference_days)
    inputs.latest_partition = latest
    inputs.reference_start, inputs.reference_end = start, latest - timedelta(days=1)
    partitions: set[date] = set()
    for table in crawl_tables:
        partitions |= {
            r[0]
            for r in con.execute(
                f"select distinct crawl_date from raw.{table} where crawl_date >= ? and crawl_date < ?",
                [start, latest],
            ).fetchall()
        }
    inputs.reference_partitions = sorted(partitions)
    earlier = any(
        con.execute(f"select count(*) from raw.{t} where crawl_date < ?", [latest]).fetchone()[0]
        for t in crawl_tables
    )
    if not earlier:  # the first crawl day: nothing at all to compare with
        inputs.reason = f"no reference: {latest} is the first crawl partition"
        return inputs
    # Earlier crawls, but none in the window: inputs skip, outputs fall back (see _load_outputs).
    no_window = (
        None
        if partitions
        else f"no reference: no crawl partition in the {reference_days} days before {latest}"
    )

    for table, key, text, names in (
        ("listings", "source_title_id", "plot", ("plot_words", "plot_texts", "listing_sources")),
        ("reviews", "source_review_id", "text", ("review_words", "review_texts", "review_sources")),
    ):
        if table not in crawl_tables or no_window:
            for name in names:
                setattr(inputs, name, Pair(missing=no_window or f"raw.{table} missing"))
            continue
        ref, cur = _crawl_rows(con, table, key, text, start, latest)
        setattr(inputs, names[0], Pair(_words(ref["text"]), _words(cur["text"])))
        setattr(inputs, names[1], Pair(_sample(ref["text"]), _sample(cur["text"])))
        setattr(inputs, names[2], Pair(ref["source"].tolist(), cur["source"].tolist()))

    _load_outputs(con, inputs, start, latest)
    return inputs


def _load_outputs(
    con: duckdb.DuckDBPyConnection, inputs: DriftInputs, start: date, latest: date
) -> None:
    if not _has_table(con, "main", "titles"):
        missing = "titles mart missing (dbt not built yet)"
        inputs.predicted_genres = inputs.vibe_scores = Pair(missing=missing)
        inputs.quarantine = RateCounts(missing=missing)
        return
    titles = con.execute("select title_id, first_crawled_on from titles").df()
    first = pd.to_datetime(titles["first_crawled_on"]).dt.date
    current = set(titles.loc[first == latest, "title_id"])
    window = set(titles.loc[first.notna() & (first >= start) & (first < latest), "title_id"])
    reference = window
    if len(window) < MIN_SAMPLES:
        inputs.output_reference = "all_earlier"
        reference = set(titles["title_id"]) - current
    inputs.cohort_sizes = {"current_titles": len(current), "reference_window_titles": len(window),
                           "reference_titles": len(reference)}  # fmt: skip

    if _has_table(con, "main", "title_predictions"):
        predicted = con.execute(
            "select title_id, genre_id from title_predictions where predicted"
        ).df()
        inputs.predicted_genres = Pair(
            predicted.loc[predicted["title_id"].isin(reference), "genre_id"].tolist(),
            predicted.loc[predicted["title_id"].isin(current), "genre_id"].tolist(),
        )
    else:
        inputs.predicted_genres = Pair(missing="title_predictions missing")

    if not _has_table(con, "main", "llm_enrichments"):
        inputs.vibe_scores = Pair(missing="llm_enrichments missing")
        inputs.quarantine = RateCounts(missing="llm_enrichments missing")
        return
    enriched = con.execute("select title_id, vibe_score from llm_enrichments").df()
    inputs.vibe_scores = Pair(
        enriched.loc[enriched["title_id"].isin(reference), "vibe_score"].astype(float).tolist(),
        enriched.loc[enriched["title_id"].isin(current), "vibe_score"].astype(float).tolist(),
    )
    bad: set[str] = set()
    if _has_table(con, "main", "llm_enrichment_quarantine"):
        bad = {
            r[0] for r in con.execute("select title_id from llm_enrichment_quarantine").fetchall()
        }
    ok = set(enriched["title_id"])
    inputs.quarantine = RateCounts(
        ref_bad=len(bad & reference), ref_total=len((ok | bad) & reference),
        cur_bad=len(bad & current), cur_total=len((ok | bad) & current),
    )  # fmt: skip
