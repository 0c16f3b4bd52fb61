"""Genre classification on real data: the four models, trained and tested the project's way.

    .venv/bin/python bench/genre_benchmark.py --data ../shared/data [--max-rows N]
        [--bert-epochs E] [--bert-max-length N] [--bert-lr X] [--bert-head-lr Y]
        [--bert-frozen-layers K] [--bert-seeds N]
        [--skip-bert] [--skip-xgboost] [--datasets tmdb,all] [--json OUT]
        [--protocol same-split|tmdb-to-streaming|streaming-to-tmdb|leave-one-source-out|
                    cross-source|all] [--loso-sources tmdb,netflix,hulu,disney_plus]
        [--year-tolerance 1] [--c-grid 1,2,4,8] [--embedding-cache /tmp/minilm.npz]

Protocols (``--protocol``, comma list; default ``same-split``):
  same-split            the datasets of ``--datasets``, split 70/15/15 (the figures so far);
  tmdb-to-streaming     train on TMDB 5000, test on Netflix+Hulu+Disney+ (sliced by
                        movie / TV and by platform);
  streaming-to-tmdb     train on the three streaming catalogues, test on TMDB 5000;
  leave-one-source-out  for each of tmdb, netflix, hulu, disney_plus: train on the other
                        three, test on it;
  cross-source          the two transfer protocols; ``all`` everything.
In the cross-source protocols a training title also present in a test source (same
normalised title, years within ``--year-tolerance``) is dropped from the training side
(counts printed), validation is carved from the training sources (stratified), and each
test title is scored only on the genres its source's vocabulary can express (a genre it
cannot express is unknown, not negative; ``lib/ml/crosssource.py``). Extra models there:
``logreg+emb3`` (embeddings weighted 3x), ``masked+emb`` (``lib/ml/masked.py``: several
sources at once, per-source label masks), ``+type`` variants (title type as a feature).
``--bert-seeds N`` fine-tunes the encoder N times with seeds 42, 43, ... (``bert``,
``bert#2``, ...) and adds the average of the N fine-tunes, alone and with the other
members, to the averages scored (a seed ensemble: the fine-tune's variance averaged out).

Datasets (read from --data, never copied into the repo):
  tmdb  TMDB 5000 (``tmdb_5000_movies.csv``), TMDb genres;
  all   TMDB 5000 + the Netflix, Hulu and Disney+ catalogues (``streaming/``), whose
        platform genres are mapped to the canonical taxonomy by the dbt seeds.

Everything goes through the project's code: ``datasets.load_listings``, the seeds'
genre maps (``data.load_genre_maps`` / ``examples_from_listing_frame``), ``make_split``
(iterative stratification, seed 42, 70/15/15), the models' own ``fit`` (settings and
thresholds chosen on validation) and ``metrics.evaluate`` on the test split.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import inspect
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

for _key, _value in {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "WANDB_MODE": "offline",
                     "TOKENIZERS_PARALLELISM": "false"}.items():  # fmt: skip
    os.environ.setdefault(_key, _value)

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from trending_assets.lib.datasets import load_listings  # noqa: E402
from trending_assets.lib.ml.crosssource import (  # noqa: E402
    calibration_table,
    cross_source_duplicates,
    expected_calibration_error,
    label_mask,
    masked_evaluate,
    source_members,
    title_key,
)
from trending_assets.lib.ml.data import (  # noqa: E402
    CANONICAL_GENRES,
    GenreExamples,
    examples_from_listing_frame,
    load_genre_maps,
)
from trending_assets.lib.ml.features import TfidfFeaturizer  # noqa: E402
from trending_assets.lib.ml.keyword import KeywordGenreModel  # noqa: E402
from trending_assets.lib.ml.lifecycle import aligned  # noqa: E402
from trending_assets.lib.ml.masked import MaskedLogRegGenreModel  # noqa: E402
from trending_assets.lib.ml.metrics import evaluate, slice_metrics  # noqa: E402
from trending_assets.lib.ml.models import (  # noqa: E402
    AveragedEnsembleGenreModel,
    GenreModel,
    LogRegGenreModel,
    XGBoostGenreModel,
    load_model,
)
from trending_assets.lib.ml.split import SplitResult, make_split  # noqa: E402
from trending_assets.lib.ml.zeroshot import ZeroShotGenreModel  # noqa: E402

STREAMING = ("netflix_titles.csv", "hulu_titles.csv", "disney_plus_titles.csv")
# Dense embedding columns make histogram building the cost: fewer bins, sampled columns.
XGB_EMBEDDING_SEARCH = [
    {"max_depth": 4, "learning_rate": 0.1, "colsample_bytree": 0.5, "max_bin": 64},
    {"max_depth": 2, "learning_rate": 0.2, "colsample_bytree": 0.5, "max_bin": 64},
]


def dataset_files(data: Path, name: str) -> list[Path]:
    files = [data / "tmdb_5000_movies.csv"]
    if name == "all":
        files += [data / "streaming" / f for f in STREAMING]
    return files


def load_examples(files: list[Path]) -> tuple[GenreExamples, dict[str, int]]:
    frames = []
    for path in files:
        result = load_listings(path)
        if len(result.rejects):
            print(f"  {path.name}: {len(result.rejects)} rows rejected by the loader")
        frames.append(result.frame)
    return examples_from_listing_frame(pd.concat(frames, ignore_index=True), load_genre_maps())


def cap_rows(examples: GenreExamples, max_rows: int | None, seed: int) -> GenreExamples:
    if not max_rows or len(examples) <= max_rows:
        return examples
    keep = np.sort(np.random.default_rng(seed).choice(len(examples), max_rows, replace=False))
    return examples.subset(keep)


def bert_model(epochs: int | None, **options: Any) -> GenreModel | None:
    """The fine-tuned encoder when ``trending_assets.lib.ml.finetune`` exists, else None;
    ``options`` (max_length, lr, head_lr, frozen_layers) override its defaults when given (not None)."""
    if importlib.util.find_spec("trending_assets.lib.ml.finetune") is None:
        print("  bert: trending_assets.lib.ml.finetune not found; skipped")
        return None
    from trending_assets.lib.ml.finetune import EncoderGenreModel

    parameters = inspect.signature(EncoderGenreModel).parameters
    from trending_assets.lib.ml.embeddings import configured_encoder_path

    kwargs: dict[str, Any] = {"model_path": configured_encoder_path()}  # None: MiniLM
    if epochs is not None and "epochs" in parameters:
        kwargs["epochs"] = epochs
    kwargs.update({k: v for k, v in options.items() if v is not None and k in parameters})
    return EncoderGenreModel(**kwargs)


def bert_labels(args: argparse.Namespace) -> list[str]:
    """``bert`` and, with ``--bert-seeds N``, ``bert#2`` ... ``bert#N``."""
    if args.skip_bert:
        return []
    return ["bert"] + [f"bert#{k}" for k in range(2, max(args.bert_seeds, 1) + 1)]


def bert_factory(args: argparse.Namespace, label: str) -> Any:
    """The fine-tune of ``label``: ``bert#k`` is the same fine-tune with seed 42 + k - 1."""
    seed = 42 + (int(label.split("#")[1]) - 1 if "#" in label else 0)
    return lambda: bert_model(
        args.bert_epochs, max_length=args.bert_max_length, lr=args.bert_lr,
        head_lr=args.bert_head_lr, frozen_layers=args.bert_frozen_layers, seed=seed,
    )  # fmt: skip


def averages_to_score(args: argparse.Namespace) -> list[tuple[str, ...]]:
    """``ENSEMBLES``, and with several fine-tunes their average alone and with the others."""
    out = list(ENSEMBLES)
    seeds = tuple(bert_labels(args))
    if len(seeds) > 1:
        out += [seeds, (*seeds, "zeroshot"), (*seeds, "logreg+emb"),
                (*seeds, "logreg+emb", "zeroshot")]  # fmt: skip
    return out


class CachedEmbedder:
    """Wraps the project's SentenceEmbedder so that one benchmark run embeds each text once.

    Models are given ``embedder_config`` of the real SentenceEmbedder, so a saved model
    re-creates the real one on load (the benchmark scores the loaded model).
    """

    def __init__(self, embedder: Any, cache_path: Path | None = None) -> None:
        self.embedder = embedder
        self.cache: dict[str, np.ndarray] = {}
        self.seconds = 0.0
        # Optional on-disk cache (sha256 of the text -> vector), kept outside the repo: it
        # holds vectors only, no text, and lets repeated runs skip re-embedding.
        self.cache_path = cache_path
        self._stored: dict[str, np.ndarray] = {}
        if cache_path is not None and cache_path.is_file():
            with np.load(cache_path) as stored:
                self._stored = dict(zip(stored["keys"].tolist(), stored["vectors"], strict=True))

    @staticmethod
    def _key(text: str) -> str:
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def save(self) -> None:
        if self.cache_path is None:
            return
        for text, vector in self.cache.items():
            self._stored.setdefault(self._key(text), vector)
        if not self._stored:
            return
        self.cache_path.parent.mkdir(parents=True, exist_ok=True)
        keys = np.array(list(self._stored))
        vectors = np.stack(list(self._stored.values())).astype(np.float32)
        tmp = self.cache_path.with_suffix(".tmp.npz")
        np.savez(tmp, keys=keys, vectors=vectors)
        tmp.replace(self.cache_path)

    @property
    def saved_config(self) -> dict[str, Any]:
        embedder_class = type(self.embedder)
        return {
            "class": f"{embedder_class.__module__}:{embedder_class.__qualname__}",
            "kwargs": self.embedder.config,
        }

    def encode(self, texts: list[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self.cache]
        if missing and self._stored:
            for text in missing:
                vector = self._stored.get(self._key(text))
                if vector is not None:
                    self.cache[text] = vector
            missing = [t for t in missing if t not in self.cache]
        if missing:
            started = time.perf_counter()
            vectors = self.embedder.encode(missing)
            self.seconds += time.perf_counter() - started
            self.cache.update(zip(missing, vectors, strict=True))
        return np.stack([self.cache[t] for t in texts]).astype(np.float32)


def make_embedder(args: argparse.Namespace) -> CachedEmbedder | None:
    if args.no_embeddings:
        return None
    if importlib.util.find_spec("trending_assets.lib.ml.embeddings") is None:
        print(
            "  embeddings: trending_assets.lib.ml.embeddings not found; embedding variants skipped"
        )
        return None
    from trending_assets.lib.ml.embeddings import configured_embedder

    return CachedEmbedder(configured_embedder(), args.embedding_cache)


def make_models(args: argparse.Namespace, embedder: CachedEmbedder | None) -> list[tuple[str, Any]]:
    """(label, factory) pairs; factories so each dataset gets fresh, unfitted models."""
    factories: list[tuple[str, Any]] = [
        ("keyword", lambda: KeywordGenreModel()),
        ("logreg", lambda: LogRegGenreModel(TfidfFeaturizer())),
    ]
    if embedder is not None:
        factories.append(
            (
                "zeroshot",
                lambda: ZeroShotGenreModel(embedder, embedder_config=embedder.saved_config),
            )
        )
        factories.append(
            (
                "logreg+emb",
                lambda: LogRegGenreModel(
                    TfidfFeaturizer(), embedder, embedder_config=embedder.saved_config
                ),
            )
        )
    if not args.skip_xgboost:
        factories.append(
            (
                "xgboost",
                lambda: XGBoostGenreModel(
                    TfidfFeaturizer(max_word_features=20_000, char_ngrams=None)
                ),
            )
        )
        if embedder is not None:
            factories.append(
                (
                    "xgboost+emb",
                    lambda: XGBoostGenreModel(
                        TfidfFeaturizer(max_word_features=5_000, char_ngrams=None),
                        embedder,
                        XGB_EMBEDDING_SEARCH,
                        embedder_config=embedder.saved_config,
                    ),
                )
            )
    factories += [(label, bert_factory(args, label)) for label in bert_labels(args)]
    return factories


def run_model(label: str, model: GenreModel, split: SplitResult, workdir: Path) -> dict[str, Any]:
    started = time.perf_counter()
    report = model.fit(split.train, split.validation)
    fit_seconds = time.perf_counter() - started
    # Score the model as it is served: saved, loaded back, then predicted.
    model.save(workdir / label)
    served = load_model(workdir / label)
    started = time.perf_counter()
    pred = served.predict(split.test.texts)
    predict_seconds = time.perf_counter() - started
    pred = aligned(pred, served.genres, split.genres)  # zeroshot scores more genres
    result = evaluate(split.test.labels, pred, split.genres)
    return {
        "_served": served,
        "model": label,
        "validation_macro_f1": report.get("validation_macro_f1"),
        "best_params": report.get("best_params"),
        "test": result,
        "slices": slice_metrics(
            split.test.labels, pred, split.genres, split.test.meta, by=("title_type", "source")
        ).to_dict("records"),  # fmt: skip
        "fit_seconds": round(fit_seconds, 1),
        "predict_seconds": round(predict_seconds, 2),
    }


def same_split_ensembles(
    rows: list[dict[str, Any]], split: SplitResult, averages: list[tuple[str, ...]]
) -> list[dict[str, Any]]:
    """Every average of ``averages`` (``averages_to_score``) whose members ran, from the served members (thresholds
    re-tuned on validation; fit s = the members' own)."""
    served = {row["model"]: row["_served"] for row in rows}
    out = []
    for members in averages:
        if not set(members) <= set(served):
            continue
        ensemble = AveragedEnsembleGenreModel([served[m] for m in members])
        report = ensemble.tune(split.validation)
        started = time.perf_counter()
        pred = aligned(ensemble.predict(split.test.texts), ensemble.genres, split.genres)
        result = evaluate(split.test.labels, pred, split.genres)
        label = ensemble_label(members)
        out.append({
            "model": label, "validation_macro_f1": report["validation_macro_f1"],
            "best_params": report["best_params"], "test": result, "slices": [],
            "fit_seconds": round(sum(r["fit_seconds"] for r in rows if r["model"] in members), 1),
            "predict_seconds": round(time.perf_counter() - started, 2),
        })  # fmt: skip
        print(f"  {label}: test macro F1 {result['macro_f1']:.3f} (val "
              f"{report['validation_macro_f1']:.3f})", flush=True)  # fmt: skip
    return out


def print_table(dataset: str, split: SplitResult, rows: list[dict[str, Any]]) -> None:
    sizes = (
        f"train {len(split.train)} / validation {len(split.validation)} / test {len(split.test)}"
    )
    print(f"\n== {dataset}: {sizes}, {len(split.genres)} genres ==")
    width = max(11, *(len(r["model"]) for r in rows)) if rows else 11
    header = f"{'model':<{width}} {'val macro':>9} {'macro F1':>9} {'micro F1':>9} {'samples F1':>10} {'fit s':>8} {'predict s':>9}"
    print(header)
    print("-" * len(header))
    for row in rows:
        test = row["test"]
        val = row["validation_macro_f1"]
        print(
            f"{row['model']:<{width}} {val if val is not None else float('nan'):>9.3f} "
            f"{test['macro_f1']:>9.3f} {test['micro_f1']:>9.3f} {test['samples_f1']:>10.3f} "
            f"{row['fit_seconds']:>8.1f} {row['predict_seconds']:>9.2f}"
        )
    if rows:
        best = max(rows, key=lambda r: r["test"]["macro_f1"])
        per_genre = ", ".join(f"{g['genre']} {g['f1']:.2f}" for g in best["test"]["per_genre"])
        print(f"per-genre F1 of {best['model']} (test): {per_genre}")
        types = [s for s in best["slices"] if s["slice"] == "title_type"]
        if len(types) > 1:
            print("  by title type: " + ", ".join(
                f"{s['value']} n={s['n']} macro {s['macro_f1']:.3f} micro {s['micro_f1']:.3f}"
                for s in types))  # fmt: skip


# --- cross-source protocols -------------------------------------------------------------

SOURCE_FILES = {
    "tmdb": "tmdb_5000_movies.csv",
    "netflix": "streaming/netflix_titles.csv",
    "hulu": "streaming/hulu_titles.csv",
    "disney_plus": "streaming/disney_plus_titles.csv",
}
STREAMING_SOURCES = ("netflix", "hulu", "disney_plus")
# Canonical names in meta.source (the loaders' source ids) for the protocol's short names.
SOURCE_IDS = {
    "tmdb": "tmdb_5000",
    "netflix": "netflix",
    "hulu": "hulu",
    "disney_plus": "disney_plus",
}
PROTOCOLS = ("same-split", "tmdb-to-streaming", "streaming-to-tmdb", "leave-one-source-out")
# Which models run in which cross-source protocol. The masked and type-feature variants
# equal plain logreg+emb when the training side is TMDB alone (one source that expresses
# every genre it has, all movies), so they only run where the training side is mixed.
CROSS_BASE = ("keyword", "logreg", "logreg+emb", "logreg+emb3", "zeroshot")
CROSS_MIXED = (
    "masked", "masked+emb", "masked+emb+type", "logreg+emb+type", "masked+emb3+type",
    "logreg+type")  # fmt: skip
# Probability averages (models.AveragedEnsembleGenreModel), thresholds re-tuned on the
# validation split; each is scored whenever all its members ran (no extra training).
ENSEMBLES: tuple[tuple[str, ...], ...] = (
    ("logreg", "keyword"),
    ("logreg+type", "keyword"),
    ("logreg+emb", "logreg"),
    ("logreg+emb", "logreg", "keyword"),
    ("logreg+emb", "logreg+emb3", "logreg"),
    ("masked+emb", "logreg+emb"),
    ("logreg+emb+type", "logreg+emb", "logreg"),
    # zeroshot scores every genre of the taxonomy: averaged in, it adds the genres the
    # training sources never carried (lib/ml/zeroshot.py)
    ("logreg+emb", "zeroshot"),
    ("logreg", "zeroshot"),
    ("masked+emb", "zeroshot"),
    ("bert", "zeroshot"),
    ("bert", "logreg+emb"),
    ("bert", "logreg+emb", "zeroshot"),
)


def ensemble_label(members: tuple[str, ...]) -> str:
    return "avg(" + ",".join(members) + ")"


def cross_model_factories(
    args: argparse.Namespace, embedder: CachedEmbedder | None
) -> dict[str, Any]:
    c_grid = tuple(float(c) for c in args.c_grid.split(","))
    emb = {"embedder": embedder, "embedder_config": embedder.saved_config} if embedder else None
    factories: dict[str, Any] = {
        "keyword": lambda: KeywordGenreModel(),
        "logreg": lambda: LogRegGenreModel(TfidfFeaturizer(), c_grid=c_grid),
        "logreg+type": lambda: LogRegGenreModel(
            TfidfFeaturizer(), c_grid=c_grid, title_type_feature=True
        ),  # fmt: skip
        # logreg with per-source label masks: the pipeline's logreg on a mixed catalogue
        "masked": lambda: MaskedLogRegGenreModel(TfidfFeaturizer(), c_grid=c_grid),
    }
    if emb is not None:
        factories["logreg+emb"] = lambda: LogRegGenreModel(
            TfidfFeaturizer(), emb["embedder"], c_grid=c_grid,
            embedder_config=emb["embedder_config"])  # fmt: skip
        factories["zeroshot"] = lambda: ZeroShotGenreModel(
            emb["embedder"], embedder_config=emb["embedder_config"])  # fmt: skip
        factories["logreg+emb3"] = lambda: LogRegGenreModel(
            TfidfFeaturizer(), emb["embedder"], c_grid=c_grid,
            embedder_config=emb["embedder_config"], embedding_weight=3.0)  # fmt: skip
        for label, masks, with_type in (
            ("logreg+emb+type", False, True),
            ("masked+emb", True, False),
            ("masked+emb+type", True, True),
            ("masked+emb3+type", True, True),
        ):
            factories[label] = lambda masks=masks, with_type=with_type, label=label: (
                MaskedLogRegGenreModel(
                    TfidfFeaturizer(),
                    emb["embedder"],
                    label_masks=masks,
                    title_type_feature=with_type,
                    c_grid=c_grid,
                    embedder_config=emb["embedder_config"],
                    embedding_weight=3.0 if "emb3" in label else 1.0,
                )
            )
    if not args.skip_xgboost:
        factories["xgboost"] = lambda: XGBoostGenreModel(
            TfidfFeaturizer(max_word_features=20_000, char_ngrams=None)
        )
    factories.update({label: bert_factory(args, label) for label in bert_labels(args)})
    return factories


def load_pool(
    data: Path, sources: list[str], genre_maps: dict[str, Any]
) -> tuple[GenreExamples, dict[str, int], list[tuple[str, int | None]]]:
    """Examples of ``sources`` (listings of one title across them merged, as the warehouse
    does), their exclusion counts and each example's (normalised title, year) key."""
    frames = []
    for name in sources:
        result = load_listings(data / SOURCE_FILES[name])
        if len(result.rejects):
            print(f"  {name}: {len(result.rejects)} rows rejected by the loader")
        frames.append(result.frame)
    frame = pd.concat(frames, ignore_index=True)
    examples, excluded = examples_from_listing_frame(frame, genre_maps)
    lookup = {
        f"{source}:{title_id}": title_key(title, year)
        for source, title_id, title, year in zip(
            frame["source"], frame["source_title_id"], frame["title"], frame["year"], strict=True
        )
    }
    return examples, excluded, [lookup[i] for i in examples.ids]


def concat_examples(parts: list[GenreExamples]) -> GenreExamples:
    return GenreExamples(
        ids=[i for p in parts for i in p.ids],
        texts=[t for p in parts for t in p.texts],
        labels=np.vstack([p.labels for p in parts]),
        genres=list(parts[0].genres),
        meta=pd.concat([p.meta for p in parts], ignore_index=True),
    )


def _predict(
    model: GenreModel, texts: list[str], types: list[str]
) -> tuple[np.ndarray, np.ndarray]:
    """(proba, decisions) of a (loaded) model; the title type goes to models that take it."""
    if "title_types" in inspect.signature(model.predict_proba).parameters:
        proba = model.predict_proba(texts, title_types=types)  # type: ignore[call-arg]
    else:
        proba = model.predict_proba(texts)
    from trending_assets.lib.ml.thresholds import apply_thresholds

    return proba, apply_thresholds(proba, model.thresholds)


def _widen(matrix: np.ndarray, genres: list[str], target: list[str]) -> np.ndarray:
    """Columns of ``genres`` placed into ``target`` order; genres a model lacks are 0."""
    out = np.zeros((matrix.shape[0], len(target)), dtype=matrix.dtype)
    for j, genre in enumerate(genres):
        out[:, target.index(genre)] = matrix[:, j]
    return out


def masked_slices(
    y: np.ndarray, pred: np.ndarray, mask: np.ndarray, genres: list[str], meta: pd.DataFrame
) -> list[dict[str, Any]]:
    """Masked metrics overall, by title type and by member source (a merged title counts
    for each of its sources), each on the genres its titles' vocabularies can express."""
    rows = [("all", "all", np.ones(len(y), dtype=bool))]
    for value in ("movie", "tv"):
        rows.append(("title_type", value, (meta["title_type"] == value).to_numpy()))
    members = [source_members(s) for s in meta["source"]]
    for source in sorted({m for ms in members for m in ms}):
        rows.append(("source", source, np.array([source in ms for ms in members])))
    out = []
    for column, value, keep in rows:
        if keep.sum() < 5:
            continue
        result = masked_evaluate(y[keep], pred[keep], mask[keep], genres)
        out.append({"slice": column, "value": value, "n": int(keep.sum()), **result})
    return out


def run_transfer(
    name: str,
    train_sources: list[str],
    test_sources: list[str],
    labels: list[str],
    factories: dict[str, Any],
    args: argparse.Namespace,
    embedder: CachedEmbedder | None,
) -> dict[str, Any]:
    """Train on ``train_sources`` (validation carved from them), test on ``test_sources``."""
    started = time.perf_counter()
    genre_maps = load_genre_maps()
    train_pool, train_excluded, train_keys = load_pool(args.data, train_sources, genre_maps)
    test, test_excluded, test_keys = load_pool(args.data, test_sources, genre_maps)
    if args.max_rows and len(test) > args.max_rows:
        keep = np.sort(
            np.random.default_rng(args.seed).choice(len(test), args.max_rows, replace=False)
        )
        test, test_keys = test.subset(keep), [test_keys[i] for i in keep]
    leaked = cross_source_duplicates(train_keys, test_keys, year_tolerance=args.year_tolerance)
    by_source: dict[str, int] = {}
    for source in train_pool.meta["source"][leaked]:
        by_source[source] = by_source.get(source, 0) + 1
    train_pool = train_pool.subset(np.flatnonzero(~leaked))
    train_pool = cap_rows(train_pool, args.max_rows, args.seed)
    # Validation is carved from the training sources with the project's stratified split;
    # its small "test" part goes back to training (the real test is the other catalogue).
    split = make_split(train_pool, seed=args.seed, fractions=(0.75, 0.15, 0.10))
    train = concat_examples([split.train, split.test])
    validation = split.validation
    genres = list(CANONICAL_GENRES)
    mask = label_mask(test.meta, load_genre_maps(), genres) | test.labels.astype(bool)
    print(
        f"\n[{name}] train on {'+'.join(train_sources)}: {len(train)} train / "
        f"{len(validation)} validation ({len(split.genres)} genres; dropped {split.dropped_genres}); "
        f"test on {'+'.join(test_sources)}: {len(test)} titles "
        f"({int((test.meta['title_type'] == 'movie').sum())} movies, "
        f"{int((test.meta['title_type'] == 'tv').sum())} TV)\n"
        f"  de-duplication: {int(leaked.sum())} training titles dropped as also in the test "
        f"sources (normalised title, year +-{args.year_tolerance}): {by_source or 'none'}\n"
        f"  excluded (train side): {train_excluded}; (test side): {test_excluded}\n"
        f"  masked evaluation: per test title only the genres its source's vocabulary can "
        f"express count; macro F1 averages those with a positive among the test titles; "
        f"genres a model was not trained on count as never predicted; "
        f"prepared in {time.perf_counter() - started:.1f}s",
        flush=True,
    )
    if embedder is not None and any("+emb" in label for label in labels):
        embedder.encode(train.texts + validation.texts + test.texts)
        embedder.save()
    types = test.meta["title_type"].tolist()
    rows: list[dict[str, Any]] = []
    served_models: dict[str, GenreModel] = {}
    ensembles = (
        [] if args.no_ensembles else [m for m in averages_to_score(args) if set(m) <= set(labels)]
    )
    with tempfile.TemporaryDirectory() as tmp:
        for label in [*labels, *map(ensemble_label, ensembles)]:
            fit_started = time.perf_counter()
            if label.startswith("avg("):
                # Members as served (saved + loaded); only the thresholds are tuned here.
                members = label[4:-1].split(",")
                served = AveragedEnsembleGenreModel([served_models[m] for m in members])
                report = served.tune(validation)
                fit_seconds = sum(r["fit_seconds"] for r in rows if r["model"] in members)
            else:
                factory = factories.get(label)
                if factory is None:
                    continue
                model = factory()
                report = model.fit(train, validation)
                fit_seconds = time.perf_counter() - fit_started
                model.save(Path(tmp) / label.replace("+", "_"))
                served = load_model(Path(tmp) / label.replace("+", "_"))
                features = getattr(served, "features", None)
                if embedder is not None and getattr(features, "embedder", None) is not None:
                    # Same encoder and settings (re-created from the saved config); the
                    # run's cache just spares embedding the test texts once per model.
                    features.embedder = embedder  # type: ignore[union-attr]
                if embedder is not None and getattr(served, "embedder", None) is not None:
                    served.embedder = embedder  # the zero-shot model's encoder, likewise
                served_models[label] = served
            proba, pred = _predict(served, test.texts, types)
            proba = _widen(proba, served.genres, genres)
            pred = _widen(pred, served.genres, genres)
            slices = masked_slices(test.labels, pred, mask, genres, test.meta)
            overall = slices[0]
            row = {
                "model": label,
                "validation_macro_f1": report.get("validation_macro_f1"),
                "best_params": report.get("best_params"),
                "fit_seconds": round(fit_seconds, 1),
                "slices": slices,
                "_proba": proba,
            }
            rows.append(row)
            print(f"  {label}: masked macro F1 {overall['macro_f1']:.3f} micro "
                  f"{overall['micro_f1']:.3f} samples {overall['samples_f1']:.3f} "
                  f"(val {report.get('validation_macro_f1') or float('nan'):.3f}, "
                  f"{report.get('best_params')}) fit {fit_seconds:.0f}s", flush=True)  # fmt: skip
    print_transfer(name, rows, test, mask, genres)
    for row in rows:
        row.pop("_proba", None)
    return {
        "train_sources": train_sources,
        "test_sources": test_sources,
        "sizes": {"train": len(train), "validation": len(validation), "test": len(test)},
        "dropped_as_duplicates": {"total": int(leaked.sum()), **by_source},
        "models": rows,
    }


def print_transfer(
    name: str, rows: list[dict[str, Any]], test: GenreExamples, mask: np.ndarray, genres: list[str]
) -> None:
    if not rows:
        return
    slice_names = [(s["slice"], s["value"]) for s in rows[0]["slices"]]
    print(f"\n== {name}: masked macro F1 (micro / samples for 'all') ==")
    width = max(16, *(len(r["model"]) for r in rows))
    header = f"{'model':<{width}} {'val':>6} {'all':>6} {'micro':>6} {'samples':>7} " + " ".join(
        f"{v[:11]:>11}" for _, v in slice_names[1:]
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        by = {(s["slice"], s["value"]): s for s in row["slices"]}
        overall = by[("all", "all")]
        val = row["validation_macro_f1"]
        print(f"{row['model']:<{width}} {val if val is not None else float('nan'):>6.3f} "
              f"{overall['macro_f1']:>6.3f} {overall['micro_f1']:>6.3f} "
              f"{overall['samples_f1']:>7.3f} "
              + " ".join(f"{by[k]['macro_f1']:>11.3f}" for k in slice_names[1:]))  # fmt: skip
    sizes = ", ".join(f"{v} n={s['n']} ({len(s['evaluated_genres'])} genres)"
                      for (_, v), s in zip(slice_names, rows[0]["slices"], strict=True))  # fmt: skip
    print(f"slice sizes: {sizes}")
    for s in rows[0]["slices"][1:]:
        if s["unknown_genres"]:
            print(f"  unknown (not evaluated) for {s['value']}: {', '.join(s['unknown_genres'])}")
    best = max(rows, key=lambda r: r["slices"][0]["macro_f1"])
    overall = best["slices"][0]
    print(f"per-genre F1 of {best['model']}: "
          + ", ".join(f"{g['genre']} {g['f1']:.2f}" for g in overall["per_genre"]))  # fmt: skip
    table = calibration_table(test.labels, best["_proba"], mask)
    ece = expected_calibration_error(table)
    best["calibration"] = {"table": table.to_dict("records"), "ece": ece}
    print(f"calibration of {best['model']} (known cells; probability bin: n, mean predicted, "
          f"observed rate), ECE {ece:.3f}:")  # fmt: skip
    for r in table.itertuples():
        if r.n:
            print(f"  [{r.lower:.1f}, {r.upper:.1f}) n={r.n:>6} predicted {r.mean_predicted:.3f}"
                  f" observed {r.observed_rate:.3f}")  # fmt: skip


def run_protocols(
    args: argparse.Namespace, protocols: list[str], embedder: CachedEmbedder | None
) -> dict[str, Any]:
    factories = cross_model_factories(args, embedder)
    wanted = {m.strip() for m in args.models.split(",")} if args.models else None

    def pick(labels: tuple[str, ...]) -> list[str]:
        chosen = [m for m in labels if m in factories]
        if not args.skip_xgboost:
            chosen.append("xgboost")
        chosen += bert_labels(args)
        return [m for m in chosen if wanted is None or m in wanted]

    results: dict[str, Any] = {}
    if "tmdb-to-streaming" in protocols:
        results["tmdb-to-streaming"] = run_transfer(
            "TMDB -> Netflix+Hulu+Disney+", ["tmdb"], list(STREAMING_SOURCES),
            pick(CROSS_BASE), factories, args, embedder)  # fmt: skip
    held_out = args.loso_sources.split(",") if args.loso_sources else list(SOURCE_FILES)
    if "leave-one-source-out" in protocols and "tmdb" in held_out:
        protocols = [p for p in protocols if p != "streaming-to-tmdb"]  # the same run
        print("streaming-to-tmdb is the leave-one-source-out fold 'tmdb'; run once")
    if "streaming-to-tmdb" in protocols:
        results["streaming-to-tmdb"] = run_transfer(
            "Netflix+Hulu+Disney+ -> TMDB", list(STREAMING_SOURCES), ["tmdb"],
            pick(CROSS_BASE + CROSS_MIXED), factories, args, embedder)  # fmt: skip
    if "leave-one-source-out" in protocols:
        for source in held_out:
            rest = [s for s in SOURCE_FILES if s != source]
            results[f"loso-{source}"] = run_transfer(
                f"leave out {source} (train {'+'.join(rest)})", rest, [source],
                pick(CROSS_BASE + CROSS_MIXED), factories, args, embedder)  # fmt: skip
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--data", type=Path, default=Path(os.environ.get("TRENDING_BENCH_DATA", "../shared/data"))
    )
    parser.add_argument("--datasets", default="tmdb,all", help="comma list of: tmdb, all")
    parser.add_argument(
        "--max-rows", type=int, default=None, help="cap examples per dataset (seeded sample)"
    )
    parser.add_argument("--bert-epochs", type=int, default=None)
    parser.add_argument("--bert-max-length", type=int, default=None)
    parser.add_argument("--bert-lr", type=float, default=None, help="the encoder's learning rate")
    parser.add_argument("--bert-head-lr", type=float, default=None, help="the head's")
    parser.add_argument(
        "--bert-frozen-layers", type=int, default=None,
        help="the encoder's lowest layers kept frozen (their outputs computed once)",
    )  # fmt: skip
    parser.add_argument(
        "--bert-seeds", type=int, default=1,
        help="fine-tune the encoder this many times (seeds 42, 43, ...) and average them",
    )  # fmt: skip
    parser.add_argument("--skip-bert", action="store_true")
    parser.add_argument("--skip-xgboost", action="store_true")
    parser.add_argument(
        "--no-embeddings", action="store_true", help="skip the MiniLM-embedding variants"
    )
    parser.add_argument("--models", default=None, help="comma list to run only some models")
    parser.add_argument(
        "--no-ensembles", action="store_true",
        help="cross-source protocols: skip the probability averages of the models run")  # fmt: skip
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--json", type=Path, default=None, help="write all results here")
    parser.add_argument(
        "--protocol",
        default="same-split",
        help="comma list of: same-split, tmdb-to-streaming, streaming-to-tmdb, "
        "leave-one-source-out; 'cross-source' = the first two cross-source ones; 'all'",
    )
    parser.add_argument(
        "--loso-sources", default=None, help="leave-one-source-out: only hold out these"
    )
    parser.add_argument(
        "--year-tolerance", type=int, default=1,
        help="cross-source de-duplication: years within this many match")  # fmt: skip
    parser.add_argument(
        "--c-grid", default="1,2,4,8", help="cross-source protocols: C values of logreg models"
    )
    parser.add_argument(
        "--embedding-cache", type=Path, default=None,
        help="cache MiniLM vectors here (outside the repo; vectors only, no text)")  # fmt: skip
    args = parser.parse_args(argv)
    protocols = expand_protocols(args.protocol)

    names = [n.strip() for n in args.datasets.split(",") if n.strip()]
    if "same-split" not in protocols:
        names = []
    needed = [p for n in names for p in dataset_files(args.data, n)]
    if len(protocols) > ("same-split" in protocols):
        needed += [args.data / f for f in SOURCE_FILES.values()]
    missing = list(dict.fromkeys(p for p in needed if not p.is_file()))
    if missing:
        print(
            f"genre benchmark: data not found under {args.data} (missing: "
            f"{', '.join(str(p) for p in missing)}). Pass --data DIR pointing at the shared "
            "data folder (tmdb_5000_movies.csv and streaming/).",
            file=sys.stderr,
        )
        return 2

    wanted = {m.strip() for m in args.models.split(",")} if args.models else None
    if wanted is not None and not any("+emb" in m or m == "zeroshot" for m in wanted):
        args.no_embeddings = True
    embedder = make_embedder(args)
    factories = make_models(args, embedder)
    if wanted is not None:
        factories = [(label, factory) for label, factory in factories if label in wanted]
    results: dict[str, Any] = {}
    for name in names:
        started = time.perf_counter()
        examples, excluded = load_examples(dataset_files(args.data, name))
        examples = cap_rows(examples, args.max_rows, args.seed)
        split = make_split(examples, seed=args.seed)
        print(f"\n[{name}] {len(examples)} examples (excluded: {excluded}); "
              f"dropped genres: {split.dropped_genres}; fingerprint {split.fingerprint[:12]}; "
              f"prepared in {time.perf_counter() - started:.1f}s", flush=True)  # fmt: skip
        if embedder is not None and any(label.endswith("+emb") for label, _ in factories):
            embedder.encode(split.train.texts + split.validation.texts)  # warm the cache
            embedder.save()
        rows = []
        with tempfile.TemporaryDirectory() as tmp:
            for label, factory in factories:
                model = factory()
                if model is None:
                    continue
                row = run_model(label, model, split, Path(tmp))
                print(f"  {label}: test macro F1 {row['test']['macro_f1']:.3f} "
                      f"micro {row['test']['micro_f1']:.3f} samples {row['test']['samples_f1']:.3f} "
                      f"(val {row['validation_macro_f1']:.3f}, {row['best_params']}) "
                      f"in {row['fit_seconds']}s", flush=True)  # fmt: skip
                rows.append(row)
            if not args.no_ensembles:
                rows.extend(same_split_ensembles(rows, split, averages_to_score(args)))
        for row in rows:
            row.pop("_served", None)
        print_table(name, split, rows)
        if embedder is not None:
            print(f"MiniLM embedding of train+validation texts (once, shared by the +emb "
                  f"models, not in their fit s; their predict s includes embedding the test "
                  f"texts): {embedder.seconds:.1f}s")  # fmt: skip
            embedder.seconds = 0.0
        results[name] = {"split": split.summary(), "excluded": excluded, "models": rows}
    cross = [p for p in protocols if p != "same-split"]
    if cross:
        results.update(run_protocols(args, cross, embedder))
    if embedder is not None:
        embedder.save()
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))
    return 0


def expand_protocols(text: str) -> list[str]:
    out: list[str] = []
    for name in (t.strip() for t in text.split(",") if t.strip()):
        if name == "all":
            out += PROTOCOLS
        elif name == "cross-source":
            out += ["tmdb-to-streaming", "streaming-to-tmdb"]
        elif name in PROTOCOLS:
            out.append(name)
        else:
            raise SystemExit(f"unknown protocol {name!r}; choose from {', '.join(PROTOCOLS)}, "
                             "cross-source, all")  # fmt: skip
    return list(dict.fromkeys(out))


if __name__ == "__main__":
    sys.exit(main())
