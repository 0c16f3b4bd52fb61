"""Stanford Large Movie Review Dataset (``aclImdb_v1.tar.gz`` or ``aclImdb/``) to reviews.

Review text is returned raw: the ``<br />`` tags stay for staging to clean, as the
contract allows HTML in ``text``. The unlabelled ``unsup`` reviews are skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from trending_assets.lib.datasets.records import LoadResult, build, reject

# Member paths of the corpus, matched anywhere under an archive or directory.
REVIEW_PATH = re.compile(r"(?:^|/)(train|test)/(pos|neg)/([^/]+)$")
URLS_PATH = re.compile(r"(?:^|/)(train|test)/urls_(pos|neg)\.txt$")
_REVIEW_NAME = re.compile(r"^(\d+)_(\d+)\.txt$")
_IMDB_ID = re.compile(r"/title/(tt\d+)")


@dataclass
class AclParts:
    """The review files and URL lists of one ``aclImdb`` root."""

    reviews: list[tuple[str, str, str, bytes]] = field(default_factory=list)  # split, label, name
    urls: dict[tuple[str, str], list[str]] = field(default_factory=dict)


def _acl_order(review: tuple[str, str, str, bytes]) -> tuple[bool, bool, int, str]:
    """train before test, pos before neg, then by numeric id: a stable output order."""
    split, label, name, _ = review
    match = _REVIEW_NAME.match(name)
    return split != "train", label != "pos", int(match.group(1)) if match else -1, name


def load_aclimdb(parts: AclParts, dataset: str) -> LoadResult:
    """Reviews named ``<split>/<pos|neg>/<id>_<rating>.txt``; line ``id`` of ``urls_<label>.txt``
    is the reviewed title's IMDb URL."""
    records: list[dict[str, Any]] = []
    rejects: list[dict[str, str]] = []
    title_ids: dict[tuple[str, str], list[str | None]] = {
        key: [(m.group(1) if (m := _IMDB_ID.search(url)) else None) for url in urls]
        for key, urls in parts.urls.items()
    }
    for split, label, name, data in sorted(parts.reviews, key=_acl_order):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = data.decode("latin-1")
        where = f"{split}/{label}/{name}"
        match = _REVIEW_NAME.match(name)
        if not match:
            reason = "review file name is not <id>_<rating>.txt"
            rejects.append(reject(dataset, reason, {"file": where, "text": text}))
            continue
        review_id, rating = int(match.group(1)), int(match.group(2))
        urls = title_ids.get((split, label))
        title_id = urls[review_id] if urls is not None and review_id < len(urls) else None
        problem = None
        if urls is None:
            problem = f"no urls_{label}.txt for this split (the reviewed title is unknown)"
        elif title_id is None:
            problem = f"no IMDb title URL at the review's line of urls_{label}.txt"
        elif not 1 <= rating <= 10:
            problem = f"rating {rating} is outside 1..10"
        elif not text.strip():
            problem = "empty review"
        if problem:
            urls_file = f"{split}/urls_{label}.txt"
            record = {
                "file": where,
                "urls_file": urls_file,
                "urls_line_index": review_id,
                "text": text,
            }
            rejects.append(reject(dataset, problem, record))
            continue
        records.append(
            {
                "source": "aclimdb",
                "source_review_id": f"{split}_{label}_{review_id}",
                "source_title_id": title_id,
                "author": None,
                "rating": rating,
                "review_date": None,
                "text": text,
                "dataset": dataset,
            }
        )
    return build(records, rejects, "reviews")
