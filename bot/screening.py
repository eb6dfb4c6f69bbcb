"""Screening every message for emergencies and risk, as an operator does before anything else.

- emergency: fire, injury, fighting, gas leak… -> tell the citizen at once which number to call
  (110/119/120); the intake goes on (12345 is not an emergency line).
- risk of harm to self or others, or mass incidents -> a human takes over (handoff reason "risk").
- matters already before a court, an arbitration commission or in petition (信访) -> explain the
  channel that handles them (12345 does not take over or interfere with those procedures).
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

# (pattern, the channel explained): matters in a legal procedure are for that procedure.
CHANNELS: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("litigation", re.compile(r"(起诉|上诉|打官司|法院(?:已经|判|立案|开庭|审理|执行)|已经立案|判决|诉讼|开庭)"),
     "您说的事情已经在法院走诉讼程序了。按照规定，已经进入诉讼的事项由法院依法处理，12345不能受理或者干预；"
     "对判决、执行有意见的，可以向法院提出上诉、申诉，需要法律帮助可以拨打12348法律服务热线。"),
    ("arbitration", re.compile(r"(仲裁)"),
     "您说的事情已经申请仲裁了。仲裁期间由仲裁委员会依法处理，12345不能受理或者干预；"
     "劳动争议仲裁的进度可以向县劳动人事争议仲裁院询问，也可以拨打12333。"),
    ("petition", re.compile(r"(信访|上访|信访局|信访办)"),
     "已经走信访程序的事项，按《信访工作条例》由信访部门依法办理，请通过县信访局或者“国家信访局网上信访”"
     "查询和反映，12345不再重复受理同一事项。"),
)  # fmt: skip


@dataclass(frozen=True)
class Screening:
    emergency_advice: tuple[str, ...]
    risk: bool
    channel_advice: tuple[str, ...] = ()  # litigation / arbitration / petition: the right channel
    channels: tuple[str, ...] = ()


def screen(text: str) -> Screening:
    text = text or ""
    advice = tuple(message for pattern, message in EMERGENCIES if pattern.search(text))
    # "集体上访" is a mass incident (risk), not an ongoing petition.
    found = [(kind, message) for kind, pattern, message in CHANNELS if pattern.search(text)]
    risk = bool(RISK.search(text))
    if risk:
        found = [(k, m) for k, m in found if k != "petition"]
    return Screening(
        emergency_advice=advice,
        risk=risk,
        channel_advice=tuple(m for _, m in found),
        channels=tuple(k for k, _ in found),
    )


ID_NUMBER = re.compile(r"(?<!\d)(\d{6})(\d{8})(\d{3}[\dXx])(?!\d)")


def mask_id_numbers(text: str) -> str:
    """18-digit ID card numbers keep the first 4 and last 4 characters: 3209**********1234."""
    return ID_NUMBER.sub(lambda m: m.group(0)[:4] + "*" * 10 + m.group(0)[-4:], text)
