"""The guard on what gets served: a champion exists, clears the floor and loads."""

import tempfile
from pathlib import Path

import dagster as dg

from trending_assets.defs.resources import GenreModelsResource, LakeResource
from trending_assets.lib.ml.models import load_model
from trending_assets.lib.ml.registry import ModelRegistry, ModelVersion


@dg.asset_check(
    asset=dg.AssetKey("champion_model"),
    blocking=True,
    description="A champion exists, meets the quality floor, and its artifact loads and predicts.",
)
def champion_is_servable(
    champion_model: ModelVersion | None, lake: LakeResource, genre_models: GenreModelsResource
) -> dg.AssetCheckResult:
    if champion_model is None:
        return dg.AssetCheckResult(
            passed=False, metadata={"reason": "no model has passed the gate yet"}
        )
    score = float(champion_model.metrics.get("validation_macro_f1", 0.0))
    if score < genre_models.champion_floor:
        return dg.AssetCheckResult(
            passed=False,
            metadata={
                "reason": f"validation macro F1 {score:.3f} < floor {genre_models.champion_floor}"
            },
        )
    registry = ModelRegistry(lake.get_lake())
    with tempfile.TemporaryDirectory() as tmp:
        model = load_model(registry.fetch(champion_model, Path(tmp) / "champion"))
        proba = model.predict_proba(["A detective hunts a killer through a rain-soaked city."])
    shape_ok = proba.shape == (1, len(model.genres)) and ((proba >= 0) & (proba <= 1)).all()
    return dg.AssetCheckResult(
        passed=bool(shape_ok),
        metadata={
            "champion": f"{champion_model.name} {champion_model.version}",
            "validation_macro_f1": round(score, 4),
            "floor": genre_models.champion_floor,
            "genres": len(model.genres),
        },
    )
