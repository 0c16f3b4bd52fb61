"""Small readers shared by the title and review extractors."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from parsel import Selector

# Trailing path segments that name a tab of a page, not the thing itself.
# Sub-pages of a title (its cast, photos, trivia ...): about the title, not the title page.
TAB_SEGMENTS = frozenset(
    {
        "fullcredits", "credits", "cast", "crew", "full-cast", "cast-crew", "cast-and-crew",
        "episodes", "episode-guide", "episodeguide", "photos", "photogallery", "mediaindex",
        "media", "images", "videos", "videogallery", "trailers", "trivia", "quotes", "goofs",
        "awards", "releaseinfo", "release-dates", "releases", "technical", "locations",
        "taglines", "keywords", "parentalguide", "soundtrack", "seasons", "where-to-watch",
        "news", "plotsummary", "companycredits", "faq", "alternateversions", "crazycredits",
        "movieconnections", "externalreviews", "externalsites", "ratings", "lists", "likes",
        "fans", "members", "watchers", "similar", "recommendations", "changes", "translations",
    }
)  # fmt: skip
# A title's reviews pages: the review spider reads them; they are not the title's page.
REVIEW_SEGMENTS = frozenset(
    {
        "reviews", "review", "user-reviews", "userreviews", "critic-reviews", "critics",
        "criticreviews", "critic_reviews", "user_reviews", "usercomments", "user-comments",
        "comments",
    }
)  # fmt: skip
_GENERIC_SEGMENTS = TAB_SEGMENTS | REVIEW_SEGMENTS | frozenset(
    {
        "main", "details", "overview", "index", "index.html", "info", "summary", "plot",
        "synopsis", "about", "page", "amp", "activity", "by", "combined", "maindetails",
        "reference",
    }
)  # fmt: skip


_SUBPAGE_SEGMENTS = TAB_SEGMENTS | REVIEW_SEGMENTS


def is_title_subpage(url: str | None) -> bool:
    """True for a title's tab page ("/title/tt0133093/fullcredits", ".../photos") or
    one of its reviews pages (".../criticreviews")."""
    if not url:
        return False
    segments = [s for s in urlsplit(url).path.lower().split("/") if s]
    return len(segments) >= 2 and segments[-1] in _SUBPAGE_SEGMENTS


_SCRIPT = re.compile(r"\.(?:php|aspx?|jsp|cgi|pl)$", re.I)


@dataclass
class Extraction:
    """What one page gave.

    ``method`` is how the records were read: ``jsonld``, ``microdata``, ``rdfa``,
    ``opengraph``, ``html``, ``none`` (nothing usable) or ``skipped`` (the page is about
    something that is not a title; ``skipped`` names it: episode, season, person,
    organization, game, not_a_title). ``missing`` names the fields the record lacks;
    ``notes`` say why a value was refused (``plot:generated_summary``).
    """

    records: list[dict[str, Any]]
    method: str
    jsonld_malformed: int = 0
    jsonld_repaired: int = 0
    skipped: str | None = None
    missing: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    reviews: list[dict[str, Any]] = field(default_factory=list)
    listing_like: bool = False  # several titles' structured data: a list page


def text_of(value: Any) -> str | None:
    """A schema.org text-ish value (string, number, {"name": ...}, or list) as a string."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, list):
        for entry in value:
            found = text_of(entry)
            if found:
                return found
        return None
    if isinstance(value, dict):
        for key in ("name", "@value", "value", "alternateName", "text", "@id", "url"):
            if key in value:
                return text_of(value[key])
        return None
    text = str(value).strip()
    return text or None


def labels_of(value: Any) -> list[str]:
    """A list-ish schema.org value (["Drama", "Crime"], "Drama, Crime", [{name}]) as labels."""
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    out: list[str] = []
    for item in items:
        text = text_of(item)
        if not text:
            continue
        parts = (
            re.split(r"\s*[,|]\s*", text) if isinstance(item, str) and len(items) == 1 else [text]
        )
        for part in parts:
            part = part.strip()
            if part and part not in out:
                out.append(part)
    return out


def id_from_url(url: str | None) -> str | None:
    """A page's id from its URL: the last path segment that is not a tab name
    ("/title/tt0133093/reviews" -> "tt0133093"), or an id-like query parameter of a
    script URL ("/title.php?id=42" -> "42")."""
    if not url:
        return None
    parts = urlsplit(url)
    segments = [s for s in parts.path.split("/") if s]
    if segments and _SCRIPT.search(segments[-1]):
        for key, value in parse_qsl(parts.query):
            if key.lower() in ("id", "tid", "mid", "title", "film", "movie", "show", "series"):
                return value
    while segments and segments[-1].lower() in _GENERIC_SEGMENTS:
        segments.pop()
    if len(segments) > 1 and re.fullmatch(r"\d{1,3}", segments[-1]) and segments[-2] == "page":
        segments = segments[:-2]
    # "/anime/57181/Ao_no_Hako": the number is the id, the name after it a changeable slug.
    if len(segments) > 1 and _NUMERIC_ID.fullmatch(segments[-2]) and not segments[-1].isdigit():
        return segments[-2]
    return segments[-1] if segments else None


_NUMERIC_ID = re.compile(r"(?!(?:18|19|20)\d\d$)\d{2,12}")


def canonical_url(sel: Selector | None, page_url: str) -> str:
    """The page's own URL without tracking: ``<link rel=canonical>`` on the same host,
    else the fetched URL without its query (kept for script URLs such as ``?id=``)."""
    host = urlsplit(page_url).hostname
    if sel is not None:
        for href in sel.xpath('//link[@rel="canonical"]/@href').getall():
            href = href.strip()
            if href.startswith(("http://", "https://")) and urlsplit(href).hostname == host:
                return href.split("#")[0]
    parts = urlsplit(page_url.split("#")[0])
    if parts.query and _SCRIPT.search(parts.path):
        kept = [
            f"{k}={v}"
            for k, v in parse_qsl(parts.query)
            if not k.lower().startswith(("utm_", "ref", "fbclid", "gclid"))
        ]
        return f"{parts.scheme}://{parts.netloc}{parts.path}" + (
            f"?{'&'.join(kept)}" if kept else ""
        )
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def override(sel: Selector, spec: Any) -> list[str]:
    """Values a site file's CSS/XPath selector gives (text, or an attribute)."""
    if spec is None:
        return []
    nodes = sel.css(spec.css) if spec.css else sel.xpath(spec.xpath)
    values = []
    for node in nodes:
        if isinstance(node.root, str):  # ::text / @attr selections
            value = node.root
        elif spec.attr:
            value = node.attrib.get(spec.attr, "")
        else:
            value = "".join(node.xpath("node()").getall())
        value = value.strip()
        if value:
            values.append(value)
    return values
