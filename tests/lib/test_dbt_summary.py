"""One line per dbt invocation, from run_results.json."""

from trending_assets.lib.dbt_summary import summarise_run_results


def result(unique_id: str, status: str, message: str | None = None) -> dict:
    return {"unique_id": unique_id, "status": status, "message": message}


def test_a_clean_build_is_counted_by_kind_and_status() -> None:
    summary = summarise_run_results(
        {
            "elapsed_time": 8.25,
            "results": [
                result("seed.trending_now.genres", "success"),
                result("model.trending_now.titles", "success"),
                result("test.trending_now.not_null_titles_title_id.abc", "pass"),
                result("test.trending_now.accepted_values_x.def", "warn", "Got 2 results"),
            ],
        }
    )
    assert summary.ok
    line = summary.line("dbt build", "/tmp/out.log")
    assert line.startswith(
        "dbt build: 1 seeds, 1 models, 2 tests (pass 1, success 2, warn 1) in 8.2 s"
    )
    assert line.endswith("Full dbt output: /tmp/out.log")
    assert "FAILED" not in line


def test_failures_are_named_with_dbt_message() -> None:
    summary = summarise_run_results(
        {
            "elapsed_time": 1.0,
            "results": [
                result("model.trending_now.titles", "error", "Binder Error:\n  column x not found"),
                result("test.trending_now.unique_titles_title_id.1", "fail", "Got 3 results"),
                result("model.trending_now.reviews", "skipped"),
            ],
        }
    )
    assert not summary.ok
    line = summary.line()
    assert "FAILED: model titles: error (Binder Error: column x not found)" in line
    assert "test unique_titles_title_id.1: fail (Got 3 results)" in line
    assert "skipped 1" in line


def test_more_than_five_failures_are_cut_short() -> None:
    summary = summarise_run_results({"results": [result(f"test.p.t{i}", "fail") for i in range(8)]})
    assert summary.line().endswith("; and 3 more")
