"""baresip in the two roles a transfer needs: the citizen's phone (with or without REFER support)
and the agent's desk phone (registered at Kamailio as an extension, answering by itself)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from tests.telephony.peers import Baresip, Kamailio


class Phone(Baresip):
    """`Baresip` with a configurable account line; optionally registered at a Kamailio."""

    def __init__(self, workdir: Path, *, user: str, source_wav: Path, transfer: bool = True,
                 registrar: Kamailio | None = None, auto_answer: bool = False, mediaenc: str | None = None) -> None:
        super().__init__(workdir, user=user, source_wav=source_wav)
        self.mediaenc = mediaenc  # e.g. "srtp-mand": SDES SRTP only (baresip's srtp module)
        if mediaenc and mediaenc.startswith("srtp"):
            self.extra_modules.append("srtp.so")
        self.transfer = transfer
        self.registrar = registrar
        self.auto_answer = auto_answer

    def account(self) -> str:
        params = [f"call_transfer={'yes' if self.transfer else 'no'}"]
        if self.auto_answer:
            params.append("answermode=auto")
        if self.mediaenc:
            params.append(f"mediaenc={self.mediaenc}")
        if self.registrar is not None:
            params += [f"auth_pass={self.registrar.password}", "regint=60"]
            return f"<sip:{self.user}@127.0.0.1:{self.registrar.port}>;" + ";".join(params)
        return f"<sip:{self.user}@127.0.0.1>;regint=0;" + ";".join(params)

    async def wait_log(self, text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.log():
            if time.monotonic() > deadline:
                raise AssertionError(f"baresip {self.user} never logged {text!r}:\n{self.log()[-3000:]}")
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(f"baresip {self.user} exited:\n{self.log()[-3000:]}")
            await asyncio.sleep(0.1)
