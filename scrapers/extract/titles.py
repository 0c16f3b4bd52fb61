"""The title a page is about: structured data first, what the page shows second.

Order of evidence: a site file's field selectors; the page's main schema.org
``Movie`` / ``TVSeries`` item (JSON-LD, then microdata, then RDFa); OpenGraph
``video.movie`` / ``video.tv_show``; and the visible page (heading, fact rows, a plot
section). Each field is taken from the first source that has a usable value, so a JSON-LD
object without a description still gets the plot the page shows.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from parsel import Selector

from scrapers.extract import markup
from scrapers.extract.common import (
    Extraction,
    canonical_url,
    id_from_url,
    is_title_subpage,
    labels_of,
    override,
    text_of,
)
from scrapers.extract.reviews import reviews_from_objects
from scrapers.extract.structured import jsonld_of, microdata_of, opengraph_of, rdfa_of, types_of
from scrapers.extract.values import (
    is_generated_summary,
    language_code,
    non_title_reason,
    parse_date,
    parse_year,
    title_type_of,
)

LISTING_FIELDS = (
    "source_title_id", "url", "title", "year", "title_type", "plot", "genres",
    "original_language", "release_date",
)  # fmt: skip
# Fields whose absence is counted (url and id always exist).
COUNTED_FIELDS = (
    "title",
    "year",
    "title_type",
    "plot",
    "genres",
    "release_date",
    "original_language",
)
_SCAFFOLDING = {"website", "webpage", "breadcrumblist", "searchaction", "sitenavigationelement",
                "imageobject", "itemlist", "listitem", "collectionpage", "faqpage", "wpheader",
                "wpfooter", "aggregaterating", "offer", "videoobject", "clip"}  # fmt: skip
_URL_TV = re.compile(r"/(?:tv|series|shows?|tvshows?|tv-series|tv-shows?|serie|serien)/", re.I)
_URL_MOVIE = re.compile(r"/(?:movies?|films?|m)/", re.I)


_RUN = re.compile(r"\(((?:18|19|20)\d\d)\s*[-–]\s*(?:(?:18|19|20)\d\d|present|now)?\s*\)")


def _is_title_object(obj: dict[str, Any]) -> bool:
    return any(title_type_of(t) in ("movie", "tv") for t in types_of(obj))


def _title_type(obj: dict[str, Any]) -> str | None:
    for t in types_of(obj):
        kind = title_type_of(t)
        if kind in ("movie", "tv"):
            return kind
    return None


def _same_page(obj: dict[str, Any], page_url: str) -> bool:
    own = text_of(obj.get("url")) or text_of(obj.get("@id"))
    if not own:
        return False
    strip = lambda u: re.sub(r"^https?://(www\.)?", "", u.split("#")[0].split("?")[0]).rstrip("/")  # noqa: E731
    return strip(own) == strip(page_url)


def _names_match(a: str | None, b: str | None) -> bool:
    if not a or not b:
        return False
    simple = lambda s: re.sub(r"\W+", "", s.lower())  # noqa: E731
    return simple(a) == simple(b) or simple(b).startswith(simple(a))


def _release_candidates(
    obj: dict[str, Any], formats: list[str], month_first: bool = False
) -> list[tuple[str | None, int | None]]:
    """(ISO date or None, year) from an item's own release fields, most specific first.
    ``dateCreated`` / ``dateModified`` count only when the item has no release field:
    some sites date the database entry with them, not the title."""
    found: list[tuple[str | None, int | None]] = []
    events = obj.get("releasedEvent") or obj.get("releaseEvent") or []
    for event in events if isinstance(events, list) else [events]:
        value = (
            text_of(event.get("startDate") or event.get("datePublished") or event.get("date"))
            if isinstance(event, dict)
            else text_of(event)
        )
        if value:
            found.append((parse_date(value, formats, month_first), parse_year(value)))
    for key in ("startDate", "datePublished", "releaseDate", "copyrightYear"):
        value = text_of(obj.get(key))
        if value:
            found.append((parse_date(value, formats, month_first), parse_year(value)))
    if not found:
        value = text_of(obj.get("dateCreated"))
        if value:
            found.append((parse_date(value, formats, month_first), parse_year(value)))
    return [f for f in found if f[1] is not None]


def _identifier(obj: dict[str, Any]) -> str | None:
    value = obj.get("identifier")
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        value = value.get("value") or value.get("@value") or value.get("name")
    return str(value).strip() if value not in (None, "") else None


class _Page:
    """Everything read from one page once, shared by the field decisions below."""

    def __init__(self, sel: Selector, page_url: str, site: Any) -> None:
        self.sel = sel
        self.url = page_url
        self.site = site
        self.formats = list(site.date_formats) if site is not None else []
        lang = (sel.xpath("/html/@lang").get() or "").lower()
        self.month_first = lang in ("en-us", "en_us") or (
            site is not None and (site.language or "").lower() in ("en-us", "en_us")
        )
        self.ld = jsonld_of(sel)
        self.structured: list[tuple[str, dict[str, Any]]] = (
            [("jsonld", o) for o in self.ld.objects]
            + [("microdata", o) for o in microdata_of(sel)]
            + [("rdfa", o) for o in rdfa_of(sel)]
        )
        self.og = opengraph_of(sel)
        self.heading = markup.main_heading(sel)
        self._facts: markup.Facts | None = None
        site_name = self.og.get("og:site_name")
        self.og_title, self.og_year = markup.clean_title(
            self.og.get("og:title") or self.og.get("twitter:title"), site_name
        )
        self.page_title, self.page_year = markup.clean_title(
            sel.xpath("//title/text()").get(), site_name
        )
        self.heading_title, self.heading_year = markup.clean_title(self.heading)

    @property
    def facts(self) -> markup.Facts:
        if self._facts is None:
            self._facts = markup.facts_of(self.sel)
        return self._facts

    def override(self, name: str) -> list[str]:
        if self.site is None or name not in self.site.fields:
            return []
        return override(self.sel, self.site.fields[name])

    def visible_year(self) -> int | None:
        """The release year the page itself shows next to the title or in its facts."""
        for year in (self.heading_year, self.og_year, self.page_year):
            if year:
                return year
        release = self.fact_release()
        return parse_year(release) if release else None

    def fact_release(self) -> str | None:
        """The page's release fact: a labelled row, else an element classed as a release
        date (``<span class="release">06/04/2021 (US)</span>``)."""
        rows = [self.facts.values.get(label) for label in markup.RELEASE_LABELS]
        rows += [v for k, v in self.facts.values.items() if markup.RELEASE_LABEL.search(k)]
        rows = [row for row in rows if row]
        # A whole date before a season or a year ("Premiered: Fall 2024", "Aired: Oct 3, 2024").
        for row in rows:
            if parse_date(row, self.formats, self.month_first):
                return row
        if rows:
            return rows[0]
        nodes = self.sel.xpath(
            "//*[contains(translate(@class, 'RELAS', 'relas'), 'release')"
            " or contains(translate(@class, 'PREMI', 'premi'), 'premiere')"
            " or contains(@class, 'air-date') or contains(@class, 'airdate')"
            " or contains(@class, 'first-air')]"
        )
        texts = [markup.norm(n.xpath("string()").get()) for n in nodes]
        texts = [t for t in texts if t and len(t) <= 60]
        for text in texts:  # a whole date first, then a year
            if parse_date(text, self.formats, self.month_first):
                return text
        for text in texts:
            if parse_year(text):
                return text
        # A run shown beside a network: "Harbor+ (2019 - 2021)".
        for value in self.facts.values.values():
            match = _RUN.search(value)
            if match:
                return match.group(1)
        return None


def _title_objects(page: _Page) -> list[tuple[str, dict[str, Any]]]:
    return [(m, o) for m, o in page.structured if _is_title_object(o)]


def _main_title_object(page: _Page) -> tuple[str, dict[str, Any]] | None:
    found = _title_objects(page)
    if not found:
        return None
    for method, obj in found:
        if _same_page(obj, page.url):
            return method, obj
    for method, obj in found:
        if _names_match(text_of(obj.get("name")), page.heading_title or page.og_title):
            return method, obj
    return found[0]


def _skip_reason(page: _Page) -> str | None:
    """Why the page is about something that is not a title (from its structured data)."""
    subjects = [o for _, o in page.structured if not _is_title_object(o)]
    for obj in subjects:
        reason = non_title_reason(types_of(obj))
        if reason == "episode":
            return reason
    for obj in subjects:
        reason = non_title_reason(types_of(obj))
        if reason and (
            _same_page(obj, page.url)
            or _names_match(text_of(obj.get("name")), page.heading_title)
            or _names_match(text_of(obj.get("headline")), page.heading_title)
        ):
            return reason
    meaningful = [o for o in subjects if not {t.lower() for t in types_of(o)} <= _SCAFFOLDING]
    reasons = {non_title_reason(types_of(o)) for o in meaningful} - {None, "organization"}
    if len(reasons) == 1:
        return reasons.pop()
    og_reason = non_title_reason([page.og.get("og:type", "")])
    if og_reason in ("episode", "person", "game", "season"):
        return og_reason
    return None


_ARTICLE_TV = re.compile(
    r"\b(?:television|tv|web)\s+(?:series|programme|program|show)\b|\bminiseries\b|\bsitcom\b",
    re.I,
)
_ARTICLE_FILM = re.compile(r"\b(?:film|movie)\b", re.I)


def _article_type_hint(page: _Page) -> str | None:
    """'tv' / 'movie' from how an article describes its subject ("2003 film by ...")."""
    for _, obj in page.structured:
        if non_title_reason(types_of(obj)) != "not_a_title":
            continue
        blurb = " ".join(
            filter(None, [text_of(obj.get("headline")), text_of(obj.get("description"))])
        )
        if _ARTICLE_TV.search(blurb):
            return "tv"
        if _ARTICLE_FILM.search(blurb):
            return "movie"
    return None


def _looks_like_title_page(page: _Page) -> bool:
    """No structured data says so: a heading plus at least two title-describing fact rows
    (release, director, seasons, runtime, genre ...), or the site file's title URLs."""
    if page.site is not None and page.site.title_urls.matches(page.url):
        return bool(page.heading or page.override("title"))
    if page.override("title"):  # the site file's title selector found one
        return True
    if not page.heading:
        return False
    facts = page.facts
    strong = facts.has_any(markup.RELEASE_LABELS) or facts.has_any(
        markup.MOVIE_EVIDENCE + markup.TV_EVIDENCE
    )
    return strong and facts.evidence() >= 2


def _first(*values: Any) -> Any:
    for value in values:
        if value not in (None, "", []):
            return value
    return None


def extract_listing(sel: Selector, page_url: str | None = None, site: Any = None) -> Extraction:
    """The title on a title page, or why the page has none (see :class:`Extraction`)."""
    page_url = page_url or ""
    page = _Page(sel, page_url, site)
    ld = page.ld
    title_objects = _title_objects(page)
    distinct = {(text_of(o.get("name")) or "").lower() for _, o in title_objects}
    main = _main_title_object(page)
    base = dict(jsonld_malformed=ld.malformed, jsonld_repaired=ld.repaired)
    if len(distinct) > 3 and (main is None or not _same_page(main[1], page_url)):
        # Several titles' structured data and none is this page's: a list page.
        return Extraction([], "none", listing_like=True, **base)

    forced = site is not None and site.title_urls.matches(page_url)
    if is_title_subpage(page_url) and not forced:
        # A title's cast, photos or trivia tab: about the title, not its page.
        return Extraction([], "skipped", skipped="title_subpage", **base)

    og_type = title_type_of(page.og.get("og:type"))
    if main is not None:
        method, obj = main
    elif og_type in ("movie", "tv"):
        method, obj = "opengraph", {}
    else:
        reason = _skip_reason(page)
        # An article page (an encyclopedia's, say) may still describe one title.
        if reason and reason != "not_a_title" and not forced:
            return Extraction([], "skipped", skipped=reason, **base)
        if not _looks_like_title_page(page):
            if reason:
                return Extraction([], "skipped", skipped=reason, **base)
            return Extraction([], "none", **base)
        if not forced and markup.episode_marker(page.heading, page.facts):
            return Extraction([], "skipped", skipped="episode", **base)
        method, obj = "html", {}

    others = [o for _, o in title_objects if o is not obj and _names_match(
        text_of(o.get("name")), text_of(obj.get("name")) or page.heading_title
    )]  # fmt: skip
    facts = page.facts
    notes: list[str] = []

    # Title. A structured name may carry the year as the heading does ("Film (2015)").
    name, name_year = markup.split_year_suffix(text_of(obj.get("name")))
    title = _first(
        *page.override("title")[:1],
        name,
        *(markup.split_year_suffix(text_of(o.get("name")))[0] for o in others),
        page.og_title if method == "opengraph" else None,
        page.heading_title,
        page.og_title,
        page.page_title,
    )

    # Type.
    kind = _first(*(title_type_of(v) for v in page.override("title_type")[:1]), _title_type(obj))
    if kind is None:
        kind = og_type if og_type in ("movie", "tv") else None
    if kind is None:
        declared = title_type_of(facts.first(markup.TYPE_LABELS))
        kind = declared if declared in ("movie", "tv") else None
    if kind is None and facts.has_any(markup.TV_EVIDENCE[:8]):
        kind = "tv"
    if kind is None:
        kind = markup.type_hint_of_heading(sel) or _article_type_hint(page)
    if kind is None and facts.has_any(markup.MOVIE_EVIDENCE):
        kind = "movie"
    if kind is None and page_url:
        kind = (
            "tv" if _URL_TV.search(page_url) else "movie" if _URL_MOVIE.search(page_url) else None
        )
    if kind is None and site is not None:
        kind = site.default_title_type

    # Year and release date: the title's own release information before the page's
    # publication or creation dates.
    mf = page.month_first
    candidates = _release_candidates(obj, page.formats, mf)
    for other in others:
        candidates += _release_candidates(other, page.formats, mf)
    if page.og.get("video:release_date"):
        value = page.og["video:release_date"]
        candidates.append((parse_date(value, page.formats, mf), parse_year(value)))
    fact_release = page.fact_release()
    if fact_release:
        candidates.append((parse_date(fact_release, page.formats, mf), parse_year(fact_release)))
    override_date = page.override("release_date")[:1]
    override_year = page.override("year")[:1]
    visible = parse_year(override_year[0]) if override_year else page.visible_year()
    release_date = parse_date(override_date[0], page.formats) if override_date else None
    year = visible
    if release_date is None:
        if visible is not None:
            matching = [d for d, y in candidates if y == visible and d]
            release_date = matching[0] if matching else None
        else:
            dated = [d for d, _ in candidates if d]
            release_date = dated[0] if dated else None
            year = _first(*(y for _, y in candidates))
    if year is None and release_date:
        year = int(release_date[:4])
    if year is None:
        year = name_year

    # Plot: never a generated blurb ("X is a 2015 movie starring ...").
    plot = None
    # Candidates in order, each computed only when the ones before it gave nothing.
    plot_candidates: list[Any] = [
        lambda: page.override("plot")[:1],
        lambda: [text_of(obj.get("description"))],
        lambda: [text_of(o.get("description")) for o in others],
        lambda: [markup.plot_section(sel)],
        lambda: markup.marked_plots(sel),
        lambda: [markup.fact_plot(facts)],
        lambda: [page.og.get("og:description"), page.og.get("description")],
        lambda: [page.og.get("twitter:description")],
    ]
    if method == "html":
        plot_candidates.append(lambda: [markup.longest_paragraph(sel, title)])
    for produce in plot_candidates:
        for candidate in map(markup.clean_plot, produce()):
            if not candidate or len(markup.markup_text(candidate)) < 20:
                continue
            if is_generated_summary(candidate):
                if "plot:generated_summary" not in notes:
                    notes.append("plot:generated_summary")
                continue
            plot = candidate
            break
        if plot is not None:
            break

    if plot is not None:  # a cut-off plot gives way to the whole text the page shows
        plot = markup.clean_plot(markup.completed_teaser(sel, plot)) or plot

    genres: list[str] = []
    for produce in (
        lambda: page.override("genres"),
        lambda: labels_of(obj.get("genre")),
        lambda: next((g for g in (labels_of(o.get("genre")) for o in others) if g), []),
        lambda: facts.list_values(markup.GENRE_LABELS),
        lambda: markup.genre_links(sel),
        lambda: markup.lead_genres(sel) if method == "html" else [],
    ):
        genres = produce()
        if genres:
            break

    language = _first(
        *(language_code(v) for v in page.override("original_language")[:1]),
        language_code(text_of(obj.get("inLanguage"))),
        language_code(facts.first(markup.LANGUAGE_LABELS)),
    )
    url = canonical_url(sel, page_url) if page_url else None
    declared = text_of(obj.get("url"))
    if (
        declared
        and declared.startswith(("http://", "https://"))
        and (not page_url or urlsplit(declared).hostname == urlsplit(page_url).hostname)
    ):
        url = declared.split("#")[0]
    source_title_id = _first(
        *page.override("source_title_id")[:1],
        _identifier(obj),
        facts.first(markup.ID_LABELS),
        id_from_url(text_of(obj.get("url")) if method != "html" and obj.get("url") else None),
        id_from_url(url),
    )
    record = {
        "source_title_id": source_title_id,
        "url": url,
        "title": title,
        "year": year,
        "title_type": kind,
        "plot": plot,
        "genres": list(genres),
        "original_language": language,
        "release_date": release_date,
    }
    missing = [f for f in COUNTED_FIELDS if record.get(f) in (None, "", [])]
    embedded = reviews_from_objects(
        [obj, *others] if obj else [], source_title_id, site, nested_only=True
    )
    embedded += reviews_from_objects(
        [o for _, o in page.structured if not _is_title_object(o)], source_title_id, site
    )
    return Extraction([record], method, missing=missing, notes=notes, reviews=embedded, **base)
