"""TRENDING_ENSEMBLE_MEMBERS: which registered models the pipeline's ensemble averages."""

import pydantic
import pytest

from trending_assets.settings import TrendingSettings, output_fingerprint


def test_members_are_read_from_a_comma_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRENDING_ENSEMBLE_MEMBERS", raising=False)
    assert TrendingSettings().ensemble_members == ["logreg", "xgboost"]
    monkeypatch.setenv("TRENDING_ENSEMBLE_MEMBERS", " logreg, bert ")
    assert TrendingSettings().ensemble_members == ["logreg", "bert"]


@pytest.mark.parametrize("value", ["logreg,gpt", ""])
def test_an_unknown_or_empty_member_list_is_refused(monkeypatch, value: str) -> None:
    monkeypatch.setenv("TRENDING_ENSEMBLE_MEMBERS", value)
    with pytest.raises(pydantic.ValidationError, match="ensemble_members"):
        TrendingSettings()


def test_the_members_change_the_outputs_fingerprint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRENDING_ENSEMBLE_MEMBERS", raising=False)
    default = output_fingerprint(TrendingSettings())
    monkeypatch.setenv("TRENDING_ENSEMBLE_MEMBERS", "logreg,xgboost,bert")
    assert output_fingerprint(TrendingSettings()) != default
