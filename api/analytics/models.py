"""数据治理 tables of their own: warning rules, 预警 pushed to departments, 工作提醒函, 未诉先办 tasks,
and the daily summary the dashboard reads at county scale. Analytics never writes ticket,
conversation or callback tables; it only reads them.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from api.core.db import Base, utcnow


class RuleKind(StrEnum):
    village_cluster = "village_cluster"  # N similar demands from one village/community in D days
    surge = "surge"  # a topic's volume over its own baseline
    sensitive_words = "sensitive_words"  # words that signal risk (跳楼, 拉横幅, 集体上访 …)
    repeat_citizen = "repeat_citizen"  # one citizen (phone) calling again and again


RULE_KIND_LABELS = {
    RuleKind.village_cluster: "同一村居相似诉求集中",
    RuleKind.surge: "诉求量突增",
    RuleKind.sensitive_words: "敏感词",
    RuleKind.repeat_citizen: "同一群众反复来电",
}


class WarningRule(Base):
    """A rule the county edits on the page; `params` depend on the kind (see analytics.warnings)."""

    __tablename__ = "analytics_warning_rules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(24), index=True)
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    # Who receives the 预警 when the tickets do not say (None: the tickets' lead or 属地 department).
    department_id: Mapped[str | None] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class EarlyWarning(Base):
    """预警: pushed to a department, which acknowledges (签收) it with a note."""

    __tablename__ = "analytics_warnings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    rule_id: Mapped[int | None] = mapped_column(ForeignKey("analytics_warning_rules.id"), index=True)
    kind: Mapped[str] = mapped_column(String(24), index=True)
    # The daily job runs again and again: one warning per matter, not one per run.
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    detail: Mapped[str] = mapped_column(Text)
    department_id: Mapped[str | None] = mapped_column(String(64), index=True)
    place: Mapped[str | None] = mapped_column(String(128))
    count: Mapped[int] = mapped_column(Integer, default=0)
    ticket_nos: Mapped[list[str]] = mapped_column(JSON)
    window_start: Mapped[date | None] = mapped_column(Date)
    window_end: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    acknowledged_at: Mapped[datetime | None] = mapped_column()
    acknowledged_by: Mapped[str | None] = mapped_column(String(64))
    ack_note: Mapped[str | None] = mapped_column(Text)


class WorkReminder(Base):
    """工作提醒函: topics that rose in the same weeks of earlier years, sent to a department ahead."""

    __tablename__ = "analytics_reminders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    month: Mapped[int] = mapped_column(Integer)
    department_id: Mapped[str] = mapped_column(String(64), index=True)
    # [{"topic", "level1", "level2", "level3", "years": {"2024": {"count", "baseline", "ratio"}}, "tickets": [...]}]
    topics: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column()

    @property
    def letter_no(self) -> str:
        return f"建湖12345提〔{self.year}〕{self.id}号"


class TaskOrigin(StrEnum):
    hotspot = "hotspot"
    reminder = "reminder"
    warning = "warning"


class SourceTask(Base):
    """未诉先办: a department acts on a topic before citizens call; its outcome is the topic's volume after."""

    __tablename__ = "analytics_tasks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    origin: Mapped[str] = mapped_column(String(16))
    origin_ref: Mapped[str | None] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200))
    department_id: Mapped[str | None] = mapped_column(String(64), index=True)
    # What counts as "the topic": key words (any), a category, a town — see analytics.tasks.topic_filter.
    topic: Mapped[dict[str, Any]] = mapped_column(JSON)
    action: Mapped[str | None] = mapped_column(Text)
    starts_on: Mapped[date] = mapped_column(Date)
    window_days: Mapped[int] = mapped_column(Integer, default=30)
    status: Mapped[str] = mapped_column(String(8), default="open", index=True)  # open | done
    outcome: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column()


class DailyCounts(Base):
    """日汇总: the additive counts of counting.COUNT_FIELDS for one Beijing day and one key of one dimension.

    dim "day" holds the day's totals (one row per day, zeros included: its presence says the day is
    summarised); "category3" rows roll up to category2/category1. Keys are the ticket columns as text
    (enterprise "1"/"0", hour "HH"); None stays None.
    """

    __tablename__ = "analytics_daily_counts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    day: Mapped[date] = mapped_column(Date)
    dim: Mapped[str] = mapped_column(String(16))
    k1: Mapped[str | None] = mapped_column(String(64))
    k2: Mapped[str | None] = mapped_column(String(64))
    k3: Mapped[str | None] = mapped_column(String(64))
    total: Mapped[int] = mapped_column(Integer, default=0)
    dispatched: Mapped[int] = mapped_column(Integer, default=0)
    sign_due: Mapped[int] = mapped_column(Integer, default=0)
    sign_on_time: Mapped[int] = mapped_column(Integer, default=0)
    complete_due: Mapped[int] = mapped_column(Integer, default=0)
    complete_on_time: Mapped[int] = mapped_column(Integer, default=0)
    overdue: Mapped[int] = mapped_column(Integer, default=0)
    late_replied: Mapped[int] = mapped_column(Integer, default=0)
    returned: Mapped[int] = mapped_column(Integer, default=0)
    repeats: Mapped[int] = mapped_column(Integer, default=0)
    enterprise: Mapped[int] = mapped_column(Integer, default=0)
    closed: Mapped[int] = mapped_column(Integer, default=0)
    rated: Mapped[int] = mapped_column(Integer, default=0)
    rated_good: Mapped[int] = mapped_column(Integer, default=0)
    dissatisfied: Mapped[int] = mapped_column(Integer, default=0)
    solved_asked: Mapped[int] = mapped_column(Integer, default=0)
    solved: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (Index("ix_analytics_daily_counts_dim_day", "dim", "day"),)


class DailyState(Base):
    """When a day was summarised and until when its counts hold.

    The counts depend on the clock only through deadlines (签收 and 办结 due "by now"): valid_until is
    the earliest such deadline still ahead when the day was computed (None: none left). fresh_from is
    the computation time less a margin; a change marker of that day at or after it makes the day stale.
    """

    __tablename__ = "analytics_daily_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    computed_at: Mapped[datetime] = mapped_column()
    fresh_from: Mapped[datetime] = mapped_column()
    valid_until: Mapped[datetime | None] = mapped_column()


class DailyChange(Base):
    """A change marker: a ticket, assignment or follow-up of this Beijing day was written (same transaction)."""

    __tablename__ = "analytics_daily_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    day: Mapped[date] = mapped_column(Date)
    changed_at: Mapped[datetime] = mapped_column()

    __table_args__ = (Index("ix_analytics_daily_changes_day_changed", "day", "changed_at"),)


class JobRun(Base):
    """One run of the daily job per Beijing day: the primary key lets one API worker claim it."""

    __tablename__ = "analytics_job_runs"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    status: Mapped[str] = mapped_column(String(8))  # running | done | failed
    started_at: Mapped[datetime] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()
    trigger: Mapped[str] = mapped_column(String(16))  # scheduler | cli
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
