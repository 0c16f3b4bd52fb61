"""A reproducible train/validation/test split for multi-label data.

Iterative stratification (Sechidis, Tsoumakas & Vlahavas, "On the stratification of
multi-label data", ECML PKDD 2011), written here from the paper's description:

1. every subset j has a desired size ``c_j = n * r_j`` and, for every label l, a
   desired number of positives ``c_j^l = |D^l| * r_j``;
2. repeatedly take the label with the fewest remaining examples (rare labels first, so
   they are spread before the common ones use up the room), and hand each of its
   examples to the subset that still wants the most of that label (ties: the subset
   that wants the most examples overall, then a seeded random choice);
3. after each assignment decrement the wants of that subset for every label of the
   example and for its size.

Genres with fewer than ``min_genre_count`` examples are dropped from the label set
first (they are reported with their counts), and examples left without any label are
excluded (counted), so every kept genre can appear in every split.

**A split that stays put.** Given the previous split's assignment (``previous``: title id
-> part, :meth:`SplitResult.assignment`), a title keeps its part and only titles new to
the split are stratified, among themselves, with the same fractions. A model trained
yesterday never meets its own training titles in today's test split, so it can be kept
and still scored honestly, and test scores stay comparable from day to day. The
fingerprint covers the assignment as well as the content.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from trending_assets.lib.ml.data import GenreExamples

MIN_EXAMPLES = 30
SPLIT_NAMES = ("train", "validation", "test")


class TrainingDataError(ValueError):
    """The training data cannot be split or trained on; the message says why."""


@dataclass
class SplitResult:
    """The three splits, the label set they share, and what was left out."""

    train: GenreExamples
    validation: GenreExamples
    test: GenreExamples
    genres: list[str]
    dropped_genres: dict[str, int]
    excluded: dict[str, int]
    fingerprint: str
    seed: int = 42
    fractions: tuple[float, float, float] = (0.7, 0.15, 0.15)
    genre_counts: dict[str, dict[str, int]] = field(default_factory=dict)
    kept_assignment: int = 0  # titles that kept their part from the previous split
    # The fingerprint of the fresh split this one descends from by keeping parts (set by
    # the caller, which knows the history: ``assignment_record`` / ``read_assignment``).
    lineage: str = ""

    def assignment(self) -> dict[str, str]:
        """Title id -> part (train / validation / test): ``make_split``'s ``previous``."""
        return {i: name for name in SPLIT_NAMES for i in getattr(self, name).ids}

    def test_fingerprint(self) -> str:
        """sha256 over what a test score depends on: the kept genres and the test part's
        examples (id, text, labels, known cells, meta), in id order. Unlike
        ``fingerprint`` it stays the same when only training or validation titles change,
        as on a day whose new titles all went to those parts (titles keep their part)."""
        test = self.test
        digest = hashlib.sha256(json.dumps({"genres": list(self.genres)}).encode())
        known = test.known_mask()
        meta = test.meta.astype(object).where(test.meta.notna(), None).to_dict(orient="records")
        for i in sorted(range(len(test)), key=lambda i: (test.ids[i], test.texts[i])):
            record = [test.ids[i], test.texts[i], test.labels[i].tolist(), known[i].tolist()]
            record.append(meta[i])
            digest.update(
                json.dumps(record, ensure_ascii=False, sort_keys=True, default=str).encode("utf-8")
            )
            digest.update(b"\n")
        return digest.hexdigest()

    def summary(self) -> dict[str, object]:
        """A JSON-able summary (sizes, per-split genre counts, drops) for metadata and cards."""
        return {
            "sizes": {name: len(getattr(self, name)) for name in SPLIT_NAMES},
            "genres": list(self.genres),
            "dropped_genres": dict(self.dropped_genres),
            "excluded": dict(self.excluded),
            "fingerprint": self.fingerprint,
            "seed": self.seed,
            "fractions": list(self.fractions),
            "genre_counts": self.genre_counts,
            "kept_assignment": self.kept_assignment,
            "lineage": self.lineage,
        }


def fingerprint_examples(
    examples: GenreExamples, *, seed: int, fractions: tuple[float, ...]
) -> str:
    """sha256 over the sorted (id, text, genre names) triples, the seed and the fractions.

    With label masks (``examples.known``), each row's unknown genres join its triple.
    Independent of row order; changes when any id, text, label or mask changes, or the
    seed or fractions do.
    """
    digest = hashlib.sha256()
    digest.update(json.dumps({"seed": seed, "fractions": [float(f) for f in fractions]}).encode())
    genres = list(examples.genres)
    unknown = (
        ([genres[j] for j in np.flatnonzero(~row)] for row in examples.known)
        if examples.known is not None
        else ([] for _ in examples.ids)
    )
    rows = sorted(
        zip(
            examples.ids,
            examples.texts,
            ([genres[j] for j in np.flatnonzero(row)] for row in examples.labels),
            unknown,
            strict=True,
        )
    )
    for title_id, text, labels, unknown_genres in rows:
        record = [title_id, text, labels] + ([unknown_genres] if unknown_genres else [])
        digest.update(json.dumps(record, ensure_ascii=False).encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()


def iterative_stratification(
    labels: np.ndarray, fractions: tuple[float, ...], rng: np.random.Generator
) -> np.ndarray:
    """The subset number (0..k-1) of every row of the multi-hot ``labels``."""
    labels = np.asarray(labels, dtype=bool)
    n, n_labels = labels.shape
    ratios = np.asarray(fractions, dtype=float)
    want_size = n * ratios
    want_label = labels.sum(axis=0)[None, :] * ratios[:, None]  # (k, L)
    assignment = np.full(n, -1, dtype=np.int64)
    remaining = np.ones(n, dtype=bool)
    # A seeded shuffle makes the order of examples inside one label random but fixed.
    order = rng.permutation(n)

    def assign(row: int, subsets: np.ndarray) -> None:
        choice = subsets[0] if len(subsets) == 1 else rng.choice(subsets)
        assignment[row] = choice
        remaining[row] = False
        want_size[choice] -= 1
        want_label[choice, labels[row]] -= 1

    while remaining.any():
        counts = labels[remaining].sum(axis=0)
        if not counts.any():
            break
        counts = np.where(counts > 0, counts, np.iinfo(np.int64).max)
        label = int(np.argmin(counts))  # lowest index among ties: deterministic
        for row in order[remaining[order] & labels[order, label]]:
            wants = want_label[:, label]
            best = np.flatnonzero(wants == wants.max())
            if len(best) > 1:
                sizes = want_size[best]
                best = best[sizes == sizes.max()]
            assign(int(row), best)
    # Rows with no label at all (none reach here from make_split): by size alone.
    for row in order[remaining[order]]:
        assign(int(row), np.flatnonzero(want_size == want_size.max()))
    return assignment


def make_split(
    examples: GenreExamples,
    *,
    seed: int = 42,
    fractions: tuple[float, float, float] = (0.7, 0.15, 0.15),
    min_genre_count: int = 10,
    previous: Mapping[str, str] | None = None,
) -> SplitResult:
    """Split ``examples`` into train/validation/test, stratified for multi-label.

    Deterministic for the same examples, seed, fractions and ``previous`` (row order does
    not matter). With ``previous`` (id -> part), titles keep their part and new ones are
    stratified among themselves; if that would leave a part empty, the split starts
    afresh. Raises :class:`TrainingDataError` when the data is too small to split.
    """
    fractions = tuple(float(f) for f in fractions)  # type: ignore[assignment]
    if len(fractions) != 3 or any(f <= 0 for f in fractions) or abs(sum(fractions) - 1) > 1e-6:
        raise ValueError(f"fractions must be three positive numbers summing to 1, got {fractions}")
    fingerprint = fingerprint_examples(examples, seed=seed, fractions=fractions)

    counts = examples.labels.sum(axis=0)
    keep = [g for g, c in zip(examples.genres, counts, strict=True) if c >= min_genre_count]
    dropped = {
        g: int(c) for g, c in zip(examples.genres, counts, strict=True) if c < min_genre_count
    }
    if not keep:
        raise TrainingDataError(
            f"no genre has at least {min_genre_count} examples among {len(examples)} "
            "training examples; add data or lower min_genre_count"
        )
    kept = examples.with_genres(keep)
    has_label = kept.labels.any(axis=1)
    excluded = {"no_label_after_genre_drop": int((~has_label).sum())}
    # Canonical order (by id, then text) so the split does not depend on row order.
    candidates = np.flatnonzero(has_label)
    candidates = np.array(
        sorted(candidates, key=lambda i: (kept.ids[i], kept.texts[i])), dtype=np.int64
    )
    if len(candidates) < MIN_EXAMPLES:
        raise TrainingDataError(
            f"too few training examples to split: {len(candidates)} with a kept genre "
            f"(need at least {MIN_EXAMPLES}; {len(examples)} before dropping genres with "
            f"fewer than {min_genre_count} examples)"
        )
    rng = np.random.default_rng(seed)
    part_index = {name: j for j, name in enumerate(SPLIT_NAMES)}
    assignment = np.array(
        [part_index.get((previous or {}).get(kept.ids[i], ""), -1) for i in candidates],
        dtype=np.int64,
    )
    new = assignment < 0
    if new.any():
        assignment[new] = iterative_stratification(kept.labels[candidates[new]], fractions, rng)
    parts = {name: candidates[assignment == j] for j, name in enumerate(SPLIT_NAMES)}
    empty = [name for name, idx in parts.items() if len(idx) == 0]
    if empty and previous:
        return make_split(examples, seed=seed, fractions=fractions, min_genre_count=min_genre_count)  # type: ignore[arg-type]
    if empty:
        raise TrainingDataError(
            f"the {', '.join(empty)} split would be empty with {len(candidates)} examples "
            f"and fractions {fractions}; add data or change the fractions"
        )
    subsets = {name: kept.subset(idx) for name, idx in parts.items()}
    genre_counts = {name: subsets[name].genre_counts() for name in SPLIT_NAMES}
    digest = hashlib.sha256(fingerprint.encode())
    for name in SPLIT_NAMES:
        digest.update(json.dumps([name, sorted(subsets[name].ids)]).encode())
    fingerprint = digest.hexdigest()
    return SplitResult(
        train=subsets["train"],
        validation=subsets["validation"],
        test=subsets["test"],
        genres=keep,
        dropped_genres=dropped,
        excluded=excluded,
        fingerprint=fingerprint,
        seed=seed,
        fractions=fractions,  # type: ignore[arg-type]
        genre_counts=genre_counts,
        kept_assignment=int((~new).sum()),
    )


def assignment_record(split: SplitResult) -> bytes:
    """The split's assignment, seed, fractions and lineage as JSON, for the next split."""
    record = {
        "seed": split.seed,
        "fractions": list(split.fractions),
        "lineage": split.lineage,
        "assignment": split.assignment(),
    }
    return json.dumps(record, sort_keys=True).encode("utf-8")


def read_assignment(
    data: bytes | None, *, seed: int, fractions: tuple[float, ...] = (0.7, 0.15, 0.15)
) -> tuple[dict[str, str], str] | None:
    """(assignment, lineage) from :func:`assignment_record`'s bytes; None when there is
    none, it is unreadable, or it was made with another seed or other fractions (a new
    seed or new fractions start a fresh split)."""
    if not data:
        return None
    try:
        record = json.loads(data)
        same = record["seed"] == seed and [float(f) for f in record["fractions"]] == [
            float(f) for f in fractions
        ]
        assignment = {str(k): str(v) for k, v in record["assignment"].items()}
        lineage = str(record["lineage"])
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    if not same or not lineage or not set(assignment.values()) <= set(SPLIT_NAMES):
        return None
    return assignment, lineage
