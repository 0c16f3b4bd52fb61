"""`make docs`: the dbt docs site as one HTML file under the data dir."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from trending_assets.settings import REPO_ROOT


def test_docs_build_one_static_page_of_the_dbt_project(tmp_path: Path) -> None:
    env = {**os.environ, "TRENDING_DATA_DIR": str(tmp_path / "data")}
    completed = subprocess.run(
        [sys.executable, "-m", "trending_assets.cli", "docs"],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    page = tmp_path / "data" / "dbt_docs" / "static_index.html"
    assert f"dbt docs: {page}" in completed.stdout
    assert "no warehouse at" in completed.stdout  # said, not silently half-built
    html = page.read_text(encoding="utf-8")
    # The manifest is embedded: models and their descriptions are in the one file.
    for model in ("titles", "serving_titles", "int_genre_maps_unioned"):
        assert f"model.trending_now.{model}" in html, model


def test_make_run_keeps_docs_newer_than_the_warehouse_and_the_project(tmp_path: Path) -> None:
    from trending_assets.cli import dbt_docs_current

    project, page, warehouse = tmp_path / "dbt", tmp_path / "docs" / "index.html", tmp_path / "w"
    for path in (project / "models" / "titles.sql", project / "target" / "manifest.json",
                 page, warehouse):  # fmt: skip
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")

    def at(path: Path, when: int) -> None:
        os.utime(path, (when, when))

    at(project / "models" / "titles.sql", 100)
    at(warehouse, 100)
    at(page, 200)
    at(project / "target" / "manifest.json", 300)  # dbt's own output: not described
    assert dbt_docs_current(page, warehouse, project)
    at(warehouse, 300)  # a run changed the warehouse
    assert not dbt_docs_current(page, warehouse, project)
    at(warehouse, 100)
    at(project / "models" / "titles.sql", 300)  # a model was edited
    assert not dbt_docs_current(page, warehouse, project)
    assert not dbt_docs_current(tmp_path / "missing.html", warehouse, project)
