"""Imports every domain's models so Alembic and the app see the whole schema."""

from api.analytics.models import EarlyWarning, SourceTask, WarningRule, WorkReminder  # noqa: F401
from api.auth.models import User  # noqa: F401
from api.callbacks.models import CallbackJob  # noqa: F401
from api.conversations.models import CallbackRequest, Conversation, ConversationEvent, Message  # noqa: F401
from api.office.models import TicketAttachment  # noqa: F401  (issue 13: 工单工作台 reply attachments)
from api.org.models import Department, Leader  # noqa: F401
from api.tickets.models import (  # noqa: F401
    IdempotencyRecord,
    Notification,
    Supervision,
    Ticket,
    TicketAssignment,
    TicketCounter,
    TicketEvent,
    TicketLinkage,
)
