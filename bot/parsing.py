"""Pull intake details out of free Mandarin text: name, anonymity, confidentiality, time,
"don't know" answers, correction targets, and a clean 诉求内容.

Rule-based on purpose: these are closed patterns an operator recognises at once, and they must
work on a single message with no punctuation. The NLU model decides intents; these functions
decide slot values. Unit tests: tests/rasa/test_parsing.py.
"""

from __future__ import annotations

import re

from bot.numbers import find_phone_candidates, normalize_digits
from bot.screening import mask_id_numbers

# The ~120 most common surnames cover the vast majority of people in Jiangsu.
SURNAMES = set(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝"
    "龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞"
    "左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕"
    "屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧"
    "闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝"
)
COMPOUND_SURNAMES = ("欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "尉迟", "公孙", "慕容", "令狐")
HONORIFICS = ("先生", "女士", "小姐", "阿姨", "师傅", "大爷", "大妈", "老师", "大姐", "大哥", "奶奶", "爷爷")

ANONYMOUS_RE = re.compile(
    r"(匿名|不想留(?:下)?(?:名字|姓名|名)|不留(?:名字|姓名|名)|不方便(?:留|说|透露)(?:名字|姓名|名)?"
    r"|不想(?:说|透露|告诉你)(?:名字|姓名)|名字(?:就)?不(?:说|留|方便)|不愿(?:意)?(?:透露|留)"
    r"|姓名(?:就)?不(?:说|留)|不用(?:留)?(?:名字|姓名)|无名氏)"
)
UNKNOWN_RE = re.compile(
    r"^(?:我)?(?:也)?(?:不清楚|不知道|不晓得|不记得|记不得|记不清|忘了|忘记了|说不清|说不好|不太清楚|"
    r"不太记得|没注意|没留意|不确定|不好说|没有|没得|不知道具体|具体不清楚|具体不知道|记不太清)"
)
_UNKNOWN_ANYWHERE = re.compile(r"(不清楚|不知道|不晓得|记不得|记不清|不记得|忘了|说不清|不确定|没注意)")

CONFIDENTIAL_NO_RE = re.compile(
    r"(不用保密|不需要保密|不必保密|无需保密|不要保密|不保密|没必要保密|公开也行|无所谓|都可以|不用了|没关系|不介意|不需要)"
)
CONFIDENTIAL_YES_RE = re.compile(
    r"(需要保密|要保密|请保密|帮我保密|保密一下|给我保密|保密|别(?:让|告诉)|不要(?:透露|告诉|让)"
    r"|不想让(?:人|别人|他们|对方)知道|怕(?:被)?报复|别说是我)"
)

TIME_RE = re.compile(
    r"((?:\d{4}年)?\d{1,2}月(?:份)?(?:\d{1,2}(?:日|号))?|(?<![路街巷道村组区\d])\d{1,2}(?:日|号)(?=[^楼栋院室]|$)"
    r"|(?:大|上|这|本|前)?(?:个)?(?:礼拜|星期|周)[一二三四五六日天末]?"
    r"|(?:今|昨|前|大前|明)天(?:早上|上午|中午|下午|晚上|夜里|凌晨|半夜|傍晚)?"
    r"|(?:今|昨)(?:早|晚|夜)|(?:上|这|本)(?:个)?月(?:初|底|中)?|去年(?:底|年底|冬天|夏天)?|今年(?:初|年初)?"
    r"|(?:刚才|刚刚|最近|这几天|这两天|前几天|前段时间|前阵子|一直|天天|每天|经常|长期|这段时间|近期|年前|年后)"
    r"|(?:早上|上午|中午|下午|晚上|夜里|凌晨|半夜)(?:[一二三四五六七八九十\d]{1,3}点(?:多|半|钟)?)?"
    r"|(?:快|近|将近|差不多|大概|都|已经)?[一二三四五六七八九十两几\d]{1,3}(?:个)?(?:多)?(?:天|周|星期|礼拜|月|年)(?:多)?(?:前|之前|以前|了)"
    r"|[一二三四五六七八九十两\d]{1,3}点(?:多|半|钟|左右)?"
    r"|(?:都|已经)?好几(?:个)?(?:天|周|星期|礼拜|月|年)(?:了)?|半(?:个)?(?:月|年)(?:了|前)?)"
)

_GREETING_RE = re.compile(
    r"^(?:喂+|你好+|您好+|哈喽|hello|hi|在吗|在不在|请问|那个|嗯+|哎+|唉+|喂你好|你们好|工作人员你好)[，,。！!？?\s]*",
    re.IGNORECASE,
)
_DEMAND_LEAD_RE = re.compile(
    r"^(?:我|俺|我们)?(?:想|要|需要|来)?(?:投诉|咨询|举报|反映|反应|建议|表扬|求助|问)(?:一下|个|一个|下)?"
    r"(?:问题|事情|情况|事)?[，,。：:！!\s]*"
)
_FILLER_ONLY = re.compile(r"^[\s，,。.！!？?～~、…]*$")


def _strip_punct(text: str) -> str:
    return re.sub(r"[\s，,。.！!？?～~、…：:；;“”\"'（）()]+", "", text)


def is_unknown(text: str) -> bool:
    """ "不清楚", "记不得了" and the like as a whole answer."""
    t = _strip_punct(text)
    return bool(UNKNOWN_RE.match(t)) and len(t) <= 14


def extract_anonymous(text: str) -> bool:
    return bool(ANONYMOUS_RE.search(text))


def extract_name(text: str, *, asked: bool = False) -> str | None:
    """How to address the citizen: "张先生", "王小明", "李女士", "姓刘" -> "刘先生/女士" is not
    guessed; a bare surname gives "刘" plus whatever honorific was said.

    `asked`: the message answers "怎么称呼您", so a bare name ("王小明") is accepted too.
    """
    t = normalize_digits(text)
    honor = "|".join(HONORIFICS)
    # 我是张先生 / 张先生 / 我是建阳镇双河村的张先生
    m = re.search(rf"(?:^|是|叫|找|的|，|,|\s)((?:{'|'.join(COMPOUND_SURNAMES)}|[\u4e00-\u9fa5]))({honor})", t)
    if m and (m.group(1) in SURNAMES or m.group(1) in COMPOUND_SURNAMES):
        return m.group(1) + m.group(2)
    # 我姓张 / 免贵姓张 / 姓张，弓长张
    m = re.search(rf"姓\s*((?:{'|'.join(COMPOUND_SURNAMES)}|[\u4e00-\u9fa5]))", t)
    if m and (m.group(1) in SURNAMES or m.group(1) in COMPOUND_SURNAMES):
        after = t[m.end() : m.end() + 2]
        for h in HONORIFICS:
            if after.startswith(h):
                return m.group(1) + h
        return m.group(1)
    # 我叫王小明 / 名字是王小明 / 叫我小李就行 / 我是老王
    m = re.search(r"(?:我叫|名字(?:是|叫)|姓名(?:是|叫)|叫我|我是|本人)\s*((?:老|小)?[\u4e00-\u9fa5]{1,3})", t)
    if m:
        cand = _trim_name(m.group(1))
        if cand and _looks_like_name(cand):
            return cand
    if asked:
        bare = _strip_punct(t)
        bare = re.sub(r"^(?:我是|我叫|就叫|叫)", "", bare)
        bare = re.sub(r"(?:就行|就可以|吧|啊|呀|的)$", "", bare)
        if 1 < len(bare) <= 4 and _looks_like_name(bare):
            return bare
    return None


def _trim_name(cand: str) -> str:
    for stop in ("的", "在", "住", "啊", "呀", "吧", "就", "是", "我", "，"):
        idx = cand.find(stop, 1)
        if idx > 0:
            cand = cand[:idx]
    return cand


def _looks_like_name(cand: str) -> bool:
    if any(ch.isdigit() for ch in cand):
        return False
    core = cand[1:] if cand[0] in "老小" and len(cand) >= 2 else cand
    if core.startswith(COMPOUND_SURNAMES):
        return True
    if not core or core[0] not in SURNAMES:
        return False
    # "我是建阳镇…" / "我是住在…" are not names.
    return not re.search(r"(镇|村|街|路|区|县|市|的|在|住|人|民|群众|居民|业主|家长|老百姓)", cand)


def extract_confidential(text: str) -> bool | None:
    """True: keep the citizen's identity confidential; False: no need; None: not said."""
    if CONFIDENTIAL_NO_RE.search(text) and ("保密" in text or "透露" in text or "公开" in text):
        return False
    if CONFIDENTIAL_YES_RE.search(text):
        return True
    return None


def answer_confidential(text: str) -> bool | None:
    """The answer to "需要保密吗" (yes/no words count as well)."""
    said = extract_confidential(text)
    if said is not None:
        return said
    if re.search(r"[？?]\s*$", text) and len(_strip_punct(text)) <= 3:
        return None  # "嗯？" is a question back, not a yes
    t = re.sub(r"^(?:那|就)+(?=不)", "", _strip_punct(text))  # "那就不用了"
    if re.match(r"^(?:不用|不需要|不要|不必|没必要|无所谓|都行|都可以|随便|不用了|没事|没关系|公开|否|不)", t):
        return False
    if re.match(r"^(?:要|需要|是的|是|对|好|嗯|行|可以|麻烦|请)", t):
        return True
    return None


def extract_time(text: str) -> str | None:
    """When it happened, as said: "昨天晚上", "上周三", "三天前", "好几个月了"."""
    found: list[tuple[int, int]] = [(m.start(), m.end()) for m in TIME_RE.finditer(text) if m.group(0)]
    if not found:
        return None
    # Adjacent expressions belong together: "昨天晚上八点多" / "上个月20号".
    start, end = found[0]
    for s, e in found[1:]:
        if s == end:
            end = e
        else:
            break
    phrase = text[start:end].strip("，,。 ")
    return phrase or None


def clean_description(text: str) -> str:
    """诉求内容 from a message: greetings, "我要投诉" leads and phone numbers taken out."""
    t = text.strip()
    for _ in range(3):
        t2 = _GREETING_RE.sub("", t)
        t2 = _DEMAND_LEAD_RE.sub("", t2)
        if t2 == t:
            break
        t = t2
    # Drop "电话13812345678" and similar contact clauses; they go to the phone slot.
    for cand in sorted(find_phone_candidates(t), key=lambda c: c.start, reverse=True):
        t_norm = normalize_digits(t)
        left = t_norm[: cand.start]
        left = re.sub(
            r"(?:我的|我|联系)?(?:手机号码|电话号码|手机号|手机|电话|号码|联系方式)(?:号码)?(?:是|为|：|:)?\s*$",
            "",
            left,
        )
        t = left + t_norm[cand.end :]
    # Clause by clause (punctuation, or the spaces of ASR/typed text without punctuation):
    # self-introductions, contact and confidentiality remarks belong to other slots.
    clauses = re.split(r"([，,。！!；;]|\s+)", t)
    kept = []
    for i in range(0, len(clauses), 2):
        clause = clauses[i]
        sep = clauses[i + 1] if i + 1 < len(clauses) else ""
        if _is_aside(clause.strip()):
            continue
        kept.append(clause + sep)
    t = "".join(kept)
    t = re.sub(r"[，,]{2,}", "，", t).strip("，, ")
    return chinese_punctuation(mask_id_numbers(t))


_ASIDE_RE = re.compile(
    r"(?:(?:麻烦|请|帮我|帮忙|给我)?(?:需要|要)?保密(?:一下)?(?:谢谢)?|不用保密|不需要保密|不用保密了|我要匿名|匿名(?:反映|举报)?"
    r"|我不想留名字|谢谢|麻烦(?:你们)?了|我|电话|手机)"
)
_SELF_INTRO_RE = re.compile(
    r"(?:我是|本人是?).{0,16}?(?:的)?(?:居民|业主|村民|家长|市民|群众|住户|老百姓|租户|商户|工人|职工)"
)


def _is_aside(clause: str) -> bool:
    """A clause that is about the caller, not the matter."""
    if not clause:
        return False
    if _ASIDE_RE.fullmatch(clause) or _SELF_INTRO_RE.fullmatch(clause):
        return True
    return bool(extract_name(clause)) and bool(
        re.fullmatch(r"(?:我是|我叫|我姓|本人|免贵姓).{0,14}(?:先生|女士|阿姨|师傅|大爷|大妈|小姐)", clause)
        or re.fullmatch(r"(?:我是|我叫|我姓|免贵姓|姓)(?:老|小)?[\u4e00-\u9fa5]{1,3}", clause)
    )


_ASCII_TO_CN = {",": "，", "?": "？", "!": "！", ":": "：", ";": "；", "(": "（", ")": "）"}


def chinese_punctuation(text: str) -> str:
    """ASCII punctuation next to Chinese text back to full-width (the hub NFKC-normalises)."""
    return re.sub(
        r"(?<=[\u4e00-\u9fa5])[,?!:;]|[,?!:;](?=[\u4e00-\u9fa5])",
        lambda m: _ASCII_TO_CN[m.group(0)],
        text,
    )


_EMPTY_OPENER_RE = re.compile(
    r"(?:我|我们)?(?:有|想提|要提|提)?(?:个|一个|点|一点|几个)?(?:建议|意见|想法|问题|事情|事|情况)(?:要说|想说|想反映)?"
    r"|(?:请|麻烦)?(?:你们)?(?:能不能|可不可以|可以)?帮(?:帮|个)?(?:忙|我|我们)(?:吗|吧|一下)?"
    r"|(?:我)?(?:想|要)?给你们提(?:点|个|一点)?(?:意见|建议)"
    r"|(?:我)?(?:想|要)?(?:请|麻烦)你们(?:帮|帮个)?(?:忙)?"
    # "喂 是12345吗 我也不知道该找谁": the caller is not sure where to turn; the matter is still to come
    r"|(?:是)?(?:12345|热线|政府热线)?(?:吗|吧|是吧|对吧)?(?:我)?(?:也)?(?:不知道|不晓得|不清楚)?(?:该|应该|要)?"
    r"(?:找谁|找哪里|打哪个电话|问谁|找哪个部门|找谁管)(?:了|啊|呀)?"
    r"|(?:是)?(?:12345|热线|政府热线)(?:吗|吧|是吧|对吧|热线吗)?"
)


def has_substance(text: str, min_chars: int = 4) -> bool:
    """Does the message describe a matter (not just "我要投诉", "我有个建议" or "你好")?"""
    if _EMPTY_OPENER_RE.fullmatch(_strip_punct(clean_description(text))):
        return False
    desc = clean_description(text)
    cjk = re.findall(r"[\u4e00-\u9fa5]", desc)
    if len(cjk) < min_chars:
        return False
    # Questions about the process itself are not a matter.
    return not re.fullmatch(
        r"(?:我)?(?:想|要)?(?:反映|投诉|举报|咨询|问)?(?:一个|个|一下|下)?(?:问题|事情|情况|事)(?:可以吗|行吗|好吗)?",
        _strip_punct(desc),
    )


# Which part of the report a correction talks about.
CORRECTION_TARGETS: list[tuple[str, re.Pattern[str]]] = [
    ("phone", re.compile(r"(电话|手机|号码|联系方式|手机号)")),
    ("location", re.compile(r"(地址|地点|位置|地方|在哪|哪个镇|哪个村|小区|街道|门牌)")),
    ("citizen_name", re.compile(r"(名字|姓名|称呼|姓|叫我|先生|女士)")),
    ("incident_time", re.compile(r"(时间|日期|哪天|几号|什么时候|时候)")),
    ("confidential", re.compile(r"(保密|公开|匿名)")),
    ("demand_type", re.compile(r"(不是投诉|不是咨询|不是举报|不是建议|不是求助|不是表扬|类型|算是)")),
    ("description", re.compile(r"(内容|情况|事情|问题|描述|经过|说的事|补充)")),
]


def correction_target(text: str) -> str | None:
    for slot, pattern in CORRECTION_TARGETS:
        if pattern.search(text):
            return slot
    return None


DEMAND_WORDS = {
    "complaint": "投诉",
    "consultation": "咨询",
    "help_request": "求助",
    "report": "举报",
    "suggestion": "建议",
    "praise": "表扬",
}


def demand_type_from_text(text: str) -> str | None:
    """ "不是投诉，是建议" -> "suggestion": the last demand word that is not negated."""
    best: tuple[int, str] | None = None
    for dtype, word in DEMAND_WORDS.items():
        for m in re.finditer(word, text):
            if text[max(0, m.start() - 2) : m.start()].endswith(("不是", "不算")):
                continue
            if best is None or m.start() > best[0]:
                best = (m.start(), dtype)
    return best[1] if best else None


def is_gibberish(text: str) -> bool:
    """Keyboard mashing, emoji, lone symbols: nothing a person meant to say."""
    t = text.strip()
    if not t or _FILLER_ONLY.match(t):
        return True
    cjk = re.findall(r"[\u4e00-\u9fa5]", t)
    digits = re.findall(r"\d", t)
    if cjk or len(digits) >= 3:
        return bool(cjk) and len(set(cjk)) == 1 and len(cjk) >= 4  # "啊啊啊啊啊"
    latin = re.findall(r"[A-Za-z]+", t)
    words = {"ok", "yes", "no", "hello", "hi", "bye", "sos", "okay"}
    return not any(w.lower() in words for w in latin)
