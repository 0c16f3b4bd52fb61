"""The real `dbt build` (seeds, models, tests) on a small handmade raw warehouse.

The fixture is built with the contract DDL of the raw tables (docs/contracts.md) and
holds, on purpose: one title listed by reelhub, filmfolio and cmu with case, article,
whitespace and `&amp;` differences (one title_id), a listing crawled on two days, HTML
and entities in plots and reviews, a review crawled twice, a review of an unknown
listing, an aclimdb review and a review with no text left (all quarantined), an
untitled listing (quarantined), unmapped and multi-genre labels, a tmdb_5000 title
also returned by the TMDb API, and three crawled sites outside the registry: a
zero-config one (no genre vocabulary: the `generic` seed), one whose site file names
the `tmdb` vocabulary, and one naming a vocabulary without a seed (its labels are
quarantined with that reason, and a warning test says so). No Python asset has run
(no predictions, enrichments or trending scores: their tables are created empty, as the
pipeline's serving step creates them), and the serving models still build. A second build
on a bad fixture (a rating of 11) must fail on a dbt test.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"

RAW_DDL = """
create schema raw;
create table raw.listings (
    source varchar, source_title_id varchar, url varchar, title varchar, year integer,
    title_type varchar, plot varchar, genres varchar[], original_language varchar,
    release_date date, ingested_at timestamp, crawl_date date, genre_vocabulary varchar
);
create table raw.dataset_listings (
    source varchar, source_title_id varchar, url varchar, title varchar, year integer,
    title_type varchar, plot varchar, genres varchar[], original_language varchar,
    release_date date, ingested_at timestamp, dataset varchar
);
create table raw.api_releases (
    source varchar, source_title_id varchar, url varchar, title varchar, year integer,
    title_type varchar, plot varchar, genres varchar[], original_language varchar,
    release_date date, ingested_at timestamp, fetched_on date
);
create table raw.reviews (
    source varchar, source_review_id varchar, source_title_id varchar, author varchar,
    rating integer, review_date date, text varchar, ingested_at timestamp, crawl_date date
);
create table raw.dataset_reviews (
    source varchar, source_review_id varchar, source_title_id varchar, author varchar,
    rating integer, review_date date, text varchar, ingested_at timestamp, dataset varchar
);
create table raw.quarantine (
    asset varchar, partition varchar, reason varchar, record json, quarantined_at timestamp
);
create table raw.crawl_sources (
    crawl_date date, spider varchar, source varchar, pages integer, titles integer,
    reviews integer, listing_pages integer, skipped integer, empty integer, errors integer,
    empty_cause varchar, crawled_at timestamp
);
"""

# fmt: off
# The fixture reads best as one row per line, like the tables it fills.
D1, D2, D3 = date(2026, 9, 24), date(2026, 9, 25), date(2026, 9, 26)
T1, T2, T3 = (datetime(2026, 9, 24, 6), datetime(2026, 9, 25, 6), datetime(2026, 9, 26, 6))
RH = "https://reelhub.test/title/"
FF = "https://filmfolio.test/film/"

# source, source_title_id, url, title, year, title_type, plot, genres, language,
# release_date, ingested_at, crawl_date (genre_vocabulary: see CRAWL_LISTINGS below)
CRAWL_LISTINGS_BEFORE_VOCABULARIES = [
    # the first crawl of rh-1: superseded by the crawl of D3
    ("reelhub", "rh-1", RH + "rh-1", "Moon &amp; Sixpence", 2024, "movie",
     "Old plot.", ["Drama"], None, date(2024, 3, 1), T1, D1),
    ("reelhub", "rh-1", RH + "rh-1", "Moon &amp; Sixpence", 2024, "movie",
     "<p>A painter&#39;s flight to Tahiti.<br />A &quot;classic&quot; &mdash; retold"
     " for Caf&eacute; &amp; stage.</p>",
     ["Drama", "Romcom"], None, date(2024, 3, 1), T3, D3),
    ("filmfolio", "ff-9", FF + "ff-9", "  the MOON &   sixpence ", 2024, "MOVIE",
     "A painter leaves.", ["love story", "new arrival", "art house"], "EN", None, T2, D2),
    ("reelhub", "rh-2", RH + "rh-2", "Night Shift&nbsp;Diaries", 2025, "tv",
     "<div>Nurses&#x27; <b>long</b>\n\n nights.</div>", ["Action &amp; Adventure", " "],
     "en", date(2025, 1, 15), T3, D3),
]

# ... + genre_vocabulary (the site file's; null for zero-config sites and old crawls)
CRAWL_LISTINGS = [
    *[(*row, None) for row in CRAWL_LISTINGS_BEFORE_VOCABULARIES],
    # zero-config site: the generic vocabulary (Sci-Fi, Film-Noir), an unknown label, a
    # spelling of a known one ("Mystery and Suspense" for "Mystery & Suspense"), a label
    # known through its parts (Horror/Western), one with an unknown part, one known without
    # its type words ("Romantic Movies" as "Romantic"), one through parts without them,
    # one by its last words ("Spaghetti Western Movies" as "western"), and one whose
    # last word is only a type word (unknown: "Arthouse" is not known, "Movie" means no
    # genre), and two genres in one name (Sci-Fi Horror: both)
    ("moviesite", "m-1", "https://moviesite.test/m/1", "Neon Harbor", 2023, "movie",
     "A detective in a rain-soaked port city.",
     ["Sci-Fi", "Film-Noir", "Cyberpunk Opera", "MYSTERY and  suspense", "Horror/Western",
      "Noir / Cyberpunk", "Romantic Movies", "TV Mysteries/Kids' TV",
      "Spaghetti Western Movies", "Arthouse Movie", "Sci-Fi Horror"],
     "en", None, T3, D3, None),
    # its site file names the tmdb vocabulary: "Sitcom" is generic's, not tmdb's
    ("cinemaplex", "c-7", "https://cinemaplex.test/c/7", "Orbit Nine", 2022, "tv",
     "Cadets on a space station.", ["Sci-Fi &amp; Fantasy", "Kids", "Sitcom"], None, None,
     T3, D3, "TMDB"),
    # its site file names a vocabulary with no seed
    ("oddsite", "o-1", "https://oddsite.test/o/1", "Paper Moons", 2021, "movie",
     "Two forgers fall in love.", ["Drama", "Weird"], None, None, T3, D3, "nosuchvocab"),
]

# ... + dataset
DATASET_LISTINGS = [
    ("tmdb_5000", "19995", None, "STARFALL", 2009, "movie",
     "A marine on an alien moon, torn between orders and a people he comes to love.",
     ["Science Fiction", "Foreign", "TV Movie"], "en", date(2009, 12, 10), T1,
     "tmdb_5000_movies.csv"),
    ("hulu", "h-1", None, "Little Bears", 2020, "movie", "Cubs learn to fish.",
     ["Kids", "Comedy"], None, None, T1, "hulu_titles.csv"),
    # a catalogue the registry does not know (a user's amazon_prime_titles.csv): its labels
    # are read with the generic vocabulary, as a zero-config site's are
    ("amazon_prime", "ap-1", None, "Little Bears", 2020, "movie", "Cubs learn to fish.",
     ["Kids & Family Movies"], None, None, T1, "amazon_prime_titles.csv"),
    ("cmu", "975900", None, "Moon and Sixpence, The", None, "movie", None,
     ["Romance Film", "Black-and-white"], None, None, T1, "movie.metadata.tsv"),
    ("wiki_plots", "w-1", None, "<b> </b>", 1923, "movie", "Lost film.", ["drama"], None,
     None, T1, "wiki_movie_plots_deduped.csv"),
]

# ... + fetched_on
API_RELEASES = [
    ("tmdb_api", "19995", "https://www.themoviedb.org/movie/19995", "Starfall", None,
     "movie", "A marine on an alien moon.", ["Science Fiction", "Adventure"], "en",
     date(2009, 12, 10), T2, D2),
]

# source, source_review_id, source_title_id, author, rating, review_date, text,
# ingested_at, crawl_date
CRAWL_REVIEWS = [
    ("reelhub", "rv-1", "rh-1", "Ann &amp; Bo", 8, date(2026, 9, 20),
     "Loved it!<br /><br />Truly &lt;great&gt; &#8220;art&#8221;.", T1, D1),
    ("reelhub", "rv-1", "rh-1", "Ann &amp; Bo", 8, date(2026, 9, 20),
     "Loved it!<br /><br />Truly &lt;great&gt; &#8220;art&#8221;.", T2, D2),
    ("filmfolio", "fv-1", "ff-9", "Cy", 6, date(2026, 9, 1), "Fine.", T2, D2),
    ("reelhub", "rv-2", "rh-2", None, None, date(2026, 9, 24),
     "<p>No   rating here</p>", T3, D3),
    ("reelhub", "rv-3", "rh-404", "Dee", 3, date(2026, 9, 22), "Who am I about?", T3, D3),
    # nothing left once the markup is gone
    ("reelhub", "rv-4", "rh-2", "Flo", 5, date(2026, 9, 23), "<br /><br />&nbsp;", T3, D3),
]

# ... + dataset
DATASET_REVIEWS = [
    ("aclimdb", "123_9", "tt0000001", None, 9, None, "Great film.<br /><br />Really.", T1,
     "aclImdb_v1_train.tar.gz"),
]

# fmt: on


def title_id(normalized_title: str, year: int | None, title_type: str) -> str:
    """The mart's title_id formula, restated: a change to it breaks every stored id."""
    key = f"{normalized_title}|{'' if year is None else year}|{title_type}"
    return hashlib.md5(key.encode()).hexdigest()[:16]


def review_id(source: str, source_review_id: str) -> str:
    return hashlib.md5(f"{source}|{source_review_id}".encode()).hexdigest()[:16]


MOON = title_id("moon and sixpence", 2024, "movie")
NIGHT = title_id("night shift diaries", 2025, "tv")
STARFALL = title_id("starfall", 2009, "movie")
BEARS = title_id("little bears", 2020, "movie")
NEON = title_id("neon harbor", 2023, "movie")
ORBIT = title_id("orbit nine", 2022, "tv")
PAPER = title_id("paper moons", 2021, "movie")

# Warnings the fixture triggers on purpose: crawl sources outside source_registry, and
# a site file naming a vocabulary that has no seed.
EXPECTED_WARNINGS = (
    "test.trending_now.relationships_stg_crawl__listings_source__source__ref_source_registry_",
    # amazon_prime: a catalogue the registry does not know loads, with a warning
    "test.trending_now.relationships_stg_datasets__listings_source__source__ref_source_registry_",
    "test.trending_now.assert_every_crawled_genre_vocabulary_has_a_map",
)


def expected_warning(node: str) -> bool:
    return node.startswith(EXPECTED_WARNINGS)


def write_raw_warehouse(path: Path, crawl_reviews: list[tuple] = CRAWL_REVIEWS) -> None:
    with duckdb.connect(str(path)) as con:
        con.execute(RAW_DDL)
        # The Python assets' tables the serving models read, empty: none of them ran yet.
        served_tables = pytest.importorskip("trending_assets.lib.served_tables")
        served_tables.ensure_declared_tables(con)
        con.executemany(
            "insert into raw.listings values (?,?,?,?,?,?,?,?,?,?,?,?,?)", CRAWL_LISTINGS
        )
        con.executemany(
            "insert into raw.dataset_listings values (?,?,?,?,?,?,?,?,?,?,?,?)", DATASET_LISTINGS
        )
        con.executemany(
            "insert into raw.api_releases values (?,?,?,?,?,?,?,?,?,?,?,?)", API_RELEASES
        )
        con.executemany("insert into raw.reviews values (?,?,?,?,?,?,?,?,?)", crawl_reviews)
        con.executemany(
            "insert into raw.dataset_reviews values (?,?,?,?,?,?,?,?,?)", DATASET_REVIEWS
        )


def dbt_command() -> list[str]:
    dbt = Path(sys.executable).parent / "dbt"
    if dbt.exists():
        return [str(dbt)]
    found = shutil.which("dbt")
    return [found] if found else [sys.executable, "-m", "dbt.cli.main"]


_DBT_WORK: Path | None = None


def dbt_workdir() -> Path:
    """This test process's dbt folder: the target, the logs and the one warehouse path that
    every build here runs against. dbt parses the whole project again for a new target or a
    changed profile (another warehouse path), so the builds share both, and dbt parses only
    what changed, as the pipeline's dbt steps do."""
    global _DBT_WORK
    if _DBT_WORK is None:
        _DBT_WORK = Path(tempfile.mkdtemp(prefix="dbt-build-"))
        atexit.register(shutil.rmtree, _DBT_WORK, True)
    return _DBT_WORK


def run_dbt_build(
    warehouse: Path, command: tuple[str, ...] = ("build",)
) -> tuple[int, dict[str, str], str]:
    """`dbt build` (or ``command``) against `warehouse`; (exit code, status by node name,
    output). dbt builds a copy at :func:`dbt_workdir`'s warehouse path, copied back after."""
    work = dbt_workdir()
    scratch, target = work / "warehouse.duckdb", work / "target"
    for stale in (scratch, scratch.with_name(scratch.name + ".wal"), target / "run_results.json"):
        stale.unlink(missing_ok=True)
    shutil.copyfile(warehouse, scratch)
    env = {
        **os.environ,
        "TRENDING_WAREHOUSE_PATH": str(scratch),
        "DO_NOT_TRACK": "1",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    completed = subprocess.run(
        [
            *dbt_command(),
            *command,
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "--target-path",
            str(target),
            "--log-path",
            str(work / "logs"),
        ],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    shutil.copyfile(scratch, warehouse)
    output = completed.stdout + completed.stderr
    results_file = target / "run_results.json"
    statuses: dict[str, str] = {}
    if results_file.exists():
        for result in json.loads(results_file.read_text())["results"]:
            statuses[result["unique_id"]] = result["status"]
    return completed.returncode, statuses, output


def rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple]:
    return con.execute(sql).fetchall()


@pytest.fixture(scope="module")
def built_warehouse(tmp_path_factory: pytest.TempPathFactory) -> duckdb.DuckDBPyConnection:
    tmp_path = tmp_path_factory.mktemp("dbt_build")
    warehouse = tmp_path / "warehouse.duckdb"
    write_raw_warehouse(warehouse)
    started = time.monotonic()
    code, statuses, output = run_dbt_build(warehouse)
    elapsed = time.monotonic() - started
    failed = {
        node: status
        for node, status in statuses.items()
        if status not in ("success", "pass") and not (status == "warn" and expected_warning(node))
    }
    assert code == 0, f"dbt build failed ({failed}):\n{output[-6000:]}"
    assert not failed, failed
    warned = {node for node, status in statuses.items() if status == "warn"}
    assert all(any(node.startswith(w) for node in warned) for w in EXPECTED_WARNINGS), warned
    print(f"dbt build on the fixture took {elapsed:.1f}s")
    con = duckdb.connect(str(warehouse), read_only=True)
    yield con
    con.close()


def test_titles_merge_across_sources_and_pick_the_best_fields(built_warehouse) -> None:
    titles = rows(
        built_warehouse,
        "select title_id, title, year, title_type, plot, original_language, release_date,"
        " sources, source_count, first_crawled_on from titles order by title",
    )
    assert titles == [
        (
            BEARS,
            "Little Bears",
            2020,
            "movie",
            "Cubs learn to fish.",
            None,
            None,
            ["amazon_prime", "hulu"],  # a source the registry does not know still counts
            2,
            None,
        ),
        (
            MOON,
            "Moon & Sixpence",
            2024,
            "movie",
            'A painter\'s flight to Tahiti. A "classic" — retold for Café & stage.',
            "en",
            date(2024, 3, 1),
            ["cmu", "filmfolio", "reelhub"],
            3,
            D1,
        ),
        (
            NEON,
            "Neon Harbor",
            2023,
            "movie",
            "A detective in a rain-soaked port city.",
            "en",
            None,
            ["moviesite"],
            1,
            D3,
        ),  # fmt: skip
        (
            NIGHT,
            "Night Shift Diaries",
            2025,
            "tv",
            "Nurses' long nights.",
            "en",
            date(2025, 1, 15),
            ["reelhub"],
            1,
            D3,
        ),
        (
            ORBIT,
            "Orbit Nine",
            2022,
            "tv",
            "Cadets on a space station.",
            None,
            None,
            ["cinemaplex"],
            1,
            D3,
        ),  # fmt: skip
        (
            PAPER,
            "Paper Moons",
            2021,
            "movie",
            "Two forgers fall in love.",
            None,
            None,
            ["oddsite"],
            1,
            D3,
        ),  # fmt: skip
        (
            STARFALL,
            "Starfall",
            2009,
            "movie",
            "A marine on an alien moon, torn between orders and a people he comes to love.",
            "en",
            date(2009, 12, 10),
            ["tmdb_5000", "tmdb_api"],
            2,
            None,
        ),
    ]


def test_title_genres_are_mapped_deduplicated_and_type_checked(built_warehouse) -> None:
    pairs = rows(
        built_warehouse, "select title_id, genre_id, genre_name from title_genres order by 1, 2"
    )
    expected = sorted(
        [
            # Drama + Romcom (two genres) + love story (romance again) + Romance Film
            (MOON, "comedy", "Comedy"),
            (MOON, "drama", "Drama"),
            (MOON, "romance", "Romance"),
            # Action &amp; Adventure -> two genres
            (NIGHT, "action", "Action"),
            (NIGHT, "adventure", "Adventure"),
            # tmdb_5000 + tmdb_api labels; Foreign maps to nothing
            (STARFALL, "adventure", "Adventure"),
            (STARFALL, "science_fiction", "Science Fiction"),
            (STARFALL, "tv_movie", "TV Movie"),
            # Hulu's Kids on a movie becomes family (kids is a TV-only genre)
            (BEARS, "comedy", "Comedy"),
            (BEARS, "family", "Family"),
            # zero-config site, generic vocabulary: Sci-Fi and Film-Noir, Mystery and
            # Suspense (two genres), Horror/Western through its parts, Romantic Movies
            # without "movies", TV Mysteries/Kids' TV through parts without "tv" (kids on a
            # movie: family)
            (NEON, "crime", "Crime"),
            (NEON, "family", "Family"),
            (NEON, "horror", "Horror"),
            (NEON, "mystery", "Mystery"),
            (NEON, "romance", "Romance"),
            (NEON, "science_fiction", "Science Fiction"),
            (NEON, "thriller", "Thriller"),
            (NEON, "western", "Western"),
            # the site's own vocabulary (tmdb): Sci-Fi & Fantasy -> two genres, Kids on TV
            (ORBIT, "fantasy", "Fantasy"),
            (ORBIT, "kids", "Kids"),
            (ORBIT, "science_fiction", "Science Fiction"),
        ]
    )
    assert pairs == expected


def test_unmapped_labels_are_reported(built_warehouse) -> None:
    unmapped = rows(
        built_warehouse,
        "select source, genre_vocabulary, source_genre, listing_count, title_count"
        " from int_unmapped_genre_labels order by all",
    )
    assert unmapped == [
        ("cinemaplex", "tmdb", "Sitcom", 1, 1),
        ("filmfolio", "filmfolio", "art house", 1, 1),
        ("moviesite", "generic", "Arthouse Movie", 1, 1),
        ("moviesite", "generic", "Cyberpunk Opera", 1, 1),
        ("moviesite", "generic", "Noir / Cyberpunk", 1, 1),  # one part unknown: all unknown
        ("oddsite", "nosuchvocab", "Drama", 1, 1),
        ("oddsite", "nosuchvocab", "Weird", 1, 1),
    ]


def test_labels_match_on_their_key_or_through_every_part(built_warehouse) -> None:
    matched = rows(
        built_warehouse,
        "select source_genre, genre_id, matched_by, mapping_status"
        " from int_listing_genre_labels_mapped where source = 'moviesite' order by all",
    )
    assert matched == [
        ("Arthouse Movie", None, None, "unmapped"),
        ("Cyberpunk Opera", None, None, "unmapped"),
        ("Film-Noir", "crime", "label", "mapped"),
        ("Horror/Western", "horror", "parts", "mapped"),
        ("Horror/Western", "western", "parts", "mapped"),
        ("MYSTERY and suspense", "mystery", "label", "mapped"),
        ("MYSTERY and suspense", "thriller", "label", "mapped"),
        ("Noir / Cyberpunk", None, None, "unmapped"),
        ("Romantic Movies", "romance", "bare_label", "mapped"),
        ("Sci-Fi", "science_fiction", "label", "mapped"),
        ("Sci-Fi Horror", "horror", "head", "mapped"),
        ("Sci-Fi Horror", "science_fiction", "head", "mapped"),
        ("Spaghetti Western Movies", "western", "head", "mapped"),
        ("TV Mysteries/Kids' TV", "family", "parts", "mapped"),
        ("TV Mysteries/Kids' TV", "mystery", "parts", "mapped"),
    ]


def test_python_keys_and_maps_labels_as_the_warehouse_does(built_warehouse) -> None:
    """lib/taxonomy.py's label_key and lib/ml/data.py's map_genre_labels (the models' labels) and the
    dbt macros genre_label_key / genre_label_parts agree: on every seed label, and on the
    fixture's listings."""
    from trending_assets.lib.ml.data import map_genre_labels, vocabulary_maps_from_frame
    from trending_assets.lib.taxonomy import label_key

    seeded = rows(
        built_warehouse, "select source_genre, source_genre_key from int_genre_maps_unioned"
    )
    assert seeded and all(label_key(label) == key for label, key in seeded)
    maps = vocabulary_maps_from_frame(
        built_warehouse.execute("select * from int_genre_maps_unioned").df()
    )
    listings = rows(
        built_warehouse,
        "select source, source_title_id, title_type, genre_vocabulary, list(source_genre),"
        " list(genre_id) filter (where mapping_status = 'mapped')"
        " from int_listing_genre_labels_mapped where genre_vocabulary is not null group by all",
    )
    assert len(listings) > 5
    for source, source_title_id, title_type, vocabulary, labels, genres in listings:
        mapped = map_genre_labels(labels, maps.get(vocabulary, {}), title_type)
        assert mapped == set(genres or []), (source, source_title_id, labels)


def test_crawled_listings_read_their_own_vocabulary_else_generic(built_warehouse) -> None:
    vocabularies = rows(
        built_warehouse,
        "select source, genre_vocabulary from int_listings_unioned"
        " where origin = 'crawl' group by all order by all",
    )
    assert vocabularies == [
        ("cinemaplex", "tmdb"),  # the listing's own (lower-cased), not generic
        ("filmfolio", "filmfolio"),  # the registry's
        ("moviesite", "generic"),  # neither: generic
        ("oddsite", "nosuchvocab"),
        ("reelhub", "reelhub"),
    ]
    quarantined = rows(
        built_warehouse,
        "select source, source_title_id, title_id, source_genre, reason"
        " from quarantine_genre_labels_unmapped order by all",
    )
    assert quarantined == [
        ("cinemaplex", "c-7", ORBIT, "Sitcom", "label not in genre_map_tmdb"),
        ("filmfolio", "ff-9", MOON, "art house", "label not in genre_map_filmfolio"),
        ("moviesite", "m-1", NEON, "Arthouse Movie", "label not in genre_map_generic"),
        ("moviesite", "m-1", NEON, "Cyberpunk Opera", "label not in genre_map_generic"),
        ("moviesite", "m-1", NEON, "Noir / Cyberpunk", "label not in genre_map_generic"),
        ("oddsite", "o-1", PAPER, "Drama", "no seed genre_map_nosuchvocab"),
        ("oddsite", "o-1", PAPER, "Weird", "no seed genre_map_nosuchvocab"),
    ]


def test_titles_name_the_vocabularies_their_genre_labels_came_from(built_warehouse) -> None:
    """What the genre models mask by: a genre none of these can express is unknown."""
    vocabularies = dict(
        rows(built_warehouse, "select title, genre_vocabularies from titles order by title")
    )
    assert vocabularies == {
        "Little Bears": ["generic", "hulu"],  # amazon_prime is not registered: generic
        "Moon & Sixpence": ["cmu", "filmfolio", "reelhub"],  # sorted, distinct
        "Neon Harbor": ["generic"],  # a zero-config site
        "Night Shift Diaries": ["reelhub"],
        "Orbit Nine": ["tmdb"],  # the listing's own vocabulary, not its site's name
        "Paper Moons": ["nosuchvocab"],  # named, though no seed maps it: expresses nothing
        "Starfall": ["tmdb"],
    }


def test_every_genre_map_seed_is_found_without_a_list(built_warehouse) -> None:
    """genre_vocabularies() finds the seeds in the dbt graph: every genre_map_*.csv counts."""
    files = {
        p.stem.removeprefix("genre_map_")
        for p in (DBT_PROJECT_DIR / "seeds").rglob("genre_map_*.csv")
    }
    found = {
        r[0]
        for r in rows(
            built_warehouse, "select distinct genre_vocabulary from int_genre_maps_unioned"
        )
    }
    assert "generic" in files
    assert found == files


def test_reviews_are_deduplicated_cleaned_and_resolved(built_warehouse) -> None:
    reviews = rows(
        built_warehouse,
        "select review_id, title_id, source, author, rating, review_date, text"
        " from reviews order by review_date",
    )
    assert reviews == [
        (review_id("filmfolio", "fv-1"), MOON, "filmfolio", "Cy", 6, date(2026, 9, 1), "Fine."),
        (
            review_id("reelhub", "rv-1"),
            MOON,
            "reelhub",
            "Ann & Bo",
            8,
            date(2026, 9, 20),
            "Loved it! Truly “art”.",
        ),
        (
            review_id("reelhub", "rv-2"),
            NIGHT,
            "reelhub",
            None,
            None,
            date(2026, 9, 24),
            "No rating here",
        ),
    ]


def test_unresolvable_rows_are_quarantined_with_a_reason(built_warehouse) -> None:
    quarantined_reviews = rows(
        built_warehouse,
        "select review_id, title_id, source, source_title_id, reason, review_text"
        " from quarantine_reviews_unresolved order by source, source_review_id",
    )
    assert quarantined_reviews == [
        (
            review_id("aclimdb", "123_9"),
            None,
            "aclimdb",
            "tt0000001",
            "no listings from this source",
            "Great film. Really.",
        ),
        (
            review_id("reelhub", "rv-3"),
            None,
            "reelhub",
            "rh-404",
            "no listing with this source_title_id",
            "Who am I about?",
        ),
        (
            review_id("reelhub", "rv-4"),
            NIGHT,
            "reelhub",
            "rh-2",
            "empty text after cleaning",
            None,
        ),
    ]
    quarantined_listings = rows(
        built_warehouse,
        "select source, source_title_id, reason from quarantine_listings_unresolved",
    )
    assert quarantined_listings == [("wiki_plots", "w-1", "empty title after cleaning")]


def test_title_review_stats_are_relative_to_the_latest_review(built_warehouse) -> None:
    stats = rows(
        built_warehouse,
        "select title_id, review_count, rated_review_count, mean_rating, first_review_date,"
        " last_review_date, reviews_last_7d, reviews_last_30d from title_review_stats"
        " order by title_id",
    )
    expected = sorted(
        [
            # latest review in the data: 2026-09-24 -> 7 days from 09-18, 30 from 08-26
            (MOON, 2, 2, 7.0, date(2026, 9, 1), date(2026, 9, 20), 1, 2),
            (NIGHT, 1, 0, None, date(2026, 9, 24), date(2026, 9, 24), 1, 1),
            (STARFALL, 0, 0, None, None, None, 0, 0),
            (BEARS, 0, 0, None, None, None, 0, 0),
            (NEON, 0, 0, None, None, None, 0, 0),
            (ORBIT, 0, 0, None, None, None, 0, 0),
            (PAPER, 0, 0, None, None, None, 0, 0),
        ]
    )
    assert stats == expected


def test_crawl_staging_keeps_latest_crawl_and_first_sighting(built_warehouse) -> None:
    staged = rows(
        built_warehouse,
        "select source_title_id, first_crawled_on, last_crawled_on, plot, genres"
        " from stg_crawl__listings where source = 'reelhub' order by 1",
    )
    assert staged[0][:3] == ("rh-1", D1, D3)
    assert staged[0][3].startswith("A painter's flight")
    assert staged[0][4] == ["Drama", "Romcom"]
    # the blank label is gone, the entity decoded
    assert staged[1][4] == ["Action & Adventure"]


CRAWL_STAGING = ("stg_crawl__listings", "stg_crawl__reviews")


def _staged(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple]]:
    return {
        model: rows(con, f"select * exclude (staged_by) from {model} order by all")
        for model in CRAWL_STAGING
    }


def _build_staging(warehouse: Path, *flags: str) -> bool:
    """dbt run of the crawl's staging models; whether both read only the newer raw rows."""
    code, statuses, output = run_dbt_build(warehouse, ("run", "--select", *CRAWL_STAGING, *flags))
    assert code == 0 and set(statuses.values()) == {"success"}, output[-3000:]
    compiled = dbt_workdir() / "target/compiled/trending_now/models/staging/crawl"
    filtered = ["where ingested_at >" in (compiled / f"{m}.sql").read_text() for m in CRAWL_STAGING]
    assert len(set(filtered)) == 1, filtered
    return filtered[0]


def test_crawl_staging_built_day_by_day_equals_a_full_build(tmp_path: Path) -> None:
    """The crawl's staging models read only the raw rows ingested since their last build.
    Built batch by batch (a day, a later day, an older day backfilled after it, a day
    crawled again with a changed plot and once more without three of its rows), they hold
    what one build over all the rows holds; a day stamped by a clock running behind is
    still read."""
    warehouse = tmp_path / "warehouse.duckdb"
    write_raw_warehouse(warehouse)
    with duckdb.connect(str(warehouse)) as con:
        con.execute("delete from raw.listings; delete from raw.reviews")

    def ingest(
        day: date, at: datetime, *, replace: bool = False, plot: str | None = None, drop=()
    ) -> None:
        """The crawl rows of ``day``, ingested at ``at`` (replacing that day's rows, as
        the raw asset does when a day is crawled again), without the ids in ``drop``."""
        with duckdb.connect(str(warehouse)) as con:
            for table, fixture in (("listings", CRAWL_LISTINGS), ("reviews", CRAWL_REVIEWS)):
                day_column = 11 if table == "listings" else 8
                batch = [r for r in fixture if r[day_column] == day and r[1] not in drop]
                batch = [(*r[: day_column - 1], at, *r[day_column:]) for r in batch]
                if plot is not None and table == "listings":
                    batch = [(*r[:6], plot, *r[7:]) if r[1] == "rh-1" else r for r in batch]
                if replace:
                    con.execute(f"delete from raw.{table} where crawl_date = ?", [day])
                marks = ",".join("?" * (13 if table == "listings" else 9))
                con.executemany(f"insert into raw.{table} values ({marks})", batch)

    ingest(D1, T1)
    assert not _build_staging(warehouse)  # the first build: every row
    ingest(D3, T3)
    assert _build_staging(warehouse)
    later = datetime(2026, 9, 27, 6)
    ingest(D2, later)  # an older day backfilled after D3
    ingest(D3, later.replace(hour=7), replace=True, plot="A painter sails away.")
    assert _build_staging(warehouse)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        (plot,) = rows(con, "select plot from stg_crawl__listings where source_title_id = 'rh-1'")
        assert plot == ("A painter sails away.",)
        (sightings,) = rows(
            con,
            "select first_crawled_on, last_crawled_on from stg_crawl__listings"
            " where source_title_id = 'rh-1'",
        )
        assert sightings == (D1, D3)
        versions = rows(con, "select distinct staged_by from stg_crawl__reviews")
        assert len(versions) == 1 and len(versions[0][0]) == 12
    # D3 crawled once more without rh-1 (its copy falls back to D1's), rh-2 and the review
    # rv-2 (both seen on D3 only: removed, as a build over the raw rows would not have them)
    ingest(D3, later.replace(hour=8), replace=True, drop={"rh-1", "rh-2", "rv-2"})
    assert _build_staging(warehouse)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        day_by_day = _staged(con)
        (fallback,) = rows(
            con,
            "select plot, first_crawled_on, last_crawled_on from stg_crawl__listings"
            " where source_title_id = 'rh-1'",
        )
        assert fallback == ("Old plot.", D1, D1)
        assert not rows(con, "select 1 from stg_crawl__listings where source_title_id = 'rh-2'")
        assert not rows(con, "select 1 from stg_crawl__reviews where source_review_id = 'rv-2'")

    full = tmp_path / "full.duckdb"
    shutil.copyfile(warehouse, full)
    assert not _build_staging(full, "--full-refresh")
    with duckdb.connect(str(full), read_only=True) as con:
        assert _staged(con) == day_by_day
        assert [len(v) for v in day_by_day.values()] == [5, 4]

    # Rows staged by other logic (the model or a macro changed since) are all recomputed
    # from the raw rows, not kept beside new ones.
    with duckdb.connect(str(warehouse)) as con:
        con.execute("update stg_crawl__reviews set review_text = 'stale', staged_by = 'old'")
        con.execute("update stg_crawl__listings set plot = 'stale', staged_by = 'old'")
    assert not _build_staging(warehouse)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert _staged(con) == day_by_day
    assert _build_staging(warehouse)  # incremental again: nothing new
    with duckdb.connect(str(warehouse)) as con:
        assert _staged(con) == day_by_day
        # a new day stamped by a clock half an hour behind the last batch's is still read
        (latest,) = rows(con, "select max(ingested_at) from stg_crawl__listings")[0]
        con.execute(
            "insert into raw.listings select * replace (? as crawl_date, ? as ingested_at)"
            " from raw.listings where source_title_id = 'm-1'",
            [date(2026, 9, 27), latest - timedelta(minutes=30)],
        )
    assert _build_staging(warehouse)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        (seen,) = rows(
            con,
            "select first_crawled_on, last_crawled_on from stg_crawl__listings"
            " where source_title_id = 'm-1'",
        )
        assert seen == (D3, date(2026, 9, 27))


def test_serving_models_build_before_any_python_asset_ran(built_warehouse, tmp_path: Path) -> None:
    """A fresh warehouse: no champion model, enrichment or trending scores yet. The served
    tables still build (every title, empty extras) and the snapshot publishes."""
    snapshot = pytest.importorskip("trending_assets.lib.snapshot")
    (titles,) = rows(built_warehouse, "select count(*) from titles")[0]
    assert titles == 7
    assert rows(built_warehouse, "select count(*) from serving_titles") == [(titles,)]
    for table in (
        "serving_title_predictions",
        "serving_llm_enrichments",
        "serving_trending_scores",
    ):
        assert rows(built_warehouse, f"select count(*) from {table}") == [(0,)], table
    moon = rows(
        built_warehouse, f"select body from serving_title_details where title_id = '{MOON}'"
    )
    body = json.loads(moon[0][0])
    assert body["title"] == "Moon & Sixpence" and body["review_stats"]["review_count"] == 2
    assert body["model_genres"] is None and body["enrichment"] is None and body["trending"] is None

    # The snapshot copies them (from a copy of the file the fixture holds open).
    (path,) = rows(
        built_warehouse,
        "select path from duckdb_databases() where database_name = current_database()",
    )[0]
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copyfile(path, warehouse)
    info = snapshot.build_snapshot(warehouse, tmp_path / "serving")
    snapshot.publish_snapshot(tmp_path / "serving", info.version)
    assert snapshot.current_version(tmp_path / "serving") == info.version
    assert info.row_counts["titles"] == info.row_counts["title_details"] == titles
    assert info.row_counts["title_predictions"] == 0 and info.row_counts["trending_scores"] == 0


def test_dbt_build_fails_when_a_test_catches_bad_data(tmp_path: Path) -> None:
    bad_review = ("reelhub", "rv-9", "rh-1", "Eve", 11, date(2026, 9, 23), "Off the scale!", T3, D3)
    warehouse = tmp_path / "warehouse.duckdb"
    write_raw_warehouse(warehouse, crawl_reviews=[*CRAWL_REVIEWS, bad_review])
    code, statuses, output = run_dbt_build(warehouse)
    assert code != 0, output[-3000:]
    failed_tests = {node for node, status in statuses.items() if status in ("fail", "error")}
    assert any(
        node.startswith("test.trending_now.value_between_stg_crawl__reviews_rating")
        for node in failed_tests
    ), failed_tests
    # what depends on the failed test's model is skipped, so the bad rating never
    # reaches the marts
    assert statuses.get("model.trending_now.reviews") == "skipped"


def test_fixture_ddl_matches_the_pipelines_raw_tables() -> None:
    """The fixture's hand-written contract DDL is what the ingest assets really create."""
    warehouse_lib = pytest.importorskip("trending_assets.lib.warehouse")

    def columns(setup) -> dict[str, list[tuple[str, str]]]:
        with duckdb.connect() as con:
            setup(con)
            found: dict[str, list[tuple[str, str]]] = {}
            for table, column, data_type in con.execute(
                "select table_name, column_name, data_type from information_schema.columns"
                " where table_schema = 'raw' order by table_name, ordinal_position"
            ).fetchall():
                found.setdefault(table, []).append((column, data_type))
            return found

    assert columns(lambda con: con.execute(RAW_DDL)) == columns(warehouse_lib.ensure_raw_tables)


def test_data_dictionary_is_up_to_date() -> None:
    completed = subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "data_dictionary.py"), "--check"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
