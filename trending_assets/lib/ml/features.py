"""The one text featurizer that training and serving share: word + character TF-IDF.

Word unigrams and bigrams catch topical words and phrases ("serial killer", "outer
space"); character n-grams inside word boundaries (``char_wb``) catch morphology and
spelling variants ("vampire"/"vampires", "zombie-infested") that the word vocabulary
splits. Both use sublinear tf (1 + log tf) and L2-normalised rows; the two blocks are
stacked side by side, weighted by ``char_weight`` for the character block.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import joblib
import numpy as np
import scipy.sparse as sp

if TYPE_CHECKING:  # scikit-learn is imported where it is used: seconds to import, and
    # every load of the code location imports this module
    from sklearn.feature_extraction.text import TfidfVectorizer


class TfidfFeaturizer:
    """Word (1-2)-gram + char_wb (2-5)-gram TF-IDF, stacked; ``fit`` then ``transform``."""

    def __init__(
        self,
        *,
        word_ngrams: tuple[int, int] = (1, 2),
        char_ngrams: tuple[int, int] | None = (2, 5),
        max_word_features: int | None = 50_000,
        max_char_features: int | None = 30_000,
        min_df: int | float = 2,
        max_df: float = 0.9,
        char_weight: float = 1.0,
        stop_words: str | None = None,
    ) -> None:
        self.word_ngrams = tuple(word_ngrams)
        self.char_ngrams = tuple(char_ngrams) if char_ngrams else None
        self.max_word_features = max_word_features
        self.max_char_features = max_char_features
        self.min_df = min_df
        self.max_df = max_df
        self.char_weight = float(char_weight)
        self.stop_words = stop_words
        self._word: TfidfVectorizer | None = None
        self._char: TfidfVectorizer | None = None

    @property
    def config(self) -> dict[str, Any]:
        """Constructor arguments, JSON-able (for model.json and run tracking)."""
        return {
            "word_ngrams": list(self.word_ngrams),
            "char_ngrams": list(self.char_ngrams) if self.char_ngrams else None,
            "max_word_features": self.max_word_features,
            "max_char_features": self.max_char_features,
            "min_df": self.min_df,
            "max_df": self.max_df,
            "char_weight": self.char_weight,
            "stop_words": self.stop_words,
        }

    @property
    def is_fitted(self) -> bool:
        return self._word is not None

    @property
    def vocabulary_size(self) -> int:
        """Number of columns ``transform`` returns."""
        if self._word is None:
            raise RuntimeError("TfidfFeaturizer is not fitted")
        size = len(self._word.vocabulary_)
        if self._char is not None:
            size += len(self._char.vocabulary_)
        return size

    def _vectorizers(self, n_docs: int) -> tuple[TfidfVectorizer, TfidfVectorizer | None]:
        from sklearn.feature_extraction.text import TfidfVectorizer

        # A tiny corpus cannot meet a document-frequency floor meant for thousands of texts.
        min_df = self.min_df if n_docs >= 20 else 1
        max_df = self.max_df if n_docs >= 20 else 1.0
        common = {"sublinear_tf": True, "strip_accents": "unicode", "lowercase": True,
                  "min_df": min_df, "max_df": max_df, "dtype": np.float32}  # fmt: skip
        word = TfidfVectorizer(
            analyzer="word",
            ngram_range=self.word_ngrams,
            max_features=self.max_word_features,
            token_pattern=r"(?u)\b\w[\w'-]*\w\b|\b\w\b",
            stop_words=self.stop_words,
            **common,
        )
        char = (
            TfidfVectorizer(
                analyzer="char_wb",
                ngram_range=self.char_ngrams,
                max_features=self.max_char_features,
                **common,
            )
            if self.char_ngrams
            else None
        )
        return word, char

    def fit(self, texts: Sequence[str]) -> TfidfFeaturizer:
        """Learn the vocabularies and idf weights from ``texts``."""
        texts = list(texts)
        if not texts:
            raise ValueError("cannot fit a featurizer on no texts")
        word, char = self._vectorizers(len(texts))
        word.fit(texts)
        if char is not None:
            char.fit(texts)
        self._word, self._char = word, char
        return self

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        """The (n, vocabulary_size) float32 CSR matrix for ``texts``."""
        if self._word is None:
            raise RuntimeError("TfidfFeaturizer is not fitted")
        texts = list(texts)
        blocks = [self._word.transform(texts)]
        if self._char is not None:
            blocks.append(self._char.transform(texts) * self.char_weight)
        return sp.hstack(blocks, format="csr", dtype=np.float32)

    def fit_transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        return self.fit(texts).transform(texts)

    def save(self, path: Path | str) -> None:
        """Write the fitted featurizer to ``path`` (joblib)."""
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        joblib.dump({"config": self.config, "word": self._word, "char": self._char}, path)

    @classmethod
    def load(cls, path: Path | str) -> TfidfFeaturizer:
        """A featurizer written by :meth:`save`."""
        state = joblib.load(path)
        config = dict(state["config"])
        config["word_ngrams"] = tuple(config["word_ngrams"])
        if config.get("char_ngrams"):
            config["char_ngrams"] = tuple(config["char_ngrams"])
        featurizer = cls(**config)
        featurizer._word, featurizer._char = state["word"], state["char"]
        return featurizer
