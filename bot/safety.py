"""Emergencies, risk of harm and urgent help, as the dialogue needs them.

The judgement (is this a fire, a knife, self-harm, a crowd?) belongs to the shared risk judge
(county/risk.py, see the board); this module is the dialogue's small interface to it: `judge()`
returns one Alarm with the number to say first, the first practical advice, the urgency and the
partner flag. Until county.risk is on main the patterns come from bot/screening.py.
`urgent_help()` gives the first advice for 求助 that is urgent but not an emergency (a burst
pipe, locked out, an old person alone) with 紧急 urgency.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# kinds
FIRE = "fire"
GAS = "gas"
MEDICAL = "medical"
VIOLENCE = "violence"
SELF_HARM = "self_harm"
HARM_OTHERS = "harm_others"
MASS = "mass"
SOMEONE_AT_RISK = "someone_at_risk"  # a bystander: "有人要跳河"

EMERGENCY_KINDS = (FIRE, GAS, MEDICAL, VIOLENCE, HARM_OTHERS, MASS, SOMEONE_AT_RISK)


@dataclass(frozen=True)
class Alarm:
    kind: str
    number: str  # said in the first sentence: 110 / 119 / 120 / 12356
    first_words: str  # the first sentence, plain
    advice: str  # what to do right now
    urgency: str = "特急"
    flag: str = "110"  # 六方联动 partner the ticket is flagged for


_ALARMS: tuple[tuple[re.Pattern[str], Alarm], ...] = (
    (re.compile(r"(有人|有个人|那个人|一个人|他|她|邻居|老人|小孩|孩子|女的|男的).{0,6}(跳楼|跳河|自杀|轻生|喝农药|割腕)"),
     Alarm(SOMEONE_AT_RISK, "110", "请马上拨打110。", "有人在旁边的话尽量陪着他，别刺激他，等民警赶到。")),
    (re.compile(r"(轻生|自杀|不想活|活不下去|寻死|喝农药|割腕|跳楼|跳河|想死|死了算了|结束生命|想不开)"),
     Alarm(SELF_HARM, "12356", "您愿意说出来，我们很重视。", "", flag="110")),
    (re.compile(r"(同归于尽|报复社会|杀了他|砍死|弄死他|杀了她|弄死她|炸了)"),
     Alarm(HARM_OTHERS, "110", "如果有人马上会有危险，请立刻拨打110报警。", "先离开危险的地方，保护好自己。")),
    (re.compile(r"(煤气泄漏|燃气泄漏|漏气|煤气味|燃气味|天然气味)"),
     Alarm(GAS, "119", "请马上离开屋子，到外面拨打119。",
           "不要开关电灯电器、不要点火，能开窗就开窗，能关的话把燃气总阀关上。")),
    (re.compile(r"(着火|起火|失火|火灾|烧起来|冒烟了|火很大|爆炸)"),
     Alarm(FIRE, "119", "请马上拨打119火警电话。", "人先撤到安全的地方，不要坐电梯，不要回去拿东西。")),
    (re.compile(r"(打架|斗殴|打人|持刀|拿刀|拿着刀|拿着菜刀|举着刀|砍人|捅人|抢劫|绑架|砸东西|有人追我|追着砍|在追人|追人)"),
     Alarm(VIOLENCE, "110", "请马上拨打110报警。", "先离开危险的地方，保护好自己，不要上前。")),
    (re.compile(r"(受伤|流血|晕倒|昏迷|不省人事|触电|溺水|掉河里|掉水里|车祸|撞人|喘不上气|心脏病|中风|抽搐|没有呼吸|没气了)"),
     Alarm(MEDICAL, "120", "请马上拨打120急救电话。", "急救人员到之前不要随意搬动病人，保持呼吸通畅，有人在身边陪着。")),
    (re.compile(r"(集体上访|聚集|堵路|围堵|拉横幅|去政府门口|一群人(?:闹|堵|围)|静坐)"),
     Alarm(MASS, "110", "现场如果已经有冲突或者有人受伤，请马上拨打110。", "", flag="政法委")),
)  # fmt: skip


def alarm_for(kind: str | None) -> Alarm | None:
    """The alarm of a kind judged earlier in the conversation (kept in the `emergency` slot)."""
    return next((alarm for _, alarm in _ALARMS if alarm.kind == kind), None)


def judge(text: str) -> Alarm | None:
    """The most serious alarm the words raise, or None."""
    t = text or ""
    for pattern, alarm in _ALARMS:
        if pattern.search(t):
            return alarm
    return None


@dataclass(frozen=True)
class HelpAdvice:
    kind: str
    advice: str
    urgency: str = "紧急"


_HELP: tuple[tuple[re.Pattern[str], HelpAdvice], ...] = (
    (re.compile(r"(水管|管子|自来水管|暖气管).{0,6}(爆|裂|破|漏|喷)|(爆管|漏水很严重|水漫|淹了)"),
     HelpAdvice("water", "先把家里的总水阀关上（一般在水表旁边或者厨房水槽下面），水漫到插座的话先把电闸拉掉，防止漏电。")),
    (re.compile(r"(锁在(?:门外|外面|里面|屋里)|进不了门|钥匙(?:丢|掉|忘|锁)|门打不开|反锁)"),
     HelpAdvice("locked_out", "如果屋里有老人小孩、开着火或者有人不舒服，请直接拨打110，民警会帮忙；"
                "不着急的话，可以找有公安备案的开锁公司，开锁时要带身份证和住址证明。")),
    (re.compile(r"(独居|一个人在家|孤寡|联系不上|没人照顾|老人.{0,6}(?:摔|倒|不开门|没动静|走丢|走失)|走丢|走失)"),
     HelpAdvice("elderly_alone", "如果担心老人现在有危险，请马上拨打110或120，请民警、医生上门；"
                "我们也会通知社区（村）网格员尽快上门看看。")),
    (re.compile(r"(停电|没电了|跳闸|电线(?:掉|断|冒火花))"),
     HelpAdvice("power", "先看看家里的电闸有没有跳；电线掉落或者冒火花千万别靠近，供电抢修可以直接打95598。")),
    (re.compile(r"(停水|没水了|没有水)"),
     HelpAdvice("no_water", "先问问邻居是不是也停了，家里备点水；我们请供水部门尽快查明原因、告诉您什么时候恢复。")),
)  # fmt: skip


def urgent_help(text: str) -> HelpAdvice | None:
    t = text or ""
    for pattern, advice in _HELP:
        if pattern.search(t):
            return advice
    return None


CRISIS_LINE = "12356"
