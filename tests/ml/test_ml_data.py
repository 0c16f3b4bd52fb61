"""Examples from marts and dataset listings: exclusions by reason, genre mapping like dbt."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd

from trending_assets.lib.ml.data import (
    CANONICAL_GENRES,
    DEFAULT_SEEDS_DIR,
    GENRE_APPLIES_TO,
    examples_from_listing_frame,
    examples_from_marts,
    load_genre_maps,
    load_vocabulary_maps,
    looks_english,
    map_genre_labels,
)
from trending_assets.lib.taxonomy import bare_key, label_genres, label_key

ENGLISH = "A retired detective returns to the city to hunt a killer who haunts his past."


def _titles() -> pd.DataFrame:
    rows = [
        ("t1", ENGLISH, "movie", "en", ["tmdb_5000"]),
        ("t2", None, "movie", "en", ["netflix"]),  # no plot
        ("t3", "   ", "movie", "en", ["netflix"]),  # blank plot counts as no plot
        ("t4", "Two friends laugh.", "tv", "en", ["hulu"]),  # short
        ("t5", "Un homme cherche sa femme dans les rues de Paris avec son chien et une amie.",
         "movie", "fr", ["netflix"]),  # French text
        ("t6", "Молодой человек ищет свою семью в большом городе после долгой войны.",
         "movie", "ru", ["netflix"]),  # Cyrillic
        ("t7", "A family of bakers competes in a national contest for the grand prize.",
         "tv", None, ["hulu", "netflix"]),  # no genre row
        ("t8", "An English synopsis of a French film about love and loss in the war.",
         "movie", "fr", ["tmdb_5000"]),  # original_language is not the text's language
    ]  # fmt: skip
    return pd.DataFrame(
        rows, columns=["title_id", "plot", "title_type", "original_language", "sources"]
    )


def test_examples_from_marts_counts_every_exclusion_reason() -> None:
    titles = _titles()
    title_genres = pd.DataFrame(
        {
            "title_id": ["t1", "t1", "t2", "t4", "t5", "t6", "t8", "t8"],
            "genre_id": ["crime", "thriller", "drama", "comedy", "drama", "war", "romance", "war"],
        }
    )
    examples, excluded = examples_from_marts(titles, title_genres)
    assert excluded == {"no_plot": 2, "short_plot": 1, "non_english_text": 2, "no_genre": 1}
    assert examples.ids == ["t1", "t8"]
    assert examples.genres == list(CANONICAL_GENRES)
    assert examples.labels.dtype == np.uint8
    assert examples.labels.shape == (2, len(CANONICAL_GENRES))
    genres_t1 = {g for g, v in zip(examples.genres, examples.labels[0], strict=True) if v}
    assert genres_t1 == {"crime", "thriller"}
    assert list(examples.meta.columns) == ["title_type", "source", "original_language"]
    assert examples.meta.loc[1, "original_language"] == "fr"
    assert examples.meta.loc[0, "source"] == "tmdb_5000"


def test_subset_and_len() -> None:
    titles = _titles()
    title_genres = pd.DataFrame({"title_id": ["t1", "t8"], "genre_id": ["crime", "romance"]})
    examples, _ = examples_from_marts(titles, title_genres)
    sub = examples.subset([1])
    assert len(sub) == 1 and sub.ids == ["t8"]
    assert sub.meta.index.tolist() == [0]
    assert sub.labels[0, CANONICAL_GENRES.index("romance")] == 1


def test_looks_english_heuristic() -> None:
    assert looks_english(ENGLISH)
    assert looks_english("Spider-Man trains alongside four fellow teenage superheroes.")
    assert not looks_english(
        "La vida ha llevado a Julián Pérez por caminos equivocados, pero el destino."
    )
    assert not looks_english("東京で暮らす若い女性が、失われた記憶を探して旅に出る物語です。")
    assert not looks_english("!!! ???")


def test_load_genre_maps_reads_the_seeds() -> None:
    maps = load_genre_maps()
    assert maps["netflix"]["action and adventure"] == ["action", "adventure"]  # keyed
    assert maps["netflix"]["international movies"] == []  # known, maps to nothing
    assert maps["tmdb_5000"]["science fiction"] == ["science_fiction"]
    assert "aclimdb" not in maps  # no genre vocabulary


def test_applies_to_matches_the_genres_seed() -> None:
    with (DEFAULT_SEEDS_DIR / "genres.csv").open(newline="") as handle:
        seed = {row["genre_id"]: row["applies_to"] for row in csv.DictReader(handle)}
    assert seed == GENRE_APPLIES_TO


def test_examples_from_listing_frame_maps_like_dbt(tmp_path: Path) -> None:
    (tmp_path / "source_registry.csv").write_text(
        "source,source_kind,genre_vocabulary,field_priority\nnetflix,dataset,netflix,1\n"
        "tmdb_5000,dataset,tmdb,2\n"
    )
    (tmp_path / "genre_map_netflix.csv").write_text(
        "source_genre,genre_id\nKids' TV,kids\nDramas,drama\nInternational Movies,\nTV Movie,tv_movie\n"
    )
    (tmp_path / "genre_map_tmdb.csv").write_text(
        "source_genre,genre_id\nDrama,drama\nComedy,comedy\n"
    )
    maps = load_genre_maps(tmp_path)
    frame = pd.DataFrame(
        {
            "source": ["netflix", "netflix", "netflix", "tmdb_5000", "netflix"],
            "source_title_id": ["s1", "s2", "s3", "99", "s5"],
            "title": ["Tiny Tales", "Big Show", "Abroad", "Tiny Tales", "Movie Night"],
            "year": [2020, 2019, 2018, 2020, 2017],
            "title_type": ["movie", "tv", "movie", "movie", "tv"],
            "plot": [ENGLISH, ENGLISH + " Again.", ENGLISH + " Elsewhere.",
                     ENGLISH + " The longer TMDB synopsis.", ENGLISH + " Tonight."],
            "genres": [["KIDS' TV"], ["Kids' TV", "dramas"], ["International Movies"], ["Comedy"],
                       ["TV Movie"]],
            "original_language": [None, None, None, "en", None],
        }
    )  # fmt: skip
    examples, excluded = examples_from_listing_frame(frame, maps)
    assert excluded["duplicate"] == 1  # Tiny Tales on netflix and tmdb_5000
    assert excluded["no_genre"] == 2  # mapped to nothing; tv_movie does not apply to tv
    by_id = {i: {g for g, v in zip(examples.genres, row, strict=True) if v}
             for i, row in zip(examples.ids, examples.labels, strict=True)}  # fmt: skip
    # kids on a movie becomes family; genres of duplicate listings are united;
    # the longest plot wins and names the example.
    assert by_id == {"tmdb_5000:99": {"family", "comedy"}, "netflix:s2": {"kids", "drama"}}
    merged = examples.ids.index("tmdb_5000:99")
    assert examples.meta.loc[merged, "source"] == "netflix+tmdb_5000"
    assert examples.meta.loc[merged, "original_language"] == "en"


def test_label_keys_ignore_case_ampersands_punctuation_and_spacing() -> None:
    assert label_key("Sci-Fi") == label_key("sci fi") == label_key(" SCI  FI ") == "sci fi"
    assert label_key("Action & Adventure") == label_key("action and adventure")
    assert label_key("Comédie") == "comédie"  # letters of any script stay
    assert bare_key(label_key("TV Comedies")) == "comedies"
    assert bare_key(label_key("Horror Movies")) == "horror"
    assert bare_key(label_key("TV Movie")) == ""  # nothing but type words
    assert bare_key("brand") == "brand"  # whole words only


def test_labels_map_by_key_then_bare_key_then_every_part() -> None:
    mapping = {
        "horror": ["horror"],
        "comedies": ["comedy"],
        "tv movie": ["tv_movie"],
        "mystery and suspense": ["mystery", "thriller"],
        "international": [],
    }
    assert label_genres("Mystery & Suspense", mapping) == ["mystery", "thriller"]
    assert label_genres("TV Movie", mapping) == ["tv_movie"]  # its own key first
    assert label_genres("TV Comedies", mapping) == ["comedy"]
    assert label_genres("Horror/Comedies", mapping) == ["horror", "comedy"]
    assert label_genres("International TV Shows", mapping) == []  # known: no genre
    assert label_genres("Horror/Cyberpunk", mapping) is None  # a part unknown
    assert label_genres("Cyberpunk", mapping) is None
    assert label_genres("Movies", mapping) is None
    assert label_genres("Zombie Horror", mapping) == ["horror"]  # the genre comes last
    assert label_genres("Zombie Horror TV Series", mapping) == ["horror"]
    assert label_genres("Zombie International", mapping) is None  # a suffix with no genre
    assert label_genres("Cyberpunk/Zombie Horror", mapping) is None  # parts: all or nothing
    assert map_genre_labels(["Horror Movies", "Cyberpunk"], mapping, "movie") == {"horror"}


def test_generic_map_reads_genre_names_as_sites_write_them() -> None:
    """The generic vocabulary (sites without a site file) on labels in the styles real
    catalogues use: type words in the label, combined labels, a modifier before the genre."""
    generic = load_vocabulary_maps()["generic"]
    cases = {
        "TV Comedies": {"comedy"},
        "Horror Movies": {"horror"},
        "Sci-Fi/Fantasy": {"science_fiction", "fantasy"},
        "Legal Drama": {"drama"},
        "Action Thriller": {"action", "thriller"},
        "Sci-Fi Horror": {"science_fiction", "horror"},
        "War Drama": {"war", "drama"},
        "Supernatural Horror": {"horror"},
        "Space Sci-Fi": {"science_fiction"},
        "Cozy Mystery": {"mystery"},
        "Spaghetti Western": {"western"},
        "Computer Animation": {"animation"},
        "Crime Documentary": {"crime", "documentary"},  # as TMDb tags true crime
        "Reality TV Competition": {"reality"},
        "Psychological Thriller": {"thriller"},
    }
    assert {label: set(label_genres(label, generic) or ()) for label in cases} == cases
    assert label_genres("Cyberpunk", generic) is None  # not known: reported, not guessed
