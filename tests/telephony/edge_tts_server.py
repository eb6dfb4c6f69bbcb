"""A local server speaking edge-tts's WebSocket protocol (the Edge read-aloud service).

It answers like the real service — turn.start, audio frames with a binary header, a sentence
boundary, turn.end — with real MP3 audio: the SSML text spoken by espeak-ng and encoded with
LAME at the service's format (24 kHz, 48 kbit/s mono). It records what the client sent.
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import uuid
from dataclasses import dataclass, field
from html import unescape

import lameenc
import numpy as np
from aiohttp import WSMsgType, web

from telephony.audio import read_wav, resample
from telephony.tts import _fix_stream_wav


def mp3_of(text: str) -> bytes:
    wav = subprocess.run(["espeak-ng", "-v", "cmn", "--stdout", "--", text], check=True, capture_output=True).stdout
    pcm, rate = read_wav(_fix_stream_wav(wav))
    pcm = resample(pcm, rate, 24000)
    enc = lameenc.Encoder()
    enc.set_bit_rate(48)
    enc.set_in_sample_rate(24000)
    enc.set_channels(1)
    enc.set_quality(7)
    return bytes(enc.encode(pcm.astype(np.int16).tobytes()) + enc.flush())


@dataclass
class EdgeTtsServer:
    delay: float = 0.0  # seconds before answering (to test the client's timeout)
    requests: list[dict[str, str]] = field(default_factory=list)
    runner: web.AppRunner | None = None
    port: int = 0

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/consumer/speech/synthesize/readaloud/edge/v1?TrustedClientToken=test"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/consumer/speech/synthesize/readaloud/edge/v1", self._ws)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()

    async def _ws(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        seen: dict[str, str] = {"query": request.query_string}
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            head, _, body = msg.data.partition("\r\n\r\n")
            path = re.search(r"Path:([^\r\n]+)", head)
            if path is None:
                await ws.close(code=1002)
                break
            if path.group(1) == "speech.config":
                seen["config"] = body
                continue
            if path.group(1) != "ssml":
                continue
            seen["ssml"] = body
            voice = re.search(r"<voice name='([^']+)'", body)
            text = re.sub(r"<[^>]+>", "", body)
            seen["voice"] = voice.group(1) if voice else ""
            seen["text"] = unescape(text).strip()
            self.requests.append(seen)
            if self.delay:
                await asyncio.sleep(self.delay)
            rid = uuid.uuid4().hex
            await ws.send_str(f"X-RequestId:{rid}\r\nContent-Type:application/json; charset=utf-8\r\nPath:turn.start\r\n\r\n{{}}")
            meta = {"Metadata": [{"Type": "SentenceBoundary", "Data": {"Offset": 1000000, "Duration": 5000000,
                                                                          "text": {"Text": seen["text"]}}}]}
            await ws.send_str(f"X-RequestId:{rid}\r\nContent-Type:application/json; charset=utf-8\r\nPath:audio.metadata\r\n\r\n{json.dumps(meta)}")
            mp3 = await asyncio.get_running_loop().run_in_executor(None, mp3_of, seen["text"])
            header = f"X-RequestId:{rid}\r\nContent-Type:audio/mpeg\r\nPath:audio\r\n".encode()
            for i in range(0, len(mp3), 4096):
                await ws.send_bytes(len(header).to_bytes(2, "big") + header + mp3[i:i + 4096])
            await ws.send_str(f"X-RequestId:{rid}\r\nContent-Type:application/json; charset=utf-8\r\nPath:turn.end\r\n\r\n{{}}")
        return ws
