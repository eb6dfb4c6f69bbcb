"""The turn manager: what a good operator does between the caller and the hub.

It speaks the recording notice, relays recognised text and keypad input to the hub, turns the
hub's replies (and their buttons) into speech, re-prompts on silence, offers the keypad or a
human after the second silence and ends the call politely after the third.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from dataclasses import dataclass

from telephony.frames import DTMF, BargeIn, BotText, CallStarted, FinalText, Frame, Hangup, InterimText
from telephony.gazetteer import Gazetteer
from telephony.hub import Button, HubClient, HubError, LineLog
from telephony.pipeline import CallState, Processor, TurnTiming
from telephony.textnorm import normalize_numbers

log = logging.getLogger(__name__)


@dataclass
class Prompts:
    notice: str = "您好，这里是建湖12345政务服务热线，为了更好地为您服务，通话将被录音。"
    # Spoken locally like the web chat's opening line: the hub hears from the caller first.
    greeting: str = "请问您要反映什么问题？可以直接说发生了什么、在哪里。"
    reprompt: str = "抱歉，我没有听清。"
    keypad_offer: str = "您也可以使用电话按键：按星号键重听，按0转人工服务。"
    number_hint: str = "号码也可以直接按键输入，以井号键结束。"
    no_input_bye: str = "由于长时间没有听到您的声音，本次通话先结束。您已反映的内容我们会记录下来，感谢您的来电，再见。"
    one_way_bye: str = "抱歉，我们听不到您的声音，请挂机后重新拨打。再见。"
    hub_down: str = "抱歉，系统暂时繁忙，请您稍后再拨。再见。"
    handoff: str = "好的，您的诉求已记录，我们会安排工作人员尽快与您联系。感谢您的来电，再见。"
    hold: str = "正在为您转接人工服务，请不要挂机。"
    transferring: str = "正在为您转接工作人员，请稍候。"
    goodbye: str = "感谢您的来电，再见。"
    choice_intro: str = "请说出您的选择，或者按键："
    # A caller silent through the greeting and two prompts: asked once more, then offered a person
    # or a callback (and listed for agents: a frightened caller may not be able to speak).
    filler: str = "好的，我记一下。"  # when the hub is slow to answer: no dead air
    still_there: str = "您好，您还在听吗？有什么需要，请直接跟我说，我在听。"
    silent_offer: str = "如果您现在不方便说话，请按0，由工作人员来接听；按1，由工作人员稍后给您回电。您也可以不挂机，继续等候。"
    callback_bye: str = "好的，工作人员会尽快给您回电，请保持电话畅通。感谢您的来电，再见。"
    silent_bye: str = "由于长时间没有听到您的声音，本次通话先结束，工作人员稍后会给您回电。感谢您的来电，再见。"

    # Beyond capacity (VOICE_MAX_CALLS): a polite message and a call-back, never a busy tone.
    overflow: str = ("您好，这里是建湖12345政务服务热线。现在来电较多，线路暂时全部占满，"
                     "需要工作人员给您回电，请按1；您也可以稍后再拨。")
    overflow_bye: str = "感谢您的来电，请您稍后再拨，再见。"
    overflow_anonymous: str = "您好，这里是建湖12345政务服务热线。现在来电较多，线路暂时全部占满，请您稍后再拨。感谢您的来电，再见。"

    def fixed(self) -> list[str]:
        """Prompts rendered into the cache when the gateway starts."""
        return [self.notice, self.greeting, self.reprompt, self.keypad_offer, self.number_hint, self.no_input_bye,
                self.one_way_bye, self.hub_down, self.handoff, self.goodbye, self.choice_intro, self.hold,
                self.transferring, self.filler, self.still_there, self.silent_offer, self.callback_bye, self.silent_bye,
                self.overflow, self.overflow_bye, self.overflow_anonymous]


# Ways callers say yes/no and the satisfaction levels, for matching speech to button titles.
SYNONYMS: dict[str, list[str]] = {
    "是": ["是", "是的", "对", "对的", "嗯", "好", "好的", "可以", "行", "没错", "确认"],
    "不是": ["不是", "不对", "不", "没有", "不用", "不要", "不行", "否"],
    "满意": ["满意", "非常满意", "很满意"],
    "基本满意": ["基本满意", "还行", "一般", "还可以"],
    "不满意": ["不满意", "很不满意", "非常不满意"],
}
HUMAN_WORDS = ("转人工",)
_PUNCT = re.compile(r"[\s，。！？、,.!?；;：:]+")
_NUMBER_QUESTION = re.compile(r"电话|号码|手机")


def phrases_for(buttons: list[Button]) -> list[str]:
    out: list[str] = []
    for b in buttons:
        for p in [b.title, *SYNONYMS.get(b.title, [])]:
            if p and p not in out:
                out.append(p)
    return out


def match_button(text: str, buttons: list[Button]) -> Button | None:
    """The button a spoken answer means: exact title, a known synonym, or the longest title inside."""
    said = _PUNCT.sub("", text)
    if not said or not buttons:
        return None
    for b in buttons:
        if said == _PUNCT.sub("", b.title) or said in SYNONYMS.get(b.title, []):
            return b
    inside = [b for b in buttons if _PUNCT.sub("", b.title) and _PUNCT.sub("", b.title) in said]
    if inside:
        return max(inside, key=lambda b: len(b.title))
    if said.isdigit() and 1 <= int(said) <= len(buttons):
        return buttons[int(said) - 1]
    return None


def _sentences(texts: list[str]) -> str:
    return "".join(t if t.endswith(("。", "！", "？", "!", "?", ".")) else t + "。" for t in texts)


class TurnManager(Processor):
    def __init__(
        self,
        state: CallState,
        hub: HubClient,
        *,
        prompts: Prompts | None = None,
        gazetteer: Gazetteer | None = None,
        start_text: str = "",
        no_input_timeout: float = 8.0,
        digit_timeout: float = 3.0,
        media_timeout: float = 10.0,
        last_media: callable | None = None,  # type: ignore[valid-type]
        use_grammar: bool = True,
        hold_seconds: float = 0.0,
        hold_reminder: float = 20.0,
        line: LineLog | None = None,
        filler_after: float = 0.0,
    ) -> None:
        super().__init__()
        self.state = state
        self.hub = hub
        self.prompts = prompts or Prompts()
        self.gazetteer = gazetteer
        self.start_text = start_text
        self.no_input_timeout = no_input_timeout
        self.digit_timeout = digit_timeout
        self.media_timeout = media_timeout
        self.last_media = last_media or (lambda: None)
        self.use_grammar = use_grammar
        self.hold_seconds = hold_seconds
        self.hold_reminder = hold_reminder
        self.filler_after = filler_after  # >0: a reply slower than this gets the filler first
        self.fillers = 0
        self.line = line  # line events for the hub's transcript (None: caller turns only)
        self.holding_since: float | None = None  # waiting for an agent to take the call by transfer
        self.buttons: list[Button] = []
        self.last_prompt = ""
        self.no_input_count = 0
        self.silent_offered = False  # the silent caller has been offered a person or a callback
        self.conversation_started = False
        self.hub_mode = "bot"
        self.ending = False
        self._turn = 0
        self._digits = ""
        self._digit_task: asyncio.Task[None] | None = None
        self._hub_lock = asyncio.Lock()
        self._hub_busy = 0
        self._watchdog: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._started_at = time.monotonic()

    # -- frame handling ---------------------------------------------------------------------
    async def process(self, frame: Frame) -> None:
        if isinstance(frame, CallStarted):
            self._started_at = time.monotonic()
            if self.line is not None:
                # The conversation exists at the hub from the first ring, caller number included.
                self.line.post("call_started", caller_number=self.state.caller_number)
                self.conversation_started = True
            await self._say(self.prompts.notice, source="notice", interruptible=False, cache=True)
            if self.start_text:  # a deployment whose bot opens the conversation itself
                self._turn += 1
                self.state.timings[self._turn] = TurnTiming(self._turn, "start", final_text=time.monotonic())
                self._spawn(self._exchange(self.start_text, source="start", turn=self._turn))
            else:
                self.last_prompt = self.prompts.greeting
                await self._say(self.prompts.greeting, source="greeting", cache=True)
            self._watchdog = asyncio.create_task(self._watch())
        elif isinstance(frame, FinalText):
            if frame.text and not self.ending:
                self.no_input_count = 0
                self.silent_offered = False
                self._turn += 1
                timing = TurnTiming(self._turn, "speech", speech_end=frame.speech_end, final_text=time.monotonic())
                self.state.timings[self._turn] = timing
                self._spawn(self._on_speech(frame.text, self._turn))
        elif isinstance(frame, DTMF):
            await self._on_dtmf(frame.digit)
        elif isinstance(frame, InterimText):
            pass
        elif isinstance(frame, BargeIn):
            await self.push(frame)
        elif isinstance(frame, Hangup):
            self.ending = True
        else:
            await self.push(frame)

    def _spawn(self, coro: object) -> None:
        task = asyncio.ensure_future(coro)  # type: ignore[arg-type]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _say(self, text: str, *, source: str, interruptible: bool = True, end_reason: str | None = None,
                   cache: bool | None = None, turn: int | None = None, record: str | None = None) -> None:
        """Speak `text`; `record` is the part the gateway says by itself (the hub already has its
        own replies), logged as a prompt in the hub's transcript. By default all of it."""
        if turn is None:
            self._turn += 1
            turn = self._turn
            self.state.timings[turn] = TurnTiming(turn, source, bot_reply=time.monotonic())
        self.state.transcript.append(("bot", text))
        record = text if record is None else record
        if record and self.line is not None:
            self.line.post("prompt", text=record)
        # A closing message must play out in full, or the call would never reach its BYE.
        await self.push(BotText(text, turn, interruptible and end_reason is None, end_reason, cache))

    # -- caller input ---------------------------------------------------------------------------
    async def _on_speech(self, text: str, turn: int) -> None:
        said = normalize_numbers(text)
        if self.gazetteer is not None:
            said, _ = self.gazetteer.correct(said)
        self.state.transcript.append(("caller", said))
        button = match_button(said, self.buttons)
        if any(w in said for w in HUMAN_WORDS):
            button = None
        if button is not None:
            await self._exchange(button.title, payload=button.payload, source="speech", turn=turn)
        else:
            await self._exchange(said, source="speech", turn=turn)

    async def _on_dtmf(self, digit: str) -> None:
        if self.ending:
            return
        self.state.last_activity = time.monotonic()
        self.no_input_count = 0
        await self.push(BargeIn("dtmf"))
        if digit == "*" and not self._digits:
            await self._say(self.last_prompt or self.prompts.goodbye, source="dtmf")
            return
        if digit == "#":
            await self._submit_digits()
            return
        if digit == "1" and self.silent_offered and not self._digits and not self.buttons:
            await self._call_me_back(keys=digit)
            return
        if not self._digits and self.buttons:
            index = int(digit) - 1 if digit.isdigit() else -1
            if 0 <= index < len(self.buttons):
                await self._dtmf_turn(self.buttons[index].title, keys=digit, payload=self.buttons[index].payload)
                return
            if digit == "0":
                await self._dtmf_turn("转人工", keys=digit)
                return
        self._digits += digit
        if self._digit_task is not None:
            self._digit_task.cancel()
        self._digit_task = asyncio.create_task(self._digit_timeout())

    async def _digit_timeout(self) -> None:
        await asyncio.sleep(self.digit_timeout)
        self._digit_task = None
        await self._submit_digits()

    async def _submit_digits(self) -> None:
        if self._digit_task is not None:
            self._digit_task.cancel()
            self._digit_task = None
        digits, self._digits = self._digits, ""
        if not digits:
            return
        await self._dtmf_turn("转人工" if digits == "0" else digits, keys=digits)

    async def _dtmf_turn(self, text: str, *, keys: str, payload: str | None = None) -> None:
        if self.line is not None:
            self.line.post("keypad", digits=keys)
        self._turn += 1
        self.state.timings[self._turn] = TurnTiming(self._turn, "dtmf", final_text=time.monotonic())
        self.state.transcript.append(("caller", f"[按键] {text}"))
        self._spawn(self._exchange(text, payload=payload, source="dtmf", turn=self._turn))

    def _filler_later(self, turn: int) -> asyncio.Task[None] | None:
        """Say the filler if the hub has not answered within `filler_after` seconds."""
        if self.filler_after <= 0:
            return None

        async def later() -> None:
            await asyncio.sleep(self.filler_after)
            if not self.ending and not self.state.playing():
                self.fillers += 1
                timing = self.state.timings.get(turn)
                if timing is not None:
                    timing.filler = time.monotonic()
                # its own turn id: the reply's timing still measures the real answer
                await self._say(self.prompts.filler, source="filler", cache=True)

        return asyncio.create_task(later())

    async def say_for_agent(self, text: str) -> None:
        """An agent's typed reply, spoken to the caller (the hub already has it in the transcript)."""
        self.state.last_activity = time.monotonic()
        await self._say(text, source="agent", record="")

    async def _hold_message(self) -> str:
        """The county's hold message with the caller's place in the agents' queue, when known."""
        place = await self.hub.queue_place(self.state.conversation_id) if self.line is not None else None
        position = (place or {}).get("position")
        if isinstance(position, int) and position > 1:
            return f"{self.prompts.hold}您前面还有{position - 1}位来电者在等候，请耐心等待。"
        if position == 1:
            return f"{self.prompts.hold}下一位就是您，请稍候。"
        return self.prompts.hold

    async def _call_me_back(self, *, keys: str | None = None) -> None:
        """The caller chose (or, silent to the end, is given) a callback from staff."""
        self.ending = True
        if self.line is not None:
            if keys:
                self.line.post("keypad", digits=keys)
            self.line.post("callback")
        if keys:
            await self._say(self.prompts.callback_bye, source="dtmf", end_reason="callback", cache=True)
        else:
            await self._say(self.prompts.silent_bye, source="no_input", end_reason="no_input", cache=True)

    # -- the hub ---------------------------------------------------------------------------------
    async def _exchange(self, text: str, *, source: str, turn: int, payload: str | None = None) -> None:
        self._hub_busy += 1
        try:
            async with self._hub_lock:
                if self.ending:
                    return
                if self.line is not None:
                    # the greeting and keys pressed go into the transcript before this turn
                    await self.line.drain(5.0)
                filler = self._filler_later(turn) if source in ("speech", "dtmf") else None
                try:
                    resp = await self.hub.send(self.state.conversation_id, text, self.state.caller_number,
                                               payload=payload)
                except HubError as exc:
                    log.error("[%s] hub failed: %s", self.state.conversation_id, exc)
                    self.ending = True
                    await self._say(self.prompts.hub_down, source="error", end_reason="hub_error", cache=True)
                    return
                finally:
                    if filler is not None:
                        filler.cancel()
                self.conversation_started = True
                self.hub_mode = resp.mode
                timing = self.state.timings.setdefault(turn, TurnTiming(turn, source))
                timing.bot_reply = time.monotonic()
                self.buttons = []
                texts: list[str] = []
                for reply in resp.replies:
                    if reply.buttons:
                        self.buttons = reply.buttons
                    if reply.text:
                        texts.append(reply.text)
                from_hub = len(texts)
                if self.buttons:
                    keys = "，".join(f"{b.title}请按{i}" for i, b in enumerate(self.buttons, 1))
                    texts.append(f"{self.prompts.choice_intro}{keys}。")
                self.state.grammar = phrases_for(self.buttons) if self.buttons and self.use_grammar else None
                end_reason: str | None = None
                if resp.mode == "closed":
                    end_reason = "completed"
                    texts = texts or [self.prompts.goodbye]
                elif (resp.handoff_requested or resp.mode == "agent") and self.hold_seconds > 0:
                    # An agent takes the call by transfer (gateway /calls/{id}/transfer); until
                    # then the caller holds, and what they say still reaches the agent's screen.
                    if self.holding_since is None:
                        self.holding_since = time.monotonic()
                        texts.append(self.prompts.hold)
                elif resp.handoff_requested or resp.mode == "agent":
                    # Holding disabled: the draft is kept for staff to call back, and the caller
                    # hears exactly that.
                    end_reason = "handoff"
                    texts.append(self.prompts.handoff)
                else:
                    self.holding_since = None  # handed back to the bot
                if not texts:
                    return
                speech = _sentences(texts)
                if end_reason is None:
                    self.last_prompt = speech
                else:
                    self.ending = True
                await self._say(speech, source=source, end_reason=end_reason, turn=turn,
                                record=_sentences(texts[from_hub:]))
        finally:
            self._hub_busy -= 1
            self.state.last_activity = time.monotonic()

    # -- silence and dead lines -------------------------------------------------------------------
    async def _watch(self) -> None:
        while not self.ending:
            await asyncio.sleep(0.2)
            now = time.monotonic()
            last_media = self.last_media()
            reference = last_media if last_media is not None else self._started_at
            if now - reference > self.media_timeout:
                log.warning("[%s] no RTP for %.0fs: one-way audio", self.state.conversation_id, now - reference)
                self.ending = True
                await self._say(self.prompts.one_way_bye, source="no_media", end_reason="one_way_audio", cache=True)
                return
            if self.holding_since is not None:
                if now - self.holding_since > self.hold_seconds:
                    self.ending = True
                    if self.silent_offered and self.line is not None and self.state.caller_number:
                        self.line.post("callback")  # the handoff prompt promises a call back: keep it
                    await self._say(self.prompts.handoff, source="hold_timeout", end_reason="handoff", cache=True)
                    return
                if self.state.playing() or self.state.in_speech or self._hub_busy:
                    self.state.last_activity = now
                elif now - self.state.last_activity >= self.hold_reminder:
                    self.state.last_activity = now
                    await self._say(await self._hold_message(), source="hold")
                continue
            busy = self.state.playing() or self.state.in_speech or self._hub_busy or self._digits
            if busy:
                self.state.last_activity = now
                continue
            if now - self.state.last_activity < self.no_input_timeout:
                continue
            self.no_input_count += 1
            self.state.last_activity = now
            if self.line is not None:
                self.line.post("silence", seconds=self.no_input_timeout)
            if self.no_input_count == 3:
                await self._say(self.prompts.still_there, source="reprompt", cache=True)
                continue
            if self.no_input_count == 4:
                # Listed for agents now; the caller hears what they can do without speaking.
                self.silent_offered = True
                if self.line is not None:
                    self.line.post("silent_caller")
                await self._say(self.prompts.silent_offer, source="reprompt", cache=True)
                continue
            if self.no_input_count >= 5:
                if self.hold_seconds > 0 and self.line is not None:
                    self.holding_since = now  # stays on the line, listed, until an agent takes it
                    await self._say(await self._hold_message(), source="hold")
                    continue
                if self.line is not None and self.state.caller_number:
                    await self._call_me_back()
                else:
                    self.ending = True
                    await self._say(self.prompts.no_input_bye, source="no_input", end_reason="no_input", cache=True)
                return
            prompt = self.prompts.reprompt
            if self.no_input_count == 2:
                prompt += self.prompts.keypad_offer
                if _NUMBER_QUESTION.search(self.last_prompt):
                    prompt += self.prompts.number_hint
            await self._say(prompt + self.last_prompt, source="reprompt")

    async def stop(self) -> None:
        for task in [self._watchdog, self._digit_task, *self._tasks]:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
