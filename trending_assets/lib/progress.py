"""Progress lines for long steps: throttled, one readable line each, no Dagster import.

A step that takes more than a few seconds (the fine-tune, XGBoost's search, the crawl,
enrichment) reports through a :class:`Progress`. The asset hands it ``context.log.info``,
so each line reaches both the terminal and the run's event log in the Dagster UI::

    genre_model_bert: epoch 1/3, batch 40/120 (33%), loss 0.4123 · 12 s, ~24 s left

Lines are throttled to one every ``every_s`` seconds (the first update and the last one
always print), so a 20-minute step prints a few dozen lines rather than thousands.
:meth:`Progress.milestone` always prints: for the end of an epoch, with its metrics.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from typing import Any

Emit = Callable[[str], Any]


def _format_value(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, float):
        return str(value)
    if not math.isfinite(value):
        return str(value)
    return f"{value:.4f}" if abs(value) < 100 else f"{value:.0f}"


def format_seconds(seconds: float) -> str:
    """``42 s``, ``3 min 05 s``, ``1 h 02 min``: short and unambiguous."""
    seconds = max(0.0, float(seconds))
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def format_fields(fields: Mapping[str, Any]) -> str:
    return ", ".join(f"{k.replace('_', ' ')} {_format_value(v)}" for k, v in fields.items())


class Progress:
    """Throttled progress of ``total`` units of work, reported through ``emit``.

    ``update(done)`` takes the number done so far (not an increment). ``total`` may be
    unknown (``None``): the line then has no percentage and no estimate of time left.
    ``clock`` is injectable for tests.
    """

    def __init__(
        self,
        emit: Emit | None,
        label: str,
        *,
        total: int | None = None,
        unit: str = "",
        every_s: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if every_s < 0:
            raise ValueError("every_s must be >= 0")
        self.emit = emit
        self.label = label
        self.total = total
        self.unit = unit
        self.every_s = every_s
        self.clock = clock
        self.started = clock()
        self._last_emitted: float | None = None
        self.lines: int = 0

    @property
    def elapsed(self) -> float:
        return self.clock() - self.started

    def _say(self, text: str) -> None:
        self.lines += 1
        if self.emit is not None:
            self.emit(f"{self.label}: {text}")

    def line(self, done: int, *, prefix: str = "", fields: Mapping[str, Any] | None = None) -> str:
        """The text of one progress line (without the label)."""
        unit = f" {self.unit}" if self.unit else ""
        parts = []
        if self.total:
            share = min(1.0, done / self.total)
            parts.append(f"{done}/{self.total}{unit} ({share:.0%})")
        else:
            parts.append(f"{done}{unit}")
        head = ", ".join(p for p in (prefix, *parts) if p)
        if fields:
            head += ", " + format_fields(fields)
        elapsed = self.elapsed
        timing = format_seconds(elapsed)
        if self.total and 0 < done < self.total and elapsed > 0:
            timing += f", ~{format_seconds(elapsed * (self.total - done) / done)} left"
        return f"{head} · {timing}"

    def update(self, done: int, *, prefix: str = "", force: bool = False, **fields: Any) -> bool:
        """Report ``done`` units; prints when forced, first, last, or ``every_s`` passed."""
        now = self.clock()
        finished = self.total is not None and done >= self.total
        due = (
            force
            or finished
            or self._last_emitted is None
            or now - self._last_emitted >= self.every_s
        )
        if not due:
            return False
        self._last_emitted = now
        self._say(self.line(done, prefix=prefix, fields=fields))
        return True

    def note(self, text: str, *, force: bool = False) -> bool:
        """Free text (a subprocess's own progress line), throttled like :meth:`update`."""
        now = self.clock()
        if not (force or self._last_emitted is None or now - self._last_emitted >= self.every_s):
            return False
        self._last_emitted = now
        self._say(f"{text} · {format_seconds(self.elapsed)}")
        return True

    def milestone(self, text: str, **fields: Any) -> None:
        """A line that always prints (the end of an epoch, a phase starting)."""
        if fields:
            text = f"{text}, {format_fields(fields)}"
        self._last_emitted = self.clock()
        self._say(f"{text} · {format_seconds(self.elapsed)}")


def progress_lines(progress: Progress) -> Callable[[str, bool], bool]:
    """A ``(text, final)`` callback for a subprocess's own progress lines: throttled, and a
    final line always passes."""

    def on_line(text: str, final: bool = False) -> bool:
        return progress.note(text, force=final)

    return on_line
