"""Beijing dates: parsing the API's YYYY-MM-DD, day bounds in UTC, previous period and 往年同期, buckets."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from api.core.settings import get_settings

MAX_DAYS = 366 * 6  # five years of history and a margin; longer ranges are a mistake, not a question
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
QUARTERS = "一二三四"


class PeriodError(ValueError):
    """A date range the API refuses (the message is the reason, in Mandarin)."""


def county_tz() -> ZoneInfo:
    return ZoneInfo(get_settings().timezone)


def parse_day(value: str | None, name: str) -> date:
    if not value:
        raise PeriodError(f"缺少 {name}：请按 YYYY-MM-DD 填写北京时间的日期。")
    if not _DATE.match(value.strip()):
        raise PeriodError(f"{name} 格式不对（{value[:20]}）：请按 YYYY-MM-DD 填写，例如 2026-11-30。")
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise PeriodError(f"{name} 不是有效日期（{value[:20]}）。") from None


@dataclass(frozen=True)
class Period:
    start: date  # inclusive, Beijing date
    end: date  # inclusive

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def bounds(self) -> tuple[datetime, datetime]:
        """[start 00:00, day after end 00:00) Beijing time, as UTC datetimes for the query."""
        tz = county_tz()
        return (datetime.combine(self.start, time(0), tzinfo=tz).astimezone(UTC),
                datetime.combine(self.end + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC))

    def previous(self) -> Period:
        """The period of equal length just before (环比)."""
        return Period(self.start - timedelta(days=self.days), self.start - timedelta(days=1))

    def years_back(self, years: int = 1) -> Period:
        """The same dates `years` earlier (同比, 往年同期); 2月29日 becomes 2月28日."""
        return Period(_shift_year(self.start, -years), _shift_year(self.end, -years))

    def as_dict(self) -> dict[str, str]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat()}


def _shift_year(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def parse_period(start: str | None, end: str | None) -> Period:
    first, last = parse_day(start, "start"), parse_day(end, "end")
    if last < first:
        raise PeriodError(f"结束日期 {last} 早于开始日期 {first}。")
    if (last - first).days + 1 > MAX_DAYS:
        raise PeriodError(f"统计区间最长{MAX_DAYS}天，请缩小区间。")
    return Period(first, last)


def local_day(moment: datetime) -> date:
    return moment.astimezone(county_tz()).date()


def bucket(day: date, unit: str) -> tuple[str, str]:
    """(sortable key, Mandarin label) of the 日/周/月/季度 a Beijing day falls in."""
    if unit == "day":
        return day.isoformat(), f"{day.month}月{day.day}日"
    if unit == "week":
        monday = day - timedelta(days=day.weekday())
        iso = monday.isocalendar()
        return monday.isoformat(), f"{iso.year}年第{iso.week}周"
    if unit == "month":
        return f"{day.year}-{day.month:02d}", f"{day.year}年{day.month}月"
    if unit == "quarter":
        q = (day.month - 1) // 3
        return f"{day.year}-Q{q + 1}", f"{day.year}年第{QUARTERS[q]}季度"
    raise ValueError(unit)


def utc_offset_hours() -> float:
    """The county's UTC offset (China has no summer time: +8 all year)."""
    offset = datetime.now(county_tz()).utcoffset() or timedelta(0)
    return offset.total_seconds() / 3600
