"""Screening every message for emergencies and risk, as an operator does before anything else.

- emergency: fire, injury, fighting, gas leak… -> tell the citizen at once which number to call
  (110/119/120); the intake goes on (12345 is not an emergency line).
- risk of harm to self or others, or mass incidents -> a human takes over (handoff reason "risk").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

EMERGENCIES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(煤气泄漏|燃气泄漏|漏气|煤气味|燃气味|天然气味)"),
     "如果现在闻到燃气味，请马上开窗、离开屋子，不要开关电器、不要打电话在屋里，到外面拨打119。"),
    (re.compile(r"(着火|起火|失火|火灾|烧起来|冒烟了|火很大)"), "如果现在正在着火，请先离开危险的地方，马上拨打119。"),
    (re.compile(r"(受伤|流血|晕倒|昏迷|不省人事|触电|溺水|掉河里|掉水里|车祸|撞人|喘不上气)"),
     "如果现在有人受伤或有生命危险，请马上拨打120急救电话。"),
    (re.compile(r"(打架|斗殴|打人|持刀|拿刀|抢劫|绑架|砸东西|闹事|有人追我)"), "如果现在正在发生打架或有人身危险，请马上拨打110报警。"),
)  # fmt: skip
RISK = re.compile(
    r"(轻生|自杀|跳楼|跳河|不想活|活不下去|寻死|喝农药|割腕|同归于尽|报复社会|"
    r"集体上访|聚集|堵路|围堵|拉横幅|去政府门口)"
)


@dataclass(frozen=True)
class Screening:
    emergency_advice: tuple[str, ...]
    risk: bool


def screen(text: str) -> Screening:
    advice = tuple(message for pattern, message in EMERGENCIES if pattern.search(text or ""))
    return Screening(emergency_advice=advice, risk=bool(RISK.search(text or "")))


ID_NUMBER = re.compile(r"(?<!\d)(\d{6})(\d{8})(\d{3}[\dXx])(?!\d)")


def mask_id_numbers(text: str) -> str:
    """18-digit ID card numbers keep the first 4 and last 4 characters: 3209**********1234."""
    return ID_NUMBER.sub(lambda m: m.group(0)[:4] + "*" * 10 + m.group(0)[-4:], text)
