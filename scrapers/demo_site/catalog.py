"""A deterministic, seeded catalog of movie and TV titles for the two demo sites.

The catalog is the ground truth the demo sites publish. It stands in for real movie
sites so the spiders, the warehouse and the models can be built and tested offline,
and it carries a manifest of the deliberate trouble planted on some pages so tests can
account for every one.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path

from scrapers.demo_site import phrases

SITES: tuple[str, ...] = ("reelhub", "filmfolio")

# The canonical taxonomy's ids, read from its one source, the dbt seed (a data file: the
# scrapers import no pipeline code).
GENRES_SEED = Path(__file__).resolve().parents[2] / "dbt_project" / "seeds" / "genres.csv"
with GENRES_SEED.open(encoding="utf-8", newline="") as _seed:
    CANONICAL_GENRES: tuple[str, ...] = tuple(row["genre_id"] for row in csv.DictReader(_seed))
MOVIE_ONLY: frozenset[str] = frozenset({"tv_movie"})
TV_ONLY: frozenset[str] = frozenset({"kids", "news", "reality", "soap", "talk"})

# Relative popularity, so common genres dominate as they do on real sites.
GENRE_WEIGHTS: dict[str, float] = {
    "drama": 10,
    "comedy": 8,
    "thriller": 6,
    "action": 6,
    "romance": 5,
    "crime": 5,
    "horror": 4,
    "adventure": 4,
    "science_fiction": 4,
    "mystery": 4,
    "fantasy": 3,
    "family": 3,
    "animation": 3,
    "documentary": 3,
    "history": 2,
    "music": 2,
    "war": 2,
    "western": 1.5,
    "tv_movie": 1.5,
    "kids": 4,
    "news": 2,
    "reality": 4,
    "soap": 3,
    "talk": 2,
}

REELHUB_LABELS: dict[str, str] = {
    "action": "Action",
    "adventure": "Adventure",
    "animation": "Animation",
    "comedy": "Comedy",
    "crime": "Crime",
    "documentary": "Documentary",
    "drama": "Drama",
    "family": "Family",
    "fantasy": "Fantasy",
    "history": "History",
    "horror": "Horror",
    "music": "Music",
    "mystery": "Mystery",
    "romance": "Romance",
    "science_fiction": "Sci-Fi",
    "tv_movie": "TV Movie",
    "thriller": "Thriller",
    "war": "War",
    "western": "Western",
    "kids": "Kids",
    "news": "News",
    "reality": "Reality",
    "soap": "Soap",
    "talk": "Talk",
}
FILMFOLIO_LABELS: dict[str, str] = {
    "action": "action",
    "adventure": "adventure",
    "animation": "cartoon",
    "comedy": "funny",
    "crime": "crime",
    "documentary": "docu",
    "drama": "drama",
    "family": "family",
    "fantasy": "fantasy",
    "history": "period",
    "horror": "scary",
    "music": "musical",
    "mystery": "whodunit",
    "romance": "love story",
    "science_fiction": "sci-fi",
    "tv_movie": "tv-movie",
    "thriller": "suspense",
    "war": "war",
    "western": "western",
    "kids": "kids",
    "news": "news",
    "reality": "reality",
    "soap": "soap",
    "talk": "talk show",
}
UNMAPPED_LABELS: dict[str, str] = {"reelhub": "Staff Pick", "filmfolio": "new arrival"}

LANGUAGES: tuple[tuple[str, float], ...] = (
    ("en", 0.70),
    ("fr", 0.06),
    ("es", 0.06),
    ("ja", 0.05),
    ("ko", 0.05),
    ("de", 0.04),
    ("hi", 0.04),
)
NEW_RELEASES_FROM = date(2026, 10, 1)
REVIEWS_PER_PAGE = 10
CATALOG_END = date(2026, 12, 31)

# Kinds of deliberate trouble; tests map each to how it must surface in a crawl.
TROUBLE_KINDS: tuple[str, ...] = (
    "malformed_jsonld",
    "missing_plot",
    "markup_in_text",
    "non_utf8",
    "duplicate_title",
    "duplicate_link",
    "broken_link",
    "private_link",
    "transient_500",
    "slow",
    "bad_review_rating",
    "bad_review_text",
)


@dataclass(frozen=True)
class Review:
    """One user review as a site publishes it (``rating`` may be out of range on purpose)."""

    review_id: str
    site: str
    author: str
    rating: int | None
    review_date: date
    text: str
    markup: bool = False


@dataclass(frozen=True)
class Title:
    """A work (movie or TV series): the ground truth shared by both sites."""

    key: str
    name: str
    title_type: str
    year: int
    original_language: str
    release_date: date
    listed_on: date
    genres: tuple[str, ...]
    plot: str | None
    reviews: tuple[Review, ...] = ()


@dataclass(frozen=True)
class Listing:
    """How one site lists one title: its own id, label spelling and page quirks."""

    site: str
    site_id: str
    title: Title
    display_name: str
    labels: tuple[str, ...]
    reviews: tuple[Review, ...]
    troubles: frozenset[str] = frozenset()
    charset: str = "utf-8"

    @property
    def listed_on(self) -> date:
        return self.title.listed_on


@dataclass(frozen=True)
class Trouble:
    """One deliberately broken page (or link), visible once ``visible_from`` has passed."""

    site: str
    kind: str
    path: str
    visible_from: date
    site_id: str | None = None
    review_id: str | None = None


@dataclass
class SiteCatalog:
    """Everything one demo site publishes, independent of the site's clock."""

    name: str
    listings: list[Listing]
    broken_links: dict[str, str] = field(default_factory=dict)
    private_links: dict[str, str] = field(default_factory=dict)
    featured: list[str] = field(default_factory=list)
    troubles: list[Trouble] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.reindex()

    def reindex(self) -> None:
        """Rebuild the id index after listings are replaced or added."""
        self.by_id: dict[str, Listing] = {lst.site_id: lst for lst in self.listings}

    def listed(self, as_of: date) -> list[Listing]:
        """Listings visible at ``as_of``, newest first (the order the listing pages use)."""
        visible = [lst for lst in self.listings if lst.listed_on <= as_of]
        return sorted(visible, key=lambda lst: (-lst.listed_on.toordinal(), lst.site_id))

    def visible_troubles(self, as_of: date) -> list[Trouble]:
        return [t for t in self.troubles if t.visible_from <= as_of]


@dataclass
class Catalog:
    """The whole demo world: titles plus each site's listings and trouble manifest."""

    seed: int
    titles: list[Title]
    sites: dict[str, SiteCatalog]

    def troubles(self, as_of: date) -> list[Trouble]:
        return [t for site in self.sites.values() for t in site.visible_troubles(as_of)]


def reelhub_labels(genres: Sequence[str], title_type: str) -> list[str]:
    """Canonical genres -> reelhub labels, using the combined labels where they apply."""
    remaining = list(genres)
    labels: list[str] = []

    def combine(pair: tuple[str, str], label: str) -> None:
        if all(g in remaining for g in pair):
            labels.append(label)
            for g in pair:
                remaining.remove(g)

    if title_type == "tv":
        combine(("action", "adventure"), "Action & Adventure")
    combine(("science_fiction", "fantasy"), "Sci-Fi & Fantasy")
    combine(("romance", "comedy"), "Romcom")
    if title_type == "tv" and "war" in remaining:
        remaining.remove("war")
        labels.append("War & Politics")
    labels.extend(REELHUB_LABELS[g] for g in remaining)
    return labels


def filmfolio_labels(genres: Sequence[str]) -> list[str]:
    return [FILMFOLIO_LABELS[g] for g in genres]


class _Writer:
    """Draws names, titles, plots and reviews from the phrase banks with one RNG."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used_names: set[str] = set()

    def title_name(self, accented: bool = False) -> str:
        rng = self.rng
        for attempt in range(200):
            if accented:
                name = f"{rng.choice(phrases.ACCENTED_WORDS)} {rng.choice(phrases.TITLE_NOUNS)}"
            else:
                nouns = rng.sample(phrases.TITLE_NOUNS, 2)
                adj = rng.choice(phrases.TITLE_ADJECTIVES)
                name = rng.choice(phrases.TITLE_PATTERNS).format(
                    adj=adj,
                    article="An" if adj[0] in "AEIOU" else "A",
                    noun=nouns[0],
                    nouns=nouns[0] if nouns[0].endswith("s") else nouns[0] + "s",
                    noun2=nouns[1],
                    place=rng.choice(phrases.TITLE_PLACES),
                    first=rng.choice(phrases.FIRST_NAMES),
                )
            if attempt > 50:
                name = f"{name} {rng.choice(('II', 'III', 'Returns', 'Rising', 'Reborn'))}"
            if name.lower() not in self.used_names:
                self.used_names.add(name.lower())
                return name
        raise RuntimeError("title word banks exhausted")

    def _fill(self, template: str, genre: str | None, place: str | None = None) -> str:
        rng = self.rng
        pool = (
            phrases.GENRE_KEYWORDS[genre]
            if genre
            else rng.choice(list(phrases.GENRE_KEYWORDS.values()))
        )
        kw, kw2 = rng.sample(pool, 2)
        hero, other = rng.sample(phrases.FIRST_NAMES, 2)
        text = template.format(
            hero=hero,
            other=other,
            place=place or rng.choice(phrases.PLACES),
            kw=kw,
            kw2=kw2,
        )
        return text[0].upper() + text[1:]

    def plot(self, genres: Sequence[str], title_type: str, accented: bool) -> str:
        """1-5 sentences: mostly the title's genres, some neutral, ~25% from other genres."""
        rng = self.rng
        n = rng.choices((1, 2, 3, 4, 5), weights=(1, 3, 4, 3, 2))[0]
        if rng.random() < 0.75:
            n = max(n, min(len(genres), 4))
        # Most plots touch each of the title's genres once before mixing freely.
        own = rng.sample(list(genres), len(genres))
        others = [g for g in CANONICAL_GENRES if g not in genres and _fits(g, title_type)]
        sentences = []
        for i in range(n):
            roll = rng.random()
            if i < len(own) and (i == 0 or roll < 0.8):
                genre = own[i]
                template = rng.choice(phrases.GENRE_TEMPLATES[genre])
            elif roll < 0.55:
                genre = rng.choice(list(genres))
                template = rng.choice(phrases.GENRE_TEMPLATES[genre])
            elif roll < 0.75:
                genre = None
                template = rng.choice(phrases.NEUTRAL_SENTENCES)
            else:
                genre = rng.choice(others)
                template = rng.choice(phrases.GENRE_TEMPLATES[genre])
            place = rng.choice(("Zürich", "Málaga", "Göteborg", "São Paulo")) if accented else None
            sentences.append(self._fill(template, genre, place))
        if n >= 2 and rng.random() < 0.2:
            # Swap the lead sentence for a distractor so genre is not always up front.
            genre = rng.choice(others)
            sentences[0] = self._fill(rng.choice(phrases.GENRE_TEMPLATES[genre]), genre)
        return " ".join(sentences)

    def review_text(self, rating: int, genres: Sequence[str]) -> str:
        rng = self.rng
        band = (
            "awful",
            "awful",
            "awful",
            "poor",
            "poor",
            "mixed",
            "mixed",
            "good",
            "good",
            "great",
        )[rating - 1]
        templates = phrases.REVIEW_TEMPLATES[band]
        sentences = []
        for template in rng.sample(templates, rng.choice((1, 1, 2, 2, 3))):
            aspect = rng.choice(phrases.GENRE_ASPECTS[rng.choice(list(genres))])
            sentence = template.format(aspect=aspect, Aspect=aspect[0].upper() + aspect[1:])
            sentences.append(sentence)
        return " ".join(sentences)

    def author(self) -> str:
        rng = self.rng
        if rng.random() < 0.5:
            return f"{rng.choice(phrases.FIRST_NAMES)} {rng.choice(phrases.SURNAMES)[0]}."
        return f"{rng.choice(phrases.REVIEWER_HANDLES)}{rng.randint(1, 999)}"


def _fits(genre: str, title_type: str) -> bool:
    if title_type == "movie":
        return genre not in TV_ONLY
    return genre not in MOVIE_ONLY


def _pick_genres(
    rng: random.Random, title_type: str, forced: Sequence[str] = ()
) -> tuple[str, ...]:
    allowed = [g for g in CANONICAL_GENRES if _fits(g, title_type)]
    count = rng.choices((1, 2, 3, 4), weights=(30, 35, 25, 10))[0]
    chosen = list(forced)
    while len(chosen) < max(count, len(forced)):
        pool = [g for g in allowed if g not in chosen]
        chosen.append(rng.choices(pool, weights=[GENRE_WEIGHTS[g] for g in pool])[0])
    return tuple(sorted(chosen, key=CANONICAL_GENRES.index))


def _random_date(rng: random.Random, start: date, end: date) -> date:
    if end <= start:
        return start
    return start + timedelta(days=rng.randint(0, (end - start).days))


def _forced_profiles() -> list[tuple[str, tuple[str, ...]]]:
    """(type, genres) seeds that guarantee every genre and every combined label appears."""
    profiles: list[tuple[str, tuple[str, ...]]] = [
        ("tv", ("action", "adventure")),
        ("movie", ("science_fiction", "fantasy")),
        ("tv", ("science_fiction", "fantasy")),
        ("movie", ("romance", "comedy")),
        ("tv", ("war",)),
        ("movie", ("war",)),
        ("movie", ("action",)),
        ("movie", ("adventure",)),
    ]
    for genre in CANONICAL_GENRES:
        profiles.append(("tv" if genre in TV_ONLY else "movie", (genre,)))
    return profiles


def _make_reviews(
    rng: random.Random,
    writer: _Writer,
    title_genres: Sequence[str],
    release: date,
    listed_on: date,
    sites: Sequence[str],
    counter: dict[str, int],
) -> list[Review]:
    count = min(40, int(rng.gammavariate(1.3, 9.5)))
    quality = rng.uniform(2.5, 9.0)
    start = max(release, listed_on - timedelta(days=365 * 3))
    burst = rng.random() < 0.12 and count > 0
    reviews = []
    for i in range(count):
        rating = min(10, max(1, round(rng.gauss(quality, 1.8))))
        if burst and i >= count // 3:
            when = _random_date(rng, max(start, date(2026, 11, 1)), CATALOG_END)
        elif rng.random() < 0.5:
            when = _random_date(rng, start, min(CATALOG_END, start + timedelta(days=365)))
        else:
            when = _random_date(rng, start, CATALOG_END)
        site = rng.choice(list(sites))
        counter[site] += 1
        prefix = "rr-" if site == "reelhub" else "fr"
        reviews.append(
            Review(
                review_id=f"{prefix}{counter[site]:06d}",
                site=site,
                author=writer.author(),
                rating=None if rng.random() < 0.03 else rating,
                review_date=when,
                text=writer.review_text(rating, title_genres),
            )
        )
    return sorted(reviews, key=lambda r: (r.review_date, r.review_id))


def _display_variant(rng: random.Random, name: str) -> str:
    """Filmfolio's spelling of a shared title: case, spacing or entity quirks."""
    roll = rng.random()
    if roll < 0.10:
        return name.upper()
    if roll < 0.18:
        return name.lower()
    if roll < 0.26:
        return "  " + name.replace(" ", "  ", 1) + " "
    if roll < 0.34 and ("&" in name or "'" in name):
        return name.replace("&", "&amp;").replace("'", "&#39;")
    return name


def build_catalog(n_titles: int = 1000, seed: int = 42) -> Catalog:
    """Build the demo catalog: same ``(n_titles, seed)`` always gives the same catalog."""
    if n_titles < 40:
        raise ValueError("n_titles must be at least 40 to cover every genre and trouble kind")
    rng = random.Random(seed)
    writer = _Writer(rng)
    forced = _forced_profiles()
    n_accented = max(2, n_titles // 100)
    accented_idx = set(rng.sample(range(len(forced), n_titles), n_accented))
    review_counter = {site: 0 for site in SITES}

    titles: list[Title] = []
    membership: list[tuple[str, ...]] = []
    for i in range(n_titles):
        if i < len(forced):
            title_type, forced_genres = forced[i]
        else:
            title_type, forced_genres = ("movie" if rng.random() < 0.7 else "tv"), ()
        genres = _pick_genres(rng, title_type, forced_genres)
        is_new = i >= len(forced) and i not in accented_idx and rng.random() < 0.15
        if is_new:
            listed_on = _random_date(rng, NEW_RELEASES_FROM, CATALOG_END)
            release = listed_on - timedelta(days=rng.randint(0, 3))
        else:
            year = min(2026, int(2027 - rng.expovariate(1 / 9)))
            year = max(year, 1950)
            release = _random_date(rng, date(year, 1, 1), date(year, 12, 31))
            release = min(release, date(2026, 9, 15))
            listed_on = _random_date(
                rng, max(release, date(2023, 1, 1)), NEW_RELEASES_FROM - timedelta(days=1)
            )
        roll = rng.random()
        if i < len(forced) or i in accented_idx or roll < 0.30:
            sites: tuple[str, ...] = SITES
        elif roll < 0.75:
            sites = ("reelhub",)
        else:
            sites = ("filmfolio",)
        language = rng.choices([lang for lang, _ in LANGUAGES], [w for _, w in LANGUAGES])[0]
        accented = i in accented_idx
        key = f"t{i:05d}"
        titles.append(
            Title(
                key=key,
                name=writer.title_name(accented=accented),
                title_type=title_type,
                year=release.year,
                original_language=language,
                release_date=release,
                listed_on=listed_on,
                genres=genres,
                plot=writer.plot(genres, title_type, accented),
                reviews=tuple(
                    _make_reviews(rng, writer, genres, release, listed_on, sites, review_counter)
                ),
            )
        )
        membership.append(sites)

    return _publish(rng, seed, titles, membership, accented_idx)


def _publish(
    rng: random.Random,
    seed: int,
    titles: list[Title],
    membership: list[tuple[str, ...]],
    accented_idx: set[int],
) -> Catalog:
    """Lay the titles out on the two sites and plant the trouble manifest."""
    n = len(titles)
    few = max(2, n // 50)
    established = [i for i, t in enumerate(titles) if t.listed_on < NEW_RELEASES_FROM]
    # Plot trouble goes to titles on both sites, so each site shows every kind.
    on_both = [i for i in established if membership[i] == SITES and i not in accented_idx]
    missing_plot = set(rng.sample(on_both, few))
    markup_plot = set(rng.sample([i for i in on_both if i not in missing_plot], few))
    titles = [replace(t, plot=None) if i in missing_plot else t for i, t in enumerate(titles)]
    established_set = set(established)
    special = missing_plot | markup_plot | accented_idx

    sites: dict[str, SiteCatalog] = {}
    for site in SITES:
        idx = [i for i in range(n) if site in membership[i]]
        plain = [i for i in idx if i in established_set and i not in special]
        picks = rng.sample(plain, few + 4)
        quirks = {i: {"transient_500"} for i in picks[:3]}
        quirks[picks[3]] = {"slow"}
        if site == "reelhub":
            for i in picks[4:]:
                quirks[i] = {"malformed_jsonld"}
        listings: list[Listing] = []
        for i in idx:
            t = titles[i]
            troubles = set(quirks.get(i, ()))
            if i in accented_idx:
                troubles.add("non_utf8")
            if i in missing_plot:
                troubles.add("missing_plot")
            if i in markup_plot:
                troubles.add("markup_in_text")
            if site == "reelhub":
                labels = reelhub_labels(t.genres, t.title_type)
                site_id = f"rh-{i + 1:06d}"
                display = t.name
                charset = "windows-1252" if i in accented_idx else "utf-8"
            else:
                labels = filmfolio_labels(t.genres)
                site_id = f"ff{10000 + i}"
                quirky = "reelhub" in membership[i] and i not in accented_idx
                display = _display_variant(rng, t.name) if quirky else t.name
                charset = "iso-8859-1" if i in accented_idx else "utf-8"
            is_new = t.listed_on >= NEW_RELEASES_FROM
            if rng.random() < 0.05 or (site == "filmfolio" and is_new and rng.random() < 0.3):
                labels.append(UNMAPPED_LABELS[site])
            reviews = [r for r in t.reviews if r.site == site]
            if "markup_in_text" in troubles and reviews:
                reviews[-1] = replace(reviews[-1], markup=True)
            listings.append(
                Listing(
                    site=site,
                    site_id=site_id,
                    title=t,
                    display_name=display,
                    labels=tuple(labels),
                    reviews=tuple(reviews),
                    troubles=frozenset(troubles),
                    charset=charset,
                )
            )
        if not any(UNMAPPED_LABELS[site] in lst.labels for lst in listings):
            first = listings[0]
            listings[0] = replace(first, labels=(*first.labels, UNMAPPED_LABELS[site]))
        site_catalog = SiteCatalog(name=site, listings=listings)
        _plant_bad_reviews(rng, site_catalog)
        sites[site] = site_catalog

    _plant_duplicate(rng, sites["reelhub"])
    for site_catalog in sites.values():
        _plant_links(rng, site_catalog)
        site_catalog.troubles = _manifest(site_catalog)
    return Catalog(seed=seed, titles=titles, sites=sites)


def _plant_bad_reviews(rng: random.Random, site: SiteCatalog) -> None:
    """A few reviews with an impossible rating or no text, plus some with stray markup."""
    slots = [
        (li, ri)
        for li, lst in enumerate(site.listings)
        for ri, r in enumerate(lst.reviews)
        if r.review_date < NEW_RELEASES_FROM and lst.listed_on < NEW_RELEASES_FROM
    ]
    k = max(1, len(slots) // 600)
    picked = rng.sample(slots, 2 * k + max(1, len(slots) // 50))
    changes: dict[tuple[int, int], dict[str, object]] = {}
    for n, slot in enumerate(picked):
        if n < k:
            changes[slot] = {"rating": rng.choice((0, 11, 12, 42, -3))}
        elif n < 2 * k:
            changes[slot] = {"text": rng.choice(("", "   ", "<p> </p>"))}
        else:
            changes[slot] = {"markup": True}
    for (li, ri), change in sorted(changes.items()):
        lst = site.listings[li]
        reviews = list(lst.reviews)
        reviews[ri] = replace(reviews[ri], **change)
        site.listings[li] = replace(lst, reviews=tuple(reviews))
    site.reindex()


def _plant_duplicate(rng: random.Random, site: SiteCatalog) -> None:
    """The same title listed twice under two ids (no reviews on the second copy)."""
    candidates = [
        lst for lst in site.listings if lst.listed_on < NEW_RELEASES_FROM and not lst.troubles
    ]
    original = rng.choice(candidates)
    duplicate = replace(
        original,
        site_id=f"rh-{900000 + int(original.site_id[3:]):06d}",
        reviews=(),
        troubles=frozenset({"duplicate_title"}),
    )
    site.listings.append(duplicate)
    site.reindex()


def _plant_links(rng: random.Random, site: SiteCatalog) -> None:
    """Links from listing cards to pages that 404, and to /private/ pages robots.txt forbids."""
    anchors = [lst for lst in site.listings if lst.listed_on < NEW_RELEASES_FROM]
    for k, anchor in enumerate(rng.sample(anchors, 3)):
        site.broken_links[anchor.site_id] = title_path(site.name, f"gone-{k}")
    for k, anchor in enumerate(rng.sample(anchors, 3)):
        site.private_links[anchor.site_id] = f"/private/screener/{k + 1}"
    # Listed twice on the first listing page (as "featured" too), under a second URL.
    plain = [lst for lst in anchors if not lst.troubles]
    site.featured = [lst.site_id for lst in rng.sample(plain, 2)]


def title_path(site: str, site_id: str) -> str:
    """Path of a title page on a demo site (the two sites lay out URLs differently)."""
    return f"/title/{site_id}" if site == "reelhub" else f"/film/{site_id}"


def reviews_path(site: str, site_id: str, page: int = 1) -> str:
    """Path of one page of a title's reviews on a demo site."""
    return f"{title_path(site, site_id)}/reviews?page={page}"


def _manifest(site: SiteCatalog) -> list[Trouble]:
    out: list[Trouble] = []
    for lst in site.listings:
        path = title_path(site.name, lst.site_id)
        for kind in sorted(lst.troubles):
            out.append(Trouble(site.name, kind, path, lst.listed_on, site_id=lst.site_id))
        ordered = sorted(lst.reviews, key=lambda r: (r.review_date, r.review_id), reverse=True)
        for r in ordered:
            kind = None
            if r.rating is not None and not 1 <= r.rating <= 10:
                kind = "bad_review_rating"
            elif not r.text.replace("<p>", "").replace("</p>", "").strip():
                kind = "bad_review_text"
            if kind:
                out.append(
                    Trouble(
                        site.name,
                        kind,
                        f"{title_path(site.name, lst.site_id)}/reviews",
                        max(r.review_date, lst.listed_on),
                        site_id=lst.site_id,
                        review_id=r.review_id,
                    )
                )
    for site_id in site.featured:
        path = f"{title_path(site.name, site_id)}?ref=featured"
        out.append(
            Trouble(site.name, "duplicate_link", path, site.by_id[site_id].listed_on, site_id)
        )
    for anchor_id, path in site.broken_links.items():
        out.append(
            Trouble(site.name, "broken_link", path, site.by_id[anchor_id].listed_on, anchor_id)
        )
    for anchor_id, path in site.private_links.items():
        out.append(
            Trouble(site.name, "private_link", path, site.by_id[anchor_id].listed_on, anchor_id)
        )
    return out
