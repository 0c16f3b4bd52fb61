"""What the demo's fine-tune and XGBoost settings buy: test macro F1 against training time.

    .venv/bin/python bench/sizing_benchmark.py --data-dir data [--only bert|xgboost]

Reads the ``training_set`` a materialised demo left on the lake (``make materialize``), then
trains the fine-tuned encoder and XGBoost with several sizes, side by side in one process,
each the way the pipeline trains it (``fit`` with thresholds tuned on validation), and
scores each on the test split. The first row of each model is the current default
(``trending_assets/settings.py``); the printed table is what ``bench/README.md`` records.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

for _key, _value in {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "WANDB_MODE": "offline",
                     "TOKENIZERS_PARALLELISM": "false"}.items():  # fmt: skip
    os.environ.setdefault(_key, _value)

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from trending_assets.lib.artifacts import ArtifactStore  # noqa: E402
from trending_assets.lib.lake import LocalLake  # noqa: E402
from trending_assets.lib.ml.metrics import evaluate  # noqa: E402
from trending_assets.lib.ml.thresholds import apply_thresholds  # noqa: E402
from trending_assets.settings import TrendingSettings  # noqa: E402

# (epochs, row cap, max length, encoder lr, head lr, frozen layers): the default first,
# then the default before it (the whole encoder fine-tuned). The rows before 2026-12
# (bench/README.md) sized epochs, rows, length and learning rates; these size how many of
# the encoder's six layers stay frozen (their outputs computed once) and the rates with it.
BERT_SIZES = [
    (2, 600, 64, 3e-4, 1e-2, 4),
    (2, 600, 64, 1e-4, 3e-3, 0),
    (3, 600, 64, 3e-4, 1e-2, 4),
    (4, 600, 64, 3e-4, 1e-2, 4),
    (3, 600, 64, 3e-4, 1e-2, 3),
    (3, 600, 64, 1e-4, 3e-3, 3),
    (4, 600, 64, 1e-4, 3e-3, 4),
    (6, 600, 64, 3e-4, 1e-2, 5),
]
# (search size, boosting rounds): the default first.
XGB_SIZES = [(1, 200), (2, 200), (1, 100), (2, 100)]


def _score(model, split) -> tuple[float, float]:
    val = evaluate(
        split.validation.labels,
        apply_thresholds(model.predict_proba(split.validation.texts), model.thresholds),
        model.genres,
    )
    test = evaluate(split.test.labels, model.predict(split.test.texts), model.genres)
    return val["macro_f1"], test["macro_f1"]


def _fit_and_score(name: str, label: str, model, split) -> tuple[str, str, float, float, float]:
    """Fit as the pipeline does, time it, score it; print the row as it comes."""
    started = time.perf_counter()
    model.fit(split.train, split.validation)
    seconds = time.perf_counter() - started
    val, test = _score(model, split)
    print(f"{name:<8} {label:<54} {seconds:6.1f} s  val {val:.3f}  test {test:.3f}", flush=True)
    return name, label, seconds, val, test


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--only", choices=["bert", "xgboost"], default=None)
    args = parser.parse_args(argv)

    lake_dir = (args.data_dir / "lake").resolve()
    split = ArtifactStore(LocalLake(lake_dir)).load(["training_set"])
    settings = TrendingSettings()
    print(f"training set: {split.summary()['sizes']} ({split.fingerprint[:8]})")
    rows: list[tuple[str, str, float, float, float]] = []

    if args.only in (None, "bert"):
        from trending_assets.lib.ml.finetune import EncoderGenreModel

        for epochs, cap, length, lr, head_lr, frozen in BERT_SIZES:
            model = EncoderGenreModel(
                epochs=epochs, max_length=length, batch_size=settings.bert_batch_size,
                row_cap=cap, seed=settings.split_seed, lr=lr, head_lr=head_lr,
                frozen_layers=frozen,
            )  # fmt: skip
            label = f"epochs={epochs} rows={cap} len={length} lr={lr:g}/{head_lr:g} frozen={frozen}"
            rows.append(_fit_and_score("bert", label, model, split))

    if args.only in (None, "xgboost"):
        from trending_assets.lib.ml.models import DEFAULT_XGB_SEARCH, XGBoostGenreModel

        for search, rounds in XGB_SIZES:
            model = XGBoostGenreModel(
                embedder=None, search=DEFAULT_XGB_SEARCH[:search], num_boost_round=rounds
            )
            rows.append(_fit_and_score("xgboost", f"search={search} rounds={rounds}", model, split))

    print("\n| model | size | train s | val macro F1 | test macro F1 | time vs default |")
    print("|---|---|---|---|---|---|")
    defaults: dict[str, float] = {}
    for name, label, seconds, val, test in rows:
        defaults.setdefault(name, seconds)
        ratio = seconds / defaults[name]
        print(f"| {name} | {label} | {seconds:.1f} | {val:.3f} | {test:.3f} | {ratio:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
