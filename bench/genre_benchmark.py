"""Genre classification on real data: the four models, trained and tested the project's way.

    .venv/bin/python bench/genre_benchmark.py --data ../shared/data [--max-rows N]
        [--bert-epochs E] [--skip-bert] [--skip-xgboost] [--datasets tmdb,all] [--json OUT]

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
from trending_assets.lib.ml.data import GenreExamples, examples_from_listing_frame, load_genre_maps  # noqa: E402
from trending_assets.lib.ml.features import TfidfFeaturizer  # noqa: E402
from trending_assets.lib.ml.keyword import KeywordGenreModel  # noqa: E402
from trending_assets.lib.ml.metrics import evaluate, slice_metrics  # noqa: E402
from trending_assets.lib.ml.models import (  # noqa: E402
    GenreModel,
    LogRegGenreModel,
    XGBoostGenreModel,
    load_model,
)
from trending_assets.lib.ml.split import SplitResult, make_split  # noqa: E402

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


def bert_model(epochs: int | None) -> GenreModel | None:
    """The fine-tuned encoder when ``trending_assets.lib.ml.finetune`` exists, else None."""
    if importlib.util.find_spec("trending_assets.lib.ml.finetune") is None:
        print("  bert: trending_assets.lib.ml.finetune not found; skipped")
        return None
    from trending_assets.lib.ml.finetune import EncoderGenreModel

    parameters = inspect.signature(EncoderGenreModel).parameters
    kwargs: dict[str, Any] = {}
    if epochs is not None and "epochs" in parameters:
        kwargs["epochs"] = epochs
    return EncoderGenreModel(**kwargs)


class CachedEmbedder:
    """Wraps the project's SentenceEmbedder so that one benchmark run embeds each text once.

    Models are given ``embedder_config`` of the real SentenceEmbedder, so a saved model
    re-creates the real one on load (the benchmark scores the loaded model).
    """

    def __init__(self, embedder: Any) -> None:
        self.embedder = embedder
        self.cache: dict[str, np.ndarray] = {}
        self.seconds = 0.0

    @property
    def saved_config(self) -> dict[str, Any]:
        embedder_class = type(self.embedder)
        return {
            "class": f"{embedder_class.__module__}:{embedder_class.__qualname__}",
            "kwargs": self.embedder.config,
        }

    def encode(self, texts: list[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self.cache]
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
    from trending_assets.lib.ml.embeddings import SentenceEmbedder

    return CachedEmbedder(SentenceEmbedder())


def make_models(args: argparse.Namespace, embedder: CachedEmbedder | None) -> list[tuple[str, Any]]:
    """(label, factory) pairs; factories so each dataset gets fresh, unfitted models."""
    factories: list[tuple[str, Any]] = [
        ("keyword", lambda: KeywordGenreModel()),
        ("logreg", lambda: LogRegGenreModel(TfidfFeaturizer())),
    ]
    if embedder is not None:
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
    if not args.skip_bert:
        factories.append(("bert", lambda: bert_model(args.bert_epochs)))
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
    result = evaluate(split.test.labels, pred, split.genres)
    return {
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


def print_table(dataset: str, split: SplitResult, rows: list[dict[str, Any]]) -> None:
    sizes = (
        f"train {len(split.train)} / validation {len(split.validation)} / test {len(split.test)}"
    )
    print(f"\n== {dataset}: {sizes}, {len(split.genres)} genres ==")
    header = f"{'model':<11} {'val macro':>9} {'macro F1':>9} {'micro F1':>9} {'samples F1':>10} {'fit s':>8} {'predict s':>9}"
    print(header)
    print("-" * len(header))
    for row in rows:
        test = row["test"]
        val = row["validation_macro_f1"]
        print(
            f"{row['model']:<11} {val if val is not None else float('nan'):>9.3f} "
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
    parser.add_argument("--skip-bert", action="store_true")
    parser.add_argument("--skip-xgboost", action="store_true")
    parser.add_argument(
        "--no-embeddings", action="store_true", help="skip the MiniLM-embedding variants"
    )
    parser.add_argument("--models", default=None, help="comma list to run only some models")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--json", type=Path, default=None, help="write all results here")
    args = parser.parse_args(argv)

    names = [n.strip() for n in args.datasets.split(",") if n.strip()]
    missing = list(
        dict.fromkeys(p for n in names for p in dataset_files(args.data, n) if not p.is_file())
    )
    if missing:
        print(
            f"genre benchmark: data not found under {args.data} (missing: "
            f"{', '.join(str(p) for p in missing)}). Pass --data DIR pointing at the shared "
            "data folder (tmdb_5000_movies.csv and streaming/).",
            file=sys.stderr,
        )
        return 2

    wanted = {m.strip() for m in args.models.split(",")} if args.models else None
    if wanted is not None and not any(m.endswith("+emb") for m in wanted):
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
        print_table(name, split, rows)
        if embedder is not None:
            print(f"MiniLM embedding of train+validation texts (once, shared by the +emb "
                  f"models, not in their fit s; their predict s includes embedding the test "
                  f"texts): {embedder.seconds:.1f}s")  # fmt: skip
            embedder.seconds = 0.0
        results[name] = {"split": split.summary(), "excluded": excluded, "models": rows}
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
