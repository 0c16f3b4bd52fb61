"""Variants of pagination links and microdata seen on real pages, as small hand-written
snippets: next-page links made of an image or labelled only by ``aria-label``/``title``,
offset pagination (``?start=10``), "Next" links that lead to a sibling title rather than
a further page, nested top-level items, property names in another case, and property
values whose text is split over block elements."""

from __future__ import annotations

from urllib.parse import urljoin

import pytest
from parsel import Selector

from scrapers import extract

SITE = "https://site.test"


def _next(html: str, url: str) -> str | None:
    return extract.page_links(Selector(text=html), url).next_page


# -- next page: links without text ------------------------------------------------------


def test_image_only_next_link_with_offset_pagination() -> None:
    html = (
        '<a href="reviews?start=0">[1]</a> <a href="reviews?start=10">[2]</a> '
        '<a href="reviews?start=10"><img src="n.gif" alt="[Next]"></a>'
    )
    url = f"{SITE}/title/t1/reviews"
    assert _next(html, url) == f"{SITE}/title/t1/reviews?start=10"


@pytest.mark.parametrize(
    "anchor",
    [
        '<a href="/films/?after=k3" aria-label="Next"><svg><path d="M0 0"/></svg></a>',
        '<a href="/films/?after=k3" title="Next page"><span class="icon"></span></a>',
        '<a href="/films/?after=k3"><img src="arrow.png" alt="Next »"></a>',
    ],
)
def test_next_link_named_only_by_label_or_image(anchor: str) -> None:
    # A cursor, not a page number: only the link's label says it is the next page.
    html = f'<a href="/films/?before=k1">Newer</a> {anchor}'
    assert _next(html, f"{SITE}/films/?after=k2") == f"{SITE}/films/?after=k3"


# -- next page: offset pagination -------------------------------------------------------


def test_offset_pagination_without_a_next_link() -> None:
    html = "".join(
        f'<a href="/search?q=film&amp;start={n}">{i + 1}</a>' for i, n in enumerate((0, 10, 20, 30))
    )
    assert _next(html, f"{SITE}/search?q=film&start=10") == f"{SITE}/search?q=film&start=20"


def test_offset_pagination_from_the_first_page() -> None:
    html = '<a href="?offset=40">3</a> <a href="?offset=20">2</a> <a href="/other?offset=5">x</a>'
    assert _next(html, f"{SITE}/lists/popular") == f"{SITE}/lists/popular?offset=20"


def test_offset_of_another_listing_is_not_the_next_page() -> None:
    html = '<a href="/news?start=10">More news</a> <a href="/search?q=other&amp;start=10">2</a>'
    assert _next(html, f"{SITE}/search?q=film") is None


def test_page_parameter_among_others() -> None:
    html = '<a href="/search?q=film&amp;page=1">1</a> <a href="/search?q=film&amp;page=3">3</a>'
    assert _next(html, f"{SITE}/search?q=film&page=2") == f"{SITE}/search?q=film&page=3"


# -- next page: a sibling title is not a further page -----------------------------------


@pytest.mark.parametrize(
    "nav",
    [
        '<a href="/title/t0/">Prev</a> | <a href="/title/t2/">Next</a>',
        '<a href="/title/t0/">«</a> <a href="/title/t2/">»</a>',
        '<a class="prev" href="/title/t0/">Previous episode</a>'
        ' <a class="next" href="/title/t2/">Episode 3</a>',
        '<a href="/title/t2/" aria-label="Next"><img src="r.png" alt=""></a>',
    ],
)
def test_next_title_is_not_pagination(nav: str) -> None:
    html = f"<h1>Show: Episode 2</h1><div>{nav}</div>"
    assert _next(html, f"{SITE}/title/t1/") is None


def test_next_text_link_to_a_further_page_of_the_same_list_is_kept() -> None:
    html = '<a href="/list/quiet/page/1/">1</a> <a href="/list/quiet/page/3/">Next ›</a>'
    assert _next(html, f"{SITE}/list/quiet/page/2/") == f"{SITE}/list/quiet/page/3/"


def test_next_text_link_with_a_cursor_on_the_same_path_is_kept() -> None:
    html = '<a href="/title/t1/reviews?after=c2x9">Load more</a>'
    url = f"{SITE}/title/t1/reviews"
    assert _next(html, url) == f"{SITE}/title/t1/reviews?after=c2x9"


def test_rel_next_is_still_trusted() -> None:
    html = '<link rel="next" href="/archive/older-posts"><a href="/title/t2/">Next</a>'
    assert _next(html, f"{SITE}/archive/") == f"{SITE}/archive/older-posts"


# -- microdata: nested top-level items --------------------------------------------------


NESTED = """
<div itemscope itemtype="http://schema.org/Movie"><span itemprop="name">Outer</span>
  <div itemscope itemtype="http://schema.org/Movie"><h3 itemprop="name">Inner</h3>
    <div itemprop="review" itemscope itemtype="http://schema.org/Review">
      <span itemprop="author">Ann</span>
      <span itemprop="reviewBody">A body that is long enough to be kept.</span>
    </div>
  </div>
</div>"""


def test_itemscope_without_itemprop_inside_an_item_is_its_own_item() -> None:
    items = extract.microdata_of(Selector(text=NESTED))
    names = sorted(item.get("name") for item in items)
    assert names == ["Inner", "Outer"]  # neither item takes the other's properties
    inner = next(item for item in items if item.get("name") == "Inner")
    assert inner["review"]["author"] == "Ann"
    assert inner["review"]["reviewBody"] == "A body that is long enough to be kept."


def test_reviews_in_a_wrapped_item_are_found_as_microdata() -> None:
    html = NESTED.replace('<span itemprop="name">Outer</span>', "")
    result = extract.extract_reviews(Selector(text=html), page_url=f"{SITE}/title/t1/reviews")
    assert result.method == "microdata"
    assert [(r["author"], r["text"]) for r in result.records] == [
        ("Ann", "A body that is long enough to be kept.")
    ]


def test_an_item_with_properties_comes_before_an_empty_wrapper() -> None:
    html = NESTED.replace('<span itemprop="name">Outer</span>', "")
    items = extract.microdata_of(Selector(text=html))
    assert items[0]["name"] == "Inner"
    assert items[-1] == {"@type": "http://schema.org/Movie"}


def test_rdfa_typeof_without_property_inside_an_item_is_its_own_item() -> None:
    html = (
        '<div vocab="https://schema.org/" typeof="WebPage"><span property="name">Page</span>'
        '<div typeof="Movie"><span property="name">Film</span></div></div>'
    )
    items = extract.rdfa_of(Selector(text=html))
    assert sorted((item["@type"], item["name"]) for item in items) == [
        ("Movie", "Film"),
        ("WebPage", "Page"),
    ]


# -- microdata: property names in another case -----------------------------------------


def test_property_names_match_schema_org_whatever_their_case() -> None:
    html = """<div itemscope itemtype="http://schema.org/Movie"><h3 itemprop="Name">M</h3>
      <div itemprop="review" itemscope itemtype="http://schema.org/Review">
        <span itemprop="author">Ann</span>
        <div itemprop="reviewbody">A body that is long enough to be kept.</div>
        <span itemprop="REVIEWRATING" itemscope itemtype="http://schema.org/Rating">
          <meta itemprop="ratingvalue" content="8"><meta itemprop="bestrating" content="10">
        </span>
      </div></div>"""
    (item,) = extract.microdata_of(Selector(text=html))
    assert item["name"] == "M"
    review = item["review"]
    assert review["reviewBody"] == "A body that is long enough to be kept."
    assert review["reviewRating"] == {
        "@type": "http://schema.org/Rating",
        "ratingValue": "8",
        "bestRating": "10",
    }
    result = extract.extract_reviews(Selector(text=html), page_url=f"{SITE}/title/t1/reviews")
    assert result.method == "microdata"
    assert result.records[0]["text"] == "A body that is long enough to be kept."


def test_unknown_property_names_are_kept_as_written() -> None:
    html = '<div itemscope itemtype="http://example.test/Thing"><b itemprop="fooBarBaz">x</b></div>'
    assert extract.microdata_of(Selector(text=html)) == [
        {"@type": "http://example.test/Thing", "fooBarBaz": "x"}
    ]


# -- microdata: text split over block elements ------------------------------------------


@pytest.mark.parametrize(
    ("inner", "expected"),
    [
        ("<h1>Ao no Hako</h1><br><p>Blue Box</p>", "Ao no Hako Blue Box"),
        ("Ao no Hako<br>Blue Box", "Ao no Hako Blue Box"),
        ("<div>One</div><div>Two</div>", "One Two"),
        ("<ul><li>Drama</li><li>Romance</li></ul>", "Drama Romance"),
        ("Blue<b>Box</b> <i>Story</i>", "BlueBox Story"),  # inline elements join
        ("  Film&nbsp;\n  <span>(2015)</span> ", "Film (2015)"),
        ("Film<!-- a comment -->Title<script>var x = 1;</script>", "FilmTitle"),
    ],
)
def test_property_text_separates_block_elements(inner: str, expected: str) -> None:
    html = f'<div itemscope itemtype="http://schema.org/TVSeries"><div itemprop="name">{inner}</div></div>'
    assert extract.microdata_of(Selector(text=html))[0]["name"] == expected


def test_listing_title_from_a_name_split_over_blocks() -> None:
    html = (
        '<div itemscope itemtype="http://schema.org/TVSeries"><div itemprop="name"><h1>Ao no Hako</h1>'
        '<br><p>Blue Box</p></div><p itemprop="description">A plot long enough to be a plot of'
        " the series.</p></div>"
    )
    result = extract.extract_listing(Selector(text=html), f"{SITE}/title/t1/")
    assert "HakoBlue" not in result.records[0]["title"]


def test_the_titles_own_comments_beat_a_site_menus_reviews_link() -> None:
    """A site-wide menu's "Reviews" (the best reviews of every film) is not this title's;
    its short reviews are on the comments page under its own path."""
    page = """<nav><a href="/review/best/">Reviews</a><a href="/explore">Explore</a></nav>
    <h1>Seven Lanterns</h1><div id="comments-section"><h2>Short comments
    <a href="/subject/42/comments?status=P">All 1,204</a></h2></div>"""
    links = extract.page_links(Selector(text=page), "https://films.example/subject/42/")
    assert links.reviews == "https://films.example/subject/42/comments?status=P"


def test_external_reviews_are_not_the_titles_reviews() -> None:
    page = """<h1>Seven Lanterns</h1><a href="/title/t1/externalreviews">external reviews</a>
    <a href="/title/t1/usercomments">user comments</a>"""
    links = extract.page_links(Selector(text=page), "https://films.example/title/t1/")
    assert links.reviews == "https://films.example/title/t1/usercomments"


@pytest.mark.parametrize(
    ("page_url", "href", "expected"),
    [
        # A site-wide page of other titles' reviews is not this title's reviews link.
        ("https://films.example/", "/reviews/popular/this/week/", None),
        ("https://films.example/film/seven-lanterns/", "/reviews/popular/", None),
        # Under the title's path, by its id, or by its number: this title's.
        ("https://films.example/film/seven-lanterns/", "/film/seven-lanterns/reviews/", "same"),
        ("https://films.example/title/t100/", "/reviews?title=t100", "same"),
        (
            "https://films.example/film/fichefilm_gen_cfilm=12345.html",
            "/film/fichefilm-12345/critiques/spectateurs/",
            "same",
        ),
    ],
)
def test_the_reviews_link_names_this_title(page_url: str, href: str, expected: str | None) -> None:
    page = f'<h1>Seven Lanterns</h1><a href="{href}">Reviews</a>'
    links = extract.page_links(Selector(text=page), page_url)
    assert links.reviews == (None if expected is None else urljoin(page_url, href))
