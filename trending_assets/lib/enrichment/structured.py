"""Structured output for the ``openai`` provider: the format the answer is asked in, and
whether what came back is an ``Enrichment``.

``response_format`` builds the strict ``json_schema`` request (or the ``json_object``
fallback for endpoints without structured outputs; the schema is in the system prompt
either way); ``answer_content`` takes the answer's text out of a chat completion (a refusal
is kept, marked, so it reaches the quarantine); ``validate_answer`` parses that text (a
Markdown code fence around it is tolerated) and validates it against ``Enrichment``,
returning the reason in words when it is not one: the provider re-asks with that reason and
finally quarantines the title with it. No network and no client state here.
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal

from pydantic import ValidationError

from trending_assets.lib.enrichment.schema import Enrichment, enrichment_json_schema

Format = Literal["json_schema", "json_object"]

_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.DOTALL)


def response_format(fmt: Format) -> dict[str, Any]:
    """The ``response_format`` of a request: strict ``json_schema``, or ``json_object``."""
    if fmt == "json_schema":
        return {
            "type": "json_schema",
            "json_schema": {
                "name": "title_enrichment",
                "schema": enrichment_json_schema(),
                "strict": True,
            },
        }
    return {"type": "json_object"}


def answer_content(response: Any) -> str | None:
    """The answer's text; a refusal is kept (marked) so it reaches the quarantine."""
    if not response.choices:
        return None
    message = response.choices[0].message
    if message.content:
        return message.content
    refusal = getattr(message, "refusal", None)
    return f"[refusal] {refusal}" if refusal else None


def extract_json(content: str) -> Any:
    """``json.loads`` of the answer, tolerating a Markdown code fence around it."""
    fenced = _FENCE.match(content)
    return json.loads(fenced.group(1) if fenced else content)


def validate_answer(content: str | None) -> tuple[Enrichment | None, str | None]:
    """(enrichment, None) for a valid answer, (None, reason) otherwise."""
    if content is None or not content.strip():
        return None, "empty answer"
    try:
        data = extract_json(content)
    except json.JSONDecodeError as exc:
        return None, f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
    if not isinstance(data, dict):
        return None, f"invalid JSON: expected an object, got {type(data).__name__}"
    try:
        return Enrichment.model_validate(data), None
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'answer'}: {err['msg']}"
            for err in exc.errors(include_url=False)[:5]
        )
        return None, f"schema-invalid: {problems}"
