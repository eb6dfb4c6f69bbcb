import pytest

from bot.numbers import chinese_to_int, normalize_digits, parse_phone, phone_for_speech, remove_phone_numbers


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("13812345678", "13812345678"),
        ("电话13812345678谢谢", "13812345678"),
        ("138 1234 5678", "13812345678"),
        ("138-1234-5678", "13812345678"),
        ("１３８１２３４５６７８", "13812345678"),
        ("幺三八幺二三四五六七八", "13812345678"),
        ("一三八 一二三四 五六七八", "13812345678"),
        ("幺三八两两三三四四五五", "13822334455"),
        ("幺三八洞洞洞洞拐拐拐拐", "13800007777"),
        ("号码是 139〇五一五一二三四", "13905151234"),
        ("我的手机是幺五八 6123 四五六七", "15861234567"),
        ("+86 138 1234 5678", "13812345678"),
        ("0515-86201234", "0515-86201234"),
        ("座机零五幺五 八六二零 幺二三四", "0515-86201234"),
        ("010-12345678", "010-12345678"),
        ("02587654321", "025-87654321"),
    ],
)
def test_valid_phones_in_every_form(text: str, expected: str) -> None:
    parsed = parse_phone(text)
    assert parsed is not None and parsed.error is None
    assert parsed.value == expected


@pytest.mark.parametrize(
    ("text", "reason_part"),
    [
        ("1381234567", "手机号是11位，您刚才说的是10位"),
        ("138123456789", "您刚才说的是12位"),
        ("12812345678", "第二位应该是3到9"),
        ("电话86201234", "需要带上区号"),
        ("0515-862", "区号加7到8位"),
        ("电话是1234", "4位"),
    ],
)
def test_invalid_phones_come_with_a_reason(text: str, reason_part: str) -> None:
    parsed = parse_phone(text)
    assert parsed is not None and parsed.value is None
    assert reason_part in parsed.error


@pytest.mark.parametrize(
    "text",
    [
        "两个月了还没修",
        "我住3号楼2单元",
        "一下子就坏了",
        "三四天前",
        "工单号JH20261127-0001",
        "2026年11月27日",
        "身份证320925199001011234",
    ],
)
def test_words_and_other_numbers_are_not_phones(text: str) -> None:
    assert parse_phone(text) is None


def test_normalize_digits_keeps_ordinary_words() -> None:
    assert normalize_digits("两个人说了一下") == "两个人说了一下"
    assert normalize_digits("幺三八 幺二三四") == "138 1234"


def test_first_valid_phone_wins_over_an_earlier_bad_one() -> None:
    parsed = parse_phone("刚才说错了 1381234 应该是13912345678")
    assert parsed is not None and parsed.value == "13912345678"


def test_speech_grouping_and_removal() -> None:
    assert phone_for_speech("13812345678") == "138 1234 5678"
    assert phone_for_speech("0515-86201234") == "0515-86201234"
    assert "138" not in remove_phone_numbers("路灯坏了，电话13812345678")


@pytest.mark.parametrize(
    ("text", "value"), [("三", 3), ("十", 10), ("十二", 12), ("二十三", 23), ("12", 12), ("几", None)]
)
def test_chinese_to_int(text: str, value: int | None) -> None:
    assert chinese_to_int(text) == value
