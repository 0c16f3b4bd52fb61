"""Pure extraction: what a fetched page says, as plain dicts.

Everything here takes a ``parsel.Selector`` (a Scrapy response is one) and a URL, and
returns plain data, so it is unit-tested on hand-written pages without a crawl:

- :func:`extract_listing`: the title a page is about, from JSON-LD (any shape), microdata,
  RDFa, OpenGraph or the visible page; or why the page is not a title page.
- :func:`extract_reviews`: reviews on a review page (structured items or review blocks).
- :func:`page_links`: every link, the next page, the reviews page.

Text fields keep their inner HTML; the item pipeline strips tags and entities, so
extraction never loses the evidence. A site file (:class:`scrapers.sites.SiteConfig`)
may add CSS/XPath selectors, a rating scale and date formats.
"""

from scrapers.extract.common import Extraction, canonical_url, id_from_url
from scrapers.extract.links import PageLinks, next_page_link, page_links, reviews_link
from scrapers.extract.reviews import (
    extract_reviews,
    review_from_object,
    reviews_from_blocks,
    reviews_from_objects,
)
from scrapers.extract.structured import (
    JsonLd,
    jsonld_of,
    microdata_of,
    opengraph_of,
    parse_jsonld,
    rdfa_of,
)
from scrapers.extract.titles import LISTING_FIELDS, extract_listing
from scrapers.extract.values import (
    is_generated_summary,
    language_code,
    normalize_rating,
    parse_date,
    parse_rating,
    parse_year,
    title_type_of,
)

__all__ = [
    "LISTING_FIELDS",
    "Extraction",
    "JsonLd",
    "PageLinks",
    "canonical_url",
    "extract_listing",
    "extract_reviews",
    "id_from_url",
    "is_generated_summary",
    "jsonld_of",
    "language_code",
    "microdata_of",
    "next_page_link",
    "normalize_rating",
    "opengraph_of",
    "page_links",
    "parse_date",
    "parse_jsonld",
    "parse_rating",
    "parse_year",
    "rdfa_of",
    "review_from_object",
    "reviews_from_blocks",
    "reviews_from_objects",
    "reviews_link",
    "title_type_of",
]
