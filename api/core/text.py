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


MOBILE = re.compile(r"^1[3-9]\d{9}$")
LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}$")


def normalise_phone(value: str) -> str:
    """Digits only for mobiles; landlines as area-code-number. Raises ValueError with a reason."""
    raw = re.sub(r"[\s()（）+]", "", value)
    raw = raw.removeprefix("86") if len(raw) == 13 and raw.startswith("861") else raw
    digits = raw.replace("-", "")
    if MOBILE.fullmatch(digits):
        return digits
    if LANDLINE.fullmatch(raw) or LANDLINE.fullmatch(digits):
        if "-" in raw:
            return raw
        area_len = 3 if digits[:3] in {"010", "020", "021", "022", "023", "024", "025", "027", "028", "029"} else 4
        return f"{digits[:area_len]}-{digits[area_len:]}"
    raise ValueError("电话号码不对：手机号是1开头的11位数字，座机要带区号（如0515-86201234）")
