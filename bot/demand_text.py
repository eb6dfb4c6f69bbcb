"""The part of a citizen's message that states the ask, as the demand-type models read it (stdlib only).

A written online message ("标题。正文") states its ask in the title and the opening; the salutation
("尊敬的书记：", "领导您好") says who it is written to, not what is asked (docs/labelling.md §一.3), and a
2,000-character letter only dilutes the features. Shared by the training-data script
(scripts/data/nlu_from_labels.py) and the demand-type component (bot/components_demand.py), so both
see the same text. `spoken()` is the same text as an ASR transcript arrives: no punctuation, no spaces.

`styled()` turns one real written message into the three styles the hotline receives, for training:
- board: the title and opening as the online board shows them, salutation removed;
- asr: the same opening as a speech recogniser delivers it, no punctuation, shorter;
- chat: the title alone when it states the ask (a citizen's first typed line).
"""

from __future__ import annotations

import re

MAX_CHARS = 160
ASR_CHARS = 80
# titles like "咨询" or "投诉" alone carry no ask; a chat opening says what happened
MIN_TITLE_CHARS = 8
_ADDRESS = re.compile(r"尊敬的[^，,：:！!。\s]{0,24}[，,：:！!。]?|(?:各位)?领导(?:们)?(?:您)?好[！!，,。]?|(?:您|你)好[！!，,。]?")
_PUNCTUATION = re.compile(r"[，。！？、；：,.!?;:“”\"'‘’（）()【】《》\[\]{}…—\-~～\s]+")


def ask_text(text: str, *, max_chars: int = MAX_CHARS) -> str:
    """Title and opening without the salutation, whitespace collapsed, at most `max_chars`."""
    s = _ADDRESS.sub("", text)
    return re.sub(r"\s+", " ", s).strip()[:max_chars]


def spoken(text: str) -> str:
    """The text as a speech recogniser would transcribe it: punctuation and spaces gone."""
    return _PUNCTUATION.sub("", text)


def board_style(text: str) -> str:
    return ask_text(text)


def asr_style(text: str) -> str:
    return spoken(ask_text(text))[:ASR_CHARS]


def chat_style(text: str) -> str:
    title = text.split("。", 1)[0] if "。" in text[:80] else ""
    return ask_text(title) if len(title) >= MIN_TITLE_CHARS else ""


STYLES = {"board": board_style, "asr": asr_style, "chat": chat_style}


def styled(text: str) -> list[str]:
    """The message in each style that yields a text, duplicates dropped (board, asr, chat order)."""
    out: list[str] = []
    for style in STYLES.values():
        t = style(text)
        if t and t not in out:
            out.append(t)
    return out
