"""The part of a citizen's message that states the ask, as the demand-type models read it (stdlib only).

A written online message ("标题。正文") states its ask in the title and the opening; the salutation
("尊敬的书记：", "领导您好") says who it is written to, not what is asked (docs/labelling.md §一.3), and a
2,000-character letter only dilutes the features. Shared by the training-data script
(scripts/data/nlu_from_labels.py) and the demand-type component (bot/components_demand.py), so both
see the same text. `spoken()` is the same text as an ASR transcript arrives: no punctuation, no spaces.
"""

from __future__ import annotations

import re

MAX_CHARS = 160
_ADDRESS = re.compile(r"尊敬的[^，,：:！!。\s]{0,24}[，,：:！!。]?|(?:各位)?领导(?:们)?(?:您)?好[！!，,。]?|(?:您|你)好[！!，,。]?")
_PUNCTUATION = re.compile(r"[，。！？、；：,.!?;:“”\"'‘’（）()【】《》\[\]{}…—\-~～\s]+")


def ask_text(text: str, *, max_chars: int = MAX_CHARS) -> str:
    """Title and opening without the salutation, whitespace collapsed, at most `max_chars`."""
    s = _ADDRESS.sub("", text)
    return re.sub(r"\s+", " ", s).strip()[:max_chars]


def spoken(text: str) -> str:
    """The text as a speech recogniser would transcribe it: punctuation and spaces gone."""
    return _PUNCTUATION.sub("", text)
