"""Progress lines: throttled, first and last always, readable."""

from __future__ import annotations

import pytest

from trending_assets.lib.progress import Progress, format_seconds, progress_lines
from trending_assets.lib.tracking import curve_points


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def make(total: int | None = 100, every_s: float = 10.0):
    lines: list[str] = []
    clock = Clock()
    return (
        Progress(lines.append, "step", total=total, unit="rows", every_s=every_s, clock=clock),
        lines,
        clock,
    )


def test_updates_are_throttled_but_the_first_and_last_always_print() -> None:
    progress, lines, clock = make()
    for done in range(1, 101):
        clock.now = done * 0.5  # one update every half second: 50 s in all
        progress.update(done)
    # the first, then one per 10 s (at 10.5, 20.5, ... 40.5 s), then the last
    assert len(lines) == 6
    assert lines[0].startswith("step: 1/100 rows (1%)")
    assert lines[-1].startswith("step: 100/100 rows (100%)")
    assert "left" not in lines[-1]


def test_a_line_has_fields_elapsed_and_time_left() -> None:
    progress, lines, clock = make()
    progress.update(0)
    clock.now = 30.0
    progress.update(25, prefix="epoch 1/4", train_loss=0.41234, force=True)
    assert (
        lines[-1]
        == "step: epoch 1/4, 25/100 rows (25%), train loss 0.4123 · 30 s, ~1 min 30 s left"
    )


def test_milestones_always_print_and_unknown_totals_have_no_percentage() -> None:
    progress, lines, clock = make(total=None)
    progress.update(5)
    progress.update(6)  # throttled
    progress.milestone("epoch 1/3 done", validation_macro_f1=0.5)
    assert lines == ["step: 5 rows · 0 s", "step: epoch 1/3 done, validation macro f1 0.5000 · 0 s"]


def test_subprocess_lines_are_throttled_and_final_lines_pass() -> None:
    progress, lines, clock = make()
    on_line = progress_lines(progress)
    on_line("listings: 50 pages")
    on_line("listings: 100 pages")  # same instant: throttled
    on_line("listings: 120 pages (finished)", True)
    assert lines == ["step: listings: 50 pages · 0 s", "step: listings: 120 pages (finished) · 0 s"]


def test_silent_progress_counts_lines_without_printing() -> None:
    progress = Progress(None, "quiet", total=2)
    progress.update(2)
    assert progress.lines == 1


@pytest.mark.parametrize(
    ("seconds", "text"), [(4.2, "4 s"), (65, "1 min 05 s"), (3725, "1 h 02 min"), (-1, "0 s")]
)
def test_format_seconds(seconds: float, text: str) -> None:
    assert format_seconds(seconds) == text


def test_history_becomes_wandb_curve_points() -> None:
    history = [
        {"epoch": 0, "train_loss": None, "validation_macro_f1": 0.2, "note": "x"},
        {"epoch": 1, "train_loss": 0.5, "validation_macro_f1": 0.4, "stopped": True},
    ]
    assert curve_points(history) == [
        {"epoch": 0.0, "validation_macro_f1": 0.2},
        {"epoch": 1.0, "train_loss": 0.5, "validation_macro_f1": 0.4},
    ]
