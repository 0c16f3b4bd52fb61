"""Experiment tracking with Weights & Biases: offline by default, online with WANDB_API_KEY.

Offline runs are complete W&B runs on disk (`wandb sync <dir>` uploads them later), so
the demo keeps a real record of every training run without a network or an account.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class TrackedRun:
    run_id: str
    mode: str  # "offline" or "online"
    url: str | None  # the run's page when online
    directory: str  # the run's files on disk (offline: what `wandb sync` uploads)


def tracking_mode() -> str:
    """`WANDB_MODE` when set, else online only when an API key is present."""
    if os.environ.get("WANDB_MODE"):
        return os.environ["WANDB_MODE"]
    return "online" if os.environ.get("WANDB_API_KEY") else "offline"


@contextmanager
def _run(
    *,
    project: str,
    name: str,
    group: str,
    job_type: str,
    root: Path,
    config: dict[str, Any] | None = None,
    tags: list[str] | None = None,
) -> Iterator[tuple[Any, TrackedRun]]:
    """An open W&B run (offline unless an API key is set), finished on the way out."""
    import wandb

    root.mkdir(parents=True, exist_ok=True)
    mode = tracking_mode()
    run = wandb.init(
        project=project, name=name, group=group, job_type=job_type, config=config or {},
        tags=tags or [], dir=str(root), mode=mode, reinit="finish_previous",
        settings=wandb.Settings(silent=True, console="off", x_disable_stats=True),
    )  # fmt: skip
    try:
        yield (
            run,
            TrackedRun(
                run_id=run.id,
                mode=mode,
                url=run.url if mode == "online" else None,
                directory=str(Path(run.dir).parent),
            ),
        )
    finally:
        run.finish()


def log_training_run(
    *,
    project: str,
    name: str,
    group: str,
    config: dict[str, Any],
    metrics: dict[str, float],
    artifact_dir: Path | None,
    history: Sequence[Mapping[str, Any]] | None = None,
    artifact_name: str,
    root: Path,
    tags: list[str] | None = None,
) -> TrackedRun:
    """One W&B run: config, training curves, final metrics and the model as a `model` artifact.

    ``history`` is the fit's per-epoch (or per-round) record, oldest first: each entry is
    logged as one step (``epoch`` or ``round`` its x axis), so W&B draws loss and validation
    F1 curves. The final metrics go in the run's summary.
    """
    import wandb

    with _run(
        project=project, name=name, group=group, job_type="train", root=root,
        config=config, tags=tags,
    ) as (run, tracked):  # fmt: skip
        for entry in curve_points(history or []):
            run.log(entry)
        run.log(_numbers(metrics))
        for key, value in metrics.items():
            run.summary[key] = value
        if artifact_dir is not None:
            artifact = wandb.Artifact(artifact_name, type="model", metadata={"metrics": metrics})
            artifact.add_dir(str(artifact_dir))
            run.log_artifact(artifact)
    return tracked


def log_evaluation_run(
    *,
    project: str,
    name: str,
    group: str,
    metrics: dict[str, Any],
    root: Path,
    config: dict[str, Any] | None = None,
) -> TrackedRun:
    """A W&B run of one model version's test-split scores (``job_type="evaluate"``), in the
    same group as its training run, so W&B shows validation and test figures side by side."""
    with _run(
        project=project, name=name, group=group, job_type="evaluate", root=root, config=config
    ) as (run, tracked):
        run.log(_numbers(metrics))
        for key, value in metrics.items():
            run.summary[key] = value
    return tracked


def alias_champion(
    *,
    project: str,
    group: str,
    artifact_dir: Path,
    artifact_name: str,
    version: str,
    reason: str,
    root: Path,
) -> TrackedRun:
    """Log the champion's model directory again under ``artifact_name`` with the aliases
    ``champion`` and its registry version. Same files, same digest: W&B keeps one artifact
    version and moves the ``champion`` alias to it (offline, once the run is synced)."""
    import wandb

    with _run(
        project=project, name=f"promote-{artifact_name}-{version}", group=group,
        job_type="promote", root=root, config={"version": version, "reason": reason},
    ) as (run, tracked):  # fmt: skip
        artifact = wandb.Artifact(
            artifact_name, type="model", metadata={"registry_version": version, "reason": reason}
        )
        artifact.add_dir(str(artifact_dir))
        run.log_artifact(artifact, aliases=["champion", f"registry-{version}"])
    return tracked


def _numbers(metrics: Mapping[str, Any]) -> dict[str, float]:
    return {
        k: float(v)
        for k, v in metrics.items()
        if isinstance(v, (int, float)) and not isinstance(v, bool)
    }


def curve_points(history: Sequence[Mapping[str, Any]]) -> list[dict[str, float]]:
    """The numeric fields of each history entry, as W&B steps (non-numbers dropped)."""
    points = []
    for entry in history:
        point = {
            k: float(v)
            for k, v in entry.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool)
        }
        if point:
            points.append(point)
    return points
