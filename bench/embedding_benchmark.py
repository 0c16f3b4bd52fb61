"""Embedding throughput: the project's SentenceEmbedder next to a plain SentenceTransformer.

    HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 \\
        .venv/bin/python bench/embedding_benchmark.py [--texts 512] [--data ../shared/data]

Both encoders embed the same texts in the same process, in alternating order, several
rounds; the table shows median texts/second per encoder, the median of the per-round
speed ratios (robust to a noisy, shared machine) and the cosine agreement (min and mean
over texts) of each encoder's vectors with ``SentenceTransformer.encode``'s.

Texts: real plot overviews from ``DATA/tmdb_5000_movies.csv`` (column ``overview``)
when the file is there, else generated sentences (the output says which).

It then times the fine-tune (``EncoderGenreModel``: max_length 128, batch 16, one epoch)
on a few hundred texts and prints training samples/second.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from trending_assets.lib.ml.embeddings import (  # noqa: E402
    SentenceEmbedder,
    cpu_has_native_bf16,
    minilm_path,
)

TMDB_FILE = "tmdb_5000_movies.csv"


def load_texts(data_dir: Path, n: int, seed: int) -> tuple[list[str], str]:
    path = data_dir / TMDB_FILE
    if path.is_file():
        overviews = pd.read_csv(path, usecols=["overview"])["overview"].dropna().astype(str)
        overviews = overviews[overviews.str.strip().str.len() > 0].tolist()
        rng = np.random.default_rng(seed)
        picked = rng.choice(len(overviews), size=min(n, len(overviews)), replace=False)
        return [overviews[i] for i in picked], f"real TMDB plot overviews from {path}"
    return generated_texts(n, seed), f"generated sentences ({path} not found)"


def generated_texts(n: int, seed: int) -> list[str]:
    """Plot-like sentences of 5 to 120 words, so lengths vary like real overviews."""
    rng = np.random.default_rng(seed)
    sentence = (
        "a young detective haunted by her past returns to the small town where a killer "
        "strikes again while two brothers plan one last heist and a family of farmers "
        "fights a drought as aliens land near the lake and love grows between rivals"
    )
    words = sentence.split(" ")
    return [" ".join(rng.choice(words, size=int(rng.integers(5, 121)))) + "." for _ in range(n)]


def cosine_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def bench_embeddings(texts: list[str], repeats: int, include_fp32: bool) -> None:
    import torch
    from sentence_transformers import SentenceTransformer

    reference = SentenceTransformer(str(minilm_path()))
    encoders = {
        "SentenceTransformer.encode (default settings)": lambda t: reference.encode(
            t, convert_to_numpy=True
        ),
    }
    ours = SentenceEmbedder()
    encoders[f"SentenceEmbedder (default: {ours.precision}, batch {ours.batch_size})"] = ours.encode
    if include_fp32 and ours.precision != "fp32":
        fp32 = SentenceEmbedder(precision="fp32")
        encoders["SentenceEmbedder (precision=fp32)"] = fp32.encode
    names = list(encoders)
    print(
        f"device {ours.device}, torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"CPU native bf16: {cpu_has_native_bf16()}, load average {os.getloadavg()[0]:.1f}"
    )
    for encode in encoders.values():  # warm-up: first-call allocations and kernel set-up
        encode(texts[:32])

    seconds: dict[str, list[float]] = {name: [] for name in names}
    vectors: dict[str, np.ndarray] = {}
    for round_ in range(repeats):
        order = names if round_ % 2 == 0 else names[::-1]  # alternate who goes first
        for name in order:
            started = time.perf_counter()
            vectors[name] = encoders[name](texts)
            seconds[name].append(time.perf_counter() - started)

    base = names[0]
    print(f"\n{len(texts)} texts, {repeats} rounds (alternating order), medians:")
    print(f"{'encoder':<52} {'texts/s':>8} {'x plain':>8} {'cos min':>8} {'cos mean':>9}")
    for name in names:
        rate = len(texts) / statistics.median(seconds[name])
        ratio = statistics.median(b / s for b, s in zip(seconds[base], seconds[name], strict=True))
        cosine = cosine_rows(vectors[name], vectors[base])
        print(f"{name:<52} {rate:>8.1f} {ratio:>7.2f}x {cosine.min():>8.5f} {cosine.mean():>9.6f}")
    print("per-round texts/s:")
    for name in names:
        print(f"  {name:<50} {[round(len(texts) / s, 1) for s in seconds[name]]}")
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


def tmdb_genres(data_dir: Path, n: int, seed: int):
    """GenreExamples of TMDB overviews with their TMDb genres (None without the file)."""
    from trending_assets.lib.ml.data import GenreExamples

    path = data_dir / TMDB_FILE
    if not path.is_file():
        return None
    frame = pd.read_csv(path, usecols=["id", "overview", "genres"]).dropna()
    frame = frame.sample(n=min(n, len(frame)), random_state=seed).reset_index(drop=True)
    names = [[g["name"] for g in json.loads(value)] for value in frame["genres"]]
    genres = sorted({g for row in names for g in row})
    labels = np.array([[g in row for g in genres] for row in names], dtype=np.uint8)
    meta = pd.DataFrame({"title_type": ["movie"] * len(frame)})
    ids = frame["id"].astype(str).tolist()
    return GenreExamples(ids, frame["overview"].astype(str).tolist(), labels, genres, meta)


def bench_finetune(data_dir: Path, n: int, seed: int, precisions: list[str]) -> None:
    from trending_assets.lib.ml.data import GenreExamples
    from trending_assets.lib.ml.finetune import EncoderGenreModel

    examples = tmdb_genres(data_dir, n + 32, seed)
    if examples is None:
        texts = generated_texts(n + 32, seed)
        labels = np.random.default_rng(seed).integers(0, 2, size=(len(texts), 5))
        meta = pd.DataFrame({"title_type": ["movie"] * len(texts)})
        genres = [f"g{j}" for j in range(5)]
        examples = GenreExamples([str(i) for i in range(len(texts))], texts, labels, genres, meta)
        print(f"\nfine-tune: {n} generated texts, random labels")
    else:
        print(f"\nfine-tune: {n} TMDB overviews, {len(examples.genres)} TMDb genres")
    train, validation = examples.subset(range(n)), examples.subset(range(n, len(examples)))
    for precision in precisions:
        model = EncoderGenreModel(
            epochs=1, max_length=128, batch_size=16, seed=seed, precision=precision
        )
        report = model.fit(train, validation)
        print(
            f"  precision {report['precision']:<5} max_length 128, batch 16: "
            f"{report['train_samples_per_second']:.1f} training samples/s "
            f"(one epoch, {report['train_rows']} rows, {report['history'][1]['train_seconds']} s)"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=512, help="texts to embed (default 512)")
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--repeats", type=int, default=3, help="timed rounds (default 3)")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-fp32", action="store_true", help="skip the fp32 embedder row")
    parser.add_argument(
        "--finetune-texts", type=int, default=256, help="fine-tune rows (0 skips; default 256)"
    )
    parser.add_argument(
        "--finetune-precisions", default="auto,fp32", help="comma list (default auto,fp32)"
    )
    args = parser.parse_args(argv)

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    texts, origin = load_texts(args.data, args.texts, args.seed)
    print(f"texts: {len(texts)} {origin}")
    bench_embeddings(texts, args.repeats, include_fp32=not args.no_fp32)
    if args.finetune_texts > 0:
        precisions = [p.strip() for p in args.finetune_precisions.split(",") if p.strip()]
        bench_finetune(args.data, args.finetune_texts, args.seed, precisions)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
