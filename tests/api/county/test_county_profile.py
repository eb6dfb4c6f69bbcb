"""The county profile loader: the real Jianhu profile loads, and broken profiles are refused."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from api.county import CountyProfile, ProfileError, load_profile

ROOT = Path(__file__).resolve().parents[3]
JIANHU = ROOT / "county" / "jianhu"


@pytest.fixture(scope="module")
def profile() -> CountyProfile:
    return load_profile(JIANHU)


def test_real_profile_loads_with_every_town_and_department(profile: CountyProfile) -> None:
    towns = profile.gazetteer.towns
    names = {t.name for t in towns}
    assert {"近湖街道", "钟庄街道", "上冈镇", "九龙口镇", "蒋营镇", "建阳镇"} <= names
    assert all(len(t.villages) >= 6 for t in towns)
    # every town has its 属地 unit, so place rules can always add one
    assert all(profile.town_department(t.id) is not None for t in towns)
    assert profile.department("rqgs").kind == "公共企业"
    assert profile.leader_of("gaj").title.endswith("公安局局长")
    assert len(profile.faq.faqs) >= 60


def test_matrix_covers_all_fifteen_first_level_categories(profile: CountyProfile) -> None:
    assert len(profile.taxonomy.level1) == 15
    fallback = {e.level1 for e in profile.routing.matrix if e.depth == 1}
    assert fallback == set(profile.taxonomy.level1)


def test_sla_and_lookups(profile: CountyProfile) -> None:
    assert profile.sla.deadline("complaint", "普通").complete_days == 5
    assert profile.sla.deadline("consultation", "特急").reply_days <= 1
    assert profile.sla.urgencies["特急"].sign_in_hours < profile.sla.urgencies["普通"].sign_in_hours
    town, name = profile.find_town_in_text("我住在上冈镇陈堡村三组")
    assert town.id == "shanggang" and name in ("陈堡村", "上冈镇")
    assert profile.town("九龙口").id == "jiulongkou"
    assert profile.grid_in_text("庆丰镇丰收村的路") == "JH-QF-02"
    assert profile.find_town_in_text("今天天气不错") is None


# ---- broken profiles --------------------------------------------------------------------------


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    """A writable copy of the real profile to break one thing at a time."""
    dest = tmp_path / "county"
    shutil.copytree(JIANHU, dest)
    return dest


def _edit(folder: Path, name: str, change) -> None:
    path = folder / name
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def _problems(folder: Path) -> str:
    with pytest.raises(ProfileError) as err:
        load_profile(folder)
    return "\n".join(err.value.problems)


def test_unknown_department_in_matrix_is_refused(broken: Path) -> None:
    _edit(broken, "routing.yml", lambda d: d["matrix"][0].update(lead="no_such_bureau"))
    assert "unknown department id 'no_such_bureau'" in _problems(broken)


def test_unknown_co_department_in_keyword_rule_is_refused(broken: Path) -> None:
    _edit(broken, "routing.yml", lambda d: d["keyword_rules"][0].update(co=["ghost"]))
    assert "keyword_rules 'gas': unknown department id 'ghost'" in _problems(broken)


def test_duplicate_department_name_is_refused(broken: Path) -> None:
    def dup(d: dict) -> None:
        d["departments"][1]["name"] = d["departments"][0]["name"]

    _edit(broken, "departments.yml", dup)
    assert "departments.yml: name: duplicate 建湖县住房和城乡建设局" in _problems(broken)


def test_category_missing_from_taxonomy_is_refused(broken: Path) -> None:
    _edit(
        broken, "routing.yml", lambda d: d["matrix"].append({"level1": "城乡建设", "level2": "飞行汽车", "lead": "zjj"})
    )
    assert "category '城乡建设/飞行汽车' is not in the taxonomy" in _problems(broken)


def test_linkage_category_missing_from_taxonomy_is_refused(broken: Path) -> None:
    _edit(broken, "linkage.yml", lambda d: d["partners"][0].setdefault("categories", []).append({"level1": "外星事务"}))
    assert "linkage.yml: partner '110': category '外星事务' is not in the taxonomy" in _problems(broken)


def test_unknown_leader_and_town_are_refused(broken: Path) -> None:
    def change(d: dict) -> None:
        d["departments"][0]["leader"] = "nobody"
        next(x for x in d["departments"] if x["kind"] == "属地")["town"] = "atlantis"

    _edit(broken, "departments.yml", change)
    problems = _problems(broken)
    assert "unknown leader 'nobody'" in problems
    assert "needs a gazetteer town id, got 'atlantis'" in problems
    assert "no 属地 unit for town 'jinhu'" in problems  # the town that lost its unit


def test_duplicate_village_grid_is_refused(broken: Path) -> None:
    def change(d: dict) -> None:
        d["towns"][1]["villages"][0]["grid"] = d["towns"][0]["villages"][0]["grid"]

    _edit(broken, "gazetteer.yml", change)
    assert "gazetteer.yml: grid id: duplicate JH-JHJD-01" in _problems(broken)


def test_typoed_key_is_refused(broken: Path) -> None:
    _edit(broken, "gazetteer.yml", lambda d: d["towns"][2].update(villagez=[]))
    problems = _problems(broken)
    assert "villagez" in problems and "Extra inputs are not permitted" in problems


def test_bad_sla_table_is_refused(broken: Path) -> None:
    _edit(broken, "sla.yml", lambda d: d["deadlines"]["complaint"].pop("特急"))
    assert "deadlines.complaint missing urgencies" in _problems(broken)


def test_missing_file_and_bad_yaml_are_reported_together(broken: Path) -> None:
    (broken / "faq.yml").unlink()
    (broken / "leaders.yml").write_text("leaders: [unclosed\n", encoding="utf-8")
    problems = _problems(broken)
    assert "faq.yml: file missing" in problems
    assert "leaders.yml: not valid YAML" in problems
