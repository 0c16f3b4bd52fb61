"""A small "real-like" movie and TV site on loopback, built from the hand-written fixture pages.

``serve_realish_site()`` serves every page under ``fixtures/pages/`` at the path of the
URL in its ``.expected.json`` (the fixture host ``https://realish.test`` is replaced by
the loopback server), plus the pages a real site has around its title pages. Nothing on
it carries a class name made for a crawler: the fixture pages imitate how well-known
movie, TV and encyclopedia sites mark up their pages, and the generated pages below use
the same kind of hashed, framework-made class names.

What a crawler started at ``/`` (or at any page, thanks to robots.txt) meets:

* ``/robots.txt``: ``Disallow: /private/`` and ``/w/``, and ``Sitemap: <base>sitemap_index.xml``.
* ``/sitemap_index.xml``: a sitemap index naming ``/sitemap-pages.xml`` and
  ``/sitemap-titles.xml.gz`` (gzip bytes, ``Content-Type: application/x-gzip``). The
  title sitemap lists three titles that no page links to (``SITEMAP_ONLY``).
* ``/``: links to "Popular movies" (``/movies/popular``, paginated ``?page=N`` by page
  numbers and a "Next" text link, no ``rel``), "On the air" (``/tv/on-the-air/``,
  paginated ``/page/2/`` with ``rel="next"``), a top chart with ``ItemList`` JSON-LD,
  news, a search result page, an episode, two titles, an encyclopedia portal, two pages
  under ``/private/`` (robots.txt forbids them: never to be requested), a 404 title,
  and three links to other hosts (``127.0.0.2``, ``localhost`` and ``example.org``:
  never to be requested).
* Title pages in every markup family (JSON-LD in its common shapes, microdata, RDFa,
  OpenGraph only, encyclopedia infobox, plain HTML), some reached by several URLs that
  differ only in a ``?ref_=`` tracking parameter (one listing each is expected).
* ``/movie/512-paper-comets`` answers 429 with ``Retry-After: 1`` on its first request,
  then 200. ``/movie/733-crooked-meridian`` is truncated mid-tag (its JSON-LD is whole).
* Non-title pages: episodes (JSON-LD ``TVEpisode`` and ``og:type video.episode``), a
  person, a company, a video game, a news article, the chart, a search page.
* Review pages: ``/title/tt0000102/reviews/`` (HTML review blocks, the next page only
  a "Next ›" text link), ``/film/quiet-harbour/reviews/`` (stars, ``rel="next"`` to
  ``/page/2/``), ``/movie/ashfall-season/critic-reviews/`` (JSON-LD on a 0-100 scale);
  and reviews embedded in five title pages (JSON-LD and microdata, scales 5, 10, 100).

A correct crawl of this site collects exactly ``EXPECTED_TITLES`` (21 listings: path ->
(title, year, title_type)) and ``EXPECTED_REVIEW_COUNT`` (27) reviews, listed in
``EXPECTED_REVIEWS`` as (title path, author, rating normalised to 1-10 or None). Review
pages and embedded reviews never show the same review twice, so the count has no
ambiguity about de-duplicating across pages.

``variant="empty"`` serves only a home page and an about page (robots.txt and every
sitemap 404): a crawl of it must find 0 titles.
"""

from __future__ import annotations

import gzip
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import NamedTuple
from urllib.parse import unquote, urlsplit

FIXTURE_DIR = Path(__file__).resolve().parent / "fixtures" / "pages"
FIXTURE_ORIGIN = "https://realish.test"


@dataclass(frozen=True)
class FixturePage:
    """One hand-written page and what extraction must make of it."""

    family: str
    name: str
    html: str
    expected: dict

    @property
    def kind(self) -> str:
        return self.expected["kind"]

    @property
    def target(self) -> str:
        """Path and query the page is served at."""
        return target_of(self.expected["url"])

    @property
    def path(self) -> str:
        return urlsplit(self.expected["url"]).path


def target_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def load_fixture_pages() -> list[FixturePage]:
    pages = []
    for expected_path in sorted(FIXTURE_DIR.glob("*/*.expected.json")):
        name = expected_path.name.removesuffix(".expected.json")
        html_path = expected_path.with_name(f"{name}.html")
        pages.append(
            FixturePage(
                family=expected_path.parent.name,
                name=name,
                html=html_path.read_text(encoding="utf-8"),
                expected=json.loads(expected_path.read_text(encoding="utf-8")),
            )
        )
    return pages


FIXTURE_PAGES = load_fixture_pages()
TITLE_PAGES = [p for p in FIXTURE_PAGES if p.kind == "title"]
REVIEW_PAGES = [p for p in FIXTURE_PAGES if p.kind == "reviews"]
SKIP_PAGES = [p for p in FIXTURE_PAGES if p.kind == "skip"]

EXPECTED_TITLES: dict[str, tuple[str, int | None, str]] = {
    p.path: (p.expected["title"], p.expected["year"], p.expected["title_type"]) for p in TITLE_PAGES
}
EXPECTED_REVIEWS: list[tuple[str, str, int | None]] = [
    (p.path, r["author"], r["rating"]) for p in TITLE_PAGES for r in p.expected.get("reviews", [])
] + [
    (urlsplit(p.expected["title_url"]).path, r["author"], r["rating"])
    for p in REVIEW_PAGES
    for r in p.expected["reviews"]
]
EXPECTED_REVIEW_COUNT = len(EXPECTED_REVIEWS)
# Non-title pages and the reason their extraction is skipped (search results give none).
SKIPPED: dict[str, str] = {p.path: p.expected["reason"] for p in SKIP_PAGES if p.expected["reason"]}
REVIEW_TARGETS = [p.target for p in REVIEW_PAGES]

SITEMAP_ONLY = ("/series/the-orchard-wardens/", "/tv/456-copper-valley", "/tv-shows/kestrel-house/")
RETRY_PATH = "/movie/512-paper-comets"
TRUNCATED_PATH = "/movie/733-crooked-meridian"
MISSING_PATH = "/title/tt0009999/"
FORBIDDEN_PREFIXES = ("/private/", "/w/")
SITEMAP_TARGETS = ("/sitemap_index.xml", "/sitemap-titles.xml.gz", "/sitemap-pages.xml")
LISTING_TARGETS = (
    "/movies/popular",
    "/movies/popular?page=2",
    "/movies/popular?page=3",
    "/tv/on-the-air/",
    "/tv/on-the-air/page/2/",
)
# Person links the title pages use besides the person page's own URL.
ALIASES = {"/name/nm0000201/": "/name/nm0000203/"}

POPULAR_PAGES = [
    [
        ("/title/tt0000101/?ref_=pop_t_1", "The Lantern Keepers", "2019"),
        ("/title/tt0000102/?ref_=pop_t_2", "Salt Road Letters", "2022"),
        ("/movie/512-paper-comets", "Paper Comets", "2021"),
        ("/m/the_glass_orchard", "The Glass Orchard", "2017"),
    ],
    [
        ("/movies/mabel-and-the-tin-crown-2009", "Mabel &amp; the Tin Crown", "2009"),
        ("/movie/ashfall-season/", "Ashfall Season", "2006"),
        ("/films/lowland-choir-2008", "Lowland Choir", "2008"),
        ("/film/0042117/", "The Cartographer's Daughter", "2011"),
    ],
    [
        ("/archive/titles/verrow-pier-1987", "Midnight at Verrow Pier", "1987"),
        ("/films/ribbon-of-smoke", "Ribbon of Smoke", "2004"),
        ("/movies/harrow-lane/", "Harrow Lane", "2013"),
        ("/movie/ember-street/9931/", "Ember Street", "2015"),
        ("/movie/the-ninth-ferry/7310/", "The Ninth Ferry", "2010"),
        ("/movie/733-crooked-meridian", "Crooked Meridian", "2003"),
    ],
]
ON_THE_AIR_PAGES = [
    [("/shows/northbound-static/", "Northbound Static", "2018–2022")],
    [("/wiki/Lanternfish_(TV_series)", "Lanternfish", "2014–2018")],
]
TITLE_SITEMAP = [
    *SITEMAP_ONLY,
    "/title/tt0000101/",
    "/movie/ashfall-season/",
    "/films/ribbon-of-smoke",
]
PAGES_SITEMAP = ["/", "/movies/popular", "/tv/on-the-air/", "/about/"]


class Hit(NamedTuple):
    """One request a server answered."""

    method: str
    path: str
    status: int
    user_agent: str
    host: str
    at: float


@dataclass
class Response:
    status: int
    body: bytes
    content_type: str = "text/html; charset=utf-8"
    headers: tuple[tuple[str, str], ...] = ()


def _shell(title: str, body: str, head: str = "") -> str:
    return f"""<!DOCTYPE html>
<html lang="en-US">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
{head}
<link rel="stylesheet" href="/_next/static/css/4b1d3a9e0c2f7e61.css">
</head>
<body>
<div id="__next">
<header class="sc-5f0a904b-0 hXwQqL" role="banner">
  <a href="/" aria-label="Home" class="sc-5f0a904b-1 bNcYlz">Realish</a>
  <nav class="sc-5f0a904b-2 gKtzXw" aria-label="Main">
    <a class="sc-5f0a904b-3 eRWmnp" href="/movies/popular">Movies</a>
    <a class="sc-5f0a904b-3 eRWmnp" href="/tv/on-the-air/">TV shows</a>
  </nav>
</header>
<main class="sc-1c9a4b7e-0 jQpLdx">
{body}
</main>
<footer class="sc-7e2f1a0d-0 cMmVbk"><a class="sc-7e2f1a0d-1 fTzqhA" href="/about/">About</a> <span>© 2025 Realish Media</span></footer>
</div>
</body>
</html>
"""


def _cards(items: list[tuple[str, str, str]]) -> str:
    return "\n".join(
        f"""  <div class="sc-94e1c7d2-0 kMvRzT">
    <a class="sc-94e1c7d2-1 dQwHbN" href="{href}"><img class="sc-94e1c7d2-2 cXjLpe" alt="" src="/img/p/{i}.jpg"></a>
    <div class="sc-94e1c7d2-3 fBnWcY"><a class="sc-94e1c7d2-4 hVtkLq" href="{href}">{name}</a> <span class="sc-94e1c7d2-5 bZkTrs">{year}</span></div>
  </div>"""
        for i, (href, name, year) in enumerate(items)
    )


def popular_page(number: int) -> str:
    total = len(POPULAR_PAGES)
    numbers = " ".join(
        f'<span aria-current="page" class="sc-3e7b1c0f-2 kQzWmb">{n}</span>'
        if n == number
        else f'<a class="sc-3e7b1c0f-1 dLpXsa" href="?page={n}">{n}</a>'
        for n in range(1, total + 1)
    )
    previous = (
        f'<a class="sc-3e7b1c0f-1 dLpXsa" href="?page={number - 1}">Previous</a>'
        if number > 1
        else ""
    )
    following = (
        f'<a class="sc-3e7b1c0f-1 dLpXsa" href="?page={number + 1}">Next</a>'
        if number < total
        else ""
    )
    body = f"""<h1 class="sc-b8a2c6f1-0 gQxMnT">Popular movies</h1>
<section class="sc-e4a1f9b3-0 hRkYcV">
{_cards(POPULAR_PAGES[number - 1])}
</section>
<div class="sc-3e7b1c0f-0 bWnXkP">{previous} {numbers} {following}</div>"""
    return _shell(f"Popular movies - page {number} | Realish", body)


def on_the_air_page(number: int) -> str:
    head = ""
    nav = ""
    if number < len(ON_THE_AIR_PAGES):
        href = f"/tv/on-the-air/page/{number + 1}/"
        head = f'<link rel="next" href="{href}">'
        nav = f'<a class="sc-8d2e0b4a-1 cVnLqe" rel="next" href="{href}">Older shows</a>'
    if number > 1:
        back = "/tv/on-the-air/" if number == 2 else f"/tv/on-the-air/page/{number - 1}/"
        head += f'<link rel="prev" href="{back}">'
        nav = f'<a class="sc-8d2e0b4a-1 cVnLqe" rel="prev" href="{back}">Newer shows</a> ' + nav
    body = f"""<h1 class="sc-b8a2c6f1-0 gQxMnT">On the air</h1>
<section class="sc-e4a1f9b3-0 hRkYcV">
{_cards(ON_THE_AIR_PAGES[number - 1])}
</section>
<nav class="sc-8d2e0b4a-0 fPzKrt">{nav}</nav>"""
    return _shell(f"TV shows on the air - page {number} | Realish", body, head)


def home_page(base: str, offsite: str | None) -> str:
    port = urlsplit(base).port
    partner = (
        f'<li><a class="sc-2b8e5d1c-3 hXqVnL" href="{offsite}title/tt0000777/">Watch a partner exclusive</a></li>'
        if offsite
        else ""
    )
    body = f"""<section class="sc-2b8e5d1c-0 gTqBnP">
  <h2 class="sc-2b8e5d1c-1 eKwRtz">Featured today</h2>
  <ul class="sc-2b8e5d1c-2 fMzXcv">
    <li><a class="sc-2b8e5d1c-3 hXqVnL" href="/title/tt0000101/?ref_=hm_fea_1">The Lantern Keepers</a></li>
    <li><a class="sc-2b8e5d1c-3 hXqVnL" href="/film/quiet-harbour/">Quiet Harbour</a></li>
    <li><a class="sc-2b8e5d1c-3 hXqVnL" href="/title/tt0009999/">Coming soon: The Untitled Project</a></li>
  </ul>
</section>
<section class="sc-2b8e5d1c-0 gTqBnP">
  <h2 class="sc-2b8e5d1c-1 eKwRtz">Explore</h2>
  <ul class="sc-2b8e5d1c-2 fMzXcv">
    <li><a class="sc-2b8e5d1c-3 hXqVnL" href="/movies/popular">Popular movies</a></li>
    <li><a class="sc-2b8e5d1c-3 hXqVnL" href="/tv/on-the-air/">On the air</a></li>
    <li><a class="sc-2b8e5d1c-3 hXqVnL" href="/chart/top/">Top 250</a></li>
    <li><a class="sc-2b8e5d1c-3 hXqVnL" href="/wiki/Main_Page">Encyclopedia</a></li>
    <li><a class="sc-2b8e5d1c-3 hXqVnL" href="/search?q=lantern">Trending search: lantern</a></li>
    <li><a class="sc-2b8e5d1c-3 hXqVnL" href="/tv/456-copper-valley/season/1/episode/3">New episode: Copper Valley S1 E3</a></li>
    <li><a class="sc-2b8e5d1c-3 hXqVnL" href="/news/2025/03/ember-street-sequel">News: Ember Street sequel</a></li>
  </ul>
</section>
<section class="sc-2b8e5d1c-0 gTqBnP">
  <h2 class="sc-2b8e5d1c-1 eKwRtz">Members</h2>
  <ul class="sc-2b8e5d1c-2 fMzXcv">
    <li><a class="sc-2b8e5d1c-3 hXqVnL" href="/private/drafts/">Your drafts</a></li>
    <li><a class="sc-2b8e5d1c-3 hXqVnL" href="/private/title/tt0000900/">Preview: an unreleased title</a></li>
    <li><a class="sc-2b8e5d1c-3 hXqVnL" href="/registration/signin/">Sign in</a></li>
  </ul>
</section>
<section class="sc-2b8e5d1c-0 gTqBnP">
  <h2 class="sc-2b8e5d1c-1 eKwRtz">Partners</h2>
  <ul class="sc-2b8e5d1c-2 fMzXcv">
    {partner}
    <li><a class="sc-2b8e5d1c-3 hXqVnL" href="http://localhost:{port}/title/tt0000101/">Mirror</a></li>
    <li><a class="sc-2b8e5d1c-3 hXqVnL" href="https://example.org/">Official partner</a></li>
  </ul>
</section>"""
    return _shell("Realish: movies, TV shows, reviews", body)


def _title_page(name: str, year: str, description: str) -> str:
    data = {
        "@context": "https://schema.org",
        "@type": "Movie",
        "name": name,
        "description": description,
        "datePublished": f"{year}-01-01",
        "genre": ["Drama"],
    }
    head = f'<script type="application/ld+json">{json.dumps(data)}</script>'
    body = f"""<h1 class="sc-b8a2c6f1-0 gQxMnT">{escape(name)}</h1>
<p class="sc-b8a2c6f1-1 hTqXzw">{description}</p>"""
    return _shell(f"{escape(name)} ({year}) | Realish", body, head)


WIKI_MAIN = """<!DOCTYPE html>
<html lang="en" dir="ltr">
<head><meta charset="UTF-8"><title>Realipedia, the free encyclopedia</title></head>
<body class="skin-vector mediawiki ltr page-Main_Page rootpage-Main_Page skin-vector-2022 action-view">
<header class="vector-header mw-header"><a href="/wiki/Main_Page" class="mw-logo">Realipedia</a></header>
<main id="content" class="mw-body">
<h1 id="firstHeading" class="firstHeading mw-first-heading"><span class="mw-page-title-main">Main Page</span></h1>
<div id="mw-content-text" class="mw-body-content"><div class="mw-content-ltr mw-parser-output">
<div id="mp-tfa" style="padding:0.1em 0.6em;">
<h2 id="mp-tfa-h2" class="mp-h2">From today's featured article</h2>
<p><i><b><a href="/wiki/Glasshouse_Rain_(film)" title="Glasshouse Rain (film)">Glasshouse Rain</a></b></i> is a 1999 science fiction film about a botanist who keeps the weather running in a sealed city. (<b><a href="/wiki/Glasshouse_Rain_(film)" title="Glasshouse Rain (film)">Full article...</a></b>)</p>
</div>
</div></div>
</main>
</body>
</html>
"""

ABOUT = _shell(
    "About Realish",
    '<h1 class="sc-b8a2c6f1-0 gQxMnT">About Realish</h1>\n'
    '<p class="sc-b8a2c6f1-1 hTqXzw">Realish is a community database of films and television, '
    "written by volunteers since 2011. Everything here is invented for testing.</p>",
)
SIGNIN = _shell(
    "Sign in | Realish",
    '<h1 class="sc-b8a2c6f1-0 gQxMnT">Sign in</h1>\n'
    '<form class="sc-6a1d0e3f-0 kPqRvb" method="post" action="/registration/signin/">'
    '<input type="email" name="email"><input type="password" name="password">'
    "<button>Sign in</button></form>",
)
PRIVATE_DRAFTS = _shell(
    "Your drafts | Realish",
    '<h1 class="sc-b8a2c6f1-0 gQxMnT">Your drafts</h1>\n'
    + _cards([("/private/title/tt0000900/", "Unreleased Draft", "2027")]),
)
PRIVATE_TITLE = _title_page(
    "Unreleased Draft",
    "2026",
    "A draft page that robots.txt forbids; a polite crawler never sees this plot.",
)
OFFSITE_TITLE = _title_page(
    "Partner Exclusive",
    "2024",
    "A title on another host; a crawler that stays on its source's host never sees it.",
)
NOT_FOUND = _shell(
    "404 Not Found | Realish",
    '<h1 class="sc-b8a2c6f1-0 gQxMnT">Page not found</h1>\n'
    '<p class="sc-b8a2c6f1-1 hTqXzw">The page you requested does not exist.</p>',
)
EMPTY_HOME = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Realish is coming soon</title></head>
<body><header><a href="/">Realish</a></header>
<main><h1>Coming soon</h1><p>We are building a community database of films and television.</p>
<p><a href="/about/">About the project</a></p></main></body></html>
"""
EMPTY_ABOUT = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>About | Realish</title></head>
<body><header><a href="/">Realish</a></header>
<main><h1>About</h1><p>Realish is a volunteer project. There is nothing to see yet.</p></main></body></html>
"""


def _urlset(base: str, paths: list[str]) -> bytes:
    urls = "\n".join(
        f"  <url><loc>{escape(base.rstrip('/') + p)}</loc><lastmod>2026-11-19</lastmod></url>"
        for p in paths
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
        f"{urls}\n</urlset>\n"
    ).encode()


def robots_txt(base: str) -> str:
    return (
        "# robots.txt for Realish\n"
        "User-agent: *\n"
        "Disallow: /private/\n"
        "Disallow: /w/\n"
        "\n"
        f"Sitemap: {base}sitemap_index.xml\n"
    )


def sitemap_index(base: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
        f"  <sitemap><loc>{base}sitemap-pages.xml</loc><lastmod>2026-11-19</lastmod></sitemap>\n"
        f"  <sitemap><loc>{base}sitemap-titles.xml.gz</loc><lastmod>2026-11-19</lastmod></sitemap>\n"
        "</sitemapindex>\n"
    )


def _html(status: int, text: str) -> Response:
    return Response(status, text.encode("utf-8"))


class RealishSite:
    """Routes, state (the one-shot 429) and the request log of one running site."""

    def __init__(self, variant: str = "default") -> None:
        if variant not in ("default", "empty"):
            raise ValueError(f"unknown variant {variant!r}")
        self.variant = variant
        self.url = ""
        self.offsite_url: str | None = None
        self.log: list[Hit] = []
        self._lock = threading.Lock()
        self._throttled: set[str] = set()
        self.routes: dict[str, Response] = {}

    def build(self, base: str, offsite: str | None) -> None:
        """Render every page for the server's real base URL (``http://127.0.0.1:PORT/``)."""
        self.url, self.offsite_url = base, offsite
        if self.variant == "empty":
            self.routes = {"/": _html(200, EMPTY_HOME), "/about/": _html(200, EMPTY_ABOUT)}
            return
        routes = {page.target: _html(200, page.html) for page in FIXTURE_PAGES}
        for alias, target in ALIASES.items():
            routes[alias] = routes[target]
        routes["/"] = _html(200, home_page(base, offsite))
        routes["/about/"] = _html(200, ABOUT)
        routes["/registration/signin/"] = _html(200, SIGNIN)
        routes["/wiki/Main_Page"] = _html(200, WIKI_MAIN)
        routes["/private/drafts/"] = _html(200, PRIVATE_DRAFTS)
        routes["/private/title/tt0000900/"] = _html(200, PRIVATE_TITLE)
        routes["/movies/popular"] = _html(200, popular_page(1))
        for number in range(1, len(POPULAR_PAGES) + 1):
            routes[f"/movies/popular?page={number}"] = _html(200, popular_page(number))
        routes["/tv/on-the-air/"] = _html(200, on_the_air_page(1))
        for number in range(2, len(ON_THE_AIR_PAGES) + 1):
            routes[f"/tv/on-the-air/page/{number}/"] = _html(200, on_the_air_page(number))
        routes["/robots.txt"] = Response(200, robots_txt(base).encode(), "text/plain")
        routes["/sitemap_index.xml"] = Response(
            200, sitemap_index(base).encode(), "application/xml; charset=utf-8"
        )
        routes["/sitemap-pages.xml"] = Response(
            200, _urlset(base, PAGES_SITEMAP), "application/xml; charset=utf-8"
        )
        routes["/sitemap-titles.xml.gz"] = Response(
            200, gzip.compress(_urlset(base, TITLE_SITEMAP), mtime=0), "application/x-gzip"
        )
        self.routes = routes

    def respond(self, target: str) -> Response:
        parts = urlsplit(target)
        path = unquote(parts.path)
        full = path + (f"?{parts.query}" if parts.query else "")
        response = self.routes.get(full) or self.routes.get(path)
        if response is None:
            return _html(404, NOT_FOUND)
        if self.variant == "default" and path == RETRY_PATH:
            with self._lock:
                first = path not in self._throttled
                self._throttled.add(path)
            if first:
                return Response(
                    429,
                    b"<html><body><h1>429 Too Many Requests</h1></body></html>",
                    headers=(("Retry-After", "1"),),
                )
        return response


def _handler(site: RealishSite, offsite: bool = False) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "nginx"
        sys_version = ""

        def _serve(self, with_body: bool) -> None:
            response = _html(200, OFFSITE_TITLE) if offsite else site.respond(self.path)
            # Logged before answering: a client that has its answer (or hangs up while it
            # is written) can never find its request missing from the log.
            site.log.append(
                Hit(
                    self.command,
                    self.path,
                    response.status,
                    self.headers.get("User-Agent", ""),
                    self.headers.get("Host", ""),
                    time.monotonic(),
                )
            )
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(response.body)))
            for name, value in response.headers:
                self.send_header(name, value)
            self.end_headers()
            if with_body:
                self.wfile.write(response.body)

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            self._serve(with_body=True)

        def do_HEAD(self) -> None:  # noqa: N802
            self._serve(with_body=False)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            """Quiet: requests are kept in ``site.log``."""

    return Handler


@contextmanager
def serve_realish_site(variant: str = "default") -> Iterator[RealishSite]:
    """Serve the site on ``127.0.0.1`` (any free port) for the duration of the block.

    ``.url`` is the base URL (``http://127.0.0.1:PORT/``); ``.log`` lists every request
    (``Hit``: method, path, status, user_agent, host, at), including any that reached the
    off-site host at ``.offsite_url`` (``127.0.0.2``, none when it cannot be bound).
    """
    site = RealishSite(variant)
    servers = [ThreadingHTTPServer(("127.0.0.1", 0), _handler(site))]
    offsite = None
    if variant == "default":
        try:
            servers.append(ThreadingHTTPServer(("127.0.0.2", 0), _handler(site, offsite=True)))
            offsite = f"http://127.0.0.2:{servers[1].server_address[1]}/"
        except OSError:
            pass
    site.build(f"http://127.0.0.1:{servers[0].server_address[1]}/", offsite)
    threads = []
    for server in servers:
        server.daemon_threads = True
        thread = threading.Thread(target=server.serve_forever, name="realish-site", daemon=True)
        thread.start()
        threads.append(thread)
    try:
        yield site
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()
        for thread in threads:
            thread.join(timeout=5)


if __name__ == "__main__":  # pragma: no cover - manual exploration
    with serve_realish_site() as running:
        print(f"serving {running.url} (Ctrl-C to stop)")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
