"""Train → register → evaluate → promote → predict, over a real registry in a local lake."""

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trending_assets.lib.lake import LocalLake
from trending_assets.lib.ml.data import GenreExamples
from trending_assets.lib.ml.features import TfidfFeaturizer
from trending_assets.lib.ml.keyword import KeywordGenreModel
from trending_assets.lib.ml.lifecycle import (
    choose_champion,
    evaluate_on_test,
    find_trained,
    predict_titles,
    servable_problems,
    train_and_register,
)
from trending_assets.lib.ml.models import LogRegGenreModel, load_model
from trending_assets.lib.ml.registry import ModelRegistry
from trending_assets.lib.ml.split import make_split

CUES = {
    "comedy": ["quibble", "snorfle", "parloo"],
    "horror": ["grimwold", "ossuar", "nekhra"],
    "romance": ["amoret", "sweling", "lirabel"],
}
FILLER = ("the", "story", "of", "who", "finds", "town", "friend", "night", "city", "secret")


def examples(n: int = 150) -> GenreExamples:
    rng = np.random.default_rng(7)
    genres = list(CUES)
    labels = np.zeros((n, len(genres)), dtype=np.uint8)
    texts = []
    for i in range(n):
        chosen = rng.choice(len(genres), size=rng.choice([1, 2]), replace=False)
        labels[i, chosen] = 1
        words = list(rng.choice(FILLER, size=8))
        # Noisy cues: a genre's word is often missing, another genre's word sometimes present.
        words += [rng.choice(CUES[genres[j]]) for j in chosen if rng.random() < 0.75]
        if rng.random() < 0.3:
            words.append(rng.choice(CUES[genres[rng.integers(len(genres))]]))
        rng.shuffle(words)
        texts.append(" ".join(words))
    meta = pd.DataFrame(
        {"title_type": ["movie", "tv"] * (n // 2), "source": "syn", "original_language": "en"}
    )
    return GenreExamples([f"t{i}" for i in range(n)], texts, labels, genres, meta)


@pytest.fixture
def trained(tmp_path: Path):
    split = make_split(examples(), seed=3, min_genre_count=5)
    registry = ModelRegistry(LocalLake(tmp_path / "lake"))
    tracked = []

    def track(model, metrics, model_dir, report):
        assert (model_dir / "model.json").exists()  # the artifact exists when tracking runs
        assert isinstance(report, dict)
        tracked.append((model.name, metrics["validation_macro_f1"]))
        return {"run_id": f"run-{model.name}"}

    featurizer = TfidfFeaturizer().fit(split.train.texts)
    logreg = train_and_register(
        LogRegGenreModel(featurizer), split, registry, code_version="c1", track=track
    )
    keyword = train_and_register(
        KeywordGenreModel(), split, registry, code_version="c1", track=track
    )
    return split, registry, logreg, keyword, tracked


def test_training_registers_a_loadable_artifact_with_its_metrics(trained, tmp_path: Path) -> None:
    split, registry, logreg, keyword, tracked = trained
    assert [name for name, _ in tracked] == ["logreg", "keyword"]
    assert logreg.version.metrics["validation_macro_f1"] == pytest.approx(
        logreg.validation["macro_f1"]
    )
    assert logreg.version.fingerprint == split.fingerprint
    assert logreg.version.extra["tracking"] == {"run_id": "run-logreg"}
    model = load_model(registry.fetch(logreg.version, tmp_path / "fetched"))
    assert model.predict_proba(split.test.texts).shape == (len(split.test), len(split.genres))
    assert 0.3 < logreg.validation["macro_f1"] < 1.0


def test_evaluation_scores_the_registered_artifact_and_updates_its_card(trained) -> None:
    split, registry, logreg, _, _ = trained
    evaluation = evaluate_on_test(registry, logreg.version, split)
    assert 0.0 <= evaluation.test["macro_f1"] <= 1.0
    assert {row["genre"] for row in evaluation.test["per_genre"]} == set(split.genres)
    assert set(evaluation.slices["slice"]) >= {"title_type"}
    card = registry.card(logreg.version)
    assert card == evaluation.card and "macro" in card.lower()


def test_an_evaluation_of_the_same_artifact_and_split_is_read_back(
    trained, monkeypatch: pytest.MonkeyPatch
) -> None:
    from trending_assets.lib.ml import lifecycle
    from trending_assets.lib.ml.embeddings import CacheBackedEmbedder, SentenceEmbedder

    split, registry, logreg, _, _ = trained
    asked: list[int] = []

    def vectors():  # the plots' vector cache: built only for a model that is scored
        asked.append(1)
        return CacheBackedEmbedder(SentenceEmbedder(), None)

    first = evaluate_on_test(registry, logreg.version, split, reuse=False, vectors=vectors)
    assert not first.reused and asked == [1]

    def no_loading(*args, **kwargs):
        raise AssertionError("the model was loaded again")

    monkeypatch.setattr(lifecycle, "load_model", no_loading)
    again = evaluate_on_test(registry, logreg.version, split, vectors=vectors)
    assert again.reused and asked == [1]
    assert again.test["macro_f1"] == first.test["macro_f1"]
    assert again.test["per_genre"] == first.test["per_genre"]
    assert again.behaviour_failures == first.behaviour_failures and again.card == first.card
    pd.testing.assert_frame_equal(again.slices, first.slices, check_dtype=False)
    # Another split, or reuse off (make materialize FULL=1), scores again.
    with pytest.raises(AssertionError, match="loaded again"):
        evaluate_on_test(registry, logreg.version, split, reuse=False)
    with pytest.raises(AssertionError, match="loaded again"):  # other ML code
        evaluate_on_test(registry, logreg.version, split, code_version="changed")
    other = make_split(examples(), seed=4, min_genre_count=5)
    assert other.fingerprint != split.fingerprint
    with pytest.raises(AssertionError, match="loaded again"):
        evaluate_on_test(registry, logreg.version, other)


def test_a_day_whose_new_titles_all_train_keeps_the_stored_evaluation(
    trained, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The next day's split keeps every title's part; when its new titles all went to
    training and validation, the test examples are the same, and so is the score."""
    from trending_assets.lib.ml import lifecycle

    split, registry, logreg, _, _ = trained
    first = evaluate_on_test(registry, logreg.version, split, reuse=False)

    def no_loading(*args, **kwargs):
        raise AssertionError("the model was loaded again")

    monkeypatch.setattr(lifecycle, "load_model", no_loading)
    grown = examples(154)  # the same 150 titles and four new ones
    parts = split.assignment()
    new_parts = {"t150": "train", "t151": "validation", "t152": "train", "t153": "train"}
    next_day = make_split(grown, seed=3, min_genre_count=5, previous={**parts, **new_parts})
    assert next_day.fingerprint != split.fingerprint
    assert next_day.test.ids == split.test.ids and len(next_day.train) == len(split.train) + 3
    again = evaluate_on_test(registry, logreg.version, next_day)
    assert again.reused and again.test == first.test

    # A new title in the test part, or a test title whose plot changed, is scored again.
    with pytest.raises(AssertionError, match="loaded again"):
        evaluate_on_test(
            registry, logreg.version, make_split(grown, seed=3, min_genre_count=5,
            previous={**parts, **new_parts, "t150": "test"}),
        )  # fmt: skip
    edited = examples(150)
    edited.texts[edited.ids.index(split.test.ids[0])] += " grimwold"
    with pytest.raises(AssertionError, match="loaded again"):
        evaluate_on_test(
            registry, logreg.version, make_split(edited, seed=3, min_genre_count=5, previous=parts)
        )


def test_champion_gate_promotes_the_best_challenger_then_keeps_it(trained) -> None:
    _, registry, logreg, keyword, _ = trained
    score = lambda t: t.version.metrics["validation_macro_f1"]  # noqa: E731
    better, worse = sorted([logreg, keyword], key=score, reverse=True)
    assert score(better) > score(worse)
    champion, decision, challenger = choose_champion(
        registry, [worse.version, better.version], floor=0.1
    )
    assert decision.promote and challenger == better.version
    assert registry.champion().version == better.version.version

    # A weaker challenger later: the champion stays, and the reason carries the numbers.
    champion, decision, _ = choose_champion(registry, [worse.version], floor=0.1)
    assert not decision.promote
    assert f"{score(worse):.4f}" in decision.reason
    assert champion.version == better.version.version
    assert registry.champion().version == better.version.version


def test_champion_gate_refuses_a_challenger_below_the_floor(trained) -> None:
    _, registry, logreg, _, _ = trained
    champion, decision, _ = choose_champion(registry, [logreg.version], floor=0.999)
    assert not decision.promote
    assert champion is None and registry.champion() is None
    assert "floor" in decision.reason


def test_a_model_that_calls_one_genre_for_every_plot_is_not_servable(trained) -> None:
    split, registry, logreg, _, _ = trained
    with tempfile.TemporaryDirectory() as tmp:
        model = load_model(registry.fetch(logreg.version, Path(tmp) / "m"))
    before = servable_problems(model)
    # The evaluation runs the same check on the registered artifact.
    assert evaluate_on_test(registry, logreg.version, split).behaviour_failures == before
    # (these nonsense-word models call some genre for every real plot anyway; the demo's
    # models pass: tests/ml/test_ml_behaviour.py)
    last = model.genres[-1]
    model.thresholds = model.thresholds.copy()
    model.thresholds[-1] = 0.0  # the "Soap on every plot" bug: a threshold at the bottom
    after = servable_problems(model)
    assert f"{last} predicted for 15 of 15 varied plots" in after


def test_the_gate_skips_unservable_challengers_and_replaces_an_unservable_champion(
    trained,
) -> None:
    _, registry, logreg, keyword, _ = trained
    score = lambda t: t.version.metrics["validation_macro_f1"]  # noqa: E731
    better, worse = sorted([logreg, keyword], key=score, reverse=True)
    bad = {better.version.version: "drama predicted for 15 of 15 varied plots"}
    # The better-scoring challenger may not be served: the other one is promoted.
    champion, decision, challenger = choose_champion(
        registry, [worse.version, better.version], floor=0.1, unservable=bad
    )
    assert decision.promote and challenger == worse.version
    # Nothing servable: the champion stays, and the reason says why.
    _, decision, _ = choose_champion(registry, [better.version], floor=0.1, unservable=bad)
    assert not decision.promote and "no challenger may be served" in decision.reason
    # Now the better one is champion, then found unservable: a weaker, sound challenger
    # replaces it (it would not have beaten it on F1).
    registry.set_champion(better.version, "test")
    champion, decision, _ = choose_champion(registry, [worse.version], floor=0.1, unservable=bad)
    assert decision.promote and champion.version == worse.version.version
    assert "may not be served" in decision.reason


def test_with_no_champion_and_nothing_servable_the_best_is_served_and_named(trained) -> None:
    _, registry, logreg, keyword, _ = trained
    bad = {
        v.version.version: "drama predicted for 15 of 15 varied plots" for v in (logreg, keyword)
    }
    champion, decision, _ = choose_champion(
        registry, [logreg.version, keyword.version], floor=0.1, unservable=bad
    )
    assert decision.promote and champion is not None
    assert "served although no challenger passes the behaviour check" in decision.reason


def test_an_identical_training_is_found_and_reused_not_repeated(trained) -> None:
    split, registry, logreg, keyword, _ = trained
    again = find_trained(KeywordGenreModel(), split, registry, code_version="c1")
    assert again is not None and again.reused
    assert again.version == keyword.version
    assert again.validation["macro_f1"] == pytest.approx(keyword.validation["macro_f1"])
    assert again.tracking == keyword.tracking  # the W&B run it came from
    # Anything it depends on changed: no match, so the model is trained.
    assert find_trained(KeywordGenreModel(), split, registry, code_version="c2") is None
    assert (
        find_trained(KeywordGenreModel(expand_top_k=0), split, registry, code_version="c1") is None
    )
    other = make_split(examples(), seed=4, min_genre_count=5)
    assert find_trained(KeywordGenreModel(), other, registry, code_version="c1") is None
    # A version whose artifact is damaged is not reused (it is moved aside).
    registry.lake.write_bytes(keyword.version.artifact_key, b"garbage")
    assert find_trained(KeywordGenreModel(), split, registry, code_version="c1") is None


def test_predictions_cover_every_title_and_genre(trained, tmp_path: Path) -> None:
    split, registry, logreg, _, _ = trained
    model = load_model(registry.fetch(logreg.version, tmp_path / "m"))
    table = predict_titles(model, ["a", "b"], ["quibble snorfle night", ""])
    assert len(table) == 2 * len(model.genres)
    assert set(table["title_id"]) == {"a", "b"}
    assert table["probability"].between(0, 1).all()
    # Every title gets at least its most likely genre.
    assert table.groupby("title_id")["predicted"].any().all()
    assert set(table.loc[table["title_id"].eq("a") & table["predicted"], "genre_id"]) >= {"comedy"}


def test_evaluations_are_stored_and_read_back_on_an_s3_lake(moto_endpoint: str) -> None:
    """On S3 a missing key is the client's own error, not FileNotFoundError: the first
    evaluation of a version (nothing stored yet) must score it, not fail."""
    import boto3

    from trending_assets.lib.lake import S3Lake

    client = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    client.create_bucket(Bucket="lake")
    registry = ModelRegistry(S3Lake(client, "lake", "lake"))
    split = make_split(examples(), seed=3, min_genre_count=5)
    keyword = train_and_register(KeywordGenreModel(), split, registry, code_version="c1")
    first = evaluate_on_test(registry, keyword.version, split, code_version="c1")
    assert not first.reused
    again = evaluate_on_test(registry, keyword.version, split, code_version="c1")
    assert again.reused and again.test["macro_f1"] == first.test["macro_f1"]
