"""Emergencies, risk of harm and urgent help, as the dialogue needs them.

The judgement (is this a fire, a knife, self-harm, a crowd?) belongs to the shared risk judge
(county/risk.py, see the board); this module is the dialogue's small interface to it: `judge()`
returns one Alarm with the number to say first, the first practical advice, the urgency and the
partner flag. The words are read with the guards of the county's risk judge (county/risk.py).
`urgent_help()` gives the first advice for 求助 that is urgent but not an emergency (a burst
pipe, locked out, an old person alone) with 紧急 urgency.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import yaml

from county.risk import DEFAULT_RULES, RiskJudge

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


# The bot's alarms, each read with the guards of the county's risk judge (county/risk.py and
# county/<county>/linkage.yml: negation, hyperbole, news, a finished past, a hypothetical) plus the
# few below that only the dialogue needs. Order = seriousness: the first unguarded one is said.
# A guard drops only what an operator would be sure about: "热得跟着火了一样", "没有着火",
# "不是打架", "新闻上说有人拿刀砍人", "上个月着火那家到现在没人管" — never "着火了 快来人".
_ALARM_SPECS: tuple[tuple[Alarm, dict[str, Any]], ...] = (
    (Alarm(SOMEONE_AT_RISK, "110", "请马上拨打110。", "有人在旁边的话尽量陪着他，别刺激他，等民警赶到。"),
     {"match": r"(有人|有个人|那个人|一个人|他|她|邻居|老人|小孩|孩子|女的|男的).{0,6}(跳楼|跳河|自杀|轻生|喝了?农药|割腕|上吊|吃了?(?:一瓶|很多|好多)?安眠药)",
      "unless": ["negation", "figure", "news", "past_over", "finished", "quoted", "maybe"]}),
    (Alarm(SELF_HARM, "12356", "您愿意说出来，我们很重视。", "", flag="110"),
     {"match": r"(轻生|自杀|不想活|活不下去|活着(?:没|没有)(?:意思|意义|盼头)|不如死了|寻死|喝农药|割腕|跳楼(?!价|甩卖)|跳河|想死|死了算了|结束生命|想不开|一死了之"
               r"|(从|在)[^,。]{0,6}(楼|桥|楼顶|天台|顶楼)上?跳(下去|下来)?|跳下去|上吊)",
      "unless": ["negation", "figure", "news", "past_over", "finished", "quoted"]}),
    (Alarm(HARM_OTHERS, "110", "如果有人马上会有危险，请立刻拨打110报警。", "先离开危险的地方，保护好自己。"),
     {"match": r"(同归于尽|报复社会|杀了他|砍死|弄死他|杀了她|弄死她|弄死我|杀了我(?:全家)?|要杀我|砍死我|炸了(?:他|她|你|他们|政府|他家|她家))",
      "unless": ["negation", "hyperbole", "news", "past_over", "finished", "quoted"]}),
    (Alarm(GAS, "119", "请马上离开屋子，到外面拨打119。", "不要开关电灯电器、不要点火，能开窗就开窗，能关的话把燃气总阀关上。"),
     {"match": r"(煤气泄漏|燃气泄漏|漏气|煤气味|燃气味|天然气味|液化气味)",
      "unless": ["negation", "news", "past_over", "finished", "quoted", "maybe", "habitual"]}),
    (Alarm(FIRE, "119", "请马上拨打119火警电话。", "人先撤到安全的地方，不要坐电梯，不要回去拿东西。"),
     {"match": r"((?:发生|引发)?(?:了)?(?:着火|起火|失火|火灾|烧起来|冒烟了|爆炸))",
      "unless": ["negation", "hyperbole", "news", "past_over", "finished", "quoted", "maybe", "habitual"]}),
    (Alarm(FIRE, "119", "请马上拨打119火警电话。", "人先撤到安全的地方，不要坐电梯，不要回去拿东西。"),
     {"match": r"(火(?:很|好|特别|太)大|(?:屋里|家里|楼道里?|房间里?|楼上|楼下|满屋子?)[^,。]{0,3}(?:都是烟|全是烟|(?<!油)烟(?:很|好|特别|太)大))",
      "unless": ["negation", "hyperbole", "news", "past_over", "finished", "quoted", "maybe", "habitual", "cooking"]}),
    (Alarm(VIOLENCE, "110", "请马上拨打110报警。", "先离开危险的地方，保护好自己，不要上前。"),
     {"match": r"(打架|斗殴|打人|持刀|拿刀|拿着刀|拿着菜刀|拿着(?:把|一把)?(?:菜|砍|水果|杀猪)?刀|举着刀|砍人|捅人|抢劫|绑架|砸东西"
               r"|有人追我|追着砍|在追人|追人|追着(?:他|她|我)?(?:老婆|老公|媳妇|孩子|男人|女人)?(?:砍|打))"
               # "他打我 我现在躲在厕所里" / "外面打起来了" / "有人在砸我家门" / "孩子被人绑走了"
               r"|(?:要|在|又|他|她|老公|男人|有人)打我|打起来了|砸(?:我家)?门|砸我家|被人?绑走|绑走了|抢走了?(?:我)?(?:孩子|小孩)"
               r"|救命.{0,8}(?:有人|他|她|砸|打|追|抢|刀|快来)|(?:有人|他|她).{0,8}救命",
      "unless": ["negation", "hyperbole", "news", "past_over", "finished", "quoted", "maybe", "incidents", "kitchen"]}),
    (Alarm(MEDICAL, "120", "请马上拨打120急救电话。", "急救人员到之前不要随意搬动病人，保持呼吸通畅，有人在身边陪着。"),
     {"match": r"(受伤|流血|晕倒|昏迷|不省人事|触电|溺水|掉河里|掉水里|喘不上气|心脏病(?:发|犯)|中风|抽搐|没有呼吸|没气了"
               r"|躺在(?:地上|路上|路中间|马路上|路边)(?:一动)?不动|倒在(?:地上|路上|路边)"
               # "孩子发高烧 抽筋了" / "我爸摔倒了 起不来" / "叫不醒"
               r"|抽筋了|(?:高烧|发烧).{0,6}(?:抽|不醒|说胡话)|摔(?:倒|跤)了?.{0,6}(?:起不来|动不了|不能动|流血|不醒)|(?:叫|喊)不醒(?!的)|没(?:有)?意识)",
      "unless": ["negation", "hyperbole", "news", "past_over", "finished", "quoted", "maybe", "habitual"]}),
    # A crash is 120 when someone is hurt or lying there; "出车祸了 没人受伤" is a traffic matter.
    (Alarm(MEDICAL, "120", "请马上拨打120急救电话。", "急救人员到之前不要随意搬动病人，保持呼吸通畅，有人在身边陪着。"),
     {"match": r"(车祸|撞人|撞了人|撞倒|被车撞|撞到人|相撞|翻车)",
      "with": r"(受伤|伤了|伤得|流血|出血|是血|躺|倒在|倒地|不动|昏迷|没反应|送医院|救护车|120|抢救|死了|起不来|骨折|人不行了)",
      "unless": ["negation", "news", "past_over", "finished", "quoted", "maybe", "habitual"]}),
    (Alarm(MASS, "110", "现场如果已经有冲突或者有人受伤，请马上拨打110。", "", flag="政法委"),
     {"match": r"(集体上访|聚集|堵路|围堵|拉横幅|去政府门口|一群人(?:闹|堵|围)|静坐)",
      "unless": ["negation", "news", "question", "quoted", "habitual"]}),
)  # fmt: skip

# Guards only the dialogue needs, beside the county's.
_DIALOGUE_GUARDS = {
    "finished": {
        "why": "已经过去的一件事（昨天、上个月…），现在没有危险：是来跟进的，不是报警",
        # a day in the past in the same sentence, and nothing saying it goes on now
        "sentence": r"^(?![^。!?;]*((?<![到至])现在|正在|还在|又在|又开始|快来|赶紧|快点|救命|马上|越来越))[^。!?;]*"
                    r"(昨天|昨晚|前天|上周|上礼拜|上星期|上个?月|去年|前年|前几天|前些天|那天|上次|之前|以前|[一二三四五六七八九十两几\d]+(个)?(天|月|年)(前|以前|之前))",
    },
    "quoted": {"why": "引号里的说法、转述别人的话", "wrap": r"^[“\"‘「『][”\"’」』]$",
               "sentence_before": r"(说什么|骂我|骂他|吓唬|开玩笑|比喻|形容)"},
    # For risk of harm, distress is not a figure of speech: "被逼得想跳河" is taken seriously,
    # "吵得我想死" / "熏得想跳楼" are not (the county's hyperbole guard counts 逼得/愁得 too).
    "figure": {"why": "夸张说法（吵得、熏得、气得…）",
               "before": r"((熏|吵|气|烦|急|闹|臭|热|冷|晒|堵|震|闷|恶心|憋|馋|笑|吃|难吃|难喝|累|忙|疼|痛|困|饿|丑|难看)得.{0,5}|恨不得.{0,3}|简直.{0,3})$",
               "after": r"^.{0,4}(的心都有|一样|似的|一般)"},
    "cooking": {"why": "做饭烧烤的火，不是火情", "before": r"(烧烤|炒菜|灶|炉子?|烤串)的?$"},
    "kitchen": {"why": "拿刀切菜、杀鱼：厨房里的刀", "after": r"^.{0,3}(切|剁|削|杀鱼|杀鸡|做饭)"},
    "maybe": {"why": "担心、万一、隐患：不是眼前的事",
              "before": r"(担心|害怕|生怕|万一|如果|假如|一旦|要是|以免|避免|预防|防止|谨防|以防|防范|容易|可能会?|会不会|怕)[^,]{0,4}$",
              "after": r"^.{0,3}(隐患|风险|的可能|危险吗|怎么办)"},
}


@lru_cache(maxsize=1)
def _alarm_judge() -> tuple[RiskJudge, dict[str, Alarm]]:
    """One RiskJudge over the bot's alarms, with the county's vocabulary and guards (no second copy)."""
    county = yaml.safe_load(DEFAULT_RULES.read_text(encoding="utf-8")) or {}
    signals = []
    by_id: dict[str, Alarm] = {}
    for i, (alarm, spec) in enumerate(_ALARM_SPECS):
        sid = f"{alarm.kind}_{i}"
        by_id[sid] = alarm
        signals.append({"id": sid, "why": alarm.kind, "partners": ["110"], **spec})
    rules = {
        "vocabulary": county.get("vocabulary") or {},
        "guards": {**(county.get("guards") or {}), **_DIALOGUE_GUARDS},
        "partners": county.get("partners") or [],
        "signals": signals,
    }
    return RiskJudge(rules), by_id


def alarm_for(kind: str | None) -> Alarm | None:
    """The alarm of a kind judged earlier in the conversation (kept in the `emergency` slot)."""
    return next((alarm for alarm, _ in _ALARM_SPECS if alarm.kind == kind), None)


def judge(text: str) -> Alarm | None:
    """The most serious alarm the words raise, once the guards have read them in context, or None."""
    if not text:
        return None
    risk_judge, by_id = _alarm_judge()
    reasons = risk_judge.judge(text).reasons
    return by_id[reasons[0].rule] if reasons else None


@dataclass(frozen=True)
class HelpAdvice:
    kind: str
    advice: str
    urgency: str = "紧急"


_HELP: tuple[tuple[re.Pattern[str], HelpAdvice], ...] = (
    (re.compile(r"(水管|管子|自来水管|暖气管).{0,6}(爆|裂|破|漏|喷)|(爆管|漏水很严重|水漫|淹了|淹到|倒灌|进水了)"),
     HelpAdvice("water", "先把家里的总水阀关上（一般在水表旁边或者厨房水槽下面），水漫到插座的话先把电闸拉掉，防止漏电。")),
    (re.compile(r"(锁在(?:门外|外面|里面|屋里)|进不了门|钥匙(?:丢|掉|忘|锁)|门打不开|反锁)"),
     HelpAdvice("locked_out", "如果屋里有老人小孩、开着火或者有人不舒服，请直接拨打110，民警会帮忙；"
                "不着急的话，可以找有公安备案的开锁公司，开锁时要带身份证和住址证明。")),
    (re.compile(r"(独居|一个人在家|孤寡|联系不上|没人照顾|老人.{0,12}(?:摔|倒|不开门|没动静|没人应|没出门|走丢|走失)|走丢|走失)"),
     HelpAdvice("elderly_alone", "如果担心老人现在有危险，请马上拨打110或120，请民警、医生上门；"
                "我们也会通知社区（村）网格员尽快上门看看。")),
    (re.compile(r"(小孩|孩子|小朋友|婴儿|宝宝).{0,10}(一个人在家|没人管|没人看|大人(?:好像)?不在|家长(?:好像)?不在|锁在|哭了?(?:好|很)?(?:几|半)个?(?:小时|钟头))"),
     HelpAdvice("child_alone", "如果孩子现在可能有危险、又联系不上家长，请直接拨打110，民警会上门；"
                "我们也会通知社区（村）网格员尽快去看看。")),
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
