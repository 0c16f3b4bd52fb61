"""Structured data on a page, in one shape: JSON-LD, microdata, RDFa and OpenGraph.

Microdata and RDFa items are read into the same dicts JSON-LD gives (``@type`` plus
properties, nested items as nested dicts), so one reader turns any of them into a
listing or a review.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from parsel import Selector

_TRAILING_COMMA = re.compile(r",\s*([}\]])")
_WRAPPERS = re.compile(
    r"^\s*(?:/\*\s*)?(?:<!\[CDATA\[|<!--)(?:\s*\*/)?|(?:/\*\s*)?(?:\]\]>|-->)(?:\s*\*/)?\s*$"
)
_LINE_COMMENT = re.compile(r"^\s*//.*$", re.M)
_BLOCK_COMMENT = re.compile(r"/\*.*?\*/", re.S)
# Properties whose values are followed into when looking for the page's main items
# (not ``about``: a news story about a film is not the film's page).
_CONTAINERS = ("@graph", "mainEntity")


@dataclass
class JsonLd:
    """The JSON-LD objects on a page, and how many blocks were broken or repaired."""

    objects: list[dict[str, Any]] = field(default_factory=list)
    malformed: int = 0
    repaired: int = 0

    def of_type(self, *types: str) -> list[dict[str, Any]]:
        wanted = {t.lower() for t in types}
        return [o for o in self.objects if wanted & {t.lower() for t in types_of(o)}]


def types_of(obj: Any) -> list[str]:
    """An item's types, bare ("Movie" from "https://schema.org/Movie" or "schema:Movie")."""
    if not isinstance(obj, dict):
        return []
    value = obj.get("@type", obj.get("type", []))
    values = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    out = []
    for v in values:
        if isinstance(v, str) and v.strip():
            out.append(re.split(r"[/#:]", v.strip())[-1])
    return out


def _strip_wrappers(text: str) -> str:
    text = text.strip()
    for _ in range(3):
        stripped = _WRAPPERS.sub("", text).strip()
        if stripped == text:
            break
        text = stripped
    return text


def loads_lenient(text: str) -> tuple[Any, bool]:
    """Parse a JSON-LD block; returns (data, repaired). Raises ValueError if hopeless.

    Handles CDATA and HTML-comment wrappers (also inside ``/* */``), JS comments,
    trailing commas, raw control characters, HTML-escaped blocks and several objects
    one after another."""
    text = _strip_wrappers(text)
    try:
        return json.loads(text), False
    except ValueError:
        pass
    candidates = [text]
    uncommented = _LINE_COMMENT.sub("", _BLOCK_COMMENT.sub("", text)).strip()
    candidates.append(uncommented)
    if "&quot;" in text or "&#34;" in text:
        candidates.append(html.unescape(uncommented))
    for candidate in candidates:
        fixed = _TRAILING_COMMA.sub(r"\1", candidate).rstrip().rstrip(";")
        try:
            return json.loads(fixed, strict=False), True
        except ValueError:
            pass
        # Several objects in one block ("{...}{...}" or one per line).
        decoder = json.JSONDecoder(strict=False)
        objects, index = [], 0
        try:
            while index < len(fixed):
                while index < len(fixed) and fixed[index] in " \t\r\n,;":
                    index += 1
                if index >= len(fixed):
                    break
                obj, index = decoder.raw_decode(fixed, index)
                objects.append(obj)
        except ValueError:
            continue
        if objects:
            return objects, True
    raise ValueError("not JSON")


def _unescape_strings(data: Any) -> Any:
    """HTML entities inside JSON strings ("Tom &amp; Jerry") as text."""
    if isinstance(data, str):
        return html.unescape(data) if "&" in data else data
    if isinstance(data, list):
        return [_unescape_strings(v) for v in data]
    if isinstance(data, dict):
        return {k: _unescape_strings(v) for k, v in data.items()}
    return data


def flatten(data: Any, depth: int = 0) -> Iterator[dict[str, Any]]:
    """Typed objects at the top of JSON-LD data, in ``@graph`` and under ``mainEntity``."""
    if depth > 4:
        return
    if isinstance(data, list):
        for entry in data:
            yield from flatten(entry, depth + 1)
    elif isinstance(data, dict):
        if types_of(data):
            yield data
        for key in _CONTAINERS:
            if key in data and isinstance(data[key], (dict, list)):
                yield from flatten(data[key], depth + 1)


def parse_jsonld(blocks: Iterable[str]) -> JsonLd:
    """Parse raw ``<script type="application/ld+json">`` texts, tolerating broken ones."""
    result = JsonLd()
    seen: set[int] = set()
    for block in blocks:
        if not block or not block.strip():
            continue
        try:
            data, repaired = loads_lenient(block)
        except ValueError:
            result.malformed += 1
            continue
        result.repaired += int(repaired)
        for obj in flatten(_unescape_strings(data)):
            if id(obj) not in seen:
                seen.add(id(obj))
                result.objects.append(obj)
    return result


def jsonld_of(sel: Selector) -> JsonLd:
    return parse_jsonld(
        sel.xpath(
            '//script[translate(@type, "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")'
            '="application/ld+json"]/text()'
        ).getall()
    )


# -- microdata and RDFa --------------------------------------------------------------


# Elements that start a new line when shown (and <br>): words on either side of one
# are separate words, so their text is joined with a space, not run together.
_BLOCKS = frozenset(
    """
    address article aside blockquote br dd details dialog div dl dt fieldset figcaption
    figure footer form h1 h2 h3 h4 h5 h6 header hgroup hr li main nav ol p pre section
    summary table tbody td tfoot th thead tr ul
    """.split()  # noqa: SIM905 (a list of words reads best as words)
)
_NOT_SHOWN = frozenset(("script", "style", "template"))

# schema.org property names, for matching an ``itemprop`` written in another case
# (``reviewbody``, ``Name``) to the name readers look up. Names not here stay as written.
_PROPERTIES = {
    name.lower(): name
    for name in """
    about acquireLicensePage actor actors aggregateRating alternateName alternativeHeadline
    author award bestRating birthDate character contentRating contentUrl copyrightYear
    countryOfOrigin creator dateCreated dateModified datePublished deathDate description
    director directors duration embedUrl endDate episode episodeNumber episodes familyName
    genre givenName hasPart headline identifier image inLanguage isPartOf item itemListElement
    itemReviewed jobTitle keywords logo mainEntity mainEntityOfPage musicBy name
    numberOfEpisodes numberOfItems numberOfSeasons partOfEpisode partOfSeason partOfSeries
    position producer productionCompany publisher ratingCount ratingExplanation ratingValue
    releaseDate releasedEvent review reviewAspect reviewBody reviewCount reviewRating reviews
    sameAs season seasonNumber seasons startDate text thumbnailUrl timeRequired
    titleEIDR trailer translator uploadDate url video worstRating
    """.split()  # noqa: SIM905 (as above)
}


def _property_name(name: str) -> str:
    """A property's bare name (``reviewBody`` from ``http://schema.org/reviewBody``), in
    schema.org's own case: pages write ``reviewbody`` and readers look up ``reviewBody``."""
    name = re.split(r"[/#:]", name)[-1]
    return _PROPERTIES.get(name.lower(), name)


def _shown_text(node: Selector) -> str:
    """An element's text as a reader sees it: block elements and ``<br>`` separate words
    (``<h1>Ao no Hako</h1><br><p>Blue Box</p>`` is "Ao no Hako Blue Box", not
    "Ao no HakoBlue Box"), inline ones do not; scripts and comments are not text; runs of
    whitespace are one space. Walks with a stack, not recursion: pages nest deeply."""
    root = node.root
    parts: list[str] = []
    stack = [(root, False)]
    while stack:
        element, closing = stack.pop()
        tag = element.tag.lower() if isinstance(element.tag, str) else ""  # "" for comments
        if tag in _BLOCKS:
            parts.append(" ")
        if closing:
            if element is not root and element.tail:
                parts.append(element.tail)
            continue
        stack.append((element, True))
        if tag and tag not in _NOT_SHOWN:
            parts.append(element.text or "")
            stack.extend((child, False) for child in reversed(element))
    return " ".join("".join(parts).split())


def _node_value(node: Selector, nested: dict[str, Any] | None) -> Any:
    if nested is not None:
        return nested
    attrib = node.attrib
    for name in ("content", "datetime", "value"):
        if name in attrib:
            return attrib[name]
    tag = node.xpath("name()").get("").lower()
    if tag in ("a", "link", "area") and "href" in attrib:
        return attrib["href"]
    if tag in ("img", "audio", "video", "source", "embed", "iframe") and "src" in attrib:
        return attrib["src"]
    if tag == "meta":
        return attrib.get("content")
    return _shown_text(node) or None


def _items(sel: Selector, scope_attr: str, type_attr: str, prop_attr: str) -> list[dict[str, Any]]:
    """Top-level items of one syntax (microdata: itemscope/itemtype/itemprop; RDFa Lite:
    typeof/typeof/property), nested items as nested dicts.

    A top-level item is a scope that is no property: also one inside another item (pages
    wrap their Movie item in another Movie item), which then keeps its own properties and
    not the inner item's. Items that state nothing but their type (such wrappers) come
    after those that state something, so a reader taking the first gets the content."""

    def read(item: Selector, level: int) -> dict[str, Any]:
        obj: dict[str, Any] = {}
        types = (item.attrib.get(type_attr) or "").split()
        if types:
            obj["@type"] = types if len(types) > 1 else types[0]
        # Properties whose nearest scope is this item: their count of scoped ancestors
        # equals this item's count of scoped ancestors-or-self.
        props = item.xpath(f".//*[@{prop_attr}][count(ancestor::*[@{scope_attr}]) = {level}]")
        for prop in props:
            nested = (
                read(prop, level + 1)
                if scope_attr in prop.attrib and prop.attrib.get(type_attr) is not None
                else None
            )
            value = _node_value(prop, nested)
            if value in (None, ""):
                continue
            for name in (prop.attrib.get(prop_attr) or "").split():
                name = _property_name(name)
                if name in obj:
                    existing = obj[name]
                    obj[name] = (existing if isinstance(existing, list) else [existing]) + [value]
                else:
                    obj[name] = value
        return obj

    out = []
    for item in sel.xpath(
        f"//*[@{scope_attr}][not(@{prop_attr}) or not(ancestor::*[@{scope_attr}])]"
    ):
        if item.attrib.get(type_attr) is None:
            continue
        level = int(float(item.xpath(f"count(ancestor-or-self::*[@{scope_attr}])").get()))
        out.append(read(item, level))
    out.sort(key=lambda obj: len(obj) <= 1)  # stable: document order otherwise
    return out


def microdata_of(sel: Selector) -> list[dict[str, Any]]:
    return _items(sel, "itemscope", "itemtype", "itemprop")


def rdfa_of(sel: Selector) -> list[dict[str, Any]]:
    return _items(sel, "typeof", "typeof", "property")


def opengraph_of(sel: Selector) -> dict[str, str]:
    """``og:*``, ``video:*``, ``twitter:*`` and the plain ``description`` meta tags."""
    meta: dict[str, str] = {}
    for node in sel.xpath("//meta[@content]"):
        key = (node.attrib.get("property") or node.attrib.get("name") or "").strip().lower()
        if not key:
            continue
        if key.startswith(("og:", "video:", "twitter:")) or key in ("description", "title"):
            meta.setdefault(key, node.attrib["content"].strip())
    return meta
