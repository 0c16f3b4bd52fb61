"""The review-rating model (vibe score): the polarity-gated model, its fallback, versions and files."""

from __future__ import annotations

import random

import joblib
import numpy as np
import pytest
import scipy.sparse as sp

from trending_assets.lib.enrichment.rating_model import (
    MIN_STATED_REVIEWS,
    ReviewRatingModel,
    nb_log_count_ratio,
    stated_rating,
)

# Four tiers of wording, one per rating band: the gate has to separate 1-4 from 7-10, and the
# ridges inside each half have to order the tiers within it.
TIERS = {
    10: ["a perfect masterpiece", "brilliant and unforgettable", "the best film ever made"],
    7: ["decent and enjoyable", "fine, a pleasant evening", "good enough, quite likeable"],
    4: ["mediocre and forgettable", "weak, a dull evening", "not good, rather tiresome"],
    1: ["an awful disaster", "terrible and unwatchable", "the worst film ever made"],
}
FILLER = ["The plot follows a family.", "It runs two hours.", "Seen on a Sunday.", "", "Yes."]


def _fixture(repeats: int = 8) -> tuple[list[str], list[int], list[str]]:
    texts, ratings, titles = [], [], []
    for i in range(repeats):
        for rating, phrases in TIERS.items():
            for j, phrase in enumerate(phrases):
                texts.append(f"{FILLER[(i + j) % len(FILLER)]} It is {phrase}.")
                ratings.append(rating + (i + j) % 2 * (-1 if rating == 10 else 1))
                titles.append(f"tt{(i * 7 + j + rating) % 11:04d}")
    return texts, ratings, titles


@pytest.fixture(scope="module")
def gated() -> ReviewRatingModel:
    texts, ratings, _ = _fixture()
    return ReviewRatingModel(min_df=1).fit(texts, ratings)


def test_log_count_ratio_signs_terms_by_the_polarity_holding_them():
    # columns: only in positive docs, only in negative docs, in every doc
    matrix = sp.csr_matrix(np.array([[1, 0, 1], [2, 0, 1], [0, 1, 1], [0, 3, 1]], dtype=float))
    weights = nb_log_count_ratio(matrix, np.array([True, True, False, False]), smoothing=1.0)
    # binarised counts +1: p = (3, 1, 3) / 7, q = (1, 3, 3) / 7
    np.testing.assert_allclose(weights, np.log([3.0, 1 / 3, 1.0]), rtol=1e-6)


def test_gated_model_orders_the_tiers_on_unseen_sentences(gated):
    assert gated.gate is not None and gated.regressor is None
    unseen = {
        10: "Honestly a perfect, brilliant masterpiece.",
        7: "Decent, enjoyable and pleasant.",
        4: "Mediocre, weak and forgettable.",
        1: "Awful, terrible, a disaster.",
    }
    predicted = gated.predict(list(unseen.values()))
    assert list(predicted) == sorted(predicted, reverse=True), predicted
    assert predicted[1] > 6 > predicted[2]  # the gate puts each on its side of the middle
    assert ((predicted >= 1) & (predicted <= 10)).all()
    metrics = gated.evaluate(list(unseen.values()), list(unseen))
    assert metrics["spearman"] == pytest.approx(1.0)


def test_one_sided_ratings_fall_back_to_the_single_ridge():
    texts, ratings, _ = _fixture(3)
    keep = [i for i, r in enumerate(ratings) if r >= 7]
    model = ReviewRatingModel(min_df=1).fit([texts[i] for i in keep], [ratings[i] for i in keep])
    assert model.gate is None and model.regressor is not None and model.fitted
    great, fine = model.predict(["a perfect masterpiece", "decent and enjoyable"])
    assert great > fine


def test_unknown_method_is_refused():
    with pytest.raises(ValueError, match="unknown rating-model method"):
        ReviewRatingModel(method="forest")


def test_version_names_data_and_params_not_row_order(gated):
    texts, ratings, _ = _fixture()
    rows = list(zip(texts, ratings, strict=True))
    random.Random(3).shuffle(rows)
    shuffled = ReviewRatingModel(min_df=1).fit([t for t, _ in rows], [r for _, r in rows])
    assert shuffled.version == gated.version
    np.testing.assert_allclose(shuffled.predict(texts[:12]), gated.predict(texts[:12]), atol=1e-6)
    ridge = ReviewRatingModel(min_df=1, method="ridge").fit(texts, ratings)
    assert ridge.version != gated.version
    sharper = ReviewRatingModel(min_df=1, gate_sharpness=20.0).fit(texts, ratings)
    assert sharper.version != gated.version


def test_fit_titles_matches_fit_and_calibrates_on_out_of_fold_means(gated):
    texts, ratings, titles = _fixture()
    model = ReviewRatingModel(min_df=1).fit_titles(texts, ratings, titles)
    assert model.version == gated.version
    np.testing.assert_allclose(model.predict(texts), gated.predict(texts), atol=1e-6)
    slope, _ = model.calibration
    assert slope > 0
    assert model.title_score(["a perfect masterpiece"]) > model.title_score(["an awful disaster"])
    with pytest.raises(ValueError, match="one title id per text"):
        ReviewRatingModel(min_df=1).fit_titles(texts, ratings, titles[:-1])


@pytest.mark.parametrize("method", ["gated", "ridge"])
def test_save_load_round_trip(tmp_path, method):
    texts, ratings, titles = _fixture(4)
    model = ReviewRatingModel(min_df=1, method=method).fit_titles(texts, ratings, titles)
    loaded = ReviewRatingModel.load(model.save(tmp_path / "m" / "rating.joblib"))
    assert loaded.method == method and loaded.params() == model.params()
    assert loaded.version == model.version and loaded.calibration == model.calibration
    np.testing.assert_allclose(loaded.predict(texts), model.predict(texts))
    assert not list((tmp_path / "m").glob(".*tmp*"))  # written through a temporary file


def test_a_format_1_file_still_loads_as_the_single_ridge(tmp_path):
    texts, ratings, _ = _fixture(3)
    ridge = ReviewRatingModel(min_df=1, method="ridge").fit(texts, ratings)
    old_params = {k: ridge.params()[k] for k in ("alpha", "ngram_range", "min_df", "max_features")}
    joblib.dump(
        {
            "format": 1,
            "params": old_params,
            "vectorizer": ridge.vectorizer,
            "regressor": ridge.regressor,
            "calibration": (1.2, -1.0),
            "version": "abcdef012345",
            "training_reviews": len(texts),
        },
        tmp_path / "old.joblib",
    )
    loaded = ReviewRatingModel.load(tmp_path / "old.joblib")
    assert loaded.method == "ridge" and loaded.version == "abcdef012345"
    np.testing.assert_allclose(loaded.predict(texts), ridge.predict(texts))


def test_corrupt_or_foreign_files_give_a_clear_error(tmp_path):
    garbage = tmp_path / "garbage.joblib"
    garbage.write_bytes(b"\x80\x04not a pickle at all")
    with pytest.raises(ValueError, match="rating-model file"):
        ReviewRatingModel.load(garbage)
    truncated = tmp_path / "truncated.joblib"
    texts, ratings, _ = _fixture(2)
    whole = ReviewRatingModel(min_df=1).fit(texts, ratings).save(tmp_path / "whole.joblib")
    truncated.write_bytes(whole.read_bytes()[:200])
    with pytest.raises(ValueError, match="rating-model file"):
        ReviewRatingModel.load(truncated)
    joblib.dump({"format": 99}, tmp_path / "future.joblib")
    with pytest.raises(ValueError, match="unknown rating-model format 99"):
        ReviewRatingModel.load(tmp_path / "future.joblib")
    joblib.dump([1, 2, 3], tmp_path / "list.joblib")
    with pytest.raises(ValueError, match="unknown rating-model format 'list'"):
        ReviewRatingModel.load(tmp_path / "list.joblib")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I give it 7/10.", 7.0),
        ("Seven and a half: 7.5 / 10", 7.5),
        ("8 out of 10 from me", 8.0),
        ("85/100", 8.5),
        ("3 out of 5", 6.0),
        ("4/5 stars", 8.0),
        ("3/4 stars", 7.5),
        ("(0/10)", 1.0),  # the floor of the scale
        ("a 1,5/10", 1.5),  # decimal comma
        ("The critics said 2/10, but for me it is 9/10", 9.0),  # the last statement
        ("Saw it on 10/10/2005 with friends.", None),  # a date
        ("made for 1/10th of the budget", None),  # a fraction, not a rating
        ("rated 4/5 by someone", None),  # scale 5 without 'out of' or 'stars': maybe a date
        ("11/10!", None),  # over the scale
        ("no rating here, just 10 minutes too long", None),
        ("★★★★☆", 8.0),  # star glyphs: the stars shown are the scale
        ("Lovely. ★★★½", 7.0),  # a half star; no empty stars shown: out of 5
        ("⭐⭐⭐⭐ would watch again", 8.0),
        ("★★★★★★★★☆☆", 8.0),  # ten shown
        ("★ Staff pick ★", None),  # lone stars are decoration
        ("7/10, and the sequel ★★", 4.0),  # the last statement, whichever its form
        ("★★ for the sequel, 7/10 for this one", 7.0),
    ],
)
def test_stated_rating_reads_the_reviews_own_score(text, expected):
    assert stated_rating(text) == expected


def _stated_fixture() -> tuple[list[str], list[int], list[str]]:
    """The tiers, plus neutral reviews whose only signal is the rating they state."""
    texts, ratings, titles = _fixture()
    for i in range(3 * MIN_STATED_REVIEWS):
        rating = (2, 3, 8, 9)[i % 4]
        texts.append(f"{FILLER[i % len(FILLER)]} Seen it twice. My score: {rating}/10.")
        ratings.append(rating)
        titles.append(f"tt{i % 13:04d}")
    return texts, ratings, titles


def test_fit_titles_blends_in_stated_ratings_when_they_agree_with_the_ratings():
    texts, ratings, titles = _stated_fixture()
    model = ReviewRatingModel(min_df=1).fit_titles(texts, ratings, titles)
    assert model.stated_blend is not None and model.stated_blend[0] > 0.5
    high, low = model.predict(["Seen it once. My score: 9/10.", "Seen it once. My score: 2/10."])
    assert high - low > 4, (high, low)
    # without it, the neutral wording carries no score
    plain = ReviewRatingModel(min_df=1, use_stated=False).fit_titles(texts, ratings, titles)
    assert plain.stated_blend is None and plain.version != model.version
    high, low = plain.predict(["Seen it once. My score: 9/10.", "Seen it once. My score: 2/10."])
    assert abs(high - low) < 2, (high, low)


def test_stated_blend_is_left_out_when_few_reviews_state_a_rating_or_they_disagree():
    texts, ratings, titles = _fixture()
    few = ReviewRatingModel(min_df=1).fit_titles(
        texts + ["Fine, 8/10."] * (MIN_STATED_REVIEWS - 1),
        ratings + [8] * (MIN_STATED_REVIEWS - 1),
        titles + ["tt0001"] * (MIN_STATED_REVIEWS - 1),
    )
    assert few.stated_blend is None
    # statements that run against the ratings: the blend would give them negative weight
    contrary, contrary_ratings = [], []
    for i in range(2 * MIN_STATED_REVIEWS):
        stated = (2, 9)[i % 2]
        contrary.append(f"Others gave it {stated}/10.")
        contrary_ratings.append(11 - stated)
    model = ReviewRatingModel(min_df=1).fit_stated_blend(
        contrary, np.full(len(contrary), 5.5), np.array(contrary_ratings)
    )
    assert model.stated_blend is None


def test_save_load_keeps_the_stated_blend_and_a_format_2_file_has_none(tmp_path):
    texts, ratings, titles = _stated_fixture()
    model = ReviewRatingModel(min_df=1).fit_titles(texts, ratings, titles)
    loaded = ReviewRatingModel.load(model.save(tmp_path / "rating.joblib"))
    assert loaded.stated_blend == model.stated_blend
    np.testing.assert_allclose(loaded.predict(texts[-8:]), model.predict(texts[-8:]))
    state = joblib.load(tmp_path / "rating.joblib")
    state["format"] = 2
    del state["stated_blend"]
    state["params"] = {k: v for k, v in state["params"].items() if k != "use_stated"}
    joblib.dump(state, tmp_path / "format2.joblib")
    old = ReviewRatingModel.load(tmp_path / "format2.joblib")
    assert old.stated_blend is None and old.use_stated is False
