import pytest

from bot.screening import mask_id_numbers, screen


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("楼下饭店着火了", "119"),
        ("我闻到很浓的煤气味", "119"),
        ("路口车祸有人受伤了", "120"),
        ("外面有人持刀打架", "110"),
    ],
)
def test_emergencies_get_the_right_number(text: str, number: str) -> None:
    result = screen(text)
    assert result.emergency_advice and number in result.emergency_advice[0]


@pytest.mark.parametrize("text", ["老板欠薪不给，我真的不想活了", "明天我们几十个人去政府门口拉横幅"])
def test_risk(text: str) -> None:
    assert screen(text).risk


def test_ordinary_matters_are_not_flagged() -> None:
    result = screen("小区路灯坏了一个月了")
    assert result.emergency_advice == () and not result.risk


def test_id_numbers_are_masked() -> None:
    assert (
        mask_id_numbers("身份证号320925199001011234，电话13812345678") == "身份证号3209**********1234，电话13812345678"
    )
    assert mask_id_numbers("32092519900101123X") == "3209**********123X"
