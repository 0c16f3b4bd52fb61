"""A model's life in the platform: train, register, evaluate, promote, predict.

The Dagster assets call these in order; each step is plain Python over the registry in
the lake, so the same lifecycle runs in tests, in benchmarks and in the pipeline.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from trending_assets.lib.ml.cards import model_card
from trending_assets.lib.ml.data import GenreExamples
from trending_assets.lib.ml.embeddings import read_vectors_through
from trending_assets.lib.ml.metrics import evaluate, slice_metrics
from trending_assets.lib.ml.models import (
    GenreModel,
    load_model,
    predict_proba_typed,
    title_types_of,
)
from trending_assets.lib.ml.registry import (
    ModelRegistry,
    ModelVersion,
    PromotionDecision,
    RegistryCorruptError,
    decide_promotion,
)
from trending_assets.lib.ml.split import SplitResult
from trending_assets.lib.ml.thresholds import apply_thresholds

KNOWN_LIMITS: dict[str, list[str]] = {
    "keyword": ["Lexicon-based: misses genres expressed without its keywords, fooled by negation."],
    "logreg": ["Bag of n-grams: no word order beyond bigrams; English plots only in training."],
    "xgboost": ["Trees over sparse TF-IDF: can overfit rare n-grams on small catalogues."],
    "bert": [
        "Fine-tuned on a capped number of rows and epochs to fit the demo's time budget.",
        "Plots are truncated to the configured max_length tokens.",
    ],
    "ensemble": [
        "The mean of its members' probabilities: it inherits their limits, and is only as "
        "current as the member versions it names (config member_versions).",
    ],
}
COMMON_LIMITS = [
    "Trained on plots whose text looks English; other texts are still predicted, untested.",
    "Genres with too few examples are dropped from the label set (see the split summary).",
    "Source genre labels are noisy and differ in granularity between sources.",
]


# What the champion gate compares: validation macro F1 averaged over the sources (each
# source's titles scored on their own, so the largest catalogue does not decide alone);
# with one source it is the plain validation macro F1 (source_balanced_macro_f1).
GATE_METRIC = "validation_source_macro_f1"
MIN_SOURCE_TITLES = 20


@dataclass
class TrainedModel:
    """What a model asset hands downstream: the registered version and how training went."""

    name: str
    version: ModelVersion
    report: dict[str, Any]
    validation: dict[str, Any]
    train_seconds: float
    tracking: dict[str, Any] = field(default_factory=dict)
    # True when an identical earlier training was reused (``find_trained``), not retrained.
    reused: bool = False


@dataclass
class Evaluation:
    name: str
    version: ModelVersion
    test: dict[str, Any]
    slices: pd.DataFrame
    card: str
    # Behaviour failures of the loaded artifact (e.g. a genre predicted for every varied
    # plot): a model with any is not served, whatever its scores (``servable_problems``).
    behaviour_failures: list[str] = field(default_factory=list)
    # Read back from the registry (same artifact, split and evaluation code), not recomputed.
    reused: bool = False


def _scores(metrics: dict[str, Any], prefix: str) -> dict[str, float]:
    return {f"{prefix}_{k}": float(metrics[k]) for k in ("macro_f1", "micro_f1", "samples_f1")}


def training_key(model: GenreModel, split: SplitResult, code_version: str) -> str:
    """What a training run depends on: the model's kind and settings (before fitting), the
    training data (the split's content fingerprint, its genres and part sizes, which the
    split's own settings decide) and the code. Equal keys, equal models."""
    basis = json.dumps(
        {"model": model.name, "config": model.config, "fingerprint": split.fingerprint,
         "code_version": code_version, "genres": list(split.genres),
         "sizes": [len(split.train), len(split.validation), len(split.test)]},
        sort_keys=True, default=str,
    )  # fmt: skip
    return hashlib.sha256(basis.encode("utf-8")).hexdigest()


def known_only(predicted: np.ndarray, examples: GenreExamples) -> np.ndarray:
    """Predictions with the examples' unknown cells cleared, for scoring.

    A genre a title's sources cannot express is unknown, not negative: a prediction there
    is neither right nor wrong, so it is left out (a true negative, which no F1 counts).
    Positives are always known.
    """
    return predicted if examples.known is None else predicted * examples.known


def aligned(
    predicted: np.ndarray, model_genres: Sequence[str], genres: Sequence[str]
) -> np.ndarray:
    """A model's (n, G_model) matrix in the columns of ``genres`` (a split's label set).

    A model may score genres the split does not carry (the zero-shot member of the
    ensemble scores the whole taxonomy): those columns are left out of scoring here, as
    no title of the split can be right or wrong on them. A split genre the model lacks
    is all 0 (never predicted)."""
    model_genres = list(model_genres)
    if model_genres == list(genres):
        return predicted
    out = np.zeros((predicted.shape[0], len(genres)), dtype=predicted.dtype)
    for j, genre in enumerate(genres):
        if genre in model_genres:
            out[:, j] = predicted[:, model_genres.index(genre)]
    return out


def source_balanced_macro_f1(
    labels: np.ndarray,
    predicted: np.ndarray,
    examples: GenreExamples,
    *,
    min_titles: int = MIN_SOURCE_TITLES,
) -> tuple[float, dict[str, float]]:
    """The mean over sources of each source's macro F1 (known cells), and the per-source scores.

    A title merged from several sources counts for each of them; a source with fewer than
    ``min_titles`` titles here gets no score of its own. With fewer than two scored
    sources this is the pooled macro F1: there is nothing to balance.
    """
    from trending_assets.lib.ml.crosssource import source_members
    from trending_assets.lib.ml.models import known_macro_f1

    known = examples.known
    pooled = known_macro_f1(labels, predicted, known)
    if "source" not in examples.meta.columns:
        return pooled, {}
    members = [source_members(s) for s in examples.meta["source"]]
    scores: dict[str, float] = {}
    for source in sorted({m for ms in members for m in ms}):
        rows = np.array([source in ms for ms in members], dtype=bool)
        if rows.sum() >= min_titles:
            scores[source] = known_macro_f1(
                labels[rows], predicted[rows], None if known is None else known[rows]
            )
    if len(scores) < 2:
        return pooled, scores
    return float(np.mean(list(scores.values()))), scores


def settings_key(model: GenreModel, code_version: str) -> str:
    """What a training run depends on apart from its data: the model's kind and settings
    (before fitting) and the code. A version with the same key differs only in what it saw."""
    basis = json.dumps(
        {"model": model.name, "config": model.config, "code_version": code_version},
        sort_keys=True, default=str,
    )  # fmt: skip
    return hashlib.sha256(basis.encode("utf-8")).hexdigest()


def split_titles(split: SplitResult) -> int:
    return len(split.train) + len(split.validation) + len(split.test)


def _as_trained(model: GenreModel, version: ModelVersion) -> TrainedModel:
    metrics = version.metrics
    validation = {
        k: float(metrics[f"validation_{k}"]) for k in ("macro_f1", "micro_f1", "samples_f1")
    }
    return TrainedModel(
        model.name, version, dict(version.extra.get("report") or {}), validation,
        float(metrics.get("train_seconds", 0.0)), dict(version.extra.get("tracking") or {}),
        reused=True,
    )  # fmt: skip


def find_recent(
    model: GenreModel,
    split: SplitResult,
    registry: ModelRegistry,
    *,
    code_version: str,
    min_new_titles: int,
) -> tuple[TrainedModel | None, str]:
    """The retraining rule for new data: the newest intact version with the same
    :func:`settings_key`, trained on an earlier state of this same split lineage
    (``SplitResult.lineage``: titles kept their parts since, so none of its training
    titles is in today's test split) with the same genres, while fewer than
    ``min_new_titles`` titles have been added or removed since. Returns it (None: train)
    and why, in words."""
    threshold = max(1, int(min_new_titles))
    if not split.lineage:
        return None, "the split has no lineage to compare with"
    key = settings_key(model, code_version)
    for version in reversed(registry.list_versions(model.name)):
        if version.extra.get("settings_key") != key:
            continue
        if version.extra.get("split_lineage") != split.lineage:
            return None, (
                f"version {version.version} was trained on another split lineage "
                "(a fresh split: new seed, or no stored assignment)"
            )
        genres = list(version.extra.get("genres") or [])
        if genres != list(split.genres):
            added = sorted(set(split.genres) - set(genres))
            removed = sorted(set(genres) - set(split.genres))
            return None, (
                f"the genres changed since version {version.version}"
                + (f": now also {', '.join(added)}" if added else "")
                + (f"; no longer {', '.join(removed)}" if removed else "")
            )
        changed = abs(split_titles(split) - int(version.extra.get("split_titles", -(10**9))))
        if changed >= threshold:
            return None, (
                f"{changed} titles added or removed (net) since version {version.version} "
                f"was trained (the rule retrains at {threshold})"
            )
        try:
            registry.verify(version)
        except RegistryCorruptError:
            return None, f"version {version.version} is damaged"
        return _as_trained(model, version), (
            f"{changed} titles added or removed (net) since it was trained, "
            f"under the {threshold} that retrain (TRENDING_RETRAIN_MIN_NEW_TITLES)"
        )
    return None, "no earlier version with these settings and code"


def find_trained(
    model: GenreModel, split: SplitResult, registry: ModelRegistry, *, code_version: str
) -> TrainedModel | None:
    """The newest registered version trained with the same :func:`training_key` (and an
    intact artifact), as a :class:`TrainedModel`; None when this training never ran.

    Nothing that version depends on has changed, so training again would only spend the
    time and add a duplicate version: a rerun on unchanged data reuses it.
    """
    key = training_key(model, split, code_version)
    for version in reversed(registry.list_versions(model.name)):
        if version.extra.get("training_key") != key:
            continue
        try:
            registry.verify(version)
        except RegistryCorruptError:
            continue  # moved aside: look further back, else train
        return _as_trained(model, version)
    return None


def train_and_register(
    model: GenreModel,
    split: SplitResult,
    registry: ModelRegistry,
    *,
    code_version: str,
    track: Callable[[GenreModel, dict[str, float], Path, dict[str, Any]], dict[str, Any]]
    | None = None,
) -> TrainedModel:
    """Fit on train (thresholds tuned on validation), score on validation, register the artifact.

    ``track(model, metrics, model_dir, report)`` records the run (W&B): the saved model
    directory, the validation metrics and the fit's own report (its per-epoch ``history``,
    when it has one, becomes training curves).
    """
    # before fit: fitting fills in config
    key, settings = training_key(model, split, code_version), settings_key(model, code_version)
    started = time.monotonic()
    report = model.fit(split.train, split.validation)
    train_seconds = time.monotonic() - started
    proba = predict_proba_typed(model, split.validation.texts, title_types_of(split.validation))
    predicted = known_only(
        aligned(apply_thresholds(proba, model.thresholds), model.genres, split.genres),
        split.validation,
    )
    validation = evaluate(split.validation.labels, predicted, split.genres)
    balanced, by_source = source_balanced_macro_f1(
        split.validation.labels, predicted, split.validation
    )
    metrics = {
        **_scores(validation, "validation"),
        GATE_METRIC: float(balanced),
        "train_seconds": round(train_seconds, 2),
    }
    report = {**(report or {}), "validation_by_source": by_source}
    with tempfile.TemporaryDirectory(prefix=f"model-{model.name}-") as tmp:
        model_dir = Path(tmp) / model.name
        model.save(model_dir)
        tracking = track(model, metrics, model_dir, report or {}) if track else {}
        card = model_card(
            model.name, "(registering)", {**validation, "validation_macro_f1": validation["macro_f1"]},
            split.summary(), split.fingerprint, model.config,
            KNOWN_LIMITS.get(model.name, []) + COMMON_LIMITS,
        )  # fmt: skip
        version = registry.register(
            model.name, model_dir, metrics=metrics, card=card, fingerprint=split.fingerprint,
            code_version=code_version,
            extra={"config": model.config, "report": report, "tracking": tracking,
                   "training_key": key, "settings_key": settings,
                   "split_lineage": split.lineage, "split_titles": split_titles(split),
                   "genres": list(split.genres)},
        )  # fmt: skip
    return TrainedModel(model.name, version, report, validation, train_seconds, tracking)


def _json_value(value: Any) -> Any:
    """numpy scalars and arrays as their plain values (so they read back as numbers)."""
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def _evaluation_key(version: ModelVersion) -> str:
    return version.card_key.rsplit("/", 1)[0] + "/evaluation.json"


def stored_evaluation(
    registry: ModelRegistry, version: ModelVersion, split: SplitResult, code_version: str = ""
) -> Evaluation | None:
    """The evaluation stored beside ``version`` when it scored this same artifact on the
    same test examples (``SplitResult.test_fingerprint``: a day whose new titles all went
    to training or validation keeps it) under the same ``code_version`` (the caller's hash
    of the ML code, which covers metrics, slices, behaviour checks and cards); else None
    (also for an unreadable file). An evaluation stored before test fingerprints needs the
    same whole split."""
    key = _evaluation_key(version)
    if not registry.lake.exists(key):  # (an S3 lake raises its own error for a missing key)
        return None
    try:
        stored = json.loads(registry.lake.read_bytes(key))
        same_test = (
            stored["test_fingerprint"] == split.test_fingerprint()
            if "test_fingerprint" in stored
            else stored.get("fingerprint") == split.fingerprint
        )
        fits = (
            same_test
            and stored.get("artifact_sha256") == version.artifact_sha256
            and stored.get("code_version", "") == code_version
        )
        if not fits:
            return None
        return Evaluation(
            version.name, version, stored["test"], pd.DataFrame(stored["slices"]),
            registry.card(version), list(stored["behaviour_failures"]), reused=True,
        )  # fmt: skip
    except (FileNotFoundError, OSError, ValueError, KeyError, TypeError):
        return None


def evaluate_on_test(
    registry: ModelRegistry,
    version: ModelVersion,
    split: SplitResult,
    *,
    reuse: bool = True,
    code_version: str = "",
    vectors: Callable[[], Any] | None = None,
) -> Evaluation:
    """Load the registered artifact (what would be served) and score it on the test split.

    With ``reuse``, an evaluation stored for the same artifact, split and evaluation code is
    read back instead (a re-run with unchanged models costs no scoring). ``vectors`` gives
    a ``CacheBackedEmbedder`` (called only when the model is scored) that serves the plots'
    vectors to the parts of the model that embed with the same encoder settings."""
    if reuse and (stored := stored_evaluation(registry, version, split, code_version)):
        return stored
    with tempfile.TemporaryDirectory(prefix=f"eval-{version.name}-") as tmp:
        model = load_model(registry.fetch(version, Path(tmp) / version.name))
        if vectors is not None:
            read_vectors_through(model, vectors())
        predicted = apply_thresholds(
            predict_proba_typed(model, split.test.texts, title_types_of(split.test)),
            model.thresholds,
        )
        failures = servable_problems(model)
    predicted = known_only(aligned(predicted, model.genres, split.genres), split.test)
    test = evaluate(split.test.labels, predicted, split.genres)
    test[GATE_METRIC.replace("validation_", "test_")] = source_balanced_macro_f1(
        split.test.labels, predicted, split.test
    )[0]
    slices = slice_metrics(split.test.labels, predicted, split.genres, split.test.meta)
    card = model_card(
        version.name, version.version,
        {**test, "validation_macro_f1": version.metrics.get("validation_macro_f1"), "slices": slices},
        split.summary(), version.fingerprint, version.extra.get("config", {}),
        KNOWN_LIMITS.get(version.name, []) + COMMON_LIMITS,
    )  # fmt: skip
    # The card in the registry gains the test figures; the evaluation is stored beside it.
    registry.lake.write_bytes(version.card_key, card.encode("utf-8"))
    registry.lake.write_bytes(
        _evaluation_key(version),
        json.dumps(
            {
                "test": test, "slices": slices.to_dict(orient="records"),
                "behaviour_failures": failures, "fingerprint": split.fingerprint,
                "test_fingerprint": split.test_fingerprint(),
                "artifact_sha256": version.artifact_sha256,
                "code_version": code_version,
            },
            default=_json_value,
        ).encode(),
    )  # fmt: skip
    return Evaluation(version.name, version, test, slices, card, failures)


def unservable_versions(
    registry: ModelRegistry, evaluations: Sequence[Evaluation]
) -> dict[str, str]:
    """Version -> why it may not be served, for the evaluated challengers and the current
    champion (loaded and checked here when it is not one of them)."""
    problems = {
        e.version.version: "; ".join(e.behaviour_failures)
        for e in evaluations
        if e.behaviour_failures
    }
    current = registry.champion(verify=True)
    if current is not None and current.version not in {e.version.version for e in evaluations}:
        with tempfile.TemporaryDirectory(prefix=f"check-{current.name}-") as tmp:
            model = load_model(registry.fetch(current, Path(tmp) / current.name))
            failures = servable_problems(model)
        if failures:
            problems[current.version] = "; ".join(failures)
    return problems


def servable_problems(model: GenreModel) -> list[str]:
    """What would make ``model`` wrong to serve whatever its F1: a genre it predicts for
    (nearly) every one of a set of varied plots (``behaviour.check_no_universal_genre``),
    as "Soap" once was. Empty when it may be served."""
    from trending_assets.lib.ml.behaviour import check_no_universal_genre

    results = check_no_universal_genre(model.predict_proba, model.genres, model.thresholds)
    return [r.detail for r in results if not r.passed]


def _with_metric(version: ModelVersion | None, metric: str) -> ModelVersion | None:
    """``version`` with the gate metric filled in from validation macro F1 where it lacks it."""
    if version is None or metric in version.metrics or metric != GATE_METRIC:
        return version
    fallback = version.metrics.get("validation_macro_f1")
    if fallback is None:
        return version
    return replace(version, metrics={**version.metrics, metric: fallback})


def choose_champion(
    registry: ModelRegistry,
    challengers: Sequence[ModelVersion],
    *,
    floor: float,
    min_improvement: float = 0.0,
    metric: str = GATE_METRIC,
    unservable: Mapping[str, str] | None = None,
) -> tuple[ModelVersion | None, PromotionDecision, ModelVersion | None]:
    """The best challenger (by validation metric) against the current champion, through the gate.

    The metric is the source-balanced validation macro F1 (``GATE_METRIC``); a version
    registered before it existed is compared on its plain validation macro F1.

    Returns (champion after the decision, the decision, the challenger considered). The
    current champion is verified first (its ``meta.json`` and artifact checksum): one that is
    corrupt is moved aside and the previous good champion, or none, stands in for it, so a
    damaged registry never blocks the gate. ``unservable`` maps versions to why they may
    not be served (``servable_problems``): such challengers are not considered (unless none
    is servable and there is no champion at all: then the best is served, its problem named
    in the reason), and such a champion does not hold off a challenger that clears the floor.
    """
    current = registry.champion(verify=True)
    originals = {(v.name, v.version): v for v in [*challengers, current] if v is not None}
    champion, decision, considered = _gate(
        registry,
        _with_metric(current, metric),
        [v for v in (_with_metric(c, metric) for c in challengers) if v is not None],
        floor=floor, min_improvement=min_improvement, metric=metric, unservable=unservable,
    )  # fmt: skip

    def original(version: ModelVersion | None) -> ModelVersion | None:
        return None if version is None else originals.get((version.name, version.version))

    return original(champion), decision, original(considered)


def _gate(
    registry: ModelRegistry,
    current: ModelVersion | None,
    challengers: Sequence[ModelVersion],
    *,
    floor: float,
    min_improvement: float,
    metric: str,
    unservable: Mapping[str, str] | None,
) -> tuple[ModelVersion | None, PromotionDecision, ModelVersion | None]:
    """``choose_champion`` on versions that all carry ``metric``."""
    unservable = dict(unservable or {})
    if not challengers:
        return current, PromotionDecision(False, "no challenger was trained"), None
    servable = [v for v in challengers if v.version not in unservable]
    if not servable:
        reasons = "; ".join(f"{v.name}: {unservable[v.version]}" for v in challengers)
        if current is not None:
            decision = PromotionDecision(False, f"no challenger may be served ({reasons})")
            return current, decision, None
        # No champion at all (a first run on a tiny catalogue): serving the best model, with
        # its problem named, beats serving nothing; the next sound challenger replaces it.
        servable = list(challengers)
    best = max(servable, key=lambda v: float(v.metrics.get(metric, float("-inf"))))
    # A champion that fails the same behaviour test is no bar to beat: it is replaced by
    # any challenger that clears the floor.
    bar = None if current is not None and current.version in unservable else current
    decision = decide_promotion(
        bar, best, metric=metric, floor=floor, min_improvement=min_improvement
    )
    if decision.promote and best.version in unservable:
        decision = PromotionDecision(
            True, f"{decision.reason}; served although no challenger passes the behaviour "
            f"check ({unservable[best.version]}), as there is no champion",
        )  # fmt: skip
    elif bar is None and current is not None and decision.promote:
        decision = PromotionDecision(
            True, f"{decision.reason}; the champion {current.name} {current.version} "
            f"may not be served ({unservable[current.version]})",
        )  # fmt: skip
    if decision.promote:
        registry.set_champion(best, decision.reason)
        return best, decision, best
    return current, decision, best


def predict_titles(
    model: GenreModel,
    ids: Sequence[str],
    texts: Sequence[str],
    title_types: Sequence[str | None] | None = None,
) -> pd.DataFrame:
    """Long table: one row per (title, genre) with the probability and the thresholded call.

    ``title_types`` ("movie" / "tv" per title; None where unknown) reach the models that
    take the type as an input, and a genre that does not apply to a title's type is never
    predicted for it (``models.predict_proba_typed``).
    """
    proba = (
        predict_proba_typed(model, list(texts), title_types)
        if len(texts)
        else np.zeros((0, len(model.genres)))
    )
    predicted = apply_thresholds(proba, model.thresholds) if len(texts) else proba.astype(bool)
    n, g = proba.shape
    return pd.DataFrame(
        {
            "title_id": np.repeat(np.asarray(ids, dtype=object), g),
            "genre_id": np.tile(np.asarray(model.genres, dtype=object), n),
            "probability": proba.reshape(-1).astype(float).round(4),
            "predicted": predicted.reshape(-1).astype(bool),
        }
    )
