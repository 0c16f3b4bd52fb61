"""Dependencies injected into handlers: the snapshot store and a per-request lease on it."""

from __future__ import annotations

from collections.abc import Generator, Iterator
from contextlib import contextmanager

from litestar.datastructures import ResponseHeader, State
from litestar.exceptions import HTTPException

from serving.snapshot_store import NoSnapshotError, SnapshotLease, SnapshotStore

SNAPSHOT_HEADER = "X-Snapshot-Version"
SNAPSHOT_RESPONSE_HEADER = ResponseHeader(
    name=SNAPSHOT_HEADER,
    description="The snapshot version that produced this response",
    documentation_only=True,
)


def provide_store(state: State) -> SnapshotStore:
    return state.snapshot_store


@contextmanager
def lease_or_503(store: SnapshotStore) -> Iterator[SnapshotLease]:
    """Lease the current snapshot; a clear 503 when none is published yet."""
    try:
        lease = store.acquire()
    except NoSnapshotError as exc:
        raise HTTPException(
            status_code=503,
            detail=f"No serving snapshot is available ({exc}). "
            "Materialise the serving_snapshot asset, then retry.",
            headers={"Retry-After": "5"},
        ) from exc
    try:
        yield lease
    finally:
        store.release(lease)


def provide_snapshot(state: State) -> Generator[SnapshotLease, None, None]:
    """Lease the current snapshot for the whole request, so it never changes mid-request."""
    with lease_or_503(state.snapshot_store) as lease:
        yield lease
