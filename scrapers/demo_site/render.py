"""HTML for the two demo sites: reelhub (schema.org JSON-LD) and filmfolio (plain HTML).

Rendering is pure: a site, a clock date and a path in, a :class:`Page` out, so the
server can cache pages and tests can render one without a socket.
"""

from __future__ import annotations

import html
import json
import math
import re
import zlib
from dataclasses import dataclass
from datetime import date
from urllib.parse import parse_qs, urlsplit

from scrapers.demo_site.catalog import (
    REVIEWS_PER_PAGE,
    Listing,
    Review,
    SiteCatalog,
    reviews_path,
    title_path,
)

LISTING_PAGE_SIZE = 24
LANGUAGE_NAMES = {
    "en": "English",
    "fr": "French",
    "es": "Spanish",
    "ja": "Japanese",
    "ko": "Korean",
    "de": "German",
    "hi": "Hindi",
}


@dataclass(frozen=True)
class Page:
    """A rendered response; ``header_charset`` says whether Content-Type names the charset."""

    status: int
    body: str
    content_type: str = "text/html"
    charset: str = "utf-8"
    header_charset: bool = True

    def encoded(self) -> bytes:
        return self.body.encode(self.charset, errors="xmlcharrefreplace")

    def content_type_header(self) -> str:
        return (
            f"{self.content_type}; charset={self.charset}"
            if self.header_charset
            else self.content_type
        )


def with_markup(text: str) -> str:
    """The kind of markup a CMS leaves in a synopsis: tags, <br/>, numeric entities."""
    words = text.split(" ", 1)
    head = f"<em>{html.escape(words[0], quote=False)}</em>"
    rest = html.escape(words[1], quote=False) if len(words) > 1 else ""
    body = f"{head} {rest}".replace("'", "&#39;").replace(". ", ".<br/> ", 1)
    return f"<p>{body}</p>"


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def _jsonld(data: object, malformed: int | None = None) -> str:
    """A JSON-LD script block; ``malformed`` picks one of three realistic breakages."""
    text = json.dumps(data, ensure_ascii=False, indent=1)
    if malformed == 0:
        text = text.rstrip().rstrip("}").rstrip() + ","
    elif malformed == 1:
        text = re.sub(r'"name": "', '"name": "The "', text, count=1)
    elif malformed == 2:
        text = text.rstrip()[:-1].rstrip() + ",\n}"
    text = text.replace("</", "<\\/")
    return f'<script type="application/ld+json">\n{text}\n</script>'


def _malformed_variant(listing: Listing) -> int | None:
    if "malformed_jsonld" not in listing.troubles:
        return None
    return zlib.crc32(listing.site_id.encode()) % 3


def _page_number(query: str, key: str) -> int | None:
    values = parse_qs(query).get(key)
    if not values:
        return 1
    try:
        page = int(values[0])
    except ValueError:
        return None
    return page if page >= 1 else None


def _visible_reviews(listing: Listing, as_of: date) -> list[Review]:
    shown = [r for r in listing.reviews if r.review_date <= as_of]
    return sorted(shown, key=lambda r: (r.review_date, r.review_id), reverse=True)


def _last_change(listing: Listing, as_of: date) -> date:
    """The day a title page (and its reviews pages) last changed, as of ``as_of``."""
    shown = [r.review_date for r in listing.reviews if r.review_date <= as_of]
    return max([listing.listed_on, *shown])


class SiteRenderer:
    """Routing and shared page furniture; subclasses supply each site's markup."""

    name = ""
    listing_path = ""
    page_param = "page"

    def __init__(self, catalog: SiteCatalog) -> None:
        self.catalog = catalog
        self.featured = [catalog.by_id[site_id] for site_id in catalog.featured]

    def render(self, path: str, as_of: date, base_url: str) -> Page:
        parts = urlsplit(path)
        route = parts.path.rstrip("/") or "/"
        if route == "/robots.txt":
            return self.robots(base_url)
        if route == "/sitemap.xml":
            return self.sitemap(as_of, base_url)
        if route.startswith("/private"):
            return Page(
                200, "<html><body><h1>Press screener</h1><p>Internal only.</p></body></html>"
            )
        if route in ("/", self.listing_path):
            page = _page_number(parts.query, self.page_param)
            return self.listing_page(page, as_of) if page else self.not_found()
        match = re.fullmatch(r"/(?:title|film)/([\w-]+)(/reviews)?", route)
        if not match or not route.startswith(title_path(self.name, "")):
            return self.not_found()
        listing = self.catalog.by_id.get(match.group(1))
        if listing is None or listing.listed_on > as_of:
            return self.not_found()
        if match.group(2):
            page = _page_number(parts.query, "page")
            return self.reviews_page(listing, page, as_of, base_url) if page else self.not_found()
        return self.title_page(listing, as_of, base_url)

    def robots(self, base_url: str) -> Page:
        body = (
            "User-agent: *\n"
            "Disallow: /private/\n"
            "Crawl-delay: 0\n\n"
            f"Sitemap: {base_url}sitemap.xml\n"
        )
        return Page(200, body, content_type="text/plain")

    def sitemap(self, as_of: date, base_url: str) -> Page:
        listed = self.catalog.listed(as_of)
        # Listing pages change with every new title: no <lastmod>. A title page changes
        # when it is listed and when a review appears on it (its reviews pages with it).
        urls: list[tuple[str, date | None]] = [
            (f"{base_url}{self.listing_path.lstrip('/')}?{self.page_param}={n}", None)
            for n in range(1, self._page_count(len(listed)) + 1)
        ]
        urls += [
            (
                f"{base_url}{title_path(self.name, lst.site_id).lstrip('/')}",
                _last_change(lst, as_of),
            )
            for lst in listed
        ]
        entries = "\n".join(
            f"  <url><loc>{_esc(u)}</loc>"
            + (f"<lastmod>{changed.isoformat()}</lastmod>" if changed else "")
            + "</url>"
            for u, changed in urls
        )
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
            f"{entries}\n</urlset>\n"
        )
        return Page(200, body, content_type="application/xml")

    def not_found(self) -> Page:
        return Page(404, "<html><body><h1>Not found</h1></body></html>")

    @staticmethod
    def _page_count(n: int) -> int:
        return max(1, math.ceil(n / LISTING_PAGE_SIZE))

    def listing_page(self, page: int, as_of: date) -> Page:
        listed = self.catalog.listed(as_of)
        pages = self._page_count(len(listed))
        if page > pages:
            return self.not_found()
        chunk = listed[(page - 1) * LISTING_PAGE_SIZE : page * LISTING_PAGE_SIZE]
        featured = [lst for lst in self.featured if lst.listed_on <= as_of] if page == 1 else []
        return Page(200, self.listing_html(chunk, featured, page, pages))

    def _extra_links(self, listing: Listing) -> list[tuple[str, str]]:
        """Broken and robots-forbidden links that sit next to some listing cards."""
        links = []
        if listing.site_id in self.catalog.broken_links:
            links.append((self.catalog.broken_links[listing.site_id], "Coming soon"))
        if listing.site_id in self.catalog.private_links:
            links.append(
                (self.catalog.private_links[listing.site_id], f"Screener: {listing.title.name}")
            )
        return links

    def _page_href(self, n: int) -> str:
        return f"{self.listing_path}?{self.page_param}={n}"

    def listing_html(
        self, chunk: list[Listing], featured: list[Listing], page: int, pages: int
    ) -> str:
        raise NotImplementedError

    def title_page(self, listing: Listing, as_of: date, base_url: str) -> Page:
        raise NotImplementedError

    def reviews_page(self, listing: Listing, page: int, as_of: date, base_url: str) -> Page:
        raise NotImplementedError


class ReelhubRenderer(SiteRenderer):
    """Schema.org JSON-LD on every title and review page, plus visible, classed HTML."""

    name = "reelhub"
    listing_path = "/titles"

    def _shell(self, title: str, head: str, body: str, charset: str = "utf-8") -> str:
        return (
            f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="{charset}">\n'
            f"<title>{_esc(title)} | ReelHub</title>\n{head}\n</head>\n<body>\n"
            '<header class="site-header"><a href="/" class="logo">ReelHub</a>'
            ' <a href="/titles?page=1">Browse</a></header>\n'
            f"<main>\n{body}\n</main>\n<footer>ReelHub demo catalog</footer>\n</body>\n</html>\n"
        )

    def listing_html(
        self, chunk: list[Listing], featured: list[Listing], page: int, pages: int
    ) -> str:
        cards = []
        for lst in chunk:
            t = lst.title
            kind = "Movie" if t.title_type == "movie" else "TV Series"
            cards.append(
                f'<li class="title-card" data-id="{lst.site_id}">'
                f'<a class="title-link" href="{title_path(self.name, lst.site_id)}">{_esc(lst.display_name)}</a>'
                f' <span class="card-year">{t.year}</span> <span class="card-type">{kind}</span></li>'
            )
            for href, label in self._extra_links(lst):
                cards.append(
                    f'<li class="title-card"><a class="title-link" href="{href}">{_esc(label)}</a></li>'
                )
        feat = "".join(
            f'<li><a class="title-link featured" href="{title_path(self.name, lst.site_id)}?ref=featured">'
            f"{_esc(lst.display_name)}</a></li>"
            for lst in featured
        )
        nav = [f'<span class="page-info">Page {page} of {pages}</span>']
        if page > 1:
            nav.insert(0, f'<a rel="prev" href="{self._page_href(page - 1)}">Previous</a>')
        if page < pages:
            nav.append(f'<a rel="next" class="next" href="{self._page_href(page + 1)}">Next</a>')
        body = (
            (
                f'<section class="featured"><h2>Staff favourites</h2><ul>{feat}</ul></section>\n'
                if feat
                else ""
            )
            + '<h1>All titles</h1>\n<ol class="title-grid">\n'
            + "\n".join(cards)
            + "\n</ol>\n"
            + f'<nav class="pagination">{" ".join(nav)}</nav>'
        )
        return self._shell(f"All titles, page {page}", "", body)

    def title_page(self, listing: Listing, as_of: date, base_url: str) -> Page:
        t = listing.title
        url = f"{base_url}{title_path(self.name, listing.site_id).lstrip('/')}"
        reviews = _visible_reviews(listing, as_of)
        plot_markup = "markup_in_text" in listing.troubles and t.plot
        description = with_markup(t.plot) if plot_markup and t.plot else t.plot
        data: dict[str, object] = {
            "@context": "https://schema.org",
            "@type": "Movie" if t.title_type == "movie" else "TVSeries",
            "@id": url,
            "identifier": listing.site_id,
            "url": url,
            "name": listing.display_name,
            "datePublished": t.release_date.isoformat(),
            "genre": list(listing.labels),
            "inLanguage": t.original_language,
        }
        if description:
            data["description"] = description
        rated = [r.rating for r in reviews if r.rating is not None and 1 <= r.rating <= 10]
        if rated:
            data["aggregateRating"] = {
                "@type": "AggregateRating",
                "ratingValue": round(sum(rated) / len(rated), 1),
                "bestRating": 10,
                "reviewCount": len(reviews),
            }
        crumbs = {
            "@context": "https://schema.org",
            "@type": "BreadcrumbList",
            "itemListElement": [
                {"@type": "ListItem", "position": 1, "name": "Titles", "item": f"{base_url}titles"},
                {"@type": "ListItem", "position": 2, "name": listing.display_name, "item": url},
            ],
        }
        head = _jsonld(crumbs) + "\n" + _jsonld(data, _malformed_variant(listing))
        kind = "Movie" if t.title_type == "movie" else "TV Series"
        genres = "".join(f'<li class="genre">{_esc(g)}</li>' for g in listing.labels)
        if description:
            synopsis_html = description if plot_markup else _esc(description)
            synopsis = f'<div class="synopsis">{synopsis_html}</div>'
        else:
            synopsis = '<div class="synopsis missing">No synopsis yet.</div>'
        link = (
            f'<a class="reviews-link" href="{reviews_path(self.name, listing.site_id)}">'
            f"Read {len(reviews)} reviews</a>"
            if reviews
            else '<p class="no-reviews">No reviews yet.</p>'
        )
        body = (
            f'<article class="title-detail" data-id="{listing.site_id}">\n'
            f'<h1 class="title-name">{_esc(listing.display_name)}</h1>\n'
            f'<p class="title-meta"><span class="title-type">{kind}</span> &middot; '
            f'<span class="title-year">{t.year}</span> &middot; '
            f'<span class="title-language">{t.original_language}</span> &middot; '
            f'<time class="release-date" datetime="{t.release_date.isoformat()}">'
            f"{t.release_date.strftime('%B %d, %Y')}</time></p>\n"
            f'<ul class="genres">{genres}</ul>\n{synopsis}\n{link}\n</article>'
        )
        return Page(
            200,
            self._shell(listing.display_name, head, body, listing.charset),
            charset=listing.charset,
        )

    def reviews_page(self, listing: Listing, page: int, as_of: date, base_url: str) -> Page:
        reviews = _visible_reviews(listing, as_of)
        pages = max(1, math.ceil(len(reviews) / REVIEWS_PER_PAGE))
        if page > pages:
            return self.not_found()
        chunk = reviews[(page - 1) * REVIEWS_PER_PAGE : page * REVIEWS_PER_PAGE]
        t = listing.title
        url = f"{base_url}{title_path(self.name, listing.site_id).lstrip('/')}"
        item = {
            "@type": "Movie" if t.title_type == "movie" else "TVSeries",
            "name": listing.display_name,
            "identifier": listing.site_id,
            "url": url,
        }
        graph = []
        articles = []
        for r in chunk:
            text = with_markup(r.text) if r.markup and r.text.strip() else r.text
            review: dict[str, object] = {
                "@type": "Review",
                "identifier": r.review_id,
                "author": {"@type": "Person", "name": r.author},
                "datePublished": r.review_date.isoformat(),
                "reviewBody": text,
                "itemReviewed": item,
            }
            rating_html = '<span class="review-rating unrated">Not rated</span>'
            if r.rating is not None:
                review["reviewRating"] = {
                    "@type": "Rating",
                    "ratingValue": r.rating,
                    "bestRating": 10,
                    "worstRating": 1,
                }
                rating_html = (
                    f'<span class="review-rating" data-rating="{r.rating}">{r.rating}/10</span>'
                )
            graph.append(review)
            body_html = text if r.markup else _esc(text)
            articles.append(
                f'<article class="review" id="review-{r.review_id}" data-review-id="{r.review_id}">'
                f'<span class="review-author">{_esc(r.author)}</span> '
                f'<time class="review-date" datetime="{r.review_date.isoformat()}">'
                f"{r.review_date.strftime('%d %b %Y')}</time> {rating_html}"
                f'<div class="review-body">{body_html}</div></article>'
            )
        head = _jsonld(
            {"@context": "https://schema.org", "@graph": graph}, _malformed_variant(listing)
        )
        nav = []
        if page < pages:
            nav.append(
                f'<a rel="next" class="next" href="{reviews_path(self.name, listing.site_id, page + 1)}">More reviews</a>'
            )
        body = (
            f'<section class="reviews" data-title-id="{listing.site_id}">\n'
            f'<h1>Reviews of <a class="title-ref" href="{title_path(self.name, listing.site_id)}">'
            f"{_esc(listing.display_name)}</a></h1>\n"
            + "\n".join(articles)
            + f'\n<nav class="pagination">{"".join(nav)}</nav>\n</section>'
        )
        html_text = self._shell(f"Reviews: {listing.display_name}", head, body, listing.charset)
        return Page(200, html_text, charset=listing.charset)


class FilmfolioRenderer(SiteRenderer):
    """Plain HTML: a catalog table, a facts table and a <dl>; no structured data at all."""

    name = "filmfolio"
    listing_path = "/browse"
    page_param = "p"

    def _shell(self, title: str, body: str, charset: str = "utf-8") -> str:
        return (
            "<html>\n<head>\n"
            f'<meta http-equiv="Content-Type" content="text/html; charset={charset}">\n'
            f"<title>{_esc(title)} - FilmFolio</title>\n</head>\n"
            f'<body>\n<div id="top"><b>FilmFolio</b> | <a href="/browse?p=1">catalog</a></div>\n'
            f'<div id="main">\n{body}\n</div>\n</body>\n</html>\n'
        )

    def listing_html(
        self, chunk: list[Listing], featured: list[Listing], page: int, pages: int
    ) -> str:
        rows = [
            f'<tr class="pick"><td class="film"><a href="{title_path(self.name, lst.site_id)}?ref=featured">'
            f"{_esc(lst.display_name)}</a></td><td>{lst.title.year}</td><td>editor's pick</td></tr>"
            for lst in featured
        ]
        for lst in chunk:
            t = lst.title
            rows.append(
                f'<tr><td class="film"><a href="{title_path(self.name, lst.site_id)}">{_esc(lst.display_name)}</a></td>'
                f"<td>{t.year}</td><td>{'film' if t.title_type == 'movie' else 'series'}</td></tr>"
            )
            for href, label in self._extra_links(lst):
                rows.append(
                    f'<tr><td class="film"><a href="{href}">{_esc(label)}</a></td><td></td><td></td></tr>'
                )
        pager = [f"page {page}/{pages}"]
        if page > 1:
            pager.append(f'<a href="{self._page_href(page - 1)}">&laquo; prev</a>')
        if page < pages:
            pager.append(f'<a href="{self._page_href(page + 1)}" rel="next">next &raquo;</a>')
        body = (
            '<h2>Catalog</h2>\n<table class="catalog">\n<tr><th>Film</th><th>Year</th><th>Kind</th></tr>\n'
            + "\n".join(rows)
            + f'\n</table>\n<p class="pager">{" | ".join(pager)}</p>'
        )
        return self._shell("Catalog", body)

    def title_page(self, listing: Listing, as_of: date, base_url: str) -> Page:
        t = listing.title
        reviews = _visible_reviews(listing, as_of)
        if t.plot and "markup_in_text" in listing.troubles:
            # Double-escaped CMS output: the page shows the tags as text.
            synopsis = _esc(with_markup(t.plot))
        else:
            synopsis = _esc(t.plot) if t.plot else ""
        plot_row = f"<dt>Synopsis</dt><dd>{synopsis}</dd>" if t.plot else ""
        more = (
            f'<p><a class="more" href="{reviews_path(self.name, listing.site_id)}">User reviews ({len(reviews)})</a></p>'
            if reviews
            else "<p>No user reviews.</p>"
        )
        body = (
            f'<h2 id="film-title">{_esc(listing.display_name)}</h2>\n'
            '<table class="facts">\n'
            f"<tr><th>Film ID</th><td>{listing.site_id}</td></tr>\n"
            f"<tr><th>Kind</th><td>{'Feature film' if t.title_type == 'movie' else 'TV series'}</td></tr>\n"
            f"<tr><th>Year</th><td>{t.year}</td></tr>\n"
            f"<tr><th>Released</th><td>{t.release_date.strftime('%d/%m/%Y')}</td></tr>\n"
            f"<tr><th>Language</th><td>{LANGUAGE_NAMES[t.original_language]}</td></tr>\n"
            "</table>\n"
            f'<dl class="info">\n<dt>Genres</dt><dd>{_esc(", ".join(listing.labels))}</dd>\n{plot_row}\n</dl>\n'
            f"{more}"
        )
        return Page(
            200,
            self._shell(listing.display_name, body, listing.charset),
            charset=listing.charset,
            header_charset=listing.charset == "utf-8",
        )

    def reviews_page(self, listing: Listing, page: int, as_of: date, base_url: str) -> Page:
        reviews = _visible_reviews(listing, as_of)
        pages = max(1, math.ceil(len(reviews) / REVIEWS_PER_PAGE))
        if page > pages:
            return self.not_found()
        chunk = reviews[(page - 1) * REVIEWS_PER_PAGE : page * REVIEWS_PER_PAGE]
        blocks = []
        for r in chunk:
            score = f"{r.rating} / 10" if r.rating is not None else "&ndash;"
            text = _esc(with_markup(r.text)) if r.markup and r.text.strip() else _esc(r.text)
            blocks.append(
                f'<div class="rev" id="{r.review_id}">\n<dl><dt>By</dt><dd>{_esc(r.author)}</dd>'
                f"<dt>Date</dt><dd>{r.review_date.strftime('%d/%m/%Y')}</dd>"
                f"<dt>Score</dt><dd>{score}</dd></dl>\n<blockquote>{text}</blockquote>\n</div>"
            )
        more = (
            f'<a rel="next" href="{reviews_path(self.name, listing.site_id, page + 1)}">older reviews</a>'
            if page < pages
            else ""
        )
        body = (
            f'<h2>Reviews of <a href="{title_path(self.name, listing.site_id)}">{_esc(listing.display_name)}</a></h2>\n'
            f'<div id="reviews" data-film="{listing.site_id}">\n' + "\n".join(blocks) + "\n</div>\n"
            f'<p class="pager">{more}</p>'
        )
        return Page(
            200,
            self._shell(f"Reviews: {listing.display_name}", body, listing.charset),
            charset=listing.charset,
            header_charset=listing.charset == "utf-8",
        )


RENDERERS: dict[str, type[SiteRenderer]] = {
    "reelhub": ReelhubRenderer,
    "filmfolio": FilmfolioRenderer,
}
