"""What a page shows when it carries no structured data: its main heading, fact tables
(infoboxes, ``<dl>`` lists, "Label: value" lines) and the paragraphs under a plot heading.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from parsel import Selector

from scrapers.extract.values import is_generated_summary

# Labels of fact rows, lower-cased and without a trailing colon, by what they tell.
RELEASE_LABELS = (
    "release date", "release dates", "released", "release", "premiere", "premiered",
    "original release", "first aired", "aired", "original air date", "year", "release year",
    "in theaters", "theatrical release", "date", "air date", "original run", "first shown",
)  # fmt: skip
GENRE_LABELS = ("genre", "genres", "category", "categories")
LANGUAGE_LABELS = ("language", "original language", "languages", "original languages")
TYPE_LABELS = ("kind", "type", "format", "media type", "title type")
ID_LABELS = ("id", "film id", "title id", "movie id", "show id", "series id")
PLOT_LABELS = (
    "plot", "plot outline", "plot summary", "synopsis", "storyline", "story", "summary",
    "overview", "premise", "description",
)  # fmt: skip
MOVIE_EVIDENCE = (
    "directed by", "director", "directors", "running time", "runtime", "box office",
    "budget", "cinematography", "screenplay by", "distributed by",
)  # fmt: skip
TV_EVIDENCE = (
    "no. of seasons", "no. of episodes", "seasons", "episodes", "number of seasons",
    "number of episodes", "created by", "creator", "creators", "original network",
    "network", "showrunner", "no. of series", "channel", "first aired", "original run",
)  # fmt: skip
TITLE_EVIDENCE = (
    RELEASE_LABELS + GENRE_LABELS + MOVIE_EVIDENCE + TV_EVIDENCE
    + ("starring", "cast", "country", "countries", "written by", "writers", "rating",
       "certificate", "content rating", "music by", "produced by", "production company")
)  # fmt: skip
PLOT_HEADINGS = re.compile(
    r"^\s*(?:the\s+)?(?:plot(?:\s+summary)?|synopsis|storyline|story|summary|overview|"
    r"premise|about(?: the (?:film|movie|show|series))?|description|the story)"
    r"(?:\s+by\s+[^.]{2,60})?\s*:?\s*$",
    re.I,
)
# Headings of sections whose prose is opinion, not plot.
NOT_PLOT_HEADINGS = re.compile(
    r"\b(?:reviews?|critics?|consensus|verdict|comments?|opinion|reception|what (?:people|fans|critics) say|"
    r"audience says|our take|rating)\b",
    re.I,
)
_BOILERPLATE = re.compile(
    r"cookie|subscribe|newsletter|sign up|sign in|log in|privacy|javascript|advertis|"
    r"all rights reserved|©|terms of (?:use|service)|your browser|download (?:our|the) app",
    re.I,
)
_LABEL_TEXT = re.compile(r"^\s*([A-Za-z][\w .'/&-]{1,30}?)\s*:\s*(\S.*)$", re.S)
# Site furniture that holds no facts about the title (a sidebar <aside> may, so it counts).
_SKIP_ANCESTORS = "ancestor::*[self::nav or self::header or self::footer or self::form]"


def norm(text: str | None) -> str:
    return " ".join((text or "").split())


def spaced_text(node: Selector) -> str:
    """An element's text with its text pieces apart ("<span>Drama</span><span>Horror</span>"
    is "Drama Horror", not "DramaHorror")."""
    return norm(" ".join(node.xpath(".//text()").getall()))


def markup_text(fragment: str) -> str:
    return norm(re.sub(r"<[^>]+>", " ", fragment))


def _label(text: str) -> str:
    return norm(re.sub(r"[:\u00a0]+\s*$", "", norm(text))).lower()


@dataclass
class Facts:
    """Label -> value rows found on a page (first occurrence of a label wins)."""

    values: dict[str, str] = field(default_factory=dict)
    nodes: dict[str, Selector] = field(default_factory=dict)

    def add(self, label: str, node: Selector | None, value: str) -> None:
        label = _label(label)
        # "Release Date (Theaters)" -> "release date"; "Genre(s)" -> "genre"
        label = re.sub(r"\s*\(.*?\)\s*", " ", label).strip() or label
        if label and len(label) <= 40 and value and label not in self.values:
            self.values[label] = value
            if node is not None:
                self.nodes[label] = node

    def first(self, labels: tuple[str, ...]) -> str | None:
        for label in labels:
            if self.values.get(label):
                return self.values[label]
        return None

    def first_matching(self, pattern: re.Pattern[str]) -> str | None:
        """The first row (page order) whose label matches ``pattern``."""
        for label, value in self.values.items():
            if value and pattern.search(label):
                return value
        return None

    def first_label(self, labels: tuple[str, ...]) -> str | None:
        for label in labels:
            if self.values.get(label):
                return label
        return None

    def has_any(self, labels: tuple[str, ...]) -> bool:
        return any(label in self.values for label in labels)

    def evidence(self) -> int:
        """How many distinct title-describing rows the page has."""
        return sum(1 for label in self.values if label in TITLE_EVIDENCE)

    def list_values(self, labels: tuple[str, ...]) -> list[str]:
        """A row's values as a list: its link texts, else its text split on separators."""
        for label in labels:
            node = self.nodes.get(label)
            if node is not None:
                links = [norm(t) for t in node.xpath(".//a").xpath("string()").getall()]
                links = [
                    t
                    for t in links
                    if t and not re.fullmatch(r"\[\d+\]", t) and not _is_more_control(t)
                ]
                if links:
                    return links
                items = [norm(t) for t in node.xpath(".//li").xpath("string()").getall()]
                if [t for t in items if t]:
                    return [t for t in items if t]
                # Sibling elements that CSS alone separates: <span>Drama</span><span>Horror</span>
                children = _value_children(node, label)
                if len(children) >= 2:
                    return children
            text = self.values.get(label)
            if text:
                return [t.strip() for t in re.split(r"\s*[,/|·•;]\s*", text) if t.strip()]
        return []


RELEASE_LABEL = re.compile(
    r"\b(?:release|released|premiere|premiered|first aired|aired|air date|original run|"
    r"in theaters|debut)\b",
    re.I,
)


def _value_children(node: Selector, label: str) -> list[str]:
    """The texts of a value's child elements, when they are all it holds (a label element
    such as ``<strong>Genres:</strong>`` left out, a single wrapper looked into)."""
    children = [c for c in node.xpath("./*") if norm(c.xpath("string()").get())]
    if children and _label(norm(children[0].xpath("string()").get())).rstrip(":") == label:
        children = children[1:]
    while len(children) == 1 and len(children[0].xpath("./*")) >= 2:
        children = [c for c in children[0].xpath("./*") if norm(c.xpath("string()").get())]
    texts = [norm(c.xpath("string()").get()) for c in children]
    whole = norm(node.xpath("string()").get()).replace(" ", "")
    if len(texts) >= 2 and whole.endswith("".join(texts).replace(" ", "")):
        return texts
    return []


def facts_of(sel: Selector) -> Facts:
    """Fact rows from tables (th/td or two-cell rows), definition lists and labelled lines."""
    facts = Facts()
    for row in sel.xpath(f"//tr[not({_SKIP_ANCESTORS})]"):
        head = row.xpath("./th")
        cells = row.xpath("./td")
        if head and cells:
            facts.add(head[0].xpath("string()").get(""), cells[0], spaced_text(cells[0]))
        elif len(cells) == 2:
            facts.add(cells[0].xpath("string()").get(""), cells[1], spaced_text(cells[1]))
    for dt in sel.xpath(f"//dt[not({_SKIP_ANCESTORS})]"):
        dd = dt.xpath("following-sibling::dd[1]")
        if dd:
            facts.add(dt.xpath("string()").get(""), dd[0], spaced_text(dd[0]))
    # "<li><b>Director:</b> Someone</li>", "<span class=label>Genre</span><span>..</span>"
    for node in sel.xpath(
        f"//*[self::li or self::p or self::div or self::span][not({_SKIP_ANCESTORS})]"
        "[./*[self::b or self::strong or self::span or self::label or self::h3 or self::h4"
        " or self::h5 or self::h6 or self::div]]"
    ):
        first = node.xpath("./*[1]")
        if not first:
            continue
        label = norm(first[0].xpath("string()").get())
        if not label or len(label) > 32:
            continue
        # A label ends with its colon or names a fact; a <div> label only with its colon
        # ("<div class=label>In Theaters:</div>"). Decided before reading the whole row's
        # text, which is costly for the many containers this loop visits.
        named = _label(label) in TITLE_EVIDENCE + ID_LABELS and first[0].root.tag != "div"
        if not (label.endswith(":") or named):
            continue
        whole = spaced_text(node)
        if not whole.startswith(label):
            continue
        rest = whole[len(label) :].lstrip(" :\u00a0").strip()
        if rest:
            facts.add(label, node, rest)
    for text in sel.xpath(f"//li[not({_SKIP_ANCESTORS})]/text()").getall():
        match = _LABEL_TEXT.match(norm(text))
        if match:
            facts.add(match.group(1), None, match.group(2))
    return facts


def fact_plot(facts: Facts) -> str | None:
    """A plot given as a labelled row ("<h5>Plot:</h5> ...", "<b>Synopsis:</b> ..."):
    the row's inner HTML without its label (links such as "more" kept for
    :func:`clean_plot` to recognise), else its text."""
    label = facts.first_label(PLOT_LABELS)
    if label is None:
        return None
    node = facts.nodes.get(label)
    if node is None:
        return facts.values[label]
    pieces = node.xpath("node()")
    while pieces and not norm(pieces[0].xpath("string()").get()):
        pieces = pieces[1:]
    if pieces and _label(norm(pieces[0].xpath("string()").get())) == label:
        pieces = pieces[1:]
    inner = "".join(piece.get() for piece in pieces).strip()
    return inner or facts.values[label]


def main_heading(sel: Selector) -> str | None:
    """The page's main heading: the h1, else the h1-h3 whose text starts the <title>."""
    page_title = norm(sel.xpath("//title/text()").get())
    for xpath in ("//h1", "//h2", "//h3"):
        for node in sel.xpath(xpath):
            text = norm(node.xpath("string()").get())
            if not text:
                continue
            if xpath == "//h1" or (page_title and page_title.lower().startswith(text.lower())):
                return text
    return None


_DISAMBIGUATION = re.compile(
    r"\s*\((?:((?:18|19|20)\d\d)\s+)?(?:[A-Z][\w-]*\s+)?(?:film|movie|tv series|television series|"
    r"miniseries|tv program|tv programme|series|animated series|web series)\)\s*$",
    re.I,
)
_TITLE_SUFFIX = re.compile(r"\s+[-|–—•:]\s+[^-|–—•]{2,60}$")
_YEAR_SUFFIX = re.compile(
    r"\s*\((?:(?:tv\s+)?(?:mini[- ]?)?(?:series|movie|film|show|video)\s+)?"
    r"((?:18|19|20)\d\d)(?:\s*[–-]\s*(?:(?:18|19|20)\d\d)?\s*)?\)\s*$",
    re.I,
)


def clean_title(text: str | None, site_name: str | None = None) -> tuple[str | None, int | None]:
    """A page title or og:title without the site's name and the "(1999)" year; the year
    is returned beside it. "Foo (1999) - Site" -> ("Foo", 1999)."""
    text = norm(text)
    if not text:
        return None, None
    if site_name:
        for sep in (" - ", " | ", " – ", " — ", " • ", " : "):
            if text.lower().endswith(f"{sep}{site_name.lower()}"):
                text = text[: -len(sep) - len(site_name)]
    year = None
    match = _DISAMBIGUATION.search(text)  # an encyclopedia's "Foo (2003 film)"
    if match:
        year = int(match.group(1)) if match.group(1) else None
        text = text[: match.start()]
    match = _YEAR_SUFFIX.search(text)
    if not match:
        stripped = _TITLE_SUFFIX.sub("", text)
        match = _YEAR_SUFFIX.search(stripped)
        if match:
            text = stripped
    if match:
        year = int(match.group(1))
        text = text[: match.start()]
    return norm(text) or None, year


def split_year_suffix(name: str | None) -> tuple[str | None, int | None]:
    """A structured name that carries the year as a heading does ("Film (2015)",
    "Show (TV Series 2016–2019)", "Foo (2003 film)"): the name and the year apart.
    Unlike :func:`clean_title`, nothing else is cut (no site name, no " - " suffix)."""
    text = norm(name)
    if not text:
        return None, None
    for pattern in (_DISAMBIGUATION, _YEAR_SUFFIX):
        match = pattern.search(text)
        if match and match.start() > 0:
            year = int(match.group(1)) if match.group(1) else None
            return norm(text[: match.start()]) or text, year
    return text, None


_EPISODE_MARK = re.compile(
    r"\bseason\s+\d{1,3}\s*[,:/|-]?\s*episode\s+\d{1,4}\b|\bS\d{1,2}\s*[.:]?\s*E\d{1,4}\b",
    re.I,
)


def episode_marker(heading: str | None, facts: Facts) -> bool:
    """The page is an episode of a series: "(Season 1, Episode 2)" or "S01E02" by its
    title or beside its own air date ("Original Air Date: 7 November 2010 (Season 1,
    Episode 2)"), on a page without structured data to say so. A series page's "Latest
    episode: S03E08" row names another page."""
    texts = [heading or ""]
    texts += [
        value[:200]
        for label, value in facts.values.items()
        if (label in RELEASE_LABELS or RELEASE_LABEL.search(label) or label == "episode")
        and not re.search(r"\b(?:latest|next|last|previous|upcoming|new)\b", label)
    ]
    return any(_EPISODE_MARK.search(text) for text in texts)


def type_hint_of_heading(sel: Selector) -> str | None:
    """'tv' / 'movie' from wording near the title: "(TV Series 2016-2019)", "TV Mini Series"."""
    texts = [
        norm(sel.xpath("//title/text()").get()),
        norm(sel.xpath("//h1").xpath("string()").get()),
        norm(sel.xpath("//h1/following-sibling::*[1]").xpath("string()").get())[:120],
    ]
    blob = " ".join(texts).lower()
    if re.search(r"\b(?:tv|television|web|mini)[- ]?(?:series|show)\b|\bminiseries\b", blob):
        return "tv"
    if re.search(r"\b(?:tv movie|feature film|a film by)\b", blob):
        return "movie"
    return None


def _paragraph_text(node: Selector) -> str:
    return norm(node.xpath("string()").get())


_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)


def is_hidden(node: Selector) -> bool:
    """An element the page does not show until a click ("read more" full texts)."""
    attrib = node.attrib
    return (
        "hidden" in attrib
        or attrib.get("aria-hidden", "").lower() == "true"
        or bool(_HIDDEN_STYLE.search(attrib.get("style", "")))
    )


def _teaser_of(short: str, full: str) -> bool:
    """``short`` is the cut-off start of ``full`` ("A couple moves in. A..." of the whole)."""
    head = re.sub(r"\s*(?:\.\.\.|…)\s*$", "", short)
    return len(head) >= 20 and len(full) > len(head) and full.startswith(head)


_ELLIPSIS_END = re.compile(r"(?:\.\.\.|…)\s*$")


def completed_teaser(sel: Selector, plot: str) -> str | None:
    """The whole text a cut-off plot ("... until...") is the start of, when the page
    shows it: the innermost element whose text starts with the teaser and goes on (a
    summary's JSON-LD often holds only the first 200 characters of it). None otherwise."""
    text = markup_text(plot)
    if not _ELLIPSIS_END.search(text):
        return None
    head = _ELLIPSIS_END.sub("", text)
    if len(head) < 40:
        return None
    best: tuple[int, str] | None = None
    for node in sel.xpath(
        f"//body//*[not(self::script or self::style)][not({_SKIP_ANCESTORS})]"
        "[starts-with(normalize-space(.), $head)]",
        head=head[:200],
    ):
        full = _paragraph_text(node)
        whole = _teaser_of(text, full) and not _ELLIPSIS_END.search(full)
        if whole and (best is None or len(full) < best[0]):  # the innermost: the text itself
            best = (len(full), "".join(node.xpath("node()").getall()).strip())
    return best[1] if best else None


def _drop_teasers(parts: list[tuple[str, str, bool]]) -> list[str]:
    """Parts (text, html, hidden) without teasers of a later part; a hidden part is kept
    only when it is the whole text a visible teaser cuts short."""
    kept: list[str] = []
    for i, (text, fragment, hidden) in enumerate(parts):
        if any(_teaser_of(text, other) for other, _, _ in parts[i + 1 :]):
            continue
        if hidden and not any(_teaser_of(other, text) for other, _, _ in parts[:i]):
            continue
        kept.append(fragment)
    return kept


def _is_fact_row(text: str) -> bool:
    """A "Label: value" row ("User Rating: 8.5/10", "Tagline: ..."), not prose: a plot
    given as a row ("Plot: ...") is read from the facts (:func:`fact_plot`). A long
    paragraph that opens with a phrase and a colon ("Part one: the sisters ...") is prose
    unless the phrase is a known label."""
    match = _LABEL_TEXT.match(text)
    if not match:
        return False
    return len(text) <= 200 or _label(match.group(1)) in (
        TITLE_EVIDENCE + PLOT_LABELS + ("tagline", "taglines", "user rating")
    )


def _heading_level(node: Selector) -> int | None:
    """1-6 for an ``<hN>`` (or a wrapper whose heading is one), else None."""
    name = node.xpath("name()").get("").lower()
    if re.fullmatch(r"h[1-6]", name):
        return int(name[1])
    inner = node.xpath("./*[self::h1 or self::h2 or self::h3 or self::h4 or self::h5 or self::h6]")
    if inner and len(_paragraph_text(node)) < 80:
        return int(inner[0].xpath("name()").get()[1])
    return None


def plot_section(sel: Selector) -> str | None:
    """The paragraphs under a "Plot" / "Synopsis" / "Storyline" heading (inner HTML kept);
    the first such section that is not a generated blurb."""
    for text in plot_sections(sel):
        if not is_generated_summary(text):
            return text
    return None


def plot_sections(sel: Selector) -> Iterator[str]:
    """Every plot-headed section's paragraphs, in page order."""
    for heading in sel.xpath(
        "//*[self::h2 or self::h3 or self::h4 or self::h5 or self::h6 or self::dt or self::strong"
        " or self::b or self::span or self::div or self::p or self::label or contains(name(), '-')]"
        "[string-length(normalize-space(.)) < 60]"
    ):
        label = re.sub(r"\[\s*edit\s*\]", "", _paragraph_text(heading), flags=re.I)
        if not PLOT_HEADINGS.match(label):
            continue
        if heading.xpath(_SKIP_ANCESTORS):
            continue
        # dt -> dd; a heading -> following paragraphs until the next heading; a heading
        # wrapped in a div (wiki "mw-heading") -> that div's following siblings.
        if heading.xpath("name()").get() == "dt":
            dd = heading.xpath("following-sibling::dd[1]")
            text = _paragraph_text(dd[0]) if dd else ""
            if len(text) >= 30:
                yield "".join(dd[0].xpath("node()").getall()).strip()
            continue
        anchor = heading
        parent = heading.xpath("..")
        if parent and len(_paragraph_text(parent[0])) < 80:
            anchor = parent[0]  # a wrapper such as <div class="heading"><h2>Plot</h2>[edit]</div>
        # The section ends at the next heading of its level or above; a sub-heading
        # ("Part one" under "Synopsis") does not end it.
        level = _heading_level(anchor) or _heading_level(heading) or 4
        parts: list[tuple[str, str, bool]] = []
        rows = 0  # "Label: value" rows under the heading: a facts section, not a plot
        for sibling in anchor.xpath("following-sibling::*"):
            name = sibling.xpath("name()").get("").lower()
            sibling_level = _heading_level(sibling)
            if sibling_level is not None or sibling.xpath(
                "self::div[.//h2 or .//h3][string-length(normalize-space(.)) < 80]"
            ):
                if sibling_level is None or sibling_level <= level:
                    break
                continue
            if name in ("p", "div", "span", "section") or name == "blockquote":
                text = _paragraph_text(sibling)
                row = _is_fact_row(text)
                rows += row
                if len(text) >= 30 and not row and not _BOILERPLATE.search(text[:200]):
                    fragment = "".join(sibling.xpath("node()").getall()).strip()
                    parts.append((text, fragment, is_hidden(sibling)))
            if len(parts) >= 12:
                break
        kept = _drop_teasers(parts)
        if kept:
            yield "\n".join(kept)
            continue
        # A heading inside a container whose other text is the plot.
        container = heading.xpath("..")
        if container and not rows:
            texts = [
                t
                for t in (_paragraph_text(p) for p in container[0].xpath("./p | ./div"))
                if len(t) >= 30 and not _is_fact_row(t)
            ]
            if texts:
                yield "\n".join(texts)


def marked_plots(sel: Selector) -> list[str]:
    """Elements the page marks as the synopsis (``itemprop=description``, a class or test
    id naming synopsis / overview / plot / storyline), longest first."""
    found = []
    for node in sel.xpath(
        f"//*[not({_SKIP_ANCESTORS})][@itemprop='description' or "
        "contains(translate(concat(@class, ' ', @data-qa, ' ', @data-testid, ' ', @id),"
        " 'SYNOPVERWLT', 'synopverwlt'), 'synopsis') or "
        "contains(translate(concat(@class, ' ', @data-qa, ' ', @data-testid, ' ', @id),"
        " 'SYNOPVERWLT', 'synopverwlt'), 'overview') or "
        "contains(translate(concat(@class, ' ', @data-qa, ' ', @data-testid, ' ', @id),"
        " 'SYNOPVERWLT', 'synopverwlt'), 'storyline') or "
        "contains(translate(concat(@class, ' ', @data-qa, ' ', @data-testid, ' ', @id),"
        " 'SYNOPVERWLT', 'synopverwlt'), 'plot')]"
    ):
        text = _paragraph_text(node)
        if 40 <= len(text) <= 5000 and not _BOILERPLATE.search(text[:200]):
            label = re.sub(r"\[\s*edit\s*\]", "", text, flags=re.I)
            if PLOT_HEADINGS.match(label):
                continue
            paragraphs = [
                "".join(p.xpath("node()").getall()).strip()
                for p in node.xpath(".//p")
                if len(_paragraph_text(p)) >= 20
            ]
            if paragraphs:  # the prose, without a tagline or heading beside it
                body = "\n".join(paragraphs)
                found.append((len(markup_text(body)), body))
            else:
                found.append((len(text), "".join(node.xpath("node()").getall()).strip()))
    # The innermost marked element tends to be the text itself: prefer shorter ones
    # that are not just a heading plus the text. A teaser cut short ("... A...") of a
    # longer marked text gives way to it, even when that one is hidden until a click.
    texts = [markup_text(html) for _, html in found]
    found = [
        f
        for f, text in zip(found, texts, strict=True)
        if not any(_teaser_of(text, other) for other in texts if other != text)
    ]
    return [html for _, html in sorted(found)]


# A control that expands or links to the rest of the text: not part of the plot.
_MORE_TEXT = re.compile(
    r"^(?:(?:see|read|show|view)\s+(?:the\s+)?(?:full|complete|entire|whole)\s+"
    r"(?:summary|synopsis|plot(?:\s+summary)?|description|storyline|story|text)|"
    r"(?:see|read|show|view)\s+(?:more|all|less)|more|less|expand|continue reading|"
    r"(?:add|edit|write|contribute|suggest)\s+(?:an?\s+|the\s+)?"
    r"(?:synopsis|summary|plot(?:\s+summary)?|description|storyline)|"
    r"full\s+(?:summary|synopsis|plot|description)|(?:plot\s+)?summary|synopsis)$",
    re.I,
)
_CONTROL = re.compile(r"<(a|button)\b[^>]*>(.*?)</\1\s*>", re.I | re.S)
_TRAILING_ARROWS = re.compile(
    r"(?:\s|&nbsp;|&#160;|\u00a0)*(?:&raquo;|»|&rsaquo;|›|&gt;&gt;|>>|\|)?"
    r"(?:\s|&nbsp;|&#160;|\u00a0)*$"
)
_MORE_WORDS = (
    r"see full (?:summary|synopsis)|read more|see more|show more|full (?:summary|synopsis)"
)
_TRAILING_MORE = re.compile(
    rf"(?:\s*[\[(]\s*(?:{_MORE_WORDS}|more)\s*[\])]"
    rf"|(?<=[.!?…])\s*(?:{_MORE_WORDS})\s*(?:»|›|\.\.\.|…)?"
    r"|\s+more\s*(?:»|›))\s*$",
    re.I,
)
# Credits sites print before a plot ("Directed by A, B.  With C, D, E. <plot>").
_NAME = r"[A-Z][\w'’.-]*(?:\s+(?:[A-Z][\w'’.-]*|de|da|di|del|der|van|von|la|le|du|bin))*"
_NAMES = rf"{_NAME}(?:\s*(?:,|&|\band\b)\s*{_NAME})*"
_CREDIT_PREAMBLE = re.compile(
    rf"^\s*(?:(?:Directed|Created|Written|Produced)\s+by\s+{_NAMES}\.\s+)?"
    rf"(?:With|Starring)\s+{_NAMES}\.(?:\s+|$)|"
    rf"^\s*(?:Directed|Created)\s+by\s+{_NAMES}\.\s+(?=[A-Z])"
)
# Whose words the plot is, appended to it: "[Written by MAL Rewrite]", "(Source: Studio)",
# "—Studio Name", "~ Critic, Agency", "--© Distributor".
_ATTRIBUTION = re.compile(
    r"(?:\s*[\[(](?:written by|source|synopsis (?:by|from)|summary by)\b[^\])\n]{0,80}[\])]"
    r"|(?<=[.!?\"”’'])\s*(?:—|--|~|―)\s*©?\s*[^—~\n.!?]{2,60}\.?)\s*$",
    re.I,
)


# A site's pitch after the plot in its meta description ("... Visit Site for Photos, Showtimes").
_VISIT_PITCH = re.compile(
    r"(?<=[.!?])\s*Visit\s+[\w .'&-]{2,40}?\s+for\s+(?:the\s+latest\s+)?(?:photos|showtimes|"
    r"cast|crew|reviews|trailers|ratings|news|tickets|more\s+(?:info|information|details))"
    r"\b[^.!?]*[.!?]?\s*$",
    re.I,
)


def _is_more_control(text: str) -> bool:
    """Link text of a "more" / "see full summary" / "add synopsis" control."""
    return bool(_MORE_TEXT.match(markup_text(text).strip(" .…[]()»›>|")))


def _drop_controls(fragment: str) -> str:
    def keep(match: re.Match[str]) -> str:
        return "" if _is_more_control(match.group(2)) else match.group(0)

    return _CONTROL.sub(keep, fragment)


def clean_plot(fragment: str | None) -> str | None:
    """A plot candidate (text or inner HTML) without what sites put around plots: "See full
    summary »" and "Read more" controls, a credits preamble ("Directed by ... With ..."),
    and the attribution of whoever wrote it ("[Written by ...]", "—Studio")."""
    if not fragment:
        return fragment
    text = _drop_controls(fragment)
    previous = None
    while text != previous:  # each rule may uncover another at the end
        previous = text
        text = _TRAILING_ARROWS.sub("", text)
        if len(markup_text(text)) > 40:
            text = _TRAILING_MORE.sub("", text)
            text = _ATTRIBUTION.sub("", text)
            text = _VISIT_PITCH.sub("", text)
    plain = markup_text(text)
    preamble = _CREDIT_PREAMBLE.match(plain)
    if preamble and "<" not in text:
        text = plain[preamble.end() :]
    elif preamble:  # markup: cut the same words where the plain text starts
        cut = preamble.group(0).split()[-1]
        at = text.find(cut)
        text = text[at + len(cut) :] if at >= 0 else text
    return text.strip()


def longest_paragraph(sel: Selector, title: str | None = None) -> str | None:
    """The longest plot-like paragraph in the page's main content, if any."""
    best, best_len = None, 0
    for node in sel.xpath(f"//p[not({_SKIP_ANCESTORS})]"):
        text = _paragraph_text(node)
        if not 60 <= len(text) <= 5000 or len(text.split()) < 12:
            continue
        if _BOILERPLATE.search(text) or is_generated_summary(text):
            continue
        if len(node.xpath(".//a")) > 6:  # a link list, not prose
            continue
        section = (
            node.xpath("preceding::*[self::h1 or self::h2 or self::h3 or self::h4][1]")
            .xpath("string()")
            .get("")
        )
        if NOT_PLOT_HEADINGS.search(section):
            continue
        if len(text) > best_len:
            best, best_len = "".join(node.xpath("node()").getall()).strip(), len(text)
    return best


def genre_links(sel: Selector) -> list[str]:
    """Texts of links to genre pages in the main content ("/genre/28-action", "?genres=").

    A site-wide menu of every genre is not the title's genres: more than eight
    distinct links means it is a menu, and nothing is returned."""
    texts: list[str] = []
    for node in sel.xpath(f"//a[@href][not({_SKIP_ANCESTORS})]"):
        href = node.attrib["href"].lower()
        if not re.search(r"genre", href):
            continue
        text = norm(node.xpath("string()").get())
        if text and len(text) <= 40 and text not in texts:
            texts.append(text)
    return texts if 0 < len(texts) <= 8 else []


# Genre words an encyclopedia lead uses ("is a 1999 American science fiction action film").
LEAD_GENRES = (
    "science fiction", "sci-fi", "romantic comedy", "black comedy", "comedy-drama",
    "comedy drama", "psychological thriller", "action", "adventure", "animated", "animation",
    "biographical", "comedy", "crime", "documentary", "drama", "family", "fantasy",
    "historical", "horror", "musical", "mystery", "romance", "romantic", "superhero",
    "thriller", "war", "western", "teen", "sports", "disaster", "spy", "heist", "slasher",
    "satirical", "neo-noir", "noir", "epic", "period", "coming-of-age", "supernatural",
    "sitcom", "soap opera", "reality", "talk show", "anthology", "police procedural",
    "legal drama", "medical drama", "martial arts", "mockumentary", "anime",
)  # fmt: skip
_LEAD = re.compile(
    r"\b(?:is|was)\s+an?\s+(?:\d{4}\s+)?(.{3,120}?)\s+(?:film|movie|television series|tv series|"
    r"web series|series|miniseries|sitcom|show|programme)\b",
    re.I,
)


def lead_genres(sel: Selector) -> list[str]:
    """Genres named in an article's lead sentence, from a fixed list of genre words."""
    for node in sel.xpath(f"//p[not({_SKIP_ANCESTORS})]")[:6]:
        text = _paragraph_text(node)
        match = _LEAD.search(text[:400])
        if not match:
            continue
        phrase = f" {match.group(1).lower()} "
        found: list[tuple[int, str]] = []
        for word in LEAD_GENRES:
            hit = re.search(rf"[\s-]{re.escape(word)}[\s-]", phrase)
            if hit:
                found.append((hit.start(), word))
                phrase = phrase[: hit.start() + 1] + " " * len(word) + phrase[hit.end() - 1 :]
        return [word for _, word in sorted(found)]
    return []


def inner_html(nodes: Any) -> str | None:
    """Inner HTML of the first matched element (tags and entities kept for the pipeline)."""
    if not nodes:
        return None
    inner = "".join(nodes[0].xpath("node()").getall()).strip()
    return inner or None


def joined_text(nodes: Any) -> str | None:
    text = "".join(nodes.xpath(".//text()").getall()) if nodes else ""
    return text if text.strip() else None
