"""The generic genre map (sites without a site file) knows the canonical genres' names in
the languages of the big non-English catalogues and the genres and themes of anime
catalogues, each read only as the genres it clearly means."""

import csv
from collections import Counter

import pytest

from trending_assets.lib.taxonomy import (
    GENRE_MAPS_DIR,
    genre_ids,
    label_genres,
    label_key,
    vocabulary_map,
)

GENERIC_SEED = GENRE_MAPS_DIR / "genre_map_generic.csv"

# label -> the genres it maps to (an empty set: a known label that names no genre)
CASES = {
    "french": {
        "Comédie": {"comedy"},
        "Comédie dramatique": {"comedy", "drama"},
        "Comédie musicale": {"music"},  # the French word for any musical
        "Epouvante-horreur": {"horror"},
        "Film d'horreur": {"horror"},
        "Policier": {"crime"},
        "Drame": {"drama"},
        "Science-fiction": {"science_fiction"},
        "Dessin animé": {"animation"},
        "Court métrage": set(),
    },
    "german": {
        "Komödie": {"comedy"},
        "Tragikomödie": {"comedy", "drama"},
        "Krimi": {"crime"},
        "Zeichentrick": {"animation"},
        "Dokumentarfilm": {"documentary"},
        "Thriller": {"thriller"},
        "Kurzfilm": set(),
        "Erotik": set(),
    },
    "spanish": {
        "Ciencia ficción": {"science_fiction"},
        "Comedia dramática": {"comedy", "drama"},
        "Suspense": {"thriller"},  # not mystery
        "Terror": {"horror"},
        "Bélico": {"war"},
        "Cine negro": {"crime"},
        "Película de terror": {"horror"},  # by its last word
    },
    "italian": {
        "Fantascienza": {"science_fiction"},
        "Giallo": {"thriller", "mystery"},
        "Commedia romantica": {"comedy", "romance"},
        "Drammatico": {"drama"},
        "Poliziesco": {"crime"},
        "Animazione": {"animation"},
    },
    "portuguese": {
        "Animação": {"animation"},
        "Comédia dramática": {"comedy", "drama"},
        "Ficção científica": {"science_fiction"},
        "Faroeste": {"western"},
        "Policial": {"crime"},
    },
    "polish": {
        "Dramat": {"drama"},
        "Kryminał": {"crime"},
        "Komedia romantyczna": {"comedy", "romance"},
        "Dramat historyczny": {"drama", "history"},  # by its last word, and the one before
        "Wojenny": {"war"},
        "Krótkometrażowy": set(),
    },
    "russian": {
        "Боевик": {"action"},
        "Комедия": {"comedy"},
        "драма": {"drama"},  # as Kinopoisk writes it
        "Ужасы": {"horror"},
        "Фантастика": {"science_fiction"},
        "Мультфильм": {"animation"},
        "Детектив": {"crime", "mystery"},
        "Романтическая комедия": {"comedy", "romance"},
    },
    "chinese": {
        "剧情": {"drama"},
        "喜剧": {"comedy"},
        "动作": {"action"},
        "科幻": {"science_fiction"},
        "恐怖": {"horror"},
        "动画": {"animation"},
        "悬疑": {"mystery"},
        "劇情": {"drama"},  # traditional
        "短片": set(),
    },
    "japanese": {
        "ドラマ": {"drama"},
        "アニメ": {"animation"},
        "コメディ": {"comedy"},
        "ホラー": {"horror"},
        "サスペンス": {"thriller"},
        "時代劇": {"drama", "history"},
    },
    "korean": {
        "액션": {"action"},
        "코미디": {"comedy"},
        "드라마": {"drama"},
        "멜로/로맨스": {"romance"},  # as Naver writes it: through its parts
        "로맨틱 코미디": {"comedy", "romance"},
        "TV 영화": {"tv_movie"},
    },
    "swedish": {
        "Skräck": {"horror"},
        "Äventyr": {"adventure"},
        "Dramakomedi": {"comedy", "drama"},
        "Deckare": {"crime", "mystery"},
        "Krig": {"war"},
    },
    "dutch": {
        "Misdaad": {"crime"},
        "Avontuur": {"adventure"},
        "Romantische komedie": {"comedy", "romance"},
        "Oorlog": {"war"},
        "Tekenfilm": {"animation"},
    },
    "turkish": {
        "Korku": {"horror"},
        "Bilim Kurgu": {"science_fiction"},
        "Romantik Komedi": {"romance", "comedy"},
        "Suç": {"crime"},
        "Vahşi Batı": {"western"},
        "Belgesel": {"documentary"},
    },
    "anime": {
        "Slice of Life": {"drama"},
        "Mecha": {"science_fiction"},
        "Supernatural": {"fantasy"},
        "Psychological": {"thriller"},
        "Military": {"war"},
        "Isekai": {"fantasy"},
        "Idols (Female)": {"music"},
        "Shounen": set(),
        "Seinen": set(),
        "Ecchi": set(),
    },
}


@pytest.mark.parametrize("language", sorted(CASES))
def test_generic_map_reads_the_genre_names_of_a_language(language: str) -> None:
    generic = vocabulary_map("generic")
    cases = CASES[language]
    got = {label: label_genres(label, generic) for label in cases}
    assert {
        label: None if genres is None else set(genres) for label, genres in got.items()
    } == cases


def test_english_labels_keep_their_genres_beside_the_new_words() -> None:
    """New single words do not lend their genre to English labels ending in a genre."""
    generic = vocabulary_map("generic")
    cases = {
        "Supernatural Horror": ["horror"],
        "Psychological Drama": ["drama"],
        "Psychological Thriller": ["thriller"],
        "Science-Fiction": ["science_fiction"],
    }
    assert {label: label_genres(label, generic) for label in cases} == cases
    assert label_genres("Cyberpunk", generic) is None
    assert label_genres("School", generic) is None  # no genre of ours, and not "Teen"


def seed_rows() -> list[dict[str, str]]:
    with GENERIC_SEED.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_every_row_names_a_canonical_genre_or_none() -> None:
    known = set(genre_ids())
    assert {row["genre_id"] for row in seed_rows()} - known == {""}


# spellings of one English label the map has always listed, each as its own row
ENGLISH_SPELLING_VARIANTS = {
    ("action and adventure", "action"),
    ("action and adventure", "adventure"),
    ("comedy drama", "comedy"),
    ("comedy drama", "drama"),
    ("stand up", "comedy"),
    ("film noir", "crime"),
    ("sci fi", "science_fiction"),
    ("science fiction", "science_fiction"),
    ("reality tv", "reality"),
    ("game show", "reality"),
    ("talk show", "talk"),
}


def test_no_label_is_listed_twice_for_one_genre() -> None:
    rows = seed_rows()
    assert not [row for row, n in Counter(map(tuple, map(dict.values, rows))).items() if n > 1]
    pairs = Counter((label_key(row["source_genre"]), row["genre_id"]) for row in rows)
    assert {pair for pair, n in pairs.items() if n > 1} <= ENGLISH_SPELLING_VARIANTS
