"""Title pages as older and smaller sites mark them up: hand-written variants of patterns
seen on real movie, TV and anime sites (fact rows under ``<h5>`` labels, a teaser with its
full text hidden, "See full summary »" links, credits before the plot, episode pages
without structured data, reviews tabs, ids followed by a slug)."""

from __future__ import annotations

import pytest
from parsel import Selector

from scrapers import extract
from scrapers.extract import markup
from scrapers.pipelines import normalize_listing

URL = "https://films.example/title/t100/"


def _listing(html: str, url: str = URL) -> tuple[extract.Extraction, dict | None]:
    result = extract.extract_listing(Selector(text=html), url)
    record = result.records[0] if result.records else None
    if record is not None:
        record = normalize_listing({**record, "source": "x"}, "2026-11-30")
    return result, record


def _microdata_movie(inner: str) -> str:
    return f'<div itemscope itemtype="http://schema.org/Movie">{inner}</div>'


def test_a_structured_name_with_the_year_gives_the_title_and_the_year_apart() -> None:
    _, record = _listing(
        _microdata_movie(
            '<h1 itemprop="name">Harbour Lights <span>(<a href="/y/1987">1987</a>)</span></h1>'
            '<div itemprop="description">A lighthouse keeper finds a boat with no crew.</div>'
        )
    )
    assert record["title"] == "Harbour Lights"
    assert record["year"] == 1987


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Harbour Lights (1987)", ("Harbour Lights", 1987)),
        ("Harbour Lights (TV Series 2016–2019)", ("Harbour Lights", 2016)),
        ("Harbour Lights (1987 film)", ("Harbour Lights", 1987)),
        ("1987", ("1987", None)),  # a title that is a year keeps it
        ("(500) Days of Rain", ("(500) Days of Rain", None)),
        ("Harbour Lights", ("Harbour Lights", None)),
    ],
)
def test_split_year_suffix(name: str, expected: tuple) -> None:
    assert markup.split_year_suffix(name) == expected


def test_a_see_full_summary_link_is_not_part_of_the_plot() -> None:
    _, record = _listing(
        _microdata_movie(
            '<h1 itemprop="name">Harbour Lights</h1><div itemprop="description">'
            "A lighthouse keeper finds a boat with no crew and a diary that ends mid-sentence..."
            ' <a href="/title/t100/plotsummary">See full summary</a>&nbsp;&raquo;</div>'
        )
    )
    assert record["plot"] == (
        "A lighthouse keeper finds a boat with no crew and a diary that ends mid-sentence..."
    )


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (
            "Directed by Mira Osei, J.R. Lund.  With Tom Vale, Ana de la Cruz, Bo Kim. "
            "A lighthouse keeper finds a boat with no crew.",
            "A lighthouse keeper finds a boat with no crew.",
        ),
        (
            "Created by Mira Osei.  With Tom Vale and Bo Kim. Two sisters run a night ferry.",
            "Two sisters run a night ferry.",
        ),
        (
            "Two sisters run a night ferry across a dark lake.\n\n[Written by Ferry Fans]",
            "Two sisters run a night ferry across a dark lake.",
        ),
        (
            "Two sisters run a night ferry across a dark lake. (Source: Lakeside Studio)",
            "Two sisters run a night ferry across a dark lake.",
        ),
        (
            "Two sisters run a night ferry across a dark lake. ~ Sam Reed, Film Guide",
            "Two sisters run a night ferry across a dark lake.",
        ),
        (
            "Two sisters run a night ferry across a dark lake. Read more »",
            "Two sisters run a night ferry across a dark lake.",
        ),
        (
            "Directed by Mira Osei.  With Tom Vale. Two sisters run a night ferry. Visit "
            "Films Example for Photos, Showtimes, Cast, Crew, Reviews, Plot Summary",
            "Two sisters run a night ferry.",
        ),
        # Plots that only look like it are kept whole.
        (
            "The town is quiet. Visit the lake for a swim, they say, and never come back.",
            "The town is quiet. Visit the lake for a swim, they say, and never come back.",
        ),
        (
            "With great power comes great trouble, as a ferry pilot learns one winter.",
            "With great power comes great trouble, as a ferry pilot learns one winter.",
        ),
        (
            "A story of two sisters, a ferry, a lake, and of so much more",
            "A story of two sisters, a ferry, a lake, and of so much more",
        ),
        (
            "A story of two sisters told by their ferry's narrator — a ghost",
            "A story of two sisters told by their ferry's narrator — a ghost",
        ),
    ],
)
def test_clean_plot(given: str, expected: str) -> None:
    assert markup.clean_plot(given) == expected


def test_credits_before_the_plot_in_a_meta_description_are_cut() -> None:
    _, record = _listing(
        '<head><meta property="og:type" content="video.tv_show">'
        '<meta property="og:title" content="Night Ferry">'
        '<meta name="description" content="Created by Mira Osei.  With Tom Vale, Bo Kim. '
        'Two sisters run a night ferry across a lake where nobody drowns twice."></head>'
    )
    assert (
        record["plot"] == "Two sisters run a night ferry across a lake where nobody drowns twice."
    )


OLD_STYLE_PAGE = """<html><head><title>Seven Lanterns (1961)</title></head><body>
<div id="main"><h1>Seven Lanterns <span>(<a href="/year/1961/">1961</a>)</span></h1>
<div id="rating"><a href="/register">Register</a> or <a href="/login">login</a> to rate this
title <b>User Rating:</b> <b>7.9/10</b> <small>(<a href="ratings">1,204 votes</a>)</small></div>
<h3>Overview</h3>
<div class="info"><h5>Director:</h5><a href="/name/1/">Mira Osei</a></div>
<div class="info"><h5>Release Date:</h5> 4 March 1962 (UK) <a class="more" href="dates">more</a></div>
<div class="info"><h5>Genre:</h5><a href="/genre/drama">Drama</a> | <a href="/genre/war">War</a>
 <a class="more" href="/title/t100/keywords">more</a></div>
<div class="info"><h5>Tagline:</h5> Seven lights. One night. No way home.</div>
<div class="info"><h5>Plot:</h5>
A village keeps seven lanterns lit through a winter siege, one for each missing soldier.
<a class="more" href="/title/t100/plotsummary">full summary</a> |
<a class="more" href="/title/t100/synopsis">add synopsis</a></div>
</div></body></html>"""


def test_a_page_of_h5_labelled_fact_rows_is_a_title_page() -> None:
    result, record = _listing(OLD_STYLE_PAGE)
    assert result.method == "html"
    assert record["title"] == "Seven Lanterns"
    assert record["year"] == 1961
    assert record["genres"] == ["Drama", "War"]  # the "more" link is not a genre
    # The plot row, without its label, its "full summary" / "add synopsis" links, the
    # tagline or the rating box under the "Overview" heading.
    assert record["plot"] == (
        "A village keeps seven lanterns lit through a winter siege, one for each missing soldier."
    )


def test_an_episode_page_without_structured_data_is_skipped_as_an_episode() -> None:
    page = OLD_STYLE_PAGE.replace(
        "<h1>Seven Lanterns", '<h1>"Night Ferry" <em>The Drowned Bell</em>'
    ).replace(
        '<div class="info"><h5>Tagline:</h5>',
        '<div class="info"><h5>Original Air Date:</h5> 7 November 2010 (Season 1, Episode 2)'
        '</div><div class="info"><h5>Tagline:</h5>',
    )
    result, record = _listing(page, "https://films.example/title/t101/")
    assert record is None
    assert (result.method, result.skipped) == ("skipped", "episode")
    # Without the episode line it is a title page (the rule is the line, not the layout).
    assert _listing(page.replace("(Season 1, Episode 2)", ""))[1] is not None


def test_a_synopsis_section_with_sub_headings_is_read_to_its_end() -> None:
    page = """<h1>Night Ferry</h1><div class="content">
    <table class="infobox"><tr><th>Genre</th><td>Drama</td></tr>
    <tr><th>No. of seasons</th><td>2</td></tr>
    <tr><th>Original release</th><td>March 3, 2011</td></tr></table>
    <p>Night Ferry is a series of short films made by a small studio by the lake.</p>
    <h2><span id="Synopsis">Synopsis</span><span class="edit">[<a href="/e">edit</a>]</span></h2>
    <h3><span id="Season_one">Season one</span></h3>
    <p>Two sisters inherit a ferry and learn that its passengers never pay in coin.</p>
    <h3><span id="Season_two">Season two</span></h3>
    <p>The lake freezes, and the sisters must decide who may still cross at night.</p>
    <h2><span id="Cast">Cast</span></h2><p>Ann Lee as the elder sister, Bo Kim as the younger.</p>
    </div>"""
    _, record = _listing(page, "https://wiki.example/wiki/Night_Ferry")
    assert record["plot"] == (
        "Two sisters inherit a ferry and learn that its passengers never pay in coin. "
        "The lake freezes, and the sisters must decide who may still cross at night."
    )


def test_a_teaser_gives_way_to_the_full_text_the_page_hides_until_a_click() -> None:
    page = """<h1>Seven Lanterns (1961)</h1>
    <p><span class="label">Genre:</span> <span>Drama</span></p>
    <p><span class="label">Theatrical Release:</span> <span>Mar 4, 1961</span></p>
    <div id="synopsis"><p><span class="label">Synopsis:</span>
    <span id="synopsis_short">A village keeps seven lanterns lit through a winter siege. It...</span>
    <span id="synopsis_full" style="display: none;">A village keeps seven lanterns lit through a
    winter siege. It waits for seven soldiers, and one of them comes back a stranger.</span>
    <a href="#">[More]</a></p></div>"""
    _, record = _listing(page, "https://films.example/m/seven_lanterns/")
    assert record["plot"] == (
        "A village keeps seven lanterns lit through a winter siege. It waits for seven "
        "soldiers, and one of them comes back a stranger."
    )


def test_hidden_text_that_is_not_the_rest_of_a_teaser_is_not_read() -> None:
    page = """<h1>Seven Lanterns (1961)</h1><table>
    <tr><th>Directed by</th><td>Mira Osei</td></tr><tr><th>Running time</th><td>98 min</td></tr>
    </table><h2>Plot</h2>
    <p>A village keeps seven lanterns lit through a winter siege, one for each soldier.</p>
    <p style="display:none">Spoiler: the seventh soldier was never a soldier at all, it turns out.</p>
    <h2>Cast</h2>"""
    _, record = _listing(page, "https://films.example/m/seven_lanterns/")
    assert record["plot"] == (
        "A village keeps seven lanterns lit through a winter siege, one for each soldier."
    )


@pytest.mark.parametrize("tab", ["criticreviews", "reviews", "usercomments", "user_reviews"])
def test_a_titles_reviews_tab_is_not_its_title_page(tab: str) -> None:
    page = _microdata_movie(
        '<h3 itemprop="name"><a href="/title/t100/">Seven Lanterns</a> (1961)</h3>'
        '<h1 class="header">Critic Reviews</h1>'
    )
    result, record = _listing(page, f"https://films.example/title/t100/{tab}")
    assert record is None
    assert result.skipped == "title_subpage"
    assert extract.id_from_url(f"https://films.example/title/t100/{tab}") == "t100"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://anime.example/anime/57181/Blue_Lanterns", "57181"),
        ("https://anime.example/anime/57181/Blue_Lanterns/reviews", "57181"),
        ("https://films.example/movies/1999/lanterns", "lanterns"),  # a year is not an id
        ("https://films.example/title/tt0047478/combined", "tt0047478"),
        ("https://films.example/film/seven-lanterns/", "seven-lanterns"),
    ],
)
def test_an_id_followed_by_a_slug_is_the_id(url: str, expected: str) -> None:
    assert extract.id_from_url(url) == expected


def test_a_release_row_with_a_div_label_and_a_whole_date_before_a_season() -> None:
    page = """<div itemscope itemtype="http://schema.org/TVSeries">
    <h1 itemprop="name">Blue Lanterns</h1>
    <p itemprop="description">Two rival badminton players end up living in the same house.</p>
    </div>
    <ul><li class="meta-row"><div class="meta-label">Premiered: </div>
    <div class="meta-value">Fall 2024</div></li>
    <li class="meta-row"><div class="meta-label">Aired: </div>
    <div class="meta-value">Oct 3, 2024 to ?</div></li></ul>"""
    _, record = _listing(page, "https://anime.example/anime/57181/Blue_Lanterns")
    assert (record["year"], record["release_date"]) == (2024, "2024-10-03")
    assert record["source_title_id"] == "57181"


def test_a_cut_off_structured_plot_gives_way_to_the_whole_text_on_the_page() -> None:
    page = """<html><head><script type="application/ld+json">{"@type": "Movie",
    "name": "Seven Lanterns", "datePublished": "1961-03-04", "description":
    "A village keeps seven lanterns lit through a winter siege, one for each soldier, until..."}
    </script></head><body><h1>Seven Lanterns (1961)</h1><div class="intro">
    <span property="v:summary">A village keeps seven lanterns lit through a winter siege, one for
    each soldier, until the seventh soldier comes back a stranger.</span></div></body></html>"""
    _, record = _listing(page)
    assert record["plot"] == (
        "A village keeps seven lanterns lit through a winter siege, one for each soldier, "
        "until the seventh soldier comes back a stranger."
    )
    # Without the whole text on the page, the cut-off plot is kept as it is.
    _, record = _listing(page.split("<div class")[0] + "</body></html>")
    assert record["plot"].endswith("until...")


def test_a_plot_paragraph_that_opens_with_a_colon_phrase_is_still_plot() -> None:
    part = (
        "Part one: the sisters inherit a ferry whose passengers never pay in coin, and they"
        " learn what the lake takes instead, one crossing at a time, through a long winter"
        " in which the ice comes early and the village stops talking to them."
    )
    # Structured data without a description: the plot comes from the "Plot" section.
    page = f"""<script type="application/ld+json">{{"@type": "Movie", "name": "Night Ferry"}}
    </script><h1>Night Ferry</h1><h2>Plot</h2><p>{part}</p><h2>Cast</h2>"""
    _, record = _listing(page, "https://films.example/m/night_ferry/")
    assert record["plot"] == part


def test_a_series_page_naming_its_latest_episode_is_not_an_episode() -> None:
    page = """<html><body><h1>Night Ferry</h1>
    <div class="info"><h5>Created by:</h5><a href="/name/1/">Mira Osei</a></div>
    <div class="info"><h5>No. of seasons:</h5> 3</div>
    <div class="info"><h5>First aired:</h5> 3 March 2011</div>
    <div class="info"><h5>Latest episode:</h5> The Drowned Bell (Season 3, Episode 8)</div>
    <div class="info"><h5>Plot:</h5> Two sisters run a night ferry across a dark lake.</div>
    </body></html>"""
    result, record = _listing(page, "https://films.example/title/t102/")
    assert result.skipped is None
    assert (record["title"], record["title_type"]) == ("Night Ferry", "tv")
