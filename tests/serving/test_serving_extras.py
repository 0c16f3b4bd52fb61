"""Nearest-neighbour search over snapshot vectors, and the cursor codec (pure logic)."""

from __future__ import annotations

import numpy as np
import pytest

from serving.queries import decode_cursor, encode_cursor
from serving.vectors import SnapshotVectors


def test_nearest_is_cosine_ordered_and_skips_zero_vectors() -> None:
    vectors = SnapshotVectors(
        ["a", "b", "c", "blank"],
        np.array([[1, 0, 0], [0.9, 0.1, 0], [0, 1, 0], [0, 0, 0]], dtype=np.float32),
    )
    assert len(vectors) == 3 and vectors.dim == 3  # the blank plot has no direction
    hits = vectors.nearest(np.array([2.0, 0, 0]), 3)
    assert [h[0] for h in hits] == ["a", "b", "c"]
    assert hits[0][1] == pytest.approx(1.0) and hits[2][1] == pytest.approx(0.0)
    assert [h[0] for h in vectors.nearest(vectors.vector_of("a"), 2, exclude="a")] == ["b", "c"]
    assert vectors.nearest(np.zeros(3), 2) == []
    assert vectors.vector_of("blank") is None


def test_ties_break_by_id_and_k_larger_than_n() -> None:
    vectors = SnapshotVectors(["z", "y", "x"], np.ones((3, 2), dtype=np.float32))
    assert [h[0] for h in vectors.nearest(np.array([1.0, 1.0]), 10)] == ["x", "y", "z"]


def test_empty_vectors() -> None:
    empty = SnapshotVectors([], np.zeros((0, 0), dtype=np.float32))
    assert len(empty) == 0 and empty.nearest(np.ones(3), 5) == []


def test_cursor_round_trip_and_rejections() -> None:
    cursor = encode_cursor("vibe", 7, "t01")
    assert decode_cursor(cursor, "vibe") == (7, "t01")
    with pytest.raises(ValueError, match="sort='vibe'"):
        decode_cursor(cursor, "year")
    bad_cursors = [
        ("", "vibe"),
        ("!!!", "vibe"),
        (encode_cursor("title", 3, "t01"), "title"),  # title keys are strings
        (encode_cursor("vibe", True, "t01"), "vibe"),  # a bool is not a vibe score
        (encode_cursor("year", 2020, 5), "year"),  # ids are strings
    ]
    for bad, sort in bad_cursors:
        with pytest.raises(ValueError, match="not valid"):
            decode_cursor(bad, sort)
