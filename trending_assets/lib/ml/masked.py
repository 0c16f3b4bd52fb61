"""Logistic regression over several labelled sources at once, unknown labels masked.

:class:`MaskedLogRegGenreModel` is :class:`~trending_assets.lib.ml.models.LogRegGenreModel`
(TF-IDF, optionally + MiniLM embeddings, one binary logistic regression per genre,
``C`` and per-genre thresholds chosen on validation) with two options:

- ``label_masks`` (default on): a genre that a title's source cannot express (its genre
  map has no label mapping to it, see ``crosssource.label_mask``) is *unknown* for that
  title, not negative. For one-vs-rest that masked loss is simply: genre ``j``'s
  classifier is fitted on, and its threshold tuned on, only the titles whose source can
  express ``j``. Training on TMDB + streaming then no longer teaches "Disney+ titles are
  never horror" or "Netflix titles are never westerns". (A genre that does not apply to
  the title's type, reality on a film, stays a known negative.)
- ``title_type_feature``: the title type is an input, one extra column (1.0 for TV,
  scaled by ``title_type_weight``) appended to the features, so TV-only genres (kids,
  reality, talk, news) and TV-leaning ones can use it. The type is then needed at
  prediction: ``predict_proba(texts, title_types=[...])`` (``"movie"`` / ``"tv"``);
  without ``title_types`` every title is taken as a movie. Given the types, a genre that
  does not apply to a title's type (``genres.applies_to``: ``reality`` on a movie) gets 0.
  (Both now live in ``models.LogRegGenreModel`` / ``models.TextFeatures``, shared with
  the unmasked model and XGBoost.)

The masked fit itself is ``LogRegGenreModel``'s: it fits and tunes each genre on the
titles whose label mask says the genre is known, and the pipeline hands it masks with
the examples (``GenreExamples.known``, from the titles mart's genre vocabularies). What
this subclass adds is masks for examples that carry none (the benchmark's listing
frames): from ``meta`` (``source``, ``title_type``) and the dbt seeds' per-source genre
maps (``data.load_genre_maps``), or ``genre_maps`` passed in. They are a training-time
matter: the saved model is the same weight matrix as ``LogRegGenreModel`` plus the
type-column weights, and predicts for every genre. Saved with ``name =
"masked_logreg"``; importing this module registers that name with ``models.load_model``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from trending_assets.lib.ml.crosssource import label_mask
from trending_assets.lib.ml.data import GenreExamples, load_genre_maps
from trending_assets.lib.ml.features import TfidfFeaturizer
from trending_assets.lib.ml.models import (
    MODEL_CLASSES,
    LogRegGenreModel,
    masked_validation_macro_f1,
    type_column,
)

MODEL_CLASSES.setdefault("masked_logreg", f"{__name__}:MaskedLogRegGenreModel")
__all__ = ["MaskedLogRegGenreModel", "masked_validation_macro_f1", "type_column"]


class MaskedLogRegGenreModel(LogRegGenreModel):
    """One-vs-rest logistic regression with per-source label masks (see the module docstring)."""

    name = "masked_logreg"

    def __init__(
        self,
        featurizer: TfidfFeaturizer | None = None,
        embedder: Any = None,
        *,
        label_masks: bool = True,
        title_type_feature: bool = False,
        title_type_weight: float = 1.0,
        genre_maps: Mapping[str, Mapping[str, Sequence[str]]] | None = None,
        c_grid: Sequence[float] = (1.0, 2.0, 4.0, 8.0),
        max_iter: int = 1000,
        embedder_config: dict[str, Any] | None = None,
        embedding_weight: float = 1.0,
    ) -> None:
        super().__init__(
            featurizer,
            embedder,
            c_grid=c_grid,
            max_iter=max_iter,
            embedder_config=embedder_config,
            embedding_weight=embedding_weight,
            title_type_feature=title_type_feature,
            title_type_weight=title_type_weight,
        )
        self.label_masks = bool(label_masks)
        self.genre_maps = genre_maps

    @property
    def config(self) -> dict[str, Any]:
        return {**super().config, "label_masks": self.label_masks}

    def _label_mask(self, examples: GenreExamples) -> np.ndarray | None:
        """The examples' ``known`` if they carry one, else from their meta and the maps."""
        if not self.label_masks:
            return None
        if examples.known is not None:
            return examples.known
        if self.genre_maps is None:
            self.genre_maps = load_genre_maps()
        mask = label_mask(examples.meta, self.genre_maps, examples.genres)
        # A positive is always known (a label the map produced), whatever the meta says.
        mask |= examples.labels.astype(bool)
        return None if mask.all() else mask

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> MaskedLogRegGenreModel:
        return cls(
            c_grid=config["c_grid"],
            max_iter=config["max_iter"],
            label_masks=config.get("label_masks", True),
            title_type_feature=config.get("title_type_feature", False),
            title_type_weight=config.get("title_type_weight", 1.0),
        )
