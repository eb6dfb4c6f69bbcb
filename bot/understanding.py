"""What a citizen's turn is, before anything is stored: an answer (and to which fields, each with
its own part of the words) or something else — leaving, asking for a person, a question back,
a complaint about the bot, chitchat, "I was only asking", a new matter.

An operator hears "就卫深院后面那排房子 我姓吴 电话幺五零零…" as three answers (place, surname,
phone) and "人呢 怎么没人理我" as no answer at all. Pure functions, unit-tested in
tests/rasa/test_understanding.py; actions/intake_logic.py applies the result to the form.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.numbers import find_phone_candidates, normalize_digits
from bot.parsing import extract_anonymous, extract_name, extract_time, has_substance, is_gibberish

# Kinds of turn that are not an answer to the question asked.
LEAVING = "leaving"
PERSON = "person"
NOT_A_REPORT = "not_a_report"
BOT_COMPLAINT = "bot_complaint"
BOT_CHALLENGE = "bot_challenge"
QUESTION = "question"
VENTING = "venting"
UNCLEAR_NO = "unclear_no"  # a bare "不用了" at the read-back: no change needed, or no ticket wanted?
NEW_MATTER = "new_matter"
DETAIL = "detail"  # more about the matter, said to a question about something else ("天天晚上还在打桩" to 怎么称呼)
ANSWER = "answer"

_PUNCT = r"[\s，,。.！!？?～~、…：:；;“”\"'（）()]"

# Words people use to end a call or a chat. "算了" alone is leaving; "算了，地址写镇上吧" is not.
_LEAVE_PHRASE = (
    r"(?:没事了?|没什么事了?|没啥事了?|不说了|不想说了|不讲了|不聊了|再见|拜拜|拜了?|886|88|bye|不用了|不需要了|挂了|我挂了|先挂了"
    r"|算了|算了吧|不登记了|不反映了|不投诉了|不举报了|不办了|不弄了|不要了|先这样吧?|就这样吧|那就这样|下次再说|以后再说|回头再说"
    r"|我自己(?:去)?(?:找|问|解决|处理)(?:一下|吧)?|不麻烦(?:你们)?了|不打扰了|谢谢(?:你|你们|啦)?|好的?|嗯+|哦+|那|啊|吧|呀|了|行|唉|哎"
    # "算了 太麻烦了" / "不说了 我还有事" / "唉 算了 说了也没用" / "我再考虑考虑" / "等会儿再打"
    r"|那就|就|我|哎呀|太麻烦了|麻烦(?:你|你们|您)?了|我还有事|有事|我?(?:先)?(?:去)?忙(?:去)?了|不想弄了|先不弄了"
    r"|先不(?:登记|反映|说|办)了|不要?(?:你们)?(?:处理|管)了|没用(?:的)?|说了也没用|改天再说吧?|我?再(?:考虑|想想)(?:考虑|一下)?"
    r"|等会儿?再(?:打|说)(?:吧)?|不想说了)"
)
_LEAVE_WHOLE_RE = re.compile(rf"^(?:{_LEAVE_PHRASE})+$", re.IGNORECASE)
# At least one of these must be in a leaving turn (好的/谢谢 alone are not leaving).
_LEAVE_CORE_RE = re.compile(
    r"(没事了|没什么事|没啥事|不说了|不想说了|不讲了|不聊了|再见|拜拜|886|bye|不用了|不需要了|挂了|算了|不登记了|不反映了"
    r"|不投诉了|不举报了|不办了|不弄了|不要了|先这样|就这样吧|那就这样|下次再说|以后再说|回头再说|不麻烦|不打扰了|我自己"
    r"|还有事|忙了|忙去了|没用|改天再说|再考虑|再想想|再打|先不(?:登记|反映|说|办)了|不想说了|不要?(?:你们)?(?:处理|管)了)",
    re.IGNORECASE,
)
# Strong endings that close the turn even after a few more words ("我再想想吧，拜拜").
_LEAVE_END_RE = re.compile(r"(再见|拜拜|挂了|不说了|不聊了|886|bye)[了啊吧哦呀。！!～~\s]*$", re.IGNORECASE)

_PERSON_RE = re.compile(
    r"(转人工|人工(?:客服|坐席|服务)?|真人|活人|接线员|找个人|找人(?:跟我|和我)?(?:说|讲|聊)|要跟人说|工作人员(?:来|接)|找你们领导|找领导)"
)
_NOT_A_REPORT_RE = re.compile(
    r"(我就(?:是)?(?:问问|问一下|随便问问|了解一下|想问问)|只是(?:问问|问一下|了解一下|想问)|不是要(?:反映|投诉|举报|登记)"
    r"|不(?:用|要|想)登记|不想投诉|没想投诉|随便问问|就是问问)"
)
_BOT_COMPLAINT_RE = re.compile(
    r"(人呢|没人理|怎么不(?:说话|回|理)|不理我|有人吗|有没有人|听不懂人话|听不懂吗|答非所问|怎么又问|又问|问过了|说过了|刚才(?:说|讲)过|"
    r"刚才不是说了|不是说了吗|你听不懂|你(?:这|个)?(?:破|傻|笨)|智障|什么破|烦死了|有完没完|还要问|问这么多|怎么这么多问题)"
)
_VENTING_RE = re.compile(
    r"(气得|气死|烦死|急死|恨死|受不了了?|太过分了?|太欺负人|什么东西|真是的|岂有此理|没天理|想骂人|(?:简直|真)(?:是)?(?:太)?(?:离谱|过分|气人))"
)
_BOT_CHALLENGE_RE = re.compile(r"(机器人|人工智能|是不是人|是真人吗|你是谁|是AI|是机器|自动回复)", re.IGNORECASE)
_QUESTION_RE = re.compile(
    r"(为什么|为啥|干嘛|凭什么|怎么还要|要多久|多长时间|多久|(?<![前这好近])几天(?![前了])|啥叫|什么叫|啥是|是啥|会不会|能不能|可不可以|有没有用|有用吗|管不管|管用吗|靠谱吗|"
    r"什么意思|啥意思|是什么|要干嘛|谁能看到|会告诉|会泄露|保密吗|收费吗|要钱吗|[吗呢嘛][？?]?$|[？?]$)"
)
_NEW_MATTER_RE = re.compile(
    r"^(?:哦|噢|啊)?(?:对了)?(?:另外|还有|我还)+(?:有)?(?:一件事|一个事|个事|件事|一个问题|个问题)|^(?:我)?(?:还|另外)(?:要|想)(?:投诉|举报|反映|咨询|求助)"
    r"|^(?:哦|噢|啊)?(?:对了)?(?:再|另外)(?:反映|投诉|举报)(?:一个|一件|个)"
    r"|^(?:哦|噢|啊)?(?:对了)?(?:我)?(?:还|另外)(?:要|想)(?:投诉|举报|反映|咨询|求助)"
)
# Lead-ins of a clause that answers another field: the text is cut before them.
_FIELD_MARK_RE = re.compile(
    r"(?=(?:我叫|我姓|免贵姓|本人姓|我名字|名字叫|名字是|叫我|我是(?=(?:老|小)?[\u4e00-\u9fa5]{1,3}(?:先生|女士|阿姨|师傅|大爷|大妈|老师|$|[，,\s]))"
    r"|(?:我的)?(?:手机号码|电话号码|手机号|联系电话|手机|电话|号码|联系方式)(?=[是为：:\s]*\d)))"
)
# The citizen declines the field asked, not the conversation: "名字不说了", "电话就不留了 算了".
_PHONE_REFUSAL_RE = re.compile(
    r"((?:电话|号码|手机)(?:号码?)?(?:就)?(?:不(?:想|方便|愿意)?(?:留|给|说)|算了|不用了)|不(?:想|方便|愿意)?(?:留|给)(?:电话|号码|手机)"
    r"|(?:不用了|不要了|算了)?我?不想留|不留(?:了|吧)?$)"
)
# A bare "no need" (politely said) at a yes/no question.
_BARE_NO_RE = re.compile(r"(?:那)?(?:就)?(?:不用|不需要|不要|不用不用)了?(?:吧)?(?:谢谢(?:你|您|啦)?|麻烦(?:你|您)?了)?")
_PHONE_LEAD_RE = re.compile(r"^(?:我的|联系)?(?:手机号码|电话号码|手机号|联系电话|手机|电话|号码|联系方式)(?:号码)?(?:是|为|：|:)?")


@dataclass(frozen=True)
class Parts:
    """A turn split into what answers each field."""

    name_clauses: tuple[str, ...] = ()
    phone_clauses: tuple[str, ...] = ()
    time_clauses: tuple[str, ...] = ()
    rest: str = ""  # what is left: the place when the place was asked, the matter otherwise


@dataclass(frozen=True)
class Understanding:
    kind: str  # ANSWER or one of the non-answers above
    parts: Parts


def _bare(text: str) -> str:
    return re.sub(_PUNCT + "+", "", text or "")


def is_leaving(text: str) -> bool:
    """ "没事了，不说了，再见", "算了拜拜", "不用了" — the citizen ends the conversation."""
    bare = _bare(text).lower()
    if not bare or not _LEAVE_CORE_RE.search(bare):
        return False
    if _LEAVE_WHOLE_RE.fullmatch(bare):
        return True
    # "我再想想吧，拜拜" / "那我自己去问问村里吧 再见": short, no matter in it, ends with goodbye.
    return bool(_LEAVE_END_RE.search(text.strip())) and len(bare) <= 16 and not find_phone_candidates(text)


_NEW_MATTER_LEAD_RE = re.compile(
    r"^[\s，,。]*(?:哦|噢|啊)?[\s，,]*(?:对了)?[\s，,]*(?:(?:另外|还有|我还)+(?:有)?(?:一件事|一个事|个事|件事|一个问题|个问题)(?:啊|哈)?"
    r"|(?:再|另外)(?=反映|投诉|举报)|(?:我)?(?:还|另外)(?:要|想)(?=投诉|举报|反映|咨询|求助))[\s，,。：:！!]*"
)


def new_matter_words(text: str) -> str:
    """ "对了还有个事 我家门口路灯也坏了" -> "我家门口路灯也坏了" (the other matter, without the lead-in)."""
    return _NEW_MATTER_LEAD_RE.sub("", text or "", count=1).strip()


def refuses_phone(text: str) -> bool:
    """ "电话就不留了 算了" / "不用了 我不想留": no phone, said to the phone question."""
    return bool(_PHONE_REFUSAL_RE.search(_bare(text))) and not find_phone_candidates(text)


def says_goodbye(text: str) -> bool:
    """ "好的 拜拜" / "没问题 挂了啊" / "嗯嗯 就这样吧": a goodbye said with the turn."""
    return bool(_GOODBYE_RE.search(_bare(text)))


def cancels(text: str) -> bool:
    """ "好的 算了" / "行 不登记了": the turn takes the report back, whatever yes-word it starts with."""
    return bool(_CANCEL_RE.search(_bare(text)))


_GOODBYE_RE = re.compile(r"(再见|拜拜|886|bye|挂了|就这样吧|先这样|那就这样|不说了|不聊了|不打扰了)", re.IGNORECASE)
_CANCEL_RE = re.compile(r"(算了|不登记了|不反映了|不投诉了|不举报了|不办了|不弄了|不要了|不用登记|不想登记|先不登记|不提交|别提交|不用提交)")


def _clauses(text: str) -> list[str]:
    t = normalize_digits(text)
    t = _FIELD_MARK_RE.sub("\n", t)
    return [c.strip() for c in re.split(r"[，,。！!；;\n]|\s+", t) if c.strip()]


def _is_name_clause(clause: str) -> bool:
    if extract_anonymous(clause):
        return bool(re.fullmatch(r"(?:我)?(?:要|想)?(?:匿名|不想留(?:名字|姓名)|不留(?:名字|姓名|名)|名字不(?:说|留)了?)(?:吧|啊)?", _bare(clause)))
    if not extract_name(clause):
        return False
    return bool(
        re.fullmatch(
            r"(?:我|本人|免贵)?(?:姓|叫|是|名字叫|名字是|叫我)[\u4e00-\u9fa5]{1,4}(?:就行|就可以|吧|啊)?|"
            r"(?:老|小)?[\u4e00-\u9fa5]{1,2}(?:先生|女士|阿姨|师傅|大爷|大妈|老师|小姐|大姐|大哥)",
            _bare(clause),
        )
    )


def _is_time_clause(clause: str) -> bool:
    when = extract_time(clause)
    if not when:
        return False
    rest = _bare(clause).replace(_bare(when), "", 1)
    rest = re.sub(r"^(?:就|是|大概|差不多|应该是|好像是)|(?:开始的?|的时候|就有了|左右|的|了|吧|啊|发生的|那会儿|那时候|出的事)+$", "", rest)
    return len(rest) <= 1


# A part of the day alone ("晚上一片黑", "楼下烧烤店晚上油烟大") describes the condition, not when it
# began: an operator still asks "从什么时候开始的". It is a when with a day, a clock time, a recurrence
# ("每天晚上"), "从…" before it or an event after it ("早上上班路上看到的", "晚上开始停电的").
_PART_OF_DAY_RE = re.compile(r"(?:早上|上午|中午|下午|晚上|夜里|夜间|凌晨|半夜|傍晚|白天|一直|老是|总是)")
_WHEN_BEFORE_RE = re.compile(r"(?:从|自从|打)$")
_WHEN_AFTER_RE = re.compile(r"^[^，,。！!；;\s]{0,8}?(?:开始|的时候|那会|发生|出的事|出事|看到|看见|发现|碰到|遇到|起)")


def time_answer(text: str, *, asked: bool) -> str | None:
    """The time the turn gives as the answer to "什么时候", or None.

    Asked, any time words answer it ("晚上"); not asked, a bare part of the day in the description
    of the problem is the condition ("路灯坏了 晚上一片黑"), while "昨天晚上开始的" or
    "每天晚上十点以后" still say when.
    """
    if asked:
        return extract_time(text)
    for clause in re.split(r"[，,。！!；;\n]|\s+", text or ""):
        when = extract_time(clause)
        if not when or _RECURRENCE_ONLY_RE.fullmatch(when):
            continue  # "油烟天天往窗户里灌": how often, not since when — the time is still asked
        if _PART_OF_DAY_RE.sub("", when):
            return when  # a day, a clock time, a span or a recurrence
        at = clause.find(when)
        if _WHEN_BEFORE_RE.search(clause[:at]) or _WHEN_AFTER_RE.search(clause[at + len(when) :]):
            return when
    return None


def split_parts(text: str) -> Parts:
    """ "就卫深院后面那排房子 我姓吴 电话15000000000" -> rest 就卫深院后面那排房子, name 我姓吴, phone…"""
    names: list[str] = []
    phones: list[str] = []
    times: list[str] = []
    rest: list[str] = []
    for clause in _clauses(text):
        if find_phone_candidates(clause):
            phones.append(clause)
            leftover = _PHONE_LEAD_RE.sub("", clause)
            for cand in sorted(find_phone_candidates(leftover), key=lambda c: c.start, reverse=True):
                leftover = leftover[: cand.start] + leftover[cand.end :]
            if len(_bare(leftover)) >= 4:
                rest.append(leftover.strip())
        elif _is_name_clause(clause):
            names.append(clause)
        elif _is_time_clause(clause):
            times.append(clause)
        else:
            rest.append(clause)
    return Parts(tuple(names), tuple(phones), tuple(times), " ".join(rest))


def classify(text: str, *, requested_slot: str | None) -> Understanding:
    """Is this turn an answer to the question asked, and if not, what is it?"""
    parts = split_parts(text)
    bare = _bare(text)
    bare_no = bool(_BARE_NO_RE.fullmatch(bare))
    if requested_slot == "report_confirmed" and bare_no:
        return Understanding(UNCLEAR_NO, parts)
    if bare_no and requested_slot in ("confidential", "phone_use_caller"):
        return Understanding(ANSWER, parts)  # "不用了" to "需要保密吗" / "还用这个号码吗" is the answer "no"
    if requested_slot == "citizen_name" and extract_anonymous(text):
        return Understanding(ANSWER, parts)  # "算了吧 名字不说了": anonymous, not leaving
    if requested_slot in ("phone", "phone_use_caller") and refuses_phone(text):
        return Understanding(ANSWER, parts)
    if is_leaving(text):
        return Understanding(LEAVING, parts)
    answers_something = bool(parts.name_clauses or parts.phone_clauses or parts.time_clauses) or (
        requested_slot == "incident_time" and bool(extract_time(text)) and not re.search(r"[？?]$", text.strip())
    )  # "哎呀就前几天开始的吧 我也记不清了" answers "什么时候"
    if _PERSON_RE.search(bare) and not answers_something:
        return Understanding(PERSON, parts)
    wants_something = bool(re.search(r"((?<!不)是要|(?<!不)是想|而是|要你们|请你们|麻烦你们|帮(?:我|忙)|给(?:我|我们)(?:修|补|弄|处理))", bare))
    if _NOT_A_REPORT_RE.search(bare) and not answers_something and not wants_something:
        # "我不是要投诉物业 是要你们来把井盖补上" says what is wanted: the report goes on
        return Understanding(NOT_A_REPORT, parts)
    if _NEW_MATTER_RE.search(bare):
        return Understanding(NEW_MATTER, parts)
    if answers_something:
        return Understanding(ANSWER, parts)
    if requested_slot not in (None, "description", "correction_request") and _VENTING_RE.search(bare) and len(bare) <= 20:
        return Understanding(VENTING, parts)  # "气得我想把食堂炸了" said to "具体在哪": feelings, not a place
    if _BOT_COMPLAINT_RE.search(bare) and len(bare) <= 20:
        return Understanding(BOT_COMPLAINT, parts)
    if _BOT_CHALLENGE_RE.search(bare) and len(bare) <= 16:
        return Understanding(BOT_CHALLENGE, parts)
    if requested_slot not in (None, "description", "correction_request") and _QUESTION_RE.search(bare) and len(bare) <= 24:
        # "为什么要留电话" / "要多久啊" asked back; "路灯坏了谁管啊" is still the matter when it was asked.
        return Understanding(QUESTION, parts)
    if requested_slot == "confidential" and fears_retaliation(text):
        return Understanding(ANSWER, parts)  # "我怕他报复我": keep it from them
    if requested_slot in _DETAIL_SLOTS and not answers_something and is_matter_detail(text):
        # "天天晚上十一二点还在打桩" to "怎么称呼您": kept with the matter, the name asked again
        return Understanding(DETAIL, parts)
    return Understanding(ANSWER, parts)


# Questions whose answer is short and closed: a longer turn about the matter said to them is a detail.
_DETAIL_SLOTS = ("citizen_name", "phone", "phone_use_caller", "confidential", "incident_time")
_NOT_DETAIL_RE = re.compile(
    r"(保密|匿名|号码|电话|手机|名字|姓名|称呼|我姓|我叫|^还是|刚才(?:那个|留的|说的)|(?:那个|这个|同一个)号|一样的?$"
    r"|[吗呢嘛][？?]?$|[？?]$)"
)
# A short question ("你们几点下班") is asked back; "…过年怎么办" at the end of a long turn is part of the matter.
_SHORT_QUESTION_RE = re.compile(r"(几点|几号|什么时候|怎么|哪里|哪儿|谁|多久|多少)")


def is_matter_detail(text: str) -> bool:
    """ "不是打架啊 就是在那吆喝" / "我不是要投诉物业 是要你们来把井盖补上": words about the matter
    itself (a fact, what is wanted), not an answer to a closed question and not about the citizen."""
    bare = _bare(text)
    if len(re.findall(r"[\u4e00-\u9fa5]", bare)) < 6 or find_phone_candidates(text) or _NOT_DETAIL_RE.search(bare):
        return False
    if extract_anonymous(text) or extract_name(text):
        return False
    if len(bare) <= 12 and _SHORT_QUESTION_RE.search(bare):
        return False
    return has_substance(text) and not is_gibberish(text)


# A bare habit or part of the day ("天天", "每天晚上", "老是") inside a sentence about the matter
# says how often, not since when: to "什么时候发生的" an operator still asks "从什么时候开始的".
_BARE_RECURRENCE_RE = re.compile(
    r"(?:天天|每天|每晚|经常|老是|总是|一直|整天|成天|长期|时不时|动不动)?(?:早上|上午|中午|下午|晚上|夜里|夜间|凌晨|半夜|傍晚|白天)?"
)


_TIME_FILLER_RE = re.compile(
    r"(?:哎呀|哎|唉|嗯|啊|呀|吧|呢|哦|就是|就|是|大概|好像|差不多|应该|可能|估计|反正|开始的?|的时候|左右|那会儿?|那时候|发生的"
    r"|我也|我|记不清|记不太清|不记得|不太清楚|不清楚|忘了|具体|的|了|也|有|吧)"
)


def time_detail(text: str, when: str) -> bool:
    """Does the turn say more than the time ("就是天天在那吆喝 吵得人想死"), or only the time and
    hedges ("哎呀就前几天开始的吧 我也记不清了")?"""
    rest = _bare(text).replace(_bare(when), "", 1) if when else _bare(text)
    rest = _TIME_FILLER_RE.sub("", rest)
    return len(re.findall(r"[\u4e00-\u9fa5]", rest)) >= 4 and not _NOT_DETAIL_RE.search(rest)


_FEAR_RE = re.compile(r"(怕|担心|害怕).{0,6}(报复|知道是我|找我麻烦|找上门|打击|穿小鞋|记恨)")


def fears_retaliation(text: str) -> bool:
    """ "我怕他报复我" to "需要保密吗": yes, keep it from them."""
    return bool(_FEAR_RE.search(_bare(text)))


_PROBLEM_RE = re.compile(
    r"(吵|噪音|施工|打桩|装修|吆喝|喇叭|坏了|坏掉|堵了|堵死|漏水|渗水|臭|油烟|扰民|不管|没人管|乱收费|拖欠|欠薪|停水|停电|乱停|乱扔|乱倒"
    r"|冒烟|污染|偷|骗|打人|骂人|欺负|天天|每天|一直|老是|总是)"
)
_PLACE_WORD_RE = re.compile(
    r"(村|镇|街道|路|街|巷|小区|社区|花园|家园|新村|门口|旁边|对面|后面|前面|楼|栋|号|院|厂|店|学校|医院|市场|超市|公园|广场|桥|河"
    r"|附近|这边|那边|那里|这里|家里|家|单位|公司|工地|食堂)"
)


def not_a_place(words: str) -> bool:
    """ "天天晚上十一二点还在打桩" / "从九月份开始就没发" said to "在什么地方": the trouble or the time
    again, with no place word in it."""
    bare = _bare(words)
    if len(bare) < 5 or _PLACE_WORD_RE.search(bare):
        return False
    return bool(_PROBLEM_RE.search(bare) or extract_time(bare) or _CN_DATE_RE.search(bare))


# "九月份" / "十月三号": dates in Chinese numerals (bot/parsing.py's time words read digits)
_CN_DATE_RE = re.compile(r"[一二三四五六七八九十]{1,3}月(?:份|初|底|中旬)?|[一二三四五六七八九十]{1,3}(?:号|日)(?![楼栋院室])")


_RECURRENCE_ONLY_RE = re.compile(r"(?:天天|每天|每晚|经常|老是|总是|一直|整天|成天|长期|时不时|动不动)")


def is_bare_recurrence(when: str) -> bool:
    return bool(when) and bool(_BARE_RECURRENCE_RE.fullmatch(_bare(when)))


def detail_words(text: str, *, without: str = "") -> str:
    """The words of a detail to add to the matter: lead-in politeness dropped, the time clause
    (`without`) taken out when it was its own answer."""
    t = text
    if without and without in t:
        t = t.replace(without, " ", 1)
    t = re.sub(r"^[\s，,。！!]*(?:哦|噢|嗯|啊|唉|哎|对了|还有)*[\s，,。！!]*", "", t)
    return drop_lead_ins(t).strip(" ，,。")


# What people say before the matter that is not the matter: "你们管不管啊", "有没有人管", "我跟你说".
_LEAD_IN_RE = re.compile(
    r"^(?:[\s，,。！!？?～~、…]*(?:喂+|你好+|您好+|哎+|唉+|嗯+|那个|(?:喂+)?(?:听得到|听得见|能听到|听到|听见)(?:吗|没|了吗)|就是|是这样的?|这样的|我跟(?:你|你们|您)(?:说|讲)(?:啊|哈|一下)?"
    r"|(?:你们|政府)?(?:到底)?(?:管不管|还管不管|有没有人管|有人管没人管|有人管吗|能不能管管|管一管|管管)(?:啊|呀|了|吧|呢|吗)?"
    r"|你们(?:给)?评评理|(?:我)?(?:实在)?(?:受不了了|忍不了了|没办法了)(?:啊|呀)?|(?:我)?(?:真是)?气死我了"
    r"|是12345吗|是不是12345|(?:我)?(?:也)?不知道(?:该)?找谁(?:了)?"
    r"|(?:麻烦|请)?(?:你们)?(?:快点|快一点|赶紧|赶快)(?:啊|吧|的)?|帮帮(?:忙|我|我们)(?:吧|啊)?|求求(?:你|你们|您)(?:了)?|同志)[\s，,。！!？?～~、…]*)+"
)


def drop_lead_ins(text: str) -> str:
    """ "你们管不管啊 我家楼下那个工地…" -> "我家楼下那个工地…" (the matter only, for the 工单)."""
    t = text or ""
    rest = _LEAD_IN_RE.sub("", t, count=1)
    return rest if len(re.findall(r"[\u4e00-\u9fa5]", rest)) >= 4 else t


_UNSURE_OPENER_RE = re.compile(
    r"(是12345吗|是不是12345|是12345热线吗|是政府热线吗|是热线吗|打对了吗|不知道(?:该|应该|要)?(?:找谁|找哪里|找哪个部门|打哪个电话|问谁)"
    r"|不晓得(?:该)?找谁|找谁(?:才)?(?:管|有用)|该找哪个部门)"
)


_OPENER_FILLER_RE = re.compile(
    r"(喂+|你好|您好|请问|那个|我也|我|也|就|这个|打过来了?|打电话(?:过来)?|打(?:这个|你们)?电话|问问|问一下|试试|了|啊|呀|吧|呢|吗|哦|嗯|的|是|有个事|有点事|想|找你们)"
)


def is_unsure_opener(text: str) -> bool:
    """ "喂 是12345吗 我也不知道该找谁": not sure the call is in the right place; the matter is to come."""
    return bool(_UNSURE_OPENER_RE.search(_bare(text)))


def opener_only(text: str) -> bool:
    """An unsure opener with no matter in it yet ("我也不晓得找谁 就打过来了")."""
    if not is_unsure_opener(text):
        return False
    rest = _OPENER_FILLER_RE.sub("", _UNSURE_OPENER_RE.sub("", _bare(text)))
    return len(re.findall(r"[\u4e00-\u9fa5]", rest)) < 4


_MATTER_QUESTION_RE = re.compile(r"(材料|手续|流程|怎么办理|怎么办|需要什么|要准备|要带|能不能上|能不能办|可以办|去哪|哪里办|找哪个部门|怎么申请)")


def is_matter_question(text: str) -> bool:
    """ "那我要准备什么材料呢": a question about the matter itself, for the department to answer."""
    return bool(_MATTER_QUESTION_RE.search(_bare(text)))


def focus_for(requested_slot: str | None, parts: Parts, text: str) -> str:
    """The words that answer the question asked (place without the name and phone, time without the rest)."""
    if requested_slot in ("location", "location_town", "location_detail"):
        return parts.rest
    if requested_slot == "incident_time":
        return " ".join(parts.time_clauses) or parts.rest
    if requested_slot == "citizen_name":
        return " ".join(parts.name_clauses) or parts.rest
    return text
