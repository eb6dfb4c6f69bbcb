"""Chinese post-processing: spoken numbers and place names (homophones included)."""

from __future__ import annotations

from pathlib import Path

import pytest

from telephony.gazetteer import Gazetteer
from telephony.hub import Button
from telephony.textnorm import cjk_join, normalize_numbers, parse_unit_number
from telephony.turns import match_button, phrases_for

GAZETTEER = Path(__file__).resolve().parents[2] / "county" / "jianhu" / "gazetteer.yml"


@pytest.mark.parametrize(("said", "expected"), [
    ("幺三八 零五一五 二三四五", "13805152345"),
    ("我的电话是幺三八洞五幺五拐勾八八", "我的电话是13805157988"),
    ("一 三 八 零 五 一 五", "1380515"),
    ("门口堆了两百多袋垃圾", "门口堆了200多袋垃圾"),
    ("罚了三千五", "罚了3500"),
    ("一万二", "12000"),
    ("二十三栋一百零五室", "23栋105室"),
    ("一千零一", "1001"),
    ("十二楼", "12楼"),
    ("水深三点五米", "水深3.5米"),
    # words that merely contain number characters stay words
    ("我对处理结果十分满意", "我对处理结果十分满意"),
    ("跟上次一样", "跟上次一样"),
    ("千万别再拖了", "千万别再拖了"),
    ("一心一意为人民服务", "一心一意为人民服务"),
    ("有一点吵", "有一点吵"),
    ("三楼", "三楼"),
])
def test_spoken_numbers(said: str, expected: str) -> None:
    assert normalize_numbers(said) == expected


def test_unit_number_values() -> None:
    assert parse_unit_number("两百") == 200
    assert parse_unit_number("三千五") == 3500
    assert parse_unit_number("一百一十五") == 115
    assert parse_unit_number("两万零三百") == 20300
    assert parse_unit_number("三五") is None


def test_cjk_join_removes_vosk_word_spaces_only_between_cjk() -> None:
    assert cjk_join("我 住 在 上冈镇 ") == "我住在上冈镇"
    assert cjk_join("路灯 坏了 3 天") == "路灯坏了3天"
    assert cjk_join("JH 工单") == "JH 工单"


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    return Gazetteer.load(GAZETTEER)


def test_gazetteer_exact_and_homophones(gazetteer: Gazetteer) -> None:
    text, matches = gazetteer.correct("我住在上岗镇")  # 岗 for 冈: same sound, wrong character
    assert text == "我住在上冈镇"
    assert matches[0].place.kind == "town" and not matches[0].exact

    text, matches = gazetteer.correct("中庄那边路灯坏了")  # alias 钟庄 heard as 中庄
    assert text == "钟庄那边路灯坏了" and matches[0].place.name == "钟庄街道"

    text, matches = gazetteer.correct("秀夫社区门口")
    assert matches[0].exact and matches[0].place.kind == "village" and matches[0].place.grid

    text, _ = gazetteer.correct("近湖街到")  # 到 for 道
    assert text == "近湖街道"


def test_gazetteer_jianghuai_fuzzy_sounds(gazetteer: Gazetteer) -> None:
    # Jianhu speakers merge zh/z, n/l and -ng/-n; names of 3+ characters still match
    text, matches = gazetteer.correct("宗庄街道")  # zong for zhong
    assert text == "钟庄街道" and not matches[0].exact
    text, _ = gazetteer.correct("钟庄隆贸市场在哪")  # long for nong
    assert text == "钟庄农贸市场在哪"
    text, _ = gazetteer.correct("双湖公圆旁边")  # plain homophone: 圆 = 园
    assert text == "双湖公园旁边"
    # two-character names need the exact sound: no fuzzy guesses on short words
    assert gazetteer.correct("总装")[1] == []


def test_gazetteer_leaves_ordinary_text_alone(gazetteer: Gazetteer) -> None:
    for text in ("今天天气不错", "我要投诉噪音", "谢谢你们"):
        assert gazetteer.correct(text) == (text, [])


def test_button_matching() -> None:
    yes_no = [Button("是", "/affirm"), Button("不是", "/deny")]
    assert match_button("对的", yes_no).payload == "/affirm"  # type: ignore[union-attr]
    assert match_button("不是", yes_no).payload == "/deny"  # type: ignore[union-attr]
    assert match_button("2", yes_no).payload == "/deny"  # type: ignore[union-attr]
    sat = [Button("满意", "/s3"), Button("基本满意", "/s2"), Button("不满意", "/s1")]
    assert match_button("基本满意吧", sat).payload == "/s2"  # type: ignore[union-attr]
    assert match_button("我不满意", sat).payload == "/s1"  # type: ignore[union-attr]
    assert match_button("路灯坏了", sat) is None
    assert "对的" in phrases_for(yes_no) and "基本满意" in phrases_for(sat)
