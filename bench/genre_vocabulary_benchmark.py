"""How much of a real catalogue's genre vocabulary the `generic` map understands.

    .venv/bin/python bench/genre_vocabulary_benchmark.py --data ../shared/data

A site crawled without a site file has its genre labels read with the `generic` map
(`dbt_project/seeds/genre_maps/genre_map_generic.csv`). The streaming catalogues
(Kaggle, 2021) each have a hand-made map of their own. Read as if they were such sites,
each catalogue's label uses are counted three ways:

- known by exact, case-insensitive spelling (the matching before label keys);
- known now (`lib/ml/data.label_genres`: the label's key, its bare key without title-type
  words, or every one of its parts), as the warehouse maps them;
- of those, the share given the same genres as the catalogue's own map.

Exit status 2 when the data is absent.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from trending_assets.lib.datasets import load_listings  # noqa: E402
from trending_assets.lib.ml.data import (  # noqa: E402
    DEFAULT_SEEDS_DIR,
    label_genres,
    label_key,
    load_vocabulary_maps,
)

CATALOGUES = {
    "netflix": "streaming/netflix_titles.csv",
    "hulu": "streaming/hulu_titles.csv",
    "disney_plus": "streaming/disney_plus_titles.csv",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--data", type=Path, default=Path(os.environ.get("TRENDING_BENCH_DATA", "../shared/data"))
    )
    args = parser.parse_args(argv)
    missing = [args.data / f for f in CATALOGUES.values() if not (args.data / f).is_file()]
    if missing:
        print(f"genre vocabulary benchmark: not found: {', '.join(map(str, missing))}",
              file=sys.stderr)  # fmt: skip
        return 2
    maps = load_vocabulary_maps()
    generic = maps["generic"]
    with (DEFAULT_SEEDS_DIR / "genre_maps" / "genre_map_generic.csv").open(encoding="utf-8") as f:
        spelled = {(row["source_genre"] or "").strip().lower() for row in csv.DictReader(f)}
    print(
        "| catalogue | label uses | known, exact spelling | known now | same genres as its own map |"
    )
    print("|---|---:|---:|---:|---:|")
    for name, path in CATALOGUES.items():
        frame = load_listings(args.data / path).frame
        uses = Counter(
            label for labels in frame["genres"] if labels is not None for label in labels
        )
        total = sum(uses.values())
        exact = sum(n for label, n in uses.items() if label.strip().lower() in spelled)
        genres = {label: label_genres(label, generic) for label in uses}
        known = sum(n for label, n in uses.items() if genres[label] is not None)
        same = sum(
            n
            for label, n in uses.items()
            if genres[label] is not None
            and set(genres[label]) == set(maps[name].get(label_key(label), []))
        )
        print(f"| {name} | {total:,} | {exact / total:.3f} | {known / total:.3f} | "
              f"{same / max(known, 1):.3f} |")  # fmt: skip
        unknown = [(label, n) for label, n in uses.most_common() if genres[label] is None][:6]
        print(
            f"|  | most used unknown: {', '.join(f'{label} ({n})' for label, n in unknown)} | | | |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
