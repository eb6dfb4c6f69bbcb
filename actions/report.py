"""The intake report: from slots to the read-back text, the API payload and its idempotency key.

Pure functions (no Rasa, no HTTP) so they are unit-tested directly (tests/rasa/test_report.py).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from bot.numbers import phone_for_speech
from bot.parsing import COMPOUND_SURNAMES
from bot.safety import alarm_for

DEMAND_TYPES = ("complaint", "consultation", "help_request", "report", "suggestion", "praise")
DEMAND_LABELS = {
    "complaint": "投诉",
    "consultation": "咨询",
    "help_request": "求助",
    "report": "举报",
    "suggestion": "建议",
    "praise": "表扬",
}
# Sentinel slot values: the question was asked and the citizen could not say.
UNKNOWN = "不清楚"
ANONYMOUS = "匿名"
NO_PHONE = "不留"  # an anonymous 举报 without a number
NO_LOCATION = "不涉及具体地点"
NOT_APPLICABLE = "不涉及"  # incident_time of a consultation or suggestion
NO_CORRECTION = "无"  # correction_request when no correction is pending
CHINA_TZ = timezone(timedelta(hours=8))
WEEKDAYS = ("星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日")

REPORT_SLOTS = (
    "demand_type",
    "description",
    "location",
    "location_town",
    "location_detail",
    "incident_time",
    "incident_date",
    "citizen_name",
    "phone",
    "confidential",
)


def known(value: str | None) -> str | None:
    """A slot value for the ticket: sentinels ("不清楚") become None."""
    if value in (None, "", UNKNOWN, ANONYMOUS, NO_LOCATION, NOT_APPLICABLE):
        return None
    return value


def build_payload(slots: Mapping[str, Any], *, conversation_id: str, channel: str) -> dict[str, Any]:
    """The body of POST /api/v1/tickets for a confirmed report."""
    name = slots.get("citizen_name")
    anonymous = name == ANONYMOUS
    location = slots.get("location") or UNKNOWN
    return {
        "conversation_id": conversation_id,
        "channel": "voice" if channel == "voice" else "chat",
        "demand_type": slots.get("demand_type") if slots.get("demand_type") in DEMAND_TYPES else "complaint",
        "description": (slots.get("description") or "").strip(),
        "location": location,
        "location_town": known(slots.get("location_town")),
        "location_detail": known(slots.get("location_detail")),
        "incident_time": known(slots.get("incident_time")),
        "incident_date": slots.get("incident_date") or None,
        "citizen_name": None if anonymous else known(name),
        "anonymous": anonymous,
        "phone": "" if slots.get("phone") == NO_PHONE else (slots.get("phone") or ""),
        "confidential": bool(slots.get("confidential")),
        "urgency": slots.get("urgency") if slots.get("urgency") in ("紧急", "特急") else "普通",
        **({"linkage_requested": [alarm.flag]} if (alarm := alarm_for(slots.get("emergency"))) else {}),
        "notify_conversation": False,
    }


def idempotency_key(payload: Mapping[str, Any]) -> str:
    """Same conversation + same confirmed content -> same key, whatever the delivery attempt.

    `notify_conversation` is excluded: the outbox retry flips it on, and must still replay.
    """
    content = {k: v for k, v in payload.items() if k not in ("notify_conversation",)}
    digest = hashlib.sha256(
        json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")
    ).hexdigest()[:24]
    conv = re.sub(r"[^A-Za-z0-9_.:-]", "_", str(payload.get("conversation_id", "")))[:80]
    return f"rasa-{conv}-{digest}"


def address_citizen(name: str | None) -> str:
    """How the operator addresses the citizen in a sentence."""
    if not name or name in (ANONYMOUS, UNKNOWN):
        return "您"
    return name if re.search(r"(先生|女士|小姐|阿姨|师傅|大爷|大妈|老师|大姐|大哥)$", name) else "您"


def spoken_name(name: str) -> str:
    """ "李" -> "姓李"; "陈先生", "王小明" as said."""
    return "姓" + name if len(name) == 1 or name in COMPOUND_SURNAMES else name


def read_back(slots: Mapping[str, Any]) -> str:
    """ "我跟您核对一下：…" — the whole report in the words an operator would use."""
    dtype = DEMAND_LABELS.get(slots.get("demand_type") or "", "反映")
    lines = [f"我跟您核对一下，您这次是{dtype}："]
    label = {"consultation": "咨询的问题", "suggestion": "建议内容", "praise": "表扬内容"}.get(
        slots.get("demand_type") or "", "事情经过"
    )
    lines.append(f"{label}：{(slots.get('description') or '').strip()}")
    lines.append(f"地点：{slots.get('location') or UNKNOWN}")
    time = slots.get("incident_time")
    if time and time != NOT_APPLICABLE:
        lines.append(f"时间：{time}")
    name = slots.get("citizen_name")
    if name == ANONYMOUS:
        lines.append("称呼：匿名")
    elif name:
        lines.append(f"称呼：{spoken_name(name)}")
    phone = slots.get("phone")
    if phone == NO_PHONE:
        lines.append("联系电话：不留（匿名举报照样核查，只是办理结果没法回复您，可以凭工单号查进度）")
    elif phone:
        lines.append(f"联系电话：{phone_for_speech(phone)}")
    lines.append("个人信息保密：" + ("需要保密" if slots.get("confidential") else "不需要保密"))
    lines.append("以上信息对吗？没问题请点“确认提交”；哪里不对，直接告诉我怎么改就行。")
    return "\n".join(lines)


def format_due(reply_due_at: str | None, *, today: date | None = None) -> str | None:
    """ "2026-12-02T17:30:00+08:00" -> "12月2日（星期三）"; "今天"/"明天" when that is what it is."""
    if not reply_due_at:
        return None
    try:
        due = datetime.fromisoformat(reply_due_at.replace("Z", "+00:00"))
    except ValueError:
        return None
    if due.tzinfo is not None:
        due = due.astimezone(CHINA_TZ)
    today = today or datetime.now(CHINA_TZ).date()
    label = f"{due.month}月{due.day}日（{WEEKDAYS[due.weekday()]}）"
    if due.date() == today:
        return f"今天（{due.month}月{due.day}日）"
    if due.date() == today + timedelta(days=1):
        return f"明天（{due.month}月{due.day}日）"
    return label


def filed_message(
    ticket: Mapping[str, Any], *, replay: bool = False, emergency: bool = False, call_first: str | None = None,
    no_phone: bool = False,
) -> str:
    """What the citizen hears once the ticket is filed, as each kind of matter ends."""
    ticket_no = ticket.get("ticket_no", "")
    if replay:
        return f"您这件事已经登记过了，不会重复登记，工单号还是{ticket_no}。"
    dtype = ticket.get("demand_type")
    urgency = ticket.get("urgency")
    due = format_due(ticket.get("reply_due_at"))
    if emergency:
        # An emergency: no day to wait for; the number to call comes first.
        text = f"{'请您一定先拨打' + call_first + '。' if call_first else ''}已经按特急件登记，工单号是{ticket_no}，马上推送给联动单位处置。"
    elif dtype == "praise":
        text = f"谢谢您的表扬！已经登记好了，工单号是{ticket_no}。我们会把您的表扬转达给相关单位和工作人员。"
    elif dtype == "suggestion":
        text = (
            f"谢谢您的建议！已经登记好了，工单号是{ticket_no}。我们会转给相关部门研究，"
            f"{due + '前' if due else '按规定时限'}把采纳和办理情况回复您。"
        )
    elif urgency == "紧急":
        text = f"已经按紧急件登记好了，工单号是{ticket_no}。{urgent_handling(ticket)}"
        text += f"最晚{due}{format_clock(ticket.get('reply_due_at'))}前联系您" if due else "按规定时限联系您"
        text += "。" if no_phone else "，请保持电话畅通。"
    else:
        text = f"好的，已经为您登记好了，工单号是{ticket_no}，您记一下。"
        text += f"承办部门会在{due}前给您答复" if due else "承办部门会按规定时限给您答复"
        text += "。" if no_phone else "，请保持电话畅通。"
    if no_phone and not emergency:
        text += "您没有留电话，办理结果没法回复您，可以凭工单号在这里查进度。"
    return text


def urgent_handling(ticket: Mapping[str, Any]) -> str:
    """What happens to a 紧急 ticket now, as the SLA runs it: the sign-in deadline is on the clock
    (county/jianhu/sla.yml: 紧急 0.5 h, day and night), so a burst pipe at 22:00 is not promised
    "明天17:30" as if it waited for office hours; the reply deadline (working days) comes after."""
    lead = next((a for a in ticket.get("assignments") or [] if a.get("role") == "lead"), None)
    sign_due = ticket.get("sign_due_at") or (lead or {}).get("sign_due_at")
    hours = _hours_between(ticket.get("dispatched_at") or ticket.get("created_at"), sign_due)
    within = (f"{hours:g}小时" if hours >= 1 else f"{round(hours * 60)}分钟") if hours else None
    if lead and within:
        return (
            f"已经直接派给{lead.get('department') or '承办单位'}，紧急件不分白天晚上，要求{within}内（{format_clock(sign_due)}前）"
            "签收、马上安排人处理，"
        )
    # No department chosen by the router: the ticket waits in the dispatchers' 待派单 queue (紧急 sorted
    # first, api/office). Nobody dispatches outside the staff's hours (api/conversations/duty.py has
    # no night roster), and the sign-in clock only starts once it is dispatched: say exactly that.
    return (
        "这件事还要派单员确定由哪个单位来办，紧急件在待派单里排在最前面：派单员在岗时马上派出，"
        f"下班时间要等上班后第一时间派出，派出后承办单位要在{_sign_in_text('紧急')}内签收。等不了、有危险的话请直接拨打110。"
        "承办单位"
    )


SLA_FILE = Path(__file__).resolve().parent.parent / "county" / "jianhu" / "sla.yml"


@lru_cache(maxsize=4)
def _sign_in_text(urgency: str) -> str:
    """ "30分钟": the county's sign-in limit for an urgency (county/jianhu/sla.yml, as the API applies it)."""
    hours = float(((yaml.safe_load(SLA_FILE.read_text(encoding="utf-8")) or {}).get("urgencies") or {})
                  .get(urgency, {}).get("sign_in_hours", 0.5))
    return f"{hours:g}小时" if hours >= 1 else f"{round(hours * 60)}分钟"


def _hours_between(start: str | None, end: str | None) -> float | None:
    try:
        a = datetime.fromisoformat((start or "").replace("Z", "+00:00"))
        b = datetime.fromisoformat((end or "").replace("Z", "+00:00"))
    except ValueError:
        return None
    hours = (b - a).total_seconds() / 3600
    return round(hours, 1) if hours > 0 else None


def format_clock(reply_due_at: str | None) -> str:
    """ "…T17:30:00+08:00" -> "17:30" (urgent deadlines are said with the hour)."""
    try:
        due = datetime.fromisoformat((reply_due_at or "").replace("Z", "+00:00"))
    except ValueError:
        return ""
    if due.tzinfo is not None:
        due = due.astimezone(CHINA_TZ)
    return f"{due.hour}:{due.minute:02d}"
