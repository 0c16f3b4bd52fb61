"""Every error leaves the API as ``application/problem+json`` (RFC 9457) with a clear detail."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException

from serving.schemas import InvalidParam, ProblemDetail

logger = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"


def problem_response(
    request: Request[Any, Any, Any],
    status: int,
    detail: str,
    *,
    invalid_params: list[InvalidParam] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[ProblemDetail]:
    body = ProblemDetail(
        title=HTTPStatus(status).phrase,
        status=status,
        detail=detail,
        instance=request.url.path,
        invalid_params=invalid_params or None,
    )
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _invalid_params(extra: Any) -> list[InvalidParam]:
    """Litestar's validation errors come as [{"message", "key", "source"}, ...]."""
    if isinstance(extra, dict):
        extra = [extra]
    params: list[InvalidParam] = []
    for item in extra or []:
        if isinstance(item, dict) and "message" in item:
            params.append(
                InvalidParam(
                    key=item.get("key"),
                    source=_source_name(item.get("source")),
                    message=str(item["message"]),
                )
            )
    return params


def _source_name(source: Any) -> str | None:
    """``ParamType.QUERY`` -> ``query``."""
    if source is None:
        return None
    return str(getattr(source, "value", source))


def http_exception_handler(
    request: Request[Any, Any, Any], exc: HTTPException
) -> Response[ProblemDetail]:
    invalid = _invalid_params(exc.extra) if isinstance(exc, ValidationException) else []
    detail = exc.detail
    if invalid and detail.startswith("Validation failed for"):
        # "Validation failed for GET /titles" says nothing useful; name the parameters.
        detail = "; ".join(
            f"{p.source or 'parameter'} parameter '{p.key}': {p.message}" if p.key else p.message
            for p in invalid
        )
    return problem_response(
        request, exc.status_code, detail, invalid_params=invalid, headers=exc.headers
    )


def internal_error_handler(
    request: Request[Any, Any, Any], exc: Exception
) -> Response[ProblemDetail]:
    logger.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem_response(request, 500, "The server hit an unexpected error; it has been logged.")
