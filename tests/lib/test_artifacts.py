"""The asset-output store: values round-trip through the lake, locally and on S3, and a
corrupt or missing value is a clear error, never a wrong value."""

from dataclasses import dataclass
from pathlib import Path

import boto3
import numpy as np
import pandas as pd
import pytest

from trending_assets.lib.artifacts import MANIFEST, ArtifactError, ArtifactStore
from trending_assets.lib.lake import LocalLake, S3Lake


@dataclass
class Record:
    name: str
    scores: dict[str, float]


def _exercise(store: ArtifactStore) -> None:
    frame = pd.DataFrame({"title_id": ["a", "b"], "embedding": [[0.5, 1.0], [0.0, -1.0]]})
    stored = store.save(["text_embeddings"], frame)
    assert stored.format == "parquet" and stored.key.endswith(".parquet")
    loaded = store.load(["text_embeddings"])
    assert loaded["title_id"].tolist() == ["a", "b"]
    assert np.allclose(np.stack(loaded["embedding"].to_list()), [[0.5, 1.0], [0.0, -1.0]])

    record = Record("logreg", {"macro_f1": 0.5})
    assert store.save(["genre_model_logreg"], record).format == "joblib"
    assert store.load(["genre_model_logreg"]) == record

    store.save(["champion_model"], None)
    assert store.load(["champion_model"]) is None

    store.save(["raw", "listings"], record, partition="2026-11-20")
    assert store.load(["raw", "listings"], partition="2026-11-20") == record
    with pytest.raises(ArtifactError, match="materialise the asset first"):
        store.load(["raw", "listings"], partition="2026-11-21")
    with pytest.raises(ArtifactError, match="materialise the asset first"):
        store.load(["never_materialised"])


def test_values_round_trip_on_a_local_lake(tmp_path: Path) -> None:
    store = ArtifactStore(LocalLake(tmp_path))
    _exercise(store)
    manifest = tmp_path / "assets" / "genre_model_logreg" / MANIFEST
    assert manifest.is_file()
    assert "test_artifacts.Record" in manifest.read_text()


def test_values_round_trip_on_s3(moto_endpoint: str) -> None:
    client = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    client.create_bucket(Bucket="lake")
    _exercise(ArtifactStore(S3Lake(client, "lake", "prefix")))
    keys = {o["Key"] for o in client.list_objects_v2(Bucket="lake")["Contents"]}
    assert "prefix/assets/champion_model/manifest.json" in keys
    assert any(k.startswith("prefix/assets/text_embeddings/value-") for k in keys)


def test_a_rewrite_keeps_the_previous_file_for_readers_and_prunes_older_ones(
    tmp_path: Path,
) -> None:
    store = ArtifactStore(LocalLake(tmp_path))
    for i in range(4):
        store.save(["training_set"], {"version": i})
    assert store.load(["training_set"]) == {"version": 3}
    files = sorted(p.name for p in (tmp_path / "assets" / "training_set").glob("value-*"))
    assert len(files) == 2  # the current value and the one before it


def test_a_corrupt_value_is_an_error_that_says_so(tmp_path: Path) -> None:
    store = ArtifactStore(LocalLake(tmp_path))
    stored = store.save(["tfidf_features"], {"vocabulary": ["a", "b"]})
    path = Path(stored.uri)
    path.write_bytes(path.read_bytes()[:-3] + b"xyz")
    with pytest.raises(ArtifactError, match="corrupt"):
        store.load(["tfidf_features"])
    path.unlink()
    with pytest.raises(ArtifactError, match="missing"):
        store.load(["tfidf_features"])
    (path.parent / MANIFEST).write_text("{not json")
    with pytest.raises(ArtifactError, match="not valid JSON"):
        store.load(["tfidf_features"])
    # A corrupt manifest does not stop the next materialisation.
    store.save(["tfidf_features"], {"vocabulary": ["c"]})
    assert store.load(["tfidf_features"]) == {"vocabulary": ["c"]}
