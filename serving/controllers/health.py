from __future__ import annotations

from litestar import Controller, get
from litestar.di import NamedDependency

from serving.schemas import Health
from serving.snapshot_store import SnapshotStore


class HealthController(Controller):
    path = "/health"
    tags = ["health"]

    @get(sync_to_thread=False, summary="Liveness and the snapshot being served")
    def health(self, store: NamedDependency[SnapshotStore]) -> Health:
        """Always 200 while the process runs; ``snapshot`` is null until one is published."""
        snap = store.current
        if snap is None:
            return Health(
                status="waiting_for_snapshot",
                snapshot=None,
                detail=store.last_error or "no snapshot has been published yet",
            )
        return Health(
            status="ok",
            snapshot=snap.version,
            snapshot_created_at=snap.created_at,
            snapshot_age_seconds=round(snap.age_seconds(), 3),
            detail=store.last_error,
            degraded=store.degraded,
        )
