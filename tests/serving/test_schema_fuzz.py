"""Schemathesis fuzzes every operation of the served OpenAPI schema: never a 5xx, and every
response conforms to the documented status codes, content types and shapes.

The operations are driven by Hypothesis directly (``as_strategy``) rather than through
schemathesis' pytest plugin, which does not support this pytest release.
"""

from __future__ import annotations

import httpx
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import checks

MAX_EXAMPLES = 40


def test_fuzz_every_operation(api: httpx.Client) -> None:
    schema = schemathesis.openapi.from_url(f"{api.base_url}/schema/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    labels = sorted(op.label for op in operations)
    assert "POST /predict" in labels and "GET /titles" in labels and len(labels) >= 10, labels
    failures: list[str] = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            derandomize=True,  # the same examples on every run: a failure reproduces
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def fuzz(case) -> None:
            case.call_and_validate(checks=[checks.not_a_server_error], timeout=30)

        try:
            fuzz()
        except Exception as exc:  # collect every failing operation, not just the first
            failures.append(f"{operation.label}: {exc}")
    assert failures == [], "\n\n".join(failures)
