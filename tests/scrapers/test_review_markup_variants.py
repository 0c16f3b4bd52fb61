"""Review extraction on markup variants seen on real sites, in small hand-written pages.

Each test names the shape it covers: two-valued (vote) rating scales, placeholder
authors, review lists whose items differ by a modifier class, review lists nested below
the element marked "reviews", and old unclassed lists of header + body pairs with the
rating only in an image's ``alt``. Ratings are checked after ``normalize_review``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from parsel import Selector

from scrapers import extract
from scrapers.extract.reviews import _header_body_pairs
from scrapers.pipelines import normalize_review

CRAWL_DATE = "2026-11-20"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def _reviews(html: str, url: str = "https://site.test/title/t1/reviews") -> list[dict]:
    result = extract.extract_reviews(Selector(text=html), page_url=url)
    return [
        normalize_review({**r, "source": "x", "source_title_id": "t1"}, CRAWL_DATE)
        for r in result.records
    ]


def _summary(reviews: list[dict]) -> list[tuple]:
    return [(r["author"], r["rating"], r["review_date"]) for r in reviews]


def _jsonld_review(author: str, rating: dict | None, body: str) -> dict:
    review = {"@type": "Review", "author": {"@type": "Person", "name": author}}
    review["reviewBody"] = body
    if rating is not None:
        review["reviewRating"] = {"@type": "Rating", **rating}
    return review


def _jsonld_page(*reviews: dict) -> str:
    data = {"@context": "https://schema.org", "@type": "Movie", "name": "Film"}
    data["review"] = list(reviews)
    return f'<script type="application/ld+json">{json.dumps(data)}</script>'


# -- F1: a vote on a two-valued scale is not a 1-10 rating --------------------------------


@pytest.mark.parametrize(
    ("value", "best", "worst"),
    [
        (1, "1", "-1"),  # up / fresh
        (-1, "1", "-1"),  # down / rotten
        (0, "1", "-1"),  # neutral
        (1, 1, 0),  # thumbs up on 0/1
        (0, 1, 0),  # thumbs down on 0/1
        (1, 1, None),  # "1 of 1", bottom not stated
    ],
)
def test_a_vote_on_a_two_valued_scale_keeps_the_review_without_a_rating(value, best, worst) -> None:
    rating = {"ratingValue": value, "bestRating": best}
    if worst is not None:
        rating["worstRating"] = worst
    page = _jsonld_page(_jsonld_review("Ann Lee", rating, "A generous and well made film."))
    (review,) = _reviews(page)
    assert review["rating"] is None
    assert review["author"] == "Ann Lee"
    assert review["text"] == "A generous and well made film."


@pytest.mark.parametrize(
    ("value", "best", "worst", "expected"),
    [
        (0.75, 1, 0, 8),  # a fraction of 1 is a score, not a vote
        (4, 5, 1, 8),
        (3, 4, None, 8),
        (85, 100, 0, 9),
        (7, 10, 1, 7),
    ],
)
def test_graded_scales_still_give_ratings(value, best, worst, expected) -> None:
    rating = {"ratingValue": value, "bestRating": best}
    if worst is not None:
        rating["worstRating"] = worst
    page = _jsonld_page(_jsonld_review("Ann Lee", rating, "A generous and well made film."))
    assert _reviews(page)[0]["rating"] == expected


@pytest.mark.parametrize(
    ("value", "best", "worst"), [(1, 1, -1), (-1, 1, -1), (0, 1, 0), ("1/1", None, None)]
)
def test_normalize_rating_gives_no_rating_for_a_vote(value, best, worst) -> None:
    assert extract.normalize_rating(value, best=best, worst=worst) is None


def test_a_vote_in_a_rating_label_gives_no_rating() -> None:
    page = """<ul>
    <li class="review"><span class="author">Ann</span><span aria-label="Rating: 1 out of 1"></span>
      <p class="review-text">Warm, funny and far better than it had to be.</p></li>
    <li class="review"><span class="author">Bob</span><span aria-label="Rating: 0 out of 1"></span>
      <p class="review-text">Cold, slow and far worse than it needed to be.</p></li>
    </ul>"""
    assert _summary(_reviews(page)) == [("Ann", None, None), ("Bob", None, None)]


# -- F2: placeholder authors ----------------------------------------------------------------


@pytest.mark.parametrize("name", ["NA", "N/A", "n.a.", "null", "None", "undefined", "-", " — "])
def test_placeholder_author_in_structured_data_is_no_author(name: str) -> None:
    page = _jsonld_page(_jsonld_review(name, None, "A generous and well made film."))
    (review,) = _reviews(page)
    assert review["author"] is None
    assert review["text"] == "A generous and well made film."


@pytest.mark.parametrize("name", ["Nadia", "Na Yeon", "nonesuch", "Ann-Marie", "J."])
def test_real_short_names_are_kept(name: str) -> None:
    page = _jsonld_page(_jsonld_review(name, None, "A generous and well made film."))
    assert _reviews(page)[0]["author"] == name


@pytest.mark.parametrize("name", ["N/A", "  null ", "undefined", "-", "<b>NA</b>"])
def test_normalize_review_drops_a_placeholder_author(name: str) -> None:
    record = {"source": "x", "source_title_id": "t1", "author": name, "text": "Fine film."}
    assert normalize_review(record, CRAWL_DATE)["author"] is None


def test_placeholder_author_in_markup_is_no_author() -> None:
    page = """<div class="reviews">
    <div class="review"><span class="author">N/A</span><span class="date">2 March 2021</span>
      <p>An honest film about dishonest people, well acted throughout.</p></div>
    <div class="review"><span class="author">Bob Roe</span><span class="date">3 March 2021</span>
      <p>Too long by half an hour, but the ending earns its silence.</p></div>
    </div>"""
    assert _summary(_reviews(page)) == [(None, None, "2021-03-02"), ("Bob Roe", None, "2021-03-03")]


# -- F3: a modifier class that differs does not split one list ----------------------------


def test_alternating_modifier_classes_are_one_list() -> None:
    page = """<ul>
    <li class="review-item pull-left"><a href="/user/ann">Ann</a><span class="date">2 Jan 2020</span>
      <div class="review-text">First review, long enough to count as one.</div></li>
    <li class="review-item pull-right"><a href="/user/bob">Bob</a><span class="date">3 Jan 2020</span>
      <div class="review-text">Second review, long enough to count as one.</div></li>
    <li class="review-item pull-left"><a href="/user/cy">Cy</a><span class="date">4 Jan 2020</span>
      <div class="review-text">Third review, long enough to count as one.</div></li>
    </ul>"""
    assert [r["author"] for r in _reviews(page)] == ["Ann", "Bob", "Cy"]


def test_rows_marked_odd_and_even_are_one_list() -> None:
    page = """<div class="list">
    <div class="entry odd"><span class="name">Ann</span><span class="posted">5 May 2019</span>
      <p>Odd rows and even rows are the same kind of thing here.</p></div>
    <div class="entry even"><span class="name">Bob</span><span class="posted">6 May 2019</span>
      <p>So a reader should see all three of them, not only two.</p></div>
    <div class="entry odd"><span class="name">Cy</span><span class="posted">7 May 2019</span>
      <p>And the third one belongs to the very same list as well.</p></div>
    </div>"""
    assert _summary(_reviews(page)) == [
        ("Ann", None, "2019-05-05"),
        ("Bob", None, "2019-05-06"),
        ("Cy", None, "2019-05-07"),
    ]


def test_a_look_alike_block_elsewhere_on_the_page_is_not_joined() -> None:
    page = """<main>
    <section class="review box summary"><h3>Summary by the editors</h3>
      <p>Two sisters inherit a failing lighthouse and a feud that comes with it.</p></section>
    <section class="facts"><h3>Facts</h3><p>Runtime 104 minutes, released in 2016.</p></section>
    <section class="review box"><h3>Review by Ann Lee</h3>
      <p>A patient film that trusts its actors and its weather, and by the last reel it has won over even the doubters in the room.</p></section>
    </main>"""
    (review,) = _reviews(page)  # the summary is not a second review
    assert "patient film" in review["text"]
    assert "lighthouse" not in review["text"]


# -- F4: reviews nested below the one element marked "reviews" ----------------------------


def test_reviews_nested_below_the_reviews_container_are_found() -> None:
    page = """<section class="recent-reviews">
    <section class="popular-reviews"><h2>Popular reviews</h2><ul>
      <li class="entry"><a href="/ann/">Ann</a>
        <div class="body-text"><p>Unrated, but a long enough note by Ann on the film.</p></div></li>
      <li class="entry"><a href="/bob/">Bob</a><span class="rating rated-8">★★★★</span>
        <div class="body-text"><p>Rated by Bob, and long enough to count as well.</p></div></li>
      <li class="entry"><a href="/cy/">Cy</a><span class="rating rated-4">★★</span>
        <div class="body-text"><p>Rated low by Cy, who did not like the ending at all.</p></div></li>
    </ul></section>
    <div class="lazy-load"></div>
    </section>"""
    reviews = _reviews(page)
    assert _summary(reviews) == [("Ann", None, None), ("Bob", 8, None), ("Cy", 4, None)]
    assert reviews[0]["text"] == "Unrated, but a long enough note by Ann on the film."


def test_one_review_with_several_paragraphs_stays_one_review() -> None:
    page = """<main><div class="user-review"><h3>Lovely</h3>
    <span class="author">Ann</span><span class="rating">8/10</span>
    <p>First paragraph of the one review, long enough to count here.</p>
    <p>Second paragraph of the one review, long enough to count too.</p>
    </div></main>"""
    (review,) = _reviews(page)
    assert (review["author"], review["rating"]) == ("Ann", 8)
    assert "First paragraph" in review["text"] and "Second paragraph" in review["text"]


# -- F5: unclassed header + body pairs, rating in an image's alt text ---------------------

_PAIRS = """<div id="content">
<p>Page 1 of 4</p>
<hr><div><small>7 of 9 people found this useful:</small><br>
  <h2>Quietly great</h2><img src="/s/90.gif" alt="9/10"><br>
  <b>Author:</b> <a href="/user/u100/">Ann Lee</a> <small>from Leeds</small><br>
  <small>31 July 2001</small></div>
<p>The first body, which is plainly long enough to be a review of the film.</p>
<div class="vote">Was the above review useful to you? Yes No</div>
<hr><div><small>3 of 8 people found this useful:</small><br>
  <h2>Fine, no more</h2><img src="/s/60.gif" alt="6/10"><br>
  <b>Author:</b> <a href="/user/u200/">Bob Roe</a><br>
  <small>4 January 2005</small></div>
<p>The second body, which is plainly long enough to be a review as well.</p>
<div class="vote">Was the above review useful to you? Yes No</div>
<hr></div>"""


def test_header_and_body_pairs_are_reviews() -> None:
    reviews = _reviews(_PAIRS)
    assert _summary(reviews) == [("Ann Lee", 9, "2001-07-31"), ("Bob Roe", 6, "2005-01-04")]
    assert reviews[0]["text"].startswith("The first body")
    assert not any("useful" in r["text"] for r in reviews)


def test_rating_image_alt_text_is_read_in_a_review_block() -> None:
    page = """<ul>
    <li class="review"><span class="author">Ann</span><img alt="7/10" src="7.png">
      <p>Handsome, slow and sad, and I would watch it again tomorrow.</p></li>
    <li class="review"><span class="author">Bob</span><img alt="3 / 5" src="3.png">
      <p>Handsome enough, but slow and sad without much reason for it.</p></li>
    </ul>"""
    assert _summary(_reviews(page)) == [("Ann", 7, None), ("Bob", 6, None)]


def test_an_image_alt_that_is_not_a_score_is_no_rating() -> None:
    page = """<ul>
    <li class="review"><span class="author">Ann</span><img alt="Ann's avatar" src="a.png">
      <p>Handsome, slow and sad, and I would watch it again tomorrow.</p></li>
    <li class="review"><span class="author">Bob</span><img alt="poster 2019" src="p.png">
      <p>Handsome enough, but slow and sad without much reason for it.</p></li>
    </ul>"""
    assert [r["rating"] for r in _reviews(page)] == [None, None]


@pytest.mark.parametrize(
    "page",
    [
        # Questions and answers: a heading, then prose; nothing a review carries.
        "<div>"
        + "<div><h3>Where was it filmed?</h3></div><p>Mostly on the coast, over two cold summers.</p>"
        * 3
        + "</div>",
        # News items: a headline and a date, then a summary: one sign is not enough.
        "<div>" + "<div><h3>Sequel announced</h3><small>2 May 2024</small></div>"
        "<p>The studio says the cast returns and shooting starts in the autumn.</p>" * 3 + "</div>",
        # One header and body pair alone is not a list.
        "<div><p>Intro text that is long enough to be a paragraph here.</p>"
        '<div><img alt="8/10" src="s.gif"><a href="/user/u1/">Ann</a> <small>2 May 2024</small></div>'
        "<p>A single body that is long enough to be a review on its own.</p></div>",
    ],
)
def test_ordinary_header_and_paragraph_pages_give_no_reviews(page: str) -> None:
    assert _reviews(page) == []


def _fixture_pages() -> list[Path]:
    return sorted(FIXTURES.glob("*/*/*.html"))


@pytest.mark.parametrize("path", _fixture_pages(), ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_no_fixture_page_is_read_as_header_and_body_pairs(path: Path) -> None:
    """None of the hand-written fixture pages (titles, lists, people, review pages with
    classed markup) is a list of header and body pairs."""
    assert _header_body_pairs(Selector(text=path.read_text(encoding="utf-8"))) == []


def test_a_bar_of_links_marked_review_is_no_review() -> None:
    """A title page's "Reviews: 18 user | 131 critic" bar, marked with a review class,
    is links to the reviews pages, not a review."""
    page = """<h1>Seven Lanterns</h1>
    <div class="titleReviewBar"><div class="reviewBarItem"><div>Reviews</div>
    <span class="subText"><a href="reviews">18 user</a> <span>|</span>
    <a href="externalreviews">131 critic</a></span></div></div>"""
    result = extract.extract_reviews(Selector(text=page), page_url="https://x.test/title/t1/")
    assert result.records == []
    # One short review with a link in it is still a review.
    page = """<div class="review"><span class="author">Ann</span>
    <p class="review-text">Loved it, see <a href="/list">my list</a> of winter films.</p></div>"""
    records = extract.extract_reviews(Selector(text=page), page_url="https://x.test/t/1").records
    assert [r["author"] for r in records] == ["Ann"]


@pytest.mark.parametrize(
    ("klass", "rating"),
    [("allstar30 rating", 6), ("allstar50 rating", 10), ("stars-45", 9), ("star-rating-4", 8)],
)
def test_star_scores_in_class_names(klass: str, rating: int) -> None:
    """ "allstar30" is three stars of five written in tenths; "star-rating-4" four of five."""
    block = f"""<div class="comment-item"><a href="/people/ann/">Ann</a>
    <span class="{klass}"></span><span class="comment-time">2016-09-12</span>
    <p>A tender, surprising film about friendship that rewards patience.</p></div>"""
    page = f"<div class='comments'>{block}{block.replace('ann', 'bob').replace('Ann', 'Bob')}</div>"
    records = extract.extract_reviews(Selector(text=page), page_url="https://x.test/t/1").records
    assert [normalize_review({**r, "source": "x"})["rating"] for r in records] == [rating] * 2


def test_short_reviews_in_east_asian_scripts_keep_their_text() -> None:
    """Fifteen Chinese characters are a whole short review; the wrapper holding the vote
    count, the reviewer's profile link and the date is not its text."""

    def item(name: str, text: str) -> str:
        return f"""<div class="comment-item"><div class="comment"><h3>
        <span class="comment-vote"><span class="votes">31</span><a href="#">useful</a></span>
        <span class="comment-info"><a href="/people/{name}/">{name}</a>
        <span class="comment-time">2016-09-12</span></span></h3>
        <p><span class="short">{text}</span></p></div></div>"""

    page = (
        '<div id="hot-comments">'
        + item("ann", "从中段开始变得有趣了，反转再反转还挺好看，两位主演的表演也很细腻。")
        + item("bob", "道理我都懂，然而就是喜欢不来。")
        + "</div>"
    )
    records = extract.extract_reviews(Selector(text=page), page_url="https://x.test/t/1").records
    texts = [normalize_review({**r, "source": "x"})["text"] for r in records]
    assert texts == [
        "从中段开始变得有趣了，反转再反转还挺好看，两位主演的表演也很细腻。",
        "道理我都懂，然而就是喜欢不来。",
    ]


def test_reviews_each_in_wrappers_of_their_own_are_one_list() -> None:
    """Component markup puts every review in its own column and card wrappers, so the
    review elements are cousins, not siblings."""

    def card(i: int) -> str:
        return f"""<div class="col"><div class="card"><div class="review-card">
        <a class="author" href="/user/u{i}/">Reviewer {i}</a>
        <span class="rating">{i + 6}/10</span><time datetime="2024-02-0{i}">Feb {i}</time>
        <p class="review-text">Review {i}: the ferry scenes are the best part of the film.</p>
        </div></div></div>"""

    page = f'<div class="row">{"".join(card(i) for i in range(1, 4))}</div>'
    records = extract.extract_reviews(Selector(text=page), page_url="https://x.test/t/1").records
    got = [normalize_review({**r, "source": "x"}) for r in records]
    assert [(r["author"], r["rating"]) for r in got] == [
        ("Reviewer 1", 7),
        ("Reviewer 2", 8),
        ("Reviewer 3", 9),
    ]
