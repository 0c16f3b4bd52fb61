"""The ensemble leaves the zero-shot member out when no genre has the training titles it
calibrates on (a catalogue too small for it), instead of failing the asset."""

import dagster as dg
import numpy as np
import pandas as pd
import pytest

from trending_assets.defs.models.assets import _zeroshot_can_calibrate
from trending_assets.lib.ml.data import GenreExamples
from trending_assets.lib.ml.split import SplitResult
from trending_assets.lib.ml.zeroshot import MIN_TRAIN_POSITIVES


def _split(most_positives: int) -> SplitResult:
    n, genres = 12, ["comedy", "horror"]
    labels = np.zeros((n, 2), dtype=np.uint8)
    labels[:most_positives, 0] = 1
    labels[most_positives : most_positives + 2, 1] = 1
    meta = pd.DataFrame({"title_type": ["movie"] * n, "source": "s", "original_language": "en"})
    train = GenreExamples([f"t{i}" for i in range(n)], ["a plot"] * n, labels, genres, meta)
    return SplitResult(train, train.subset([]), train.subset([]), genres, {}, {}, "fp")


@pytest.mark.parametrize(
    ("most_positives", "included"),
    [(MIN_TRAIN_POSITIVES, True), (MIN_TRAIN_POSITIVES - 1, False)],
)
def test_the_member_needs_one_genre_with_enough_training_titles(most_positives, included):
    assert _zeroshot_can_calibrate(dg.build_asset_context(), _split(most_positives)) is included
