"""What the back office needs at start: organisation from the county profile, first admin, scheduler."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from api.auth.service import ensure_first_admin
from api.core.db import session_factory
from api.core.settings import get_settings
from api.org import service as org
from api.org.profile import ProfileError, clear_cache, org_profile
from api.scheduler.jobs import scheduler_loop

log = logging.getLogger(__name__)


def prepare_back_office() -> None:
    """Copy departments and leaders from the county profile into the DB; create the first admin."""
    clear_cache()
    with session_factory()() as db_session:
        try:
            counts = org.sync_from_profile(db_session=db_session, profile=org_profile())
            log.info("county profile loaded: %s", counts)
        except ProfileError:
            # Keep taking calls with the organisation already in the DB; the error is in the log.
            log.exception("county profile not loaded")
        if ensure_first_admin(db_session=db_session):
            log.info("first admin account created from settings")


def start_back_office() -> asyncio.Task | None:
    get_settings.cache_clear()  # the environment as it is when this app starts (tests start many)
    prepare_back_office()
    interval = get_settings().tickets.scheduler_interval_seconds
    return asyncio.create_task(scheduler_loop(interval)) if interval > 0 else None


async def stop_back_office(task: asyncio.Task | None) -> None:
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
