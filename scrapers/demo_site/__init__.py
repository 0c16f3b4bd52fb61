"""Deterministic demo movie sites (reelhub, filmfolio) the spiders crawl offline."""

from scrapers.demo_site.catalog import (
    CANONICAL_GENRES,
    SITES,
    TROUBLE_KINDS,
    Catalog,
    Listing,
    Review,
    SiteCatalog,
    Title,
    Trouble,
    build_catalog,
)
from scrapers.demo_site.server import DemoSites, RequestRecord, serve_demo_sites

__all__ = [
    "CANONICAL_GENRES",
    "SITES",
    "TROUBLE_KINDS",
    "Catalog",
    "DemoSites",
    "Listing",
    "RequestRecord",
    "Review",
    "SiteCatalog",
    "Title",
    "Trouble",
    "build_catalog",
    "serve_demo_sites",
]
