"""Asset outputs live on the lake, not under DAGSTER_HOME: a step run with another Dagster
home (another machine) reads what an earlier step wrote."""

from pathlib import Path

import dagster as dg
import pandas as pd

from trending_assets.defs.resources import LakeIOManager, LakeResource, build_resources


@dg.asset
def frame_asset() -> pd.DataFrame:
    return pd.DataFrame({"title_id": ["a", "b"], "embedding": [[1.0, 0.0], [0.0, 1.0]]})


@dg.asset
def model_asset(frame_asset: pd.DataFrame) -> dict:
    return {"rows": len(frame_asset), "ids": frame_asset["title_id"].tolist()}


@dg.asset
def report_asset(model_asset: dict) -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"rows": model_asset["rows"]})


def _resources(lake_root: Path) -> dict:
    lake = LakeResource(local_root=str(lake_root))
    return {"io_manager": LakeIOManager(lake=lake)}


def test_outputs_go_to_the_lake_and_another_home_reads_them(tmp_path: Path) -> None:
    lake_root = tmp_path / "lake"
    (tmp_path / "home_one").mkdir()
    (tmp_path / "home_two").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "home_one")) as first:
        result = dg.materialize(
            [frame_asset, model_asset], instance=first, resources=_resources(lake_root)
        )
        assert result.success
        stored = result.asset_materializations_for_node("model_asset")[0].metadata
        assert stored["stored_format"].value == "joblib"
        assert str(stored["stored_at"].value).startswith(str(lake_root / "assets" / "model_asset"))
    assert sorted(p.name for p in (lake_root / "assets").iterdir()) == [
        "frame_asset", "model_asset",
    ]  # fmt: skip
    assert list((lake_root / "assets" / "frame_asset").glob("value-*.parquet"))
    # Nothing was pickled under the first home (Dagster's default IO manager would).
    assert not [p for p in (tmp_path / "home_one").rglob("*") if p.name == "model_asset"]

    # Another home, as on another worker: only the downstream step runs, its input is read
    # back from the lake.
    with dg.instance_for_test(temp_dir=str(tmp_path / "home_two")) as second:
        result = dg.materialize(
            [frame_asset, model_asset, report_asset],
            selection=[report_asset],
            instance=second,
            resources=_resources(lake_root),
        )
        assert result.success
        metadata = result.asset_materializations_for_node("report_asset")[0].metadata
        assert metadata["rows"].value == 2


def test_the_pipeline_uses_the_lake_io_manager(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("TRENDING_DATA_DIR", str(tmp_path))
    resources = build_resources()
    manager = resources["io_manager"]
    assert isinstance(manager, LakeIOManager)
    assert manager.lake is resources["lake"]
