"""Reviews on a page: schema.org ``Review`` items (also nested in the title's data), a
site file's selectors, or repeated review blocks recognised in the markup.

Review dicts carry ``source_review_id`` only when the site gives one; the item pipeline
gives the others a stable id from their content. Ratings are normalised to 1-10 here
(see :func:`scrapers.extract.values.normalize_rating`; a thumbs up/down or fresh/rotten
vote is no rating); text keeps its HTML. A placeholder author ("N/A") is no author.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from parsel import Selector

from scrapers.extract import markup
from scrapers.extract.common import Extraction, id_from_url, override, text_of
from scrapers.extract.structured import jsonld_of, microdata_of, rdfa_of, types_of
from scrapers.extract.values import normalize_rating, parse_date

# Hints are whole words of an element's class, id, test ids, itemprop, slot and custom tag
# name, camelCase and BEM split ("c-siteReview_quote" -> c site review quote), utility
# classes left out ("g-text-medium", "u-text-uppercase").
_RATING_HINT = re.compile(r"\b(?:rating|ratings|score|scores|stars?|grade|rated|tomatometer)\b")
_AUTHOR_HINT = re.compile(
    r"\b(?:author|user|username|byline|reviewer|critic|profile|handle|nickname|display|name)\b"
)
_AUTHOR_STRONG = re.compile(r"\b(?:author|user|username|byline|reviewer|critic|profile|display)\b")
_DATE_HINT = re.compile(r"\b(?:date|time|timestamp|posted|published|duration)\b")
_BODY_HINT = re.compile(
    r"\b(?:body|text|content|comment|quote|blurb|excerpt|description|copy|prose|teaser)\b"
)
_PROFILE_LINK = re.compile(
    r"/(?:u|user|users|profile|profiles|member|members|critic|critics|people|author|authors|"
    r"reviewer|reviewers|accounts?)/[^/?#]+",
    re.I,
)
_UTILITY_CLASS = re.compile(
    r"^(?:[gu]|js|is|has|t|text|bg|color|font|spacing|align|justify|flex|grid|col|row|m[tblrxy]?|"
    r"p[tblrxy]?|d|w|h|fs|fw|sr|visually)-",
    re.I,
)
_CLASS_RATING = re.compile(r"(?:rated|rating|stars?|score)[-_]?(\d{1,3})\b", re.I)
_BARE_FRACTION = re.compile(r"\d{1,3}(?:[.,]\d+)?\s*/\s*\d{1,3}")
_ARIA_RATING = re.compile(r"(\d+(?:[.,]\d+)?)\s*(?:out of|/|of)\s*(\d+)", re.I)
_FOOTER = re.compile(
    r"\b(?:was this (?:review )?helpful|found this helpful|report this|report abuse|"
    r"permalink|\d+ (?:out )?(?:of \d+ )?(?:people|users) found)\b",
    re.I,
)


# What sites print where no author is known: "N/A", "null", "undefined", "-".
_PLACEHOLDER_NAME = re.compile(r"(?:n\.?\s?/?\s?a\.?|nan|nil|null|none|undefined|unknown)", re.I)


def real_name(name: str | None) -> str | None:
    """``name`` unless it is a placeholder a site prints for a missing author ("NA",
    "N/A", "null", "undefined", "-"): a review by nobody in particular has no author."""
    if name is None:
        return None
    text = name.strip()
    if not re.search(r"\w", text) or _PLACEHOLDER_NAME.fullmatch(text):
        return None
    return name


def _is_review(obj: Any) -> bool:
    return any(t.lower().endswith("review") for t in types_of(obj))


def _rating_scale(site: Any) -> tuple[Any, dict[str, float] | None]:
    if site is None:
        return None, None
    return site.rating.max, site.rating.named or None


def _site_worst(site: Any) -> Any:
    return site.rating.min if site is not None else None


def review_from_object(
    obj: dict[str, Any], title_id: str | None = None, site: Any = None
) -> dict[str, Any]:
    """A review dict from a schema.org ``Review`` item (JSON-LD, microdata or RDFa)."""
    item = obj.get("itemReviewed")
    item_id = None
    if isinstance(item, dict):
        identifier = item.get("identifier")
        item_id = text_of(identifier) if identifier not in (None, "") else None
        item_id = item_id or id_from_url(text_of(item.get("url")) or text_of(item.get("@id")))
    rating = obj.get("reviewRating")
    value = best = worst = None
    if isinstance(rating, dict):
        value, best = rating.get("ratingValue"), rating.get("bestRating")
        worst = rating.get("worstRating")
    elif rating not in (None, ""):
        value = rating
    site_best, named = _rating_scale(site)
    formats = list(site.date_formats) if site is not None else []
    identifier = obj.get("identifier")
    return {
        "source_review_id": text_of(identifier) if identifier not in (None, "") else None,
        "source_title_id": item_id or title_id,
        "author": real_name(text_of(obj.get("author"))) or real_name(text_of(obj.get("creator"))),
        "rating": normalize_rating(
            value, best or site_best, named, worst=worst if worst is not None else _site_worst(site)
        ),
        "review_date": parse_date(
            text_of(obj.get("datePublished")) or text_of(obj.get("dateCreated")), formats
        ),
        "text": text_of(obj.get("reviewBody"))
        or text_of(obj.get("description"))
        or text_of(obj.get("text"))
        or text_of(obj.get("name")),
        "_ref": text_of(obj.get("@id")) or text_of(obj.get("url")),
    }


def reviews_from_objects(
    objects: list[dict[str, Any]],
    title_id: str | None = None,
    site: Any = None,
    nested_only: bool = False,
) -> list[dict[str, Any]]:
    """Reviews among ``objects`` and nested in their ``review`` / ``reviews`` properties."""
    found: list[dict[str, Any]] = []
    for obj in objects:
        if not isinstance(obj, dict):
            continue
        if _is_review(obj) and not nested_only:
            found.append(review_from_object(obj, title_id, site))
        for key in ("review", "reviews"):
            nested = obj.get(key)
            for entry in nested if isinstance(nested, list) else [nested]:
                if isinstance(entry, dict) and (_is_review(entry) or "reviewBody" in entry):
                    found.append(review_from_object(entry, title_id, site))
    return _finish(found)


def _finish(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Use an item's ``@id`` / ``url`` as its id only when it tells the reviews apart."""
    refs = Counter(r.get("_ref") for r in records if r.get("_ref"))
    out = []
    for record in records:
        ref = record.pop("_ref", None)
        if not record.get("source_review_id") and ref and refs[ref] == 1 and "#" in ref:
            record["source_review_id"] = ref.rsplit("#", 1)[-1] or None
        out.append(record)  # one without text is dropped downstream, with its reason
    return out


# -- review blocks in plain markup ------------------------------------------------------


def _attr_blob(node: Selector) -> str:
    """The words an element's names say (see the hints above), lower case."""
    words: list[str] = []
    tag = node.xpath("name()").get("") or ""
    if "-" in tag:  # a custom element: <review-card-audience>, <rating-stars-group>
        words.append(tag)
    a = node.attrib
    for key in ("class", "id", "data-testid", "itemprop", "data-qa", "slot"):
        for token in (a.get(key) or "").split():
            if key == "class" and _UTILITY_CLASS.match(token):
                continue
            words.append(token)
    text = " ".join(words)
    text = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", text)
    return re.sub(r"[_\-]+", " ", text).lower()


def _text(node: Selector) -> str:
    return markup.norm(node.xpath("string()").get())


def _tag(node: Selector) -> str:
    tag = node.root.tag
    return tag if isinstance(tag, str) else ""  # "" for a comment


_ICON_FULL = re.compile(r"\b(?:filled|full|on|active|checked|selected)\b")
_ICON_HALF = re.compile(r"\bhalf\b")
_ICON_EMPTY = re.compile(r"\b(?:empty|off|outline|inactive|unfilled|blank)\b")


def _star_icons(block: Selector) -> tuple[float, int] | None:
    """(score, scale) from a row of star icons: filled, half and empty children."""
    for container in block.xpath(".//*[count(*) >= 3]"):
        children = container.xpath("./*")
        kinds = []
        for child in children:
            words = _attr_blob(child)
            if _ICON_HALF.search(words):
                kinds.append(0.5)
            elif _ICON_EMPTY.search(words):
                kinds.append(0.0)
            elif _ICON_FULL.search(words):
                kinds.append(1.0)
            else:
                break
        else:
            if len(kinds) == len(children) and 3 <= len(kinds) <= 10:
                return sum(kinds), len(kinds)
    return None


def _rating_in(block: Selector, site: Any) -> tuple[float | str | None, float | None]:
    """(rating on 1-10, the bare number read when no scale was stated, else None)."""
    site_best, named = _rating_scale(site)
    worst = _site_worst(site)
    for node in block.xpath(
        ".//*[@data-rating or @data-score or @data-value or @score or @rating][not(self::input)]"
    ):
        for key in ("data-rating", "data-score", "data-value", "score", "rating"):
            value = node.attrib.get(key)
            if value not in (None, ""):
                best = node.attrib.get("data-best") or node.attrib.get("data-max") or site_best
                if best is None and re.search(r"\bstars?\b", _attr_blob(node)):
                    best = 5  # a star widget's score="4.5"
                return normalize_rating(value, best, named, worst=worst), None
    # Labels: aria-label="4 out of 5 stars", title="Rating: 3/4"; and an image that stands
    # for the score (alt="9/10") says it with a bare fraction.
    for node in block.xpath(".//*[@aria-label or @title] | .//img[@alt]"):
        a = node.attrib
        label = a.get("aria-label") or a.get("title") or a.get("alt") or ""
        image = _tag(node) == "img"
        if (
            _RATING_HINT.search(label.lower())
            or re.search(r"out of", label, re.I)
            or (image and _BARE_FRACTION.fullmatch(label.strip()))
        ):
            match = _ARIA_RATING.search(label)
            if match:
                return normalize_rating(match.group(1), match.group(2), named, worst=worst), None
    for node in block.xpath(".//*[@class]"):
        match = _CLASS_RATING.search(node.attrib.get("class", ""))
        if match and _RATING_HINT.search(node.attrib.get("class", "").lower()):
            value, best = _class_score(int(match.group(1)), match.group(0))
            if site_best:
                value, best = int(match.group(1)), site_best
            return normalize_rating(value, best, named, worst=worst), None
    icons = _star_icons(block)
    if icons is not None:
        return normalize_rating(icons[0], icons[1], named, worst=worst), None
    for node in block.xpath(".//*[@class or @itemprop or @data-qa or @data-testid]"):
        if not _RATING_HINT.search(_attr_blob(node)):
            continue
        text = _text(node)
        if named and text.strip().lower() in named:
            return named[text.strip().lower()], None
        if text and len(text) <= 24 and re.search(r"\d|★", text):
            bare = re.fullmatch(r"\d{1,3}(?:[.,]\d+)?", text.strip())
            raw = float(text.strip().replace(",", ".")) if bare and site_best is None else None
            return normalize_rating(text, site_best, named, worst=worst), raw
        # "Original Score: 3.5/5", "Score: B+" inside a longer line.
        match = re.search(
            r"(?:score|rating|grade)\s*:?\s*(\d{1,3}(?:[.,]\d+)?\s*(?:/|out of)\s*\d{1,3}|[A-DF][+-]?)(?![\w+-])",
            text,
            re.I,
        )
        if match:
            return normalize_rating(match.group(1), site_best, named, worst=worst), None
    text = _text(block)
    match = re.search(r"(?<![\w.])(\d{1,3}(?:[.,]\d)?)\s*(?:/|out of)\s*(10|5|100)\b", text)
    if match:
        return normalize_rating(f"{match.group(1)}/{match.group(2)}", None, named), None
    match = re.search(r"[★⭐]+½?☆*", text)
    if match:
        return normalize_rating(match.group(0), site_best, named), None
    return None, None


def _author_in(block: Selector, loose: bool = True) -> str | None:
    """The reviewer's name: a profile link, ``itemprop="author"``, an element marked as
    author / user / name; when ``loose``, also "By Ann Lee" in the block's text."""

    def clean(text: str) -> str:
        text = re.sub(
            r"^(?:(?:a\s+)?review(?:ed)?\s+by|written\s+by|by|from)\s+", "", text, flags=re.I
        )
        return text.strip()

    def usable(name: str) -> bool:
        return (
            bool(name)
            and len(name) <= 60
            and real_name(name) is not None
            and not parse_date(name)
            and not re.fullmatch(r"[\d.,/\s★☆%]+", name)
        )

    # A link to the reviewer's profile page is the surest sign of a name.
    for link in block.xpath(".//*[@href]"):
        if _PROFILE_LINK.search(link.attrib.get("href", "")):
            name = clean(_text(link))
            if usable(name):
                return name
    candidates = block.xpath('.//*[@itemprop="author"] | .//*[@rel="author"]')
    hinted = [
        n
        for n in block.xpath(".//*[@class or @data-testid or @data-qa or @slot]")
        if _AUTHOR_HINT.search(_attr_blob(n)) and not _RATING_HINT.search(_attr_blob(n))
    ]
    strong = [n for n in hinted if _AUTHOR_STRONG.search(_attr_blob(n))]
    weak = [n for n in hinted if n not in strong]
    for group in (strong, weak):
        # The innermost marked elements first: "display-name-date" wraps name and date.
        paths = [n.root.getroottree().getpath(n.root) for n in group]
        inner = [
            n
            for n, p in zip(group, paths, strict=True)
            if not any(q.startswith(p + "/") for q in paths)
        ]
        candidates += inner + [n for n in group if n not in inner]
    for node in candidates:
        links = node.xpath("self::a | .//a")
        for name in [_text(a) for a in links] + [_text(node)]:
            name = clean(name)
            if usable(name):
                return name
    if not loose:
        return None
    match = re.search(r"\b[Bb]y\s+([A-Z][\w.'-]*(?:\s+[A-Z][\w.'-]*){0,3})", _text(block))
    return match.group(1) if match else None


def _date_in(block: Selector, formats: list[str]) -> str | None:
    for value in block.xpath(
        ".//time/@datetime | .//*[@itemprop='datePublished']/@content"
    ).getall():
        found = parse_date(value, formats)
        if found:
            return found
    for node in block.xpath(".//*[@class or @data-testid]"):
        if _DATE_HINT.search(_attr_blob(node)):
            found = parse_date(_text(node), formats)
            if found:
                return found
    for text in block.xpath(".//text()").getall():
        found = parse_date(text, formats) if len(text) < 60 else None
        if found:
            return found
    return None


def _class_score(number: int, matched: str) -> tuple[float, int]:
    """(value, best) of a score written in a class name: "rated-7" counts half stars (of
    10), "star-rating-4" whole stars (of 5), "allstar30" / "stars-45" tenths of a star
    (of 5), a number up to 10 is of 10 and a larger one of 100."""
    if matched.lower().startswith("rated"):
        return number, 10
    if number <= 5:
        return number, 5
    if 15 <= number <= 50 and number % 5 == 0:
        return number / 10, 5
    return number, 10 if number <= 10 else 100


# East Asian scripts say in 15 characters what takes 30 in a Latin script.
_WIDE = re.compile(r"[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\uff00-\uff60]")


def _width(text: str) -> int:
    """A text's length with East Asian characters counted twice: the length thresholds
    below (20 for a body, 30 for a block) are for Latin-script text."""
    return len(text) + len(_WIDE.findall(text))


def _body_in(block: Selector) -> str | None:
    """The review's text: the element marked as body / text / content / quote that holds
    no author, rating or date and is not a footer ("12 of 20 found this helpful"), the
    innermost one when a wrapper adds little; else the block's paragraphs."""
    found: list[tuple[str, Selector, int]] = []
    for node in block.xpath(".//*[@class or @itemprop or @data-testid or @data-qa or @slot]"):
        words = _attr_blob(node)
        if not _BODY_HINT.search(words) or _AUTHOR_HINT.search(words):
            continue
        if _RATING_HINT.search(words) or _DATE_HINT.search(words):
            continue
        text = _text(node)
        if _width(text) < 20 or _FOOTER.search(text):
            continue
        # The body does not hold the author, rating or date: those sit beside it.
        if (
            node.xpath(".//time")
            or any(
                _AUTHOR_HINT.search(_attr_blob(m)) or _RATING_HINT.search(_attr_blob(m))
                for m in node.xpath(".//*[@class or @data-testid or @data-qa or @slot]")
            )
            or any(_PROFILE_LINK.search(href) for href in node.xpath(".//a/@href").getall())
        ):
            continue
        found.append((node.root.getroottree().getpath(node.root), node, len(text)))
    if found:
        path, best, size = max(found, key=lambda item: item[2])
        # A wrapper ("review-text-container" around the text and a "See more" button):
        # take the inner element when it holds nearly all the text.
        inner = [f for f in found if f[0].startswith(path + "/") and f[2] >= 0.8 * size]
        if inner:  # the deepest such element: wrappers also hold headlines and buttons
            _, best, _ = max(inner, key=lambda item: item[0].count("/"))
        return _without_spoiler_banner("".join(best.xpath("node()").getall()).strip())
    paragraphs = [
        p
        for p in block.xpath(".//p | .//blockquote")
        if _width(_text(p)) >= 20 and not _FOOTER.search(_text(p))
    ]
    if paragraphs:
        body = "\n".join("".join(p.xpath("node()").getall()).strip() for p in paragraphs)
        return _without_spoiler_banner(body)
    return None


_TAGS = r"(?:\s|<[^>]+>)*"
_SPOILER_BANNER = re.compile(
    rf"^{_TAGS}\[?{_TAGS}(?:spoiler(?:s)? alert:?{_TAGS})?(?:warning:?{_TAGS})?"
    rf"(?:this review (?:may )?contains? spoilers|contains spoilers|spoilers? ahead)[.!]?{_TAGS}"
    rf"(?:i can handle the truth\.?{_TAGS})?\]?{_TAGS}",
    re.I,
)


def _without_spoiler_banner(body: str) -> str:
    """A review's text without the site's "This review may contain spoilers" banner."""
    stripped = _SPOILER_BANNER.sub("", body, count=1)
    return stripped if len(stripped.strip()) >= 2 else body


def _class_words(node: Selector) -> set[str]:
    """An element's class names, digits and utility classes left out ("review-3" ->
    "review-")."""
    words = (node.attrib.get("class") or "").split()
    return {re.sub(r"\d+", "", w) for w in words if not _UTILITY_CLASS.match(w)} - {""}


def _same_kind(nodes: list[Selector]) -> list[list[Selector]]:
    """Siblings split into kinds, in page order: one tag and the same classes, or, for
    neighbours (nothing with text between them), classes that share a name. So a
    modifier that differs inside one run of blocks ("review-item pull-left" /
    "review-item pull-right", "row even" / "row odd") does not split the list, while a
    "review synopsis" block elsewhere on the page stays apart from the "review" ones."""
    kinds: list[tuple[str, set[frozenset[str]], list[int]]] = []  # tag, class sets, members
    words = [frozenset(_class_words(n)) for n in nodes]
    for j, node in enumerate(nodes):
        tag = _tag(node)
        for kind_tag, seen, members in kinds:
            last = members[-1]
            if kind_tag == tag and (
                words[j] in seen or (words[j] & words[last] and _neighbours(nodes[last], node))
            ):
                seen.add(words[j])
                members.append(j)
                break
        else:
            kinds.append((tag, {words[j]}, [j]))
    return [[nodes[m] for m in members] for _, _, members in kinds]


def _neighbours(first: Selector, second: Selector) -> bool:
    """True when ``second`` follows ``first`` with no element that has text between them
    (a ``<hr>`` or an empty divider does not count)."""
    node = second.root.getprevious()
    while node is not None and node is not first.root:
        if isinstance(node.tag, str) and any(t.strip() for t in node.itertext()):
            return False
        node = node.getprevious()
    return node is first.root


def _children_of_one_kind(parent: Selector, min_text: int = 30) -> list[list[Selector]]:
    """``parent``'s children with some text, split into kinds (see :func:`_same_kind`)."""
    children = parent.xpath("./*")
    if min_text > 0:
        children = [c for c in children if _width(_text(c)) >= min_text]
    return _same_kind(children)


def _has_review_signs(node: Selector) -> bool:
    """A rating, a date or a marked author: what a review carries beside its text, and
    what a paragraph of prose or a section heading does not."""
    return bool(
        node.xpath(".//time")
        or _author_in(node, loose=False)
        or _date_in(node, [])
        or _rating_in(node, None)[0] is not None
    )


def _mostly_reviews(nodes: list[Selector]) -> bool:
    """At least half of ``nodes`` carry review signs (read until that is settled)."""
    need = (len(nodes) + 1) // 2
    for read, node in enumerate(nodes):
        if need == 0 or len(nodes) - read < need:
            break
        need -= _has_review_signs(node)
    return need == 0


def _repeated_groups(sel: Selector) -> list[list[Selector]]:
    """Sibling elements of one kind (tag and classes), two or more, each holding prose
    and a date, rating or author: the usual shape of a list of reviews."""
    groups = []
    for parent in sel.xpath(f"//*[count(*) >= 2][not({markup._SKIP_ANCESTORS})]"):
        for nodes in _children_of_one_kind(parent, 0):
            if len(nodes) < 2:
                continue
            good = [
                n
                for n in nodes
                if _width(_text(n)) >= 40
                and (
                    n.xpath(".//time")
                    or n.xpath(".//*[@class]")
                    and any(
                        _RATING_HINT.search(_attr_blob(m)) or _DATE_HINT.search(_attr_blob(m))
                        for m in n.xpath(".//*[@class]")
                    )
                )
            ]
            if len(good) == len(nodes):
                groups.append(nodes)
    return groups


def _reviews_inside(container: Selector) -> list[Selector]:
    """The reviews in one element marked "reviews": the largest group of siblings of one
    kind, at any depth (section > ul > li), at least half of which carry a rating, date
    or author (an unrated review by an unmarked name has none); else its direct children
    of one kind. Without this, a list one level down would be read as a single review,
    with the first author and rating in it; and a review's own paragraphs are not reviews."""
    found = [
        nodes
        for parent in container.xpath("descendant-or-self::*[count(*) >= 2]")
        for nodes in _children_of_one_kind(parent)
        if len(nodes) >= 2 and _mostly_reviews(nodes)
    ]
    if not found:  # paragraphs side by side are one review's text, not reviews
        found = [g for g in _children_of_one_kind(container) if _tag(g[0]) != "p"]
    # The most reviews; of equal counts the outer element, which holds the whole review.
    return max(found, key=lambda g: (len(g), sum(len(_text(n)) for n in g)), default=[])


_BODY_TAGS = {"p", "blockquote", "div"}
_BETWEEN = {"hr", "br"}


def _header_body_pairs(sel: Selector) -> list[Selector]:
    """Reviews written as a header and a body side by side, in unclassed markup:
    ``<div>`` (title, rating image, author link, date) then ``<p>`` (the text), one pair
    after another. Each header must carry at least two of rating, author and date, and
    at least two headers of one kind must each be followed by prose; each review comes
    back as a new element holding its header and body."""
    pairs: list[tuple[Selector, Selector]] = []
    for parent in sel.xpath(f"//*[count(*) >= 4][not({markup._SKIP_ANCESTORS})]"):
        children = [c for c in parent.xpath("./*") if _tag(c) not in _BETWEEN]
        found = [
            (head, body)
            for head, body in zip(children, children[1:], strict=False)
            if _tag(body) in _BODY_TAGS
            and not _alike(head, body)  # a list of like items is not header, body, header...
            and _is_body(body)
            and _is_header(head)
        ]
        heads = max(_same_kind([h for h, _ in found]), key=len, default=[])
        if len(heads) >= 2 and len(heads) > len(pairs):
            pairs = [(h, b) for h, b in found if any(h.root is x.root for x in heads)]
    return [
        Selector(text=f"<div>{head.get()}{body.get()}</div>").xpath("//body/div")[0]
        for head, body in pairs
    ]


def _alike(one: Selector, other: Selector) -> bool:
    return _tag(one) == _tag(other) and _class_words(one) == _class_words(other)


def _is_header(node: Selector) -> bool:
    """A short element carrying at least two of a rating, a marked author and a date."""
    if len(_text(node)) > 300 or node.xpath(".//p"):
        return False
    date = _date_in(node, []) is not None
    author = _author_in(node, loose=False) is not None
    if date != author:  # one of the two: a rating makes it two (read last: the costliest)
        return _rating_in(node, None)[0] is not None
    return date and author


def _is_body(node: Selector) -> bool:
    """Prose of its own: long enough, no headings, not a "was this helpful" footer, and
    nothing marked as a rating, author or date (then it is a whole review, or a header)."""
    text = _text(node)
    if len(text) < 40 or _FOOTER.search(text) or node.xpath(".//h1|.//h2|.//h3|.//h4|.//time"):
        return False
    marked = (_attr_blob(n) for n in node.xpath(".//*[@class or @itemprop or @data-testid]"))
    links = node.xpath(".//@href").getall()
    return not any(
        _RATING_HINT.search(w) or _AUTHOR_STRONG.search(w) or _DATE_HINT.search(w) for w in marked
    ) and not any(_PROFILE_LINK.search(h) for h in links)


def _review_blocks(sel: Selector) -> list[Selector]:
    """Elements that each hold one review: the largest group of siblings (or cousins in
    wrappers of their own) of one kind marked as reviews (class, id or test id saying
    "review", or ``<article>``), else
    the largest group of siblings of one kind that read like reviews, else header and
    body pairs (see :func:`_header_body_pairs`)."""
    by_parent: dict[str, list[Selector]] = {}
    for node in sel.xpath(
        "//*[self::article or self::li or self::div or self::section or self::blockquote"
        " or contains(name(), '-')]"
        "[contains(translate(concat(name(), ' ', @class, ' ', @id, ' ', @data-testid, ' ',"
        " @itemprop, ' ', @data-qa), 'REVIEW', 'review'), 'review') or self::article]"
    ):
        if node.xpath(markup._SKIP_ANCESTORS) or _width(_text(node)) < 30:
            continue
        parent = node.root.getparent()
        where = parent.getroottree().getpath(parent) if parent is not None else ""
        # Cousins count as siblings: the same path but for positions ("div[3]/div" and
        # "div[4]/div"), as when each review sits in wrappers of its own.
        by_parent.setdefault(re.sub(r"\[\d+\]", "", where), []).append(node)
    groups = [group for nodes in by_parent.values() for group in _same_kind(nodes)]
    if not groups:
        repeated = _repeated_groups(sel)
        best = max(repeated, key=lambda g: sum(len(_text(n)) for n in g), default=[])
        return best or _header_body_pairs(sel)

    # Prefer groups whose members say "review" over bare <article>s, then the largest.
    def score(nodes: list[Selector]) -> tuple[int, int, int]:
        says = any("review" in f"{_tag(n)} {n.attrib.get('class', '')}".lower() for n in nodes)
        return (int(says), len(nodes), sum(len(_text(n)) for n in nodes))

    best = max(groups, key=score)
    if len(best) == 1:
        # One container marked "reviews": the repeated blocks inside it are the reviews.
        repeated = _reviews_inside(best[0])
        if len(repeated) >= 2:
            return repeated
    return best


def _only_links(body: str | None) -> bool:
    """A body whose words are all link texts: a bar of links to other pages, not prose."""
    if not body or "<a" not in body.lower():
        return False
    outside = (
        Selector(text=f"<div>{body}</div>").xpath("//body/div//text()[not(ancestor::a)]").getall()
    )
    return not re.search(r"[^\W\d_]", " ".join(outside))


def reviews_from_blocks(
    sel: Selector, title_id: str | None = None, site: Any = None
) -> list[dict[str, Any]]:
    formats = list(site.date_formats) if site is not None else []
    fields = site.review_fields if site is not None else {}
    if "source_title_id" in fields:
        title_id = (override(sel, fields["source_title_id"]) or [title_id])[0]
    if "block" in fields:
        spec = fields["block"]
        blocks = sel.css(spec.css) if spec.css else sel.xpath(spec.xpath)
    else:
        blocks = _review_blocks(sel)
    records: list[dict[str, Any]] = []
    raws: list[float | None] = []
    for block in blocks:

        def pick(name: str, block: Selector = block) -> str | None:
            values = override(block, fields[name]) if name in fields else []
            return values[0] if values else None

        body = pick("text") or _body_in(block)
        if "text" not in fields and _only_links(body):
            continue  # a bar of links ("18 user | 131 critic") is no one's review
        author = pick("author")  # a placeholder where the site file points is no author
        author = real_name(author) if author is not None else _author_in(block)
        rating_text = pick("rating")
        site_best, named = _rating_scale(site)
        raw = None
        if rating_text is not None:
            plain = markup.norm(re.sub(r"<[^>]+>", " ", rating_text))
            readable = re.search(r"\d|★", plain) or (named and plain.lower() in named)
            rating = (
                normalize_rating(plain, site_best, named, worst=_site_worst(site))
                if readable
                else None
            )
        else:
            rating, raw = _rating_in(block, site)
        review_id = pick("source_review_id")
        if review_id is None:
            for key in ("data-review-id", "data-id", "id", "data-review"):
                value = block.attrib.get(key)
                if value:
                    review_id = value
                    break
        records.append(
            {
                "source_review_id": review_id,
                "source_title_id": title_id,
                "author": author,
                "rating": rating,
                "review_date": parse_date(pick("review_date"), formats) or _date_in(block, formats),
                "text": body,
            }
        )
        raws.append(raw)
    # One scale per page: when some bare scores are above 10, they are all out of 100
    # (a critic's 9 beside others' 90 is 9/100, not 9/10).
    if any(r is not None and r > 10 for r in raws):
        for record, raw in zip(records, raws, strict=True):
            if raw is not None and raw <= 10:
                record["rating"] = normalize_rating(raw, 100)
    ids = Counter(r["source_review_id"] for r in records if r["source_review_id"])
    for record in records:
        if record["source_review_id"] and ids[record["source_review_id"]] > 1:
            record["source_review_id"] = None
    return records


def extract_reviews(
    sel: Selector, title_id: str | None = None, page_url: str | None = None, site: Any = None
) -> Extraction:
    """Reviews on a review page: schema.org items if the page has any, else review blocks."""
    ld = jsonld_of(sel)
    base = dict(jsonld_malformed=ld.malformed, jsonld_repaired=ld.repaired)
    if title_id is None and page_url:
        title_id = id_from_url(page_url)
    for method, objects in (
        ("jsonld", ld.objects),
        ("microdata", microdata_of(sel)),
        ("rdfa", rdfa_of(sel)),
    ):
        records = reviews_from_objects(objects, title_id, site)
        if records:
            return Extraction(records, method, **base)
    records = reviews_from_blocks(sel, title_id, site)
    return Extraction(records, "html" if records else "none", **base)
