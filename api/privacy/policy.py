"""How long each kind of personal data is kept (docs/privacy.md). Environment prefix MINSHENG_RETENTION_."""

from __future__ import annotations

from functools import lru_cache

from pydantic_settings import BaseSettings, SettingsConfigDict


class RetentionPolicy(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MINSHENG_RETENTION_", env_file=".env", extra="ignore")

    # 回访录音 (the citizen's recorded reason): after the follow-up ended.
    recordings_days: int = 90
    # 对话记录 (chat and call transcripts, drafts): after the conversation's last message.
    transcripts_days: int = 180
    # 联系方式 (phone numbers, names, callback requests): after the ticket was closed (办结).
    contacts_days: int = 365
    # How often the purge runs in the API process (0 = never; run it from cron with the endpoint).
    purge_interval_hours: float = 24.0

    def as_table(self) -> list[dict[str, object]]:
        return [
            {"kind": "recordings", "label": "回访录音", "days": self.recordings_days, "counted_from": "回访结束"},
            {"kind": "transcripts", "label": "对话记录（网页、电话）", "days": self.transcripts_days,
             "counted_from": "最后一条消息"},
            {"kind": "contacts", "label": "联系方式（电话、姓名、回电请求）", "days": self.contacts_days,
             "counted_from": "工单办结"},
        ]


@lru_cache
def retention_policy() -> RetentionPolicy:
    return RetentionPolicy()
