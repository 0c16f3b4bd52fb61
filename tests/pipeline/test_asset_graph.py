"""A snapshot of the asset graph: keys, groups, edges and checks can't silently disappear."""

import dagster as dg
import pytest

from trending_assets.definitions import defs


@pytest.fixture(scope="module")
def graph():
    return defs().resolve_asset_graph()


# The dbt models of the served tables (dbt_project/models/serving).
SERVING_MODELS = {
    "serving_titles", "serving_title_genres", "serving_genres", "serving_title_predictions",
    "serving_llm_enrichments", "serving_trending_scores", "serving_title_details",
}  # fmt: skip


def _parents(graph, key: str) -> set[str]:
    return {k.to_user_string() for k in graph.get(dg.AssetKey.from_user_string(key)).parent_keys}


def test_groups_hold_the_expected_assets(graph) -> None:
    groups: dict[str, set[str]] = {}
    for key in graph.get_all_asset_keys():
        groups.setdefault(graph.get(key).group_name, set()).add(key.to_user_string())
    assert groups["ingest"] == {
        "raw/listings", "raw/reviews", "raw/dataset_listings", "raw/dataset_reviews", "raw/api_releases",
    }  # fmt: skip
    assert groups["serving"] == {"serving_snapshot", "trending_scores", *SERVING_MODELS}
    assert {
        "titles",
        "title_genres",
        "reviews",
        "title_review_stats",
        "genres",
        "data_profile",
    } <= groups["warehouse"]
    assert groups["features"] == {"tfidf_features", "text_embeddings"}
    assert groups["models"] == {
        "training_set", "genre_model_keyword", "genre_model_logreg", "genre_model_xgboost",
        "genre_model_bert", "genre_model_ensemble", "model_evaluation", "champion_model",
    }  # fmt: skip
    assert groups["enrichment"] == {
        "title_predictions", "review_rating_model", "llm_enrichments", "enrichment_evaluation",
    }  # fmt: skip
    assert groups["monitoring"] == {"drift_report"}
    assert set(groups) == {
        "ingest",
        "warehouse",
        "features",
        "models",
        "enrichment",
        "serving",
        "monitoring",
    }


def test_lineage_is_one_graph_from_raw_to_serving(graph) -> None:
    # dbt sources are the raw Dagster assets, not free-floating source nodes.
    assert _parents(graph, "stg_crawl__listings") == {"raw/listings"}
    assert _parents(graph, "stg_crawl__reviews") == {"raw/reviews"}
    assert _parents(graph, "stg_datasets__listings") == {"raw/dataset_listings"}
    assert _parents(graph, "stg_datasets__reviews") == {"raw/dataset_reviews"}
    assert _parents(graph, "stg_tmdb_api__releases") == {"raw/api_releases"}
    # The snapshot copies the served tables, dbt models fed by the marts and by every
    # Python asset whose table is served (dbt sources mapped to those assets).
    assert _parents(graph, "serving_snapshot") == {
        *SERVING_MODELS, "text_embeddings", "champion_model",
    }  # fmt: skip
    assert _parents(graph, "serving_titles") == {
        "titles", "title_genres", "title_review_stats", "serving_llm_enrichments",
        "serving_trending_scores",
    }  # fmt: skip
    assert _parents(graph, "serving_genres") == {"genres", "titles", "title_genres"}
    assert _parents(graph, "serving_title_predictions") == {"title_predictions", "titles"}
    assert _parents(graph, "serving_llm_enrichments") == {"llm_enrichments", "titles"}
    assert _parents(graph, "serving_trending_scores") == {"trending_scores", "titles"}
    assert _parents(graph, "serving_title_details") == {
        "serving_titles", "serving_title_predictions", "serving_llm_enrichments",
        "serving_trending_scores",
    }  # fmt: skip
    assert {"titles", "title_genres", "reviews", "title_review_stats"} <= _parents(
        graph, "data_profile"
    )

    # The snapshot reaches back to every raw source.
    ancestors = dg.AssetSelection.assets("serving_snapshot").upstream().resolve(graph)
    assert {
        "raw/listings", "raw/reviews", "raw/dataset_listings", "raw/dataset_reviews", "raw/api_releases",
    } <= {k.to_user_string() for k in ancestors}  # fmt: skip


def test_genre_models_flow_from_the_marts_to_the_served_predictions(graph) -> None:
    # the genre maps decide which labels are known (label masks)
    assert _parents(graph, "training_set") == {"titles", "title_genres", "int_genre_maps_unioned"}
    assert _parents(graph, "tfidf_features") == {"training_set"}
    assert _parents(graph, "text_embeddings") == {"titles"}
    assert _parents(graph, "genre_model_keyword") == {"training_set"}
    assert _parents(graph, "genre_model_logreg") == {"training_set", "tfidf_features"}
    assert _parents(graph, "genre_model_xgboost") == {"training_set"}
    assert _parents(graph, "genre_model_bert") == {"training_set"}
    # The ensemble averages two registered models; it trains nothing of its own.
    # Every registered model: TRENDING_ENSEMBLE_MEMBERS picks which it averages.
    assert _parents(graph, "genre_model_ensemble") == {
        "training_set", "genre_model_keyword", "genre_model_logreg", "genre_model_xgboost",
        "genre_model_bert",
    }  # fmt: skip
    assert _parents(graph, "model_evaluation") == {
        "training_set", "genre_model_keyword", "genre_model_logreg", "genre_model_xgboost",
        "genre_model_bert", "genre_model_ensemble",
    }  # fmt: skip
    assert _parents(graph, "champion_model") == {"model_evaluation"}
    assert _parents(graph, "title_predictions") == {"champion_model", "titles", "genres"}
    check = graph.get_check_spec(
        dg.AssetCheckKey(dg.AssetKey("champion_model"), "champion_is_servable")
    )
    assert check.blocking


def test_llm_enrichment_reads_marts_and_predictions_and_is_guarded(graph) -> None:
    assert _parents(graph, "review_rating_model") == {"reviews", "quarantine_reviews_unresolved"}
    assert _parents(graph, "llm_enrichments") == {
        "titles",
        "reviews",
        "title_predictions",
        "review_rating_model",
    }
    assert {"llm_enrichments", "title_genres", "title_review_stats"} <= _parents(
        graph, "enrichment_evaluation"
    )
    assert "llm_enrichments" in _parents(graph, "serving_llm_enrichments")
    for name in ("llm_enrichments_matches_LlmEnrichmentsTable", "llm_quarantine_rate_is_low"):
        spec = graph.get_check_spec(dg.AssetCheckKey(dg.AssetKey("llm_enrichments"), name))
        assert spec.blocking, name
    # The prompt and schema versions are part of the asset's code version.
    assert graph.get(dg.AssetKey("llm_enrichments")).code_version


def test_crawl_assets_are_daily_partitioned_and_writers_share_the_warehouse_pool(graph) -> None:
    for key in ("raw/listings", "raw/reviews"):
        node = graph.get(dg.AssetKey.from_user_string(key))
        assert isinstance(node.partitions_def, dg.DailyPartitionsDefinition)
    for key in (
        "raw/listings",
        "raw/dataset_listings",
        "raw/api_releases",
        "titles",
        "data_profile",
        "serving_snapshot",
    ):
        assets_def = graph.assets_def_for_key(dg.AssetKey.from_user_string(key))
        pools = {node.pool for node in assets_def.node_def.iterate_node_defs()}
        assert pools == {"duckdb_warehouse"}, key


def test_blocking_pandera_checks_guard_raw_tables_and_marts(graph) -> None:
    checks = {(k.asset_key.to_user_string(), k.name) for k in graph.asset_check_keys}
    expected = {
        ("raw/listings", "raw_listings_matches_CrawledListing"),
        ("raw/reviews", "raw_reviews_matches_CrawledReview"),
        ("raw/dataset_listings", "raw_dataset_listings_matches_ListingRecord"),
        ("raw/dataset_reviews", "raw_dataset_reviews_matches_ReviewRecord"),
        ("raw/api_releases", "raw_api_releases_matches_ApiRelease"),
        ("titles", "titles_matches_TitlesMart"),
        ("title_genres", "title_genres_matches_TitleGenresMart"),
        ("reviews", "reviews_matches_ReviewsMart"),
        ("title_review_stats", "title_review_stats_matches_TitleReviewStatsMart"),
    }
    assert expected <= checks
    for asset_key, name in expected:
        spec = graph.get_check_spec(dg.AssetCheckKey(dg.AssetKey.from_user_string(asset_key), name))
        assert spec.blocking, name


def test_crawl_yield_checks_guard_raw_listings(graph) -> None:
    """A source that yielded no title blocks; a sharp fall in a source's yield warns."""
    raw_listings = dg.AssetKey(["raw", "listings"])
    assert graph.get_check_spec(
        dg.AssetCheckKey(raw_listings, "crawl_sources_yield_titles")
    ).blocking
    assert not graph.get_check_spec(dg.AssetCheckKey(raw_listings, "crawl_yield_stable")).blocking
    schedule_job = defs().resolve_job_def("daily_crawl_job")
    assert {
        dg.AssetCheckKey(raw_listings, "crawl_sources_yield_titles"),
        dg.AssetCheckKey(raw_listings, "crawl_yield_stable"),
    } <= set(schedule_job.asset_layer.asset_graph.asset_check_keys)


def test_every_genre_map_seed_feeds_the_genre_map_union(graph) -> None:
    """The union finds its seeds when dbt runs; the lineage names them all the same."""
    from trending_assets.settings import DBT_PROJECT_DIR

    seeds = {p.stem for p in (DBT_PROJECT_DIR / "seeds").rglob("genre_map_*.csv")}
    assert "genre_map_generic" in seeds
    assert seeds <= _parents(graph, "int_genre_maps_unioned")
    assert "int_unmapped_genre_labels" in _parents(graph, "data_profile")
    assert "quarantine_genre_labels_unmapped" in _parents(graph, "data_profile")


def test_dbt_tests_are_asset_checks_on_every_mart_key(graph) -> None:
    checks = {(k.asset_key.to_user_string(), k.name) for k in graph.asset_check_keys}
    for mart, column in (
        ("titles", "title_id"),
        ("reviews", "review_id"),
        ("title_review_stats", "title_id"),
    ):
        assert any(
            a == mart and n.startswith(("unique_", "not_null_")) and column in n for a, n in checks
        ), mart
    assert any(a == "title_genres" and n.startswith("relationships_") for a, n in checks)


def test_the_whole_graph_job_selects_everything(graph) -> None:
    job = defs().resolve_job_def("all_assets_job")
    selected = {k.to_user_string() for k in job.asset_layer.selected_asset_keys}
    assert {k.to_user_string() for k in graph.get_all_asset_keys()} <= selected


def test_policy_lists_name_only_existing_assets():
    """A renamed asset left in a policy list fails at load, naming it."""
    import pytest

    from trending_assets.definitions import check_policy_names, defs

    graph = defs().resolve_asset_graph()
    names = {key.to_user_string() for key in graph.get_all_asset_keys()}
    check_policy_names(names)  # the real graph passes
    with pytest.raises(ValueError, match="genre_model_bert"):
        check_policy_names(names - {"genre_model_bert"})


def test_dbt_model_keys_come_from_the_manifest():
    import pytest

    from trending_assets.defs.warehouse.assets import TITLES, dbt_key

    assert dbt_key("titles") == TITLES
    assert dbt_key("serving_titles") == dg.AssetKey("serving_titles")
    assert dbt_key("genre_map_generic") == dg.AssetKey("genre_map_generic")
    with pytest.raises(KeyError):
        dbt_key("no_such_model")


def test_served_tables_are_their_own_dbt_step_after_the_python_assets(graph) -> None:
    """The serving models run in `warehouse_dbt_serving`, after the Python assets they read;
    `warehouse_dbt_models` (before those assets) and the seeds' step hold none of them."""
    steps: dict[str, set[str]] = {}
    for key in graph.get_all_asset_keys():
        assets_def = graph.assets_def_for_key(key)
        steps.setdefault(assets_def.node_def.name, set()).add(key.to_user_string())
    assert steps["warehouse_dbt_serving"] == SERVING_MODELS
    assert not steps["warehouse_dbt_models"] & SERVING_MODELS
    assert {"titles", "title_genres", "reviews", "title_review_stats"} <= steps[
        "warehouse_dbt_models"
    ]
    assert not any(name.startswith("genre_map_") for name in steps["warehouse_dbt_models"])
    assert {"genres", "genre_map_generic", "source_registry"} <= steps["warehouse_dbt_seeds"]
    for python_asset in ("title_predictions", "llm_enrichments", "trending_scores"):
        assert python_asset in _ancestors(graph, "serving_title_details")
        # and the Python assets come after the models' step (they read the marts)
        assert "titles" in _ancestors(graph, python_asset)
    pools = {
        node.pool
        for node in graph.assets_def_for_key(
            dg.AssetKey("serving_titles")
        ).node_def.iterate_node_defs()
    }
    assert pools == {"duckdb_warehouse"}
    # The dbt tests of the served tables are checks on them (the data dictionary's tests).
    checks = {(k.asset_key.to_user_string(), k.name) for k in graph.asset_check_keys}
    assert any(
        a == "serving_title_predictions" and n.startswith("value_between_") and "probability" in n
        for a, n in checks
    )
    assert any(a == "serving_titles" and n.startswith("unique_") for a, n in checks)


def _ancestors(graph, key: str) -> set[str]:
    selection = dg.AssetSelection.assets(dg.AssetKey.from_user_string(key)).upstream()
    return {k.to_user_string() for k in selection.resolve(graph)} - {key}


def test_the_catalog_names_owners_and_columns(graph) -> None:
    from trending_assets.defs.quality import TABLE_MODELS

    keys = list(graph.get_all_asset_keys())
    unowned = [k.to_user_string() for k in keys if not graph.get(k).owners]
    assert not unowned
    assert graph.get(dg.AssetKey("genre_model_bert")).owners == ["team:ml"]
    # Every table checked by a pandera model shows (at least) that model's columns; a dbt
    # model keeps its YAML's fuller list.
    assert TABLE_MODELS, "no pandera checks registered"
    for key, model in TABLE_MODELS.items():
        schema = graph.get(key).metadata["dagster/column_schema"]
        assert set(model.to_schema().columns) <= {c.name for c in schema.columns}, key
    listings = graph.get(dg.AssetKey(["raw", "listings"])).metadata["dagster/column_schema"]
    title = next(c for c in listings.columns if c.name == "title")
    assert title.type == "str" and title.constraints.nullable is False
    # dbt models show the columns of their YAML.
    titles = graph.get(dg.AssetKey("titles")).metadata["dagster/column_schema"]
    assert "title_id" in {c.name for c in titles.columns}


def test_dbt_assets_link_their_page_in_the_dbt_docs_the_api_serves(graph) -> None:
    from trending_assets.settings import get_settings

    base = f"{get_settings().api_url}/docs/dbt#!/"
    titles = graph.get(dg.AssetKey("titles")).metadata["dbt_docs"]
    assert titles.url == f"{base}model/model.trending_now.titles"
    genres = graph.get(dg.AssetKey("genres")).metadata["dbt_docs"]
    assert genres.url == f"{base}seed/seed.trending_now.genres"
    # A seed says what it holds and where its file is, not an empty SQL block.
    described = graph.get(dg.AssetKey("genres")).description
    assert "Seed file: `dbt_project/seeds/" in described and "Raw SQL" not in described
    # Python assets have no dbt page.
    assert "dbt_docs" not in graph.get(dg.AssetKey("genre_model_bert")).metadata


def test_every_asset_but_the_crawl_has_a_code_version_with_the_settings(graph, monkeypatch):
    from trending_assets.settings import get_settings, output_fingerprint

    fingerprint = output_fingerprint(get_settings())
    crawl = {dg.AssetKey(["raw", "listings"]), dg.AssetKey(["raw", "reviews"])}
    for key in graph.get_all_asset_keys():
        version = graph.get(key).code_version
        if key in crawl:
            assert version is None, key  # a crawled day stays crawled
        else:
            assert version and version.endswith(f".{fingerprint}"), key
    # dbt models keep their own checksum in front; the ML assets their code hash.
    titles = graph.get(dg.AssetKey("titles")).code_version
    assert len(titles.split(".")) == 3
    # A setting that changes outputs changes every code version; one that does not, none.
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    base = output_fingerprint(get_settings())
    monkeypatch.setenv("TRENDING_BERT_EPOCHS", "3")
    assert output_fingerprint(get_settings()) != base
    monkeypatch.delenv("TRENDING_BERT_EPOCHS")
    monkeypatch.setenv("TRENDING_API_PORT", "8123")
    monkeypatch.setenv("TRENDING_DATA_DIR", "/elsewhere")
    assert output_fingerprint(get_settings()) == base
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")  # switches the LLM provider on
    assert output_fingerprint(get_settings()) != base


def test_the_pipeline_code_version_follows_code_and_prompts_not_scheduling(tmp_path) -> None:
    from trending_assets.definitions import package_digest

    files = {
        "lib/trending.py": "SCORE = 1\n",
        "lib/enrichment/prompts/enrich_v1.txt": "Summarise the reviews.\n",
        "defs/automation/schedules.py": "HOUR = 6\n",
        "cli.py": "print('hi')\n",
        "instance.py": "POOL = 1\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    base = package_digest(tmp_path)
    # when and how it runs (and where Dagster records it), not what it holds
    for name in ("defs/automation/schedules.py", "cli.py", "instance.py"):
        (tmp_path / name).write_text("# edited\n")
        assert package_digest(tmp_path) == base, name
    for name in ("lib/trending.py", "lib/enrichment/prompts/enrich_v1.txt"):
        (tmp_path / name).write_text("# edited\n")
        assert package_digest(tmp_path) != base, name
        base = package_digest(tmp_path)
