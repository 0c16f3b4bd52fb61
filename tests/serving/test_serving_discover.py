"""The discovery, model and operations endpoints over real HTTP against the fixture snapshot:
trending, filters/sorts/cursors, semantic search and its fallback, similar titles, /predict,
caching headers, metrics, CORS, readiness and the admin reload."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from serving_fixtures import TITLES, publish_fixture_snapshot, running_api

from trending_assets.lib.snapshot import build_snapshot, publish_snapshot


def _problem(response: httpx.Response, status: int, needle: str = "") -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert needle in body["detail"], body
    return body


def ids(body: dict) -> list[str]:
    return [item["id"] for item in body["items"]]


# --- trending --------------------------------------------------------------------------


def test_trending_lists_ranked_titles_only(api: httpx.Client, published: tuple[Path, str]) -> None:
    strict = {"fallback_min": 0}  # trending titles only, no best-rated fallback
    body = api.get("/trending", params=strict).json()
    # t01 and t07 have three reviews in the window; the others fewer: not ranked.
    assert ids(body) == ["t01", "t07"]
    assert [i["trending_rank"] for i in body["items"]] == [1, 2]
    assert {i["basis"] for i in body["items"]} == {"trending"}
    assert body["trending_count"] == 2 and body["fallback_count"] == 0
    assert body["as_of"] == "2024-05-28" and body["snapshot"] == published[1]
    assert "momentum" in body["formula"]
    assert ids(api.get("/trending", params={"genre": "comedy", **strict}).json()) == ["t07"]
    assert ids(api.get("/trending", params={"type": "tv", **strict}).json()) == []
    limited = api.get("/trending", params={"limit": 1}).json()
    assert ids(limited) == ["t01"] and limited["reason"] is None
    # Every comedy title is trending: nothing to add, nothing to explain.
    comedy = api.get("/trending", params={"genre": "comedy"}).json()
    assert ids(comedy) == ["t07"] and comedy["reason"] is None
    _problem(api.get("/trending", params={"genre": "nope"}), 400, "Unknown genre id")
    _problem(api.get("/trending", params={"limit": 101}), 400, "limit")
    _problem(api.get("/trending", params={"fallback_min": -1}), 400, "fallback_min")


def test_a_genre_without_trending_titles_falls_back_to_its_best_rated(api: httpx.Client) -> None:
    """Drama has titles but none with enough recent reviews: not an empty list, its
    best-rated titles, each marked, with the reason."""
    body = api.get("/trending", params={"genre": "drama"}).json()
    # t03: one 9/10 review; t02: 6/10 and an unrated one (damped towards 5.5 by review count).
    assert ids(body) == ["t03", "t02"]
    assert {i["basis"] for i in body["items"]} == {"best_rated_fallback"}
    assert all(i["trending_rank"] is None and "drama" in i["genre_ids"] for i in body["items"])
    assert body["trending_count"] == 0 and body["fallback_count"] == 2
    assert body["reason"].startswith("not enough recent reviews")
    assert ">= 3 in the 7 days to 2024-05-28" in body["reason"]
    assert "no drama titles are trending" in body["reason"]

    # A short answer is topped up to fallback_min (at most limit): trending titles first.
    mixed = api.get("/trending", params={"fallback_min": 4}).json()
    assert [i["basis"] for i in mixed["items"]] == ["trending"] * 2 + ["best_rated_fallback"] * 2
    assert ids(mixed)[:2] == ["t01", "t07"] and "only 2 titles are trending" in mixed["reason"]
    assert len(api.get("/trending", params={"fallback_min": 4, "limit": 3}).json()["items"]) == 3

    # fallback_min=0: no fallback, but still the reason instead of a bare empty list.
    strict = api.get("/trending", params={"genre": "drama", "fallback_min": 0}).json()
    assert strict["items"] == [] and "no best-rated titles added" in strict["reason"]

    # A known genre no title has: empty, and says so; an unknown one stays a 400.
    horror = api.get("/trending", params={"genre": "horror"}).json()
    assert horror["items"] == [] and horror["reason"] == "no horror titles in this snapshot"


# --- /titles filters, sorts, cursors ---------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"year_min": 2019}, ["t01", "t06", "t02", "t04"]),
        ({"year_min": 2018, "year_max": 2019}, ["t01", "t07"]),
        ({"min_vibe": 8}, ["t07"]),
        ({"q": "alpha"}, ["t01", "t06"]),
        ({"q": "DETECTIVES"}, ["t03"]),  # plot text, case-insensitive
        ({"q": "100%"}, []),  # literal: % is not a wildcard
        ({"q": "_"}, []),
        ({"q": "a", "type": "tv", "genre": "drama"}, ["t02", "t03"]),
    ],
)
def test_more_title_filters(api: httpx.Client, params: dict, expected: list[str]) -> None:
    body = api.get("/titles", params=params).json()
    assert ids(body) == expected and body["total"] == len(expected)


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("title", ["t01", "t06", "t02", "t03", "t04", "t05", "t07"]),
        ("trending", ["t01", "t07", "t02", "t03", "t04", "t05", "t06"]),  # unranked by id
        ("vibe", ["t07", "t01", "t02", "t03", "t04", "t05", "t06"]),
        ("year", ["t04", "t02", "t06", "t01", "t07", "t03", "t05"]),  # newest first, null last
    ],
)
def test_sorts_and_cursor_pages_cover_everything_once(
    api: httpx.Client, sort: str, expected: list[str]
) -> None:
    assert ids(api.get("/titles", params={"sort": sort}).json()) == expected
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params = {"sort": sort, "limit": 2} | ({"cursor": cursor} if cursor else {})
        body = api.get("/titles", params=params).json()
        seen += ids(body)
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
        assert body["offset"] is None or pages == 1
    assert seen == expected and pages == 4


def test_bad_cursors_and_ranges_are_400(api: httpx.Client) -> None:
    first = api.get("/titles", params={"sort": "vibe", "limit": 2}).json()
    _problem(api.get("/titles", params={"cursor": first["next_cursor"]}), 400, "sort='vibe'")
    _problem(api.get("/titles", params={"cursor": "not-a-cursor"}), 400, "cursor is not valid")
    _problem(api.get("/titles", params={"cursor": "WyJ0aXRsZSIsMSwidDAxIl0"}), 400, "not valid")
    _problem(
        api.get("/titles", params={"cursor": first["next_cursor"], "offset": 2, "sort": "vibe"}),
        400, "either cursor or offset",
    )  # fmt: skip
    _problem(api.get("/titles", params={"year_min": 2020, "year_max": 2010}), 400, "after year_max")
    _problem(api.get("/titles", params={"min_vibe": 11}), 400, "min_vibe")
    _problem(api.get("/titles", params={"sort": "popularity"}), 400, "sort")
    _problem(api.get("/titles", params={"q": "x" * 201}), 400, "q")


# --- search and similar ------------------------------------------------------------------------


def test_semantic_search_finds_by_meaning(api: httpx.Client) -> None:
    body = api.get(
        "/search", params={"q": "rebels fighting a galactic empire on sand dunes"}
    ).json()
    assert body["mode"] == "semantic"
    assert body["items"][0]["id"] == "t04"  # no word of the query is in its title
    scores = [i["score"] for i in body["items"]]
    assert scores == sorted(scores, reverse=True) and len(scores) == len(TITLES)
    murder = api.get("/search", params={"q": "police investigate a homicide", "limit": 1}).json()
    assert ids(murder) == ["t03"]


def test_keyword_fallback_when_the_encoder_is_off(
    api: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRENDING_SEARCH_ENCODER", "off")
    # A query not asked before (the server cache keys on the URL).
    body = api.get("/search", params={"q": "alpha island"}).json()
    assert body["mode"] == "keyword"
    assert ids(body)[0] == "t06"  # title hit (alpha) + plot hit (island) beats title hit only
    assert set(ids(body)) == {"t01", "t06"}
    assert api.get("/search", params={"q": "zzzz qqqq"}).json()["items"] == []


def test_search_rejects_bad_queries(api: httpx.Client) -> None:
    _problem(api.get("/search"), 400, "q")
    _problem(api.get("/search", params={"q": "   "}), 400, "blank")
    _problem(api.get("/search", params={"q": "x" * 201}), 400, "q")
    injection = api.get("/search", params={"q": "'; drop table titles; --"})
    assert injection.status_code == 200
    assert api.get("/titles").json()["total"] == len(TITLES)


def test_similar_titles_by_embedding(api: httpx.Client) -> None:
    body = api.get("/titles/t04/similar", params={"limit": 3}).json()
    assert body["mode"] == "embedding" and body["id"] == "t04"
    assert "t04" not in ids(body) and len(body["items"]) == 3
    assert body["items"][0]["id"] == "t01"  # the other action plot
    _problem(api.get("/titles/t99/similar"), 404, "No title with id 't99'")
    _problem(api.get("/titles/t01/similar", params={"limit": 0}), 400, "limit")


# --- predict -------------------------------------------------------------------------------


def test_predict_uses_the_snapshots_champion(
    api: httpx.Client, published: tuple[Path, str]
) -> None:
    response = api.post(
        "/predict", json={"text": "A space fleet battles aliens; explosions and a daring rescue."}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model"] == "keyword" and body["model_version"] == "fixture"
    assert body["snapshot"] == published[1]
    assert {"Action", "Science Fiction"} <= set(body["predicted"])
    probabilities = [p["probability"] for p in body["probabilities"]]
    assert probabilities == sorted(probabilities, reverse=True)
    assert {p["genre_id"] for p in body["probabilities"]} == {
        "action", "comedy", "crime", "drama", "kids", "science_fiction",
    }  # fmt: skip
    assert body["type"] is None
    comedy = api.post(
        "/predict", json={"text": "hilarious jokes at a funny wedding", "title": "Laughs"}
    )
    assert comedy.json()["predicted"] == ["Comedy"]


def test_predict_takes_the_title_type(api: httpx.Client) -> None:
    """A TV-only genre (kids) is predicted for a series or an unknown type, never for a movie."""
    plot = "Puppets teach preschoolers letters and numbers in a cartoon."

    def predict(**extra: str) -> dict:
        response = api.post("/predict", json={"text": plot, **extra})
        assert response.status_code == 200, response.text
        return response.json()

    def kids(body: dict) -> float:
        return next(p["probability"] for p in body["probabilities"] if p["genre_id"] == "kids")

    unknown, series, movie = predict(), predict(type="tv"), predict(type=" Movie ")
    assert "Kids" in unknown["predicted"] and "Kids" in series["predicted"]
    assert kids(series) == kids(unknown) > 0.5
    assert (movie["type"], series["type"], unknown["type"]) == ("movie", "tv", None)
    assert "Kids" not in movie["predicted"] and kids(movie) == 0.0
    _problem(api.post("/predict", json={"text": plot, "type": "series"}), 400, "movie, tv")


@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        ({"text": "  "}, 400, "at least 3"),
        ({"text": "x" * 5001}, 400, "at most 5000"),
        ({"text": "a plot", "title": "t" * 301}, 400, "title"),
        ({"plot": "wrong field"}, 400, ""),
        ({"text": 42}, 400, ""),
        ({"text": "ok text", "extra": 1}, 400, ""),
    ],
)
def test_predict_rejects_bad_bodies(
    api: httpx.Client, body: dict, status: int, needle: str
) -> None:
    _problem(api.post("/predict", json=body), status, needle)


def test_predict_limits_body_size_and_shape(api: httpx.Client) -> None:
    _problem(api.post("/predict", content=b"{" + b" " * 70_000 + b"}",
                      headers={"content-type": "application/json"}), 413)  # fmt: skip
    _problem(
        api.post("/predict", content=b"{not json", headers={"content-type": "application/json"}),
        400,
    )
    assert api.get("/predict").status_code == 405


# --- caching, metrics, readiness -------------------------------------------------------------


def test_etag_and_cache_headers(api: httpx.Client, published: tuple[Path, str]) -> None:
    first = api.get("/titles/t01")
    etag = first.headers["etag"]
    assert etag.startswith('W/"') and first.headers["cache-control"] == "public, max-age=30"
    again = api.get("/titles/t01", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag and again.headers["x-snapshot-version"] == published[1]
    # Query order does not matter; a different query is a different resource.
    a = api.get("/titles?type=movie&limit=2").headers["etag"]
    b = api.get("/titles?limit=2&type=movie").headers["etag"]
    assert a == b != api.get("/titles?limit=3&type=movie").headers["etag"]
    assert api.get("/titles/t01", headers={"If-None-Match": 'W/"other"'}).status_code == 200
    # Errors and POSTs are not cached.
    assert "etag" not in api.get("/titles/t99").headers
    assert "etag" not in api.post("/predict", json={"text": "a plot here"}).headers


def test_metrics_are_prometheus_text(api: httpx.Client, published: tuple[Path, str]) -> None:
    api.get("/titles/t02")
    api.get("/titles/t03")
    text = api.get("/metrics").text
    assert f'trending_snapshot_info{{version="{published[1]}"}} 1.0' in text
    assert "trending_snapshot_loaded 1.0" in text
    assert 'route="/titles/{title_id}"' in text  # per route, not per raw path
    assert "trending_api_request_duration_seconds_bucket" in text
    assert 'route="/titles/t02"' not in text


def test_cors_is_off_by_default_and_configurable(tmp_path: Path) -> None:
    publish_fixture_snapshot(tmp_path, with_extras=False)
    origin = {"Origin": "https://fans.example"}
    with running_api(tmp_path / "serving") as client:
        assert "access-control-allow-origin" not in client.get("/genres", headers=origin).headers
    from serving_fixtures import running_app

    with running_app(tmp_path / "serving", cors_origins=["https://fans.example"]) as client:
        allowed = client.get("/genres", headers=origin)
        assert allowed.headers["access-control-allow-origin"] == "https://fans.example"
        preflight = client.options(
            "/predict", headers=origin | {"Access-Control-Request-Method": "POST"}
        )
        assert preflight.status_code in (200, 204)
        other = client.get("/genres", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers


def test_admin_reload_needs_the_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = publish_fixture_snapshot(tmp_path, with_extras=False)
    serving = tmp_path / "serving"
    # A long poll interval: only the admin reload can pick up the next version quickly.
    with running_api(serving, poll_interval_s=3600) as client:
        monkeypatch.delenv("TRENDING_ADMIN_API_KEY", raising=False)
        _problem(client.post("/admin/reload"), 403, "TRENDING_ADMIN_API_KEY")
        monkeypatch.setenv("TRENDING_ADMIN_API_KEY", "s3cret")
        _problem(client.post("/admin/reload"), 401, "X-API-Key")
        _problem(client.post("/admin/reload", headers={"X-API-Key": "wrong"}), 401)
        unchanged = client.post("/admin/reload", headers={"X-API-Key": "s3cret"}).json()
        assert unchanged == {"switched": False, "snapshot": first.version, "detail": None}

        time.sleep(1.1)  # versions carry a timestamp to the second
        second = build_snapshot(tmp_path / "warehouse.duckdb", serving, version="v2-manual")
        publish_snapshot(serving, second.version)
        assert client.get("/ready").json()["snapshot"] == first.version
        switched = client.post("/admin/reload", headers={"X-API-Key": "s3cret"}).json()
        assert switched == {"switched": True, "snapshot": "v2-manual", "detail": None}
        assert client.get("/titles").headers["x-snapshot-version"] == "v2-manual"
        spec = client.get("/schema/openapi.json").json()
        assert "apiKey" in spec["components"]["securitySchemes"]


def test_access_log_has_structured_fields(
    api: httpx.Client, published: tuple[Path, str], caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    with caplog.at_level(logging.INFO, logger="serving.access"):
        api.get("/titles/t05", params={"nocache": "1"})
        time.sleep(0.1)
    records = [r for r in caplog.records if r.name == "serving.access" and r.path == "/titles/t05"]
    assert records, "no access log record"
    record = records[-1]
    assert (record.method, record.route, record.status) == ("GET", "/titles/{title_id}", 200)
    assert record.snapshot == published[1] and record.duration_ms > 0


def test_a_failing_encoder_degrades_search_to_keywords(
    api: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    from serving.vectors import QueryEncoder

    def broken(text: str):
        raise RuntimeError("encoder crashed")

    monkeypatch.setattr(QueryEncoder, "_encode_memo", broken)
    body = api.get("/search", params={"q": "detectives and murder cases"})
    assert body.status_code == 200
    assert body.json()["mode"] == "keyword" and ids(body.json())[0] == "t03"
