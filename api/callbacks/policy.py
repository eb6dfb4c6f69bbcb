"""When the bot may call a citizen back: windows, rest days, deadline, attempts and back-off.

Everything here is a pure function of (moment, policy, calendar) so the rules can be tested at
window edges and across holidays without a clock. Times are aware datetimes; windows are read in
the county's local time (Asia/Shanghai by default).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from api.core.settings import CallbackSettings, get_settings
from api.tickets.deadlines import is_workday as cn_is_workday

Calendar = Callable[[date], bool]  # True on working days (chinese_calendar: holidays and 调休)


class ConfidentialMode(StrEnum):
    manual = "manual"  # 保密件不由机器人回访：留给工作人员人工回访
    no_summary = "no_summary"  # 机器人回访，但全程不说诉求内容，只说受理日期
    normal = "normal"  # 与普通工单相同


class Outcome(StrEnum):
    """How one attempt ended (the worker or the chat follow-up reports one of these)."""

    completed = "completed"  # rated (满意/基本满意/不满意)
    unrated = "unrated"  # answered and confirmed, but no usable rating (hung up, no response to the rating)
    no_answer = "no_answer"  # rang out / 408 / 480
    busy = "busy"  # 486 / 600
    failed = "failed"  # network, 5xx, gateway error
    voicemail = "voicemail"  # 语音信箱、彩铃提示
    wrong_person = "wrong_person"  # 不是本人 / 打错了
    reschedule = "reschedule"  # 现在不方便
    refused = "refused"  # 不要再打了: also recorded as do-not-call
    hung_up = "hung_up"  # hung up before confirming who they are
    manual = "manual"  # staff recorded the citizen's rating on the ticket themselves (人工回访)


# Outcomes after which another attempt is worth making (within max_attempts).
RETRYABLE = frozenset({Outcome.no_answer, Outcome.busy, Outcome.failed, Outcome.voicemail,
                       Outcome.reschedule, Outcome.hung_up, Outcome.unrated})
OUTCOME_LABELS = {
    Outcome.completed: "完成回访", Outcome.unrated: "未评价", Outcome.no_answer: "无人接听", Outcome.busy: "占线",
    Outcome.failed: "呼叫失败", Outcome.voicemail: "语音信箱", Outcome.wrong_person: "非本人",
    Outcome.reschedule: "不方便，约稍后", Outcome.refused: "拒绝回访", Outcome.hung_up: "接通后挂断",
    Outcome.manual: "人工回访",
}


@dataclass(frozen=True)
class Window:
    start: time
    end: time  # exclusive; time(0, 0) as an end means midnight

    def contains(self, t: time) -> bool:
        end_ok = t < self.end if self.end != time(0, 0) else True
        return self.start <= t and end_ok

    @classmethod
    def parse(cls, text: str) -> Window:
        a, _, b = text.strip().partition("-")
        start, end = _parse_time(a), _parse_time(b)
        if end != time(0, 0) and end <= start:
            raise ValueError(f"回访时段 {text} 的结束时间必须晚于开始时间")
        return cls(start, end)

    def __str__(self) -> str:
        end = "24:00" if self.end == time(0, 0) else self.end.strftime("%H:%M")
        return f"{self.start.strftime('%H:%M')}-{end}"


def _parse_time(text: str) -> time:
    text = text.strip()
    if text in ("24:00", "24"):
        return time(0, 0)
    hour, _, minute = text.partition(":")
    return time(int(hour), int(minute or 0))


@dataclass(frozen=True)
class CallbackPolicy:
    windows: tuple[Window, ...] = (Window(time(9), time(12)), Window(time(14), time(20)))
    call_on_rest_days: bool = False
    within_hours: float = 24.0  # calling-window hours from 待回访 to the deadline
    max_attempts: int = 3
    backoff: tuple[timedelta, ...] = (timedelta(minutes=30), timedelta(hours=2))
    reschedule_after: timedelta = timedelta(hours=1)  # 现在不方便 → call again no sooner than this
    confidential: ConfidentialMode = ConfidentialMode.manual
    timezone: str = "Asia/Shanghai"
    chat_first: bool = True  # chat-originated tickets are asked in the chat first
    chat_wait: timedelta = timedelta(hours=4)  # then a phone call if nobody answered the buttons
    calendar: Calendar = field(default=cn_is_workday, compare=False)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


# ---- calendar and windows -------------------------------------------------------------------

def is_calling_day(day: date, policy: CallbackPolicy) -> bool:
    return policy.call_on_rest_days or policy.calendar(day)


def in_window(moment: datetime, policy: CallbackPolicy) -> bool:
    """May the bot dial at this moment?"""
    local = moment.astimezone(policy.tz)
    return is_calling_day(local.date(), policy) and any(w.contains(local.time()) for w in policy.windows)


def _day_windows(day: date, policy: CallbackPolicy) -> list[tuple[datetime, datetime]]:
    tz = policy.tz
    out = []
    for w in sorted(policy.windows, key=lambda x: x.start):
        start = datetime.combine(day, w.start, tzinfo=tz)
        end = datetime.combine(day + timedelta(days=1) if w.end == time(0, 0) else day, w.end, tzinfo=tz)
        out.append((start, end))
    return out


def next_window_start(moment: datetime, policy: CallbackPolicy, *, horizon_days: int = 60) -> datetime:
    """`moment` itself when calls are allowed now, else the start of the next allowed window."""
    if not policy.windows:
        raise ValueError("没有配置回访时段")
    local = moment.astimezone(policy.tz)
    day = local.date()
    for _ in range(horizon_days):
        if is_calling_day(day, policy):
            for start, end in _day_windows(day, policy):
                if local < end:
                    return max(local, start)
        day += timedelta(days=1)
    raise ValueError(f"{horizon_days}天内没有可以回访的时段，请检查回访时段和节假日设置")


def add_window_hours(start: datetime, hours: float, policy: CallbackPolicy) -> datetime:
    """The moment `hours` of calling-window time have passed after `start` (the callback deadline)."""
    remaining = timedelta(hours=hours)
    cursor = start.astimezone(policy.tz)
    while True:
        cursor = next_window_start(cursor, policy)
        end = next(e for s, e in _day_windows(cursor.date(), policy) if s <= cursor < e)
        available = end - cursor
        if remaining <= available:
            return cursor + remaining
        remaining -= available
        cursor = end


# ---- scheduling decisions -------------------------------------------------------------------

@dataclass(frozen=True)
class Plan:
    """What to do with a ticket that reached 待回访."""

    channel: str | None  # "phone" | "chat" | None (not called: see skip_reason)
    first_attempt_at: datetime | None = None
    due_at: datetime | None = None
    skip_reason: str | None = None


def plan_first(
    *, ready_at: datetime, phone: str | None, conversation_id: str | None, ticket_channel: str,
    confidential: bool, opted_out: bool, policy: CallbackPolicy,
) -> Plan:
    """Decide channel and timing of the first attempt (or why there is none)."""
    if opted_out:
        return Plan(None, skip_reason="群众要求不回访")
    if confidential and policy.confidential == ConfidentialMode.manual:
        return Plan(None, skip_reason="保密件，按县里规定由工作人员人工回访")
    chat = policy.chat_first and ticket_channel == "chat" and bool(conversation_id)
    if not chat and not phone:
        return Plan(None, skip_reason="没有联系电话，无法回访")
    first = next_window_start(ready_at, policy)
    return Plan("chat" if chat else "phone", first_attempt_at=first,
                due_at=add_window_hours(ready_at, policy.within_hours, policy))


def retry_at(*, attempt_no: int, outcome: Outcome, ended_at: datetime, policy: CallbackPolicy) -> datetime | None:
    """When to try again after attempt `attempt_no` (1-based) ended with `outcome`; None = stop."""
    if outcome not in RETRYABLE or attempt_no >= policy.max_attempts:
        return None
    if outcome == Outcome.reschedule:
        delay = policy.reschedule_after
    elif policy.backoff:
        delay = policy.backoff[min(attempt_no - 1, len(policy.backoff) - 1)]
    else:
        delay = timedelta(0)
    return next_window_start(ended_at + delay, policy)


def valid_for_rate(rating: str | None) -> bool:
    """有效回访: the citizen gave one of the three ratings."""
    return rating in ("满意", "基本满意", "不满意")


def satisfaction_rate(satisfied: int, basically: int, dissatisfied: int) -> float | None:
    """满意率 = (满意 + 基本满意) / 有效回访数, 有效回访数 = 满意 + 基本满意 + 不满意."""
    valid = satisfied + basically + dissatisfied
    return None if valid == 0 else (satisfied + basically) / valid


# ---- from the settings ---------------------------------------------------------------------------

def policy_from(settings: CallbackSettings, timezone: str) -> CallbackPolicy:
    """The policy the county chose (MINSHENG_CALLBACK_*, api.core.settings.CallbackSettings)."""
    return CallbackPolicy(
        windows=tuple(Window.parse(p) for p in settings.windows.split(",") if p.strip()),
        call_on_rest_days=settings.call_on_rest_days,
        within_hours=settings.within_hours,
        max_attempts=settings.max_attempts,
        backoff=tuple(timedelta(minutes=float(m)) for m in settings.backoff_minutes.split(",") if m.strip()),
        reschedule_after=timedelta(minutes=settings.reschedule_minutes),
        confidential=ConfidentialMode(settings.confidential),
        timezone=timezone,
        chat_first=settings.chat_first,
        chat_wait=timedelta(minutes=settings.chat_wait_minutes),
    )


def current_policy() -> CallbackPolicy:
    settings = get_settings()
    return policy_from(settings.callbacks, settings.timezone)
