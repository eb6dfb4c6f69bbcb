"""Small talk: a short, fitting answer (the form, if active, then repeats its question)."""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from bot.safety import judge

# (pattern, answer): first match wins; keep answers short, the citizen has a matter to report.
ANSWERS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(下班|上班|几点|营业|值班|24小时)"), "12345热线全天24小时都有人值守，网上留言也随时可以。"),
    (re.compile(r"(难打|等了|占线|打不通|半天)"), "让您久等了，实在不好意思。"),
    (re.compile(r"(辛苦|不容易|累不累|忙不忙)"), "谢谢您，不辛苦，这是我们应该做的。"),
    (re.compile(r"(方言|听得懂|听懂|听明白)"), "我尽量听明白，没听清的地方会跟您再确认；也可以随时说“转人工”。"),
    (re.compile(r"(名字|叫什么|男的|女的|多大)"), "我是建湖12345热线的智能客服。"),
    (re.compile(r"(天气|冷|热|下雨|下雪)"), "是啊，您出门注意身体。"),
    (re.compile(r"(烦|心情|没办法|唉|气死|着急)"), "您别着急，有什么事慢慢说，我帮您把情况反映上去。"),
    (re.compile(r"(哈哈|呵呵|聪明|好听)"), "谢谢您。"),
)
DEFAULT = "嗯，我明白。"


def answer_for(text: str) -> str:
    return next((answer for pattern, answer in ANSWERS if pattern.search(text or "")), DEFAULT)


class ActionChitchat(Action):
    def name(self) -> str:
        return "action_chitchat"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        text = tracker.latest_message.get("text") or ""
        if judge(text) is not None and not tracker.active_loop.get("name"):
            # "活着没意思 不想活了" heard as chitchat: an emergency or risk is never small talk.
            from actions.triage import proceed_with  # triage imports the intake, which is heavier

            return await proceed_with("help_request", dispatcher, tracker)
        dispatcher.utter_message(text=answer_for(text))
        return []
