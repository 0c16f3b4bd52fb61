"""Site files: validated, with errors that name the file and the field; source entries."""

from __future__ import annotations

from pathlib import Path

import pytest

from scrapers.sites import (
    BUILTIN_SITES_DIR,
    SiteConfigError,
    load_site,
    parse_source_entry,
    resolve_sources,
)


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / f"{name}.yml"
    path.write_text(text, encoding="utf-8")
    return path


def test_builtin_demo_site_files_are_valid():
    for name in ("reelhub", "filmfolio"):
        site = load_site(BUILTIN_SITES_DIR / f"{name}.yml")
        assert site.name == name
        assert site.genre_vocabulary == name
        assert site.title_urls.allow and site.review_urls.allow


@pytest.mark.parametrize(
    "text, field",
    [
        ("rating:\n  max: -5\n", "rating.max"),
        ("title_urls:\n  allow: ['([unclosed']\n", "title_urls.allow"),
        ("fields:\n  runtime: {css: '.x'}\n", "fields"),
        ("fields:\n  title: {css: '.a', xpath: '//b'}\n", "fields.title"),
        ("politeness:\n  concurrency: 0\n", "politeness.concurrency"),
        ("reviews_url_template: '{title_url}/{nope}'\n", "reviews_url_template"),
        ("date_formats: ['dd.mm.yyyy']\n", "date_formats"),
        ("start_urls: ['/relative']\n", "start_urls"),
        ("no_such_setting: 1\n", "no_such_setting"),
    ],
)
def test_a_bad_site_file_is_a_clear_error_naming_file_and_field(tmp_path, text, field):
    path = _write(tmp_path, "broken", text)
    with pytest.raises(SiteConfigError) as error:
        load_site(path)
    message = str(error.value)
    assert str(path) in message and field in message


def test_not_yaml_and_not_a_mapping(tmp_path):
    with pytest.raises(SiteConfigError, match="not valid YAML"):
        load_site(_write(tmp_path, "a", "title_urls: [unclosed\n"))
    with pytest.raises(SiteConfigError, match="mapping"):
        load_site(_write(tmp_path, "b", "- just\n- a list\n"))


def test_source_entries(tmp_path):
    _write(
        tmp_path,
        "mysite",
        "start_urls: ['https://movies.example.org/']\nrating:\n  max: 5\ngenre_vocabulary: generic\n",
    )
    # A bare name with a site file; name=URL overrides its start URL; a bare URL.
    assert parse_source_entry("mysite", [tmp_path]).start_urls == ["https://movies.example.org/"]
    overridden = parse_source_entry("mysite=http://127.0.0.1:9/", [tmp_path])
    assert overridden.start_urls == ["http://127.0.0.1:9/"] and overridden.rating.max == 5
    bare = parse_source_entry("https://www.reelhub.com/browse?page=1")
    assert bare.name == "reelhub" and bare.hosts == ["www.reelhub.com"]
    assert parse_source_entry("http://127.0.0.1:8101/").name == "127_0_0_1"
    # The demo sites' files apply to their names.
    assert parse_source_entry("reelhub=http://127.0.0.1:1/").genre_vocabulary == "reelhub"
    with pytest.raises(SiteConfigError, match="no URL and no site file"):
        parse_source_entry("unknown", [tmp_path])
    with pytest.raises(SiteConfigError, match="given twice"):
        resolve_sources("mysite,mysite=http://a.example/", [tmp_path])
    sites = resolve_sources({"a": "http://a.example/", "b": "http://b.example/"})
    assert list(sites) == ["a", "b"]


def test_url_rules_and_reviews_template():
    site = load_site(BUILTIN_SITES_DIR / "reelhub.yml")
    assert site.title_urls.matches("http://h/title/rh-000001")
    assert not site.title_urls.matches("http://h/title/rh-000001/reviews?page=1")
    assert site.review_urls.matches("http://h/title/rh-000001/reviews?page=2")
    templated = site.model_copy(update={"reviews_url_template": "{origin}/r/{title_id}"})
    assert templated.reviews_url_for("http://h:1/title/x?ref=a", "x") == "http://h:1/r/x"
