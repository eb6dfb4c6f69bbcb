"""Chinese post-processing of recognised text: spoken numbers to digits.

Callers read phone numbers digit by digit (幺三八 零五一五 …, with 幺 for 1, 两 for 2, 洞 for 0,
拐 for 7, 勾 for 9 as on radios) and amounts with units (两百, 三千五, 一万二). Idioms and words
that merely contain number characters (一样, 十分满意, 一心一意, 千万) must stay as they are.
"""

from __future__ import annotations

import re

DIGITS = {
    "零": 0, "〇": 0, "洞": 0, "0": 0,
    "一": 1, "幺": 1, "壹": 1,
    "二": 2, "两": 2, "贰": 2,
    "三": 3, "叁": 3, "四": 4, "肆": 4, "五": 5, "伍": 5, "六": 6, "陆": 6,
    "七": 7, "拐": 7, "柒": 7, "八": 8, "捌": 8, "九": 9, "勾": 9, "玖": 9,
}
# Characters that are digits only in a digit-by-digit reading (never inside words).
_DIGIT_CLASS = "零〇洞一幺二两三四五六七拐八九勾"
_UNITS = {"十": 10, "百": 100, "千": 1000}
_BIG = {"万": 10_000, "亿": 100_000_000}

_CJK = r"[\u3400-\u9fff]"
_SPACE_BETWEEN_CJK = re.compile(rf"(?<={_CJK}|\d)\s+(?={_CJK}|\d)")

# A digit-by-digit run: at least 3 digit characters, optionally spaced ("幺三八 零五一五").
_RUN = re.compile(rf"[{_DIGIT_CLASS}0-9](?:\s*[{_DIGIT_CLASS}0-9]){{2,}}")
# A number with units: 两百, 三千五, 一万二千, 二十三, 一百零五, 十二 (十 needs a digit next to it).
_UNIT_NUM = re.compile(
    rf"(?:[{_DIGIT_CLASS}]+[十百千万亿])+(?:[零〇洞]?[{_DIGIT_CLASS}])?"
    rf"|十[{_DIGIT_CLASS}](?![十百千万亿])"
)
_PROTECTED = ("一心一意", "三心二意", "千万", "万一", "一五一十", "十分", "百分之百", "七上八下", "乱七八糟", "四面八方", "五颜六色", "一一")


def parse_unit_number(text: str) -> int | None:
    """Value of a Chinese number with units, e.g. 两百 → 200, 三千五 → 3500, 一万二 → 12000."""
    total, section, digit = 0, 0, None
    last_unit = 1
    for ch in text:
        if ch in DIGITS:
            if digit is not None and ch not in "零〇洞":
                return None  # two digits in a row is not a unit number
            digit = DIGITS[ch] if ch not in "零〇洞" else None
            if ch in "零〇洞":
                last_unit = 10  # 一百零五: the digit after 零 is a plain unit digit
        elif ch in _UNITS:
            unit = _UNITS[ch]
            section += (digit if digit is not None else 1) * unit
            digit = None
            last_unit = unit
        elif ch in _BIG:
            big = _BIG[ch]
            section += digit or 0
            total = (total + section) * big
            section, digit = 0, None
            last_unit = big
        else:
            return None
    if digit is not None:
        # 三千五 = 3500, 一万二 = 12000: a trailing digit counts in the next lower unit.
        section += digit * (last_unit // 10 if last_unit >= 10 else 1)
    return total + section


def _digits_of(run: str) -> str:
    return "".join(str(DIGITS[ch]) if ch in DIGITS else ch for ch in run if not ch.isspace())


def normalize_numbers(text: str) -> str:
    text = _SPACE_BETWEEN_CJK.sub("", text.strip())
    shielded: dict[str, str] = {}
    for i, word in enumerate(_PROTECTED):
        if word in text:
            key = f"\x00{i}\x00"
            shielded[key] = word
            text = text.replace(word, key)

    def unit_sub(m: re.Match[str]) -> str:
        value = parse_unit_number(m.group(0))
        return str(value) if value is not None else m.group(0)

    text = _UNIT_NUM.sub(unit_sub, text)
    text = _RUN.sub(lambda m: _digits_of(m.group(0)), text)
    # Spoken decimals: 三点五 → 3.5 (only after a number we already converted).
    text = re.sub(
        rf"(\d+|[{_DIGIT_CLASS}])点([{_DIGIT_CLASS}]+)",
        lambda m: _digits_of(m.group(1)) + "." + _digits_of(m.group(2)),
        text,
    )
    for key, word in shielded.items():
        text = text.replace(key, word)
    return text


def cjk_join(text: str) -> str:
    """Vosk separates Chinese words with spaces; a transcript reads better without them."""
    return _SPACE_BETWEEN_CJK.sub("", text.strip())
