"""What the bot says back: each form question in several wordings (never the same prompt twice in
a row), and the reply an operator gives to a turn that is not an answer.

Pure functions over slot values, unit-tested in tests/rasa/test_understanding.py.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from bot import understanding as u

DEMAND_LABELS = {
    "complaint": "投诉",
    "consultation": "咨询",
    "help_request": "求助",
    "report": "举报",
    "suggestion": "建议",
    "praise": "表扬",
}
NO_PLACE_TYPES = ("consultation", "suggestion", "praise")

LEAVING_REPLY = (
    "好的，那这次就先不登记了。您刚才说的情况我们留了记录，想好了随时再打12345或者在这里留言，"
    "我们接着帮您办。再见！"
)
LEAVING_NOTHING_REPLY = "好的，有需要随时找我们，再见！"
NOT_A_REPORT_REPLY = "好的，那就不登记工单了。您想了解什么，直接问我就行。"
UNSURE_OPENER_REPLY = "是的，这里是12345热线。不知道该找谁没关系，该哪个部门管，我们来帮您转。"
NEW_MATTER_REPLY = "好的，另一件事等这件登记好了，我马上接着帮您登记。"


def _variant(options: list[str], attempt: int) -> str:
    return options[min(attempt, len(options) - 1)] if attempt < len(options) else options[attempt % len(options)]


def question(slot: str, slots: Mapping[str, Any], attempt: int = 0) -> str:
    """The form's question for `slot`; `attempt` = how many times it was asked before."""
    dtype = slots.get("demand_type")
    label = DEMAND_LABELS.get(dtype or "")
    if slot == "description":
        first = {
            "consultation": "好的，您想咨询什么问题？请具体说一下。",
            "suggestion": "好的，您有什么建议？请具体说一下。",
            "praise": "好的，您想表扬哪个单位或者哪位工作人员？是因为什么事情呢？",
        }.get(dtype or "", f"好的，您要{label}什么事情？请具体说一下是什么情况。" if label else "请您具体说一下遇到了什么情况。")
        return _variant([first, "您慢慢说，是什么事、出了什么问题，我都帮您记下来。",
                         "您就照实际情况说，比如哪里、什么问题、影响到什么。"], attempt)
    if slot == "location":
        if slots.get("emergency"):
            return "您告诉我具体在什么地方，哪个镇、哪条路或者哪个小区，我马上按特急件转给联动处置。"
        if dtype in NO_PLACE_TYPES:
            return _variant(["这件事涉及哪个镇（街道）、哪个村或小区？如果不涉及具体地点，说“没有”就可以。",
                             "跟哪个地方有关吗？说个镇或者村就行，没有具体地点就说“没有”。"], attempt)
        return _variant(["请问这个事情发生在什么地方？麻烦说到哪个镇（街道）、哪个村或小区，哪条路。",
                         "这件事在哪个地方？说个大概就行，比如哪个镇、哪个村或者哪个小区。",
                         "地点我还没记上：是在建湖哪个镇、哪个村或小区？实在说不清就说“不清楚”。"], attempt)
    if slot == "location_town":
        return _variant(["请问是在哪个镇或者街道？不清楚的话说“不清楚”就行。",
                         "是建湖哪个镇或者街道的？比如近湖街道、上冈镇，不清楚就说“不清楚”。"], attempt)
    if slot == "location_detail":
        town = slots.get("location_town") or ""
        return _variant([f"具体是在{town}哪个村（社区）或小区、哪条路呢？门牌号知道的话也说一下，不清楚也没关系。",
                         f"{town}具体哪个村、小区或者哪条路？说不上来就说“不清楚”。"], attempt)
    if slot == "incident_time" and dtype == "praise":
        return _variant(["这是哪天的事？说个大概就行，记不清也没关系。", "大概是什么时候？比如“上周三”“前几天”，记不清就说“不清楚”。"], attempt)
    if slot == "incident_time":
        return _variant(["这个情况大概是什么时候发生的，或者持续多久了？记不清也没关系，说“不清楚”就行。",
                         "大概是哪天开始的？比如“昨天晚上”“上个月”，记不清就说“不清楚”。"], attempt)
    if slot == "citizen_name":
        return _variant(["请问怎么称呼您？您也可以匿名，说“匿名”就行。",
                         "您贵姓？说个姓就行，不想留名字可以说“匿名”。"], attempt)
    if slot == "phone":
        previous = (slots.get("previous_contact") or {}).get("phone")
        if previous and slots.get("phone_use_caller") is None:
            return "联系电话还用您刚才留的那个号码吗？"
        if dtype == "report" and slots.get("citizen_name") == "匿名":
            return _variant(["方便留个联系电话吗？只有承办部门能看到。不想留的话，说“不留”也可以匿名举报，只是办理结果没法回复您。",
                             "电话留不留都可以：留了能收到办理结果，不留就说“不留”。"], attempt)
        who = slots.get("citizen_name")
        lead = f"{who}，" if who and re.search(r"(先生|女士|小姐|阿姨|师傅|大爷|大妈|老师|大姐|大哥)$", who) else ""
        return _variant([f"{lead}请留一个联系电话，方便承办部门给您回复。",
                         "麻烦再留一下联系电话，手机号或者带区号的座机都可以。",
                         "电话号码我还没记上，您说一下11位的手机号，或者带区号的座机。"], attempt)
    if slot == "confidential":
        if dtype in ("complaint", "report"):
            first = "您的个人信息需要对被反映的一方保密吗？"
        else:
            first = "您的姓名和电话需要保密吗？需要的话只有承办部门能看到。"
        return _variant([first, "您的名字和电话要不要保密？说“要保密”或者“不用保密”就行。"], attempt)
    if slot == "correction_request":
        return _variant(["好的，请问哪一项需要修改？您可以直接说，比如“地址改成建阳镇双河村”“电话改成139…”。",
                         "您直接说改成什么就行，比如“时间是前天晚上”“我姓李”。"], attempt)
    if slot == "report_confirmed":
        return "上面的信息没问题的话，请点“确认提交”；哪里不对，直接告诉我怎么改；这次先不登记的话，说“先不登记了”就行。"
    return "请您接着说。"


def non_answer_reply(kind: str, text: str, *, requested_slot: str | None) -> str:
    """What an operator says to a turn that does not answer the question (the question follows)."""
    bare = re.sub(r"\s+", "", text or "")
    if kind == u.BOT_COMPLAINT:
        if re.search(r"(说过|问过|又问|不是说了|还要问|问这么多|这么多问题|有完没完)", bare):
            return "不好意思，让您重复了，这几项登记工单必须有，问完就好。"
        if re.search(r"(人呢|没人理|不说话|不回|不理|有人吗|有没有人)", bare):
            return "在的，我一直在听，不好意思让您久等了。"
        return "不好意思，是我没听明白，给您添麻烦了。"
    if kind == u.BOT_CHALLENGE:
        return "我是12345热线的智能客服，您说的话都会原样转给承办部门；想找人工，随时说“转人工”。"
    if kind == u.NEW_MATTER:
        return NEW_MATTER_REPLY
    if kind == u.VENTING:
        return "我理解您的心情，您先别着急，我把情况登记清楚，尽快帮您转给负责的部门。"
    if kind == u.UNCLEAR_NO:
        return "您是说上面的信息都对、不用改了吗？"
    if kind == u.QUESTION:
        return answer_question_back(bare, requested_slot)
    return "嗯，我明白。"


def answer_question_back(bare: str, requested_slot: str | None) -> str:
    if re.search(r"(快点|快一点|赶紧|抓紧|着急|赶时间|还要上班|没时间)", bare):
        return "好的，我抓紧，就剩几个问题，很快就好。"
    if re.search(r"(收费|要钱|花钱)", bare):
        return "12345热线是免费的，登记和办理都不收费。"
    if re.search(r"(多久|多长时间|几天|什么时候(?:能|会)?(?:给|回|办|处理))", bare):
        return "登记好以后承办部门按规定时限答复，具体哪天前答复，登记完我马上告诉您。"
    if re.search(r"(啥叫|什么叫|啥是|是啥|什么意思|啥意思).{0,2}保密|保密.{0,2}(什么意思|啥意思|是啥)", bare):
        return "保密就是您的名字和电话不让被反映的一方知道，只有办理的工作人员能看到。"
    if re.search(r"(保密|泄露|告诉(?:对方|别人|他)|谁能看到|会不会被知道|报复)", bare):
        return "您的信息只有承办部门办理的人能看到，要保密的话对被反映的一方是保密的。"
    if re.search(r"(有用|管不管|管用|靠谱|有人管|会不会管)", bare):
        return "您反映的事情会派给负责的部门，有办理时限，办完还会回访您。"
    if requested_slot == "phone" or re.search(r"(电话|号码|手机)", bare):
        return "留电话是方便承办部门办好以后给您回复结果，号码只有办理的工作人员能看到。"
    if requested_slot == "citizen_name" or re.search(r"(名字|姓名|称呼)", bare):
        return "称呼是方便工作人员联系时称呼您，不想留也可以匿名。"
    if requested_slot == "incident_time":
        return "问时间是方便承办部门核实情况，说个大概就行。"
    if requested_slot in ("location", "location_town", "location_detail"):
        return "地点要写清楚，承办部门才能派人到现场。"
    return "您问的这个，登记时我一并写上，请承办部门给您答复。"


def acknowledged_fields(updates: Mapping[str, Any]) -> str | None:
    """ "好的，称呼和电话记下了。" when the turn answered other fields than the one asked."""
    names = [label for key, label in (("citizen_name", "称呼"), ("phone", "电话"), ("incident_time", "时间"),
                                      ("location", "地点")) if updates.get(key)]  # fmt: skip
    if updates.get("confidential") is not None:
        names.append("保密这一项")
    return f"好的，{'和'.join(names)}我记下了。" if names else None


_WANTS_RE = re.compile(r"(?<!不)(?:是要|是想|而是|就是想|要你们|请你们|麻烦你们)(.{2,30}?)(?:[，,。！!？?\s]|$)")


def detail_reply(text: str) -> str:
    """What an operator says to more about the matter given at another question (the question follows)."""
    bare = re.sub(r"\s+", "", text or "")
    m = _WANTS_RE.search(text or "")
    if re.search(r"(不是要|不是想|我不是)", bare) and m:
        return f"明白了，您是要{m.group(1).lstrip('你们来')}，这个我写进工单里了。"
    return "好的，这个情况我也记到事情经过里了。"
