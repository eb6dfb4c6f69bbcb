"""The voice gateway: SIP UA + one pipeline per call + a /health endpoint."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
import uuid

import numpy as np
from aiohttp import web

from telephony.asr import AsrEngine, resolve_model_path
from telephony.audio import resample
from telephony.frames import DTMF, AudioIn, CallStarted, Hangup
from telephony.gazetteer import Gazetteer
from telephony.hub import HubClient, HubError, LineLog
from telephony.outbound import DialFailure, dial
from telephony.pipeline import AsrProcessor, CallState, Pipeline, Playout, TtsProcessor, TurnTiming, VadProcessor
from telephony.settings import Settings
from telephony.sip.ua import Call, SipUA, UASettings
from telephony.transfer import Bridge, refer
from telephony.tts import EdgeTts, EspeakTts, PromptCache, Synthesizer, TtsEngine, split_sentences
from telephony.turns import Prompts, TurnManager
from telephony.vad import VadConfig

log = logging.getLogger(__name__)

# End reasons of the bot side mapped to the hub's close reasons (None: leave it open for staff).
CLOSE_FOR = {"completed": None, "no_input": "no_input", "one_way_audio": "one_way_audio",
             "handoff": None, "hub_error": None, "max_duration": "completed",
             "transferred": None, "bridged": None, "transfer_failed": None,
             "callback": None,  # a callback request waits for staff with its conversation
             "overflow": "completed", "overflow_callback": None,
             # the line itself went (RFC 4028 session timer): not the caller's choice, so not caller_hangup
             "session_expired": "line_dropped", "session_refresh_failed": "line_dropped"}
# Why the SIP layer ended a call on its own (Call.end_reason) → the gateway's end reason; any other
# end of the call from the far side is the caller hanging up.
LINE_ENDS = {"session expired": "session_expired", "session refresh failed": "session_refresh_failed"}


@dataclasses.dataclass
class CallRecord:
    conversation_id: str
    caller_number: str | None
    end_reason: str = ""
    closed_with: str | None = None
    timings: list[TurnTiming] = dataclasses.field(default_factory=list)
    barge_ins: int = 0
    transcript: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    transfer: dict[str, object] | None = None  # what /calls/{id}/transfer did


class TransferRefused(Exception):
    pass


def build_synthesizer(settings: Settings) -> Synthesizer:
    engines: list[TtsEngine] = []
    for name in settings.tts_engines:
        if name == "edge":
            engines.append(EdgeTts(voice=settings.tts_voice, timeout=settings.edge_tts_timeout, wss_url=settings.edge_tts_url))
        elif name == "espeak":
            engines.append(EspeakTts(voice=settings.espeak_voice))
        else:
            raise ValueError(f"unknown TTS engine {name!r} (edge, espeak)")
    return Synthesizer(engines, PromptCache(settings.prompt_cache_dir))


class Gateway:
    def __init__(self, settings: Settings, *, asr: AsrEngine | None = None, synth: Synthesizer | None = None,
                 hub: HubClient | None = None) -> None:
        self.settings = settings
        self.asr = asr
        self._owns_asr = asr is None  # a shared engine (tests, bench) outlives this gateway
        self.synth = synth or build_synthesizer(settings)
        self.hub = hub or HubClient(settings.api_url, settings.service_token)
        self.prompts = Prompts()
        if settings.notice:
            self.prompts.notice = settings.notice
        if settings.greeting:
            self.prompts.greeting = settings.greeting
        self.gazetteer: Gazetteer | None = None
        if settings.gazetteer_path is not None and settings.gazetteer_path.exists():
            self.gazetteer = Gazetteer.load(settings.gazetteer_path)
        self.ua = SipUA(
            UASettings(
                bind_host=settings.sip_bind, bind_port=settings.sip_port, public_host=settings.sip_public_host,
                user=settings.sip_user, max_calls=settings.max_calls + settings.overflow_calls,
                rtp_port_range=(settings.rtp_port_min, settings.rtp_port_max) if settings.rtp_port_min else None,
                registrar=settings.sip_registrar, auth_username=settings.sip_username,
                auth_password=settings.sip_password, domain=settings.sip_domain,
                register_expires=settings.sip_register_expires, busy_status=settings.busy_status,
                keepalive_target=settings.sip_keepalive_target, keepalive_seconds=settings.sip_keepalive_seconds,
                **settings.sip_trunk_options(),  # type: ignore[arg-type]
            ),
            on_incoming=self._on_call,
        )
        self.records: list[CallRecord] = []
        self.active: dict[str, CallSession] = {}  # conversation id → call in progress
        self.sessions: set[asyncio.Task[None]] = set()
        self._health: web.AppRunner | None = None
        self.health_port = settings.health_port
        self.started_at = time.time()

    async def start(self, *, health: bool = True) -> None:
        if self.asr is None:
            path = resolve_model_path(self.settings.vosk_model_path)  # raises ModelMissing with advice
            loop = asyncio.get_running_loop()
            self.asr = await loop.run_in_executor(None, lambda: AsrEngine(path, workers=self.settings.asr_workers))
        rendered = await self.synth.prerender(self.prompts.fixed())
        log.info("prompt cache ready (%d sentences)", rendered)
        if self.asr.warmup_audio is None:
            # New recognisers are warmed with speech-like audio: the opening prompts as TTS renders
            # them (capped: warming costs CPU that live calls may need)
            pcm = [(await self.synth.speak(s, cache=True)).pcm
                   for text in (self.prompts.notice, self.prompts.greeting) for s in split_sentences(text)]
            warm = np.concatenate(pcm)[: 15 * 8000]
            self.asr.warmup_audio = resample(warm, 8000, 16000).tobytes()
            self.asr.prewarm(min(self.settings.max_calls, 2))
        await self.ua.start()
        if health:
            await self._start_health()

    async def stop(self) -> None:
        await self.ua.stop()
        for task in list(self.sessions):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(task, 5)
        if self._health is not None:
            await self._health.cleanup()
        await self.hub.aclose()
        if self.asr is not None and self._owns_asr:
            self.asr.close()

    async def _start_health(self) -> None:
        async def health(_: web.Request) -> web.Response:
            return web.json_response({
                "status": "ok", "calls": self.ua.active_calls(), "max_calls": self.settings.max_calls,
                "bot_calls": len(self.active), "overflow_calls": self.ua.active_calls() - len(self.active),
                "model": str(self.asr.model_path) if self.asr else None,
                "registered": self.ua.registered.is_set() if self.settings.sip_registrar else None,
                "sip_port": self.ua.local_port,
                "trunk_alive": self.ua.trunk_alive,
            })

        async def transfer(request: web.Request) -> web.Response:
            if request.headers.get("Authorization") != f"Bearer {self.settings.service_token}":
                return web.json_response({"detail": "service token required"}, status=401)
            cid = request.match_info["cid"]
            try:
                body = await request.json()
            except ValueError:
                body = None
            target = body.get("target") if isinstance(body, dict) else None
            if not isinstance(target, str) or not target.lower().startswith(("sip:", "sips:")) or "@" not in target:
                return web.json_response({"detail": "target must be a SIP URI (sip:1001@pbx)"}, status=422)
            session = self.active.get(cid)
            if session is None:
                if any(r.conversation_id == cid for r in self.records):
                    return web.json_response({"detail": "call already ended"}, status=409)
                return web.json_response({"detail": "no such call"}, status=404)
            try:
                # shielded: the API giving up on a slow transfer must not cut it off half-way
                result = await asyncio.shield(session.transfer(target))
            except TransferRefused as exc:
                return web.json_response({"detail": str(exc)}, status=409)
            return web.json_response(result, status=200 if result["status"] != "failed" else 502)

        async def say(request: web.Request) -> web.Response:
            """An agent's typed reply in a voice conversation, spoken to the caller."""
            if request.headers.get("Authorization") != f"Bearer {self.settings.service_token}":
                return web.json_response({"detail": "service token required"}, status=401)
            try:
                body = await request.json()
            except ValueError:
                body = None
            text = body.get("text") if isinstance(body, dict) else None
            if not isinstance(text, str) or not text.strip() or len(text) > 2000:
                return web.json_response({"detail": "text must be 1-2000 characters"}, status=422)
            session = self.active.get(request.match_info["cid"])
            if session is None:
                return web.json_response({"detail": "no such call"}, status=404)
            if session.transferring or session.turns.ending:
                return web.json_response({"detail": "call is ending or transferred"}, status=409)
            await session.turns.say_for_agent(text.strip())
            return web.json_response({"status": "speaking"})

        app = web.Application()
        app.router.add_get("/health", health)
        app.router.add_post("/calls/{cid}/say", say)
        app.router.add_post("/calls/{cid}/transfer", transfer)
        self._health = web.AppRunner(app, access_log=None)
        await self._health.setup()
        site = web.TCPSite(self._health, self.settings.health_host, self.settings.health_port)
        await site.start()
        self.health_port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def _on_call(self, call: Call) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.sessions.add(task)  # type: ignore[arg-type]
        if len(self.active) >= self.settings.max_calls:
            try:
                await self._overflow(call)
            finally:
                self.sessions.discard(task)  # type: ignore[arg-type]
            return
        session = CallSession(self, call)
        self.active[session.state.conversation_id] = session
        try:
            await session.run()
        finally:
            self.active.pop(session.state.conversation_id, None)
            self.sessions.discard(task)  # type: ignore[arg-type]


    async def _overflow(self, call: Call) -> None:
        """A call beyond VOICE_MAX_CALLS: no recogniser for it (that would slow every caller down),
        but no busy tone either: the county's message, and 1 for a call-back, listed for agents
        like a silent caller's. The conversation is in the hub from the first ring all the same."""
        record = CallRecord(f"call-{uuid.uuid4().hex}", call.remote_number)
        line = LineLog(self.hub, record.conversation_id)
        line.post("call_started", caller_number=call.remote_number)
        pressed = asyncio.Event()
        call.on_dtmf = lambda digit: pressed.set() if digit == "1" else None

        async def say(text: str) -> None:
            call.rtp.enqueue((await self.synth.speak(text, cache=True)).pcm)
            line.post("prompt", text=text)
            record.transcript.append(("bot", text))

        log.info("[%s] over capacity (%d bot calls): overflow message", record.conversation_id, len(self.active))
        reason = "overflow"
        if call.remote_number:
            await say(self.prompts.overflow)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._until_key_or_end(call, pressed), call.rtp.queued_seconds + 8.0)
            if pressed.is_set() and call.state != "ended":
                call.rtp.flush()
                line.post("keypad", digits="1")
                line.post("callback")
                reason = "overflow_callback"
                await say(self.prompts.callback_bye)
            elif call.state != "ended":
                await say(self.prompts.overflow_bye)
        else:
            await say(self.prompts.overflow_anonymous)  # nobody to call back
        while call.rtp.playing and call.state != "ended":
            await asyncio.sleep(0.1)
        record.end_reason = reason if call.state != "ended" else "caller_hangup"
        await call.hangup(reason)
        await line.close()
        close = CLOSE_FOR.get(record.end_reason, record.end_reason)
        if close:
            with contextlib.suppress(HubError):
                await self.hub.close(record.conversation_id, close)
            record.closed_with = close
        self.records.append(record)

    @staticmethod
    async def _until_key_or_end(call: Call, pressed: asyncio.Event) -> None:
        ended = asyncio.ensure_future(call.ended.wait())
        key = asyncio.ensure_future(pressed.wait())
        try:
            await asyncio.wait({ended, key}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            ended.cancel()
            key.cancel()


class CallSession:
    """One answered call: its pipeline, its hub conversation and its orderly end."""

    def __init__(self, gateway: Gateway, call: Call) -> None:
        assert gateway.asr is not None
        self.gw = gateway
        self.call = call
        s = gateway.settings
        self.state = CallState(conversation_id=f"call-{uuid.uuid4().hex}", caller_number=call.remote_number)
        self.state.end_reason = asyncio.get_running_loop().create_future()
        rtp = call.rtp
        self.state.playing = lambda: rtp.playing
        self.playout = Playout(self.state, rtp.enqueue, rtp.flush, lambda: rtp.queued_seconds)
        rtp.on_frame_sent = self.playout.frame_sent
        self.line = LineLog(gateway.hub, self.state.conversation_id)
        self.turns = TurnManager(
            self.state, gateway.hub, prompts=gateway.prompts, gazetteer=gateway.gazetteer,
            start_text=s.start_text, no_input_timeout=s.no_input_timeout, media_timeout=s.media_timeout,
            last_media=lambda: rtp.last_packet_at, use_grammar=s.use_grammar, hold_seconds=s.agent_hold_seconds,
            line=self.line, filler_after=s.filler_after,
        )
        self.pipeline = Pipeline([
            VadProcessor(self.state, VadConfig(end_silence=s.end_silence)),
            AsrProcessor(self.state, gateway.asr.stream()),
            self.turns,
            TtsProcessor(self.state, gateway.synth),
            self.playout,
        ])
        self.record = CallRecord(self.state.conversation_id, call.remote_number)
        self.transferring = False
        self.bridge: Bridge | None = None
        self._bridge_task: asyncio.Future[str] | None = None

    async def run(self) -> None:
        call, state = self.call, self.state
        log.info("[%s] call %s from %s answered", state.conversation_id, call.call_id, call.remote_number)
        call.on_audio = lambda pcm: self.pipeline.feed(AudioIn(pcm))
        call.on_dtmf = lambda digit: self.pipeline.feed(DTMF(digit))
        self.pipeline.start()
        self.pipeline.feed(CallStarted())
        assert state.end_reason is not None
        hung_up = asyncio.ensure_future(call.ended.wait())
        try:
            done, _ = await asyncio.wait({hung_up, state.end_reason}, timeout=self.gw.settings.max_call_seconds,
                                         return_when=asyncio.FIRST_COMPLETED)
            if not done and self.transferring:  # an agent's call has no bot time limit
                done, _ = await asyncio.wait({hung_up, state.end_reason}, return_when=asyncio.FIRST_COMPLETED)
            if self._bridge_task is not None:
                await self._bridge_task
                reason = "bridged"
            elif state.end_reason in done:
                reason = state.end_reason.result()
            elif hung_up in done:
                reason = LINE_ENDS.get(call.end_reason, "caller_hangup")
                self.pipeline.feed(Hangup())
            else:
                reason = "max_duration"
            self.record.end_reason = reason
            log.info("[%s] call ending: %s", state.conversation_id, reason)
            await self.pipeline.stop()
            # BYE retransmits for up to 32 s towards a dead peer: the hub must not wait for that
            bye = asyncio.ensure_future(call.hangup(reason))
            close = CLOSE_FOR.get(reason, reason)
            if reason == "caller_hangup" and (not self.turns.conversation_started or self.turns.hub_mode == "closed"):
                close = None  # nothing open at the hub to keep (or already closed by the bot)
            if self.transferring:
                close = None  # the agent who asked for the transfer closes the conversation
            await self.line.close()  # the last prompts reach the transcript before it is closed
            if close and self.turns.conversation_started:
                try:
                    await self.gw.hub.close(state.conversation_id, close)
                    self.record.closed_with = close
                except HubError as exc:
                    log.error("[%s] could not close conversation: %s", state.conversation_id, exc)
            await bye
        finally:
            hung_up.cancel()
            await self.pipeline.stop()
            await self.line.close(timeout=1.0)
            if call.state != "ended":
                await call.hangup("cleanup")
            self.record.timings = list(state.completed_timings)
            self.record.barge_ins = self.playout.barge_ins
            self.record.transcript = list(state.transcript)
            self.gw.records.append(self.record)

    # -- transfer to an agent's extension ----------------------------------------------------------
    async def _play(self, text: str) -> None:
        """Speak outside the (stopped) pipeline and wait until it has gone out on the wire."""
        speech = await self.gw.synth.speak(text, cache=True)
        self.state.transcript.append(("bot", text))
        rtp = self.call.rtp
        rtp.enqueue(speech.pcm)
        while rtp.playing and self.call.state != "ended":
            await asyncio.sleep(0.05)

    async def transfer(self, target: str) -> dict[str, object]:
        """Hand the call to `target`: REFER first, a bridge when the far end cannot do it."""
        if self.transferring:
            raise TransferRefused("transfer already in progress or done")
        if self.call.state == "ended" or (self.state.end_reason is not None and self.state.end_reason.done()):
            raise TransferRefused("call already ended")
        self.transferring = True
        cid, s = self.state.conversation_id, self.gw.settings
        log.info("[%s] transferring to %s", cid, target)
        await self.pipeline.stop()  # the bot says nothing more on this call
        self.call.on_audio = None
        self.call.on_dtmf = None
        self.call.rtp.flush()
        await self._play(self.gw.prompts.transferring)
        result: dict[str, object] = {"target": target}
        referred = None
        if s.transfer_refer and self.call.state != "ended":
            ua = self.gw.ua
            referred = await refer(self.call, target, referred_by=f"<sip:{s.sip_user}@{ua.host}:{ua.local_port}>",
                                   timeout=s.transfer_ring_seconds + 10)
            result["refer"] = {"ok": referred.ok, "sip_status": referred.sip_status, "detail": referred.detail}
            if referred.ok:
                log.info("[%s] REFER to %s done: %s", cid, target, referred.detail)
                result.update(method="refer", status="completed")
                self.record.transfer = result
                self.state.request_end("transferred")
                return result
            log.info("[%s] REFER refused (%s): bridging", cid, referred.detail)
        if self.call.state == "ended":
            result.update(method="bridge", status="failed", detail="来电方已挂机")
            self.record.transfer = result
            return result
        leg = await dial(self.gw.ua, target, from_user=self.call.remote_number or s.sip_user,
                         ring_timeout=s.transfer_ring_seconds)
        if isinstance(leg, DialFailure):
            log.warning("[%s] bridge to %s failed: %s", cid, target, leg.detail)
            result.update(method="bridge", status="failed", detail=leg.detail, sip_status=leg.sip_status)
            self.record.transfer = result
            if self.call.state != "ended":
                await self._play(self.gw.prompts.handoff)
            self.state.request_end("transfer_failed")
            return result
        if self.call.state == "ended":
            await leg.hangup("caller gone")
            result.update(method="bridge", status="failed", detail="来电方已挂机")
            self.record.transfer = result
            return result
        self.bridge = Bridge(self.call, leg)
        self.bridge.start()
        self._bridge_task = asyncio.ensure_future(self.bridge.wait())
        self._bridge_task.add_done_callback(lambda _t: self.state.request_end("bridged"))
        log.info("[%s] bridged to %s (call %s)", cid, target, leg.call_id)
        result.update(method="bridge", status="bridged", agent_call_id=leg.call_id)
        self.record.transfer = result
        return result
