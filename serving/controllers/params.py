"""What the controllers share: query parameter types, their checks, and the problem
responses they document. Controllers import these from here, never from each other."""

from __future__ import annotations

from typing import Annotated, Literal

from litestar.exceptions import ValidationException
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Parameter

from serving.dependencies import SNAPSHOT_HEADER
from serving.errors import PROBLEM_JSON
from serving.queries import known_genre_ids
from serving.schemas import ProblemDetail
from serving.snapshot_store import SnapshotLease

MAX_GENRE_FILTERS = 10

NO_SNAPSHOT = ResponseSpec(
    ProblemDetail, description="No snapshot published yet", media_type=PROBLEM_JSON
)

BAD_PARAM = ResponseSpec(ProblemDetail, description="Invalid parameter", media_type=PROBLEM_JSON)
UNKNOWN_TITLE = ResponseSpec(ProblemDetail, description="Unknown title id", media_type=PROBLEM_JSON)

GenreParam = Annotated[
    list[str] | None,
    Parameter(
        description="Genre id (see /genres); repeat to require titles that have ALL of the "
        "given genres",
    ),
]
TypeParam = Annotated[Literal["movie", "tv"] | None, Parameter(description="movie or tv")]


def bad_param(snapshot: SnapshotLease, key: str, message: str) -> ValidationException:
    return ValidationException(
        detail=f"query parameter '{key}': {message}",
        extra=[{"key": key, "source": "query", "message": message}],
        headers={SNAPSHOT_HEADER: snapshot.version},
    )


def check_genres(snapshot: SnapshotLease, genre: list[str] | None) -> list[str]:
    """Distinct, known genre ids; a clear 400 naming the unknown ones otherwise."""
    genre_ids = sorted(set(genre or []))
    if len(genre_ids) > MAX_GENRE_FILTERS:
        raise bad_param(snapshot, "genre", f"at most {MAX_GENRE_FILTERS} genre filters are allowed")
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
    return genre_ids
