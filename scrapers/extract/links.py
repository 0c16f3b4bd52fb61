"""Where a page leads: every followable link, the next page of a paginated list, and a
title's reviews page. Nothing here knows a particular site's class names."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from parsel import Selector

from scrapers.extract.common import id_from_url

_SKIP_SCHEMES = ("mailto:", "javascript:", "tel:", "data:", "sms:", "ftp:", "#")
_STATIC = re.compile(
    r"\.(?:jpe?g|png|gif|webp|avif|svg|ico|css|js|mjs|json|xml|rss|atom|pdf|zip|gz|mp[34]|"
    r"m4v|webm|mov|avi|woff2?|ttf|eot|txt|csv|docx?|xlsx?)$",
    re.I,
)
_PAGE_PARAMS = ("page", "p", "pg", "pagina", "seite", "pagenum", "page_number")
# Parameters that count items, not pages: page 2 of ten a page is ``?start=10``.
_OFFSET_PARAMS = ("start", "offset", "skip")
_PAGE_PATH = re.compile(r"/(page|p|pagina|seite)/(\d+)/?$", re.I)
_NEXT_TEXT = re.compile(
    r"^(?:next(?:\s+(?:page|reviews|results))?|older(?:\s+\w+)?|more\s+reviews|"
    r"load\s+more(?:\s+reviews)?|show\s+more\s+reviews|suivant|weiter|siguiente|successivo)$",
    re.I,
)
_ARROWS = "›»→>⟩❯▶"
_REVIEWS_HREF = re.compile(
    r"(?:/|[?&](?:tab|section|view)=)(?:user[-_]?|critics?[-_]?|audience[-_]?|all[-_]?)?"
    r"reviews?(?:[/?#&._-]|$)|/critics?(?:/|$)",
    re.I,
)
_REVIEWS_TEXT = re.compile(
    r"^(?:(?:read|see|view|show|all|more|popular|recent|latest|top)\s+)?(?:all\s+)?(?:the\s+)?"
    r"(?:\d[\d,.]*k?\+?\s+)?"
    r"(?:user|users'?|critic|critics'?|audience|member|fan|viewer|external|popular|recent)?\s*reviews?"
    r"(?:\s*\(\s*\d[\d,.]*k?\s*\))?(?:\s+\d[\d,.]*k?)?\s*[›»→]?$",
    re.I,
)
_NOT_REVIEWS = re.compile(
    r"\b(?:write|add|post|submit|rate|your|my|edit|log ?in|sign|external)\b", re.I
)
# A title's own comments page ("/subject/42/comments", "/title/t1/usercomments"): its
# short reviews, when the link sits under the title page's path.
_COMMENTS_HREF = re.compile(r"/(?:user[-_]?)?comments(?:[/?#]|$)", re.I)


@dataclass
class PageLinks:
    """A page's absolute, fragment-free links in document order, and two of them named."""

    links: list[str] = field(default_factory=list)
    next_page: str | None = None
    reviews: str | None = None
    texts: dict[str, str] = field(default_factory=dict)  # url -> its first anchor text


# Query parameters that only track where a click came from: the same page without them.
_TRACKING = re.compile(
    r"^(?:ref|ref_|refsrc|ref_src|utm_\w+|fbclid|gclid|dclid|msclkid|mc_cid|mc_eid|_ga|igshid|"
    r"yclid|spm|trk|tracking)$",
    re.I,
)


def _clean(url: str) -> str:
    """Absolute URL without fragment and tracking parameters (``?ref_=nav``, ``utm_*``)."""
    parts = urlsplit(url)
    query = parts.query
    if query:
        kept = [
            (k, v) for k, v in parse_qsl(query, keep_blank_values=True) if not _TRACKING.match(k)
        ]
        query = urlencode(kept)
    return urlunsplit((parts.scheme, parts.netloc.lower(), parts.path or "/", query, ""))


def base_url(sel: Selector, page_url: str) -> str:
    base = sel.xpath("//base/@href").get()
    return urljoin(page_url, base.strip()) if base else page_url


def absolute(sel: Selector, page_url: str, href: str | None, base: str | None = None) -> str | None:
    """``href`` made absolute against the page's ``<base>`` (pass ``base`` when resolving
    many links: finding it is a search of the whole page)."""
    if not href:
        return None
    href = href.strip()
    if not href or href.lower().startswith(_SKIP_SCHEMES):
        return None
    url = urljoin(base or base_url(sel, page_url), href)
    if urlsplit(url).scheme not in ("http", "https"):
        return None
    return _clean(url)


def page_number(url: str) -> tuple[int, str | None]:
    """(n, how) for a paginated URL: ``?page=3`` -> (3, "page"), ``/page/3/`` -> (3, "/page")."""
    parts = urlsplit(url)
    match = _PAGE_PATH.search(parts.path)
    if match:
        return int(match.group(2)), f"/{match.group(1)}"
    for key, value in parse_qsl(parts.query):
        if key.lower() in _PAGE_PARAMS and value.isdigit():
            return int(value), key
    return 1, None


def with_page(url: str, n: int, how: str | None) -> list[str]:
    """Ways the page after ``url`` is usually addressed, most likely first."""
    parts = urlsplit(url)
    if how and how.startswith("/"):
        path = _PAGE_PATH.sub(f"{how}/{n}/", parts.path)
        return [_clean(urlunsplit((parts.scheme, parts.netloc, path, parts.query, "")))]
    keys = [how] if how else list(_PAGE_PARAMS[:3])
    out = []
    for key in keys:
        query = [(k, v) for k, v in parse_qsl(parts.query) if k != key] + [(key, str(n))]
        out.append(
            _clean(urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), "")))
        )
    if not how:
        base = parts.path.rstrip("/")
        for prefix in ("page", "p"):
            out.append(
                _clean(
                    urlunsplit(
                        (parts.scheme, parts.netloc, f"{base}/{prefix}/{n}/", parts.query, "")
                    )
                )
            )
    return out


def _same_list(a: str, b: str) -> bool:
    """Whether two URLs are pages of one listing: same host, same path once a page-number
    segment (``/page/2/``) is taken off. The query may differ (``?page=2``, a cursor)."""
    pa, pb = urlsplit(a), urlsplit(b)
    strip = lambda p: _PAGE_PATH.sub("", p).rstrip("/")  # noqa: E731
    return pa.netloc == pb.netloc and strip(pa.path) == strip(pb.path)


def _offset(url: str) -> tuple[str | None, int, set[tuple[str, str]]]:
    """(parameter, value, other parameters) of an offset-paginated URL (``?start=10``);
    (None, 0, parameters) for a URL without an offset, which is the listing's start."""
    params = parse_qsl(urlsplit(url).query)
    for key, value in params:
        if key.lower() in _OFFSET_PARAMS and value.isdigit():
            return key.lower(), int(value), {(k, v) for k, v in params if k != key}
    return None, 0, set(params)


def _next_by_offset(urls: list[str], page_url: str) -> str | None:
    """The link to the same listing at the nearest offset past this page's: the page links
    of ``?start=`` lists are 0, 10, 20..., so the next is the smallest larger one. The
    link keeps this page's other parameters (the search, the sort)."""
    key, here, rest = _offset(page_url)
    here_parts = urlsplit(page_url)
    best: tuple[int, str] | None = None
    for url in urls:
        key_there, there, rest_there = _offset(url)
        parts = urlsplit(url)
        if (
            key_there is not None
            and key in (None, key_there)
            and there > here
            and rest <= rest_there
            and (parts.netloc, parts.path.rstrip("/"))
            == (here_parts.netloc, here_parts.path.rstrip("/"))
            and (best is None or there < best[0])
        ):
            best = (there, url)
    return best[1] if best else None


def _next_by_number(urls: list[str], page_url: str) -> str | None:
    """The link to page n+1 of the same listing (``?page=3``, ``/page/3/``)."""
    n, how = page_number(page_url)
    wanted = set(with_page(page_url, n + 1, how))
    for url in urls:
        if url in wanted:
            return url
    for url in urls:
        m, how_there = page_number(url)
        if m == n + 1 and how_there and _same_list(url, page_url):
            return url
    return None


def _bare(text: str) -> str:
    """Words without the brackets, arrows and punctuation around them ("[Next »]")."""
    return re.sub(r"^[\W_]+|[\W_]+$", "", text)


def _label(node: Selector, text: str) -> str:
    """What a link says besides its text: its ``aria-label`` or ``title``, else, for a link
    without text, the ``alt`` or ``title`` of its image (``<a><img alt="[Next]"></a>``)."""
    label = node.attrib.get("aria-label") or node.attrib.get("title")
    if not label and not text:
        label = " ".join(
            node.xpath(".//img/@alt | .//img/@title | .//*[@aria-label]/@aria-label").getall()
        )
    return " ".join((label or "").split())


def _says_next(node: Selector, text: str, label: str) -> bool:
    """A link that calls itself the next one: by its words, an arrow alone, or its class."""
    if _NEXT_TEXT.match(_bare(text)) or _NEXT_TEXT.match(_bare(label)):
        return True
    if not text.strip(_ARROWS + " ") and any(ch in text for ch in _ARROWS):
        return True
    klass = (node.attrib.get("class") or "") + " " + (node.attrib.get("id") or "")
    return bool(re.search(r"(?:^|[\s_-])next(?:$|[\s_-])", klass, re.I))


def _next_page(
    sel: Selector, page_url: str, base: str, anchors: list[tuple[Selector, str, str, str]]
) -> str | None:
    """The next page of this listing: rel=next, then a link saying "next", then the URL of
    page n+1 or of the next offset.

    The spider follows it free of depth, so a "Next" link counts only when it leads to
    the same listing: on a title page "Prev | Next" leads to the sibling episode, a
    different page, not a further page of this one. ``rel=next`` is the author's word
    and is taken as it is."""
    rel_next = sel.xpath(
        '//link[contains(concat(" ", normalize-space(@rel), " "), " next ")]/@href'
        ' | //a[contains(concat(" ", normalize-space(@rel), " "), " next ")]/@href'
    ).get()
    candidate = absolute(sel, page_url, rel_next, base)
    if candidate is not None:
        return candidate
    own = _clean(page_url)
    for node, url, text, label in anchors:
        if url != own and _same_list(url, page_url) and _says_next(node, text, label):
            return url
    urls = list(dict.fromkeys(url for _, url, _, _ in anchors))
    return _next_by_number(urls, page_url) or _next_by_offset(urls, page_url)


def page_links(sel: Selector, page_url: str) -> PageLinks:
    result = PageLinks()
    seen: set[str] = set()
    own = _clean(page_url)
    anchors = []
    base = base_url(sel, page_url)
    # <a href>, but also links made of other elements: custom elements with an href
    # (<rt-link href>), and lazy-loaded cards (data-target-link, data-href, data-url).
    for node in sel.xpath(
        "//*[@href][not(self::link or self::base or self::use or self::image)]"
        " | //*[@data-target-link or @data-href or @data-url or @data-link]"
    ):
        href = node.attrib.get("href")
        for key in ("data-target-link", "data-href", "data-url", "data-link"):
            if not href and node.attrib.get(key):
                href = node.attrib[key]
        url = absolute(sel, page_url, href, base)
        if url is None or url == own:
            continue
        if _STATIC.search(urlsplit(url).path):
            continue
        text = " ".join(node.xpath("string()").get("").split())
        label = _label(node, text)
        anchors.append((node, url, text, label))
        if url not in seen:
            seen.add(url)
            result.links.append(url)
            result.texts[url] = text or label

    result.next_page = _next_page(sel, page_url, base, anchors)

    # Reviews: a link whose URL says reviews beats one whose text does, which beats a
    # critics page; links under this page's own path first; never "write a review".
    found = []
    own_path = urlsplit(own).path.rstrip("/")
    for position, (node, url, text, label) in enumerate(anchors):
        words = text or label
        if _NOT_REVIEWS.search(words) or "externalreviews" in url.lower():
            continue  # "external reviews" link to other sites' reviews
        path_and_query = url[len(urlsplit(url).scheme) + 3 :]
        href_says = _REVIEWS_HREF.search(path_and_query)
        text_says = _REVIEWS_TEXT.match(words) or re.search(r"\breviews?\b", words, re.I)
        under = bool(own_path) and urlsplit(url).path.startswith(own_path + "/")
        comments = under and _COMMENTS_HREF.search(urlsplit(url).path)
        if not (href_says or _REVIEWS_TEXT.match(words) or comments):
            continue
        if not (under or _names_this_page(url, own)):
            continue  # a site-wide "Reviews" (this week's popular ones): other titles' reviews
        strength = 0
        if href_says and "review" in href_says.group(0).lower():
            strength = 3 if text_says else 2
        elif text_says:
            strength = 1
        user_first = "type=user" not in url  # critics' list before the audience's
        # The title's own reviews (under its path) before a site-wide menu's "Reviews".
        furniture = bool(node.xpath(_FURNITURE))
        found.append((not under, furniture, -strength, not user_first, position, url))
    if found:
        result.reviews = sorted(found)[0][-1]
    return result


# Back-compatible helpers.
def next_page_link(sel: Selector, page_url: str = "http://localhost/") -> str | None:
    return page_links(sel, page_url).next_page


_FURNITURE = "ancestor::*[self::nav or self::header or self::footer]"
_LONG_NUMBER = re.compile(r"\d{3,}")


def _names_this_page(url: str, page_url: str) -> bool:
    """``url`` names the page it is on: by the page's id ("/reviews?title=t100" on
    "/title/t100/") or a number of three digits or more in both ("/film/fichefilm-12345/
    critiques/" on "/film/fichefilm_gen_cfilm=12345.html")."""
    page_id = id_from_url(page_url)
    if page_id and len(page_id) >= 3 and page_id.lower() in url.lower():
        return True

    def numbers(address: str) -> set[str]:
        parts = urlsplit(address)
        return set(_LONG_NUMBER.findall(f"{parts.path}?{parts.query}"))

    return bool(numbers(page_url) & numbers(url))


def reviews_link(sel: Selector, page_url: str = "http://localhost/") -> str | None:
    return page_links(sel, page_url).reviews
