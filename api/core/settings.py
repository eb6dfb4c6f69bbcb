"""The API's one settings tree, read from the environment (names start MINSHENG_).

`get_settings()` is the root: the hub, security and the doors as flat fields, and one section per
domain that has choices of its own (`tickets`, `open311`, `callbacks`, `office`). Each section
keeps the environment names it had before the tree (MINSHENG_AUTO_DISPATCH,
MINSHENG_CALLBACK_WINDOWS, MINSHENG_OFFICE_ATTACHMENTS_DIR…), so scripts and docs stay true.
Development defaults are refused outside development mode in one place: `_refuse_default_secrets`.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parents[2]

# Development defaults: refused outside development mode (see _refuse_default_secrets).
DEV_SERVICE_TOKEN = "dev-service-token"
DEV_SECRET_KEY = "dev-secret-key-change-me-in-production-000000"
DEV_ADMIN_PASSWORD = "admin12345"
DEV_RASA_TOKEN = "dev-rasa-token"
DEV_OPEN311_API_KEY = "dev-open311-key"


class TicketSettings(BaseSettings):
    """The 工单 workflow (MINSHENG_AUTO_DISPATCH, MINSHENG_REPEAT_WINDOW_DAYS, …)."""

    model_config = SettingsConfigDict(env_prefix="MINSHENG_", env_file=".env", extra="ignore")

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


class Open311Settings(BaseSettings):
    """The Open311 GeoReport door (MINSHENG_OPEN311_API_KEY, MINSHENG_OPEN311_JURISDICTION)."""

    model_config = SettingsConfigDict(env_prefix="MINSHENG_OPEN311_", env_file=".env", extra="ignore")

    api_key: str = DEV_OPEN311_API_KEY
    jurisdiction: str = "jianhu.js.cn"


_WINDOW = re.compile(r"^\s*\d{1,2}(:\d{2})?\s*-\s*\d{1,2}(:\d{2})?\s*$")


class CallbackSettings(BaseSettings):
    """智能回访, the county's choices (MINSHENG_CALLBACK_*); api.callbacks.policy turns them into a policy."""

    model_config = SettingsConfigDict(env_prefix="MINSHENG_CALLBACK_", env_file=".env", extra="ignore")

    windows: str = "09:00-12:00,14:00-20:00"
    call_on_rest_days: bool = False
    within_hours: float = 24.0
    max_attempts: int = 3
    backoff_minutes: str = "30,120"
    reschedule_minutes: float = 60
    confidential: Literal["manual", "no_summary", "normal"] = "manual"
    chat_first: bool = True
    chat_wait_minutes: float = 240
    auto_campaign: bool = False  # True: workers dial without a campaign started by staff
    lease_seconds: int = 90  # a worker heartbeats well within this; a dead worker's job is re-offered after it
    close_without_rating: bool = True  # 3 attempts unanswered / 不回访 → close the ticket as 未回访 (not in 满意率)
    recordings_dir: str = "var/callbacks/recordings"
    hotline_name: str = "建湖12345热线"

    @field_validator("windows")
    @classmethod
    def _windows(cls, value: str) -> str:
        for part in value.split(","):
            if not _WINDOW.match(part):
                raise ValueError(f"回访时段 {part.strip()} 应写成 09:00-12:00 的样子")
        return value


class OfficeSettings(BaseSettings):
    """The 工单工作台 (MINSHENG_OFFICE_*): attachments and live updates."""

    model_config = SettingsConfigDict(env_prefix="MINSHENG_OFFICE_", env_file=".env", extra="ignore")

    # Reply attachments (photos of the repaired lamp, a scanned 答复函) live under the data dir, never in the DB.
    attachments_dir: Path = ROOT / "var" / "attachments"
    # Below the API's body limit (MINSHENG_MAX_BODY_BYTES, 1 MB): one file per request.
    attachment_max_bytes: int = 900_000
    attachments_per_ticket: int = 20
    # How often an open workbench looks for new ticket events to push (seconds).
    live_poll_seconds: float = 2.0


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MINSHENG_", env_file=".env", extra="ignore")

    # Development (dev secrets allowed) only when MINSHENG_ENV=development is set explicitly.
    env: Literal["development", "test", "production"] = "production"
    database_url: str = f"sqlite:///{ROOT / 'var' / 'minsheng.sqlite3'}"
    county_profile_dir: Path = ROOT / "county" / "jianhu"
    timezone: str = "Asia/Shanghai"
    ticket_prefix: str = "JH"

    # Rasa server (REST channel + HTTP API bound to 127.0.0.1 with a token).
    rasa_url: str = "http://127.0.0.1:5005"
    rasa_token: str = DEV_RASA_TOKEN
    rasa_timeout_seconds: float = 15.0
    pending_retry_seconds: float = 5.0

    # ---- issue 15: several instances (Redis, Rasa replicas, the hub's pool) — flat fields ----
    # Redis (unset: one API instance, in-process locks and live fan-out, as before).
    redis_url: str = ""
    redis_lock_seconds: float = 30.0  # a turn's ordering lock expires after this (a crashed holder)
    redis_channel_prefix: str = "minsheng"
    # Rasa replicas sharing one tracker and lock store; empty = rasa_url alone.
    rasa_urls: str = ""
    rasa_down_seconds: float = 10.0  # a replica that refused a connection is skipped this long
    # Back-pressure: turns in flight to Rasa from one API process, and how long a turn waits for a
    # slot before the citizen is told to wait a moment (the turn is kept and forwarded soon after).
    rasa_max_in_flight: int = 16
    rasa_queue_seconds: float = 8.0
    rasa_connect_timeout_seconds: float = 2.0
    # ---- end issue 15 ----

    # Machine-to-machine token for the action server and the voice gateway.
    service_token: str = DEV_SERVICE_TOKEN
    secret_key: str = DEV_SECRET_KEY
    # Short-lived access tokens; a refresh token (rotated on use) keeps a shift logged in.
    access_token_minutes: int = 15
    refresh_token_hours: int = 10
    first_admin_username: str = "admin"
    first_admin_password: str = DEV_ADMIN_PASSWORD
    # bcrypt cost for staff passwords (tests lower it; 12 ≈ 0.25 s per login on this hardware).
    bcrypt_rounds: int = 12

    max_message_chars: int = 4000
    low_confidence_threshold: float = 0.5
    # Agents' shift on working days (local time); outside it the bot offers a callback instead.
    agent_shift_start: str = "08:30"
    agent_shift_end: str = "17:30"
    public_base_url: str = "http://127.0.0.1:8000"
    # The voice gateway's control endpoint (its VOICE_HEALTH_PORT): the console transfers calls there.
    voice_gateway_url: str = "http://127.0.0.1:8091"

    # Doors (issue 16): login throttling, chat-session creation limit, body size, HSTS.
    login_free_failures_per_account: int = 5  # then 429 with growing delays
    login_max_failures_per_client: int = 30  # per window; the next attempt gets 429
    login_failure_window_seconds: int = 15 * 60
    conversation_creations_per_client: int = 30  # per conversation_creation_window_seconds
    conversation_creation_window_seconds: int = 60
    max_body_bytes: int = 1_000_000
    hsts_seconds: int = 180 * 24 * 3600  # sent when the request came over TLS (or trusted X-Forwarded-Proto)
    trust_forwarded_proto: bool = False

    # The domains' sections, each read from its own MINSHENG_… names.
    tickets: TicketSettings = Field(default_factory=TicketSettings)
    open311: Open311Settings = Field(default_factory=Open311Settings)
    callbacks: CallbackSettings = Field(default_factory=CallbackSettings)
    office: OfficeSettings = Field(default_factory=OfficeSettings)

    @model_validator(mode="after")
    def _refuse_default_secrets(self) -> Settings:
        if self.env == "development":
            return self
        defaults = {
            "MINSHENG_SERVICE_TOKEN": (self.service_token, DEV_SERVICE_TOKEN),
            "MINSHENG_SECRET_KEY": (self.secret_key, DEV_SECRET_KEY),
            "MINSHENG_FIRST_ADMIN_PASSWORD": (self.first_admin_password, DEV_ADMIN_PASSWORD),
            "MINSHENG_RASA_TOKEN": (self.rasa_token, DEV_RASA_TOKEN),
            "MINSHENG_OPEN311_API_KEY": (self.open311.api_key, DEV_OPEN311_API_KEY),
        }
        unset = [name for name, (value, default) in defaults.items() if value == default]
        if unset:
            raise ValueError(
                f"{', '.join(unset)} must be set to a non-default value when MINSHENG_ENV={self.env} "
                "(development secrets need MINSHENG_ENV=development, set explicitly)"
            )
        if len(self.secret_key) < 32:
            raise ValueError("MINSHENG_SECRET_KEY must be at least 32 characters")
        return self

    @property
    def rasa_replicas(self) -> list[str]:
        return [u.strip().rstrip("/") for u in self.rasa_urls.split(",") if u.strip()] or [self.rasa_url.rstrip("/")]

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    return Settings()
