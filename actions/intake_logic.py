"""What one citizen message changes in the intake report.

Pure logic (no Rasa SDK objects) so every rule here is unit-tested in
tests/rasa/test_intake_logic.py. `actions/intake.py` wraps it as the form validation action.

Principles, as a trained operator works:
- take every detail the message contains, whatever was asked (no question asked twice);
- never overwrite what the citizen already said unless they correct it;
- a message that is chitchat, a request for a human or "算了" is left to the dialogue rules;
- an answer that cannot be used gets a reason and the question again, at most twice, then a
  human is offered (CappedFailuresFormValidationAction).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from actions.report import ANONYMOUS, NO_CORRECTION, NO_LOCATION, NO_PHONE, NOT_APPLICABLE, UNKNOWN
from bot import replies
from bot import understanding as understood
from bot.gazetteer import GENERIC_DETAIL_RE, AddressMatch, match_address
from bot.numbers import find_phone_candidates, normalize_digits, parse_phone
from bot.parsing import (
    COMPOUND_SURNAMES,
    SURNAMES,
    answer_confidential,
    chinese_punctuation,
    clean_description,
    correction_target,
    demand_type_from_text,
    extract_anonymous,
    extract_confidential,
    extract_name,
    extract_time,
    has_substance,
    is_gibberish,
    is_unknown,
)
from bot.safety import EMERGENCY_KINDS, SELF_HARM, Alarm, judge
from bot.timeparse import incident_date

DEMAND_INTENTS = ("complaint", "consultation", "help_request", "report", "suggestion", "praise")
# Intents the dialogue rules answer while the form waits (the form then repeats its question).
RULE_INTENTS = (
    "chitchat",
    "out_of_scope",
    "bot_challenge",
    "stop",
    "human_handoff",
    "greet",
    "thanks",
    "nlu_fallback",
)
MIN_RULE_CONFIDENCE = 0.45

LOCATION_SLOTS = ("location", "location_town", "location_detail")
AFFIRM_RE = re.compile(
    r"^(?:确认提交|确认|提交|对的?|是的?|没错|没问题|可以|好的?|行|嗯+|ok|对对|就这样|没有问题|都对|正确)",
    re.IGNORECASE,
)
USE_CALLER_RE = re.compile(
    r"^(?:(?:电话|号码|手机)(?:号码?)?(?:就)?(?=是这个|用这个|这个))?(?:是的?|对的?|可以|就用(?:这个|现在这个|这个号)?|用这个|好的?|行|嗯+|没问题|就这个"
    r"|是这个|这个(?:就行|就可以|号)?|就是这个|就?打这个)"
)
# How long, said without a date: "好长时间了", "好久了", "有段时间了", "好多年了".
DURATION_RE = re.compile(r"(好长时间|很长时间|好久|很久|老久|有段时间|一段时间|好多年|好些年|好几年|多少年|好些天|好多天|有些日子|好一阵)")
NEW_NUMBER_RE = re.compile(r"(?:不是|不用|换一个|换个|另外|别的|不对|不行|不要)")
CORRECTION_WORD_RE = re.compile(r"(说错了|写错了|搞错了|记错了|弄错了|不对|错了|改一下|改成|改为|更正|修改|应该是)")
# "还是刚才那个号" / "还是我" in a second matter: the name and phone of the first one.
REUSE_RE = re.compile(r"(还是(?:刚才|之前|上次|原来|前面)?(?:那个|这个|一样|的)?|(?:跟|和)(?:刚才|上次|前面)一样|一样的?|同一个|刚才(?:那个|留的)|就用刚才)")
NO_PHONE_RE = re.compile(r"^(?:不留|不想留|不方便留|不用留|不用了|不要了|不需要|不给|不想给|没有|没电话|算了吧?)(?:电话|号码)?(?:了|吧|啊)?$")
NO_PLACE_RE = re.compile(r"(没有具体地点|不涉及|没有地点|没地点|不是具体地方|不需要地址|没有固定|全县|到处都)")
_CN_NUM = "\\d一二三四五六七八九十百零两"
HOUSE_NO_RE = re.compile(
    rf"[{_CN_NUM}]+(?:号楼|栋|幢|号)(?:[{_CN_NUM}]+单元)?(?:[{_CN_NUM}]+(?:室|号)?)?$"
)
# "那个叫什么来着" / "怎么说呢": a speaker searching for the word, not part of the place
PLACE_HESITATION_RE = re.compile(r"(?:那个)?叫什么(?:来着|名字)?|怎么说呢|我想想|那个什么|就是那个(?=\s)|[\s，,]那个(?=[\s，,])")
PLACE_FILLER_RE = re.compile(
    r"^(?:就|是|在|就在|是在|位置在|地址是|地点是|地址在|我家住|我住|我家在|住在|我们那边|那边是)+"
)


@dataclass
class Turn:
    text: str
    intent: str | None
    confidence: float
    requested_slot: str | None
    slots: Mapping[str, Any]
    caller_number: str | None = None
    activating: bool = False  # the message that started the intake
    ranking: list[tuple] = field(default_factory=list)  # [(intent, confidence)], best first


@dataclass
class Outcome:
    updates: dict[str, Any] = field(default_factory=dict)
    messages: list[dict[str, Any]] = field(default_factory=list)
    failed: str | None = None  # the requested slot could not be filled from this answer
    reason: str | None = None  # why, for the failure message
    skip: bool = False  # leave the message to the dialogue rules (form rejects)
    corrected: bool = False
    exit: str | None = None  # the citizen leaves / wants a person / was only asking: the form ends
    alarm: Alarm | None = None  # an emergency or risk said in this message (new, not said before)


FORM_SLOTS = (
    "description",
    "location",
    "location_town",
    "location_detail",
    "incident_time",
    "citizen_name",
    "phone",
    "confidential",
    "correction_request",
    "report_confirmed",
)
NO_TIME_TYPES = ("consultation", "suggestion")
REPORT_FIELDS = ("demand_type", "description", "location", "location_town", "location_detail", "incident_time",
                 "citizen_name", "phone", "confidential")


def next_slot(slots: Mapping[str, Any]) -> str | None:
    """The next question: the first empty slot in the domain's order.

    Questions that do not apply hold a sentinel value (UNKNOWN, NOT_APPLICABLE,
    NO_CORRECTION) so that Rasa's own choice after an interruption (chitchat, a human
    handing back) is the same as this one. An emergency asks one question at most (where);
    risk after hours at most one (a number for the priority callback); leaving asks nothing.
    """
    if slots.get("form_exit"):
        return None
    if slots.get("risk"):
        wants_phone = slots["risk"] == "after_hours" and not slots.get("phone") and not slots.get("caller_number")
        return "phone" if wants_phone and not (slots.get("asked") or {}).get("risk_phone") else None
    if slots.get("emergency"):
        return "location" if slots.get("location") is None else None
    return next((name for name in FORM_SLOTS if slots.get(name) is None), None)


def sentinels(slots: Mapping[str, Any]) -> dict[str, Any]:
    """Sentinel values for questions that do not apply to this report."""
    out: dict[str, Any] = {}
    loc = slots.get("location")
    if loc in (UNKNOWN, NO_LOCATION):
        for key in ("location_town", "location_detail"):
            if slots.get(key) is None:
                out[key] = UNKNOWN
    elif (
        loc
        and slots.get("location_town")
        and slots.get("location_detail") is None
        and slots.get("location_town") == UNKNOWN
    ):
        out["location_detail"] = loc
    if (
        slots.get("demand_type") in ("consultation", "suggestion", "praise")
        and slots.get("location")
        and slots.get("location_town") is None
    ):
        out["location_town"] = UNKNOWN  # "县人民医院": a place said is enough for a question, a thanks or an idea
    if (
        slots.get("demand_type") in ("consultation", "suggestion", "praise")
        and slots.get("location_town")
        and slots.get("location_detail") is None
    ):
        out["location_detail"] = UNKNOWN  # the town is enough for a question or a suggestion
    if slots.get("demand_type") in NO_TIME_TYPES and slots.get("incident_time") is None:
        out["incident_time"] = NOT_APPLICABLE
    if slots.get("demand_type") not in NO_TIME_TYPES and slots.get("incident_time") == NOT_APPLICABLE:
        out["incident_time"] = None  # corrected to a type where the time matters
    if slots.get("correction_request") is None and not slots.get("correction_pending"):
        out["correction_request"] = NO_CORRECTION
    return out


def _set_address(out: dict[str, Any], match: AddressMatch, text_location: str | None = None) -> None:
    out["location"] = text_location or match.location
    out["location_town"] = match.town
    out["location_detail"] = match.detail


def _clean_place_answer(text: str, match: AddressMatch) -> str:
    t = match.corrected_text if match.found else text
    t = re.sub(r"[。！!？?～~…\s]+$", "", t.strip())
    t = PLACE_HESITATION_RE.sub(" ", t)
    t = re.sub(r"\s{2,}", " ", t).strip()
    t = PLACE_FILLER_RE.sub("", t)
    t = re.sub(r"(?:这边|那边|附近|这块|那块|那里|这里|的)+$", lambda m: m.group(0) if len(t) <= 4 else "", t)
    return t.strip("，, ")


_PLACE_SUFFIX_RE = re.compile(r"(村|镇|小区|社区|街道|路|街|花园|家园|新村|号楼|单元|组)$")


_KIN_RE = re.compile(r"(妈妈|爸爸|奶奶|爷爷|阿姨|叔叔|师傅|先生|女士|大爷|大妈|老师|家长)$")


def matter_text(text: str) -> str:
    """诉求内容 from a message: greetings, "我要投诉", phone numbers and lead-ins like "你们管不管啊" out;
    the pauses of speech or of typing without punctuation ("井盖没了 晚上黑乎乎的") become commas."""
    said = understood.drop_lead_ins(clean_description(text))
    return re.sub(r"(?<=[\u4e00-\u9fa5])\s+(?=[\u4e00-\u9fa5])", "，", said)


def add_detail(slots: Mapping[str, Any], out: Outcome, words: str) -> bool:
    """More about the matter said to another question: appended to 事情经过, never lost."""
    said = matter_text(re.sub(r"^(?:不是|不对|没有|不不)[\s，,。]+", "", words.strip()))
    desc = out.updates.get("description") or slots.get("description") or ""
    if not said or said in desc:
        return False
    out.updates["description"] = f"{desc}；{said}" if desc else said
    return True


def plausible_name(bare: str) -> bool:
    """A short answer to "怎么称呼您" that can be a way to address someone: 王小明, 老李,
    小明妈妈, 张师傅 — not 今天早上, 育才小区 or 不用了."""
    if not re.fullmatch(r"[\u4e00-\u9fa5]{2,5}", bare):
        return False
    if re.search(
        r"(什么|为什么|干嘛|怎么|不知|不用|不要|需要|可以|好的|是的|没有|知道|清楚|时候|天|早上|晚上|上午|下午|月|年|号|点)",
        bare,
    ):
        return False
    if _PLACE_SUFFIX_RE.search(bare) or match_address(bare).found:
        return False
    return bool(bare[0] in SURNAMES or bare.startswith(COMPOUND_SURNAMES) or bare[0] in "老小" or _KIN_RE.search(bare))


def place_words(text: str) -> str:
    """The part of an answer that is the place: name, phone and time clauses taken out."""
    return understood.split_parts(text).rest


def residual(text: str) -> str:
    """The words left once phone numbers and their lead-ins are taken out."""
    t = normalize_digits(text)
    for cand in sorted(find_phone_candidates(text), key=lambda c: c.start, reverse=True):
        t = t[: cand.start] + t[cand.end :]
    t = re.sub(r"(?:我的|联系)?(?:手机号码|电话号码|手机号|手机|电话|号码|联系方式)(?:是|为)?", "", t)
    return re.sub(r"[\s，,。.！!？?：:；;、]+", "", t)


def process(turn: Turn) -> Outcome:
    """Apply one message to the report."""
    text = (turn.text or "").strip()
    slots = dict(turn.slots)
    out = Outcome()
    requested = turn.requested_slot

    if (
        requested == "report_confirmed"
        and (turn.intent == "affirm" or AFFIRM_RE.match(text))
        and not CORRECTION_WORD_RE.search(text)
        and not understood.cancels(text)
    ):
        # "好的 拜拜" / "没问题 挂了啊": yes and goodbye — filed, and the ticket number given in the
        # same reply (actions/intake.py closes with a goodbye instead of "还有其他需要吗"); "好的 算了" is no.
        out.updates["report_confirmed"] = True
        return out

    if not text.startswith("/"):
        alarm = judge(text)
        if alarm and alarm.kind != slots.get("emergency") and alarm.kind != slots.get("risk_kind"):
            _raise_alarm(turn, text, slots, alarm, out)
            if alarm.kind == SELF_HARM:
                return out
    if requested and not turn.activating and not text.startswith("/"):
        asked = "phone_use_caller" if requested == "phone" and turn.caller_number and slots.get(
            "phone_use_caller") is None else requested
        seen = understood.classify(text, requested_slot=asked)
        if seen.kind in (understood.LEAVING, understood.PERSON, understood.NOT_A_REPORT):
            out.exit = seen.kind
            return out
        later_question = requested in ("citizen_name", "phone", "phone_use_caller", "confidential")
        if seen.kind == understood.ANSWER and later_question and _time_at_another_question(text, seen.parts, slots, out):
            return out
        rule_said = turn.intent in RULE_INTENTS and turn.confidence >= MIN_RULE_CONFIDENCE
        if seen.kind == understood.DETAIL and not rule_said:
            # "天天晚上十一二点还在打桩" to "怎么称呼您": with the matter, and the question again in other words
            if add_detail(slots, out, text):
                out.messages.append({"text": replies.detail_reply(text)})
            else:
                out.messages.append({"text": "嗯，这个情况我记下了。"})
            return out
        if seen.kind in (understood.BOT_COMPLAINT, understood.BOT_CHALLENGE, understood.QUESTION, understood.NEW_MATTER,
                         understood.UNCLEAR_NO, understood.VENTING):
            out.messages.append({"text": replies.non_answer_reply(seen.kind, text, requested_slot=requested)})
            if seen.kind == understood.NEW_MATTER:
                out.updates["next_matter"] = text[:500]
            if seen.kind == understood.QUESTION and slots.get("description") and understood.is_matter_question(text):
                # The department answers it with the rest: it goes into the matter, as the reply says.
                out.updates["description"] = f"{slots['description']}；{chinese_punctuation(clean_description(text))}"
                out.messages[-1] = {"text": "这个问题我也记到工单里了，请承办部门一并答复您。"}
            return out

    rule_intent = turn.intent in RULE_INTENTS and (
        turn.confidence >= MIN_RULE_CONFIDENCE or turn.intent == "nlu_fallback"
    )
    # A rule intent is left to the rules unless the message carries what was asked
    # ("好的，138…" is not chitchat); low-confidence real words are tried as an answer.
    low_confidence_words = turn.intent == "nlu_fallback" and not is_gibberish(text)
    if rule_intent and not _carries_requested(turn, text) and not low_confidence_words:
        out.skip = True
        return out

    if text.startswith("/"):
        text = ""  # a button payload such as /affirm carries no words

    # Corrections: "电话错了是139…", "地址说错了，是建阳镇的", or the 我要修改 button.
    at_readback = requested in ("report_confirmed", "correction_request")
    # "我姓王" to "怎么称呼您" is the answer even when the NLU hears a correction in it.
    answers_open_question = not at_readback and _fills_an_empty_field(turn, text, slots)
    wants_correction = (
        turn.intent == "correct" and turn.confidence >= 0.5 and not answers_open_question
    ) or bool(CORRECTION_WORD_RE.search(text))
    if at_readback or (wants_correction and not turn.activating and _has_report(slots)):
        _apply_correction(turn, text, slots, out)
        _finish(slots, out)
        return out

    _extract_everything(turn, text, slots, out)
    _answer_requested(turn, text, slots, out)
    if turn.activating and not {**slots, **out.updates}.get("description") and understood.is_unsure_opener(text):
        # "喂 是12345吗 我也不知道该找谁": yes, this is the place; the matter is still to come, and
        # "不知道找谁" gives it no type yet.
        out.messages.append({"text": replies.UNSURE_OPENER_REPLY})
        out.updates["demand_type"] = None
        out.updates["asked"] = {**(slots.get("asked") or {}), "description": 1}
    if slots.get("emergency") or (out.alarm and out.alarm.kind in EMERGENCY_KINDS):
        _emergency_defaults(turn, text, {**slots, **out.updates}, out)
    if requested and not out.failed and requested not in out.updates and not turn.activating:
        said = replies.acknowledged_fields(out.updates)
        if said:
            out.messages.append({"text": said})  # "好的，称呼我记下了。" then the question again
    _finish(slots, out)
    return out


def _time_at_another_question(text: str, parts: understood.Parts, slots: Mapping[str, Any], out: Outcome) -> bool:
    """ "上个月开始的" said to "怎么称呼您": the time (more precise than a bare "天天晚上" said before),
    acknowledged, and the question asked again in other words — not "称呼我没听清"."""
    rest = re.sub(r"(?:哦|噢|嗯|啊|对了|我?想起来了|我?记起来了|应该是|好像是|时间|是)+", "", re.sub(r"\s+", "", parts.rest))
    if not parts.time_clauses or parts.name_clauses or parts.phone_clauses or rest:
        return False
    said = re.sub(r"[。！!？?\s]+$", "", " ".join(parts.time_clauses))
    before = slots.get("incident_time")
    if before in (None, UNKNOWN) or understood.is_bare_recurrence(before):
        out.updates["incident_time"] = f"{said}，{before}" if before not in (None, UNKNOWN) else said
        day = incident_date(said)
        out.updates["incident_date"] = day.isoformat() if day else None
        out.messages.append({"text": f"好的，时间我改成“{out.updates['incident_time']}”了。" if before else "好的，时间我记下了。"})
    else:
        out.messages.append({"text": f"好的，时间我记的是“{before}”，要改的话核对的时候跟我说。"})
    return True


def _raise_alarm(turn: Turn, text: str, slots: Mapping[str, Any], alarm: Alarm, out: Outcome) -> None:
    """Emergency: the number first, the advice, 特急; self-harm is left to the action (who is on duty)."""
    out.alarm = alarm
    if alarm.kind == SELF_HARM:
        out.updates["risk_kind"] = alarm.kind
        return
    out.updates.update(emergency=alarm.kind, urgency="特急")
    said = matter_text(text)
    if slots.get("description") and said and said not in slots["description"]:
        out.updates["description"] = f"{slots['description']}；{said}"  # said mid-form: the ticket must show it
    out.messages.append({"text": f"{alarm.first_words}{alarm.advice}"})


def _emergency_defaults(turn: Turn, text: str, merged: Mapping[str, Any], out: Outcome) -> None:
    """One question at most: the place; whatever is said to it is kept, then the ticket is filed."""
    up = out.updates
    if turn.requested_slot == "location" and merged.get("location") is None:
        place = _clean_place_answer(text, match_address(text)) if text else ""
        up.update(location=place[:60] if len(place) >= 2 else UNKNOWN, location_town=UNKNOWN, location_detail=UNKNOWN)
    out.failed = None
    out.reason = None
    if not merged.get("description") and text:
        up["description"] = matter_text(text)
    if not merged.get("demand_type"):
        up["demand_type"] = "help_request"
    if not merged.get("incident_time"):
        up["incident_time"] = "来电时正在发生"


def _finish(slots: Mapping[str, Any], out: Outcome) -> None:
    out.updates.update(sentinels({**slots, **out.updates}))
    if "incident_time" in out.updates:
        # Resolved now, when "昨天" means yesterday: a retry tomorrow must send the same report.
        day = incident_date(out.updates["incident_time"])
        out.updates["incident_date"] = day.isoformat() if day else None


def _fills_an_empty_field(turn: Turn, text: str, slots: Mapping[str, Any]) -> bool:
    """ "我姓王" when no name was given yet is new information, not a correction (whatever the NLU says)."""
    req = turn.requested_slot
    if req in FORM_SLOTS and slots.get(req) is None and _carries_requested(turn, text):
        return True
    said = {
        "citizen_name": extract_name(text) or extract_anonymous(text),
        "phone": parse_phone(text),
        "location": match_address(text, strict=True).found,
        "incident_time": understood.time_answer(text, asked=False),
    }
    return any(value and slots.get(name) is None for name, value in said.items())


def _has_report(slots: Mapping[str, Any]) -> bool:
    return bool(slots.get("description"))


def _carries_requested(turn: Turn, text: str) -> bool:
    req = turn.requested_slot
    if req == "phone":
        offered = turn.caller_number and turn.slots.get("phone_use_caller") is None
        return (
            parse_phone(text) is not None
            or understood.refuses_phone(text)
            or bool(offered and (USE_CALLER_RE.match(text) or NEW_NUMBER_RE.search(text)))
        )
    if req in LOCATION_SLOTS:
        return match_address(text, strict=True).found
    if req == "citizen_name":
        return bool(extract_name(text) or extract_anonymous(text))
    if req == "confidential":
        return answer_confidential(text) is not None  # "不用了" read as "stop" is still "不用保密"
    return False


def _extract_everything(turn: Turn, text: str, slots: dict[str, Any], out: Outcome) -> None:
    """Fill every empty slot the message gives a value for."""
    up = out.updates
    if not text:
        return
    if not slots.get("demand_type"):
        dtype = turn.intent if turn.intent in DEMAND_INTENTS and turn.confidence >= 0.4 else None
        if dtype:
            up["demand_type"] = dtype
    phone = parse_phone(text)
    if phone and phone.value and not slots.get("phone"):
        up["phone"] = phone.value
    match = match_address(text, strict=turn.requested_slot not in LOCATION_SLOTS)
    if match.found:
        if not slots.get("location"):
            # The answer to "在哪里" is kept as said (its own words only, without name or phone);
            # elsewhere only the place names.
            words = place_words(text)
            text_loc = (
                _clean_place_answer(words, match_address(words)) if turn.requested_slot == "location" and words else None
            )
            if text_loc and not match_address(text_loc).found:
                text_loc = None
            if text_loc and len(text_loc) > 40:
                text_loc = None
            if text_loc and match.town and match.town not in text_loc:
                text_loc = match.town + text_loc  # "水韵华庭" -> "近湖街道水韵华庭"
            _set_address(up, match, text_loc)
            if text_loc and match.town and not match.detail:
                # "上冈镇 工业园区那个纺织厂": the words after the town are the detail, as said
                rest = text_loc.replace(match.town, "", 1).strip(" ，,的")
                if len(re.findall(r"[\u4e00-\u9fa5]", rest)) >= 3 and not understood.not_a_place(rest):
                    up["location_detail"] = rest
        else:
            if not slots.get("location_town") and match.town:
                up["location_town"] = match.town
                loc = slots["location"]
                if match.town not in loc:
                    up["location"] = match.town + loc
            detail = slots.get("location_detail")
            vague = detail in (None, UNKNOWN) or detail == slots.get("location_town")
            if match.detail and vague and match.detail not in slots["location"]:
                # A village/estate/road named later makes the address more precise.
                detail = match.detail
                if turn.requested_slot == "location_detail":
                    words = place_words(text)
                    said = _clean_place_answer(words, match_address(words))
                    if match.detail in said and len(said) <= 40:
                        detail = said  # "高作镇政府食堂" as said, not only the landmark
                town = up.get("location_town") or slots.get("location_town") or ""
                town = "" if town == UNKNOWN else town
                up["location_detail"] = detail
                up["location"] = detail if town and detail.startswith(town) else f"{town}{detail}"
    elif slots.get("location") not in (None, UNKNOWN, NO_LOCATION):
        _add_house_number(text, slots, up)
    if not slots.get("incident_time"):
        asked_time = turn.requested_slot == "incident_time"
        when = understood.time_answer(text, asked=asked_time)
        if when:
            parts = understood.split_parts(text)
            if asked_time and not parts.time_clauses and understood.time_detail(text, when):
                # "不是打架啊 就是天天在那吆喝": the time inside a sentence about the matter. The
                # sentence goes to 事情经过; a bare "天天" says how often, not since when: asked again.
                if add_detail(slots, out, text):
                    out.messages.append({"text": replies.detail_reply(text)})
                if not understood.is_bare_recurrence(when):
                    up["incident_time"] = when
            else:
                said = " ".join(parts.time_clauses) if parts.time_clauses else text
                answer = re.sub(r"[。！!？?\s]+$", "", said.strip())
                # The answer to "什么时候" is kept as said ("上个礼拜开始的").
                up["incident_time"] = answer if asked_time and len(answer) <= 10 else when
                if asked_time and parts.time_clauses and understood.time_detail(parts.rest, "") and add_detail(
                    slots, out, parts.rest
                ):
                    out.messages.append({"text": replies.detail_reply(parts.rest)})
    if not slots.get("citizen_name"):
        if extract_anonymous(text):
            up["citizen_name"] = ANONYMOUS
        else:
            name = extract_name(text, asked=turn.requested_slot == "citizen_name")
            if name:
                up["citizen_name"] = name
    if slots.get("confidential") is None:
        conf = extract_confidential(text)
        if conf is not None:
            up["confidential"] = conf
    if (
        not slots.get("description")
        and turn.requested_slot in (None, "description")
        and has_substance(text)
        and not is_gibberish(text)
        and not understood.opener_only(text)
    ):
        # ASR homophones of place names ("建洋镇") are written as the real names.
        up["description"] = matter_text(match.corrected_text or text)
        if not slots.get("demand_type") and "demand_type" not in up:
            # A long first message often reads as "inform" (places, phone); the matter
            # itself still has a type: take the best demand intent in the ranking.
            best = next((name for name, _ in turn.ranking if name in DEMAND_INTENTS), None)
            if best:
                up["demand_type"] = best
    if phone and not phone.value and not slots.get("phone") and turn.requested_slot != "phone":
        # A number that looks like a phone but is not valid: say so now, ask again later.
        out.messages.append({"text": f"您留的电话好像不对：{phone.error}。"})


def _add_house_number(text: str, slots: Mapping[str, Any], up: dict[str, Any]) -> None:
    """ "5栋" / "3号楼2单元" said after the estate: it completes the address."""
    bare = residual(text)
    m = GENERIC_DETAIL_RE.fullmatch(bare)
    if not m or m.group(1):
        return
    location = slots["location"]
    if bare in location:
        return
    up["location"] = location + bare
    detail = slots.get("location_detail")
    up["location_detail"] = (detail + bare) if detail and detail != UNKNOWN else bare


def _answer_requested(turn: Turn, text: str, slots: dict[str, Any], out: Outcome) -> None:
    """The question that was asked: accept a usable answer or explain why not."""
    req = turn.requested_slot
    up = out.updates
    if req is None or req in up or turn.activating:
        return
    merged = {**slots, **up}
    if req == "description":
        if merged.get("description"):
            return
        out.failed, out.reason = (
            req,
            ("我没太听明白，" if is_gibberish(text) else "麻烦您说得具体一点，") + "比如是什么地方、出了什么问题。",
        )
        return
    if req == "location":
        if merged.get("location"):
            return
        no_place_ok = merged.get("demand_type") in ("consultation", "suggestion", "praise")
        if NO_PLACE_RE.search(text) or (no_place_ok and re.match(r"^(?:没有|没|不涉及|无)", text)):
            up.update(location=NO_LOCATION, location_town=UNKNOWN, location_detail=UNKNOWN)
        elif is_unknown(text):
            up.update(location=UNKNOWN, location_town=UNKNOWN, location_detail=UNKNOWN)
        words = place_words(text)
        about_contact = bool(re.search(r"(号码|电话|手机|保密)", words)) and not match_address(words).found
        if about_contact:
            # "就用这个号码" / "不用保密" said to "在哪里": an answer to another question, not a place
            if not up:
                out.failed, out.reason = req, "这里想问的是地点：是在哪个镇、哪个村或小区？"
        elif understood.not_a_place(words) and not match_address(words).found:
            # "天天晚上十一二点还在打桩" to "在哪里": more about the matter; the place asked again
            if add_detail(slots, out, words):
                out.messages.append({"text": replies.detail_reply(words)})
        elif not is_gibberish(words) and len(re.findall(r"[\u4e00-\u9fa5]", residual(words))) >= 2 and len(words) <= 40:
            place = _clean_place_answer(words, match_address(words))
            up.update(location=place, location_detail=place)
        elif up or parse_phone(text):
            return  # the answer carried something else (e.g. the phone): ask the place again
        else:
            out.failed, out.reason = req, "不好意思，地点我没听清。"
        return
    if req == "location_town":
        if merged.get("location_town"):
            return
        if is_unknown(text):
            up["location_town"] = UNKNOWN
        else:
            out.failed, out.reason = (
                req,
                "这个镇（街道）名我没对上，建湖有近湖街道、钟庄街道、上冈镇、建阳镇、高作镇等。",
            )
        return
    if req == "location_detail":
        if merged.get("location_detail"):
            return
        words = place_words(text)
        answer = match_address(words)
        if not answer.found and not is_unknown(text) and understood.not_a_place(words or text):
            # "从九月份开始就没发" to "具体哪个村": not a place; kept with the matter, asked again
            if add_detail(slots, out, text):
                out.messages.append({"text": replies.detail_reply(text)})
            return
        if is_unknown(text) or (answer.found and not answer.detail):
            up["location_detail"] = UNKNOWN  # asked once; the town again adds nothing
        elif up and not residual(words):
            return
        elif not is_gibberish(words) and len(words) <= 40 and re.search(r"[\u4e00-\u9fa5]", words):
            detail = _clean_place_answer(words, match_address(words))
            up["location_detail"] = detail
            town = merged.get("location_town") or ""
            up["location"] = detail if detail.startswith(town) else f"{town}{detail}"
        else:
            out.failed, out.reason = req, "不好意思，具体位置我没听清。"
        return
    if req == "incident_time":
        if merged.get("incident_time"):
            return
        if re.search(r"(保密|电话|号码|手机|匿名|我姓|我叫|名字)", text) and not is_unknown(text):
            # "不用保密" / "那就保密吧" to "什么时候": the answer to another question, never the time
            if not up:
                out.failed, out.reason = req, "这里想问的是时间，比如“昨天晚上”“上个月”，记不清就说“不清楚”。"
            return
        if re.fullmatch(r"(?:不用了?|不需要|不用说了?)(?:吧|啊)?", re.sub(r"[\s，,。.！!]+", "", text)):
            up["incident_time"] = UNKNOWN  # "不用" to "什么时候": not said, and no need to insist
            return
        if re.fullmatch(r"(?:随便|都行|都可以|无所谓)(?:吧|啊)?", re.sub(r"[\s，,。.！!]+", "", text)):
            out.failed, out.reason = req, "时间说个大概就行，比如“昨天晚上”“上个月”，实在记不清就说“不清楚”。"
            return
        if is_unknown(text) or turn.intent == "deny":
            up["incident_time"] = UNKNOWN
        elif up:
            return
        elif match_address(text).found or GENERIC_DETAIL_RE.search(text):
            out.failed, out.reason = req, "这里想问的是时间，比如“昨天晚上”“上个月”，记不清就说“不清楚”。"
        elif DURATION_RE.search(text) and len(text) <= 20:
            up["incident_time"] = re.sub(r"[。！!？?\s]+$", "", text)  # "好长时间了" / "有好几年了": a duration is a time
        elif turn.intent == "affirm" or AFFIRM_RE.match(text):
            out.failed, out.reason = (
                req,
                "不好意思，这里需要说一下大概的时间，比如“昨天晚上”“上个月”，记不清就说“不清楚”。",
            )
        elif plausible_name(re.sub(r"[\s，,。.！!]+", "", text)) or re.sub(r"[\s，,。.！!]+", "", text) in SURNAMES:
            # "王" / "李先生" to "什么时候": a name, not a time
            out.failed, out.reason = req, "这里想问的是时间，比如“昨天晚上”“上个月”，记不清就说“不清楚”。"
        elif not is_gibberish(text) and len(text) <= 30 and re.search(r"[\u4e00-\u9fa5\d]", text):
            up["incident_time"] = re.sub(r"[。！!？?\s]+$", "", text)
        else:
            out.failed, out.reason = req, "不好意思，时间我没听明白。"
        return
    if req == "citizen_name":
        if merged.get("citizen_name"):
            return
        bare = re.sub(r"[\s，,。.！!]+", "", text)
        previous = (slots.get("previous_contact") or {}).get("citizen_name")
        if previous and REUSE_RE.search(bare):
            up["citizen_name"] = previous
            return
        if len(bare) == 1 and bare in SURNAMES:
            up["citizen_name"] = bare  # "李": the surname is enough
            return
        if is_unknown(text) or re.fullmatch(r"(?:随便|都行|不想说|(?:不用了)?我?不想留(?:了)?)", bare):
            up["citizen_name"] = ANONYMOUS
        elif up:
            return
        elif plausible_name(bare):
            up["citizen_name"] = bare
        else:
            out.failed, out.reason = req, "不好意思，称呼我没听清。"
        return
    if req == "phone":
        if merged.get("phone"):
            return
        phone = parse_phone(text)
        bare = re.sub(r"[\s，,。.！!]+", "", text)
        previous = (slots.get("previous_contact") or {}).get("phone")
        if phone is None and previous and REUSE_RE.search(bare):
            up["phone"] = previous
            up["phone_use_caller"] = True
            return
        refused = phone is None and (bool(NO_PHONE_RE.match(bare)) or understood.refuses_phone(text))
        if refused and merged.get("demand_type") == "report":
            up["phone"] = NO_PHONE  # an anonymous report may leave no number (the read-back says what that means)
            return
        if turn.caller_number and slots.get("phone_use_caller") is None:
            if (
                phone is None
                and (turn.intent == "affirm" or USE_CALLER_RE.match(text))
                and not NEW_NUMBER_RE.search(text)
            ):
                up["phone"] = turn.caller_number
                up["phone_use_caller"] = True
                return
            if phone is None and (turn.intent == "deny" or NEW_NUMBER_RE.search(text)):
                up["phone_use_caller"] = False  # ask for another number, no complaint
                return
        if phone is None and extract_anonymous(text):
            if not merged.get("citizen_name"):
                up["citizen_name"] = ANONYMOUS
            if merged.get("demand_type") == "report":
                up["phone"] = NO_PHONE
                return
            out.failed, out.reason = (
                req,
                ("匿名反映也需要留一个联系电话，方便承办部门回复您，号码不会告诉被反映的一方。"),
            )
        elif refused:
            out.failed, out.reason = (
                req,
                "这件事办好以后承办部门要联系您，所以需要留一个电话，号码只有办理的工作人员能看到；"
                "实在不方便的话，说“算了”，这次就先不登记。",
            )
        elif phone is None:
            out.failed, out.reason = req, "我没听到电话号码。"
        elif phone.error:
            out.failed, out.reason = req, phone.error + "。"
        return
    if req == "confidential":
        if merged.get("confidential") is not None:
            return
        answer = answer_confidential(text)
        if answer is None and understood.fears_retaliation(text):
            answer = True  # "我怕他报复我": keep it from them
        if answer is None and turn.intent in ("affirm", "deny"):
            answer = turn.intent == "affirm"
        if answer is None:
            out.failed, out.reason = req, "不好意思，我没听明白您的意思。"
        else:
            up["confidential"] = answer
        return
    if req == "report_confirmed":
        return


def _apply_correction(turn: Turn, text: str, slots: dict[str, Any], out: Outcome) -> None:
    """Change the part of the report the citizen says is wrong, or ask which part."""
    up = out.updates
    target = correction_target(text)
    phone = parse_phone(text)
    match = match_address(text, strict=True)
    if not match.found and correction_target(text) == "location":
        match = match_address(_after_correction_words(text))
    # "我不姓王，我姓黄": the name said without the negated one.
    name_text = re.sub(r"(?:我)?不(?:姓|是|叫)[\u4e00-\u9fa5](?:先生|女士)?", "", text)
    name = extract_name(name_text) or (ANONYMOUS if extract_anonymous(text) else None)
    if target is None:
        # No field named: infer it from what the message contains.
        if phone:
            target = "phone"
        elif match.found:
            target = "location"
        elif name:
            target = "citizen_name"
        elif demand_type_from_text(text) and demand_type_from_text(text) != slots.get("demand_type"):
            target = "demand_type"
        elif extract_time(text) and turn.requested_slot == "correction_request":
            target = "incident_time"
    if (
        target is None
        and re.match(r"^(?:我)?(?:再)?(?:补充|还有|另外|再说一下|顺便说一下)", text)
        and has_substance(text)
    ):
        target = "description"  # "还有就是晚上十点以后特别吵": more about the matter
    if target is None:
        if turn.requested_slot == "correction_request" and has_substance(text) and not is_gibberish(text):
            target = "description"
        elif turn.requested_slot == "correction_request":
            out.failed, out.reason = "correction_request", "不好意思，我没听明白要改哪一项。"
            return
        elif turn.requested_slot != "report_confirmed":
            # Mid-form "刚才说错了，不是油烟，是噪音": note it with the matter, carry on.
            said = _after_correction_words(text) or text
            if slots.get("description") and has_substance(said, min_chars=2):
                up["description"] = f"{slots['description']}（更正：{chinese_punctuation(said)}）"
                out.messages.append({"text": "好的，我记下了。"})
            else:
                out.failed, out.reason = turn.requested_slot, "不好意思，您是要改哪一项呢？可以直接说正确的内容。"
            return
        else:
            # "我要修改" / "不对": ask which part.
            up["correction_pending"] = True
            up["correction_request"] = None
            up["report_confirmed"] = None
            return
    up["correction_pending"] = False
    up["correction_request"] = NO_CORRECTION
    up["report_confirmed"] = None
    out.corrected = True
    value_text = _after_correction_words(text)
    if target == "phone":
        if phone and phone.value:
            up["phone"] = phone.value
        else:
            up["phone"] = None
            if phone and phone.error:
                out.messages.append({"text": f"您说的新号码不对：{phone.error}。"})
            up["phone_use_caller"] = False
    elif target == "location":
        house = HOUSE_NO_RE.fullmatch(residual(value_text or ""))
        old = slots.get("location") or ""
        if house and old and old not in (UNKNOWN, NO_LOCATION):
            # "地址错了 是5栋402": the estate stays, the house number changes
            base = HOUSE_NO_RE.sub("", old) if HOUSE_NO_RE.search(old) else old
            up["location"] = base + house.group(0)
            detail = slots.get("location_detail")
            if detail and detail != UNKNOWN:
                up["location_detail"] = (HOUSE_NO_RE.sub("", detail) if HOUSE_NO_RE.search(detail) else detail) + house.group(0)
        elif match.found:
            text_loc = _clean_place_answer(value_text, match_address(value_text)) if value_text else None
            if text_loc and (len(text_loc) > 40 or not match_address(text_loc).found):
                text_loc = None
            loc = text_loc or match.location
            up.update(location=loc, location_town=match.town, location_detail=match.detail)
        else:
            up.update(location=None, location_town=None, location_detail=None)
    elif target == "citizen_name":
        up["citizen_name"] = name if name else None
        if name is None and value_text and re.fullmatch(r"[\u4e00-\u9fa5]{2,4}", value_text):
            up["citizen_name"] = value_text
    elif target == "incident_time":
        up["incident_time"] = extract_time(text) or (value_text if value_text and len(value_text) <= 20 else None)
    elif target == "confidential":
        said = extract_confidential(text)
        up["confidential"] = said if said is not None else not bool(slots.get("confidential"))
    elif target == "demand_type":
        dtype = demand_type_from_text(text)
        if dtype:
            up["demand_type"] = dtype
        else:
            up["correction_pending"] = True
            up["correction_request"] = None
            out.corrected = False
    elif target == "description":
        if value_text and has_substance(value_text):
            addition = matter_text(value_text)
            if re.search(r"(补充|还有|另外|再加)", text) and slots.get("description"):
                up["description"] = f"{slots['description']}；{addition}"
            else:
                up["description"] = addition
        else:
            up["description"] = None
    if (
        out.corrected
        and target == "description"
        and up.get("description")
        and slots.get("description")
        and up["description"].startswith(slots["description"])
    ):
        out.messages.append({"text": "好的，已经补充进去了。"})
    elif out.corrected and not any(
        up[k] != slots.get(k) for k in REPORT_FIELDS if k in up
    ):
        # "不用保密" when it already said so: nothing to change, and no "改过来了".
        out.messages.append({"text": "好的，这一项本来就是这样登记的，不用改。"})
    elif out.corrected and all(
        v is not None
        for k, v in up.items()
        if k in ("phone", "location", "citizen_name", "description", "incident_time")
    ):
        out.messages.append({"text": "好的，已经帮您改过来了。"})


_CORRECTION_LEAD_RE = re.compile(
    r"^.*?(?:说错了|写错了|搞错了|记错了|弄错了|不对|错了|改一下|改成|改为|更正|修改|应该是|补充一下|补充|还有|另外)"
    r"(?:一下)?[，,：:。\s]*(?:应该)?(?:是|为|改成|写|就是)?[，,：:\s]*"
)


def _after_correction_words(text: str) -> str:
    """ "地址说错了，是建阳镇的" -> "建阳镇的"."""
    m = _CORRECTION_LEAD_RE.match(text)
    rest = text[m.end() :] if m else text
    return rest.strip("，,。 ")
