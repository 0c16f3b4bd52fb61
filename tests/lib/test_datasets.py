"""Dataset loaders against tiny fixtures written in each publisher's format."""

from __future__ import annotations

import csv
import http.server
import io
import json
import tarfile
import threading
import zipfile
from collections.abc import Iterator
from datetime import date
from functools import partial
from pathlib import Path

import pandas as pd
import pytest

from trending_assets.lib.datasets import (
    LISTING_COLUMNS,
    REJECT_COLUMNS,
    REVIEW_COLUMNS,
    DatasetDownloadError,
    load_listings,
    load_reviews,
)
from trending_assets.lib.datasets.formats import FORMATS, classify_name

LISTING_FRAME_COLUMNS = [*LISTING_COLUMNS, "dataset"]
REVIEW_FRAME_COLUMNS = [*REVIEW_COLUMNS, "dataset"]


def write_csv(path: Path, header: list[str], rows: list[list[str]], *, bom: bool = False) -> Path:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + buffer.getvalue().encode("utf-8"))
    return path


def genres_json(*names: str) -> str:
    return json.dumps([{"id": i, "name": n} for i, n in enumerate(names, start=1)])


TMDB_HEADER = ["budget", "genres", "homepage", "id", "keywords", "original_language",
               "original_title", "overview", "popularity", "release_date", "title",
               "vote_average"]  # fmt: skip


def tmdb_row(
    tid: str, title: str, genres: str, overview: str, released: str, lang: str = "en"
) -> list[str]:
    return ["1000", genres, "", tid, "[]", lang, title, overview, "1.5", released, title, "7.1"]


@pytest.fixture
def tmdb_csv(tmp_path: Path) -> Path:
    rows = [
        tmdb_row("19995", "Avatar", genres_json("Action", "Science Fiction"),
                 'A marine, "quoted", on Pandora,\nwith a second line.', "2009-12-10"),
        tmdb_row("12", "Amélie", genres_json("Comedy", "Romance"), "Paris, café.", "2001-04-25", "fr"),
        tmdb_row("13", "No Date", "[]", "", ""),
        tmdb_row("14", "Broken Genres", '[{"id": 28, "name": "Action"', "x", "2001-01-01"),
        tmdb_row("15", "", genres_json("Drama"), "no title", "2001-01-01"),
        tmdb_row("16", "Bad Date", genres_json("Drama"), "x", "sometime in 2001"),
    ]  # fmt: skip
    return write_csv(tmp_path / "tmdb_5000_movies.csv", TMDB_HEADER, rows, bom=True)


def test_tmdb_5000_records_types_and_rejects(tmdb_csv: Path) -> None:
    result = load_listings(tmdb_csv)
    frame = result.frame
    assert list(frame.columns) == LISTING_FRAME_COLUMNS
    assert str(frame["year"].dtype) == "Int64"
    assert frame["source_title_id"].tolist() == ["19995", "12", "13"]
    avatar = frame.iloc[0]
    assert avatar["source"] == "tmdb_5000"
    assert avatar["title"] == "Avatar"
    assert avatar["title_type"] == "movie"
    assert avatar["genres"] == ["Action", "Science Fiction"]
    assert avatar["plot"] == 'A marine, "quoted", on Pandora,\nwith a second line.'
    assert avatar["release_date"] == date(2009, 12, 10)
    assert avatar["year"] == 2009
    assert avatar["url"] == "https://www.themoviedb.org/movie/19995"
    assert avatar["dataset"] == "tmdb_5000_movies.csv"
    assert frame.iloc[1]["title"] == "Amélie"
    assert frame.iloc[1]["original_language"] == "fr"
    no_date = frame.iloc[2]
    assert no_date["release_date"] is None
    assert pd.isna(no_date["year"])
    assert no_date["plot"] is None
    assert no_date["genres"] == []

    rejects = result.rejects
    assert list(rejects.columns) == REJECT_COLUMNS
    reasons = dict(
        zip([json.loads(r)["id"] for r in rejects["record"]], rejects["reason"], strict=True)
    )
    assert reasons == {
        "14": "genres is not valid JSON",
        "15": "missing title",
        "16": "unparseable release_date",
    }
    assert set(rejects["dataset"]) == {"tmdb_5000_movies.csv"}
    bad_date = json.loads(rejects["record"].iloc[2])
    assert bad_date["dataset"] == "tmdb_5000_movies.csv"
    assert bad_date["release_date"] == "sometime in 2001"


STREAMING_HEADER = ["show_id", "type", "title", "director", "cast", "country", "date_added",
                    "release_year", "rating", "duration", "listed_in", "description"]  # fmt: skip


def streaming_row(
    sid: str, kind: str, title: str, year: str, listed_in: str, description: str
) -> list[str]:
    return [
        sid,
        kind,
        title,
        "",
        "A, B",
        "United States",
        "2021-09-25",
        year,
        "TV-MA",
        "90 min",
        listed_in,
        description,
    ]


@pytest.mark.parametrize(
    ("file_name", "source"),
    [
        ("netflix_titles.csv", "netflix"),
        ("hulu_titles.csv", "hulu"),
        ("disney_plus_titles.csv", "disney_plus"),
        ("amazon_prime_titles.csv", "amazon_prime"),  # a platform without a loader of its own
    ],
)
def test_streaming_catalogues(tmp_path: Path, file_name: str, source: str) -> None:
    rows = [
        streaming_row("s1", "Movie", "Dick Johnson Is Dead", "2020", "Documentaries", "A film, about a father."),
        streaming_row("s2", "TV Show", "Blood & Water", "2021", "International TV Shows, TV Dramas, TV Mysteries", "Cape Town."),
        streaming_row("s3", "Movie", "No Year", "", "Dramas", ""),
        streaming_row("s4", "Podcast", "Odd Type", "2020", "Dramas", "x"),
        streaming_row("s5", "Movie", "Bad Year", "20x0", "Dramas", "x"),
        ["s6", "Movie", "Too Few Fields"],
    ]  # fmt: skip
    result = load_listings(write_csv(tmp_path / file_name, STREAMING_HEADER, rows))
    frame = result.frame
    assert frame["source"].unique().tolist() == [source]
    assert frame["source_title_id"].tolist() == ["s1", "s2", "s3"]
    assert frame["title_type"].tolist() == ["movie", "tv", "movie"]
    assert frame.iloc[1]["genres"] == ["International TV Shows", "TV Dramas", "TV Mysteries"]
    assert frame["year"].tolist()[:2] == [2020, 2021]
    assert pd.isna(frame.iloc[2]["year"])
    assert frame.iloc[2]["plot"] is None
    assert frame.iloc[0]["plot"] == "A film, about a father."
    assert set(frame["dataset"]) == {file_name}
    assert sorted(result.rejects["reason"]) == [
        "expected 12 fields, found 3",
        "unknown type (expected Movie or TV Show)",
        "unparseable year",
    ]
    short = result.rejects[result.rejects["reason"].str.startswith("expected")]
    short_row = json.loads(short["record"].iloc[0])
    assert short_row == {
        "dataset": file_name,
        "line": 7,
        "fields": ["s6", "Movie", "Too Few Fields"],
    }


WIKI_HEADER = [
    "Release Year",
    "Title",
    "Origin/Ethnicity",
    "Director",
    "Cast",
    "Genre",
    "Wiki Page",
    "Plot",
]


def test_wiki_plots_genres_ids_and_duplicates(tmp_path: Path) -> None:
    wiki = "https://en.wikipedia.org/wiki/"
    rows = [
        ["1901.0", "Kansas Saloon Smashers", "American", "Unknown", "", "unknown", wiki + "Kansas_Saloon_Smashers", "A bartender."],
        ["1914", "Bob's Baby", "American", "", "", "comedy/drama, romance", wiki + "Bob%27s_Baby", "Plot [1]"],
        ["1925", "A Kiss for Cinderella", "American", "", "", "fantasy", wiki + "A_Kiss_for_Cinderella_(film)", "p"],
        ["1926", "A Kiss for Cinderella", "American", "", "", "fantasy", wiki + "A_Kiss_for_Cinderella_(film)", "p"],
        ["19x", "Bad Year", "American", "", "", "drama", wiki + "Bad_Year", "p"],
        ["1930", "No Page", "American", "", "", "drama", "", "p"],
    ]  # fmt: skip
    result = load_listings(write_csv(tmp_path / "wiki_movie_plots_deduped.csv", WIKI_HEADER, rows))
    frame = result.frame
    assert frame["source_title_id"].tolist() == [
        "Kansas_Saloon_Smashers", "Bob's_Baby",
        "A_Kiss_for_Cinderella_(film)", "A_Kiss_for_Cinderella_(film)~2",
    ]  # fmt: skip
    assert frame["year"].tolist() == [1901, 1914, 1925, 1926]
    assert frame.iloc[0]["genres"] == []
    assert frame.iloc[1]["genres"] == ["comedy", "drama", "romance"]
    assert frame.iloc[1]["url"] == wiki + "Bob%27s_Baby"
    assert set(frame["source"]) == {"wiki_plots"}
    assert sorted(result.rejects["reason"]) == ["missing Wiki Page", "unparseable year"]


MPST_HEADER = ["imdb_id", "title", "plot_synopsis", "tags", "split", "synopsis_source"]


def test_mpst_tags_imdb_ids_and_rejects(tmp_path: Path) -> None:
    plot = 'A lighthouse keeper hears "the bell".\n\nIn the second paragraph, he answers it.'
    rows = [
        ["tt0000101", "The Bell Keeper", plot, "cult, horror, gothic, murder, atmospheric", "train", "imdb"],
        ["tt0000102", "Orbit of Fools", "Two astronauts bicker.", "sci-fi, comedy,  , comedy", "test", "wikipedia"],
        ["0000103", "No Prefix", "An id without its tt.", "dramatic", "val", "imdb"],
        ["tt0000104", "Quiet Field", "", "", "train", "imdb"],
        ["tt0000101", "The Bell Keeper", plot, "cult, horror", "train", "wikipedia"],
    ]  # fmt: skip
    result = load_listings(write_csv(tmp_path / "mpst_full_data.csv", MPST_HEADER, rows))
    frame = result.frame
    assert list(frame.columns) == LISTING_FRAME_COLUMNS
    assert frame["source_title_id"].tolist() == [
        "tt0000101",
        "tt0000102",
        "tt0000104",
        "tt0000101~2",
    ]
    assert set(frame["source"]) == {"mpst"}
    assert set(frame["title_type"]) == {"movie"}
    assert frame["year"].isna().all() and set(frame["dataset"]) == {"mpst_full_data.csv"}
    bell = frame.iloc[0]
    assert bell["plot"] == plot  # the quoted, multi-line synopsis whole
    assert bell["genres"] == ["cult", "horror", "gothic", "murder", "atmospheric"]
    assert bell["url"] == "https://www.imdb.com/title/tt0000101/"
    assert bell["release_date"] is None and bell["original_language"] is None
    assert frame.iloc[1]["genres"] == ["sci-fi", "comedy"]  # blanks and repeats dropped
    assert frame.iloc[2]["plot"] is None and frame.iloc[2]["genres"] == []
    assert result.rejects["reason"].tolist() == ["imdb_id is not an IMDb title id (tt<digits>)"]
    assert json.loads(result.rejects["record"].iloc[0])["imdb_id"] == "0000103"


def test_mpst_file_name_and_format_prefix(tmp_path: Path) -> None:
    assert classify_name("mpst_full_data.csv") == "mpst"
    assert classify_name("data/MPST_full_data (1).csv") == "mpst"
    assert FORMATS["mpst"].kind == "listings"
    renamed = write_csv(tmp_path / "tags.csv", MPST_HEADER,
                        [["tt0057603", "A Film", "A plot.", "western", "train", "imdb"]])  # fmt: skip
    frame = load_listings(f"mpst:{renamed}").frame
    assert frame["source_title_id"].tolist() == ["tt0057603"]
    assert load_reviews(f"mpst:{renamed}").frame.empty  # a listings format holds no reviews


def test_every_mpst_tag_names_a_canonical_genre_or_none() -> None:
    seeds = Path(__file__).resolve().parents[2] / "dbt_project" / "seeds"
    with (seeds / "genres.csv").open(newline="", encoding="utf-8") as handle:
        genre_ids = {row["genre_id"] for row in csv.DictReader(handle)}
    with (seeds / "genre_maps" / "genre_map_mpst.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len({row["source_genre"] for row in rows}) == 71  # MPST's tag set
    assert {row["genre_id"] for row in rows} <= genre_ids | {""}
    mapped = {row["source_genre"]: row["genre_id"] for row in rows}
    assert mapped["horror"] == "horror" and mapped["sci-fi"] == "science_fiction"
    assert mapped["cult"] == mapped["murder"] == mapped["flashback"] == ""
    with (seeds / "source_registry.csv").open(newline="", encoding="utf-8") as handle:
        registry = {row["source"]: row for row in csv.DictReader(handle)}
    assert registry["mpst"]["genre_vocabulary"] == "mpst"
    assert registry["mpst"]["source_kind"] == "dataset"


def write_cmu(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    metadata = [
        ["975900", "/m/03vyhn", "Ghosts of Mars", "2001-08-24", "14010832", "98.0",
         '{"/m/02h40lc": "English Language"}', '{"/m/09c7w0": "United States of America"}',
         '{"/m/01jfsb": "Thriller", "/m/06n90": "Science Fiction"}'],
        ["3196793", "/m/08yl5d", "Getting Away with Murder", "2000-02-16", "", "95.0",
         "{}", "{}", '{"/m/02n4kr": "Mystery"}'],
        ["28463795", "/m/0crgdbh", "Brun bitter", "1988", "", "83.0",
         '{"/m/05f_3": "Norwegian Language"}', "{}", '{"/m/0lsxr": "Crime Fiction"}'],
        ["9363483", "/m/0285_cd", "White Of The Eye", "1987-06", "", "110.0", "{}", "{}", "{bad json"],
        ["1", "/m/x", "Wrong Year", "1010-12-02", "", "", "{}", "{}", "{}"],
        ["2", "/m/y", "Too short"],
    ]  # fmt: skip
    (folder / "movie.metadata.tsv").write_text(
        "\n".join("\t".join(row) for row in metadata) + "\n", encoding="utf-8"
    )
    plots = [
        "975900\tSet in the second half of the 22nd century, Mars has been 84% terraformed.",
        "28463795\tA young man, Brun, drinks.",
        "9363483\tA killer stalks Tucson.",
        "31186339\tA plot with no metadata row.",
        "not-a-line",
    ]
    (folder / "plot_summaries.txt").write_text("\n".join(plots) + "\n", encoding="utf-8")


def test_cmu_joins_metadata_and_plots(tmp_path: Path) -> None:
    write_cmu(tmp_path / "MovieSummaries")
    result = load_listings(tmp_path / "MovieSummaries" / "plot_summaries.txt")
    frame = result.frame.set_index("source_title_id")
    assert frame.index.tolist() == ["975900", "3196793", "28463795"]
    mars = frame.loc["975900"]
    assert mars["title"] == "Ghosts of Mars"
    assert mars["genres"] == ["Thriller", "Science Fiction"]
    assert mars["release_date"] == date(2001, 8, 24)
    assert mars["original_language"] == "en"
    assert mars["plot"].startswith("Set in the second half")
    assert mars["url"] == "https://en.wikipedia.org/?curid=975900"
    assert frame.loc["3196793"]["plot"] is None
    assert frame.loc["28463795"]["year"] == 1988
    assert frame.loc["28463795"]["release_date"] is None
    assert frame.loc["28463795"]["original_language"] == "no"
    reasons = result.rejects["reason"].tolist()
    assert "genres is not valid JSON" in reasons
    assert any(r.startswith("implausible year (outside 1870..") for r in reasons)
    assert "movie.metadata.tsv: expected 9 fields, found 3" in reasons
    assert "plot_summaries.txt: expected <wikipedia id><tab><plot>" in reasons
    assert "plot summary has no movie.metadata.tsv row (no title)" in reasons
    bad_json = result.rejects[result.rejects["reason"] == "genres is not valid JSON"].iloc[0]
    assert json.loads(bad_json["record"])["plot"] == "A killer stalks Tucson."


def test_cmu_tarball(tmp_path: Path) -> None:
    write_cmu(tmp_path / "src" / "MovieSummaries")
    archive = tmp_path / "MovieSummaries.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tmp_path / "src" / "MovieSummaries", arcname="MovieSummaries")
    result = load_listings(archive)
    assert len(result.frame) == 3
    assert set(result.frame["dataset"]) == {"MovieSummaries.tar.gz"}


def acl_members(split: str) -> dict[str, bytes]:
    """An aclImdb split: 2 positive, 2 negative reviews, a stray file, and the URL lists."""
    url = "http://www.imdb.com/title/{}/usercomments"
    return {
        f"aclImdb/{split}/pos/0_9.txt": b"Great film.<br /><br />Loved it.",
        f"aclImdb/{split}/pos/1_10.txt": "Caf\u00e9 scene, superb.".encode(),
        f"aclImdb/{split}/neg/0_2.txt": b"Dull.",
        f"aclImdb/{split}/neg/1_3.txt": b"No URL line for me.",
        f"aclImdb/{split}/neg/notes.txt": b"not a review",
        f"aclImdb/{split}/unsup/0_0.txt": b"unlabelled",
        f"aclImdb/{split}/urls_pos.txt": "\n".join(
            [url.format("tt0453418"), url.format("tt0064354")]
        ).encode(),
        f"aclImdb/{split}/urls_neg.txt": url.format("tt0000001").encode() + b"\n",
        f"aclImdb/{split}/labeledBow.feat": b"9 0:1\n",
    }


def write_tar(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def check_acl(result, dataset: str, splits: list[str]) -> None:
    frame = result.frame
    assert list(frame.columns) == REVIEW_FRAME_COLUMNS
    assert str(frame["rating"].dtype) == "Int64"
    expected_ids = [
        f"{s}_{label}_{i}" for s in splits for label, i in (("pos", 0), ("pos", 1), ("neg", 0))
    ]
    assert frame["source_review_id"].tolist() == expected_ids
    first = frame.iloc[0]
    assert first["source"] == "aclimdb"
    assert first["source_title_id"] == "tt0453418"
    assert first["rating"] == 9
    assert first["text"] == "Great film.<br /><br />Loved it."
    assert first["author"] is None and first["review_date"] is None
    assert frame.iloc[1]["text"] == "Caf\u00e9 scene, superb."
    assert frame.iloc[2]["source_title_id"] == "tt0000001"
    assert frame.iloc[2]["rating"] == 2
    assert set(frame["dataset"]) == {dataset}
    reasons = sorted(result.rejects["reason"])
    assert reasons == sorted(
        [
            "no IMDb title URL at the review's line of urls_neg.txt",
            "review file name is not <id>_<rating>.txt",
        ]
        * len(splits)
    )
    records = [json.loads(r) for r in result.rejects["record"]]
    assert {r["file"] for r in records} == {
        f"{s}/neg/{f}" for s in splits for f in ("1_3.txt", "notes.txt")
    }
    missing_url = next(r for r in records if r["file"].endswith("1_3.txt"))
    assert (missing_url["urls_line_index"], missing_url["text"]) == (1, "No URL line for me.")


def test_aclimdb_tarball_streams_both_splits(tmp_path: Path) -> None:
    members = {**acl_members("train"), **acl_members("test")}
    # the URL lists after the reviews, as tar order is not guaranteed
    ordered = dict(sorted(members.items(), key=lambda kv: "urls_" in kv[0]))
    archive = write_tar(tmp_path / "aclImdb_v1.tar.gz", {"aclImdb/README": b"readme", **ordered})
    check_acl(load_reviews(archive), "aclImdb_v1.tar.gz", ["train", "test"])


def test_aclimdb_extracted_directory(tmp_path: Path) -> None:
    for name, data in acl_members("train").items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(data)
    check_acl(load_reviews(tmp_path / "aclImdb"), "aclImdb", ["train"])


def test_directory_loads_every_known_file(tmp_path: Path, tmdb_csv: Path) -> None:
    (tmp_path / "streaming").mkdir()
    write_csv(
        tmp_path / "streaming" / "hulu_titles.csv",
        STREAMING_HEADER,
        [streaming_row("s1", "TV Show", "Queens", "2021", "Drama, Music", "Four women.")],
    )
    write_cmu(tmp_path / "MovieSummaries")
    write_tar(tmp_path / "aclImdb_v1.tar.gz", acl_members("train"))
    (tmp_path / "notes.txt").write_text("unrelated")
    listings = load_listings(tmp_path)
    assert listings.frame.groupby("source").size().to_dict() == {
        "cmu": 3,
        "hulu": 1,
        "tmdb_5000": 3,
    }
    assert set(listings.rejects["dataset"]) == {"tmdb_5000_movies.csv", "movie.metadata.tsv"}
    reviews = load_reviews(tmp_path)
    assert len(reviews.frame) == 3


def test_zip_archive_and_forced_format(tmp_path: Path, tmdb_csv: Path) -> None:
    archive = tmp_path / "archive.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(tmdb_csv, "tmdb_5000_movies.csv")
    assert len(load_listings(archive).frame) == 3

    renamed = tmp_path / "movies.csv"
    renamed.write_bytes(tmdb_csv.read_bytes())
    with pytest.raises(ValueError, match="cannot tell the dataset format"):
        load_listings(renamed)
    forced = load_listings(f"tmdb_5000:{renamed}")
    assert forced.frame["source_title_id"].tolist() == ["19995", "12", "13"]
    assert set(forced.frame["dataset"]) == {"movies.csv"}


def test_unknown_format(tmdb_csv: Path) -> None:
    with pytest.raises(ValueError, match=r"unknown dataset format 'imdb'.*tmdb_5000.*aclimdb"):
        load_listings(f"imdb:{tmdb_csv}")


def test_the_other_kind_loads_empty(tmp_path: Path, tmdb_csv: Path) -> None:
    """The pipeline asks every spec for both listings and reviews."""
    reviews_only = write_tar(tmp_path / "aclImdb_v1.tar.gz", acl_members("train"))
    for result, columns in (
        (load_reviews(tmdb_csv), REVIEW_FRAME_COLUMNS),
        (load_listings(reviews_only), LISTING_FRAME_COLUMNS),
        (load_reviews(f"tmdb_5000:{tmdb_csv}"), REVIEW_FRAME_COLUMNS),
    ):
        assert result.frame.empty and result.rejects.empty
        assert list(result.frame.columns) == columns


def test_truncated_archive_is_a_clear_error(tmp_path: Path) -> None:
    archive = write_tar(tmp_path / "aclImdb_v1.tar.gz", acl_members("train"))
    archive.write_bytes(archive.read_bytes()[:200])
    with pytest.raises(ValueError, match="aclImdb_v1.tar.gz is not a readable archive"):
        load_reviews(archive)


def test_empty_directory_and_missing_path(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("nothing known here")
    with pytest.raises(ValueError, match="no known dataset found.*supported formats"):
        load_listings(tmp_path / "empty")
    with pytest.raises(FileNotFoundError):
        load_listings(tmp_path / "nope.csv")


def test_cp1252_file_is_read(tmp_path: Path) -> None:
    path = tmp_path / "netflix_titles.csv"
    text = (
        "\r\n".join(
            [
                ",".join(STREAMING_HEADER),
                's1,Movie,Amélie,,,,,2001,,,"Comedies, Romantic Movies",Café',
            ]
        )
        + "\r\n"
    )
    path.write_bytes(text.encode("cp1252"))
    row = load_listings(path).frame.iloc[0]
    assert (row["title"], row["plot"], row["genres"]) == (
        "Amélie",
        "Café",
        ["Comedies", "Romantic Movies"],
    )


def test_empty_result_keeps_shape(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "netflix_titles.csv", STREAMING_HEADER, [])
    result = load_listings(path)
    assert list(result.frame.columns) == LISTING_FRAME_COLUMNS
    assert str(result.frame["year"].dtype) == "Int64"
    assert result.frame.empty and result.rejects.empty


@pytest.fixture
def http_root(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A loopback static file server over ``tmp_path/www``."""
    root = tmp_path / "www"
    root.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", root
    finally:
        server.shutdown()
        server.server_close()


def test_load_from_url(http_root: tuple[str, Path], tmdb_csv: Path) -> None:
    base, root = http_root
    (root / "tmdb_5000_movies.csv").write_bytes(tmdb_csv.read_bytes())
    result = load_listings(f"{base}/tmdb_5000_movies.csv?token=abc")
    assert result.frame["source_title_id"].tolist() == ["19995", "12", "13"]
    assert set(result.frame["dataset"]) == {"tmdb_5000_movies.csv"}
    assert len(result.rejects) == 3

    write_tar(root / "aclImdb_v1.tar.gz", acl_members("train"))
    assert len(load_reviews(f"{base}/aclImdb_v1.tar.gz").frame) == 3


def test_url_failure_is_clear(http_root: tuple[str, Path]) -> None:
    base, _ = http_root
    with pytest.raises(
        DatasetDownloadError, match=r"could not download dataset .*/missing.csv: HTTP 404"
    ) as err:
        load_listings(f"netflix:{base}/missing.csv?token=s3cret")
    assert "s3cret" not in str(err.value)
    with pytest.raises(DatasetDownloadError, match="ConnectError"):
        load_listings("http://127.0.0.1:9/netflix_titles.csv")


def test_a_folder_takes_other_platforms_catalogues_by_their_columns(tmp_path: Path) -> None:
    """In a folder, ``<anything>_titles.csv`` is read as a platform's catalogue only when it
    has the catalogue's columns; another table so named is skipped, not an error. Named on
    its own, the same file is an error that names the missing columns."""
    folder = tmp_path / "catalogues"
    folder.mkdir()
    write_csv(
        folder / "amazon_prime_titles.csv",
        STREAMING_HEADER,
        [streaming_row("ap1", "TV Show", "Harbor Nights", "2021", "Drama, Suspense", "A port.")],
    )
    write_csv(folder / "episode_titles.csv", ["episode", "name"], [["1", "Pilot"]])
    frame = load_listings(folder).frame
    assert frame[["source", "source_title_id", "title_type"]].values.tolist() == [
        ["amazon_prime", "ap1", "tv"]
    ]
    assert frame.iloc[0]["genres"] == ["Drama", "Suspense"]
    with pytest.raises(ValueError, match="missing columns"):
        load_listings(folder / "episode_titles.csv")
