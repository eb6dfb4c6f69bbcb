"""One Settings object for the API, read from the environment (prefix MINSHENG_)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parents[2]

# Development defaults: refused outside development mode (see _refuse_default_secrets).
DEV_SERVICE_TOKEN = "dev-service-token"
DEV_SECRET_KEY = "dev-secret-key-change-me-in-production-000000"
DEV_ADMIN_PASSWORD = "admin12345"
DEV_RASA_TOKEN = "dev-rasa-token"


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

    @model_validator(mode="after")
    def _refuse_default_secrets(self) -> Settings:
        if self.env == "development":
            return self
        defaults = {
            "MINSHENG_SERVICE_TOKEN": (self.service_token, DEV_SERVICE_TOKEN),
            "MINSHENG_SECRET_KEY": (self.secret_key, DEV_SECRET_KEY),
            "MINSHENG_FIRST_ADMIN_PASSWORD": (self.first_admin_password, DEV_ADMIN_PASSWORD),
            "MINSHENG_RASA_TOKEN": (self.rasa_token, DEV_RASA_TOKEN),
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
