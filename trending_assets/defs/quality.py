"""One factory turning a pandera model into a blocking Dagster asset check on a warehouse table."""

from __future__ import annotations

import dagster as dg
import pandera.pandas as pa
from dagster_duckdb import DuckDBResource

from trending_assets.defs.resources import WAREHOUSE_POOL
from trending_assets.lib.validation import validate_frame

MAX_FAILURES_SHOWN = 20

# The pandera model each checked asset's table must satisfy, filled as the checks are
# built: the platform policy (trending_assets/definitions.py) shows it as the asset's
# column schema in the catalog.
TABLE_MODELS: dict[dg.AssetKey, type[pa.DataFrameModel]] = {}


def column_schema(model: type[pa.DataFrameModel]) -> dg.TableSchema:
    """The catalog's column schema of a pandera model: names, types, nullability, checks."""
    columns = []
    for name, column in model.to_schema().columns.items():
        checks = ", ".join(str(check) for check in column.checks)
        columns.append(
            dg.TableColumn(
                name=str(name),
                type=str(column.dtype),
                description=column.description or (f"checks: {checks}" if checks else None),
                constraints=dg.TableColumnConstraints(
                    nullable=bool(column.nullable), unique=bool(column.unique)
                ),
            )
        )
    return dg.TableSchema(columns=columns)


def pandera_table_check(
    *,
    asset_key: dg.AssetKey,
    table: str,
    model: type[pa.DataFrameModel],
) -> dg.AssetChecksDefinition:
    """A blocking check that validates the stored ``table`` against ``model``.

    Blocking: in the same run, nothing downstream of ``asset_key`` materialises while
    the check fails. The failure cases (column, check, value, row) come back as metadata.
    """
    TABLE_MODELS.setdefault(asset_key, model)

    @dg.asset_check(
        asset=asset_key,
        name=f"{table.replace('.', '_')}_matches_{model.__name__}",
        description=f"pandera: `{table}` satisfies {model.__name__} ({(model.__doc__ or '').strip()})",
        blocking=True,
        pool=WAREHOUSE_POOL,
    )
    def _check(warehouse: DuckDBResource) -> dg.AssetCheckResult:
        with warehouse.get_connection() as con:
            frame = con.execute(f"select * from {table}").df()
        try:
            validate_frame(frame, model)
        except pa.errors.SchemaErrors as errors:
            cases = errors.failure_cases
            shown = cases.head(MAX_FAILURES_SHOWN)[["column", "check", "failure_case", "index"]]
            return dg.AssetCheckResult(
                passed=False,
                severity=dg.AssetCheckSeverity.ERROR,
                metadata={
                    "rows": len(frame),
                    "failure_cases": len(cases),
                    "failing_rows": int(cases["index"].nunique()),
                    "sample": dg.MetadataValue.md(shown.astype(str).to_markdown(index=False)),
                },
            )
        return dg.AssetCheckResult(passed=True, metadata={"rows": len(frame)})

    return _check
