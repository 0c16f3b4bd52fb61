"""Behavioural checks of a genre model: what it must do whatever its test score says.

Four kinds, the first three after the usual checklist for NLP models:

- **invariance**: a change that does not touch the genre (the characters' names, the
  year, the city) leaves the predicted genres as they were, and moves no probability by
  more than ``INVARIANCE_TOLERANCE``;
- **direction**: adding a sentence that clearly belongs to a genre ("a haunted house where
  the family is stalked by a ghost") raises that genre's probability;
- **minimum functionality**: short, clear plots get their obvious genre among the
  predicted ones, or at least ranked in the top ``MIN_FUNCTIONALITY_TOP_K``;
- **no universal genre**: over ``VARIED_PLOTS`` (fifteen short plots of unrelated kinds:
  horror, romance, science fiction, documentary, cartoon, western, ...), no genre is
  predicted for more than ``UNIVERSAL_MAX_SHARE`` of them, decisions taken as they are
  served (``thresholds.apply_thresholds``, at least one genre per plot). A genre that
  fires on everything is a broken threshold (``thresholds.MIN_POSITIVES``), whatever
  the test F1 says.

Each check returns :class:`BehaviourResult` rows, so a caller (a test, a model card) can
report every failure at once instead of stopping at the first.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from trending_assets.lib.ml.thresholds import apply_thresholds

INVARIANCE_TOLERANCE = 0.15
MIN_FUNCTIONALITY_TOP_K = 3
UNIVERSAL_MAX_SHARE = 0.8

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


# Short plots of unrelated kinds: no one genre belongs to (nearly) all of them.
VARIED_PLOTS: tuple[str, ...] = (
    "A cursed doll possesses a girl and a demon haunts her family every night.",
    "Two strangers meet on a train to Paris and slowly fall in love.",
    "A crew of astronauts travels to a distant planet to find a new home for humanity.",
    "This documentary follows marine biologists studying whales across the Pacific.",
    "A cartoon rabbit and his animated friends race to save their forest.",
    "A lone gunslinger rides into a frontier town ruled by a ruthless outlaw.",
    "A detective hunts a serial killer through the rainy streets of the city.",
    "Two clumsy friends stumble through a hilarious road trip full of pranks.",
    "A crew of thieves plans the biggest bank heist in history.",
    "A young soldier fights to survive on the front line of a brutal war.",
    "A teenage band practises in a garage for a national music contest.",
    "A young wizard discovers a magical kingdom hidden behind an old door.",
    "A special agent chases terrorists across Europe to stop a bomb.",
    "The true story of a queen who ruled England in the sixteenth century.",
    "A chef opens a small restaurant and feeds a busy neighbourhood.",
)


@dataclass(frozen=True)
class BehaviourResult:
    kind: str  # invariance | direction | minimum_functionality | universal_genre
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


def check_no_universal_genre(
    predict: Predict,
    genres: Sequence[str],
    thresholds: np.ndarray,
    plots: Sequence[str] = VARIED_PLOTS,
    max_share: float = UNIVERSAL_MAX_SHARE,
) -> list[BehaviourResult]:
    """One row per genre: predicted (as served, at least one genre per plot) for at most
    ``max_share`` of ``plots``. The default 0.8 fails a genre called for 13 or more of
    the 15 varied plots, all of them included."""
    decisions = apply_thresholds(predict(list(plots)), np.asarray(thresholds, dtype=float))
    counts = decisions.sum(axis=0)
    return [
        BehaviourResult(
            "universal_genre",
            f"{genre} not on every varied plot",
            bool(count <= max_share * len(plots)),
            f"{genre} predicted for {int(count)} of {len(plots)} varied plots",
        )
        for genre, count in zip(genres, counts, strict=True)
    ]


def run_all(
    predict: Predict, genres: Sequence[str], thresholds: np.ndarray
) -> list[BehaviourResult]:
    thresholds = np.asarray(thresholds, dtype=float)
    return [
        *check_invariance(predict, genres, thresholds),
        *check_direction(predict, genres),
        *check_minimum_functionality(predict, genres, thresholds),
        *check_no_universal_genre(predict, genres, thresholds),
    ]
