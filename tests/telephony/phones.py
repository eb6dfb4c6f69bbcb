"""baresip in the two roles a transfer needs: the citizen's phone (with or without REFER support)
and the agent's desk phone (registered at Kamailio as an extension, answering by itself)."""

from __future__ import annotations

import asyncio
import subprocess
import time
from pathlib import Path

from tests.telephony.peers import BARESIP_MODULES, Baresip, Kamailio, require


class Phone(Baresip):
    """`Baresip` with a configurable account line; optionally registered at a Kamailio."""

    def __init__(self, workdir: Path, *, user: str, source_wav: Path, transfer: bool = True,
                 registrar: Kamailio | None = None, auto_answer: bool = False) -> None:
        super().__init__(workdir, user=user, source_wav=source_wav)
        self.transfer = transfer
        self.registrar = registrar
        self.auto_answer = auto_answer

    def account(self) -> str:
        params = [f"call_transfer={'yes' if self.transfer else 'no'}"]
        if self.auto_answer:
            params.append("answermode=auto")
        if self.registrar is not None:
            params += [f"auth_pass={self.registrar.password}", "regint=60"]
            return f"<sip:{self.user}@127.0.0.1:{self.registrar.port}>;" + ";".join(params)
        return f"<sip:{self.user}@127.0.0.1>;regint=0;" + ";".join(params)

    def start(self, dial: str | None = None, *, seconds: int = 280) -> None:  # type: ignore[override]
        binary = require("baresip")
        (self.dir / "accounts").write_text(self.account() + "\n")
        (self.dir / "config").write_text("\n".join([
            f"module_path {BARESIP_MODULES}",
            f"sip_listen 127.0.0.1:{self.sip_port}",
            "net_interface 127.0.0.1",
            f"audio_source aufile,{self.source_wav}",
            "audio_player alsa,null",
            "audio_alert aufile,/dev/null",
            "module g711.so",
            "module aufile.so",
            "module alsa.so",
            "module sndfile.so",
            "module account.so",
            "module cons.so",
            "module menu.so",
            f"cons_listen 127.0.0.1:{self.cons_port}",
            f"snd_path {self.rec_dir}",
            "",
        ]))
        args = [binary, "-f", str(self.dir), "-t", str(seconds)]
        if dial:
            args[3:3] = ["-e", f"/dial {dial}"]
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=self.log_path.open("wb"),
                                     stderr=subprocess.STDOUT, start_new_session=True)

    async def wait_log(self, text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.log():
            if time.monotonic() > deadline:
                raise AssertionError(f"baresip {self.user} never logged {text!r}:\n{self.log()[-3000:]}")
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(f"baresip {self.user} exited:\n{self.log()[-3000:]}")
            await asyncio.sleep(0.1)
