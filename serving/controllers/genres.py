from __future__ import annotations

from litestar import Controller, Response, get
from litestar.di import NamedDependency

from serving.controllers.params import NO_SNAPSHOT
from serving.dependencies import SNAPSHOT_HEADER, SNAPSHOT_RESPONSE_HEADER
from serving.queries import list_genres
from serving.schemas import GenreList
from serving.snapshot_store import SnapshotLease


class GenresController(Controller):
    path = "/genres"
    tags = ["genres"]
    response_headers = [SNAPSHOT_RESPONSE_HEADER]

    @get(
        sync_to_thread=True,
        cache=True,  # server cache keyed by snapshot version (serving/middleware.py)
        summary="The genre taxonomy with title counts",
        responses={503: NO_SNAPSHOT},
    )
    def list_genres(self, snapshot: NamedDependency[SnapshotLease]) -> Response[GenreList]:
        """Every canonical genre, including those with no titles yet (``title_count`` 0)."""
        body = GenreList(items=list_genres(snapshot.cursor))
        return Response(body, headers={SNAPSHOT_HEADER: snapshot.version})
