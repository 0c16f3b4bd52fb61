"""Genre classification: features, the training split, four models and their ensemble,
evaluation and the champion."""

import functools
import hashlib
import io
import json
import tempfile
import time
from pathlib import Path

import dagster as dg
import numpy as np
import pandas as pd
from dagster_duckdb import DuckDBResource

from trending_assets.defs.resources import WAREHOUSE_POOL, GenreModelsResource, LakeResource
from trending_assets.defs.shared import FULL_RUN_TAG, step_progress
from trending_assets.defs.warehouse.assets import (
    GENRE_MAPS_MODEL,
    TITLE_GENRES,
    TITLES,
    dbt_key,
)
from trending_assets.lib.lake import write_parquet
from trending_assets.lib.ml.data import examples_from_marts, vocabulary_maps_from_frame
from trending_assets.lib.ml.embeddings import PLOT_EMBEDDING_CACHE_KEY
from trending_assets.lib.ml.features import TfidfFeaturizer
from trending_assets.lib.ml.lifecycle import (
    GATE_METRIC,
    Evaluation,
    TrainedModel,
    choose_champion,
    evaluate_on_test,
    find_recent,
    find_trained,
    train_and_register,
    unservable_versions,
)
from trending_assets.lib.ml.registry import ModelRegistry, ModelVersion
from trending_assets.lib.ml.split import (
    SplitResult,
    assignment_record,
    make_split,
    read_assignment,
)
from trending_assets.lib.profiling import png_markdown
from trending_assets.lib.tracking import alias_champion, log_evaluation_run, log_training_run

ML_SOURCE_DIR = Path(__file__).resolve().parents[2] / "lib" / "ml"
# Modules that decide *when* to train, not *how*: editing them changes no model.
NOT_MODEL_CODE = frozenset({"retraining.py"})


def ml_code_version() -> str:
    """A hash of the ML code: a change to it is a new code version of every model asset."""
    digest = hashlib.sha256()
    for path in sorted(ML_SOURCE_DIR.glob("*.py")):
        if path.name in NOT_MODEL_CODE:
            continue
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


CODE_VERSION = ml_code_version()
GENRE_MAPS = dbt_key(GENRE_MAPS_MODEL)
# The last split's assignment (title id -> part), which the next split keeps.
SPLIT_ASSIGNMENT_KEY = "training/split_assignment.json"


def read_marts(warehouse: DuckDBResource) -> tuple[pd.DataFrame, pd.DataFrame]:
    with warehouse.get_connection() as con:
        titles = con.execute(
            "select title_id, title, plot, title_type, original_language, sources, "
            "genre_vocabularies from titles"
        ).df()
        title_genres = con.execute("select title_id, genre_id from title_genres").df()
    return titles, title_genres


def read_vocabulary_maps(warehouse: DuckDBResource) -> dict[str, dict[str, list[str]]]:
    """The genre maps as dbt applied them (``int_genre_maps_unioned``), by vocabulary."""
    with warehouse.get_connection() as con:
        frame = con.execute(
            f"select genre_vocabulary, source_genre_key, genre_id from {GENRE_MAPS_MODEL}"
        ).df()
    return vocabulary_maps_from_frame(frame)


@dg.asset(
    group_name="models",
    deps=[TITLES, TITLE_GENRES, GENRE_MAPS],
    kinds={"python", "pandas"},
    pool=WAREHOUSE_POOL,
    code_version=CODE_VERSION,
)
def training_set(
    context: dg.AssetExecutionContext,
    warehouse: DuckDBResource,
    lake: LakeResource,
    genre_models: GenreModelsResource,
) -> SplitResult:
    """A reproducible multi-label train/validation/test split of the titles' plots and genres.

    Every labelled source trains, each on what it can say: a genre that none of a title's
    genre vocabularies can express is unknown for it, not negative (``known`` label masks,
    which the models fit and are scored by); ``masked_cells`` counts them.

    The split stays put (``lib/ml/split.py``): a title keeps the part it had in the last
    split (stored in the lake), new titles are stratified among themselves, so a model
    kept under the retraining rule is never tested on its own training titles.
    """
    titles, title_genres = read_marts(warehouse)
    examples, exclusions = examples_from_marts(
        titles, title_genres, vocabulary_maps=read_vocabulary_maps(warehouse)
    )
    store = lake.get_lake()
    previous = read_assignment(
        store.read_bytes(SPLIT_ASSIGNMENT_KEY) if store.exists(SPLIT_ASSIGNMENT_KEY) else None,
        seed=genre_models.split_seed,
    )
    split = make_split(
        examples,
        seed=genre_models.split_seed,
        min_genre_count=genre_models.min_genre_count,
        previous=previous[0] if previous else None,
    )
    split.lineage = previous[1] if previous and split.kept_assignment else split.fingerprint
    store.write_bytes(SPLIT_ASSIGNMENT_KEY, assignment_record(split))
    summary = split.summary()
    per_split = pd.DataFrame(summary["genre_counts"]).fillna(0).astype(int)
    context.add_output_metadata(
        {
            "fingerprint": split.fingerprint,
            "sizes": dg.MetadataValue.json(summary["sizes"]),
            "kept_assignment": split.kept_assignment,
            "lineage": split.lineage[:12],
            "genres": len(split.genres),
            "dropped_genres": dg.MetadataValue.json(split.dropped_genres),
            "excluded": dg.MetadataValue.json({**exclusions, **split.excluded}),
            "genre_counts": dg.MetadataValue.md(per_split.to_markdown()),
            "masked_cells": sum(
                int((~part.known).sum())
                for part in (split.train, split.validation, split.test)
                if part.known is not None
            ),
            "dagster/row_count": sum(summary["sizes"].values()),
        }
    )
    return split


@dg.asset(group_name="features", kinds={"scikit-learn"}, code_version=CODE_VERSION)
def tfidf_features(context: dg.AssetExecutionContext, training_set: SplitResult) -> TfidfFeaturizer:
    """Word + character n-gram TF-IDF, fitted on the training split only (stored by the IO
    manager with every other model input; the logistic regression transforms with it)."""
    featurizer = TfidfFeaturizer().fit(training_set.train.texts)
    context.add_output_metadata(
        {
            "vocabulary_size": featurizer.vocabulary_size,
            "fitted_on": len(training_set.train),
            "config": dg.MetadataValue.json(featurizer.config),
        }
    )
    return featurizer


@dg.asset(
    group_name="features",
    deps=[TITLES],
    kinds={"pytorch", "parquet"},
    pool=WAREHOUSE_POOL,
    code_version=CODE_VERSION,
)
def text_embeddings(
    context: dg.AssetExecutionContext, warehouse: DuckDBResource, lake: LakeResource
) -> pd.DataFrame:
    """MiniLM sentence embeddings of every plot; only new or changed texts are embedded."""
    from trending_assets.lib.ml.embeddings import (
        configured_embedder,
        embed_incremental,
        load_embedding_cache,
    )

    with warehouse.get_connection() as con:
        titles = con.execute(
            "select title_id, coalesce(plot, title) as text from titles order by title_id"
        ).df()
    store = lake.get_lake()
    cache_key = PLOT_EMBEDDING_CACHE_KEY
    # A corrupt cache file is moved aside, corrupt entries are dropped and re-embedded.
    cache = load_embedding_cache(store, cache_key)
    started = time.monotonic()
    result = embed_incremental(
        titles["title_id"].tolist(),
        titles["text"].tolist(),
        configured_embedder(progress=step_progress(context)),
        cache,
        cache_name=store.uri(cache_key),
    )
    elapsed = time.monotonic() - started
    for problem in result.problems:
        context.log.warning(problem)
    write_parquet(store, cache_key, result.cache)
    # The IO manager stores the frame on the lake (Parquet) for the snapshot and the search.
    frame = pd.DataFrame(
        {"title_id": titles["title_id"], "embedding": [v.tolist() for v in result.vectors]}
    )
    new = int(result.stats.get("new", 0))
    context.add_output_metadata(
        {
            "dagster/row_count": len(frame),
            "embedded_now": new,
            "reused_from_cache": int(result.stats.get("reused", 0)),
            "dropped_from_cache": int(result.stats.get("dropped_from_cache", 0)),
            "invalid_vectors": int(result.stats.get("invalid", 0)),
            "dimensions": int(result.vectors.shape[1]) if len(frame) else 0,
            "texts_per_second": round(new / elapsed, 1) if new and elapsed > 0 else 0.0,
        }
    )
    return frame


def _train(
    context: dg.AssetExecutionContext,
    model,
    split: SplitResult,
    lake: LakeResource,
    genre_models: GenreModelsResource,
) -> TrainedModel:
    """Fit, score on validation, log to W&B and register: the same steps for every model."""

    def track(fitted, metrics: dict[str, float], model_dir: Path, report: dict) -> dict:
        run = log_training_run(
            project=genre_models.wandb_project,
            name=f"{fitted.name}-{split.fingerprint[:8]}",
            group="genre-models",
            config={**fitted.config, "model": fitted.name, "fingerprint": split.fingerprint,
                    "code_version": CODE_VERSION, "sizes": split.summary()["sizes"]},
            metrics=metrics,
            history=report.get("history"),
            artifact_dir=model_dir,
            artifact_name=f"genre-model-{fitted.name}",
            root=Path(genre_models.wandb_dir),
        )  # fmt: skip
        return {"run_id": run.run_id, "mode": run.mode, "url": run.url, "directory": run.directory}

    registry = ModelRegistry(lake.get_lake())
    full = context.run.tags.get(FULL_RUN_TAG) == "true"
    trained = None if full else find_trained(model, split, registry, code_version=CODE_VERSION)
    if full:
        why = "a full run (FULL=1) retrains"
    elif trained is not None:
        why = f"trained on this same split ({split.fingerprint[:8]})"
    else:
        trained, why = find_recent(
            model, split, registry, code_version=CODE_VERSION,
            min_new_titles=genre_models.retrain_min_new_titles,
        )  # fmt: skip
    if trained is not None:
        decision = f"kept version {trained.version.version}: {why}"
        context.log.info(
            f"{model.name}: {decision}, with the same settings and code; "
            "`make materialize FULL=1` retrains"
        )
    else:
        decision = f"trained: {why}"
        context.log.info(f"{model.name}: {decision}")
        trained = train_and_register(model, split, registry, code_version=CODE_VERSION, track=track)
    wandb_ref = trained.tracking.get("url") or trained.tracking.get("directory", "")
    context.add_output_metadata(
        {
            "version": trained.version.version,
            "validation_macro_f1": round(trained.validation["macro_f1"], 4),
            "validation_micro_f1": round(trained.validation["micro_f1"], 4),
            "validation_samples_f1": round(trained.validation["samples_f1"], 4),
            GATE_METRIC: round(
                float(trained.version.metrics.get(GATE_METRIC, trained.validation["macro_f1"])), 4
            ),
            "train_seconds": round(trained.train_seconds, 1),
            "reused": trained.reused,
            "training_decision": decision,
            "fingerprint": split.fingerprint,
            "config": dg.MetadataValue.json(json.loads(json.dumps(model.config, default=str))),
            "wandb_run": dg.MetadataValue.url(wandb_ref)
            if trained.tracking.get("url")
            else dg.MetadataValue.path(wandb_ref),
            "artifact": dg.MetadataValue.path(registry.lake.uri(trained.version.artifact_key)),
        }
    )
    return trained


@dg.asset(group_name="models", kinds={"python"}, code_version=CODE_VERSION)
def genre_model_keyword(
    context: dg.AssetExecutionContext,
    training_set: SplitResult,
    lake: LakeResource,
    genre_models: GenreModelsResource,
) -> TrainedModel:
    """Baseline: a genre keyword lexicon (expanded from the training split), thresholds tuned."""
    from trending_assets.lib.ml.keyword import KeywordGenreModel

    return _train(context, KeywordGenreModel(), training_set, lake, genre_models)


@dg.asset(group_name="models", kinds={"scikit-learn"}, code_version=CODE_VERSION)
def genre_model_logreg(
    context: dg.AssetExecutionContext,
    training_set: SplitResult,
    tfidf_features: TfidfFeaturizer,
    lake: LakeResource,
    genre_models: GenreModelsResource,
) -> TrainedModel:
    """TF-IDF + one-vs-rest logistic regression with balanced class weights (and the title
    type as one more input column unless TRENDING_TITLE_TYPE_FEATURE=false)."""
    from trending_assets.lib.ml.models import LogRegGenreModel

    model = LogRegGenreModel(tfidf_features, title_type_feature=genre_models.title_type_feature)
    return _train(context, model, training_set, lake, genre_models)


@dg.asset(group_name="models", kinds={"xgboost"}, code_version=CODE_VERSION)
def genre_model_xgboost(
    context: dg.AssetExecutionContext,
    training_set: SplitResult,
    lake: LakeResource,
    genre_models: GenreModelsResource,
) -> TrainedModel:
    """Word TF-IDF (optionally + MiniLM embeddings) + XGBoost, with a small hyperparameter search.

    Trees get their own word-level TF-IDF (20k features) rather than the shared word + char
    matrix: on ~80k sparse char n-gram columns, histogram building makes each booster many
    times slower with no gain in validation F1.
    """
    from trending_assets.lib.ml.models import DEFAULT_XGB_SEARCH, XGBoostGenreModel

    embedder = None
    if genre_models.xgboost_use_embeddings:
        from trending_assets.lib.ml.embeddings import configured_embedder

        embedder = configured_embedder()
    search = DEFAULT_XGB_SEARCH[: max(1, genre_models.xgboost_search_size)]
    model = XGBoostGenreModel(
        embedder=embedder,
        search=search,
        num_boost_round=genre_models.xgboost_rounds,
        title_type_feature=genre_models.title_type_feature,
        progress=step_progress(context),
    )
    return _train(context, model, training_set, lake, genre_models)


@dg.asset(group_name="models", kinds={"pytorch"}, code_version=CODE_VERSION)
def genre_model_bert(
    context: dg.AssetExecutionContext,
    training_set: SplitResult,
    lake: LakeResource,
    genre_models: GenreModelsResource,
) -> TrainedModel:
    """MiniLM fine-tuned with a multi-label head (its lowest layers frozen, by default);
    early stopping on validation."""
    from trending_assets.lib.ml.embeddings import configured_encoder_path
    from trending_assets.lib.ml.finetune import EncoderGenreModel

    model = EncoderGenreModel(
        model_path=configured_encoder_path(),  # None: the packaged MiniLM
        epochs=genre_models.bert_epochs,
        max_length=genre_models.bert_max_length,
        lr=genre_models.bert_lr,
        head_lr=genre_models.bert_head_lr,
        batch_size=genre_models.bert_batch_size,
        row_cap=genre_models.bert_row_cap,
        frozen_layers=genre_models.bert_frozen_layers,
        seed=genre_models.split_seed,
        progress=step_progress(context),
    )
    return _train(context, model, training_set, lake, genre_models)


@dg.asset(group_name="models", kinds={"python"}, code_version=CODE_VERSION)
def genre_model_ensemble(
    context: dg.AssetExecutionContext,
    training_set: SplitResult,
    genre_model_keyword: TrainedModel,
    genre_model_logreg: TrainedModel,
    genre_model_xgboost: TrainedModel,
    genre_model_bert: TrainedModel,
    lake: LakeResource,
    genre_models: GenreModelsResource,
) -> TrainedModel:
    """The mean of the registered models named by TRENDING_ENSEMBLE_MEMBERS (default: the
    logistic regression and XGBoost, a linear model and trees that err on different
    titles), with its own thresholds tuned on validation. The members are the versions
    registered upstream, not retrained; a new member version is a new ensemble (its
    ``member_versions``).

    With TRENDING_ZEROSHOT_GENRES (default), a third member scores every genre of the
    taxonomy from its description (``lib/ml/zeroshot.py``), fitted here on the same split
    when the ensemble is trained: the ensemble then also calls the genres no training title
    carried (``kids`` or ``reality`` for the series of a catalogue of movies). It reads the
    plots' MiniLM vectors from ``text_embeddings``' cache when they are there and embeds
    the rest. The cache is a memo, not an input: a vector is the encoder's whatever its
    source, so ``text_embeddings`` is no upstream here, and a crawl day's new embeddings do
    not make the ensemble (a training asset's follower) stale."""
    from trending_assets.lib.ml.models import AveragedEnsembleGenreModel, load_model

    registry = ModelRegistry(lake.get_lake())
    members, versions = [], []
    with tempfile.TemporaryDirectory(prefix="ensemble-members-") as tmp:
        registered = {
            "keyword": genre_model_keyword, "logreg": genre_model_logreg,
            "xgboost": genre_model_xgboost, "bert": genre_model_bert,
        }  # fmt: skip
        for name in genre_models.ensemble_members:
            version = registered[name].version
            members.append(load_model(registry.fetch(version, Path(tmp) / version.name)))
            versions.append(f"{version.name}@{version.version}")
        fit_members = [False] * len(members)
        zeroshot_on = genre_models.zeroshot_genres and _zeroshot_can_calibrate(
            context, training_set
        )
        if zeroshot_on:
            from trending_assets.lib.ml.embeddings import plot_vector_cache
            from trending_assets.lib.ml.zeroshot import ZeroShotGenreModel

            embedder = plot_vector_cache(lake.get_lake())
            zeroshot = ZeroShotGenreModel(
                embedder,
                embedder_config={
                    "class": "trending_assets.lib.ml.embeddings:SentenceEmbedder",
                    "kwargs": embedder.config,
                },
            )
            members.append(zeroshot)
            versions.append(f"{zeroshot.name}@{zeroshot.config['descriptions']}")
            fit_members.append(True)
        model = AveragedEnsembleGenreModel(
            members, refit_members=fit_members, member_versions=versions
        )
        trained = _train(context, model, training_set, lake, genre_models)
    if zeroshot_on and not trained.reused:
        context.add_output_metadata({"zeroshot_embeddings": dg.MetadataValue.json(embedder.stats)})
    return trained


def _zeroshot_can_calibrate(context: dg.AssetExecutionContext, split: SplitResult) -> bool:
    """Whether some genre has the training positives the zero-shot member calibrates on
    (a catalogue too small for it leaves the member out, and says so, rather than fail)."""
    from trending_assets.lib.ml.zeroshot import MIN_TRAIN_POSITIVES

    positives = (split.train.labels.astype(bool) & split.train.known_mask()).sum(axis=0)
    if int(positives.max(initial=0)) >= MIN_TRAIN_POSITIVES:
        return True
    context.log.warning(
        f"genre_model_ensemble: no genre has {MIN_TRAIN_POSITIVES} training titles, so the "
        "zero-shot member is left out of this ensemble"
    )
    return False


def _f1_chart(evaluations: dict[str, Evaluation]) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    frames = [
        pd.DataFrame(e.test["per_genre"]).assign(model=name) for name, e in evaluations.items()
    ]
    table = pd.concat(frames).pivot(index="genre", columns="model", values="f1").fillna(0.0)
    fig, ax = plt.subplots(figsize=(10, 4))
    width = 0.8 / max(len(table.columns), 1)
    x = np.arange(len(table.index))
    for i, model in enumerate(table.columns):
        ax.bar(x + i * width, table[model], width, label=model)
    ax.set_xticks(x + width * (len(table.columns) - 1) / 2, table.index, rotation=60, ha="right")
    ax.set_ylabel("test F1")
    ax.set_ylim(0, 1)
    ax.legend(ncols=len(table.columns), fontsize="small")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80)
    plt.close(fig)
    return buffer.getvalue()


@dg.asset(group_name="models", kinds={"python"}, code_version=CODE_VERSION)
def model_evaluation(
    context: dg.AssetExecutionContext,
    training_set: SplitResult,
    genre_model_keyword: TrainedModel,
    genre_model_logreg: TrainedModel,
    genre_model_xgboost: TrainedModel,
    genre_model_bert: TrainedModel,
    genre_model_ensemble: TrainedModel,
    lake: LakeResource,
    genre_models: GenreModelsResource,
) -> dict[str, Evaluation]:
    """Every model on the held-out test split: F1s, per-genre scores, slices and model cards."""
    registry = ModelRegistry(lake.get_lake())
    trained = [
        genre_model_keyword, genre_model_logreg, genre_model_xgboost, genre_model_bert,
        genre_model_ensemble,
    ]  # fmt: skip
    full = context.run.tags.get(FULL_RUN_TAG) == "true"
    from trending_assets.lib.ml.embeddings import plot_vector_cache

    # The plots' vectors from text_embeddings' cache (a memo, as in genre_model_ensemble),
    # read once, when a model is scored rather than read back.
    vectors = functools.cache(lambda: plot_vector_cache(lake.get_lake()))
    evaluations = {
        t.name: evaluate_on_test(
            registry,
            t.version,
            training_set,
            reuse=not full,
            code_version=CODE_VERSION,
            vectors=vectors,
        )  # fmt: skip
        for t in trained
    }
    for name, evaluation in evaluations.items():
        if evaluation.reused:  # scored (and logged) before: same artifact, same test split
            continue
        # Test scores in W&B beside the training run (same group), one run per version.
        log_evaluation_run(
            project=genre_models.wandb_project,
            name=f"{name}-{training_set.fingerprint[:8]}-test",
            group="genre-models",
            metrics={
                **{f"test_{k}": evaluation.test[k] for k in ("macro_f1", "micro_f1", "samples_f1")},
                "behaviour_failures": len(evaluation.behaviour_failures),
            },
            config={"model": name, "version": evaluation.version.version},
            root=Path(genre_models.wandb_dir),
        )
    comparison = pd.DataFrame(
        [
            {
                "model": name,
                "version": e.version.version,
                "validation_macro_f1": e.version.metrics.get("validation_macro_f1"),
                # what the champion gate compares (source-balanced; README, "Genre models")
                GATE_METRIC: e.version.metrics.get(
                    GATE_METRIC, e.version.metrics.get("validation_macro_f1")
                ),
                "test_macro_f1": e.test["macro_f1"],
                "test_micro_f1": e.test["micro_f1"],
                "test_samples_f1": e.test["samples_f1"],
            }
            for name, e in evaluations.items()
        ]
    ).round(4)
    best = max(evaluations.values(), key=lambda e: e.test["macro_f1"])
    context.add_output_metadata(
        {
            "comparison": dg.MetadataValue.md(comparison.to_markdown(index=False)),
            "scores": dg.MetadataValue.json(
                comparison.set_index("model").drop(columns="version").to_dict(orient="index")
            ),
            "per_genre_f1_chart": dg.MetadataValue.md(
                png_markdown(_f1_chart(evaluations), "per-genre F1")
            ),
            "slices_best_model": dg.MetadataValue.md(
                f"**{best.name}**\n\n" + best.slices.round(4).to_markdown(index=False)
                if len(best.slices)
                else "_no slice large enough_"
            ),
            "test_size": len(training_set.test),
            "reused": dg.MetadataValue.json(
                sorted(name for name, e in evaluations.items() if e.reused)
            ),
            **{f"card_{name}": dg.MetadataValue.md(e.card) for name, e in evaluations.items()},
        }
    )
    return evaluations


@dg.asset(group_name="models", kinds={"python"}, code_version=CODE_VERSION)
def champion_model(
    context: dg.AssetExecutionContext,
    model_evaluation: dict[str, Evaluation],
    lake: LakeResource,
    genre_models: GenreModelsResource,
) -> ModelVersion | None:
    """The served model. It changes only when a challenger beats it on the source-balanced
    validation macro F1 (``GATE_METRIC``: each source's titles scored on their own, then
    averaged, so one large catalogue does not decide alone) and passes the quality floor;
    otherwise the old champion stays, and this says why."""
    registry = ModelRegistry(lake.get_lake())
    # A model that predicts one genre for (nearly) every plot is never served, whatever
    # its F1 (lib/ml/lifecycle.py servable_problems).
    unservable = unservable_versions(registry, list(model_evaluation.values()))
    champion, decision, challenger = choose_champion(
        registry,
        [e.version for e in model_evaluation.values()],
        floor=genre_models.champion_floor,
        min_improvement=genre_models.champion_min_improvement,
        unservable=unservable,
    )
    if decision.promote and champion is not None:
        # The `champion` alias in W&B follows the registry's champion.
        with tempfile.TemporaryDirectory(prefix="champion-") as tmp:
            alias_champion(
                project=genre_models.wandb_project,
                group="genre-models",
                artifact_dir=registry.fetch(champion, Path(tmp) / champion.name),
                artifact_name=f"genre-model-{champion.name}",
                version=champion.version,
                reason=decision.reason,
                root=Path(genre_models.wandb_dir),
            )
    context.add_output_metadata(
        {
            "champion": f"{champion.name} {champion.version}" if champion else "none",
            "promoted": decision.promote,
            "decision": decision.reason,
            "challenger": f"{challenger.name} {challenger.version}" if challenger else "none",
            "floor": genre_models.champion_floor,
            "champion_validation_macro_f1": float(champion.metrics.get("validation_macro_f1", 0.0))
            if champion
            else 0.0,
            "gate_metric": GATE_METRIC,
            "champion_gate_score": float(
                champion.metrics.get(GATE_METRIC, champion.metrics.get("validation_macro_f1", 0.0))
            )
            if champion
            else 0.0,
            "history": dg.MetadataValue.json(registry.champion_history()),
            "not_servable": dg.MetadataValue.json(unservable),
            **_champion_links(champion, model_evaluation, registry),
        }
    )
    return champion


def _champion_links(
    champion: ModelVersion | None, evaluations: dict[str, Evaluation], registry: ModelRegistry
) -> dict[str, dg.MetadataValue]:
    """Where to read more about the champion: its test scores, card, W&B run and files."""
    if champion is None:
        return {}
    links: dict[str, dg.MetadataValue] = {
        "champion_artifact": dg.MetadataValue.path(registry.lake.uri(champion.artifact_key)),
        "champion_card_file": dg.MetadataValue.path(registry.lake.uri(champion.card_key)),
    }
    tracking = champion.extra.get("tracking") or {}
    if tracking.get("url"):
        links["champion_wandb_run"] = dg.MetadataValue.url(tracking["url"])
    elif tracking.get("directory"):
        links["champion_wandb_run"] = dg.MetadataValue.path(tracking["directory"])
    evaluation = evaluations.get(champion.name)
    if evaluation is not None and evaluation.version.version == champion.version:
        links["champion_test_scores"] = dg.MetadataValue.json(
            {k: round(float(evaluation.test[k]), 4) for k in ("macro_f1", "micro_f1", "samples_f1")}
        )
        links["champion_card"] = dg.MetadataValue.md(evaluation.card)
    return links
