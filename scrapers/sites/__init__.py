"""Sites are data, not code: one YAML file per site, validated by :class:`SiteConfig`.

A source is given as ``name=URL`` (the site file ``<name>.yml`` applies, with this start
URL), a bare ``name`` (its file must exist and name its start URLs) or a bare URL
(zero-config discovery, named after its host). Site files live in this package's folder
(the demo sites) and in any extra folder a user names (``TRENDING_SITES_DIR``,
``--sites-dir``); a user's file with the same name wins.

Every field is optional except where a bare name needs ``start_urls``: a site with no file
is crawled with the defaults below (robots.txt, sitemaps, same-site links, the pages'
own structured data).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

BUILTIN_SITES_DIR = Path(__file__).resolve().parent
FIELD_NAMES = (
    "title",
    "year",
    "title_type",
    "plot",
    "genres",
    "original_language",
    "release_date",
    "source_title_id",
)
# Review selectors run inside each review block, except source_title_id (on the page).
REVIEW_FIELD_NAMES = (
    "block", "author", "rating", "review_date", "text", "source_review_id", "source_title_id"
)  # fmt: skip


class SiteConfigError(ValueError):
    """A site file or source entry that cannot be used; the message names file and field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class UrlRules(_Strict):
    """Regular expressions (searched in the absolute URL) that say what a page is."""

    allow: list[str] = Field(default_factory=list)
    deny: list[str] = Field(default_factory=list)

    @field_validator("allow", "deny")
    @classmethod
    def _compiles(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as error:
                raise ValueError(f"bad regular expression {pattern!r}: {error}") from None
        return patterns

    def allows(self, url: str) -> bool:
        """True when an allow pattern matches (or there are none) and no deny pattern does."""
        if any(re.search(p, url) for p in self.deny):
            return False
        return not self.allow or any(re.search(p, url) for p in self.allow)

    def matches(self, url: str) -> bool:
        """True only when an allow pattern matches and no deny pattern does."""
        return bool(self.allow) and self.allows(url)

    def denies(self, url: str) -> bool:
        return any(re.search(p, url) for p in self.deny)


class Selector(_Strict):
    """A CSS or XPath expression for one field; ``attr`` reads an attribute instead of text."""

    css: str | None = None
    xpath: str | None = None
    attr: str | None = None
    many: bool = False  # a list (genres) rather than the first match

    @model_validator(mode="after")
    def _one_of(self) -> Selector:
        if bool(self.css) == bool(self.xpath):
            raise ValueError("give exactly one of css or xpath")
        return self


class RatingScale(_Strict):
    """How the site rates: ``max`` (5, 10 or 100; a rating's own ``bestRating`` wins),
    ``min`` (the lowest score; default 0, so 0 is the lowest real score) or ``named``
    values ("Fresh", "Must see") mapped onto 1-10."""

    max: float | None = None
    min: float | None = None
    named: dict[str, float] = Field(default_factory=dict)

    @field_validator("max")
    @classmethod
    def _positive(cls, value: float | None) -> float | None:
        if value is not None and value <= 0:
            raise ValueError("must be positive")
        return value

    @field_validator("named")
    @classmethod
    def _in_range(cls, named: dict[str, float]) -> dict[str, float]:
        for label, value in named.items():
            if not 1 <= value <= 10:
                raise ValueError(f"named rating {label!r} must map to 1..10, got {value}")
        return {k.strip().lower(): v for k, v in named.items()}


class Politeness(_Strict):
    delay: float = Field(default=0.0, ge=0)  # seconds between requests to the site
    concurrency: int = Field(default=4, ge=1, le=64)  # requests in flight to the site
    autothrottle: bool = True


class SiteConfig(_Strict):
    """One site: where to start, what its pages are, how to read what discovery misses."""

    name: str
    start_urls: list[str] = Field(default_factory=list)
    sitemaps: list[str] = Field(default_factory=list)
    use_sitemaps: bool = True  # robots.txt `Sitemap:` lines and /sitemap.xml
    allowed_domains: list[str] = Field(default_factory=list)  # default: the start URLs' hosts
    follow: UrlRules = Field(default_factory=UrlRules)  # links worth following at all
    title_urls: UrlRules = Field(default_factory=UrlRules)
    listing_urls: UrlRules = Field(default_factory=UrlRules)
    review_urls: UrlRules = Field(default_factory=UrlRules)
    reviews_url_template: str | None = None  # "{title_url}/reviews", "{origin}/r/{title_id}"
    fields: dict[str, Selector] = Field(default_factory=dict)
    review_fields: dict[str, Selector] = Field(default_factory=dict)
    rating: RatingScale = Field(default_factory=RatingScale)
    date_formats: list[str] = Field(default_factory=list)  # strptime formats tried first
    language: str | None = None  # the site's own language when the page does not say
    genre_vocabulary: str | None = None  # its dbt seed genre_map_<vocabulary>
    default_title_type: Literal["movie", "tv"] | None = None
    politeness: Politeness = Field(default_factory=Politeness)
    max_pages: int = Field(default=2000, ge=1)  # page budget per crawl
    max_depth: int = Field(default=8, ge=0)  # link hops from a start URL (pagination is free)
    # A title page whose sitemap <lastmod> predates the previous crawl's fetch is carried
    # forward, not fetched, for at most this many days since its last fetch (0: never).
    recrawl_after_days: int = Field(default=7, ge=0)

    @field_validator("name")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not re.fullmatch(r"[a-z0-9][a-z0-9_]*", value):
            raise ValueError("must be lower-case letters, digits and underscores")
        return value

    @field_validator("start_urls", "sitemaps")
    @classmethod
    def _absolute(cls, urls: list[str]) -> list[str]:
        for url in urls:
            if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).hostname:
                raise ValueError(f"needs absolute http(s) URLs, got {url!r}")
        return urls

    @field_validator("fields")
    @classmethod
    def _known_fields(cls, fields: dict[str, Selector]) -> dict[str, Selector]:
        unknown = set(fields) - set(FIELD_NAMES)
        if unknown:
            raise ValueError(f"unknown field(s) {sorted(unknown)}; known: {list(FIELD_NAMES)}")
        return fields

    @field_validator("review_fields")
    @classmethod
    def _known_review_fields(cls, fields: dict[str, Selector]) -> dict[str, Selector]:
        unknown = set(fields) - set(REVIEW_FIELD_NAMES)
        if unknown:
            raise ValueError(
                f"unknown review field(s) {sorted(unknown)}; known: {list(REVIEW_FIELD_NAMES)}"
            )
        return fields

    @field_validator("date_formats")
    @classmethod
    def _formats(cls, formats: list[str]) -> list[str]:
        for fmt in formats:
            if "%" not in fmt:
                raise ValueError(f"{fmt!r} is not a strptime format (e.g. '%d.%m.%Y')")
        return formats

    @field_validator("reviews_url_template")
    @classmethod
    def _template(cls, value: str | None) -> str | None:
        if value is None:
            return value
        known = {"title_url", "title_id", "origin", "path"}
        used = set(re.findall(r"{(\w+)}", value))
        if not used or used - known:
            raise ValueError(f"placeholders must be among {sorted(known)}, got {sorted(used)}")
        return value

    @property
    def hosts(self) -> list[str]:
        """Hosts the crawl may request: the configured ones, else the start URLs' hosts."""
        if self.allowed_domains:
            return list(self.allowed_domains)
        hosts = {urlsplit(u).hostname for u in self.start_urls + self.sitemaps}
        return sorted(h for h in hosts if h)

    def reviews_url_for(self, title_url: str, title_id: str | None) -> str | None:
        if not self.reviews_url_template:
            return None
        parts = urlsplit(title_url)
        return self.reviews_url_template.format(
            title_url=title_url.split("?")[0].split("#")[0].rstrip("/"),
            title_id=title_id or "",
            origin=f"{parts.scheme}://{parts.netloc}",
            path=parts.path.rstrip("/"),
        )


def _error_text(error: ValidationError) -> str:
    lines = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"]) or "(top level)"
        lines.append(f"{where}: {item['msg']}")
    return "; ".join(lines)


def load_site(path: Path | str, **overrides: Any) -> SiteConfig:
    """Read and validate one site file; errors name the file and the field."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as error:
        raise SiteConfigError(f"{path}: cannot read site file ({error})") from None
    except yaml.YAMLError as error:
        raise SiteConfigError(f"{path}: not valid YAML ({error})") from None
    if not isinstance(data, dict):
        raise SiteConfigError(f"{path}: a site file must be a mapping of settings")
    data.setdefault("name", path.stem)
    data.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return SiteConfig.model_validate(data)
    except ValidationError as error:
        raise SiteConfigError(f"{path}: {_error_text(error)}") from None


def site_dirs(extra: Iterable[Path | str] = ()) -> list[Path]:
    """Folders searched for ``<name>.yml``: the user's first, then the built-in ones."""
    return [Path(d) for d in extra if d] + [BUILTIN_SITES_DIR]


def find_site_file(name: str, dirs: Iterable[Path | str] = ()) -> Path | None:
    for folder in site_dirs(dirs):
        for suffix in (".yml", ".yaml"):
            candidate = folder / f"{name}{suffix}"
            if candidate.is_file():
                return candidate
    return None


def _host_name(url: str) -> str:
    host = (urlsplit(url).hostname or "source").removeprefix("www.")
    label = host.split(".")[0] if not re.fullmatch(r"[\d.]+", host) else host.replace(".", "_")
    return re.sub(r"[^a-z0-9_]", "_", label.lower()) or "source"


def parse_source_entry(entry: str, dirs: Iterable[Path | str] = ()) -> SiteConfig:
    """One ``name=URL`` / ``name`` / ``URL`` entry as a site config."""
    entry = entry.strip()
    name, sep, url = entry.partition("=")
    if not sep and "://" in entry or sep and "://" in name:
        name, url = _host_name(entry), entry
    name, url = name.strip().lower(), url.strip()
    if url and urlsplit(url).scheme not in ("http", "https"):
        raise SiteConfigError(f"source {name!r} needs an absolute http(s) URL, got {url!r}")
    path = find_site_file(name, dirs)
    if path is not None:
        return load_site(path, name=name, start_urls=[url] if url else None)
    if not url:
        searched = ", ".join(str(d) for d in site_dirs(dirs))
        raise SiteConfigError(
            f"source {name!r} has no URL and no site file {name}.yml (searched {searched})"
        )
    try:
        return SiteConfig(name=name, start_urls=[url])
    except ValidationError as error:
        raise SiteConfigError(f"source {entry!r}: {_error_text(error)}") from None


def resolve_sources(
    value: str | Iterable[str] | Mapping[str, str] | None, dirs: Iterable[Path | str] = ()
) -> dict[str, SiteConfig]:
    """Source entries (a comma-separated string, a list, or name -> URL) as site configs."""
    if value is None:
        return {}
    if isinstance(value, Mapping):
        entries = [f"{name}={url}" if url else name for name, url in value.items()]
    elif isinstance(value, str):
        entries = [part for part in value.split(",") if part.strip()]
    else:
        entries = [str(part) for part in value if str(part).strip()]
    sites: dict[str, SiteConfig] = {}
    for entry in entries:
        site = parse_source_entry(entry, dirs)
        if site.name in sites:
            raise SiteConfigError(f"source {site.name!r} is given twice")
        if not site.start_urls and not site.sitemaps:
            raise SiteConfigError(f"source {site.name!r}: its site file names no start_urls")
        sites[site.name] = site
    return sites
