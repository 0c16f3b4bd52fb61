"""Versioned prompt files and their rendering.

A prompt version ``vN`` is the file ``prompts/enrich_vN.txt`` with a ``[system]`` and a
``[user]`` section (``$placeholders``, ``string.Template`` syntax, so JSON braces need no
escaping). Never edit a released file: copy it to the next version, so every stored output
row names the exact text that produced it. ``prompt_fingerprint`` hashes the file, for the
asset's code version.

``render`` fits the reviews into a character budget deterministically: reviews are put in
a canonical order (hash of the text, so input order does not matter), interleaved across
rating bands (negative, mixed, positive, unrated) so the sample keeps the spread of opinion,
each trimmed at a word boundary, and added until the budget is spent. Ratings are never
shown to the model: the vibe score must come from the text, or its correlation with the
mean rating (see ``evaluation``) would measure nothing.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from string import Template

from trending_assets.lib.enrichment.schema import (
    SUMMARY_MAX_WORDS,
    EnrichmentInput,
    enrichment_json_schema,
    normalise_text,
)
from trending_assets.lib.validation import CANONICAL_GENRES

PROMPT_DIR = Path(__file__).with_name("prompts")
PROMPT_VERSION = "v1"

REVIEW_CHAR_BUDGET = 6000
PER_REVIEW_CHARS = 700
PLOT_CHARS = 1500

_SECTION = re.compile(r"^\[(system|user)\]\s*$", re.MULTILINE)
_VERSION = re.compile(r"^v\d+$")


@dataclass(frozen=True)
class PromptTemplate:
    version: str
    system: str
    user: str
    fingerprint: str  # sha256 of the file, first 16 hex digits


@dataclass(frozen=True)
class RenderedPrompt:
    version: str
    system: str
    user: str
    shown_reviews: int

    def messages(self) -> list[dict[str, str]]:
        return [
            {"role": "system", "content": self.system},
            {"role": "user", "content": self.user},
        ]


def available_versions() -> list[str]:
    versions = [p.stem.removeprefix("enrich_") for p in PROMPT_DIR.glob("enrich_v*.txt")]
    return sorted(versions, key=lambda v: int(v[1:]))


@lru_cache(maxsize=16)
def load_prompt(version: str = PROMPT_VERSION) -> PromptTemplate:
    """The ``[system]`` and ``[user]`` templates of ``prompts/enrich_<version>.txt``."""
    if not _VERSION.match(version):
        raise ValueError(f"prompt version must look like 'v1', not {version!r}")
    path = PROMPT_DIR / f"enrich_{version}.txt"
    if not path.is_file():
        raise FileNotFoundError(
            f"no prompt file for version {version!r}; have {', '.join(available_versions())}"
        )
    raw = path.read_text(encoding="utf-8")
    parts = _SECTION.split(raw)
    # parts: [preamble, name, body, name, body]
    sections = {parts[i]: parts[i + 1].strip("\n") for i in range(1, len(parts) - 1, 2)}
    if set(sections) != {"system", "user"}:
        raise ValueError(f"{path.name} needs exactly one [system] and one [user] section")
    fingerprint = hashlib.sha256(raw.encode("utf-8")).hexdigest()[:16]
    return PromptTemplate(version, sections["system"], sections["user"], fingerprint)


def prompt_fingerprint(version: str = PROMPT_VERSION) -> str:
    return load_prompt(version).fingerprint


def trim_words(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters at a word boundary, with an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text[: max(limit - 1, 1)]
    if " " in cut:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:") + "…"


def _band(rating: int | None) -> int:
    if rating is None:
        return 3
    return 0 if rating <= 4 else (1 if rating <= 6 else 2)


def sample_reviews(
    item: EnrichmentInput,
    budget: int = REVIEW_CHAR_BUDGET,
    per_review: int = PER_REVIEW_CHARS,
) -> list[str]:
    """Review texts to show, trimmed, within ``budget`` characters (deterministic)."""
    bands: list[list[str]] = [[], [], [], []]
    for text, rating in item.clean_reviews():
        bands[_band(rating)].append(text)
    # Round-robin over the bands, largest first, so the mix follows the real spread.
    order = sorted(range(4), key=lambda b: (-len(bands[b]), b))
    queue: list[str] = []
    for i in range(max((len(b) for b in bands), default=0)):
        queue += [bands[b][i] for b in order if i < len(bands[b])]
    shown: list[str] = []
    used = 0
    for text in queue:
        room = budget - used
        if room < 80:  # a stub of a review says nothing
            break
        piece = trim_words(text, min(per_review, room))
        shown.append(piece)
        used += len(piece) + 3
    return shown


def render(
    item: EnrichmentInput,
    version: str = PROMPT_VERSION,
    *,
    review_char_budget: int = REVIEW_CHAR_BUDGET,
    per_review_chars: int = PER_REVIEW_CHARS,
    plot_chars: int = PLOT_CHARS,
) -> RenderedPrompt:
    template = load_prompt(version)
    reviews = sample_reviews(item, review_char_budget, per_review_chars)
    values = {
        "genre_ids": ", ".join(CANONICAL_GENRES),
        "summary_words": str(SUMMARY_MAX_WORDS),
        "json_schema": json.dumps(enrichment_json_schema(), separators=(",", ":")),
        "title": normalise_text(item.title),
        "title_type": item.title_type,
        "plot": trim_words(normalise_text(item.plot), plot_chars) or "(none)",
        "review_count": str(len(item.reviews)),
        "shown_reviews": str(len(reviews)),
        "reviews": "\n".join(f"- {text}" for text in reviews) or "(no reviews yet)",
    }
    system = Template(template.system).substitute(values)
    user = Template(template.user).substitute(values)
    return RenderedPrompt(version, system, user, len(reviews))
