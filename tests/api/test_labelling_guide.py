"""Every borderline example of docs/labelling.md, as a case of the component that decides it.

Risk (§四): county.risk.judge, through the API's routing layer too. First-level category (§三): the
classifier. The cases live in tests/api/labelling_guide.yml, which bench/risk.py also reports on.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from api.county import CountyProfile, load_profile
from api.routing import linkage_flags, risk_judgement
from county.risk import RiskJudge, judge

CASES = yaml.safe_load((Path(__file__).with_name("labelling_guide.yml")).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def profile() -> CountyProfile:
    return load_profile(Path(__file__).resolve().parents[2] / "county" / "jianhu")


def _id(case: dict) -> str:
    return case["text"][:16]


@pytest.mark.parametrize("case", CASES["risk"], ids=_id)
def test_risk_judge_reads_as_an_operator(case: dict) -> None:
    j = judge(case["text"])
    assert set(case.get("partners", [])) <= j.partners, j.reasons
    assert not set(case.get("not", [])) & j.partners, j.reasons
    if "emergency" in case:
        assert j.emergency == case["emergency"], j.reasons
    if "harm" in case:
        assert j.harm is case["harm"], j.reasons


def test_the_api_flags_are_the_judges(profile: CountyProfile) -> None:
    text = "一个男的拿着菜刀追着他老婆砍，快来人"
    assert linkage_flags(text, profile=profile) == ["110"]
    j = risk_judgement(text, profile=profile)
    assert j.emergency == "110" and j.harm and j.needs_person_now
    assert "暴力" in j.reason_for("110") and "菜刀" in j.reason_for("110")


def test_every_reason_names_the_rule_and_the_words() -> None:
    j = judge("我要去北京告状，他再逼我我就跟他同归于尽")
    assert {r.rule for r in j.reasons} >= {"petition_beyond", "revenge"}
    assert all(r.evidence and r.why for r in j.reasons)
    assert j.ordered_partners[:2] == ["110", "政法委"]  # linkage.yml order


def test_a_letter_to_the_secretary_reaches_jiwei_only_through_a_sure_category(profile: CountyProfile) -> None:
    from api.routing import CategoryGuess

    text = "尊敬的书记：某局的科长家里有好几套房子，钱从哪来的"
    unsure = CategoryGuess(level1="纪检监察", confidence=0.4)
    sure = CategoryGuess(level1="纪检监察", confidence=0.9)
    assert "纪委" not in risk_judgement(text, profile=profile, category=unsure).partners
    assert "纪委" in risk_judgement(text, profile=profile, category=sure).partners


def test_bad_rules_are_refused_with_the_reason() -> None:
    base = {"partners": [{"id": "110"}], "guards": {"negation": {"before": "没有$"}}}
    with pytest.raises(ValueError, match="unknown guards"):
        RiskJudge({**base, "signals": [{"id": "x", "why": "w", "partners": ["110"], "match": "打", "unless": ["nope"]}]})
    with pytest.raises(ValueError, match="partners"):
        RiskJudge({**base, "signals": [{"id": "x", "why": "w", "partners": ["外星"], "match": "打"}]})
    with pytest.raises(ValueError, match="bad pattern"):
        RiskJudge({**base, "signals": [{"id": "x", "why": "w", "partners": ["110"], "match": "(打"}]})
    with pytest.raises(ValueError, match="vocabulary"):
        RiskJudge({**base, "signals": [{"id": "x", "why": "w", "partners": ["110"], "match": "{nope}"}]})
