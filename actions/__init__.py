"""Rasa SDK custom actions for Minsheng, split by concern:

- intake.py: the intake form (start, validation, questions, read-back, filing)
- intake_logic.py: pure slot logic behind the validation (unit-tested)
- validation_base.py: form validation with a failure cap that offers a human
- report.py: read-back text, API payload, idempotency key, due-date wording
- api_client.py: the one HTTP client to the Minsheng API
- outbox.py: durable retry of filings while the API is unreachable
- handoff.py: 转人工
- knowledge.py: consultations answered from the county FAQ, then 解决了吗
- status.py: ticket status and 催办 (ticket number + last four digits of the phone)
- triage.py: low NLU confidence: a confirmation question, a human after two failures
"""

import sys
from pathlib import Path

# `rasa run actions` imports this package without the repo root on sys.path; bot/ lives there.
_ROOT = str(Path(__file__).resolve().parent.parent)
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from actions import outbox as _outbox  # noqa: E402

_outbox.start_if_pending()
