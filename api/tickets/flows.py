"""Side effects of ticket creation: classification, routing, linkage flags."""

from __future__ import annotations

import logging

from api.tickets.models import Ticket

log = logging.getLogger(__name__)


def classify_and_route(*, ticket: Ticket) -> None:
    # Wired to api.routing once the classifier lands.
    return None


def reply_days() -> dict[str, int] | None:
    return None
