"""Single values as sites publish them: dates, years, title types, languages, ratings.

Every parser returns ``None`` for what it cannot read; none of them guesses. An
impossible date ("2026-13-45") is ``None``, never rolled over into another day.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

# schema.org types and the words sites use for them, lower-cased.
MOVIE_TYPES = frozenset(
    {
        "movie", "film", "feature film", "feature", "tvmovie", "tv movie", "video.movie",
        "short film", "short", "documentary film", "animated film", "motion picture",
    }
)  # fmt: skip
TV_TYPES = frozenset(
    {
        "tvseries", "tv series", "series", "tv", "tvshow", "tv show", "show", "miniseries",
        "mini-series", "tv mini series", "tv miniseries", "tv mini-series", "video.tv_show",
        "web series", "tv-series", "television series", "sitcom", "anime series",
    }
)  # fmt: skip
# Page types that are not titles, and the reason a skipped page is counted under.
NON_TITLE_TYPES = {
    "tvepisode": "episode",
    "episode": "episode",
    "video.episode": "episode",
    "podcastepisode": "episode",
    "tvseason": "season",
    "creativeworkseason": "season",
    "person": "person",
    "profile": "person",
    "profilepage": "person",
    "organization": "organization",
    "corporation": "organization",
    "localbusiness": "organization",
    "movietheater": "organization",
    "productioncompany": "organization",
    "videogame": "game",
    "game": "game",
    "videogameseries": "game",
    "book": "not_a_title",
    "musicrecording": "not_a_title",
    "musicalbum": "not_a_title",
    "event": "not_a_title",
    "screeningevent": "not_a_title",
    "newsarticle": "not_a_title",
    "article": "not_a_title",
    "blogposting": "not_a_title",
    "video.other": "not_a_title",
    "music.song": "not_a_title",
    "profile.person": "person",
}

LANGUAGE_CODES = {
    "english": "en", "french": "fr", "spanish": "es", "japanese": "ja", "korean": "ko",
    "german": "de", "hindi": "hi", "italian": "it", "portuguese": "pt", "chinese": "zh",
    "mandarin": "zh", "cantonese": "zh", "russian": "ru", "swedish": "sv", "danish": "da",
    "norwegian": "no", "dutch": "nl", "polish": "pl", "turkish": "tr", "arabic": "ar",
    "hebrew": "he", "thai": "th", "tamil": "ta", "telugu": "te", "persian": "fa",
    "farsi": "fa", "greek": "el", "czech": "cs", "hungarian": "hu", "finnish": "fi",
    "indonesian": "id", "icelandic": "is", "romanian": "ro", "ukrainian": "uk",
    "vietnamese": "vi", "malayalam": "ml", "bengali": "bn", "marathi": "mr", "urdu": "ur",
    "tagalog": "tl", "filipino": "tl", "catalan": "ca", "irish": "ga", "welsh": "cy",
}  # fmt: skip

# Month names of the languages sites are most often written in (prefix match, so
# "Sept.", "janv." and "März" all read).
_MONTHS: dict[str, int] = {}
for _number, _names in enumerate(
    [
        "january janvier januar enero gennaio janeiro januari jan janv ene gen",
        "february fevrier février februar febrero febbraio fevereiro februari feb fev fév febr",
        "march mars märz marz marzo março maart mar mär mrz",
        "april avril abril aprile apr avr abr",
        "may mai mayo maggio maio mei mag",
        "june juin juni junio giugno junho jun jui giu",
        "july juillet juli julio luglio julho jul juil lug",
        "august août aout agosto augustus aug aoû ago",
        "september septembre septiembre settembre setembro sep sept set",
        "october octobre oktober octubre ottobre outubro oct okt ott out",
        "november novembre noviembre novembro nov",
        "december décembre decembre dezember diciembre dicembre dezembro dec déc dez dic",
    ],
    start=1,
):
    for _name in _names.split():
        _MONTHS[_name] = _number
_MONTH_WORD = r"([A-Za-zÀ-ÿ]{3,10})\.?"
_DAY_MONTH_YEAR = re.compile(
    rf"(?<!\d)(\d{{1,2}})(?:st|nd|rd|th|er)?\.?\s+(?:de\s+)?{_MONTH_WORD},?\s+(?:de\s+)?(\d{{4}})(?!\d)"
)
_MONTH_DAY_YEAR = re.compile(rf"\b{_MONTH_WORD}\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})(?!\d)")
_MONTH_YEAR = re.compile(rf"\b{_MONTH_WORD}\s+(\d{{4}})(?!\d)")
_ISO = re.compile(r"(?<!\d)(\d{4})-(\d{1,2})-(\d{1,2})(?!\d)")
_NUMERIC = re.compile(r"\b(\d{1,2})[./-](\d{1,2})[./-](\d{4})\b")
_YEAR = re.compile(r"(?<![\d.])(18[89]\d|19\d\d|20\d\d)(?![\d])")


def _month(word: str) -> int | None:
    word = word.lower().rstrip(".")
    if word in _MONTHS:
        return _MONTHS[word]
    for name, number in _MONTHS.items():
        if len(word) >= 3 and len(name) > 3 and name.startswith(word):
            return number
    return None


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def parse_date(value: Any, formats: Iterable[str] = (), month_first: bool = False) -> str | None:
    """An ISO date from the forms sites print it in; ``None`` when no whole date is there.

    Tries the site's own ``formats`` first, then ISO (also as a datetime prefix),
    "31 March 1999", "March 31, 1999", and numeric day-first dates ("31/03/1999";
    month-first only where the day-first reading is impossible, or where ``month_first``
    says the page is American, or the date is marked "(US)"). A year alone is not a date
    (see :func:`parse_year`)."""
    if value in (None, ""):
        return None
    text = html.unescape(str(value)).strip()
    for fmt in formats:
        try:
            return datetime.strptime(text, fmt).date().isoformat()
        except ValueError:
            continue
    match = _ISO.search(text)
    if match:
        found = _safe_date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        return found.isoformat() if found else None
    match = _DAY_MONTH_YEAR.search(text)
    if match and _month(match.group(2)):
        found = _safe_date(int(match.group(3)), _month(match.group(2)) or 0, int(match.group(1)))
        if found:
            return found.isoformat()
    match = _MONTH_DAY_YEAR.search(text)
    if match and _month(match.group(1)):
        found = _safe_date(int(match.group(3)), _month(match.group(1)) or 0, int(match.group(2)))
        if found:
            return found.isoformat()
    match = _NUMERIC.search(text)
    if match:
        first, second, year = int(match.group(1)), int(match.group(2)), int(match.group(3))
        if month_first or re.search(r"\(\s*US\s*\)|\bUSA?\b", text):
            found = _safe_date(year, first, second) or _safe_date(year, second, first)
        else:
            found = _safe_date(year, second, first) or _safe_date(year, first, second)
        if found:
            return found.isoformat()
    return None


def parse_year(value: Any) -> int | None:
    """The first plausible four-digit year (1880-2099) in a value, else ``None``."""
    if value in (None, ""):
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value if 1880 <= value <= 2099 else None
    match = _YEAR.search(str(value))
    return int(match.group(1)) if match else None


def title_type_of(value: Any) -> str | None:
    """'movie' or 'tv' from a schema.org type or a site's wording; the raw text otherwise."""
    if value is None:
        return None
    key = " ".join(str(value).lower().replace("schema:", "").split())
    key = key.rsplit("/", 1)[-1] if key.startswith("http") else key
    if key in MOVIE_TYPES:
        return "movie"
    if key in TV_TYPES:
        return "tv"
    return key or None


def non_title_reason(types: Iterable[str]) -> str | None:
    """Why a page whose structured data has these types is not a title (else ``None``)."""
    for value in types:
        key = str(value).lower().rsplit("/", 1)[-1]
        if key in NON_TITLE_TYPES:
            return NON_TITLE_TYPES[key]
    return None


def language_code(value: Any) -> str | None:
    """ISO 639-1 from a code ("en", "en-US", "eng"?) or an English language name."""
    if not value:
        return None
    key = str(value).strip().lower()
    if re.fullmatch(r"[a-z]{2}", key):
        return key
    if re.fullmatch(r"[a-z]{2}[-_][a-z0-9]{2,4}", key):
        return key[:2]
    first = re.split(r"[,;/(]| and ", key)[0].strip()
    return LANGUAGE_CODES.get(first)


_STARS = re.compile(r"([★⭐]+)(½)?(☆*)")
_OUT_OF = re.compile(r"(-?\d+(?:[.,]\d+)?)\s*(?:/|out of|of|sur|von|de)\s*(\d+(?:[.,]\d+)?)", re.I)
_PERCENT = re.compile(r"(\d+(?:[.,]\d+)?)\s*%")
_NUMBER = re.compile(r"-?\d+(?:[.,]\d+)?")


def _number(text: str) -> float | None:
    try:
        return float(text.replace(",", "."))
    except ValueError:
        return None


# Letter grades critics give, on a 10-point scale (A+ is the top, F the bottom).
LETTER_GRADES = {
    "A+": 10.0, "A": 9.5, "A-": 9.0, "B+": 8.5, "B": 8.0, "B-": 7.0, "C+": 6.5, "C": 6.0,
    "C-": 5.0, "D+": 4.5, "D": 4.0, "D-": 3.0, "F": 1.0,
}  # fmt: skip
_GRADE = re.compile(r"(?:^|[\s:(])([A-DF][+-]?)(?=$|[\s).,;])")


def read_rating(value: Any, best: Any = None) -> tuple[float | None, float | None]:
    """(value, scale) from how a rating is written: 8, "8/10", "4 out of 5", "85%",
    "★★★½☆". The scale is ``best`` when the site states it, else what the text says."""
    if value is None or value == "" or isinstance(value, bool):
        return None, None
    scale = _number(str(best)) if best not in (None, "") else None
    if isinstance(value, (int, float)):
        return float(value), scale
    text = html.unescape(str(value)).strip()
    stars = _STARS.search(text)
    if stars and not _NUMBER.search(text):
        full = len(stars.group(1))
        total = full + (1 if stars.group(2) else 0) + len(stars.group(3))
        return full + (0.5 if stars.group(2) else 0), scale or float(max(5, total))
    match = _OUT_OF.search(text)
    if match:
        return _number(match.group(1)), scale or _number(match.group(2))
    match = _PERCENT.search(text)
    if match:
        return _number(match.group(1)), scale or 100.0
    match = _NUMBER.search(text)
    if match:
        return _number(match.group(0)), scale
    match = _GRADE.search(text.replace("−", "-").replace("–", "-"))
    if match:
        return LETTER_GRADES[match.group(1)], 10.0
    return None, scale


def is_vote(number: float, scale: float, low: float | None = 0.0) -> bool:
    """True for a whole-number value on a scale of at most three marks (top minus bottom
    at most 2): thumbs up/down (1/-1, 1/0), fresh/rotten, like/neutral/dislike. Such a
    verdict says which side a reviewer took, not how good the title is, so stretching it
    to 1-10 would invent a 10 or a 1. A fraction on such a scale (0.75 of 1) is a score."""
    bottom = low or 0.0
    return 0 < scale - bottom <= 2 and bottom <= number <= scale and float(number).is_integer()


def normalize_rating(
    value: Any,
    best: Any = None,
    named: dict[str, float] | None = None,
    default_best: float = 10,
    worst: Any = None,
) -> float | str | None:
    """A rating on the 1-10 scale; the unreadable text itself, or an out-of-range
    number, for a counted drop downstream.

    ``value * 10 / best`` with the scale the site states (``bestRating``, "4/5", a site
    file's ``rating.max``), raised to 1: 0 is a real score (the lowest), not an error,
    unless the site says its scale starts higher (``worstRating``, ``rating.min``).
    Named values ("Fresh") map through the site file's ``rating.named``. A vote (see
    :func:`is_vote`) is no rating: ``None``."""
    if value is None or value == "":
        return None
    if named and isinstance(value, str) and value.strip().lower() in named:
        return float(named[value.strip().lower()])
    number, scale = read_rating(value, best)
    if number is None or number != number:  # unreadable, or NaN
        return str(value)
    if not scale:
        # No scale stated: a number above 10 is out of 100 (critics' 0-100 scores).
        scale = 100.0 if float(default_best) < number <= 100 else float(default_best)
    low = _number(str(worst)) if worst not in (None, "") else 0.0
    if is_vote(number, scale, low):
        return None
    if scale <= 0 or number < (low or 0.0) or number > scale:
        # Impossible on its own scale: the pipeline drops it as out of range.
        return number * 10.0 / scale if scale > 0 else str(value)
    return max(1.0, number * 10.0 / scale)


def parse_rating(value: Any, best: Any = None) -> float | int | str | None:
    """Back-compatible: :func:`normalize_rating`, integral results as ``int``."""
    result = normalize_rating(value, best)
    if isinstance(result, float) and result.is_integer():
        return int(result)
    return result


_GENERATED_LEAD = re.compile(
    r"^\W*(?:[^.!?]{0,120}?)\b(?:is|was)\s+an?\s+(?:\d{4}\s+)?(?:[\w'’&-]+\s+){0,7}?"
    r"(?:movie|film|feature|series|show|sitcom|miniseries|mini-series|documentary|anime|"
    r"tv\s+series|television\s+series|web\s+series)\b",
    re.I,
)
_CREDITS = re.compile(
    r"\b(?:starring|stars|directed by|written by|created by|produced by|with\s+[A-Z]|"
    r"from director|by director)\b",
    re.I,
)
_BOILERPLATE = re.compile(
    r"^\W*(?:watch|stream|find|discover|read|see|get|buy|rent|check out|explore)\b.{0,160}"
    r"\b(?:online|showtimes|reviews?|cast|trailers?|tickets|ratings?|streaming|on demand)\b",
    re.I,
)


def first_sentence(text: str) -> str:
    match = re.match(r"(.+?[.!?])(?:\s|$)", text.strip(), re.S)
    return match.group(1) if match else text.strip()


_LISTING_FACTS = re.compile(
    r"\b(?:released in \d{4}|\d+ seasons?|user score|imdb rating|tmdb score|runtime|"
    r"streaming on|stream(?:ing)? (?:it )?(?:now )?on|available (?:to stream |for streaming )?on|"
    r"where to watch|rent or buy|watch (?:it )?(?:now )?on|subscription)\b",
    re.I,
)


def is_generated_summary(text: str | None) -> bool:
    """True for site-generated blurbs that are not plots: "X is a 2015 movie starring A,
    B and C", encyclopedia leads ("X is a 1999 American film directed by ..."), and
    "Watch X online / read reviews" boilerplate."""
    if not text:
        return False
    plain = " ".join(re.sub(r"<[^>]+>", " ", html.unescape(text)).split())
    if _BOILERPLATE.match(plain):
        return True
    if len(_LISTING_FACTS.findall(plain)) >= 2:
        return True  # "released in 2019 ... 2 seasons ... streaming on ..."
    lead = first_sentence(plain)
    if not _GENERATED_LEAD.match(lead):
        return False
    return (
        bool(_CREDITS.search(plain[:400]))
        or bool(_LISTING_FACTS.search(plain))
        or len(plain) < 200
        or lead == plain
    )
