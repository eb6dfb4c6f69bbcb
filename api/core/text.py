"""Cleaning of citizen-typed text before it is stored or forwarded."""

from __future__ import annotations

import re
import unicodedata

_CONTROL = re.compile(r"[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]")


def clean_text(text: str) -> str:
    """Drop control and invisible formatting characters, normalise width, trim."""
    text = unicodedata.normalize("NFKC", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = _CONTROL.sub("", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def has_words(text: str) -> bool:
    """True when the text has at least one letter or digit (not only emoji, punctuation, spaces)."""
    return any(unicodedata.category(ch)[0] in ("L", "N") for ch in text)
