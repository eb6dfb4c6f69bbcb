"""Imports every domain's models so Alembic and the app see the whole schema."""

from api.conversations.models import Conversation, ConversationEvent, Message  # noqa: F401
from api.tickets.models import IdempotencyRecord, Ticket, TicketCounter, TicketEvent  # noqa: F401
