import jieba
import pytest

from bot.gazetteer import TOWN, get_gazetteer, load_gazetteer, match_address
from bot.jieba_dict import dictionary_lines, write_user_dictionary


def test_profile_loads_all_towns() -> None:
    gaz = get_gazetteer()
    towns = {p.name for p in gaz.towns}
    for name in ("近湖街道", "钟庄街道", "上冈镇", "建阳镇", "九龙口镇", "蒋营镇", "冈西镇"):
        assert name in towns
    assert any(p.kind != TOWN for p in gaz.places)


@pytest.mark.parametrize(
    ("text", "town", "location"),
    [
        ("我是建阳镇双河村的张先生", "建阳镇", "建阳镇双河村"),
        ("建洋镇双和村", "建阳镇", "建阳镇双河村"),  # ASR homophones
        ("岗东镇卞仓小区", "冈东镇", "冈东镇卞仓小区"),  # alias
        ("高作镇塘河小区3栋2单元", "高作镇", "高作镇塘河小区3栋2单元"),
        ("近湖街道向阳社区五组", "近湖街道", "近湖街道向阳社区五组"),
        ("在钟庄花园12号楼", "钟庄街道", "钟庄街道钟庄花园12号楼"),  # town follows from the estate
        ("宝塔镇塔河路88号", "宝塔镇", "宝塔镇塔河路88号"),
    ],
)
def test_addresses(text: str, town: str, location: str) -> None:
    match = match_address(text)
    assert match.town == town
    assert match.location == location


def test_homophone_text_is_corrected() -> None:
    assert match_address("我们建洋镇的路").corrected_text == "我们建阳镇的路"


def test_vague_places_are_not_addresses() -> None:
    assert not match_address("我们那边的马路").found
    assert match_address("我们村口那条路坏了", strict=True).parts == []


def test_strict_mode_ignores_words_that_only_look_like_places() -> None:
    text = "孩子明年上小学 户口在乡下 能不能在县城上学"
    assert not match_address(text, strict=True).found
    assert match_address("我们幸福小区5栋的路灯坏了", strict=True).location == "幸福小区5栋"


def test_unrelated_sound_alikes_are_not_matched() -> None:
    # "见样" sounds like 建阳 but without the 镇 suffix said there is nothing to anchor it.
    assert not match_address("我见样东西坏了", strict=True).found


def test_user_dictionary_makes_place_names_single_tokens(tmp_path) -> None:
    gaz = load_gazetteer()
    lines = dictionary_lines(gaz)
    assert any(line.startswith("建阳镇 ") for line in lines)
    assert any(line.startswith("双河村 ") for line in lines)
    path = write_user_dictionary(tmp_path)
    jieba.load_userdict(str(path))
    tokens = list(jieba.cut("我家在九龙口镇龙口花园旁边"))
    assert "九龙口镇" in tokens and "龙口花园" in tokens
