from datetime import date

import pytest

from bot.timeparse import incident_date

TODAY = date(2026, 11, 27)  # a Friday


@pytest.mark.parametrize(
    ("phrase", "expected"),
    [
        ("昨天晚上", date(2026, 11, 26)),
        ("前天下午三点多", date(2026, 11, 25)),
        ("今天早上", TODAY),
        ("三天前", date(2026, 11, 24)),
        ("都三天了", date(2026, 11, 24)),
        ("两个礼拜前", date(2026, 11, 13)),
        ("上周三", date(2026, 11, 18)),
        ("这个星期一", date(2026, 11, 23)),
        ("上个礼拜天", date(2026, 11, 22)),
        ("11月20号", date(2026, 11, 20)),
        ("十一月二十日", date(2026, 11, 20)),
        ("2026年10月3日", date(2026, 10, 3)),
        ("12月20号", date(2025, 12, 20)),  # not yet this year: last December
        ("上个月20号", date(2026, 10, 20)),
        ("20号", date(2026, 11, 20)),
        ("30号", date(2026, 10, 30)),  # the 30th is still to come this month
        ("好几个月了", None),
        ("一直这样", None),
        ("不清楚", None),
        ("2月30号", None),
        ("3号楼", None),
        (None, None),
    ],
)
def test_incident_dates(phrase: str | None, expected: date | None) -> None:
    assert incident_date(phrase, TODAY) == expected
