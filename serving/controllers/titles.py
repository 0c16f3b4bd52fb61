from __future__ import annotations

from typing import Annotated, Literal

import anyio
import msgspec
from litestar import Controller, MediaType, Response, get
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, Parameter

from serving.controllers.params import (
    BAD_PARAM,
    NO_SNAPSHOT,
    UNKNOWN_TITLE,
    GenreParam,
    TypeParam,
    bad_param,
    check_genres,
)
from serving.dependencies import SNAPSHOT_HEADER, SNAPSHOT_RESPONSE_HEADER, lease_or_503
from serving.queries import (
    TitleFilters,
    get_title,
    list_titles,
    similar_by_genres,
    summaries_by_id,
    title_exists,
)
from serving.schemas import SimilarTitles, TitleDetail, TitlePage, scored
from serving.snapshot_cache import cached_detail, remember_detail
from serving.snapshot_store import SnapshotLease, SnapshotStore
from serving.vectors import vectors_for

MAX_TEXT_QUERY = 200
MAX_CURSOR = 512


class TitlesController(Controller):
    path = "/titles"
    tags = ["titles"]
    response_headers = [SNAPSHOT_RESPONSE_HEADER]

    @get(
        sync_to_thread=True,
        cache=True,  # server cache keyed by snapshot version (serving/middleware.py)
        summary="Browse titles: filter, sort, page",
        responses={400: BAD_PARAM, 503: NO_SNAPSHOT},
    )
    def list_titles(
        self,
        snapshot: NamedDependency[SnapshotLease],
        limit: Annotated[int, Parameter(ge=1, le=100, description="Page size, 1..100")] = 20,
        offset: Annotated[
            int | None, Parameter(ge=0, le=1_000_000, description="Items to skip (or use cursor)")
        ] = None,
        cursor: Annotated[
            str | None,
            Parameter(max_length=MAX_CURSOR, description="next_cursor of the previous page"),
        ] = None,
        sort: Annotated[
            Literal["title", "trending", "vibe", "year"],
            Parameter(
                description="title (A-Z), trending (rank 1 first, unranked last), vibe "
                "(highest first) or year (newest first); ties by id"
            ),
        ] = "title",
        genre: GenreParam = None,
        type: TypeParam = None,  # named like the query parameter so errors name it too
        year_min: Annotated[
            int | None, Parameter(ge=1800, le=2200, description="Earliest year")
        ] = None,
        year_max: Annotated[
            int | None, Parameter(ge=1800, le=2200, description="Latest year")
        ] = None,
        min_vibe: Annotated[
            int | None, Parameter(ge=1, le=10, description="Minimum LLM vibe score, 1..10")
        ] = None,
        q: Annotated[
            str | None,
            Parameter(
                max_length=MAX_TEXT_QUERY,
                description="Text that the title or plot must contain (case-insensitive, literal)",
            ),
        ] = None,
    ) -> Response[TitlePage]:
        """Titles in a total order (the sort key, then id), so pages are stable within one
        snapshot version. Page with ``cursor`` (``next_cursor``) or ``offset`` (``next_offset``)."""
        if cursor is not None and offset is not None:
            raise bad_param(snapshot, "cursor", "give either cursor or offset, not both")
        if year_min is not None and year_max is not None and year_min > year_max:
            raise bad_param(
                snapshot, "year_min", f"year_min {year_min} is after year_max {year_max}"
            )
        filters = TitleFilters(
            genre_ids=check_genres(snapshot, genre),
            title_type=type,
            year_min=year_min,
            year_max=year_max,
            min_vibe=min_vibe,
            text=(q or "").strip() or None,
        )
        try:
            page = list_titles(
                snapshot.cursor,
                limit=limit,
                offset=offset,
                cursor=cursor,
                sort=sort,
                filters=filters,
            )
        except ValueError as exc:  # a cursor that is not ours
            raise bad_param(snapshot, "cursor", str(exc)) from exc
        return Response(page, headers={SNAPSHOT_HEADER: snapshot.version})

    @get(
        "/{title_id:str}",
        summary="Everything known about one title",
        responses={404: UNKNOWN_TITLE, 503: NO_SNAPSHOT},
    )
    async def get_title(
        self, store: NamedDependency[SnapshotStore], title_id: FromPath[str]
    ) -> Response[TitleDetail]:
        """Listing fields, source genres, the champion's genres with probabilities, the LLM
        enrichment, review statistics, trending rank, and provenance (model, prompt and
        snapshot versions)."""
        # The hot path: the encoded answer, cached on the snapshot version (no thread hop,
        # no query). A miss reads the pre-assembled document under a lease, in a thread.
        current = store.current
        body = cached_detail(current, title_id) if current is not None else None
        version = current.version if current is not None else None
        if body is None:
            version, body = await anyio.to_thread.run_sync(load_detail, store, title_id)
        if body is None:
            raise NotFoundException(
                detail=f"No title with id {title_id!r} in snapshot {version}.",
                headers={SNAPSHOT_HEADER: version},
            )
        return Response(body, media_type=MediaType.JSON, headers={SNAPSHOT_HEADER: version})

    @get(
        "/{title_id:str}/similar",
        sync_to_thread=True,
        cache=True,  # server cache keyed by snapshot version (serving/middleware.py)
        summary="More like this: the nearest titles by plot embedding",
        responses={404: UNKNOWN_TITLE, 503: NO_SNAPSHOT},
    )
    def similar(
        self,
        snapshot: NamedDependency[SnapshotLease],
        title_id: FromPath[str],
        limit: Annotated[int, Parameter(ge=1, le=50, description="How many, 1..50")] = 10,
    ) -> Response[SimilarTitles]:
        """Cosine similarity of the MiniLM plot embeddings (``mode: embedding``); a title
        without an embedding falls back to shared source genres (``mode: genres``)."""
        if not title_exists(snapshot.cursor, title_id):
            raise NotFoundException(
                detail=f"No title with id {title_id!r} in snapshot {snapshot.version}.",
                headers={SNAPSHOT_HEADER: snapshot.version},
            )
        vectors = vectors_for(snapshot.snapshot)
        vector = vectors.vector_of(title_id)
        if vector is not None:
            hits = vectors.nearest(vector, limit, exclude=title_id)
            found = summaries_by_id(snapshot.cursor, [i for i, _ in hits])
            items = [scored(found[i], score) for i, score in hits if i in found]
            body = SimilarTitles(id=title_id, mode="embedding", items=items)
        else:
            items = [scored(s, v) for s, v in similar_by_genres(snapshot.cursor, title_id, limit)]
            body = SimilarTitles(id=title_id, mode="genres", items=items)
        return Response(body, headers={SNAPSHOT_HEADER: snapshot.version})


def load_detail(store: SnapshotStore, title_id: str) -> tuple[str, bytes | None]:
    """(version, encoded detail) from the current snapshot; the answer is cached on it."""
    with lease_or_503(store) as lease:
        detail = get_title(lease.cursor, title_id, lease.version)
        if detail is None:
            return lease.version, None
        return lease.version, remember_detail(lease.snapshot, title_id, msgspec.json.encode(detail))
