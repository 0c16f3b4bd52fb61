"""Genres for any plot text, from the champion model the snapshot was published with."""

from __future__ import annotations

from litestar import Controller, Response, post
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import JSONBody

from serving.controllers.params import NO_SNAPSHOT
from serving.dependencies import SNAPSHOT_HEADER, SNAPSHOT_RESPONSE_HEADER
from serving.errors import PROBLEM_JSON
from serving.models import ModelUnavailableError, model_for
from serving.schemas import GenrePrediction, Prediction, PredictRequest, ProblemDetail
from serving.snapshot_store import SnapshotLease

MIN_TEXT = 3
MAX_TEXT = 5000  # characters; the request body itself is capped by the app (413 beyond)
MAX_TITLE = 300
TITLE_TYPES = ("movie", "tv")


class PredictController(Controller):
    tags = ["models"]
    response_headers = [SNAPSHOT_RESPONSE_HEADER]

    @post(
        "/predict",
        sync_to_thread=True,
        status_code=200,
        summary="Genres for a plot text, from the champion model",
        responses={
            400: ResponseSpec(ProblemDetail, description="Invalid body", media_type=PROBLEM_JSON),
            413: ResponseSpec(ProblemDetail, description="Body too large", media_type=PROBLEM_JSON),
            503: NO_SNAPSHOT,
        },
    )
    def predict(
        self, snapshot: NamedDependency[SnapshotLease], data: JSONBody[PredictRequest]
    ) -> Response[Prediction]:
        """``{"text": "<plot>", "title": "...", "type": "movie" | "tv"}`` (title and type
        optional) -> every genre's probability and the genres over the model's tuned
        thresholds. With a type, genres of the other type are not predicted. Same featuriser
        and code path as the pipeline's predictions; the model is the one published with
        this snapshot (``model_version``)."""
        text = " ".join(data.text.split())
        problems = []
        if len(text) < MIN_TEXT:
            problems.append(("text", f"must have at least {MIN_TEXT} non-blank characters"))
        if len(text) > MAX_TEXT:
            problems.append(("text", f"must be at most {MAX_TEXT} characters (got {len(text)})"))
        if data.title is not None and len(data.title) > MAX_TITLE:
            problems.append(("title", f"must be at most {MAX_TITLE} characters"))
        title_type = data.type.strip().lower() if data.type is not None else None
        if title_type is not None and title_type not in TITLE_TYPES:
            problems.append(
                ("type", f"must be one of {', '.join(TITLE_TYPES)} (got {data.type!r})")
            )
        if problems:
            raise ValidationException(
                detail="; ".join(f"body field '{k}': {m}" for k, m in problems),
                extra=[{"key": k, "source": "body", "message": m} for k, m in problems],
                headers={SNAPSHOT_HEADER: snapshot.version},
            )
        try:
            model = model_for(snapshot.snapshot)
        except ModelUnavailableError as exc:
            raise HTTPException(
                status_code=503, detail=str(exc), headers={SNAPSHOT_HEADER: snapshot.version}
            ) from exc
        full_text = f"{data.title.strip()}. {text}" if data.title and data.title.strip() else text
        frame = model.predict(full_text, title_type).sort_values(
            ["probability", "genre_id"], ascending=[False, True]
        )
        names = dict(snapshot.cursor.execute("select genre_id, genre_name from genres").fetchall())
        probabilities = [
            GenrePrediction(
                genre_id=row.genre_id,
                genre=names.get(row.genre_id, row.genre_id),
                probability=float(row.probability),
                predicted=bool(row.predicted),
            )  # fmt: skip
            for row in frame.itertuples()
        ]
        body = Prediction(
            model=model.name,
            model_version=model.version,
            snapshot=snapshot.version,
            type=title_type,
            predicted=[p.genre for p in probabilities if p.predicted],
            probabilities=probabilities,
        )
        return Response(body, headers={SNAPSHOT_HEADER: snapshot.version})
