"""The outbound 回访 worker: claims jobs from the API, calls the citizen, runs the survey, reports.

    API (service token)          this worker                         the citizen's phone
    POST /jobs/claim  ───────►  dial (SIP INVITE, ring timeout) ───► rings, answers
                                 Survey (api/callbacks/survey.py)
                                 TTS prompts → RTP ; RTP → VAD → Vosk ; RFC 2833 digits
    POST /jobs/{id}/heartbeat ◄─ every lease/3 seconds while calling
    POST /jobs/{id}/recording ◄─ the reason, when one was recorded
    POST /jobs/{id}/result    ◄─ outcome, solved, rating, reason, transcript

The dialogue itself is the pure state machine in api/callbacks/survey.py (no api imports reach
the database: it is plain Python). A worker that loses its lease (the API re-offered the job
after a stall) hangs up at once, so one citizen is never on the line with two workers.

Run: `python -m telephony.callback_worker` (environment as the voice gateway, plus
MINSHENG_CALLBACK_DIAL_URI, e.g. "sip:{phone}@trunk.example.org"; see docs/callbacks.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import signal
import socket
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from api.callbacks.survey import Matter, Stage, Step, Survey
from telephony import audio
from telephony.asr import AsrEngine
from telephony.outbound import DialFailure, dial
from telephony.sip.ua import Call, SipUA
from telephony.tts import Synthesizer
from telephony.vad import Vad, VadConfig

log = logging.getLogger(__name__)

EventHook = Callable[[str, dict[str, Any]], Awaitable[None] | None]


# ---- API client ---------------------------------------------------------------------------------

class LeaseLost(RuntimeError):
    pass


class CallbackApi:
    """The worker's side of /api/v1/callbacks (service token)."""

    def __init__(self, base_url: str, token: str, *, timeout: float = 15.0,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._client = httpx.AsyncClient(base_url=base_url.rstrip("/"), timeout=timeout, transport=transport,
                                         headers={"Authorization": f"Bearer {token}"})

    async def claim(self, worker: str, lease_seconds: int) -> dict[str, Any] | None:
        r = await self._client.post("/api/v1/callbacks/jobs/claim", json={"worker": worker, "lease_seconds": lease_seconds})
        r.raise_for_status()
        return r.json()

    async def heartbeat(self, job_id: int, token: str, lease_seconds: int) -> None:
        r = await self._client.post(f"/api/v1/callbacks/jobs/{job_id}/heartbeat",
                                    json={"lease_token": token, "lease_seconds": lease_seconds})
        if r.status_code == 409:
            raise LeaseLost(r.json().get("detail", "lease lost"))
        r.raise_for_status()

    async def release(self, job_id: int, token: str) -> None:
        r = await self._client.post(f"/api/v1/callbacks/jobs/{job_id}/release", json={"lease_token": token})
        if r.status_code != 409:
            r.raise_for_status()

    async def upload_recording(self, job_id: int, token: str, wav: bytes) -> None:
        r = await self._client.post(f"/api/v1/callbacks/jobs/{job_id}/recording", params={"lease_token": token},
                                    content=wav, headers={"Content-Type": "audio/wav"})
        if r.status_code == 409:
            raise LeaseLost(r.json().get("detail", "lease lost"))
        r.raise_for_status()

    async def report(self, job_id: int, token: str, result: dict[str, Any]) -> dict[str, Any]:
        last: Exception | None = None
        for attempt in range(4):  # the API may be restarting: keep the result, try again
            try:
                r = await self._client.post(f"/api/v1/callbacks/jobs/{job_id}/result", json={"lease_token": token, **result})
                if r.status_code == 409:
                    raise LeaseLost(r.json().get("detail", "lease lost"))
                r.raise_for_status()
                return dict(r.json())
            except httpx.TransportError as exc:
                last = exc
                await asyncio.sleep(1.5 * (attempt + 1))
        raise RuntimeError(f"could not report job {job_id}: {last}")

    async def aclose(self) -> None:
        await self._client.aclose()


# ---- one call's input: DTMF and speech (VAD + Vosk) ----------------------------------------------

class CallInput:
    """Turns a call's RTP into events: ("dtmf", d), ("speech_start", None), ("utterance", pcm), ("hangup", None).

    Speech or a key while a prompt plays is a barge-in: the prompt is cut (`on_barge_in`).
    """

    def __init__(self, *, playing: Callable[[], bool], on_barge_in: Callable[[], None],
                 vad: VadConfig | None = None) -> None:
        self.events: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self.playing = playing
        self.on_barge_in = on_barge_in
        self.vad = Vad(vad or VadConfig(end_silence=0.8))
        self._frames: asyncio.Queue[np.ndarray] = asyncio.Queue()
        self._preroll: deque[np.ndarray] = deque(maxlen=10)
        self._speech: list[np.ndarray] | None = None
        self.barge_ins = 0

    def on_audio(self, pcm: np.ndarray) -> None:
        self._frames.put_nowait(pcm)

    def on_dtmf(self, digit: str) -> None:
        if self.playing():
            self.barge_ins += 1
            self.on_barge_in()
        self.events.put_nowait(("dtmf", digit))

    def hangup(self) -> None:
        self.events.put_nowait(("hangup", None))

    async def run(self) -> None:
        while True:
            pcm = await self._frames.get()
            for i in range(0, len(pcm) - audio.FRAME_SAMPLES + 1, audio.FRAME_SAMPLES):
                self._frame(pcm[i:i + audio.FRAME_SAMPLES])

    def _frame(self, frame: np.ndarray) -> None:
        playing = self.playing()
        event = self.vad.process(frame, playing=playing)
        if event is not None and event.kind == "start":
            if playing:
                self.barge_ins += 1
                self.on_barge_in()
            self._speech = [*self._preroll, frame]
            self.events.put_nowait(("speech_start", None))
            return
        if self._speech is not None:
            self._speech.append(frame)
            if event is not None and event.kind == "end":
                self.events.put_nowait(("utterance", np.concatenate(self._speech)))
                self._speech = None
            return
        self._preroll.append(frame)


# ---- the survey over one call ----------------------------------------------------------------------

@dataclass
class WorkerConfig:
    name: str = field(default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}")
    dial_uri: str = "sip:{phone}@127.0.0.1:5060"
    from_user: str = "12345"
    concurrency: int = 2
    lease_seconds: int = 60
    poll_interval: float = 3.0
    ring_timeout: float = 30.0
    answer_timeout: float = 7.0  # silence after a question before it is asked again
    reason_start_timeout: float = 10.0
    reason_pause: float = 2.0  # a pause this long after speech ends the reason
    reason_max_seconds: float = 45.0
    max_call_seconds: float = 240.0
    spool_dir: str | None = "var/callbacks/spool"  # results not yet accepted by the API survive a crash here


_LONG_DIGITS = re.compile(r"\d{3,}")
_SPOKEN = "零幺二三四五六七八九"


def speakable(text: str) -> str:
    """How an operator reads numbers: 12345 as 幺二三四五 (digit by digit), dates as they are."""
    return _LONG_DIGITS.sub(lambda m: "".join(_SPOKEN[int(d)] for d in m.group()), text)


def _personal(text: str, matter: Matter) -> bool:
    return bool((matter.citizen_name and matter.citizen_name in text) or "尾号" in text or re.search(r"\d+月\d+日", text))


class SurveyCall:
    def __init__(self, call: Call, survey: Survey, *, synth: Synthesizer, asr: AsrEngine | None, config: WorkerConfig,
                 emit: Callable[[str, dict[str, Any]], Awaitable[None]], job: dict[str, Any]) -> None:
        self.call = call
        self.survey = survey
        self.synth = synth
        self.asr = asr
        self.config = config
        self.emit = emit
        self.job = job
        self.input = CallInput(playing=lambda: call.rtp.playing, on_barge_in=call.rtp.flush)
        call.on_audio = self.input.on_audio
        call.on_dtmf = self.input.on_dtmf
        self.reason_pcm: np.ndarray | None = None
        self.outcome: str | None = None

    async def run(self) -> str:
        reader = asyncio.ensure_future(self.input.run())
        watcher = asyncio.ensure_future(self._watch_hangup())
        try:
            await asyncio.wait_for(self._dialogue(), self.config.max_call_seconds)
        except TimeoutError:
            log.warning("job %s: call too long, ending", self.job["job_id"])
            self.outcome = self.survey.on_hangup()
        finally:
            reader.cancel()
            watcher.cancel()
            for task in (reader, watcher):
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self.call.state != "ended":
            await self.call.hangup("survey finished")
        assert self.outcome is not None
        return self.outcome

    async def _watch_hangup(self) -> None:
        await self.call.ended.wait()
        self.input.hangup()

    async def _dialogue(self) -> None:
        step: Step = self.survey.start()
        while True:
            if step.say and not await self._say(step.say):
                self.outcome = self.survey.on_hangup()
                return
            if step.expect is None:
                self.outcome = step.outcome.value if step.outcome else self.survey.on_hangup()
                await self._drain_playback()
                return
            await self.emit("listening", {"job_id": self.job["job_id"], "stage": step.expect.value})
            if step.expect == Stage.reason:
                result = await self._record_reason()
                if result is None:
                    self.outcome = self.survey.on_hangup()
                    return
                step = self.survey.on_reason(result or None, audio="recording" if self.reason_pcm is not None else None)
                continue
            kind, value = await self._next_input(self.config.answer_timeout)
            if kind == "hangup":
                self.outcome = self.survey.on_hangup()
                return
            if kind == "dtmf":
                step = self.survey.on_key(value)
            elif kind == "utterance":
                step = self.survey.on_text(await self._transcribe(value))
            else:
                step = self.survey.on_silence()

    async def _say(self, text: str) -> bool:
        """Speak one prompt; returns False if the callee hung up. Barge-in cuts it short."""
        if self.call.state == "ended":
            return False
        for sentence in [s for s in re.split(r"(?<=[。！？])", text) if s.strip()]:
            speech = await self.synth.speak(speakable(sentence), cache=not _personal(sentence, self.survey.matter))
            if self.call.state == "ended":
                return False
            barged = self.input.barge_ins
            self.call.rtp.enqueue(speech.pcm)
            await self.emit("speaking", {"job_id": self.job["job_id"], "stage": self.survey.stage.value,
                                         "seconds": round(len(speech.pcm) / audio.SAMPLE_RATE, 2)})
            while self.call.rtp.playing and self.call.state != "ended":
                await asyncio.sleep(0.02)
            if self.input.barge_ins != barged or not self.input.events.empty():
                break  # the callee spoke or pressed a key: stop talking, listen
        return self.call.state != "ended"

    async def _drain_playback(self) -> None:
        while self.call.rtp.playing and self.call.state != "ended":
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.3)  # let the last packets reach the phone before BYE

    async def _next_input(self, timeout: float) -> tuple[str, Any]:
        """The next key, utterance or hang-up; ("silence", None) after `timeout` without speech."""
        deadline = time.monotonic() + timeout
        speaking = False
        while True:
            remaining = deadline - time.monotonic()
            try:
                if speaking:  # the callee is talking: wait for the end of the turn (VAD caps it)
                    kind, value = await asyncio.wait_for(self.input.events.get(), 30)
                else:
                    kind, value = await asyncio.wait_for(self.input.events.get(), max(remaining, 0.01))
            except TimeoutError:
                return ("silence", None)
            if kind == "speech_start":
                speaking = True
                continue
            return kind, value

    async def _record_reason(self) -> str | None:
        """Record what the callee says until a pause, '#', or the limit; '' when nothing was said."""
        parts: list[np.ndarray] = []
        deadline = time.monotonic() + self.config.reason_max_seconds
        wait = self.config.reason_start_timeout
        while time.monotonic() < deadline:
            kind, value = await self._next_input(wait)
            if kind == "hangup":
                if not parts:
                    return None
                break
            if kind == "dtmf" and value == "#":
                break
            if kind == "utterance":
                parts.append(value)
                wait = self.config.reason_pause
                continue
            if kind == "silence":
                break
        if not parts:
            return ""
        gap = np.zeros(audio.SAMPLE_RATE // 4, dtype=np.int16)
        self.reason_pcm = np.concatenate([p for part in parts for p in (part, gap)])
        texts = [await self._transcribe(p) for p in parts]
        text = " ".join(t for t in texts if t).strip()
        return text or "（已录音，未能自动转写，请听录音）"

    async def _transcribe(self, pcm: np.ndarray) -> str:
        if self.asr is None:
            return ""
        stream = self.asr.stream()
        await stream.feed(pcm, min_chunk=0.0)
        result = await stream.finish()
        return result.text


# ---- the worker loop ---------------------------------------------------------------------------------

@dataclass
class WorkerStats:
    claimed: int = 0
    reported: int = 0
    completed: int = 0
    idle_polls: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)


class CallbackWorker:
    def __init__(self, api: CallbackApi, ua: SipUA, synth: Synthesizer, *, asr: AsrEngine | None = None,
                 config: WorkerConfig | None = None, on_event: EventHook | None = None) -> None:
        self.api = api
        self.ua = ua
        self.synth = synth
        self.asr = asr
        self.config = config or WorkerConfig()
        self.on_event = on_event
        self.stats = WorkerStats()
        self._stopping = asyncio.Event()
        self._active: set[asyncio.Task[None]] = set()

    async def emit(self, kind: str, data: dict[str, Any]) -> None:
        if self.on_event is not None:
            result = self.on_event(kind, data)
            if asyncio.iscoroutine(result):
                await result

    def stop(self) -> None:
        """Stop claiming; calls in progress are finished and reported (a graceful restart)."""
        self._stopping.set()

    def _spool_path(self, job_id: int) -> Path | None:
        if not self.config.spool_dir:
            return None
        folder = Path(self.config.spool_dir)
        folder.mkdir(parents=True, exist_ok=True)
        return folder / f"job-{job_id}.json"

    async def flush_spool(self) -> int:
        """Report results a previous run of this worker finished but could not deliver (crash, API down).
        The API still takes them while the job's lease has not been handed to another worker."""
        if not self.config.spool_dir or not Path(self.config.spool_dir).is_dir():
            return 0
        sent = 0
        for path in sorted(Path(self.config.spool_dir).glob("job-*.json")):
            entry = json.loads(path.read_text(encoding="utf-8"))
            try:
                await self.api.report(int(entry["job_id"]), str(entry["lease_token"]), entry["result"])
                sent += 1
            except LeaseLost as exc:
                log.warning("spooled result for job %s refused: %s", entry["job_id"], exc)
            except (RuntimeError, httpx.HTTPError) as exc:
                log.warning("spooled result for job %s not delivered yet: %s", entry["job_id"], exc)
                continue
            path.unlink(missing_ok=True)
        return sent

    async def run(self) -> None:
        await self.flush_spool()
        while not self._stopping.is_set():
            if len(self._active) >= self.config.concurrency:
                await asyncio.wait(self._active, return_when=asyncio.FIRST_COMPLETED)
                continue
            try:
                job = await self.api.claim(self.config.name, self.config.lease_seconds)
            except httpx.HTTPError as exc:
                log.warning("claim failed: %s", exc)
                job = None
            if job is None:
                self.stats.idle_polls += 1
                await self.emit("idle", {"polls": self.stats.idle_polls})
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), self.config.poll_interval)
                continue
            self.stats.claimed += 1
            task = asyncio.ensure_future(self._handle(job))
            self._active.add(task)
            task.add_done_callback(self._active.discard)
        if self._active:
            await asyncio.gather(*self._active, return_exceptions=True)

    async def _handle(self, job: dict[str, Any]) -> None:
        job_id, token = int(job["job_id"]), str(job["lease_token"])
        lost = asyncio.Event()
        beat = asyncio.ensure_future(self._heartbeat(job_id, token, lost))
        await self.emit("claimed", {"job_id": job_id, "ticket_no": job["ticket_no"], "attempt": job["attempt"]})
        try:
            result = await self._call(job, lost)
            if lost.is_set():
                log.warning("job %s: lease lost during the call; not reporting", job_id)
                return
            spool = self._spool_path(job_id)
            if spool is not None:  # written before reporting: a crash now does not lose the answers
                spool.write_text(json.dumps({"job_id": job_id, "lease_token": token, "result": result},
                                            ensure_ascii=False), encoding="utf-8")
            report = await self.api.report(job_id, token, result)
            if spool is not None:
                spool.unlink(missing_ok=True)
            self.stats.reported += 1
            self.stats.outcomes[result["outcome"]] = self.stats.outcomes.get(result["outcome"], 0) + 1
            if result["outcome"] == "completed":
                self.stats.completed += 1
            await self.emit("reported", {"job_id": job_id, "result": result, "job": report})
        except LeaseLost as exc:
            log.warning("job %s: %s", job_id, exc)
            spool = self._spool_path(job_id)
            if spool is not None:
                spool.unlink(missing_ok=True)
        except Exception:
            log.exception("job %s failed; its lease will expire and it will be offered again", job_id)
        finally:
            beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beat

    async def _heartbeat(self, job_id: int, token: str, lost: asyncio.Event) -> None:
        interval = max(self.config.lease_seconds / 3, 1.0)
        while True:
            await asyncio.sleep(interval)
            try:
                await self.api.heartbeat(job_id, token, self.config.lease_seconds)
            except LeaseLost:
                lost.set()
                for call in list(self.ua.calls.values()):
                    if getattr(call, "_callback_job", None) == job_id:
                        await call.hangup("lease lost")
                return
            except httpx.HTTPError as exc:
                log.warning("heartbeat for job %s failed: %s", job_id, exc)

    async def _call(self, job: dict[str, Any], lost: asyncio.Event) -> dict[str, Any]:
        matter = Matter(
            citizen_name=job["matter"]["citizen_name"], phone_tail=job["matter"]["phone_tail"],
            accepted_on=date.fromisoformat(job["matter"]["accepted_on"]) if job["matter"]["accepted_on"] else None,
            summary=job["matter"]["summary"], hotline=job["matter"]["hotline"],
        )
        target = self.config.dial_uri.format(phone=job["phone"])
        await self.emit("dialing", {"job_id": job["job_id"], "target": target})
        answered = await dial(self.ua, target, from_user=self.config.from_user, ring_timeout=self.config.ring_timeout)
        if isinstance(answered, DialFailure):
            await self.emit("dial_failed", {"job_id": job["job_id"], "outcome": answered.outcome})
            return {"outcome": answered.outcome, "sip_status": answered.sip_status, "detail": answered.detail}
        answered._callback_job = job["job_id"]  # type: ignore[attr-defined]
        await self.emit("answered", {"job_id": job["job_id"]})
        survey = Survey(matter)
        session = SurveyCall(answered, survey, synth=self.synth, asr=self.asr, config=self.config, emit=self.emit, job=job)
        outcome = await session.run()
        if lost.is_set():
            return {"outcome": outcome}
        reason_audio = None
        if session.reason_pcm is not None:
            await self.api.upload_recording(int(job["job_id"]), str(job["lease_token"]), audio.wav_bytes(session.reason_pcm))
            reason_audio = "uploaded"
        transcript = [t for t in survey.transcript if t.get("text") or t.get("key")]
        for turn in transcript:
            if turn.get("audio") == "recording":
                turn["audio"] = reason_audio
        return {
            "outcome": outcome, "solved": survey.solved, "rating": survey.rating, "reason": survey.reason,
            "transcript": transcript, "detail": f"通话{len(transcript)}轮，打断{session.input.barge_ins}次",
        }


# ---- `python -m telephony.callback_worker` ----------------------------------------------------------

async def _main() -> int:
    from telephony.asr import ModelMissing, resolve_model_path
    from telephony.gateway import build_synthesizer
    from telephony.settings import Settings
    from telephony.sip.ua import UASettings

    settings = Settings.from_env()
    config = WorkerConfig(
        dial_uri=os.environ.get("MINSHENG_CALLBACK_DIAL_URI", "sip:{phone}@127.0.0.1:5060"),
        from_user=settings.sip_user,
        concurrency=int(os.environ.get("MINSHENG_CALLBACK_LINES", "2")),
        lease_seconds=int(os.environ.get("MINSHENG_CALLBACK_LEASE_SECONDS", "60")),
    )
    asr: AsrEngine | None = None
    try:
        asr = AsrEngine(resolve_model_path(settings.vosk_model_path), workers=settings.asr_workers)
    except ModelMissing as exc:
        log.warning("no speech model (%s): the survey runs on the keypad only, reasons are recorded untranscribed", exc)
    ua = SipUA(UASettings(
        bind_host=settings.sip_bind, bind_port=int(os.environ.get("MINSHENG_CALLBACK_SIP_PORT", "5070")),
        public_host=settings.sip_public_host, user=settings.sip_user, max_calls=config.concurrency,
        rtp_port_range=(settings.rtp_port_min, settings.rtp_port_max) if settings.rtp_port_min else None,
        registrar=settings.sip_registrar, auth_username=settings.sip_username, auth_password=settings.sip_password,
        domain=settings.sip_domain,
        # the gateway's TLS listener port is taken: the worker listens on its own, if at all
        **{**settings.sip_trunk_options(), "tls_port": _optional_int("MINSHENG_CALLBACK_TLS_PORT")},  # type: ignore[arg-type]
    ))
    await ua.start()
    api = CallbackApi(settings.api_url, settings.service_token)
    worker = CallbackWorker(api, ua, build_synthesizer(settings), asr=asr, config=config)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, worker.stop)
    log.info("callback worker %s: dialling %s, %d lines, API %s", config.name, config.dial_uri, config.concurrency,
             settings.api_url)
    await worker.run()
    await ua.stop()
    await api.aclose()
    if asr is not None:
        asr.close()
    return 0


def _optional_int(name: str) -> int | None:
    value = os.environ.get(name)
    return int(value) if value else None


def main() -> None:
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    raise SystemExit(asyncio.run(_main()))


if __name__ == "__main__":
    main()


__all__ = ["CallInput", "CallbackApi", "CallbackWorker", "LeaseLost", "SurveyCall", "WorkerConfig", "speakable"]
