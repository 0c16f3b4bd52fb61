"""Operations: readiness, and a key-protected forced reload of the snapshot."""

from __future__ import annotations

import os
import secrets
from typing import Annotated

from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException, NotAuthorizedException
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import HeaderParameter

from serving.errors import PROBLEM_JSON
from serving.schemas import ProblemDetail, Ready, ReloadResult
from serving.snapshot_store import SnapshotStore

ADMIN_KEY_ENV = "TRENDING_ADMIN_API_KEY"
ADMIN_KEY_HEADER = "X-API-Key"


class OpsController(Controller):
    tags = ["operations"]

    @get(
        "/ready",
        sync_to_thread=False,
        summary="Readiness: a snapshot is loaded",
        responses={503: ResponseSpec(Ready, description="No snapshot loaded yet")},
    )
    def ready(self, store: NamedDependency[SnapshotStore]) -> Response[Ready]:
        """200 with the snapshot version and age once one is loaded; 503 before (a load
        balancer should send no traffic until then). ``degraded`` says why, when the
        snapshot served is not the one ``CURRENT`` names (an unreadable or garbage pointer,
        a missing or corrupt version): the API then serves the newest version that opens."""
        snap = store.current
        if snap is None:
            body = Ready(
                ready=False,
                snapshot=None,
                detail=store.last_error or "no snapshot has been published yet",
            )
            return Response(body, status_code=503, headers={"Retry-After": "5"})
        body = Ready(
            ready=True,
            snapshot=snap.version,
            snapshot_created_at=snap.created_at,
            snapshot_age_seconds=round(snap.age_seconds(), 3),
            detail=store.last_error,
            degraded=store.degraded,
        )
        return Response(body)

    @post(
        "/admin/reload",
        sync_to_thread=True,
        status_code=200,
        summary="Reload the published snapshot now (needs the admin API key)",
        security=[{"apiKey": []}],
        responses={
            401: ResponseSpec(
                ProblemDetail, description="Missing or wrong key", media_type=PROBLEM_JSON
            ),
            403: ResponseSpec(ProblemDetail, description="Admin disabled", media_type=PROBLEM_JSON),
        },
    )
    def reload(
        self,
        store: NamedDependency[SnapshotStore],
        api_key: Annotated[
            str | None, HeaderParameter(name=ADMIN_KEY_HEADER, required=False)
        ] = None,
    ) -> ReloadResult:
        """Re-read ``CURRENT`` at once (also retrying a version that failed to open),
        instead of waiting for the poller. The key comes from ``TRENDING_ADMIN_API_KEY``;
        without it the admin endpoints are off."""
        expected = os.environ.get(ADMIN_KEY_ENV, "")
        if not expected:
            raise HTTPException(
                status_code=403,
                detail=f"admin endpoints are disabled: set {ADMIN_KEY_ENV} to enable them",
            )
        if not api_key or not secrets.compare_digest(api_key.encode(), expected.encode()):
            raise NotAuthorizedException(
                detail=f"a valid {ADMIN_KEY_HEADER} header is required",
                headers={"WWW-Authenticate": ADMIN_KEY_HEADER},
            )
        switched = store.refresh(force=True)
        current = store.current
        return ReloadResult(
            switched=switched,
            snapshot=current.version if current else None,
            detail=store.last_error,
        )
