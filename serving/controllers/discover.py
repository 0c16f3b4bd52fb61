"""Discovery: what is trending now, and search by meaning."""

from __future__ import annotations

import re
from typing import Annotated

from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.params import Parameter

from serving.controllers.params import (
    BAD_PARAM,
    NO_SNAPSHOT,
    GenreParam,
    TypeParam,
    bad_param,
    check_genres,
)
from serving.dependencies import SNAPSHOT_HEADER, SNAPSHOT_RESPONSE_HEADER
from serving.queries import TitleFilters, keyword_search, summaries_by_id, trending
from serving.schemas import SearchResults, TrendingList, scored
from serving.snapshot_store import SnapshotLease
from serving.vectors import QueryEncoder, vectors_for
from trending_assets.lib.trending import (
    BASIS_BEST_RATED,
    DEFAULT_FALLBACK_MIN,
    TrendingParams,
    fallback_reason,
)
from trending_assets.settings import get_settings

MAX_QUERY = 200
MAX_KEYWORD_TERMS = 8
TRENDING_FORMULA = (
    "log1p(relative_volume) * sqrt(momentum) * vibe_factor: recent review velocity against "
    "the title's own history and the catalogue, weighted by recency and vibe; titles with "
    "fewer than the minimum recent reviews are not ranked (a short answer is topped up "
    "with best-rated titles, marked basis: best_rated_fallback)"
)


class DiscoverController(Controller):
    tags = ["discover"]
    response_headers = [SNAPSHOT_RESPONSE_HEADER]

    @get(
        "/trending",
        sync_to_thread=True,
        cache=True,  # server cache keyed by snapshot version (serving/middleware.py)
        summary="What is trending now",
        responses={400: BAD_PARAM, 503: NO_SNAPSHOT},
    )
    def trending(
        self,
        snapshot: NamedDependency[SnapshotLease],
        limit: Annotated[int, Parameter(ge=1, le=100, description="Top N, 1..100")] = 20,
        genre: GenreParam = None,
        type: TypeParam = None,
        fallback_min: Annotated[
            int,
            Parameter(
                ge=0,
                le=100,
                description="When fewer titles than this (at most limit) are trending, top "
                "the answer up with the best-rated titles of the same filters (basis "
                "best_rated_fallback); 0: trending titles only",
            ),
        ] = DEFAULT_FALLBACK_MIN,
    ) -> Response[TrendingList]:
        """Ranked titles, rank 1 first, as of the newest review in the snapshot. Review
        traffic is long-tailed, so a genre can have few or no titles with enough recent
        reviews for a rank: then the answer is topped up to ``fallback_min`` (at most
        ``limit``) with the genre's best-rated titles, each with ``basis:
        best_rated_fallback``, and ``reason`` says why. An empty ``items`` means no title
        matches the filters at all (``reason`` says so); an unknown genre is a 400."""
        filters = TitleFilters(genre_ids=check_genres(snapshot, genre), title_type=type)
        answer = trending(snapshot.cursor, limit=limit, filters=filters, fallback_min=fallback_min)
        fallbacks = sum(1 for i in answer.items if i.basis == BASIS_BEST_RATED)
        reason = None
        scope = " ".join([*filters.genre_ids, *([type] if type else [])])
        if answer.title_total == 0:
            reason = f"no {scope + ' ' if scope else ''}titles in this snapshot"
        elif answer.ranked_total < min(limit, max(fallback_min, 1), answer.title_total):
            # Short of trending titles (with fallback_min=0: only when there are none).
            settings = get_settings()
            params = TrendingParams(
                window_days=settings.trending_window_days,
                min_recent_reviews=settings.trending_min_reviews,
            )
            reason = fallback_reason(
                answer.ranked_total, params, as_of=answer.as_of, scope=scope, filled=fallbacks > 0
            )
        body = TrendingList(
            as_of=answer.as_of,
            snapshot=snapshot.version,
            formula=TRENDING_FORMULA,
            items=answer.items,
            trending_count=len(answer.items) - fallbacks,
            fallback_count=fallbacks,
            reason=reason,
        )
        return Response(body, headers={SNAPSHOT_HEADER: snapshot.version})

    @get(
        "/search",
        sync_to_thread=True,
        cache=True,  # server cache keyed by snapshot version (serving/middleware.py)
        summary="Search titles by meaning",
        responses={400: BAD_PARAM, 503: NO_SNAPSHOT},
    )
    def search(
        self,
        snapshot: NamedDependency[SnapshotLease],
        q: Annotated[
            str, Parameter(min_length=1, max_length=MAX_QUERY, description="What to look for")
        ],
        limit: Annotated[int, Parameter(ge=1, le=50, description="How many, 1..50")] = 10,
    ) -> Response[SearchResults]:
        """Semantic search: the query is embedded with the same MiniLM as the plots and
        titles are ranked by cosine similarity (``mode: semantic``). Without the encoder or
        title embeddings it falls back to keyword matching on title and plot
        (``mode: keyword``)."""
        query = " ".join(q.split())
        if not query:
            raise bad_param(snapshot, "q", "the query is blank")
        vectors = vectors_for(snapshot.snapshot)
        vector = QueryEncoder.encode(query) if len(vectors) else None
        if vector is not None and vector.shape[0] == vectors.dim:
            hits = vectors.nearest(vector, limit)
            found = summaries_by_id(snapshot.cursor, [i for i, _ in hits])
            body = SearchResults(
                query=query,
                mode="semantic",
                items=[scored(found[i], s) for i, s in hits if i in found],
            )
        else:
            terms = list(dict.fromkeys(t for t in re.findall(r"\w+", query.lower()) if len(t) > 1))
            hits = keyword_search(snapshot.cursor, terms[:MAX_KEYWORD_TERMS], limit)
            body = SearchResults(query=query, mode="keyword", items=[scored(s, v) for s, v in hits])
        return Response(body, headers={SNAPSHOT_HEADER: snapshot.version})
