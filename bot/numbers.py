"""Normalise numbers as citizens say or type them, and validate contact phones.

Plain functions, no Rasa imports: used by the NLU components (bot/components.py) and by the
action server (actions/), and unit-tested on messy input in tests/rasa/test_numbers.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

# Spoken digit words. 幺=1, 两=2, 洞=0, 拐=7 and 勾=9 are how numbers are read out on the phone.
SPOKEN_DIGITS = {
    "零": "0",
    "〇": "0",
    "○": "0",
    "洞": "0",
    "幺": "1",
    "一": "1",
    "壹": "1",
    "二": "2",
    "两": "2",
    "贰": "2",
    "三": "3",
    "叁": "3",
    "四": "4",
    "肆": "4",
    "五": "5",
    "伍": "5",
    "六": "6",
    "陆": "6",
    "七": "7",
    "拐": "7",
    "柒": "7",
    "八": "8",
    "捌": "8",
    "九": "9",
    "勾": "9",
    "玖": "9",
}
_FULLWIDTH = str.maketrans("０１２３４５６７８９－—–　", "0123456789--- ")
_DIGIT_CHARS = "0-9" + "".join(SPOKEN_DIGITS)
# A run of digits (ASCII or spoken) with the separators people put inside phone numbers.
_RUN_RE = re.compile(rf"[{_DIGIT_CHARS}](?:[\s\-—_.、，,·]*[{_DIGIT_CHARS}])*")
# A spoken run must have at least this many digit words to be taken as a number
# ("一下", "两个", "三四天" stay words).
_MIN_SPOKEN_RUN = 4

MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")


def to_halfwidth(text: str) -> str:
    return text.translate(_FULLWIDTH)


def normalize_digits(text: str) -> str:
    """Turn digit sequences read out in words into ASCII digits, leave other words alone.

    "幺三八 幺二三四 五六七八" -> "138 1234 5678"; "两个月" stays "两个月".
    """
    text = to_halfwidth(text)

    def convert(match: re.Match[str]) -> str:
        run = match.group(0)
        spoken = sum(1 for ch in run if ch in SPOKEN_DIGITS)
        ascii_digits = sum(1 for ch in run if ch.isdigit())
        if spoken == 0:
            return run
        if spoken + ascii_digits < _MIN_SPOKEN_RUN:
            return run
        return "".join(SPOKEN_DIGITS.get(ch, ch) for ch in run)

    return _RUN_RE.sub(convert, text)


@dataclass(frozen=True)
class PhoneCandidate:
    """A number found in a message: the digits, its span, and whether it is a usable phone."""

    digits: str
    start: int
    end: int
    value: str | None  # normalised phone ("13812345678", "0515-86201234") if valid
    kind: str | None  # "mobile" | "landline" if valid
    error: str | None  # why it is not a valid phone, in the words an operator would use


def _area_code_length(digits: str) -> int:
    # 010 and 02X are the only three-digit area codes; every other one has four digits.
    if digits.startswith("010") or (len(digits) > 2 and digits[:2] == "02"):
        return 3
    return 4


def classify_phone(digits: str) -> tuple[str | None, str | None, str | None]:
    """Return (value, kind, error) for a string of digits."""
    n = len(digits)
    if digits.startswith("86") and n == 13 and MOBILE_RE.match(digits[2:]):
        digits, n = digits[2:], 11
    if digits.startswith("1"):
        if n == 11:
            if MOBILE_RE.match(digits):
                return digits, "mobile", None
            return None, None, f"手机号第二位应该是3到9，您说的是“1{digits[1]}”开头，麻烦再核对一下"
        if n < 11:
            return None, None, f"手机号是11位，您刚才说的是{n}位，好像少了{11 - n}位"
        return None, None, f"手机号是11位，您刚才说的是{n}位，好像多了{n - 11}位"
    if digits.startswith("0"):
        area = _area_code_length(digits)
        local = n - area
        if 7 <= local <= 8:
            return f"{digits[:area]}-{digits[area:]}", "landline", None
        return None, None, (f"座机号码是区号加7到8位号码，比如0515-86201234，您刚才说的是{n}位")
    if 7 <= n <= 8:
        return None, None, "座机号码需要带上区号，比如0515-86201234"
    return None, None, f"您说的号码是{n}位，手机号应该是11位，座机要带区号"


def find_phone_candidates(text: str) -> list[PhoneCandidate]:
    """Every number in the text that looks like an attempt at a phone number.

    Short numbers (house numbers, "3号楼", dates) are ignored: a candidate has at least 6
    digits or was introduced by a phone word (电话/手机/号码).
    """
    normalised = normalize_digits(text)
    found: list[PhoneCandidate] = []
    for match in _RUN_RE.finditer(normalised):
        run = match.group(0)
        digits = "".join(ch for ch in run if ch.isdigit())
        if len(digits) != sum(1 for ch in run if ch.isdigit() or ch in SPOKEN_DIGITS):
            continue  # spoken words left unconverted: not a number
        before = normalised[max(0, match.start() - 6) : match.start()]
        after = normalised[match.end() : match.end() + 2]
        if re.search(r"[A-Za-z]$", before):
            continue  # part of a ticket number like JH20261127-0001
        if re.match(r"^\s*[-—]?\s*\d", after):
            continue
        phone_word = bool(re.search(r"(电话|手机|号码|号是|联系|打|拨)", before))
        if re.match(r"^(年|月|日|号|点|元|块|米|斤|岁|栋|幢|楼|室|组|单元|个|天)", after) and len(digits) < 9:
            continue
        if len(digits) < 6 and not phone_word:
            continue
        if len(digits) in (15, 18) and not phone_word:
            continue  # an ID card number, not a phone
        if re.fullmatch(r"20\d{6}", digits) and not phone_word:
            continue  # a date like 20261127
        value, kind, error = classify_phone(digits)
        found.append(PhoneCandidate(digits, match.start(), match.end(), value, kind, error))
    return found


@dataclass(frozen=True)
class PhoneParse:
    value: str | None
    kind: str | None
    error: str | None
    digits: str | None


def parse_phone(text: str) -> PhoneParse | None:
    """The phone number in a message: the first valid one, else the first invalid attempt.

    None when the message contains no number that could be a phone.
    """
    candidates = find_phone_candidates(text)
    if not candidates:
        return None
    for cand in candidates:
        if cand.value:
            return PhoneParse(cand.value, cand.kind, None, cand.digits)
    first = candidates[0]
    return PhoneParse(None, None, first.error, first.digits)


def phone_for_speech(phone: str) -> str:
    """Group a phone number the way an operator reads it back: 138 1234 5678."""
    if "-" in phone:
        return phone
    if len(phone) == 11:
        return f"{phone[:3]} {phone[3:7]} {phone[7:]}"
    return phone


def remove_phone_numbers(text: str) -> str:
    """The text without the phone numbers in it (for a clean 诉求内容)."""
    normalised = normalize_digits(text)
    out = normalised
    for cand in sorted(find_phone_candidates(text), key=lambda c: c.start, reverse=True):
        out = out[: cand.start] + out[cand.end :]
    return out


_CN_NUM = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}


def chinese_to_int(text: str) -> int | None:
    """Small Chinese numerals as used in addresses and dates: 三 -> 3, 十二 -> 12, 二十三 -> 23."""
    text = text.strip()
    if not text:
        return None
    if text.isdigit():
        return int(text)
    if "十" in text:
        tens_part, _, ones_part = text.partition("十")
        tens = _CN_NUM.get(tens_part) if tens_part else 1
        ones = _CN_NUM.get(ones_part) if ones_part else 0
        if tens is None or ones is None:
            return None
        return tens * 10 + ones
    if len(text) == 1 and text in _CN_NUM:
        return _CN_NUM[text]
    return None


TICKET_RE = re.compile(r"(?i)(?<![A-Za-z0-9])(JH)\s*[-_ ]?\s*(20\d{6})\s*[-_ ]?\s*(\d{4})(?!\d)")


def extract_ticket_numbers(text: str) -> list[dict[str, Any]]:
    """Ticket numbers as typed ("JH20261127-0001", "jh 20261127 0001") or spoken with
    Chinese digits ("JH二零二六幺幺二七零零零幺")."""
    # Typed digits first: "JH20261127-0003一直没人管" must not read "0003一" as five digits.
    plain = to_halfwidth(text)
    normalised = plain if TICKET_RE.search(plain) else normalize_digits(text)
    found = []
    for m in TICKET_RE.finditer(normalised):
        value = f"JH{m.group(2)}-{m.group(3)}"
        found.append({"start": m.start(), "end": m.end(), "value": value})
    return found
