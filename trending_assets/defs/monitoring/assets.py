"""`drift_report`: the latest crawl partition against a reference window, inputs and outputs.

The statistics live in `trending_assets.lib.drift` (own PSI / KS / Jensen-Shannon, no
Evidently: see its docstring). Drift never fails a run: the report says PASS, WARN or
SKIP, and the non-blocking check `drift_is_acceptable` turns a WARN into a warning.
"""

import dagster as dg
from dagster_duckdb import DuckDBResource

from trending_assets.defs.resources import WAREHOUSE_POOL
from trending_assets.lib.drift import build_report, load_inputs, render_figures, sequence_summary
from trending_assets.lib.profiling import png_markdown
from trending_assets.settings import get_settings

CHECK_NAME = "drift_is_acceptable"
UPSTREAM = ("raw/listings", "raw/reviews", "titles", "title_predictions", "llm_enrichments")


class DriftConfig(dg.Config):
    """Reference window length in days; unset: TRENDING_DRIFT_REFERENCE_DAYS (default 7)."""

    reference_days: int | None = None


@dg.asset(
    group_name="monitoring",
    deps=[dg.AssetKey.from_user_string(key) for key in UPSTREAM],
    kinds={"duckdb", "python"},
    pool=WAREHOUSE_POOL,
    check_specs=[
        dg.AssetCheckSpec(
            CHECK_NAME,
            asset="drift_report",
            blocking=False,
            description="No input or output drift between the latest crawl partition and the reference window.",
        )
    ],
)
def drift_report(config: DriftConfig, warehouse: DuckDBResource) -> dg.MaterializeResult:
    """Input drift (plot/review length, vocabulary, source mix) and output drift (predicted
    genres, vibe scores, LLM quarantine rate) of the newest crawl day vs the days before it."""
    reference_days = config.reference_days or get_settings().drift_reference_days
    with warehouse.get_connection() as con:
        inputs = load_inputs(con, reference_days)
    report = build_report(inputs)
    window = (
        f"{inputs.reference_start} .. {inputs.reference_end}" if inputs.reference_start else "none"
    )
    counts = {
        "reference_partitions": len(inputs.reference_partitions),
        **inputs.cohort_sizes,
        **{f"{r.feature}_reference": r.n_reference for r in report.rows if r.statistic != "ks"},
        **{f"{r.feature}_current": r.n_current for r in report.rows if r.statistic != "ks"},
    }
    metadata = {
        "status": report.status,
        "summary": report.summary(),
        "warnings": dg.MetadataValue.json(report.warnings),
        "latest_partition": str(inputs.latest_partition or "none"),
        "reference_window": window,
        "reference_days": reference_days,
        "output_reference": inputs.output_reference,
        "metrics": dg.MetadataValue.md(f"**{report.summary()}**\n\n{report.markdown()}"),
        "counts": dg.MetadataValue.json(counts),
        "distributions": dg.MetadataValue.json(
            {
                name: {
                    "reference": sequence_summary(getattr(inputs, name).reference),
                    "current": sequence_summary(getattr(inputs, name).current),
                }
                for name in ("plot_words", "review_words", "vibe_scores")
            }
        ),
        **{
            f"chart_{name}": dg.MetadataValue.md(png_markdown(png, name))
            for name, png in render_figures(report).items()
        },
    }
    if report.status == "SKIP":
        # Nothing compared (the first crawl day, or too little data): say so, rather than a table
        # of zero statistics and empty charts that read like "no drift".
        reason = (inputs.reason or "every comparison had too little data").removeprefix(
            "no reference: "
        )
        metadata = {
            "status": report.status,
            "summary": f"no reference window yet: {reason}",
            "latest_partition": str(inputs.latest_partition or "none"),
            "reference_window": window,
            "reference_days": reference_days,
            "metrics": dg.MetadataValue.md(
                f"**No reference window yet** ({reason}). Drift is measured once a crawl day "
                f"has earlier days within {reference_days} days to compare with."
            ),
        }
    check = dg.AssetCheckResult(
        check_name=CHECK_NAME,
        passed=report.status != "WARN",
        severity=dg.AssetCheckSeverity.WARN,
        description=report.summary(),
        metadata={
            "status": report.status,
            "warnings": dg.MetadataValue.json(report.warnings),
            "latest_partition": str(inputs.latest_partition or "none"),
        },
    )
    return dg.MaterializeResult(metadata=metadata, check_results=[check])
