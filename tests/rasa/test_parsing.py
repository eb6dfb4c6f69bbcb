import pytest

from bot.parsing import (
    answer_confidential,
    clean_description,
    correction_target,
    demand_type_from_text,
    extract_anonymous,
    extract_confidential,
    extract_name,
    extract_time,
    has_substance,
    is_gibberish,
    is_unknown,
)

FULL = "我是建阳镇双河村的张先生，我们村口那条路坏了好几个月了，电话13812345678，不用保密"


def test_everything_in_one_message() -> None:
    assert extract_name(FULL) == "张先生"
    assert extract_confidential(FULL) is False
    assert extract_time(FULL) == "好几个月了"
    assert clean_description(FULL) == "我们村口那条路坏了好几个月了"


@pytest.mark.parametrize(
    ("text", "asked", "name"),
    [
        ("我姓王", False, "王"),
        ("免贵姓欧阳", False, "欧阳"),
        ("李女士", True, "李女士"),
        ("叫我小李就行", False, "小李"),
        ("我是老王", False, "老王"),
        ("王小明", True, "王小明"),
        ("王小明", False, None),
        ("我是住在这里的居民", False, None),
        ("我是建阳镇的", False, None),
    ],
)
def test_names(text: str, asked: bool, name: str | None) -> None:
    assert extract_name(text, asked=asked) == name


@pytest.mark.parametrize("text", ["匿名", "我不想留名字", "名字就不说了", "不方便透露姓名", "不留姓名"])
def test_anonymous(text: str) -> None:
    assert extract_anonymous(text)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("需要保密", True),
        ("要保密", True),
        ("不用保密", False),
        ("不需要保密", False),
        ("怕被报复", True),
        ("需要", True),
        ("不用", False),
        ("无所谓", False),
        ("嗯？", None),
    ],
)
def test_confidential_answers(text: str, value: bool | None) -> None:
    assert answer_confidential(text) is value


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("昨天晚上八点多他们又在放", "昨天晚上八点多"),
        ("上周三", "上周三"),
        ("都三天了", "都三天了"),
        ("快一个月了", "快一个月了"),
        ("从上个月20号开始", "上个月20号"),
        ("前天下午", "前天下午"),
        ("路灯坏了", None),
    ],
)
def test_time_phrases(text: str, phrase: str | None) -> None:
    assert extract_time(text) == phrase


@pytest.mark.parametrize("text", ["不清楚", "记不得了", "我也不知道", "忘了"])
def test_unknown(text: str) -> None:
    assert is_unknown(text)


def test_demand_leads_are_not_a_description() -> None:
    assert not has_substance("我要投诉")
    assert not has_substance("你好我想反映个问题")
    assert has_substance("我要投诉我们小区物业乱收费")
    assert clean_description("你好，我要投诉，我们小区物业乱收费") == "我们小区物业乱收费"


def test_description_punctuation_back_to_chinese() -> None:
    assert clean_description("路灯坏了,晚上很黑") == "路灯坏了，晚上很黑"


@pytest.mark.parametrize(
    ("text", "target"),
    [
        ("地址说错了，是建阳镇的", "location"),
        ("电话错了是13912345678", "phone"),
        ("名字写错了", "citizen_name"),
        ("时间不对", "incident_time"),
        ("不是投诉，是建议", "demand_type"),
        ("我要修改", None),
    ],
)
def test_correction_targets(text: str, target: str | None) -> None:
    assert correction_target(text) == target


def test_demand_type_from_text_skips_negated() -> None:
    assert demand_type_from_text("不是投诉，是建议") == "suggestion"


@pytest.mark.parametrize(
    ("text", "gibberish"),
    [
        ("asdfghjkl", True),
        ("？？？", True),
        ("😀😀", True),
        ("啊啊啊啊啊", True),
        ("ok", False),
        ("路灯坏了", False),
        ("138", False),
    ],
)
def test_gibberish(text: str, gibberish: bool) -> None:
    assert is_gibberish(text) is gibberish


@pytest.mark.parametrize("text", ["我有个建议", "请你们帮帮忙", "能不能帮帮我", "给你们提点意见", "有个事情想反映"])
def test_openers_without_a_matter(text: str) -> None:
    assert not has_substance(text)


@pytest.mark.parametrize("text", ["河里有死鱼", "马路上有个大坑", "能不能帮我找一下我家老人"])
def test_short_matters(text: str) -> None:
    assert has_substance(text)
