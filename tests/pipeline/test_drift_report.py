"""`drift_report` materialised for real, on a DuckDB warehouse with two crawl partitions."""

from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import numpy as np
import pandas as pd
import pytest
from dagster_duckdb import DuckDBResource

from trending_assets.defs.monitoring.assets import CHECK_NAME, drift_report
from trending_assets.lib.warehouse import ensure_raw_tables, replace_rows

LATEST = date(2026, 10, 8)
REFERENCE_DAY = LATEST - timedelta(days=1)
WORDS = np.array([f"{a}{b}{c}" for a in "bcdfgh" for b in "aeiou" for c in "klmnprst"])
ZIPF = 1 / np.arange(1, len(WORDS) + 1)
ZIPF /= ZIPF.sum()
GENRES = ["drama", "comedy", "horror", "action", "romance"]


def _text(rng: np.random.Generator, n_words: int, words: np.ndarray = WORDS) -> str:
    return " ".join(rng.choice(words, max(int(n_words), 1), p=ZIPF))


def _day(rng, day: date, prefix: str, n_titles: int, *, shifted: bool) -> dict[str, pd.DataFrame]:
    """One crawl day: listings and reviews of `n_titles` new titles, and their marts rows."""
    mu = 4.6 if shifted else 4.0  # plot length ~ exp(mu) words
    sources = (
        ["filmfolio"] * n_titles
        if shifted
        else list(rng.choice(["reelhub", "filmfolio"], n_titles))
    )
    ids = [f"{prefix}{i:04d}" for i in range(n_titles)]
    listings = pd.DataFrame(
        {
            "source": sources, "source_title_id": ids, "url": None, "title": ids, "year": 2026,
            "title_type": "movie",
            "plot": [_text(rng, n) for n in rng.lognormal(mu, 0.4, n_titles)],
            "genres": [["Drama"]] * n_titles, "original_language": "en", "release_date": day, "crawl_date": day,
        }
    )  # fmt: skip
    review_words = np.array([w.upper() + "q" for w in WORDS]) if shifted else WORDS
    reviews = pd.DataFrame(
        [
            {"source": src, "source_review_id": f"{tid}-r{j}", "source_title_id": tid, "author": "a",
             "rating": int(rng.integers(1, 11)), "review_date": day,
             "text": _text(rng, rng.integers(20, 60), review_words), "crawl_date": day}
            for tid, src in zip(ids, sources, strict=True) for j in range(3)
        ]
    )  # fmt: skip
    weights = [0.05, 0.05, 0.8, 0.05, 0.05] if shifted else [0.3, 0.25, 0.15, 0.15, 0.15]
    predictions = pd.DataFrame(
        [(tid, g, True) for tid in ids for g in rng.choice(GENRES, 2, replace=False, p=weights)],
        columns=["title_id", "genre_id", "predicted"],
    )
    quarantined = set(rng.choice(ids, n_titles // 4, replace=False)) if shifted else set()
    ok = [t for t in ids if t not in quarantined]
    vibe_low, vibe_high = (1, 5) if shifted else (4, 9)
    return {
        "listings": listings,
        "reviews": reviews,
        "titles": pd.DataFrame({"title_id": ids, "first_crawled_on": day}),
        "title_predictions": predictions,
        "llm_enrichments": pd.DataFrame(
            {"title_id": ok, "vibe_score": rng.integers(vibe_low, vibe_high, len(ok))}
        ),
        "llm_enrichment_quarantine": pd.DataFrame({"title_id": sorted(quarantined)}, dtype=str),
    }


def build_warehouse(
    path: Path, *, shifted: bool, days: tuple[date, ...] = (REFERENCE_DAY, LATEST)
) -> Path:
    rng = np.random.default_rng(7)
    parts = [
        _day(rng, day, f"d{i}t", 120, shifted=shifted and day == LATEST)
        for i, day in enumerate(days)
    ]
    with duckdb.connect(str(path)) as con:
        ensure_raw_tables(con)
        for part, day in zip(parts, days, strict=True):
            for table in ("listings", "reviews"):
                replace_rows(con, table, part[table], where="crawl_date = ?", params=[day])
        for table in (
            "titles",
            "title_predictions",
            "llm_enrichments",
            "llm_enrichment_quarantine",
        ):
            con.register("frame", pd.concat([p[table] for p in parts], ignore_index=True))
            con.execute(f"create or replace table {table} as select * from frame")
            con.unregister("frame")
    return path


def run_report(path: Path) -> tuple[dict, dg.AssetCheckEvaluation]:
    result = dg.materialize(
        [drift_report], resources={"warehouse": DuckDBResource(database=str(path))}
    )
    assert result.success
    (event,) = result.get_asset_materialization_events()
    (check,) = result.get_asset_check_evaluations()
    assert check.check_name == CHECK_NAME
    return event.materialization.metadata, check


def statuses(metadata: dict) -> dict[str, set[str]]:
    """feature -> statuses of its rows, read back from the markdown table in the metadata."""
    found: dict[str, set[str]] = {}
    for line in metadata["metrics"].value.splitlines()[4:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        found.setdefault(cells[0], set()).add(cells[5].strip("*"))
    return found


def test_an_unshifted_latest_partition_passes(tmp_path: Path) -> None:
    metadata, check = run_report(build_warehouse(tmp_path / "warehouse.duckdb", shifted=False))
    assert metadata["status"].value == "PASS", metadata["metrics"].value
    assert metadata["latest_partition"].value == str(LATEST)
    assert metadata["output_reference"].value == "window"
    rows = statuses(metadata)
    assert {s for v in rows.values() for s in v} == {"PASS"}, metadata["metrics"].value
    assert check.passed and check.severity == dg.AssetCheckSeverity.WARN
    assert metadata["chart_input_drift"].value.startswith("![input_drift](data:image/png;base64,")
    assert metadata["chart_output_drift"].value.startswith("![output_drift](data:image/png;base64,")
    assert metadata["counts"].value["current_titles"] == 120


def test_a_shifted_latest_partition_warns_without_failing_the_run(tmp_path: Path) -> None:
    metadata, check = run_report(build_warehouse(tmp_path / "warehouse.duckdb", shifted=True))
    assert metadata["status"].value == "WARN"
    rows = statuses(metadata)
    for feature in (
        "plot_length_words", "review_vocabulary", "listing_source_mix", "review_source_mix",
        "predicted_genre_distribution", "vibe_score", "llm_quarantine_rate",
    ):  # fmt: skip
        assert "WARN" in rows[feature], (feature, metadata["metrics"].value)
    assert rows["review_length_words"] == {"PASS"}  # what did not move is not flagged
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    assert check.description.startswith("WARN: drift in ")
    assert "llm_quarantine_rate (rate_increase)" in check.metadata["warnings"].value


def test_the_first_day_has_no_reference_and_skips(tmp_path: Path) -> None:
    metadata, check = run_report(
        build_warehouse(tmp_path / "warehouse.duckdb", shifted=False, days=(LATEST,))
    )
    assert metadata["status"].value == "SKIP"
    assert "no reference" in metadata["summary"].value
    assert metadata["reference_window"].value == f"{LATEST - timedelta(days=7)} .. {REFERENCE_DAY}"
    # Said in words, not as a table of zero statistics that reads like "no drift".
    assert metadata["summary"].value.startswith("no reference window yet: ")
    assert metadata["metrics"].value.startswith("**No reference window yet**")
    assert "counts" not in metadata and not any(k.startswith("chart_") for k in metadata)
    assert check.passed  # nothing to compare is not drift


def test_an_empty_warehouse_skips(tmp_path: Path) -> None:
    metadata, check = run_report(tmp_path / "empty.duckdb")
    assert metadata["status"].value == "SKIP"
    assert "no crawl partition" in metadata["summary"].value
    assert check.passed


@pytest.mark.parametrize("days_back", [3])
def test_a_reference_outside_the_window_is_not_used(tmp_path: Path, days_back: int) -> None:
    # The only earlier crawl is older than the configured window: no input reference.
    path = build_warehouse(
        tmp_path / "w.duckdb", shifted=False, days=(LATEST - timedelta(days=days_back), LATEST)
    )
    result = dg.materialize(
        [drift_report],
        resources={"warehouse": DuckDBResource(database=str(path))},
        run_config={"ops": {"drift_report": {"config": {"reference_days": days_back - 1}}}},
    )
    metadata = result.get_asset_materialization_events()[0].materialization.metadata
    assert metadata["reference_days"].value == days_back - 1
    rows = statuses(metadata)
    assert rows["plot_length_words"] == {"SKIP"}
    # Output drift falls back to every earlier title when the window's cohort is too thin.
    assert metadata["output_reference"].value == "all_earlier"
    assert rows["predicted_genre_distribution"] == {"PASS"}
