"""Back-office settings (prefix MINSHENG_, like api.core.settings) that only the ticket workflow reads."""

from __future__ import annotations

from functools import lru_cache

from pydantic import model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_OPEN311_API_KEY = "dev-open311-key"


class BackOfficeSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MINSHENG_", env_file=".env", extra="ignore")

    env: str = "production"  # like api.core.settings: development only when set explicitly
    # 智能派单: a confident suggestion is dispatched at once; below the threshold the 派单员 decides.
    auto_dispatch: bool = True
    # Seconds between scheduler runs (overdue, warnings, escalation); 0 switches the loop off.
    scheduler_interval_seconds: float = 60.0
    # 重复诉求: how far back a new ticket is compared with earlier ones.
    repeat_window_days: int = 30
    place_repeat_window_days: int = 7
    repeat_similarity: float = 0.35
    # 提级督办: working days a 督办函 gives the department; levels stop at max.
    supervision_days: int = 3
    max_escalation_level: int = 3
    # bcrypt cost for staff passwords (tests lower it; 12 ≈ 0.25 s per login on this hardware).
    bcrypt_rounds: int = 12
    open311_api_key: str = DEV_OPEN311_API_KEY
    open311_jurisdiction: str = "jianhu.js.cn"

    @model_validator(mode="after")
    def _refuse_default_key(self) -> BackOfficeSettings:
        if self.env != "development" and self.open311_api_key == DEV_OPEN311_API_KEY:
            raise ValueError("MINSHENG_OPEN311_API_KEY must be set to a non-default value outside development")
        return self


@lru_cache
def backoffice_settings() -> BackOfficeSettings:
    return BackOfficeSettings()
