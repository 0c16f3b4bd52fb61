"""The API over real HTTP: every endpoint, filters, pagination and error shapes."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from serving_fixtures import TITLES, running_api, write_warehouse

from trending_assets.lib.snapshot import build_snapshot, publish_snapshot

ORDERED_IDS = ["t01", "t06", "t02", "t03", "t04", "t05", "t07"]  # by title, then id


def _assert_problem(response: httpx.Response, status: int, *needles: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status and body["title"] and body["detail"]
    for needle in needles:
        assert needle in body["detail"], body
    return body


def test_health_names_the_published_snapshot(
    api: httpx.Client, published: tuple[Path, str]
) -> None:
    body = api.get("/health").json()
    assert body["status"] == "ok"
    assert body["snapshot"] == published[1]
    assert 0 <= body["snapshot_age_seconds"] < 600


def test_titles_first_page(api: httpx.Client, published: tuple[Path, str]) -> None:
    response = api.get("/titles")
    assert response.status_code == 200
    assert response.headers["x-snapshot-version"] == published[1]
    body = response.json()
    assert [item["id"] for item in body["items"]] == ORDERED_IDS
    assert (body["total"], body["limit"], body["offset"], body["next_offset"]) == (7, 20, 0, None)
    first = body["items"][0]
    assert first == {
        "id": "t01",
        "title": "Alpha Quest",
        "year": 2019,
        "type": "movie",
        "genres": ["Action", "Adventure"],
        "genre_ids": ["action", "adventure"],
        "review_count": 3,
        "mean_rating": 8.0,
        "vibe_score": None,  # no LLM enrichment for t01
        "trending_rank": 1,
        "trending_score": first["trending_score"],
    }
    assert first["trending_score"] > 0
    assert body["next_cursor"] is None


def test_pagination_is_stable_and_complete(api: httpx.Client) -> None:
    seen: list[str] = []
    offset: int | None = 0
    offsets = []
    while offset is not None:
        body = api.get("/titles", params={"limit": 3, "offset": offset}).json()
        offsets.append((body["offset"], body["next_offset"]))
        seen += [item["id"] for item in body["items"]]
        offset = body["next_offset"]
    assert offsets == [(0, 3), (3, 6), (6, None)]
    assert seen == ORDERED_IDS

    past_end = api.get("/titles", params={"offset": 50}).json()
    assert past_end["items"] == [] and past_end["total"] == 7 and past_end["next_offset"] is None


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"type": "tv"}, ["t06", "t02", "t03"]),
        ({"type": "movie"}, ["t01", "t04", "t05", "t07"]),
        ({"genre": "action"}, ["t01", "t04"]),
        ({"genre": ["action", "adventure"]}, ["t01"]),  # repeated genre: titles with all
        ({"genre": ["drama", "crime"]}, ["t03"]),
        ({"genre": ["adventure"], "type": "tv"}, ["t06"]),
        ({"genre": ["comedy", "horror"]}, []),
        ({"genre": "western"}, []),
    ],
)
def test_title_filters(api: httpx.Client, params: dict, expected: list[str]) -> None:
    body = api.get("/titles", params=params).json()
    assert [item["id"] for item in body["items"]] == expected
    assert body["total"] == len(expected)


def test_title_detail(api: httpx.Client, published: tuple[Path, str]) -> None:
    response = api.get("/titles/t07")
    assert response.status_code == 200
    assert response.headers["x-snapshot-version"] == published[1]
    detail = response.json()
    assert detail["trending"]["momentum"] > 1  # three reviews in the window, none before
    assert detail == {
        "id": "t07",
        "title": "Funny Business",
        "year": 2018,
        "type": "movie",
        "plot": "Two clumsy salesmen stumble into hilarious mix-ups at a wedding.",
        "original_language": "en",
        "release_date": "2018-06-01",
        "sources": ["reelhub"],
        "genres": ["Comedy"],
        "genre_ids": ["comedy"],
        "review_stats": {
            "review_count": 3,
            "rated_review_count": 3,
            "mean_rating": 7.67,
            "first_review_date": "2024-05-24",
            "last_review_date": "2024-05-28",
            "reviews_last_7d": 3,
            "reviews_last_30d": 3,
        },
        "model_genres": {
            "model": "logreg",
            "model_version": "20261120T000000Z-abc",
            "predicted": ["Comedy"],
            "probabilities": [
                {"genre_id": "comedy", "genre": "Comedy", "probability": 0.91, "predicted": True},
                {"genre_id": "drama", "genre": "Drama", "probability": 0.2, "predicted": False},
            ],
        },
        "enrichment": {
            "provider": "local",
            "model": "local-v1",
            "prompt_version": "local-v1",
            "schema_version": "1",
            "genres": ["comedy"],
            "summary": "Reviewers laughed a lot.",
            "vibe_score": 8,
            "vibe_tags": ["funny", "warm", "light"],
        },
        "trending": {
            "rank": 2,
            "score": detail["trending"]["score"],
            "recent_reviews": 3,
            "momentum": detail["trending"]["momentum"],
            "as_of": "2024-05-28",
        },
        "provenance": {
            "snapshot_version": published[1],
            "model_version": "20261120T000000Z-abc",
            "prompt_version": "local-v1",
        },
    }
    # A title not scored or enriched says so instead of inventing anything.
    other = api.get("/titles/t01").json()
    assert other["model_genres"] is None and other["enrichment"] is None
    assert other["provenance"]["model_version"] is None
    assert other["provenance"]["prompt_version"] is None
    unreviewed = api.get("/titles/t04").json()["review_stats"]
    assert unreviewed["review_count"] == 0 and unreviewed["mean_rating"] is None


def test_unknown_title_is_404(api: httpx.Client) -> None:
    _assert_problem(api.get("/titles/t99"), 404, "No title with id 't99'")
    _assert_problem(api.get("/titles/' OR '1'='1"), 404, "No title with id")


def test_genres_include_empty_ones(api: httpx.Client) -> None:
    items = api.get("/genres").json()["items"]
    counts = {g["id"]: g["title_count"] for g in items}
    assert len(counts) == 24
    assert counts["adventure"] == 2 and counts["kids"] == 1 and counts["talk"] == 0
    assert {"id": "science_fiction", "name": "Science Fiction", "title_count": 1} in items


@pytest.mark.parametrize(
    ("query", "needle"),
    [
        ("limit=0", "'limit'"),
        ("limit=1000", "'limit'"),
        ("limit=abc", "'limit'"),
        ("offset=-1", "'offset'"),
        ("type=foo", "'type'"),
        ("type=movie' OR 1=1 --", "'type'"),
        ("genre=' OR 1=1 --", "Unknown genre id"),
        ("genre=drama&genre=1);drop table titles;--", "Unknown genre id"),
        ("genre=Action", "Unknown genre id"),
        ("&".join(f"genre=g{i}" for i in range(11)), "at most 10 genre filters"),
    ],
)
def test_bad_parameters_are_400_problems(api: httpx.Client, query: str, needle: str) -> None:
    body = _assert_problem(api.get(f"/titles?{query}"), 400, needle)
    assert body["invalid_params"], body


def test_injection_attempts_change_nothing(api: httpx.Client) -> None:
    for query in ("genre=' OR 1=1 --", "type=tv'; drop table titles; --"):
        assert api.get(f"/titles?{query}").status_code == 400
    assert api.get("/titles").json()["total"] == len(TITLES)


def test_openapi_is_served(api: httpx.Client) -> None:
    schema = api.get("/schema/openapi.json")
    assert schema.status_code == 200
    spec = schema.json()
    assert {"/health", "/titles", "/titles/{title_id}", "/genres"} <= set(spec["paths"])
    params = {p["name"] for p in spec["paths"]["/titles"]["get"]["parameters"]}
    assert {"limit", "offset", "genre", "type"} <= params
    assert "TitlePage" in spec["components"]["schemas"]
    assert "X-Snapshot-Version" in spec["paths"]["/titles"]["get"]["responses"]["200"]["headers"]
    for page in ("/schema", "/schema/swagger"):
        docs = api.get(page)
        assert docs.status_code == 200 and "text/html" in docs.headers["content-type"]


def test_unknown_route_is_a_problem(api: httpx.Client) -> None:
    _assert_problem(api.get("/nope"), 404)


def test_no_snapshot_yet_then_one_appears(tmp_path: Path) -> None:
    serving = tmp_path / "serving"
    with running_api(serving, poll_interval_s=0.05) as client:
        health = client.get("/health")
        assert health.status_code == 200
        assert health.json()["snapshot"] is None
        for path in ("/titles", "/titles/t01", "/genres"):
            _assert_problem(client.get(path), 503, "No serving snapshot")

        for path in ("/trending", "/search?q=space", "/titles/t01/similar"):
            _assert_problem(client.get(path), 503, "No serving snapshot")
        assert client.get("/ready").status_code == 503
        info = build_snapshot(write_warehouse(tmp_path / "warehouse.duckdb"), serving)
        publish_snapshot(serving, info.version)
        deadline = time.monotonic() + 5
        while client.get("/health").json()["snapshot"] != info.version:
            assert time.monotonic() < deadline, "the API did not pick up the first snapshot"
            time.sleep(0.05)
        assert client.get("/titles").json()["total"] == len(TITLES)
        assert client.get("/ready").json()["snapshot"] == info.version
        # A snapshot without trending scores, embeddings or model: not broken. Nothing is
        # trending, so /trending answers with the best-rated titles and says why.
        trending = client.get("/trending").json()
        assert trending["trending_count"] == 0 and trending["as_of"] is None
        assert {i["basis"] for i in trending["items"]} == {"best_rated_fallback"}
        assert "no trending scores yet" in trending["reason"]
        similar = client.get("/titles/t01/similar").json()
        assert similar["mode"] == "genres" and [i["id"] for i in similar["items"]] == ["t04", "t06"]
        _assert_problem(client.post("/predict", json={"text": "a plot"}), 503, "without a champion")
