"""Debian's baresip as the citizen's phone, driven over its ctrl_tcp socket (JSON netstrings).

baresip answers automatically (or rings, `answer="manual"`), plays a WAV as the microphone
(`ausrc` switches it mid-call, e.g. to a recorded reason), writes what it hears to a WAV, and
sends RFC 2833 digits with the `sndcode` command. Events (CALL_ESTABLISHED, CALL_CLOSED, …) come
back on the same socket, so tests wait for events instead of sleeping.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
from pathlib import Path
from typing import Any

from telephony.audio import read_wav, rms

MODULES = "/usr/lib/baresip/modules"


def free_port(kind: int = socket.SOCK_DGRAM) -> int:
    """A loopback port free for both UDP and TCP (baresip's SIP listens on both)."""
    while True:
        with socket.socket(socket.AF_INET, kind) as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        other = socket.SOCK_STREAM if kind == socket.SOCK_DGRAM else socket.SOCK_DGRAM
        try:
            with socket.socket(socket.AF_INET, other) as s:
                s.bind(("127.0.0.1", port))
        except OSError:
            continue
        return port


def make_wav(path: Path, *, text: str | None = None, seconds: float = 0.0, tail_silence: float = 600.0) -> Path:
    """8 kHz mono WAV: optional espeak-ng Mandarin speech followed by a long silence (aufile
    ends the call when its file ends, so the silence keeps the line open)."""
    parts = []
    if text:
        raw = path.with_suffix(".raw.wav")
        subprocess.run(["espeak-ng", "-v", "cmn", "-w", str(raw), "--", text], check=True, capture_output=True)
        speech = path.with_suffix(".speech.wav")
        subprocess.run(["sox", str(raw), "-r", "8000", "-c", "1", "-b", "16", str(speech)], check=True, capture_output=True)
        parts.append(str(speech))
    silence = path.with_suffix(".sil.wav")
    subprocess.run(["sox", "-n", "-r", "8000", "-c", "1", "-b", "16", str(silence), "trim", "0",
                    str(tail_silence + seconds)], check=True, capture_output=True)
    parts.append(str(silence))
    subprocess.run(["sox", *parts, "-r", "8000", "-c", "1", "-b", "16", str(path)], check=True, capture_output=True)
    return path


class Phone:
    def __init__(self, folder: Path, users: list[str], *, answer: str = "auto",
                 registrar: tuple[str, str] | None = None) -> None:
        """`registrar`: (host:port, password) of a SIP registrar to register each user with."""
        self.folder = folder
        self.registrar = registrar
        self.users = users
        self.answer = answer
        self.sip_port = free_port()
        self.ctrl_port = free_port(socket.SOCK_STREAM)
        while self.ctrl_port == self.sip_port:
            self.ctrl_port = free_port(socket.SOCK_STREAM)
        self.recordings = folder / "heard"  # sndfile writes what the phone received (*-dec.wav)
        self.events: list[dict[str, Any]] = []
        self._waiters: list[tuple[Any, asyncio.Future[dict[str, Any]]]] = []
        self._responses: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._proc: subprocess.Popen[bytes] | None = None
        self._reader: asyncio.Task[None] | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._token = 0

    def uri(self, user: str) -> str:
        return f"sip:{user}@127.0.0.1:{self.sip_port}"

    @property
    def dial_template(self) -> str:
        return f"sip:{{phone}}@127.0.0.1:{self.sip_port}"

    async def start(self) -> None:
        self.recordings.mkdir(parents=True, exist_ok=True)
        silence = make_wav(self.folder / "silence.wav")
        rtp = free_port()
        (self.folder / "config").write_text(f"""poll_method epoll
sip_listen 127.0.0.1:{self.sip_port}
net_interface 127.0.0.1
audio_player alsa,null
audio_source aufile,{silence}
audio_alert aufile,/dev/null
module_path {MODULES}
module g711.so
module aufile.so
module alsa.so
module sndfile.so
snd_path {self.recordings}
module_app account.so
module_app menu.so
module_app ctrl_tcp.so
ctrl_tcp_listen 127.0.0.1:{self.ctrl_port}
rtp_ports {rtp}-{rtp + 40}
""")
        if self.registrar is None:
            accounts = [f"<sip:{u}@127.0.0.1:{self.sip_port}>;regint=0;answermode={self.answer}" for u in self.users]
        else:
            where, password = self.registrar
            accounts = [f"<sip:{u}@{where}>;auth_pass={password};regint=300;answermode={self.answer}" for u in self.users]
        (self.folder / "accounts").write_text("\n".join(accounts) + "\n")
        log = (self.folder / "baresip.log").open("wb")
        self._proc = subprocess.Popen(["baresip", "-f", str(self.folder)], stdin=subprocess.DEVNULL, stdout=log,
                                      stderr=subprocess.STDOUT, start_new_session=True)
        for _ in range(200):
            try:
                reader, self._writer = await asyncio.open_connection("127.0.0.1", self.ctrl_port)
                break
            except OSError:
                if self._proc.poll() is not None:
                    raise RuntimeError(f"baresip exited: {(self.folder / 'baresip.log').read_text()}") from None
                await asyncio.sleep(0.1)
        else:
            raise RuntimeError("baresip ctrl_tcp did not come up")
        self._reader = asyncio.ensure_future(self._read(reader))

    async def _read(self, reader: asyncio.StreamReader) -> None:
        while True:
            length = (await reader.readuntil(b":"))[:-1]
            data = json.loads((await reader.readexactly(int(length) + 1))[:-1])
            if data.get("response"):
                future = self._responses.pop(str(data.get("token")), None)
                if future is not None and not future.done():
                    future.set_result(data)
                continue
            self.events.append(data)
            for match, future in list(self._waiters):
                if not future.done() and match(data):
                    future.set_result(data)

    async def command(self, command: str, params: str = "") -> dict[str, Any]:
        assert self._writer is not None
        self._token += 1
        token = str(self._token)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._responses[token] = future
        body = json.dumps({"command": command, "params": params, "token": token}).encode()
        self._writer.write(str(len(body)).encode() + b":" + body + b",")
        await self._writer.drain()
        return await asyncio.wait_for(future, 30)

    async def wait_event(self, kind: str, *, timeout: float = 120, **fields: str) -> dict[str, Any]:
        def match(e: dict[str, Any]) -> bool:
            return e.get("type") == kind and all(e.get(k) == v for k, v in fields.items())

        for event in self.events:
            if match(event):
                return event
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiters.append((match, future))
        return await asyncio.wait_for(future, timeout)

    async def wait_registered(self, timeout: float = 60) -> None:
        """Every account shows OK in `reginfo` (registration may finish before we connect, so poll)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            info = str((await self.command("reginfo")).get("data", ""))
            if info.count("OK") >= len(self.users):
                return
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"baresip not registered: {info}")
            await asyncio.sleep(0.2)

    def calls_to(self, user: str) -> int:
        """Distinct calls that reached this user (answered or only ringing)."""
        aor = f"sip:{user}@{self.registrar[0] if self.registrar else f'127.0.0.1:{self.sip_port}'}"
        return len({e.get("id") for e in self.events if e.get("accountaor") == aor and e.get("class") == "call"
                    and e.get("type") in ("CALL_INCOMING", "CALL_ESTABLISHED", "CALL_RINGING")})

    def heard_level(self) -> float:
        """The loudest second the phone received over all its calls (0 when it heard nothing)."""
        best = 0.0
        for path in self.recordings.glob("*-dec.wav"):
            pcm, rate = read_wav(path.read_bytes())
            for i in range(0, max(len(pcm) - rate, 1), rate):
                best = max(best, float(rms(pcm[i:i + rate])))
        return best

    async def stop(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
        if self._writer is not None:
            self._writer.close()
        if self._proc is not None and self._proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._proc.pid, signal.SIGTERM)  # its own process group only
            try:
                await asyncio.get_running_loop().run_in_executor(None, self._proc.wait, 10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self._proc.pid, signal.SIGKILL)


def wav_level(path: str | Path) -> float:
    pcm, _ = read_wav(Path(path).read_bytes())
    return float(rms(pcm)) if len(pcm) else 0.0


__all__ = ["Phone", "make_wav", "wav_level"]
