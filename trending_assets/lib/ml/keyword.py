"""The rules baseline: "if 'space' is in the plot, it is Sci-Fi", done properly.

Each canonical genre has a hand-written seed lexicon of word-boundary regexes. Fitting
optionally adds, per genre, the ``expand_top_k`` words of the training split most
associated with it (log-odds ratio with an informative z-score, after Monroe, Colaresi
& Quinn 2008, "Fightin' Words"): every word's log-odds of appearing in a plot of the
genre versus the others, divided by its standard error, so frequent words with a real
lean beat rare words with a noisy one.

Score of a genre = sum of the weights of the distinct lexicon terms that match (seed
terms weigh 1, learned terms their log-odds ratio, capped); probability-like score =
1 - exp(-score), so no match is 0 and each further match adds less. Thresholds are
tuned per genre on validation like every other model. No learned estimator, no pickle:
the lexicon is saved as JSON.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from trending_assets.lib.ml.data import GenreExamples
from trending_assets.lib.ml.models import (
    GenreModel,
    read_model_json,
    validation_macro_f1,
    write_model_json,
)

# Seed terms: regex fragments, matched case-insensitively between word boundaries.
# fmt: off
SEED_LEXICON: dict[str, list[str]] = {
    "action": [r"fight\w*", r"explosi\w+", r"mercenar\w+", r"assassins?", r"shoot-?outs?",
               r"commandos?", r"martial arts?", r"heists?", r"gun\w*", r"chases?", r"rescue",
               r"terroris\w+", r"special forces", r"agents?", r"soldiers?"],
    "adventure": [r"adventures?", r"quests?", r"journey\w*", r"treasure", r"expedition\w*",
                  r"explor\w+", r"jungle", r"islands?", r"voyage", r"pirates?", r"legendary",
                  r"lost city", r"kingdom"],
    "animation": [r"animated", r"animation", r"cartoons?", r"anime", r"pixar", r"disney",
                  r"talking (?:animals?|dog|cat|car)s?", r"penguins?", r"dragons?",
                  r"toys?", r"mouse", r"puppy"],
    "comedy": [r"comed\w+", r"comic\w*", r"hilarious\w*", r"funny", r"laughs?", r"misadventures?",
               r"prank\w*", r"wacky", r"goofy", r"slacker\w*", r"stand-?up", r"bachelor\w*",
               r"wedding", r"antics", r"hijinks", r"awkward"],
    "crime": [r"crimes?", r"criminal\w*", r"gangsters?", r"mob\w*", r"mafia", r"cops?",
              r"police", r"detectives?", r"drug\w*", r"robber\w*", r"heists?", r"murder\w*",
              r"cartel\w*", r"fbi", r"prison", r"con (?:man|artist)", r"thie(?:f|ves)"],
    "documentary": [r"documentar\w+", r"docuseries", r"footage", r"interviews?",
                    r"archival", r"true story of", r"filmmakers?", r"examines", r"explores",
                    r"chronicles", r"behind the scenes", r"real-life", r"inside look"],
    "drama": [r"drama\w*", r"struggl\w+", r"relationships?", r"grief", r"family", r"father",
              r"mother", r"life", r"marriage", r"troubled", r"tragedy", r"emotional", r"illness",
              r"cancer", r"addiction"],
    "family": [r"family", r"kids?", r"children", r"young (?:boy|girl)", r"dog", r"puppy",
               r"christmas", r"santa", r"magical", r"friendship", r"holiday", r"pets?"],
    "fantasy": [r"magic\w*", r"wizards?", r"witch\w*", r"sorcer\w+", r"dragons?", r"fairy",
                r"enchanted", r"kingdom", r"mythical", r"spells?", r"curse[sd]?", r"elves",
                r"prophecy", r"realm", r"vampires?", r"gods?"],
    "history": [r"histor\w+", r"true story", r"based on the (?:true|real)", r"century",
                r"empire", r"kings?", r"queens?", r"revolution\w*", r"civil rights",
                r"biograph\w+", r"ancient", r"medieval", r"18\d\ds", r"19[0-4]\ds"],
    "horror": [r"horror", r"terrif\w+", r"haunt\w*", r"ghosts?", r"demon\w*", r"possess\w+",
               r"evil", r"zombies?", r"vampires?", r"monsters?", r"killer", r"slasher",
               r"supernatural", r"nightmares?", r"blood\w*", r"creature", r"exorcis\w+"],
    "music": [r"music\w*", r"singers?", r"songs?", r"bands?", r"concerts?", r"rock",
              r"hip-?hop", r"rapper", r"danc\w+", r"piano", r"guitar\w*", r"opera", r"jazz",
              r"composer", r"tour"],
    "mystery": [r"myster\w+", r"detectives?", r"investigat\w+", r"clues?", r"disappear\w*",
                r"secrets?", r"unsolved", r"whodunit", r"suspects?", r"missing", r"puzzle"],
    "romance": [r"love\w*", r"romanc\w*", r"romantic", r"falls? for", r"fell in love",
                r"girlfriend", r"boyfriend", r"lovers?", r"affair", r"wedding", r"heart",
                r"passion\w*", r"dating", r"soulmate", r"marry"],
    "science_fiction": [r"space\w*", r"alien\w*", r"planets?", r"robots?", r"futur\w+",
                        r"galax\w+", r"time travel\w*", r"scientists?", r"experiment\w*",
                        r"earth", r"dystopi\w+", r"androids?", r"cyborgs?", r"mutant\w*",
                        r"virus", r"post-apocalyptic", r"technology"],
    "tv_movie": [r"tv movie", r"television film", r"made-for-tv", r"hallmark"],
    "thriller": [r"thriller", r"suspense\w*", r"danger\w*", r"deadly", r"killer", r"hostage\w*",
                 r"conspiracy", r"psychopath\w*", r"stalk\w+", r"terroris\w+", r"kidnap\w*",
                 r"escape", r"revenge", r"hunt\w*", r"serial"],
    "war": [r"wars?", r"world war", r"soldiers?", r"army", r"battle\w*", r"military",
            r"troops?", r"nazis?", r"vietnam", r"platoon", r"combat", r"invasion",
            r"resistance"],
    "western": [r"western", r"cowboys?", r"outlaws?", r"sheriff", r"ranch\w*", r"gunslinger\w*",
                r"frontier", r"wild west", r"bounty hunter", r"texas", r"saloon", r"apache"],
    "kids": [r"kids?", r"preschool\w*", r"children", r"learn\w*", r"friends", r"adventures",
             r"pups?", r"young viewers", r"cartoon", r"cute"],
    "news": [r"news", r"journalis\w+", r"headlines", r"anchor", r"current events",
             r"reporting", r"newsroom", r"political"],
    "reality": [r"reality", r"contestants?", r"competition", r"competes?", r"compete",
                r"makeover", r"dating show", r"follows", r"real-life", r"cast of",
                r"challenges"],
    "soap": [r"soap", r"telenovela", r"scandal\w*", r"affairs?", r"wealthy famil\w+",
             r"betrayal", r"dynasty", r"secrets and lies"],
    "talk": [r"talk show", r"talk", r"hosts?", r"celebrity guests?", r"late-night",
             r"interviews?", r"conversations?", r"panel", r"comedians?"],
}
# fmt: on

_TOKEN = re.compile(r"[a-z][a-z'-]*[a-z]|[a-z]")
# Function words never become learned terms.
# fmt: off
_STOPWORDS = frozenset(
    [
        "a", "an", "and", "the", "of", "to", "in", "on", "at", "by", "for", "from", "with", "into",
        "about", "after", "before", "over", "under", "is", "are", "was", "were", "be", "been",
        "being", "has", "have", "had", "his", "her", "hers", "he", "she", "him", "they", "them",
        "their", "it", "its", "this", "that", "these", "those", "who", "whom", "whose", "which",
        "what", "when", "where", "while", "as", "but", "or", "not", "no", "one", "two", "must",
        "will", "would", "can", "could", "should", "than", "then", "there", "out", "up", "only",
        "our", "your", "my", "we", "you", "i", "all", "more", "most", "so", "if", "some", "any",
        "each", "other", "such", "own", "same", "too", "very", "just", "also", "now", "new",
        "first", "last", "during", "through", "between", "against", "becomes", "become", "s"
    ]
)
# fmt: on


def _compile(term: str) -> re.Pattern[str]:
    return re.compile(rf"\b(?:{term})\b", re.IGNORECASE)


def log_odds_terms(
    token_sets: Sequence[set[str]],
    labels: np.ndarray,
    *,
    top_k: int,
    min_df: int = 3,
    prior: float = 0.5,
    known: np.ndarray | None = None,
) -> list[list[tuple[str, float]]]:
    """Per label column, the top ``top_k`` (word, log-odds ratio) by z-score, positives only.

    Document frequencies: ``df_in`` in plots with the label, ``df_out`` in the rest (with
    ``known``, the label mask, only the plots for which the label is known). The
    smoothed log-odds ratio is ``log((df_in+a)/(n_in-df_in+a)) - log((df_out+a)/(n_out-df_out+a))``
    and its z-score divides it by ``sqrt(sum of the four reciprocal counts)``.
    """
    vocabulary: dict[str, int] = {}
    rows: list[int] = []
    cols: list[int] = []
    for i, tokens in enumerate(token_sets):
        for token in tokens:
            cols.append(vocabulary.setdefault(token, len(vocabulary)))
            rows.append(i)
    words = np.array(list(vocabulary), dtype=object)
    import scipy.sparse as sp

    presence = sp.csr_matrix(
        (np.ones(len(rows), dtype=np.float64), (rows, cols)),
        shape=(len(token_sets), len(vocabulary)),
    )
    df_all = np.asarray(presence.sum(axis=0)).ravel()
    result: list[list[tuple[str, float]]] = []
    for j in range(labels.shape[1]):
        mask = labels[:, j].astype(bool)
        negatives = ~mask if known is None else ~mask & known[:, j]
        n_in, n_out = float(mask.sum()), float(negatives.sum())
        if n_in == 0 or n_out == 0 or top_k <= 0:
            result.append([])
            continue
        df_in = np.asarray(presence[mask].sum(axis=0)).ravel()
        df_out = (
            df_all - df_in if known is None else np.asarray(presence[negatives].sum(axis=0)).ravel()
        )
        a = prior
        ratio = np.log((df_in + a) / (n_in - df_in + a)) - np.log(
            (df_out + a) / (n_out - df_out + a)
        )
        variance = (
            1 / (df_in + a) + 1 / (n_in - df_in + a) + 1 / (df_out + a) + 1 / (n_out - df_out + a)
        )
        z = ratio / np.sqrt(variance)
        eligible = np.flatnonzero((df_in >= min_df) & (ratio > 0))
        chosen = eligible[np.argsort(-z[eligible], kind="stable")[:top_k]]
        result.append([(str(words[k]), float(ratio[k])) for k in chosen])
    return result


class KeywordGenreModel(GenreModel):
    """Seed lexicon (+ optional log-odds expansion from train) -> scores -> tuned thresholds."""

    name = "keyword"

    def __init__(
        self,
        *,
        expand_top_k: int = 30,
        learned_weight_cap: float = 2.0,
        seed_lexicon: dict[str, list[str]] | None = None,
    ) -> None:
        self.expand_top_k = expand_top_k
        self.learned_weight_cap = learned_weight_cap
        self.seed_lexicon = {g: list(t) for g, t in (seed_lexicon or SEED_LEXICON).items()}
        self.genres: list[str] = []
        self.thresholds = np.zeros(0)
        self.learned: dict[str, list[tuple[str, float]]] = {}
        self._patterns: list[list[re.Pattern[str]]] = []

    @property
    def config(self) -> dict[str, Any]:
        return {"expand_top_k": self.expand_top_k, "learned_weight_cap": self.learned_weight_cap}

    def _prepare(self) -> None:
        self._patterns = [[_compile(t) for t in self.seed_lexicon.get(g, [])] for g in self.genres]

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        if not self.genres:
            raise RuntimeError("KeywordGenreModel is not fitted")
        if not self._patterns:
            self._prepare()
        texts = list(texts)
        scores = np.zeros((len(texts), len(self.genres)), dtype=np.float64)
        for i, text in enumerate(texts):
            tokens = set(_TOKEN.findall(text.lower()))
            for j, genre in enumerate(self.genres):
                seed_hits = sum(1 for pattern in self._patterns[j] if pattern.search(text))
                learned = sum(w for term, w in self.learned.get(genre, []) if term in tokens)
                scores[i, j] = seed_hits + learned
        return 1.0 - np.exp(-scores)

    def fit(self, train: GenreExamples, validation: GenreExamples) -> dict[str, Any]:
        started = time.perf_counter()
        self.genres = list(train.genres)
        self._prepare()
        self.learned = {}
        if self.expand_top_k > 0:
            token_sets = [set(_TOKEN.findall(t.lower())) - _STOPWORDS for t in train.texts]
            terms = log_odds_terms(
                token_sets, train.labels, top_k=self.expand_top_k, known=train.known
            )
            for genre, genre_terms in zip(self.genres, terms, strict=True):
                self.learned[genre] = [
                    (term, round(min(weight, self.learned_weight_cap), 6))
                    for term, weight in genre_terms
                ]
        validation = validation.with_genres(self.genres)
        score, self.thresholds = validation_macro_f1(
            validation.labels, self.predict_proba(validation.texts), validation.known
        )
        return {
            "model": self.name,
            "best_params": self.config,
            "validation_macro_f1": score,
            "seed_terms": sum(len(self.seed_lexicon.get(g, [])) for g in self.genres),
            "learned_terms": sum(len(v) for v in self.learned.values()),
            "train_seconds": round(time.perf_counter() - started, 2),
        }

    def save(self, directory: Path) -> None:
        if not self.genres:
            raise RuntimeError("KeywordGenreModel is not fitted")
        directory = Path(directory)
        write_model_json(self, directory)
        lexicon = {
            "seed": {g: self.seed_lexicon.get(g, []) for g in self.genres},
            "learned": {g: [[t, w] for t, w in self.learned.get(g, [])] for g in self.genres},
        }
        (directory / "lexicon.json").write_text(json.dumps(lexicon, indent=1, sort_keys=True))

    @classmethod
    def load(cls, directory: Path) -> KeywordGenreModel:
        directory = Path(directory)
        meta = read_model_json(directory)
        lexicon = json.loads((directory / "lexicon.json").read_text())
        model = cls(**meta["config"], seed_lexicon=lexicon["seed"])
        model.genres = list(meta["genres"])
        model.thresholds = np.asarray(meta["thresholds"], dtype=float)
        model.learned = {
            g: [(t, float(w)) for t, w in terms] for g, terms in lexicon["learned"].items()
        }
        model._prepare()
        return model
