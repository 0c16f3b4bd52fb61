"""Drift statistics on synthetic samples: shifted ones must WARN, unshifted ones must PASS."""

import numpy as np
import pytest

from trending_assets.lib.drift import (
    JS_WARN,
    MIN_SAMPLES,
    PSI_WARN,
    DriftInputs,
    Pair,
    RateCounts,
    build_report,
    categorical_drift,
    numeric_drift,
    psi_from_shares,
    rate_drift,
    reference_cuts,
    render_figures,
    vocabulary_drift,
)

WORDS = np.array([f"{a}{b}{c}" for a in "bcdfg" for b in "aeiou" for c in "klmnprst"])  # 200 words
ZIPF = 1 / np.arange(1, len(WORDS) + 1)
ZIPF /= ZIPF.sum()


def lengths(seed: int, n: int, mu: float = 4.0) -> np.ndarray:
    return np.random.default_rng(seed).lognormal(mu, 0.5, n).round()


def texts(seed: int, n: int, words: np.ndarray = WORDS) -> list[str]:
    rng = np.random.default_rng(seed)
    return [" ".join(rng.choice(words, 30, p=ZIPF)) for _ in range(n)]


def by_statistic(rows) -> dict:
    return {r.statistic: r for r in rows}


# --- numeric -----------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_numeric_same_distribution_passes(seed: int) -> None:
    rows = by_statistic(
        numeric_drift("plot", "input", lengths(seed, 800), lengths(seed + 100, 300))
    )
    assert rows["psi"].status == "PASS" and rows["psi"].value < 0.1
    assert rows["ks"].status == "PASS" and rows["ks"].value < 0.1


def test_numeric_shifted_distribution_warns_on_both_statistics() -> None:
    rows = by_statistic(numeric_drift("plot", "input", lengths(0, 800), lengths(1, 300, mu=4.5)))
    assert rows["psi"].status == "WARN" and rows["psi"].value >= PSI_WARN
    assert rows["ks"].status == "WARN" and rows["ks"].p_value < 0.01


def test_a_tiny_difference_on_a_huge_sample_is_not_drift() -> None:
    # Significant (p << 0.01) but a CDF gap of a few points: the minimum effect size holds it back.
    rows = by_statistic(
        numeric_drift("plot", "input", lengths(0, 200_000), lengths(1, 200_000, mu=4.03))
    )
    assert rows["ks"].p_value < 0.01
    assert rows["ks"].value < 0.1 and rows["ks"].status == "PASS"
    assert rows["psi"].status == "PASS"


def test_numeric_skips_with_a_reason_on_tiny_or_empty_samples() -> None:
    for ref, cur in (
        (lengths(0, 500), lengths(1, MIN_SAMPLES - 1)),
        ([], lengths(1, 500)),
        ([], []),
    ):
        rows = numeric_drift("plot", "input", ref, cur)
        assert [r.status for r in rows] == ["SKIP", "SKIP"]
        assert all("too little data" in r.note and r.value is None for r in rows)


def test_nan_values_are_ignored() -> None:
    ref = np.append(lengths(0, 500), [np.nan] * 100)
    rows = by_statistic(numeric_drift("plot", "input", ref, lengths(1, 500)))
    assert rows["psi"].n_reference == 500 and rows["psi"].status == "PASS"


def test_constant_values() -> None:
    same = by_statistic(numeric_drift("vibe", "output", [7] * 100, [7] * 80))
    assert same["psi"].value == pytest.approx(0.0) and same["psi"].status == "PASS"
    assert same["ks"].status == "PASS"
    # A constant reference still has bins below and above it, so a move is seen by PSI too.
    moved = by_statistic(numeric_drift("vibe", "output", [7] * 100, [9] * 80))
    assert moved["psi"].status == "WARN" and moved["ks"].status == "WARN"


def test_reference_cuts_are_fixed_from_the_reference_with_out_of_range_bins() -> None:
    cuts = reference_cuts(np.arange(100.0))
    assert len(cuts) == 11 and cuts[0] == 0.0 and cuts[-1] > 99.0
    assert len(reference_cuts(np.full(50, 3.0))) == 2  # below / equal / above


def test_psi_smooths_empty_bins() -> None:
    assert np.isfinite(psi_from_shares(np.array([1.0, 0.0]), np.array([0.5, 0.5])))
    assert psi_from_shares(np.array([0.5, 0.5]), np.array([0.5, 0.5])) == 0.0


# --- categorical -------------------------------------------------------------------------


def categories(
    seed: int, n: int, weights=(0.5, 0.3, 0.2), names=("reelhub", "filmfolio", "tmdb")
) -> list[str]:
    return list(np.random.default_rng(seed).choice(names, n, p=weights))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_categorical_same_mix_passes(seed: int) -> None:
    row = categorical_drift(
        "source_mix", "input", categories(seed, 600), categories(seed + 50, 200)
    )
    assert row.status == "PASS" and row.value < 0.1


def test_categorical_shifted_mix_warns() -> None:
    row = categorical_drift(
        "source_mix", "input", categories(0, 600), categories(1, 200, weights=(0.1, 0.1, 0.8))
    )
    assert row.status == "WARN" and row.value >= PSI_WARN
    assert "TVD" in row.note


def test_a_new_category_is_drift() -> None:
    current = categories(1, 150) + ["newsite"] * 100
    row = categorical_drift("source_mix", "input", categories(0, 600), current)
    assert row.status == "WARN"
    assert "new: newsite" in row.note


def test_a_rare_new_category_is_not() -> None:
    row = categorical_drift(
        "source_mix", "input", categories(0, 600), categories(1, 400) + ["newsite"]
    )
    assert row.status == "PASS"


def test_categorical_skips_on_small_samples_and_handles_one_category() -> None:
    assert categorical_drift("mix", "input", ["a"] * 5, ["a"] * 100).status == "SKIP"
    row = categorical_drift("mix", "input", ["a"] * 100, ["a"] * 100)
    assert row.status == "PASS" and row.value == pytest.approx(0.0)


# --- vocabulary --------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_vocabulary_same_source_passes(seed: int) -> None:
    row = vocabulary_drift("reviews", "input", texts(seed, 300), texts(seed + 10, 150))
    assert row.status == "PASS" and row.value < JS_WARN


def test_vocabulary_from_new_words_warns() -> None:
    new_words = np.array([w.upper() + "x" for w in WORDS])  # same shape, unseen tokens
    current = [a + " " + b for a, b in zip(texts(1, 150), texts(2, 150, new_words), strict=True)]
    row = vocabulary_drift("reviews", "input", texts(0, 300), current)
    assert row.status == "WARN" and row.value >= JS_WARN
    assert "out-of-reference-vocabulary share 50" in row.note


def test_vocabulary_with_reshuffled_frequencies_warns() -> None:
    shuffled = np.random.default_rng(9).permutation(WORDS)  # same words, different frequencies
    row = vocabulary_drift("reviews", "input", texts(0, 300), texts(1, 150, shuffled))
    assert row.status == "WARN"


def test_vocabulary_skips_on_too_few_tokens_and_empty_text() -> None:
    assert (
        vocabulary_drift("reviews", "input", texts(0, 300), ["short text", None]).status == "SKIP"
    )
    assert vocabulary_drift("reviews", "input", [], []).status == "SKIP"


# --- rates -------------------------------------------------------------------------------


def test_rate_increase_warns_only_when_large_and_significant() -> None:
    assert rate_drift("q", "output", 2, 400, 30, 200).status == "WARN"  # 0.5% -> 15%
    assert rate_drift("q", "output", 2, 400, 2, 200).status == "PASS"  # same rate
    assert rate_drift("q", "output", 40, 400, 0, 200).status == "PASS"  # a drop is good news
    assert rate_drift("q", "output", 1, 400, 2, 40).status == "PASS"  # 0.25% -> 5% of 40: noise
    skipped = rate_drift("q", "output", 0, 400, 1, 5)
    assert skipped.status == "SKIP" and "too little data" in skipped.note


# --- the report --------------------------------------------------------------------------


def inputs(shifted: bool) -> DriftInputs:
    new_words = np.array([w.upper() + "x" for w in WORDS])
    return DriftInputs(
        plot_words=Pair(list(lengths(0, 500)), list(lengths(1, 200, mu=4.6 if shifted else 4.0))),
        review_words=Pair(list(lengths(2, 500, 3.0)), list(lengths(3, 200, 3.0))),
        plot_texts=Pair(texts(0, 200), texts(1, 100)),
        review_texts=Pair(texts(2, 200), texts(3, 100, new_words if shifted else WORDS)),
        listing_sources=Pair(categories(0, 500), categories(1, 200)),
        review_sources=Pair(categories(2, 500), categories(3, 200)),
        predicted_genres=Pair(
            categories(4, 500, names=("drama", "comedy", "horror")),
            categories(5, 200, weights=(0.1, 0.1, 0.8) if shifted else (0.5, 0.3, 0.2), names=("drama", "comedy", "horror")),
        ),  # fmt: skip
        vibe_scores=Pair(list(np.random.default_rng(6).integers(4, 9, 300)), list(np.random.default_rng(7).integers(4, 9, 100))),
        quarantine=RateCounts(ref_bad=1, ref_total=300, cur_bad=20 if shifted else 1, cur_total=100),
    )  # fmt: skip


def test_report_on_an_unshifted_sample_passes() -> None:
    report = build_report(inputs(shifted=False))
    assert report.status == "PASS", report.markdown()
    assert {r.status for r in report.rows} == {"PASS"}
    assert report.summary() == "PASS: no drift"
    assert {r.kind for r in report.rows} == {"input", "output"}


def test_report_on_a_shifted_sample_warns_and_names_the_features() -> None:
    report = build_report(inputs(shifted=True))
    assert report.status == "WARN"
    warned = {r.feature for r in report.rows if r.status == "WARN"}
    assert warned == {
        "plot_length_words",
        "review_vocabulary",
        "predicted_genre_distribution",
        "llm_quarantine_rate",
    }
    assert report.summary() == (
        "WARN: drift in plot_length_words, review_vocabulary, predicted_genre_distribution, llm_quarantine_rate"
    )
    assert "plot_length_words (ks)" in report.warnings
    assert "**WARN**" in report.markdown()
    figures = render_figures(report)
    assert set(figures) == {"input_drift", "output_drift"}
    assert all(png.startswith(b"\x89PNG") for png in figures.values())


def test_report_without_a_reference_skips_every_metric_with_the_reason() -> None:
    report = build_report(
        DriftInputs(reason="no reference: no crawl partition in the 7 days before 2026-10-01")
    )
    assert report.status == "SKIP"
    assert {r.status for r in report.rows} == {"SKIP"}
    assert "no reference" in report.summary()
    assert render_figures(report)  # the charts say "not enough data" rather than fail


def test_a_missing_table_skips_only_its_features() -> None:
    data = inputs(shifted=False)
    data.vibe_scores = Pair(missing="llm_enrichments missing")
    data.quarantine = RateCounts(missing="llm_enrichments missing")
    report = build_report(data)
    skipped = {r.feature for r in report.rows if r.status == "SKIP"}
    assert skipped == {"vibe_score", "llm_quarantine_rate"}
    assert report.status == "PASS"
    assert "skipped" in report.summary()
