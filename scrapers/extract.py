"""Pure extraction: schema.org JSON-LD first, CSS/XPath fallback second.

Everything here takes a ``parsel.Selector`` (a Scrapy response is one) and returns
plain dicts, so it is unit-tested against saved or hand-written pages without a crawl.
The fallback selectors cover both demo markups: reelhub's classed HTML and
filmfolio's facts table and ``<dl>``. Text fields keep their inner HTML; the item
pipeline strips tags and entities, so extraction never loses the evidence.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit

from parsel import Selector

MOVIE_TYPES = frozenset({"movie", "film", "feature film", "tvmovie", "tv movie"})
TV_TYPES = frozenset({"tvseries", "tv series", "series", "tv", "tvshow", "tv show", "miniseries"})
LANGUAGE_CODES = {
    "english": "en",
    "french": "fr",
    "spanish": "es",
    "japanese": "ja",
    "korean": "ko",
    "german": "de",
    "hindi": "hi",
    "italian": "it",
    "portuguese": "pt",
    "chinese": "zh",
}
_TRAILING_COMMA = re.compile(r",\s*([}\]])")


@dataclass
class JsonLd:
    """The JSON-LD objects on a page, and how many blocks were broken or repaired."""

    objects: list[dict[str, Any]] = field(default_factory=list)
    malformed: int = 0
    repaired: int = 0

    def of_type(self, *types: str) -> list[dict[str, Any]]:
        wanted = {t.lower() for t in types}
        return [o for o in self.objects if wanted & {t.lower() for t in _types(o)}]


@dataclass
class Extraction:
    """Records found on a page plus how: ``method`` is ``jsonld``, ``html`` or ``none``."""

    records: list[dict[str, Any]]
    method: str
    jsonld_malformed: int = 0
    jsonld_repaired: int = 0


@dataclass(frozen=True)
class ListingLinks:
    titles: list[str]
    next_page: str | None


def _types(obj: dict[str, Any]) -> list[str]:
    value = obj.get("@type", [])
    return [value] if isinstance(value, str) else [v for v in value if isinstance(v, str)]


def _loads_lenient(text: str) -> tuple[Any, bool]:
    """Parse a JSON-LD block; returns (data, repaired). Raises ValueError if hopeless."""
    text = text.strip()
    for wrapper in ("<!--", "-->", "//<![CDATA[", "//]]>", "<![CDATA[", "]]>"):
        text = text.replace(wrapper, "")
    try:
        return json.loads(text), False
    except ValueError:
        pass
    # The two breakages seen most in the wild: trailing commas and raw control chars.
    return json.loads(_TRAILING_COMMA.sub(r"\1", text), strict=False), True


def _flatten(data: Any) -> Iterator[dict[str, Any]]:
    if isinstance(data, list):
        for entry in data:
            yield from _flatten(entry)
    elif isinstance(data, dict):
        if "@graph" in data:
            yield from _flatten(data["@graph"])
        if "@type" in data:
            yield data


def parse_jsonld(blocks: Iterable[str]) -> JsonLd:
    """Parse raw ``<script type="application/ld+json">`` texts, tolerating broken ones."""
    result = JsonLd()
    for block in blocks:
        if not block or not block.strip():
            continue
        try:
            data, repaired = _loads_lenient(block)
        except ValueError:
            result.malformed += 1
            continue
        result.repaired += int(repaired)
        result.objects.extend(_flatten(data))
    return result


def jsonld_of(sel: Selector) -> JsonLd:
    return parse_jsonld(sel.xpath('//script[@type="application/ld+json"]/text()').getall())


def _text(value: Any) -> str | None:
    """A schema.org text-ish value (string, number, {"name": ...}, or list) as a string."""
    if value is None:
        return None
    if isinstance(value, list):
        return _text(value[0]) if value else None
    if isinstance(value, dict):
        for key in ("name", "@value", "value", "alternateName"):
            if key in value:
                return _text(value[key])
        return None
    return str(value)


def _labels(value: Any) -> list[str]:
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    return [t for t in (_text(v) for v in items) if t]


def parse_date(value: str | None) -> str | None:
    """ISO date string from ISO, dd/mm/yyyy or 'March 23, 2025' forms; None if unknown."""
    if not value:
        return None
    value = value.strip()
    try:
        return date.fromisoformat(value[:10]).isoformat()
    except ValueError:
        pass
    for fmt in ("%d/%m/%Y", "%B %d, %Y", "%d %b %Y", "%b %d, %Y", "%Y"):
        try:
            return datetime.strptime(value, fmt).date().isoformat()
        except ValueError:
            continue
    return None


def parse_year(value: str | int | None) -> int | None:
    if value is None:
        return None
    match = re.search(r"\b(\d{4})\b", str(value))
    return int(match.group(1)) if match else None


def title_type_of(value: str | None) -> str | None:
    """'movie' or 'tv' from a schema.org @type or a site's wording; the raw text otherwise."""
    if value is None:
        return None
    key = " ".join(value.lower().split())
    if key in MOVIE_TYPES:
        return "movie"
    if key in TV_TYPES:
        return "tv"
    return key


def language_code(value: str | None) -> str | None:
    if not value:
        return None
    key = value.strip().lower()
    if len(key) == 2 and key.isalpha():
        return key
    if re.fullmatch(r"[a-z]{2}-[a-z]{2,4}", key):
        return key[:2]
    return LANGUAGE_CODES.get(key)


def parse_rating(value: Any, best: Any = None) -> float | int | str | None:
    """A rating on the 1-10 scale. Numbers are rescaled from ``best``; junk is passed on
    unchanged so the pipeline can drop it with a reason instead of it vanishing here."""
    if value is None or value == "":
        return None
    raw = value
    if isinstance(value, str):
        match = re.search(r"-?\d+(?:\.\d+)?", value)
        if not match:
            return value
        raw = match.group(0)
    try:
        number = float(raw)
    except (TypeError, ValueError):
        return str(value)
    try:
        scale = float(best) if best not in (None, "") else 10.0
    except (TypeError, ValueError):
        scale = 10.0
    if scale > 0 and scale != 10.0:
        number = number * 10.0 / scale
    return int(number) if number.is_integer() else number


def _id_from_url(url: str | None) -> str | None:
    if not url:
        return None
    segments = [s for s in urlsplit(url).path.split("/") if s]
    return segments[-1] if segments else None


def _inner_html(nodes: Selector | Any) -> str | None:
    """Inner HTML of the first matched element (tags and entities kept for the pipeline)."""
    if not nodes:
        return None
    inner = "".join(nodes[0].xpath("node()").getall()).strip()
    return inner or None


def _joined_text(nodes: Any) -> str | None:
    text = "".join(nodes.xpath(".//text()").getall()) if nodes else ""
    return text if text.strip() else None


def listing_from_jsonld(obj: dict[str, Any], page_url: str | None = None) -> dict[str, Any]:
    """A listing record from a schema.org ``Movie`` / ``TVSeries`` object."""
    types = _types(obj)
    url = _text(obj.get("url")) or _text(obj.get("@id")) or page_url
    release = parse_date(_text(obj.get("datePublished")) or _text(obj.get("startDate")))
    return {
        "source_title_id": _text(obj.get("identifier")) or _id_from_url(url),
        "url": url,
        "title": _text(obj.get("name")),
        "year": parse_year(release) or parse_year(_text(obj.get("copyrightYear"))),
        "title_type": title_type_of(types[0]) if types else None,
        "plot": _text(obj.get("description")),
        "genres": _labels(obj.get("genre")),
        "original_language": language_code(_text(obj.get("inLanguage"))),
        "release_date": release,
    }


def _definition_pairs(sel: Selector, rows: str, key: str, value: str) -> dict[str, Any]:
    """Label -> value node from a facts table (th/td) or a definition list (dt/dd)."""
    pairs: dict[str, Any] = {}
    for row in sel.css(rows):
        label = " ".join(row.xpath(key).xpath("string()").get("").split()).lower()
        node = row.xpath(value)
        if label and node:
            pairs[label] = node
    return pairs


def listing_from_html(sel: Selector, page_url: str | None = None) -> dict[str, Any] | None:
    """A listing record from visible markup (reelhub classes or filmfolio table/dl)."""
    if sel.css("article.title-detail"):
        art = sel.css("article.title-detail")
        release = parse_date(art.css("time.release-date::attr(datetime)").get())
        return {
            "source_title_id": art.attrib.get("data-id") or _id_from_url(page_url),
            "url": page_url,
            "title": _joined_text(art.css(".title-name")),
            "year": parse_year(art.css(".title-year::text").get()) or parse_year(release),
            "title_type": title_type_of(art.css(".title-type::text").get()),
            "plot": _inner_html(art.css(".synopsis:not(.missing)")),
            "genres": [g.strip() for g in art.css(".genres .genre::text").getall() if g.strip()],
            "original_language": language_code(art.css(".title-language::text").get()),
            "release_date": release,
        }
    if sel.css("table.facts"):
        facts = _definition_pairs(sel, "table.facts tr", "th", "td")
        info = {}
        for dt in sel.css("dl.info dt"):
            label = " ".join(dt.xpath("string()").get("").split()).lower()
            dd = dt.xpath("following-sibling::dd[1]")
            if label and dd:
                info[label] = dd

        def fact(name: str) -> str | None:
            node = facts.get(name)
            if not node:
                return None
            return " ".join(node.xpath("string()").get("").split()) or None

        genres = info["genres"].xpath("string()").get("") if "genres" in info else ""
        release = parse_date(fact("released"))
        return {
            "source_title_id": fact("film id") or _id_from_url(page_url),
            "url": page_url,
            "title": _joined_text(sel.css("#film-title")),
            "year": parse_year(fact("year")) or parse_year(release),
            "title_type": title_type_of(fact("kind")),
            "plot": _inner_html(info["synopsis"]) if "synopsis" in info else None,
            "genres": [g.strip() for g in genres.split(",") if g.strip()],
            "original_language": language_code(fact("language")),
            "release_date": release,
        }
    return None


def extract_listing(sel: Selector, page_url: str | None = None) -> Extraction:
    """The title on a title page: JSON-LD if usable, HTML fallback, gaps filled from HTML."""
    ld = jsonld_of(sel)
    found = ld.of_type("Movie", "TVSeries", "TVMovie")
    fallback = listing_from_html(sel, page_url)
    if found:
        record = listing_from_jsonld(found[0], page_url)
        if fallback:
            for key, value in fallback.items():
                if record.get(key) in (None, "", []) and value not in (None, "", []):
                    record[key] = value
        return Extraction([record], "jsonld", ld.malformed, ld.repaired)
    if fallback and fallback.get("title"):
        return Extraction([fallback], "html", ld.malformed, ld.repaired)
    return Extraction([], "none", ld.malformed, ld.repaired)


def review_from_jsonld(obj: dict[str, Any], title_id: str | None = None) -> dict[str, Any]:
    item = obj.get("itemReviewed")
    item_id = None
    if isinstance(item, dict):
        item_id = _text(item.get("identifier")) or _id_from_url(_text(item.get("url")))
    rating = obj.get("reviewRating")
    value = best = None
    if isinstance(rating, dict):
        value, best = rating.get("ratingValue"), rating.get("bestRating")
    elif rating is not None:
        value = rating
    return {
        "source_review_id": _text(obj.get("identifier")) or _id_from_url(_text(obj.get("@id"))),
        "source_title_id": item_id or title_id,
        "author": _text(obj.get("author")),
        "rating": parse_rating(value, best),
        "review_date": parse_date(_text(obj.get("datePublished"))),
        "text": _text(obj.get("reviewBody")) or _text(obj.get("description")),
    }


def reviews_from_html(sel: Selector, title_id: str | None = None) -> list[dict[str, Any]]:
    """Reviews from visible markup (reelhub ``article.review`` or filmfolio ``div.rev``)."""
    records = []
    section_id = sel.css("section.reviews::attr(data-title-id)").get()
    for art in sel.css("article.review"):
        records.append(
            {
                "source_review_id": art.attrib.get("data-review-id"),
                "source_title_id": section_id or title_id,
                "author": _joined_text(art.css(".review-author")),
                "rating": parse_rating(art.css(".review-rating::attr(data-rating)").get()),
                "review_date": parse_date(art.css("time.review-date::attr(datetime)").get()),
                "text": _inner_html(art.css(".review-body")),
            }
        )
    film_id = sel.css("#reviews::attr(data-film)").get()
    for rev in sel.css("#reviews div.rev"):
        facts = {}
        for dt in rev.css("dl dt"):
            label = " ".join(dt.xpath("string()").get("").split()).lower()
            facts[label] = " ".join(
                dt.xpath("following-sibling::dd[1]").xpath("string()").get("").split()
            )
        score = facts.get("score", "")
        records.append(
            {
                "source_review_id": rev.attrib.get("id"),
                "source_title_id": film_id or title_id,
                "author": facts.get("by") or None,
                "rating": parse_rating(score.split("/")[0]) if re.search(r"\d", score) else None,
                "review_date": parse_date(facts.get("date")),
                "text": _inner_html(rev.css("blockquote")),
            }
        )
    return records


def extract_reviews(sel: Selector, title_id: str | None = None) -> Extraction:
    """Reviews on a review page: JSON-LD ``Review`` objects if usable, else HTML."""
    ld = jsonld_of(sel)
    found = ld.of_type("Review")
    if found:
        records = [review_from_jsonld(o, title_id) for o in found]
        return Extraction(records, "jsonld", ld.malformed, ld.repaired)
    records = reviews_from_html(sel, title_id)
    return Extraction(records, "html" if records else "none", ld.malformed, ld.repaired)


def listing_links(sel: Selector) -> ListingLinks:
    """Title links and the next-page link on a listing page (either markup)."""
    titles = sel.css("a.title-link::attr(href), table.catalog td.film a::attr(href)").getall()
    next_page = sel.css('a[rel~="next"]::attr(href)').get()
    return ListingLinks(titles=titles, next_page=next_page)


def reviews_link(sel: Selector) -> str | None:
    """Where a title page links to its first page of reviews, if it has any."""
    return sel.css("a.reviews-link::attr(href), a.more::attr(href)").get()


def next_page_link(sel: Selector) -> str | None:
    return sel.css('a[rel~="next"]::attr(href)').get()
