"""The whole asset graph, materialised for real on a small demo catalog, then served over HTTP.

This runs exactly what `make materialize` and `make serve` run (the CLI), in a temporary
DAGSTER_HOME and data directory, and then reads what the Dagster instance recorded. Beside
the demo sites (`TRENDING_SOURCES=demo,...`) it crawls the loopback "real-like" fixture
site with no site file, so a real site's titles and reviews go all the way to the API.
"""

import importlib.util
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import duckdb
import httpx
import pandas as pd
import pytest

from trending_assets.settings import REPO_ROOT

pytestmark = pytest.mark.slow

PARTITION = "2026-10-10"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _realish_site_module():
    path = Path(__file__).resolve().parents[1] / "scrapers" / "realish_site.py"
    spec = importlib.util.spec_from_file_location("realish_site", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)
    spec.loader.exec_module(module)
    return module


REALISH = _realish_site_module()


def materialize(env: dict[str, str], partition: str) -> subprocess.CompletedProcess:
    """`trending materialize --partition <partition>`, what `make materialize` runs."""
    return subprocess.run(
        [sys.executable, "-m", "trending_assets.cli", "materialize", "--partition", partition],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip


@pytest.fixture(scope="module")
def pipeline_run(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("e2e")
    with REALISH.serve_realish_site() as realish:
        env = {
            **os.environ,
            "TRENDING_DATA_DIR": str(root / "data"),
            "DAGSTER_HOME": str(root / "dagster_home"),
            "TRENDING_DEMO_TITLES": "150",
            "TRENDING_API_PORT": str(_free_port()),
            # The demo sites, and a real-like site given by its URL only (no site file).
            "TRENDING_SOURCES": f"demo,realish={realish.url}",
        }
        started = time.monotonic()
        completed = materialize(env, PARTITION)
        elapsed = time.monotonic() - started
        # The site keeps serving: later tests crawl another day with the same sources.
        yield root, env, completed, elapsed


def test_materialize_succeeds_and_prints_a_summary(pipeline_run) -> None:
    _, _, completed, elapsed = pipeline_run
    assert completed.returncode == 0, completed.stdout[-4000:] + completed.stderr[-4000:]
    out = completed.stdout
    assert "materialisation summary" in out
    assert "result           OK" in out
    assert "checks" in out and " 0 failed" in out
    assert f"partition        {PARTITION}" in out
    # Where the time went: the five slowest steps, by name, with their seconds.
    slowest = re.search(r"slowest steps    (.+)", out)
    assert slowest and len(re.findall(r"[\w.\[\]]+ \d+ s", slowest.group(1))) == 5, out[-2000:]
    print(f"materialised in {elapsed:.0f}s")


def test_the_console_is_quiet_and_long_steps_report_progress(pipeline_run) -> None:
    root, _, completed, _ = pipeline_run
    assert completed.returncode == 0
    console = completed.stdout + completed.stderr
    # Library notices we chose to live with are silenced where we chose them.
    for noise in ("BetaWarning", "PreviewWarning", "does not match the name of any column"):
        assert noise not in console, noise
    # dbt: one summary line per invocation, the node-by-node output in a file.
    assert " START seed file " not in console and " START sql table model " not in console
    summaries = re.findall(r"dbt build: (\d+) seeds?.*?Full dbt output: (\S+)", console)
    assert summaries, console[-3000:]
    assert all(
        Path(log).is_file() and "OK loaded seed file" in Path(log).read_text()
        for _, log in summaries[:1]
    )
    assert re.search(r"dbt build: \d+ models, \d+ tests \(pass \d+, success \d+.*\) in", console)
    # Long steps say how far they are while they run.
    assert re.search(
        r"raw_crawl: listings: \d+ pages, \d+ items, \d+ dropped \(finished\)", console
    )
    # (batch lines are throttled to one per 10 s: a fast epoch may print none of them)
    assert re.search(
        r"genre_model_bert: fine-tuning on \d+ plots, \d+ epochs of \d+ batches", console
    )
    assert re.search(r"genre_model_bert: epoch 1/\d+ done, train loss", console)
    assert re.search(r"llm_enrichments: \d+/\d+ titles \(100%\)", console)
    assert re.search(r"genre_model_xgboost: configuration 1/\d+ done, validation macro f1", console)
    assert re.search(r"text_embeddings: \d+/\d+ texts \(100%\)", console)
    assert "embedding:" not in console  # no terminal bar: the lines above replace it
    # W&B stages its files under the data dir, not the user's home.
    assert (root / "data" / "wandb" / "data" / "artifacts" / "staging").is_dir()
    with dg.DagsterInstance.from_config(str(root / "dagster_home")) as instance:
        titles = instance.get_latest_materialization_event(dg.AssetKey("titles"))
        rows = titles.asset_materialization.metadata["dagster/row_count"].value
    with duckdb.connect(str(root / "data" / "warehouse.duckdb"), read_only=True) as con:
        assert rows == con.execute("select count(*) from titles").fetchone()[0] > 0


def test_instance_recorded_every_asset_and_check(pipeline_run) -> None:
    root, _, completed, _ = pipeline_run
    assert completed.returncode == 0
    from trending_assets.definitions import defs

    graph = defs().resolve_asset_graph()
    with dg.DagsterInstance.from_config(str(root / "dagster_home")) as instance:
        for key in graph.get_all_asset_keys():
            partition = PARTITION if graph.get(key).partitions_def else None
            event = instance.get_latest_materialization_event(key)
            assert event is not None, f"{key.to_user_string()} was not materialised"
            if partition:
                assert event.dagster_event.partition == partition
        raw = instance.get_latest_materialization_event(dg.AssetKey(["raw", "listings"]))
        metadata = raw.asset_materialization.metadata
        assert metadata["dagster/row_count"].value > 100
        assert metadata["crawl_pages"].value > 0
        checks = instance.event_log_storage.get_asset_check_execution_history(
            dg.AssetCheckKey(dg.AssetKey("titles"), "titles_matches_TitlesMart"), limit=1
        )
        assert checks and checks[0].status.value == "SUCCEEDED"


def test_local_summaries_keep_their_sentence_vectors(pipeline_run) -> None:
    """The local provider embeds each summary sentence once and keeps the vectors in the
    lake, for the titles it enriches again later (the later crawl day reads them)."""
    root, _, completed, _ = pipeline_run
    assert completed.returncode == 0
    with dg.DagsterInstance.from_config(str(root / "dagster_home")) as instance:
        event = instance.get_latest_materialization_event(dg.AssetKey("llm_enrichments"))
        metadata = {k: v.value for k, v in event.asset_materialization.metadata.items()}
    assert metadata["provider"] == "local"
    assert metadata["summary_sentences_embedded"] > 0
    kept = pd.read_parquet(root / "data" / "lake" / "enrichment" / "sentence_vectors.parquet")
    assert 0 < len(kept) <= metadata["summary_sentences_embedded"]
    assert kept["hash"].is_unique


def test_genre_models_are_trained_evaluated_and_served(pipeline_run) -> None:
    root, _, completed, _ = pipeline_run
    assert completed.returncode == 0
    assert "champion " in completed.stdout and "genre models" in completed.stdout
    with dg.DagsterInstance.from_config(str(root / "dagster_home")) as instance:
        evaluation = instance.get_latest_materialization_event(dg.AssetKey("model_evaluation"))
        scores = evaluation.asset_materialization.metadata["scores"].value
        assert set(scores) == {"keyword", "logreg", "xgboost", "bert", "ensemble"}
        champion = instance.get_latest_materialization_event(dg.AssetKey("champion_model"))
        meta = champion.asset_materialization.metadata
        assert meta["champion"].value != "none"
        assert meta["gate_metric"].value == "validation_source_macro_f1"
        # The ensemble's zero-shot member read the plots' vectors from text_embeddings' cache.
        ensemble = instance.get_latest_materialization_event(dg.AssetKey("genre_model_ensemble"))
        embeddings = ensemble.asset_materialization.metadata["zeroshot_embeddings"].value
        assert embeddings["reused"] > embeddings["new"]
        check = instance.event_log_storage.get_asset_check_execution_history(
            dg.AssetCheckKey(dg.AssetKey("champion_model"), "champion_is_servable"), limit=1
        )
        assert check and check[0].status.value == "SUCCEEDED"
        logreg = instance.get_latest_materialization_event(dg.AssetKey("genre_model_logreg"))
        assert logreg.asset_materialization.metadata["config"].value["title_type_feature"]
    with duckdb.connect(str(root / "data" / "warehouse.duckdb"), read_only=True) as con:
        titles = con.execute("select count(*) from titles").fetchone()[0]
        # The type reached the predictions: no title gets a genre of the other type.
        wrong_type = con.execute(
            """select count(*) from title_predictions p join titles t using (title_id)
               join genres g using (genre_id)
               where p.predicted and g.applies_to not in ('both', t.title_type)"""
        ).fetchone()[0]
        assert wrong_type == 0
        predicted_titles, models = con.execute(
            "select count(distinct title_id), count(distinct model_name) from title_predictions"
        ).fetchone()
        without_genre = con.execute(
            "select count(*) from (select title_id from title_predictions group by 1 having not bool_or(predicted))"
        ).fetchone()[0]
    assert predicted_titles == titles and models == 1
    assert without_genre == 0
    # W&B recorded every training run offline.
    runs = list((root / "data" / "wandb").rglob("offline-run-*"))
    assert len(runs) >= 4


def test_warehouse_holds_resolved_titles_and_quarantine(pipeline_run) -> None:
    root, _, completed, _ = pipeline_run
    assert completed.returncode == 0
    with duckdb.connect(str(root / "data" / "warehouse.duckdb"), read_only=True) as con:
        titles = con.execute("select count(*) from titles").fetchone()[0]
        sources = con.execute("select count(*) from titles where source_count > 1").fetchone()[0]
        genres = con.execute("select count(distinct genre_id) from title_genres").fetchone()[0]
        reviews = con.execute("select count(*) from reviews").fetchone()[0]
        listings = con.execute(
            "select count(distinct source || source_title_id) from raw.listings"
        ).fetchone()[0]
        quarantined = con.execute("select count(*) from raw.quarantine").fetchone()[0]
    # Titles listed on both demo sites are merged into one.
    assert sources > 0
    assert titles < listings
    assert titles > 50
    assert genres >= 15
    assert reviews > 5 * titles
    # The demo sites' deliberate trouble (bad ratings, empty reviews…) is quarantined, not lost.
    assert quarantined > 0
    assert (root / "data" / "lake" / "landing" / "crawl" / PARTITION / "listings.jsonl").exists()
    assert (root / "data" / "serving" / "CURRENT").exists()


def test_a_real_like_site_flows_into_the_warehouse(pipeline_run) -> None:
    root, _, completed, _ = pipeline_run
    assert completed.returncode == 0
    expected = {(t, y, k) for t, y, k in REALISH.EXPECTED_TITLES.values()}
    with duckdb.connect(str(root / "data" / "warehouse.duckdb"), read_only=True) as con:
        listed = set(
            con.execute(
                "select title, year, title_type from raw.listings where source = 'realish'"
            ).fetchall()
        )
        reviews = con.execute(
            "select count(*) from reviews r join titles t using (title_id)"
            " where list_contains(t.sources, 'realish')"
        ).fetchone()[0]
        crawl = con.execute(
            "select titles from raw.crawl_sources where source = 'realish' and spider = 'listings'"
        ).fetchone()
        mapped = con.execute(
            "select count(*) from int_listing_genre_labels_mapped"
            " where source = 'realish' and mapping_status = 'mapped'"
        ).fetchone()[0]
    assert listed == expected
    assert crawl is not None and crawl[0] == len(expected)
    assert reviews == REALISH.EXPECTED_REVIEW_COUNT
    assert mapped > 0  # its genre labels mapped through the generic vocabulary


def test_api_serves_the_published_snapshot_over_http(pipeline_run) -> None:
    root, env, completed, _ = pipeline_run
    assert completed.returncode == 0
    port = int(env["TRENDING_API_PORT"])
    server = subprocess.Popen(
        [sys.executable, "-m", "serving", "--host", "127.0.0.1", "--port", str(port)],
        cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        # Start-up builds the OpenAPI schema and loads the query encoder: slow on a busy machine.
        deadline = time.monotonic() + 180
        while True:
            try:
                health = httpx.get(f"{base}/health", timeout=2)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.2)
        assert health.status_code == 200
        version = (root / "data" / "serving" / "CURRENT").read_text().strip()
        assert version in health.text

        page = httpx.get(f"{base}/titles", params={"limit": 5}, timeout=30).json()
        assert page["total"] > 50 and len(page["items"]) == 5
        first = page["items"][0]
        detail = httpx.get(f"{base}/titles/{first['id']}", timeout=30)
        assert detail.status_code == 200
        assert detail.json()["title"] == first["title"]

        horror = httpx.get(f"{base}/titles", params={"genre": "horror", "type": "movie"}).json()
        assert horror["total"] > 0
        assert all("Horror" in item["genres"] for item in horror["items"])

        model_genres = detail.json()["model_genres"]
        assert model_genres is not None and model_genres["predicted"]
        assert len(model_genres["probabilities"]) >= 5

        missing = httpx.get(f"{base}/titles/does-not-exist")
        assert missing.status_code == 404
        assert httpx.get(f"{base}/schema/openapi.json", timeout=30).status_code == 200

        # What the pipeline's trending, embedding and model stages put in the snapshot.
        # (fallback_min=0: ranked titles only, no best-rated fallback)
        trending = httpx.get(f"{base}/trending", params={"limit": 5, "fallback_min": 0}).json()
        assert [item["trending_rank"] for item in trending["items"]] == list(
            range(1, len(trending["items"]) + 1)
        )
        assert trending["items"] and trending["as_of"]
        top = httpx.get(f"{base}/titles/{trending['items'][0]['id']}").json()
        assert top["trending"]["rank"] == 1 and top["trending"]["recent_reviews"] >= 3
        assert top["provenance"]["model_version"] == model_genres["model_version"]
        assert top["provenance"]["prompt_version"] and top["enrichment"]["summary"]
        search = httpx.get(f"{base}/search", params={"q": top["plot"][:120]}, timeout=60).json()
        assert search["mode"] == "semantic" and top["id"] in [i["id"] for i in search["items"][:3]]
        similar = httpx.get(f"{base}/titles/{top['id']}/similar").json()
        assert similar["mode"] == "embedding" and len(similar["items"]) == 10
        predicted = httpx.post(f"{base}/predict", json={"text": top["plot"]}, timeout=60)
        assert predicted.status_code == 200, predicted.text
        assert predicted.json()["model_version"] == model_genres["model_version"]
        page_html = httpx.get(f"{base}/")
        assert page_html.status_code == 200 and "d3.min.js" in page_html.text

        # A title crawled from the real-like site, served like any other.
        name, year, kind = next(iter(REALISH.EXPECTED_TITLES.values()))
        found = httpx.get(f"{base}/titles", params={"q": name}).json()
        assert any(
            (item["title"], item["year"], item["type"]) == (name, year, kind)
            for item in found["items"]
        ), found
        assert "trending_snapshot_info" in httpx.get(f"{base}/metrics").text
    finally:
        server.terminate()
        server.wait(timeout=10)


def _wait_for(url: str, process: subprocess.Popen, timeout_s: float) -> httpx.Response:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return httpx.get(url, timeout=2)
        except httpx.TransportError:
            if time.monotonic() > deadline or process.poll() is not None:
                raise
            time.sleep(0.5)


def test_dagster_ui_shows_the_graph_and_the_run(pipeline_run) -> None:
    """The webserver `make ui` starts loads the code location and lists the run it made."""
    root, env, completed, _ = pipeline_run
    assert completed.returncode == 0
    port = _free_port()
    webserver = subprocess.Popen(
        [str(Path(sys.executable).with_name("dagster-webserver")), "-w", "workspace.yaml",
         "-h", "127.0.0.1", "-p", str(port)],
        cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        assert _wait_for(f"{base}/server_info", webserver, 120).status_code == 200
        query = """{
          assetNodes { assetKey { path } groupName }
          runsOrError { ... on Runs { results { jobName status } } }
        }"""
        deadline = time.monotonic() + 120
        while True:  # the code location loads in the background after the server is up
            data = httpx.post(f"{base}/graphql", json={"query": query}, timeout=30).json()["data"]
            if data["assetNodes"] or time.monotonic() > deadline:
                break
            time.sleep(1)
        keys = {"/".join(node["assetKey"]["path"]) for node in data["assetNodes"]}
        assert {"raw/listings", "titles", "data_profile", "serving_snapshot"} <= keys
        runs = data["runsOrError"]["results"]
        assert {"jobName": "all_assets_job", "status": "SUCCESS"} in runs
    finally:
        webserver.terminate()
        webserver.wait(timeout=20)


def test_an_unchanged_rerun_materialises_nothing(pipeline_run) -> None:
    """The same day again, nothing changed: Dagster's data versions say every asset is up
    to date, so no run is launched (`defs/automation/run_plan.py`)."""
    root, env, completed, elapsed = pipeline_run
    assert completed.returncode == 0
    home = str(root / "dagster_home")
    with dg.DagsterInstance.from_config(home) as instance:
        runs_before = {r.dagster_run.run_id for r in instance.get_run_records()}
    started = time.monotonic()
    again = materialize(env, PARTITION)
    took = time.monotonic() - started
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    up_to_date = re.search(r"what changed: all (\d+) assets are up to date", again.stdout)
    assert up_to_date, again.stdout[-3000:]
    assert f"0 materialised, {up_to_date.group(1)} up to date" in again.stdout
    assert "run id           none: nothing to do" in again.stdout
    with dg.DagsterInstance.from_config(home) as instance:
        launched = {r.dagster_run.run_id for r in instance.get_run_records()} - runs_before
        assert not [r for r in launched if instance.get_run_by_id(r).job_name == "all_assets_job"]
    print(f"unchanged re-run: {took:.0f} s after a first run of {elapsed:.0f} s")


def test_a_later_crawl_day_finds_new_titles(pipeline_run) -> None:
    """Daily partitions: a crawl weeks later sees titles released since, and keeps the old day."""
    root, env, completed, _ = pipeline_run
    assert completed.returncode == 0
    warehouse = root / "data" / "warehouse.duckdb"
    with duckdb.connect(str(warehouse), read_only=True) as con:
        before = con.execute("select count(*) from titles").fetchone()[0]
    later = materialize(env, "2026-11-20")
    assert later.returncode == 0, later.stdout[-3000:] + later.stderr[-3000:]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        after = con.execute("select count(*) from titles").fetchone()[0]
        days = con.execute(
            "select crawl_date::varchar, count(*) from raw.listings group by 1 order by 1"
        ).fetchall()
        first_seen = dict(
            con.execute(
                "select first_crawled_on::varchar, count(*) from titles group by 1"
            ).fetchall()
        )
    assert [d for d, _ in days] == [PARTITION, "2026-11-20"]
    assert after > before
    assert first_seen.get("2026-11-20", 0) == after - before
    # The split stayed put, and the genre models follow the retraining rule (50 titles)
    with dg.DagsterInstance.from_config(str(root / "dagster_home")) as instance:

        def metadata(key: str) -> dict:
            event = instance.get_latest_materialization_event(dg.AssetKey.from_user_string(key))
            return {k: v.value for k, v in event.asset_materialization.metadata.items()}

        split = metadata("training_set")
        crawled = metadata("raw/listings")
        models = {name: metadata(f"genre_model_{name}") for name in ("logreg", "bert")}
        enrichments = metadata("llm_enrichments")
    assert split["kept_assignment"] > 0
    # The previous crawl fetched its pages 41 days before: more than a site's
    # recrawl_after_days (7), so every page is fetched again, none carried forward.
    assert crawled["crawl_carried_pages"] == 0 and crawled["crawl_pages"] > 0
    # Titles enriched again (a new champion is part of their cache key) read the vectors
    # of the sentences the first day embedded.
    assert enrichments["summary_sentences_reused"] > 0, enrichments
    # 12 new trainable titles (under the rule's 50), but with them fantasy reaches the
    # 10 examples a genre needs: a new genre, so every model retrains, and says why
    for name, model in models.items():
        assert not model["reused"], (name, model["training_decision"])
        assert model["training_decision"].startswith("trained: the genres changed"), name
        assert "now also fantasy" in model["training_decision"], name


def test_enrichment_through_an_openai_compatible_endpoint(pipeline_run) -> None:
    """`llm_enrichments` with the openai provider against a loopback server: every title
    enriched, the second materialisation costs no call, and the key is written nowhere."""
    root, env, completed, _ = pipeline_run
    assert completed.returncode == 0
    secret = "sk-e2e-SECRET-4242424242"
    fake = subprocess.Popen(
        [sys.executable, str(REPO_ROOT / "tests" / "enrichment" / "fake_openai.py"), "--api-key", secret],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        base_url = fake.stdout.readline().strip()
        llm_env = {**env, "TRENDING_LLM_BASE_URL": base_url, "OPENAI_API_KEY": secret,
                   "TRENDING_LLM_MODEL": "fake-model"}  # fmt: skip
        command = [
            str(Path(sys.executable).with_name("dagster")), "asset", "materialize",
            "-m", "trending_assets.definitions", "-a", "defs",
            "--select", "llm_enrichments,enrichment_evaluation",
        ]  # fmt: skip
        first = subprocess.run(
            command, cwd=REPO_ROOT, env=llm_env, capture_output=True, text=True, timeout=600
        )
        assert first.returncode == 0, first.stderr[-3000:]
        second = subprocess.run(
            command, cwd=REPO_ROOT, env=llm_env, capture_output=True, text=True, timeout=600
        )
        assert second.returncode == 0, second.stderr[-3000:]
    finally:
        fake.stdin.close()
        served = fake.stdout.read()
        fake.wait(timeout=10)
    with duckdb.connect(str(root / "data" / "warehouse.duckdb"), read_only=True) as con:
        providers = con.execute(
            "select provider, model, count(*) from llm_enrichments group by all"
        ).fetchall()
        titles = con.execute("select count(*) from titles").fetchone()[0]
    assert providers == [("openai", "fake-model", titles)]
    with dg.DagsterInstance.from_config(str(root / "dagster_home")) as instance:
        latest = instance.get_latest_materialization_event(dg.AssetKey("llm_enrichments"))
        metadata = latest.asset_materialization.metadata
        evaluation = instance.get_latest_materialization_event(dg.AssetKey("enrichment_evaluation"))
        prompt_ab = evaluation.asset_materialization.metadata["prompt_ab"].value
    # The A/B table compares the two prompt versions on the same sample.
    assert "v1" in prompt_ab and "v2" in prompt_ab and "agreement" in prompt_ab
    assert metadata["provider"].value == "openai"
    assert metadata["calls"].value == 0 and metadata["cached"].value == titles
    assert '"requests":' in served
    # The key never reaches the instance's event log, the lake, the warehouse or the snapshot.
    for folder in (root / "dagster_home", root / "data"):
        for path in folder.rglob("*"):
            if path.is_file() and path.stat().st_size < 200_000_000:
                assert secret.encode() not in path.read_bytes(), path
