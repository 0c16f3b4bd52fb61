"""Behavioural checks of a genre model: what it must do whatever its test score says.

Three kinds, after the usual checklist for NLP models:

- **invariance**: a change that does not touch the genre (the characters' names, the
  year, the city) leaves the predicted genres as they were, and moves no probability by
  more than ``INVARIANCE_TOLERANCE``;
- **direction**: adding a sentence that clearly belongs to a genre ("a haunted house where
  the family is stalked by a ghost") raises that genre's probability;
- **minimum functionality**: short, clear plots get their obvious genre among the
  predicted ones, or at least ranked in the top ``MIN_FUNCTIONALITY_TOP_K``.

Each check returns :class:`BehaviourResult` rows, so a caller (a test, a model card) can
report every failure at once instead of stopping at the first.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

INVARIANCE_TOLERANCE = 0.15
MIN_FUNCTIONALITY_TOP_K = 3

# (plot, the replacements that must not matter)
INVARIANCE_CASES: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    (
        "In 1987, detective Maria Lopez hunts a serial killer through the rainy streets of "
        "Chicago, while the killer leaves her clues at every crime scene.",
        (("Maria Lopez", "Anna Novak"), ("1987", "2014"), ("Chicago", "Glasgow")),
    ),
    (
        "Tom and his best friend Raj spend one chaotic summer in 2003 trying to win back "
        "their ex-girlfriends with a series of ridiculous pranks.",
        (("Tom", "Felix"), ("Raj", "Bruno"), ("2003", "1978")),
    ),
)

# (genre, a neutral plot, the sentence that must raise the genre)
DIRECTION_CASES: tuple[tuple[str, str, str], ...] = (
    (
        "horror",
        "A family moves to a small town after the father loses his job.",
        "In their new home, a haunted house, the family is stalked by a ghost.",
    ),
    (
        "romance",
        "Two architects work on the same building project in a busy city.",
        "Slowly they fall in love, and their romance changes both of their lives.",
    ),
    (
        "science_fiction",
        "A young pilot takes a job far from home.",
        "Aboard a starship to a distant planet, she meets an alien civilisation.",
    ),
)

# (genre, a short, clear plot)
MIN_FUNCTIONALITY_CASES: tuple[tuple[str, str], ...] = (
    ("horror", "A cursed doll possesses a girl and a demon haunts her family every night."),
    ("comedy", "Two clumsy friends stumble through a hilarious road trip full of jokes."),
    ("romance", "A lonely baker falls in love with a musician, a tender love story."),
    ("animation", "An animated tale of a talking fox and his cartoon friends in the forest."),
)


@dataclass(frozen=True)
class BehaviourResult:
    kind: str  # invariance | direction | minimum_functionality
    case: str
    passed: bool
    detail: str


Predict = Callable[[Sequence[str]], np.ndarray]  # texts -> (n, genres) probabilities


def check_invariance(
    predict: Predict,
    genres: Sequence[str],
    thresholds: np.ndarray,
    cases=INVARIANCE_CASES,
    tolerance: float = INVARIANCE_TOLERANCE,
) -> list[BehaviourResult]:
    results = []
    for plot, replacements in cases:
        variants = [plot]
        for old, new in replacements:
            variants.append(plot.replace(old, new))
        proba = predict(variants)
        called = proba >= thresholds
        for i, (old, new) in enumerate(replacements, start=1):
            shift = float(np.max(np.abs(proba[i] - proba[0])))
            same = bool(np.array_equal(called[i], called[0]))
            changed = [g for g, a, b in zip(genres, called[0], called[i], strict=True) if a != b]
            results.append(
                BehaviourResult(
                    "invariance",
                    f"{old!r} -> {new!r}",
                    same and shift <= tolerance,
                    f"largest probability shift {shift:.3f}; genres changed: {changed or 'none'}",
                )
            )
    return results


def check_direction(
    predict: Predict, genres: Sequence[str], cases=DIRECTION_CASES
) -> list[BehaviourResult]:
    results = []
    for genre, plot, sentence in cases:
        if genre not in genres:
            continue  # the model was not trained on this genre
        j = list(genres).index(genre)
        before, after = predict([plot, f"{plot} {sentence}"])[:, j]
        results.append(
            BehaviourResult(
                "direction",
                f"+{sentence[:40]!r} raises {genre}",
                bool(after > before),
                f"{genre}: {before:.3f} -> {after:.3f}",
            )
        )
    return results


def check_minimum_functionality(
    predict: Predict,
    genres: Sequence[str],
    thresholds: np.ndarray,
    cases=MIN_FUNCTIONALITY_CASES,
    top_k: int = MIN_FUNCTIONALITY_TOP_K,
) -> list[BehaviourResult]:
    results = []
    for genre, plot in cases:
        if genre not in genres:
            continue
        j = list(genres).index(genre)
        proba = predict([plot])[0]
        rank = int((proba > proba[j]).sum()) + 1
        called = bool(proba[j] >= thresholds[j])
        results.append(
            BehaviourResult(
                "minimum_functionality",
                f"{genre}: {plot[:40]!r}",
                called or rank <= top_k,
                f"{genre} probability {proba[j]:.3f}, rank {rank}, predicted: {called}",
            )
        )
    return results


def run_all(
    predict: Predict, genres: Sequence[str], thresholds: np.ndarray
) -> list[BehaviourResult]:
    thresholds = np.asarray(thresholds, dtype=float)
    return [
        *check_invariance(predict, genres, thresholds),
        *check_direction(predict, genres),
        *check_minimum_functionality(predict, genres, thresholds),
    ]
