"""The 回访 dialogue as a pure state machine: feed it events, it tells you what to say next.

    confirm ──是/1──► solved ──是/1 · 否/2──► rating ──满意/基本满意──► closing
       │                                        └──不满意 (or unsolved)──► reason ──► closing
       ├─不是/2 ─► wrong_person        (any time) 现在不方便 ─► reschedule
       └─语音信箱/无人应答 ─► voicemail  (any time) 别再打了 ─► refused

Nothing about the matter is said before the callee is confirmed (only the hotline's name and
the question "请问是X本人吗"). The telephony worker and the chat follow-up (api.callbacks.chat)
both drive this same machine, so the stages and the parsing of answers are the same on the phone
and in the chat. In a chat (`chat=True`) the citizen is already known (no confirm stage), buttons
stand for the keypad, questions are worded for reading, and an answer not understood is asked
again as often as needed (a chat has no line to keep busy).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

from api.callbacks.policy import Outcome


class Stage(StrEnum):
    confirm = "confirm"
    solved = "solved"
    rating = "rating"
    reason = "reason"
    ended = "ended"


RATING_KEYS = {"1": "满意", "2": "基本满意", "3": "不满意"}

# ---- understanding what the citizen said ---------------------------------------------------------

_NOISE = re.compile(r"[\s，。,.!！?？、~～…]+")
_BUSY = ("不方便", "在开车", "开车呢", "在开会", "开会呢", "在忙", "忙着", "正忙", "晚点再打", "晚点打", "等会再打",
         "等一会再打", "回头再说", "过会再打", "稍后再打", "待会再打")
_REFUSE = ("不要再打", "别再打", "别打了", "不要打了", "不用回访", "不需要回访", "不接受回访", "别给我打电话")
_VOICEMAIL = ("语音信箱", "请在提示音后", "提示音后留言", "留言", "无法接通", "已关机", "不在服务区", "正在通话中",
              "暂时无法接听", "您拨打的", "is not available", "voicemail")
_WRONG = ("打错了", "打错", "不认识", "没这个人", "没有这个人", "你找错人")
_NEG = ("不是", "没有解决", "没解决", "还没解决", "没有", "不对", "没", "否", "不", "还没")
_POS = ("是的", "是", "对的", "对", "嗯", "解决了", "好了", "已经", "可以", "我是", "本人", "yes")


def _clean(text: str) -> str:
    return _NOISE.sub("", text or "").lower()


def is_busy(text: str) -> bool:
    t = _clean(text)
    return any(p in t for p in _BUSY)


def is_refusal(text: str) -> bool:
    t = _clean(text)
    return any(p in t for p in _REFUSE)


def is_voicemail(text: str) -> bool:
    t = _clean(text)
    return any(p in t for p in _VOICEMAIL)


def is_wrong_person(text: str) -> bool:
    t = _clean(text)
    return any(p in t for p in _WRONG)


def parse_yes_no(text: str) -> bool | None:
    """是 → True, 否 → False, anything else None. Negations are checked first (没解决 contains 解决)."""
    t = _clean(text)
    if not t:
        return None
    if t in ("1", "一", "幺"):
        return True
    if t in ("2", "二", "两"):
        return False
    if any(p in t for p in _NEG):
        return False
    if any(p in t for p in _POS):
        return True
    return None


def parse_rating(text: str) -> str | None:
    t = _clean(text)
    if not t:
        return None
    if t in RATING_KEYS:
        return RATING_KEYS[t]
    if any(p in t for p in ("不满意", "不太满意", "很不满意", "不行", "太差", "差劲", "没用")):
        return "不满意"
    if any(p in t for p in ("基本满意", "还行", "还可以", "一般", "凑合", "马马虎虎", "差不多")):
        return "基本满意"
    if "满意" in t or any(p in t for p in ("很好", "挺好", "非常好", "不错", "谢谢")):
        return "满意"
    return None


def safe_summary(summary: str | None, *, limit: int = 20) -> str | None:
    """A short, non-sensitive description: no digits (numbers, IDs, plates), at most `limit` chars."""
    if not summary:
        return None
    text = re.sub(r"[0-9０-９A-Za-z]{3,}", "", summary)
    text = re.split(r"[。！？；\n]", text)[0].strip(" ，,、")
    if len(text) > limit:
        cut = re.split(r"[，,、]", text)[0]
        text = cut if 4 <= len(cut) <= limit else text[:limit]
    return text or None


# ---- the dialogue -----------------------------------------------------------------------------

@dataclass
class Matter:
    """What the bot may know about the ticket (already chosen so nothing sensitive is in it)."""

    citizen_name: str | None
    phone_tail: str | None  # last four digits, to confirm the number holder when no name is known
    accepted_on: date | None
    summary: str | None  # None: the matter is not described (confidential, no_summary mode)
    hotline: str = "建湖12345热线"
    ticket_no: str | None = None  # named in a chat, where the citizen reads it; never said on the phone


@dataclass
class Step:
    say: str
    expect: Stage | None  # what the next input answers; None: the call ends after `say`
    outcome: Outcome | None = None
    understood: bool = True  # False: the input answered nothing (a chat asks again)


@dataclass
class Survey:
    matter: Matter
    stage: Stage = Stage.confirm
    confirmed: bool = False
    solved: bool | None = None
    rating: str | None = None
    reason: str | None = None
    outcome: Outcome | None = None
    misses: int = 0
    transcript: list[dict[str, Any]] = field(default_factory=list)
    chat: bool = False

    # -- prompts ---------------------------------------------------------------------------------
    def _who(self) -> str:
        if self.matter.citizen_name:
            return f"请问是{self.matter.citizen_name}本人吗？"
        if self.matter.phone_tail:
            return f"请问您是尾号{_spell(self.matter.phone_tail)}的机主吗？"
        return "请问是您本人在12345反映过问题吗？"

    def _matter(self) -> str:
        when = f"{self.matter.accepted_on.month}月{self.matter.accepted_on.day}日" if self.matter.accepted_on else "前几天"
        what = f"反映的{self.matter.summary}问题" if self.matter.summary else "反映的问题"
        return f"您{when}{what}，承办单位已经答复了，我们做个回访。"

    def _ask_solved(self, again: bool = False) -> str:
        if again:
            return "不好意思，没听清楚。问题已经解决了请按1，没有解决请按2。"
        return "请问问题解决了吗？解决了请按1，没解决请按2。"

    def _ask_rating(self, again: bool = False) -> str:
        if self.chat:
            return "请您对这次办理给个评价："
        if again:
            return "不好意思，没听清楚。满意请按1，基本满意请按2，不满意请按3。"
        return "请您评价一下：满意请按1，基本满意请按2，不满意请按3。"

    def _ask_reason(self) -> str:
        if self.chat:
            if self.rating == "不满意":
                return "很抱歉没能让您满意。请您直接输入不满意的原因，我们会转交承办单位重新办理。"
            return "请您直接输入还有哪些地方没有解决，我们会转交承办单位重新办理。"
        if self.rating == "不满意":
            return "很抱歉没让您满意。请简单说一下原因，说完按井号键。"
        return "请说一下还有哪些没有解决，说完按井号键。"

    # -- driving ---------------------------------------------------------------------------------
    def start(self) -> Step:
        if self.chat:  # the conversation is the citizen's own: straight to the matter
            self.confirmed, self.stage = True, Stage.solved
            return self._bot(Step(self._chat_opening(), Stage.solved))
        return self._bot(Step(f"您好，这里是{self.matter.hotline}。{self._who()}", Stage.confirm))

    def _chat_opening(self) -> str:
        m = self.matter
        when = f"{m.accepted_on.month}月{m.accepted_on.day}日" if m.accepted_on else "前几天"
        what = f"关于{m.summary}的问题" if m.summary else "问题"
        return (f"您好，这里是{m.hotline}。您{when}反映的{what}（工单号{m.ticket_no}），承办单位已经答复。"
                "想跟您做个回访：您反映的问题解决了吗？")

    def on_choice(self, key: str, title: str) -> Step:
        """A button tapped in the chat: answered as the keypad digit it stands for."""
        self.transcript.append({"who": "citizen", "stage": self.stage.value, "text": title, "key": key})
        return self._bot(self._handle(key, keyed=True))

    def on_text(self, text: str) -> Step:
        """A final recognition result, a typed chat answer, or a button title."""
        self.transcript.append({"who": "citizen", "stage": self.stage.value, "text": text})
        return self._bot(self._handle(text, keyed=False))

    def on_key(self, digit: str) -> Step:
        self.transcript.append({"who": "citizen", "stage": self.stage.value, "key": digit})
        if self.stage == Stage.reason:
            return self._bot(self._finish_reason(None))
        return self._bot(self._handle(digit, keyed=True))

    def on_reason(self, text: str | None, *, audio: str | None = None) -> Step:
        """The recorded reason (transcribed); text None when nothing usable was said."""
        entry: dict[str, Any] = {"who": "citizen", "stage": Stage.reason.value, "text": text or ""}
        if audio:
            entry["audio"] = audio
        self.transcript.append(entry)
        return self._bot(self._finish_reason(text))

    def on_silence(self) -> Step:
        self.transcript.append({"who": "citizen", "stage": self.stage.value, "text": "", "silence": True})
        if self.stage == Stage.reason:
            return self._bot(self._finish_reason(None))
        return self._bot(self._miss())

    def on_hangup(self) -> Outcome:
        """The callee hung up; returns the outcome of the attempt."""
        if self.stage != Stage.ended:
            if not self.confirmed:
                self.outcome = Outcome.hung_up
            elif self.rating is not None:
                self.outcome = Outcome.completed  # hung up during the reason or the goodbye
            else:
                self.outcome = Outcome.unrated
            self.stage = Stage.ended
        assert self.outcome is not None
        return self.outcome

    @property
    def finished(self) -> bool:
        return self.stage == Stage.ended

    # -- internals ---------------------------------------------------------------------------------
    def _bot(self, step: Step) -> Step:
        if not step.understood:
            return step
        self.transcript.append({"who": "bot", "stage": self.stage.value, "text": step.say})
        return step

    def _end(self, say: str, outcome: Outcome) -> Step:
        self.stage = Stage.ended
        self.outcome = outcome
        return Step(say, None, outcome)

    def _handle(self, text: str, *, keyed: bool) -> Step:
        if self.stage == Stage.ended:
            return Step("", None, self.outcome)
        if not keyed and not self.chat:
            if not self.confirmed and is_voicemail(text):
                return self._end("", Outcome.voicemail)
            if is_refusal(text):
                return self._end("好的，这件事我们就不再打电话打扰您了。祝您生活愉快，再见！", Outcome.refused)
            if is_busy(text):
                return self._end("好的，那就不打扰您了，我们换个时间再联系您。再见！", Outcome.reschedule)
            if not self.confirmed and is_wrong_person(text):
                return self._end("不好意思，打扰您了，再见。", Outcome.wrong_person)
        if self.stage == Stage.confirm:
            answer = parse_yes_no(text)
            if answer is None:
                return self._miss()
            if not answer:
                return self._end("不好意思，打扰您了，再见。", Outcome.wrong_person)
            self.confirmed, self.misses, self.stage = True, 0, Stage.solved
            return Step(f"您好！{self._matter()}{self._ask_solved()}", Stage.solved)
        if self.stage == Stage.solved:
            answer = parse_yes_no(text)
            rating = None if keyed else parse_rating(text)
            if answer is None and rating is None:
                return self._miss()
            self.solved = answer if answer is not None else rating != "不满意"
            if rating is not None and answer is not None:  # "解决了，很满意" answers both
                return self._rated(rating)
            self.misses, self.stage = 0, Stage.rating
            return Step(self._ask_rating(), Stage.rating)
        if self.stage == Stage.rating:
            rating = parse_rating(text)
            if rating is None:
                return self._miss()
            return self._rated(rating)
        return self._miss()

    def _rated(self, rating: str) -> Step:
        self.rating, self.misses = rating, 0
        if rating == "不满意" or self.solved is False:
            self.stage = Stage.reason
            return Step(self._ask_reason(), Stage.reason)
        if self.chat:
            return self._end("感谢您的评价和对12345热线工作的支持！", Outcome.completed)
        return self._end("好的，感谢您的支持，再见！", Outcome.completed)

    def _finish_reason(self, text: str | None) -> Step:
        if text and text.strip():
            self.reason = text.strip() if not self.reason else f"{self.reason} {text.strip()}"
            if self.chat:
                return self._end("您的意见我们已经记下了，会转交承办单位重新办理并跟踪督办。感谢您的耐心！", Outcome.completed)
            return self._end("您的意见已经记下，我们会督促承办单位重新办理。谢谢您，再见！", Outcome.completed)
        return self._end("好的，我们会督促承办单位重新办理。谢谢您，再见！", Outcome.completed)

    def _miss(self) -> Step:
        if self.chat:
            return Step("", self.stage, understood=False)
        self.misses += 1
        if self.misses >= 2:
            if self.stage == Stage.confirm:
                return self._end("不好意思，打扰了，我们稍后再联系。再见。", Outcome.voicemail)
            return self._end("那我们稍后再和您联系。感谢您的接听，再见！", Outcome.unrated)
        if self.stage == Stage.confirm:
            return Step(f"不好意思，刚才没听清。{self._who()}是请按1，不是请按2。", Stage.confirm)
        if self.stage == Stage.solved:
            return Step(self._ask_solved(again=True), Stage.solved)
        return Step(self._ask_rating(again=True), Stage.rating)


_DIGITS = "零一二三四五六七八九"


def _spell(digits: str) -> str:
    """Phone digits read one by one as operators do (1 is 幺)."""
    return "".join("幺" if d == "1" else _DIGITS[int(d)] if d.isdigit() else d for d in digits)
