"""回访批次: staff start (or resume) the day's calling, pause it, and see the last few."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from api.callbacks.models import CallbackCampaign, CallbackJob, JobStatus
from api.callbacks.policy import CallbackPolicy, current_policy
from api.callbacks.queue import sync
from api.callbacks.service import CallbackError, local_day, running_campaign
from api.core.db import utcnow


def start_campaign(*, db_session: Session, actor: str, name: str | None = None, now: datetime | None = None,
                   policy: CallbackPolicy | None = None) -> CallbackCampaign:
    """Start today's calling (or resume it): every open phone job not yet in a live campaign joins."""
    now = now or utcnow()
    policy = policy or current_policy()
    sync(db_session=db_session, now=now, policy=policy)
    day = local_day(now, policy)
    campaign = running_campaign(db_session=db_session, day=day)
    if campaign is None:
        campaign = CallbackCampaign(name=name or f"{day.month}月{day.day}日回访", day=day, status="running",
                                    created_by=actor, created_at=now, updated_at=now)
        db_session.add(campaign)
        db_session.flush()
    campaign.status, campaign.updated_at = "running", now
    db_session.execute(update(CallbackCampaign).where(
        CallbackCampaign.day < day, CallbackCampaign.status.in_(("running", "paused")),
    ).values(status="finished", updated_at=now).execution_options(synchronize_session=False))
    live = select(CallbackCampaign.id).where(CallbackCampaign.status.in_(("running", "paused")), CallbackCampaign.id != campaign.id)
    db_session.execute(update(CallbackJob).where(
        CallbackJob.status.in_((JobStatus.queued, JobStatus.retry)),
        or_(CallbackJob.campaign_id.is_(None), CallbackJob.campaign_id.notin_(live)),
    ).values(campaign_id=campaign.id).execution_options(synchronize_session=False))
    db_session.commit()
    return campaign


def set_campaign_status(*, db_session: Session, campaign_id: int, status: str, now: datetime | None = None) -> CallbackCampaign:
    campaign = db_session.get(CallbackCampaign, campaign_id)
    if campaign is None:
        raise CallbackError(404, f"没有找到回访批次 {campaign_id}。")
    if campaign.status == "finished":
        raise CallbackError(409, "这个回访批次已经结束。")
    campaign.status, campaign.updated_at = status, now or utcnow()
    db_session.commit()
    return campaign


def list_campaigns(*, db_session: Session, limit: int = 20) -> list[CallbackCampaign]:
    return list(db_session.scalars(select(CallbackCampaign).order_by(CallbackCampaign.id.desc()).limit(limit)))
