"""Settings of the 工单工作台 (MINSHENG_OFFICE_*): attachments and live updates."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

from api.core.settings import ROOT


class OfficeSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MINSHENG_OFFICE_", env_file=".env", extra="ignore")

    # Reply attachments (photos of the repaired lamp, a scanned 答复函) live under the data dir, never in the DB.
    attachments_dir: Path = ROOT / "var" / "attachments"
    # Below the API's body limit (MINSHENG_MAX_BODY_BYTES, 1 MB): one file per request.
    attachment_max_bytes: int = 900_000
    attachments_per_ticket: int = 20
    # How often an open workbench looks for new ticket events to push (seconds).
    live_poll_seconds: float = 2.0


@lru_cache
def office_settings() -> OfficeSettings:
    return OfficeSettings()
