"""Genres from their descriptions: a model that can call a genre no training title carried.

A model trained on one catalogue only knows that catalogue's genres. Train on TMDB 5000
(movies only) and serve a streaming catalogue, and ``kids``, ``news``, ``reality``,
``soap`` and ``talk`` are never called: no training title had them. This model scores
every genre of the taxonomy, labelled or not, from what the genre *is*:

1. every genre has a few plain-English descriptions (:data:`GENRE_DESCRIPTIONS`); their
   sentence embeddings, averaged and normalised, are the genre's prototype;
2. a plot is embedded with the same encoder; for each genre four **genre-agnostic**
   features are computed: the cosine similarity to the prototype, that similarity as a
   z-score across the genres (how much this genre stands out for this plot), the inverse
   of its rank among the genres, and the seed-lexicon evidence of the keyword baseline
   (``1 - exp(-matches)``, :data:`trending_assets.lib.ml.keyword.SEED_LEXICON`);
3. one logistic regression over those four features is fitted on every (title, genre)
   cell of the genres the training titles *do* carry (unknown cells left out), with
   balanced class weights. Because the features do not name the genre, the same mapping
   applies to a genre with no training label at all: what it learned about "how similar
   is similar enough" on action or comedy carries over to reality or talk;
4. thresholds: a genre with enough validation positives gets its own, tuned like every
   other model's; every other genre (no label, or too few) gets one **shared threshold**,
   the one that maximises the mean F1 of the labelled genres on validation.

It is weaker than a trained classifier on the genres the training data has, and it is
meant to be averaged with one (:class:`~trending_assets.lib.ml.models.AveragedEnsembleGenreModel`
accepts members with different genre lists): the classifier keeps its genres, and the
ensemble gains the genres it could not learn. Measured in ``bench/README.md``
("Genres the training data cannot teach").

The descriptions are ours, written from what each genre means, not from any benchmark's
titles; a genre added to the taxonomy (``dbt_project/seeds/genres.csv``) needs a
description here (a test checks that every canonical genre has one).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from trending_assets.lib.ml.data import CANONICAL_GENRES, GenreExamples
from trending_assets.lib.ml.keyword import SEED_LEXICON, _compile
from trending_assets.lib.ml.models import (
    GenreModel,
    _embedder_config,
    _make_embedder,
    _sigmoid,
    known_macro_f1,
    read_model_json,
    title_types_of,
    validation_macro_f1,
    write_model_json,
    zero_inapplicable,
)
from trending_assets.lib.ml.thresholds import DEFAULT_GRID, MIN_POSITIVES, apply_thresholds

# fmt: off
GENRE_DESCRIPTIONS: dict[str, list[str]] = {
    "action": ["An action film full of fights, chases, shootouts and explosions.",
               "A hero battles armed villains in high-stakes combat."],
    "adventure": ["An adventure story: a journey or quest to distant, dangerous places.",
                  "Explorers set out on an expedition in search of treasure."],
    "animation": ["An animated cartoon film.",
                  "A computer-animated story with talking animals for all ages."],
    "comedy": ["A comedy full of jokes, funny mishaps and laughs.",
               "A hilarious story of awkward, silly antics."],
    "crime": ["A crime story about gangsters, police, detectives and criminals.",
              "Criminals plan a robbery while cops investigate murders and drug deals."],
    "documentary": ["A documentary with real footage and interviews about real events and "
                    "people.", "A nonfiction film that examines a true subject."],
    "drama": ["A serious drama about relationships, family and personal struggles.",
              "An emotional story of grief, love and hardship."],
    "family": ["A family film for parents and children to watch together.",
               "A heartwarming story about kids, pets and friendship."],
    "fantasy": ["A fantasy story of magic, wizards, dragons and enchanted kingdoms.",
                "A mythical quest in a world of spells and creatures."],
    "history": ["A historical story set in a past century, about real events.",
                "A period film about kings, empires, revolutions and historic figures."],
    "horror": ["A horror film of ghosts, demons and monsters that terrify their victims.",
               "A terrifying story of a killer, a haunted house and supernatural evil."],
    "music": ["A story about musicians, singers, bands and concerts.",
              "A film about music, songs and performers."],
    "mystery": ["A mystery: a detective investigates clues to solve a puzzling case.",
                "A whodunit about a disappearance and secrets that must be uncovered."],
    "romance": ["A romance: two people fall in love.",
                "A romantic story of lovers, dating, passion and heartbreak."],
    "science_fiction": ["Science fiction about space, aliens, robots and the future.",
                        "A sci-fi story of time travel, technology and other planets."],
    "tv_movie": ["A film made for television.",
                 "A made-for-TV movie that premiered on a television network."],
    "thriller": ["A suspenseful thriller about danger, conspiracy and a race against time.",
                 "A tense story of a stalker, a kidnapping or a deadly chase."],
    "war": ["A war film about soldiers fighting battles in a war.",
            "Troops in combat during World War II or another military conflict."],
    "western": ["A western about cowboys, outlaws and sheriffs on the American frontier.",
                "Gunslingers and ranchers in the Wild West."],
    "kids": ["A children's TV show for young kids and preschoolers.",
             "An animated series where friends learn lessons, for little children."],
    "news": ["A news program reporting current events and politics.",
             "Journalists and anchors cover the headlines."],
    "reality": ["A reality TV show following real people, unscripted.",
                "Contestants compete in challenges on a reality competition series."],
    "soap": ["A soap opera of family scandals, affairs and betrayals.",
             "A melodramatic serial about wealthy families, secrets and romance."],
    "talk": ["A talk show where a host interviews celebrity guests.",
             "A late-night show with a host, conversations and comedy."],
}
# fmt: on

FEATURES = ("cosine", "z_across_genres", "inverse_rank", "lexicon")
# A genre needs this many known training positives to teach the calibrator.
MIN_TRAIN_POSITIVES = 5


def descriptions_digest(
    descriptions: Mapping[str, Sequence[str]], lexicon: Mapping[str, Sequence[str]]
) -> str:
    """sha256 of the descriptions and the lexicon: a change to either is a new model config."""
    basis = json.dumps({"descriptions": descriptions, "lexicon": lexicon}, sort_keys=True)
    return hashlib.sha256(basis.encode("utf-8")).hexdigest()[:16]


def genre_features(
    embeddings: np.ndarray, prototypes: np.ndarray, lexicon_scores: np.ndarray
) -> np.ndarray:
    """(n, G, 4) genre-agnostic features of n plots against G genre prototypes.

    ``embeddings`` (n, d) and ``prototypes`` (G, d) are L2-normalised; a zero embedding
    (an empty text) gives a row of zero similarities, z-scores 0 and equal ranks.
    """
    similarity = np.asarray(embeddings, dtype=np.float64) @ np.asarray(prototypes).T
    spread = similarity.std(axis=1, keepdims=True)
    z = np.divide(
        similarity - similarity.mean(axis=1, keepdims=True), spread,
        out=np.zeros_like(similarity), where=spread > 1e-12,
    )  # fmt: skip
    rank = np.argsort(np.argsort(-similarity, axis=1, kind="stable"), axis=1, kind="stable")
    return np.stack([similarity, z, 1.0 / (1.0 + rank), lexicon_scores], axis=-1)


class ZeroShotGenreModel(GenreModel):
    """Every genre of the taxonomy scored from its description (module docstring)."""

    name = "zeroshot"

    def __init__(
        self,
        embedder: Any = None,
        *,
        embedder_config: dict[str, Any] | None = None,
        genres: Sequence[str] = CANONICAL_GENRES,
        descriptions: Mapping[str, Sequence[str]] | None = None,
        lexicon: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        if embedder is None and embedder_config is None:
            from trending_assets.lib.ml.embeddings import configured_embedder

            embedder = configured_embedder()
        self.embedder = embedder if embedder is not None else _make_embedder(embedder_config)
        self.embedder_config = _embedder_config(self.embedder, embedder_config)
        descriptions = dict(descriptions or GENRE_DESCRIPTIONS)
        missing = [g for g in genres if not descriptions.get(g)]
        if missing:
            raise ValueError(f"no description for the genres {missing}: add them to "
                             "GENRE_DESCRIPTIONS (trending_assets/lib/ml/zeroshot.py)")  # fmt: skip
        self.genres = list(genres)
        self.descriptions = {g: list(descriptions[g]) for g in self.genres}
        lexicon = SEED_LEXICON if lexicon is None else lexicon
        self.lexicon = {g: list(lexicon.get(g, [])) for g in self.genres}
        self._patterns = [[_compile(term) for term in self.lexicon[g]] for g in self.genres]
        self.prototypes: np.ndarray | None = None
        self.coef = np.zeros(len(FEATURES))
        self.intercept = 0.0
        self.shared_threshold = 0.5
        self.learned_genres: list[str] = []
        self.thresholds = np.full(len(self.genres), 0.5)

    @property
    def config(self) -> dict[str, Any]:
        return {
            "embedder": self.embedder_config,
            "features": list(FEATURES),
            "descriptions": descriptions_digest(self.descriptions, self.lexicon),
        }

    def _prototypes(self) -> np.ndarray:
        if self.prototypes is None:
            rows = []
            for genre in self.genres:
                vectors = np.asarray(self.embedder.encode(self.descriptions[genre]), dtype=float)
                mean = vectors.mean(axis=0)
                rows.append(mean / max(float(np.linalg.norm(mean)), 1e-12))
            self.prototypes = np.vstack(rows)
        return self.prototypes

    def _lexicon_scores(self, texts: Sequence[str]) -> np.ndarray:
        counts = np.array(
            [[sum(1 for p in patterns if p.search(t)) for patterns in self._patterns]
             for t in texts],
            dtype=np.float64,
        ).reshape(len(texts), len(self.genres))  # fmt: skip
        return 1.0 - np.exp(-counts)

    def _features(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, len(self.genres), len(FEATURES)))
        embeddings = np.asarray(self.embedder.encode(texts), dtype=np.float64)
        return genre_features(embeddings, self._prototypes(), self._lexicon_scores(texts))

    def _score(self, features: np.ndarray) -> np.ndarray:
        return _sigmoid(features @ self.coef + self.intercept)

    def _columns(self, examples: GenreExamples) -> tuple[np.ndarray, np.ndarray, list[int]]:
        """Labels and known mask of ``examples`` in this model's genre order (a genre the
        examples lack is all unknown), and the model columns the examples carry."""
        labels = np.zeros((len(examples), len(self.genres)), dtype=bool)
        known = np.zeros_like(labels)
        theirs = examples.known_mask()
        carried = []
        for j, genre in enumerate(self.genres):
            if genre in examples.genres:
                k = examples.genres.index(genre)
                labels[:, j], known[:, j] = examples.labels[:, k].astype(bool), theirs[:, k]
                carried.append(j)
        return labels, known, carried

    def fit(self, train: GenreExamples, validation: GenreExamples) -> dict[str, Any]:
        from sklearn.linear_model import LogisticRegression

        started = time.perf_counter()
        y, known, carried = self._columns(train)
        learned = [j for j in carried if int((y[:, j] & known[:, j]).sum()) >= MIN_TRAIN_POSITIVES]
        if not learned:
            raise ValueError(
                f"no genre has {MIN_TRAIN_POSITIVES} labelled training titles: nothing to "
                "calibrate the description scores on"
            )
        self.learned_genres = [self.genres[j] for j in learned]
        features = self._features(train.texts)
        # A genre that does not apply to a title's type (reality on a movie) is scored 0
        # at prediction: such cells teach the calibrator nothing.
        applies = zero_inapplicable(
            np.ones(y.shape), self.genres, title_types_of(train)
        ).astype(bool)  # fmt: skip
        cells = (known & applies)[:, learned]
        x = features[:, learned][cells]
        target = y[:, learned][cells]
        if target.min() == target.max():
            raise ValueError("the training cells are all of one class: nothing to calibrate")
        estimator = LogisticRegression(class_weight="balanced", max_iter=1000)
        estimator.fit(x, target)
        self.coef, self.intercept = estimator.coef_[0].astype(float), float(estimator.intercept_[0])

        # Thresholds on validation: the labelled genres' own, and one shared by the rest.
        val_y, val_known, _ = self._columns(validation)
        val_types = title_types_of(validation)
        proba = zero_inapplicable(
            self._score(self._features(validation.texts)), self.genres, val_types
        )
        tuned = [j for j in learned if int((val_y[:, j] & val_known[:, j]).sum()) >= MIN_POSITIVES]
        self.shared_threshold = self._shared_threshold(val_y, val_known, proba, tuned)
        self.thresholds = np.full(len(self.genres), self.shared_threshold)
        score = 0.0
        if tuned:
            score, own = validation_macro_f1(
                val_y[:, tuned].astype(np.uint8), proba[:, tuned], val_known[:, tuned]
            )
            self.thresholds[tuned] = own
        return {
            "model": self.name,
            "best_params": {"shared_threshold": self.shared_threshold},
            "validation_macro_f1": float(score),
            "learned_genres": self.learned_genres,
            "description_only_genres": [g for g in self.genres if g not in self.learned_genres],
            "calibration": dict(zip(FEATURES, map(float, self.coef), strict=True))
            | {"intercept": self.intercept},
            "train_cells": int(cells.sum()),
            "train_seconds": round(time.perf_counter() - started, 2),
        }

    @staticmethod
    def _shared_threshold(
        y: np.ndarray, known: np.ndarray, proba: np.ndarray, genres: list[int]
    ) -> float:
        """The grid threshold with the best mean F1 over ``genres`` (known cells only)."""
        if not genres:
            return 0.5
        y, known, proba = y[:, genres].astype(np.uint8), known[:, genres], proba[:, genres]
        best, best_score = 0.5, -1.0
        for t in sorted(DEFAULT_GRID.tolist(), key=lambda v: (abs(v - 0.5), v)):
            score = known_macro_f1(y, (proba >= t).astype(np.uint8), known)
            if score > best_score:
                best, best_score = float(t), score
        return best

    def predict_proba(
        self, texts: Sequence[str], title_types: Sequence[str | None] | None = None
    ) -> np.ndarray:
        """(n, G) scores; a genre that does not apply to a title's type scores 0."""
        proba = self._score(self._features(texts))
        return zero_inapplicable(proba, self.genres, title_types)

    def predict(
        self, texts: Sequence[str], title_types: Sequence[str | None] | None = None
    ) -> np.ndarray:
        return apply_thresholds(self.predict_proba(texts, title_types), self.thresholds)

    def save(self, directory: Path) -> None:
        directory = Path(directory)
        write_model_json(
            self, directory,
            calibration={"coef": [float(c) for c in self.coef], "intercept": self.intercept},
            shared_threshold=self.shared_threshold,
            learned_genres=self.learned_genres,
            descriptions=self.descriptions,
            lexicon=self.lexicon,
        )  # fmt: skip
        np.savez_compressed(directory / "prototypes.npz", prototypes=self._prototypes())

    @classmethod
    def load(cls, directory: Path) -> ZeroShotGenreModel:
        directory = Path(directory)
        meta = read_model_json(directory)
        model = cls(
            embedder_config=meta["config"]["embedder"], genres=meta["genres"],
            descriptions=meta["descriptions"], lexicon=meta["lexicon"],
        )  # fmt: skip
        model.coef = np.asarray(meta["calibration"]["coef"], dtype=float)
        model.intercept = float(meta["calibration"]["intercept"])
        model.shared_threshold = float(meta["shared_threshold"])
        model.learned_genres = list(meta["learned_genres"])
        model.thresholds = np.asarray(meta["thresholds"], dtype=float)
        with np.load(directory / "prototypes.npz") as stored:
            model.prototypes = stored["prototypes"]
        return model
