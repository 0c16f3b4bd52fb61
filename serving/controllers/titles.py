from __future__ import annotations

from typing import Annotated, Literal

from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException, ValidationException
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, Parameter

from serving.controllers.genres import NO_SNAPSHOT
from serving.dependencies import SNAPSHOT_HEADER, SNAPSHOT_RESPONSE_HEADER
from serving.errors import PROBLEM_JSON
from serving.queries import get_title, known_genre_ids, list_titles
from serving.schemas import ProblemDetail, TitleDetail, TitlePage
from serving.snapshot_store import SnapshotLease

MAX_GENRE_FILTERS = 10


class TitlesController(Controller):
    path = "/titles"
    tags = ["titles"]
    response_headers = [SNAPSHOT_RESPONSE_HEADER]

    @get(
        sync_to_thread=True,
        summary="Browse titles",
        responses={
            400: ResponseSpec(
                ProblemDetail, description="Invalid parameter", media_type=PROBLEM_JSON
            ),
            503: NO_SNAPSHOT,
        },
    )
    def list_titles(
        self,
        snapshot: NamedDependency[SnapshotLease],
        limit: Annotated[int, Parameter(ge=1, le=100, description="Page size, 1..100")] = 20,
        offset: Annotated[int, Parameter(ge=0, description="Items to skip")] = 0,
        genre: Annotated[
            list[str] | None,
            Parameter(
                description="Genre id (see /genres); repeat to require titles that have "
                "ALL of the given genres",
            ),
        ] = None,
        type: Annotated[  # named like the query parameter so errors name it too
            Literal["movie", "tv"] | None, Parameter(description="movie or tv")
        ] = None,
    ) -> Response[TitlePage]:
        """Titles ordered by title then id, so pages are stable within one snapshot version.

        ``next_offset`` is the offset of the next page, or null on the last page.
        """
        genre_ids = sorted(set(genre or []))
        if len(genre_ids) > MAX_GENRE_FILTERS:
            raise ValidationException(
                detail=f"At most {MAX_GENRE_FILTERS} genre filters are allowed.",
                extra=[{"key": "genre", "source": "query", "message": "too many values"}],
                headers={SNAPSHOT_HEADER: snapshot.version},
            )
        if genre_ids:
            known = known_genre_ids(snapshot.cursor)
            unknown = [g for g in genre_ids if g not in known]
            if unknown:
                raise ValidationException(
                    detail=f"Unknown genre id(s): {', '.join(map(repr, unknown))}. "
                    "Valid ids are listed at /genres.",
                    extra=[
                        {"key": "genre", "source": "query", "message": f"unknown genre id {g!r}"}
                        for g in unknown
                    ],
                    headers={SNAPSHOT_HEADER: snapshot.version},
                )
        page = list_titles(
            snapshot.cursor,
            limit=limit,
            offset=offset,
            genre_ids=genre_ids,
            title_type=type,
        )
        return Response(page, headers={SNAPSHOT_HEADER: snapshot.version})

    @get(
        "/{title_id:str}",
        sync_to_thread=True,
        summary="One title with its genres and review statistics",
        responses={
            404: ResponseSpec(
                ProblemDetail, description="Unknown title id", media_type=PROBLEM_JSON
            ),
            503: NO_SNAPSHOT,
        },
    )
    def get_title(
        self, snapshot: NamedDependency[SnapshotLease], title_id: FromPath[str]
    ) -> Response[TitleDetail]:
        detail = get_title(snapshot.cursor, title_id)
        if detail is None:
            raise NotFoundException(
                detail=f"No title with id {title_id!r} in snapshot {snapshot.version}.",
                headers={SNAPSHOT_HEADER: snapshot.version},
            )
        return Response(detail, headers={SNAPSHOT_HEADER: snapshot.version})
