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
from telephony.hub import HubClient, HubError
from telephony.pipeline import AsrProcessor, CallState, Pipeline, Playout, TtsProcessor, TurnTiming, VadProcessor
from telephony.settings import Settings
from telephony.sip.ua import Call, SipUA, UASettings
from telephony.tts import EdgeTts, EspeakTts, PromptCache, Synthesizer, TtsEngine, split_sentences
from telephony.turns import Prompts, TurnManager
from telephony.vad import VadConfig

log = logging.getLogger(__name__)

# End reasons of the bot side mapped to the hub's close reasons (None: leave it open for staff).
CLOSE_FOR = {"completed": None, "no_input": "no_input", "one_way_audio": "one_way_audio",
             "handoff": None, "hub_error": None, "max_duration": "completed"}


@dataclasses.dataclass
class CallRecord:
    conversation_id: str
    caller_number: str | None
    end_reason: str = ""
    closed_with: str | None = None
    timings: list[TurnTiming] = dataclasses.field(default_factory=list)
    barge_ins: int = 0
    transcript: list[tuple[str, str]] = dataclasses.field(default_factory=list)


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
                user=settings.sip_user, max_calls=settings.max_calls,
                rtp_port_range=(settings.rtp_port_min, settings.rtp_port_max) if settings.rtp_port_min else None,
                registrar=settings.sip_registrar, auth_username=settings.sip_username,
                auth_password=settings.sip_password, domain=settings.sip_domain,
                register_expires=settings.sip_register_expires, busy_status=settings.busy_status,
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
                "model": str(self.asr.model_path) if self.asr else None,
                "registered": self.ua.registered.is_set() if self.settings.sip_registrar else None,
                "sip_port": self.ua.local_port,
            })

        app = web.Application()
        app.router.add_get("/health", health)
        self._health = web.AppRunner(app, access_log=None)
        await self._health.setup()
        site = web.TCPSite(self._health, self.settings.health_host, self.settings.health_port)
        await site.start()
        self.health_port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def _on_call(self, call: Call) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.sessions.add(task)  # type: ignore[arg-type]
        session = CallSession(self, call)
        self.active[session.state.conversation_id] = session
        try:
            await session.run()
        finally:
            self.active.pop(session.state.conversation_id, None)
            self.sessions.discard(task)  # type: ignore[arg-type]


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
        self.turns = TurnManager(
            self.state, gateway.hub, prompts=gateway.prompts, gazetteer=gateway.gazetteer,
            start_text=s.start_text, no_input_timeout=s.no_input_timeout, media_timeout=s.media_timeout,
            last_media=lambda: rtp.last_packet_at, use_grammar=s.use_grammar,
        )
        self.pipeline = Pipeline([
            VadProcessor(self.state, VadConfig(end_silence=s.end_silence)),
            AsrProcessor(self.state, gateway.asr.stream()),
            self.turns,
            TtsProcessor(self.state, gateway.synth),
            self.playout,
        ])
        self.record = CallRecord(self.state.conversation_id, call.remote_number)

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
            if state.end_reason in done:
                reason = state.end_reason.result()
            elif hung_up in done:
                reason = "caller_hangup"
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
            if call.state != "ended":
                await call.hangup("cleanup")
            self.record.timings = list(state.completed_timings)
            self.record.barge_ins = self.playout.barge_ins
            self.record.transcript = list(state.transcript)
            self.gw.records.append(self.record)
