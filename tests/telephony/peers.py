"""Real SIP peers for the voice tests: Debian's Kamailio (registrar/proxy) and baresip (the phone).

Each is started with generated config on free loopback ports and stopped by its own process
group id; nothing here touches processes it did not start.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from telephony.audio import read_wav, rms

KAMAILIO_MODULES = "/usr/lib/x86_64-linux-gnu/kamailio/modules/"
BARESIP_MODULES = "/usr/lib/baresip/modules"


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def free_tcp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def require(binary: str) -> str:
    path = shutil.which(binary)
    if path is None:
        raise RuntimeError(f"{binary} is not installed (apt-get install {binary})")
    return path


def _stop(proc: subprocess.Popen[bytes] | None, timeout: float = 5.0) -> None:
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)  # our own process group (start_new_session)
        proc.wait(timeout)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout)


KAMAILIO_CFG = """#!KAMAILIO
debug=2
log_stderror=yes
children=2
auto_aliases=no
{core_extra}
listen=udp:127.0.0.1:{port}
alias=udp:127.0.0.1:{port}
{tls_listen}
mpath="{modules}"
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "textops.so"
loadmodule "siputils.so"
loadmodule "xlog.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
loadmodule "auth.so"
modparam("rr", "enable_full_lr", 1)
modparam("usrloc", "db_mode", 0)
modparam("registrar", "min_expires", {min_expires})
{tls_module}
{sst_module}

request_route {{
    xlog("L_INFO", "received $rm from $fu over $pr\n");
    if (!mf_process_maxfwd_header("10")) {{ sl_send_reply("483", "Too Many Hops"); exit; }}
    if (is_method("CANCEL")) {{ if (t_check_trans()) {{ t_relay(); }} exit; }}
    if (has_totag()) {{
        if (loose_route()) {{ xlog("L_INFO", "in-dialog $rm via record-route\\n"); t_relay(); exit; }}
        if (is_method("ACK")) {{ if (t_check_trans()) {{ t_relay(); }} exit; }}
        sl_send_reply("404", "Not here");
        exit;
    }}
    if (is_method("REGISTER")) {{
        # digest auth without a database: the password comes from the config
        if (!pv_www_authenticate("$td", "{password}", "0")) {{
            xlog("L_INFO", "challenging REGISTER from $fu\\n");
            www_challenge("$td", "1");
            exit;
        }}
        xlog("L_INFO", "authenticated REGISTER $tu contact $ct\\n");
        if (!save("location")) {{ sl_reply_error(); }}
        exit;
    }}
    if (is_method("INVITE")) {{
        {invite_auth}
        {invite_sst}
        record_route();
    }}
    if (!lookup("location")) {{ sl_send_reply("404", "Not Found"); exit; }}
    xlog("L_INFO", "routing $rm for $tu to $ru\\n");
    if (!t_relay()) {{ sl_reply_error(); }}
}}
"""


# A trunk's proxy: every new INVITE must answer a 407 digest challenge (password from the config).
INVITE_AUTH = """if (!pv_proxy_authenticate("$fd", "{password}", "0")) {{
            xlog("L_INFO", "challenging INVITE from $fu\\n");
            proxy_challenge("$fd", "0");
            exit;
        }}
        xlog("L_INFO", "authenticated INVITE from $fu to $tu\\n");
        consume_credentials();"""


# Kamailio's TLS module (Debian: kamailio-tls-modules) with a certificate the test made.
TLS_LISTEN = """enable_tls=yes
listen=tls:127.0.0.1:{tls_port}
alias=tls:127.0.0.1:{tls_port}"""
TLS_MODULE = """loadmodule "tls.so"
modparam("tls", "tls_method", "TLSv1.2+")
modparam("tls", "certificate", "{cert}")
modparam("tls", "private_key", "{key}")
modparam("tls", "ca_list", "{ca}")
modparam("tls", "verify_certificate", 0)
modparam("tls", "require_certificate", 0)"""


# A proxy that keeps dialog state and drops calls nobody refreshes (RFC 4028 via the sst module):
# it asks for a session timer on every new INVITE and sends BYE both ways when one expires.
SST_MODULE = """loadmodule "dialog.so"
loadmodule "sst.so"
modparam("dialog", "dlg_flag", 4)
modparam("dialog", "timeout_avp", "$avp(dlgtimeout)")
modparam("dialog", "send_bye", 1)
modparam("sst", "timeout_avp", "$avp(dlgtimeout)")
modparam("sst", "sst_flag", 6)
modparam("sst", "min_se", {seconds})"""
SST_INVITE = """if (!has_totag()) {{
            $avp(dlgtimeout) = {seconds};
            setflag(4);
            setflag(6);
        }}"""


@dataclass
class Certificates:
    """A throw-away CA and the certificates it signed (for 127.0.0.1), made with openssl."""

    ca: Path
    files: dict[str, tuple[Path, Path]]  # name → (certificate, key)

    def cert(self, name: str) -> str:
        return str(self.files[name][0])

    def key(self, name: str) -> str:
        return str(self.files[name][1])


def make_certificates(workdir: Path, *names: str, ca_name: str = "Minsheng test CA") -> Certificates:
    openssl = require("openssl")
    workdir.mkdir(parents=True, exist_ok=True)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    ca, ca_key = workdir / "ca.pem", workdir / "ca.key"
    subprocess.run([openssl, "req", "-x509", *ec, "-keyout", str(ca_key), "-out", str(ca), "-days", "2",
                    "-subj", f"/CN={ca_name}", "-addext", "basicConstraints=critical,CA:TRUE",
                    "-addext", "keyUsage=critical,keyCertSign,cRLSign"], check=True, capture_output=True)
    files: dict[str, tuple[Path, Path]] = {}
    for name in names:
        cert, key, csr = workdir / f"{name}.pem", workdir / f"{name}.key", workdir / f"{name}.csr"
        ext = workdir / f"{name}.ext"
        ext.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n")
        subprocess.run([openssl, "req", *ec, "-keyout", str(key), "-out", str(csr), "-subj", f"/CN={name}"],
                       check=True, capture_output=True)
        subprocess.run([openssl, "x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key),
                        "-CAcreateserial", "-out", str(cert), "-days", "2", "-extfile", str(ext)],
                       check=True, capture_output=True)
        files[name] = (cert, key)
    return Certificates(ca, files)


class Kamailio:
    def __init__(self, workdir: Path, *, password: str, challenge_invites: bool = False,
                 tls: Certificates | None = None, session_timer: int | None = None, min_expires: int = 60,
                 accept_aliases: bool = False) -> None:
        self.min_expires = min_expires
        self.accept_aliases = accept_aliases  # RFC 5923: reuse a UA's connection for requests to it
        self.challenge_invites = challenge_invites
        self.session_timer = session_timer
        self.tls = tls
        self.tls_port = free_tcp_port() if tls else None
        self.dir = workdir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.password = password
        self.port = free_udp_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = self.dir / "kamailio.log"

    @property
    def uri(self) -> str:
        return f"sip:127.0.0.1:{self.port}"

    @property
    def tls_uri(self) -> str:
        return f"sip:127.0.0.1:{self.tls_port};transport=tls"

    def start(self) -> None:
        binary = require("kamailio")
        cfg = self.dir / "kamailio.cfg"
        invite_auth = INVITE_AUTH.format(password=self.password) if self.challenge_invites else ""
        tls_listen = tls_module = ""
        if self.tls is not None:
            tls_listen = TLS_LISTEN.format(tls_port=self.tls_port)
            tls_module = TLS_MODULE.format(cert=self.tls.cert("kamailio"), key=self.tls.key("kamailio"), ca=self.tls.ca)
        sst_module = invite_sst = ""
        if self.session_timer is not None:
            sst_module = SST_MODULE.format(seconds=self.session_timer)
            invite_sst = SST_INVITE.format(seconds=self.session_timer)
        cfg.write_text(KAMAILIO_CFG.format(port=self.port, modules=KAMAILIO_MODULES, password=self.password,
                                           invite_auth=invite_auth, tls_listen=tls_listen, tls_module=tls_module,
                                           sst_module=sst_module, invite_sst=invite_sst,
                                           min_expires=self.min_expires,
                                           core_extra="tcp_accept_aliases=yes" if self.accept_aliases else ""))
        check = subprocess.run([binary, "-c", "-f", str(cfg)], capture_output=True, text=True, timeout=30)
        if check.returncode != 0:
            raise RuntimeError(f"kamailio rejected its config:\n{check.stderr[-2000:]}")
        self.proc = subprocess.Popen(
            [binary, "-f", str(cfg), "-DD", "-E", "-Y", str(self.dir), "-P", str(self.dir / "kamailio.pid")],
            stdout=self.log_path.open("wb"), stderr=subprocess.STDOUT, start_new_session=True,
        )
        self._wait_ready()

    def _wait_ready(self, timeout: float = 20.0) -> None:
        """Ready when it answers an OPTIONS (any response) on its port."""
        probe = (
            f"OPTIONS sip:probe@127.0.0.1:{self.port} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{{p}};branch=z9hG4bKprobe{{n}}\r\n"
            "Max-Forwards: 70\r\nFrom: <sip:probe@127.0.0.1>;tag=1\r\nTo: <sip:probe@127.0.0.1>\r\n"
            "Call-ID: probe@127.0.0.1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
        )
        deadline = time.monotonic() + timeout
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.0.0.1", 0))
            s.settimeout(0.5)
            n = 0
            while time.monotonic() < deadline:
                if self.proc is not None and self.proc.poll() is not None:
                    raise RuntimeError(f"kamailio exited: {self.log()[-2000:]}")
                n += 1
                s.sendto(probe.format(p=s.getsockname()[1], n=n).encode(), ("127.0.0.1", self.port))
                try:
                    if s.recv(4096).startswith(b"SIP/2.0"):
                        return
                except TimeoutError:
                    continue
        raise RuntimeError(f"kamailio did not answer on {self.port}: {self.log()[-2000:]}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        _stop(self.proc)


class Baresip:
    """baresip as the citizen's phone: plays a WAV into the call, records what it hears."""

    def __init__(self, workdir: Path, *, user: str, source_wav: Path) -> None:
        self.dir = workdir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.user = user
        self.source_wav = source_wav
        self.sip_port = free_udp_port()
        self.cons_port = free_udp_port()
        self.rec_dir = self.dir / "rec"
        self.rec_dir.mkdir(exist_ok=True)
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = self.dir / "baresip.log"
        self.extra_modules: list[str] = []

    def account(self) -> str:
        return f"<sip:{self.user}@127.0.0.1>;regint=0"

    def start(self, dial: str | None = None, *, seconds: int = 280) -> None:
        """Start baresip with its config; dial `dial` at once, or wait for calls when None.

        The ports were only free when picked: if another socket took one since, baresip carries on
        without that module (a console that never hears `/sndcode`, the old flaky transfer test).
        So it starts idle, is checked, is restarted on fresh ports if needed, and dials after.
        """
        for _attempt in range(5):
            self._launch(seconds)
            if self._ready_with_own_ports():
                break
            _stop(self.proc)
            self.sip_port, self.cons_port = free_udp_port(), free_udp_port()
        else:
            raise RuntimeError(f"baresip could not bind its ports:\n{self.log()[-2000:]}")
        if dial:
            self.command(f"/dial {dial}")

    def _ready_with_own_ports(self, timeout: float = 30.0) -> bool:
        deadline = time.monotonic() + timeout
        while "baresip is ready" not in self.log():
            if self.proc is not None and self.proc.poll() is not None:
                return False
            if time.monotonic() > deadline:
                raise RuntimeError(f"baresip never became ready:\n{self.log()[-2000:]}")
            time.sleep(0.05)
        return "Address already in use" not in self.log()

    def _launch(self, seconds: int) -> None:
        binary = require("baresip")
        (self.dir / "accounts").write_text(self.account() + "\n")
        (self.dir / "config").write_text(
            "\n".join([
                f"module_path {BARESIP_MODULES}",
                f"sip_listen 127.0.0.1:{self.sip_port}",
                "net_interface 127.0.0.1",  # keep media on loopback, not the host's other addresses
                f"audio_source aufile,{self.source_wav}",
                "audio_player alsa,null",  # baresip 1.0's aufile cannot play; sndfile records instead
                "audio_alert aufile,/dev/null",
                "module g711.so",
                "module aufile.so",
                "module alsa.so",
                "module sndfile.so",
                *(f"module {m}" for m in self.extra_modules),  # before account.so reads mediaenc=…
                "module account.so",
                "module cons.so",
                "module menu.so",
                f"cons_listen 127.0.0.1:{self.cons_port}",
                f"snd_path {self.rec_dir}",
                "",
            ])
        )
        args = [binary, "-f", str(self.dir), "-t", str(seconds)]
        self.proc = subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=self.log_path.open("wb"), stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def command(self, text: str) -> None:
        """Send a console command (e.g. `/sndcode 123#` sends RFC 2833 DTMF)."""
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.sendto((text + "\n").encode(), ("127.0.0.1", self.cons_port))

    def log(self) -> str:
        if not self.log_path.exists():
            return ""
        return self.log_path.read_bytes().decode("utf-8", "replace").replace("\r", "\n")

    def heard(self) -> tuple[np.ndarray, int]:
        """What the phone received (sndfile's decode-side dump) and its sample rate."""
        files = sorted(self.rec_dir.glob("*-dec.wav"))
        if not files:
            return np.zeros(0, dtype=np.int16), 8000
        return read_wav(files[-1].read_bytes())

    def stop(self) -> None:
        _stop(self.proc)


def window_rms(pcm: np.ndarray, start: float, end: float, rate: int = 8000) -> float:
    return rms(pcm[int(start * rate):int(end * rate)])


# A caller whose INVITE has no SDP (a "late offer", RFC 3261 §13.2.1): it takes the offer from the
# 200 and answers in the ACK, pointing the media at `{media_port}` (the test's own RTP socket), or
# sends an ACK without an answer. Then it waits for the BYE that ends the call, from either side.
SIPP_LATE_OFFER = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="late offer">
  <send retrans="500">
    <![CDATA[
      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:{caller}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: <sip:{caller}@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="200" rrs="true"/>
  <send>
    <![CDATA[
      ACK [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:{caller}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      [last_To:]
      Call-ID: [call_id]
      CSeq: 1 ACK
      [routes]
      Contact: <sip:{caller}@[local_ip]:[local_port]>
      Max-Forwards: 70
{ack_body}
    ]]>
  </send>
{ending}
</scenario>
"""
SIPP_ANSWER = """      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=sipp 1 1 IN IP4 127.0.0.1
      s=-
      c=IN IP4 127.0.0.1
      t=0 0
      m=audio {media_port} RTP/AVP {payload_types}
      {rtpmaps}
      a=sendrecv"""
SIPP_NO_ANSWER = """      Content-Length: 0
"""
# The caller hangs up after `hold_ms`, or (no answer in its ACK) waits for the callee's BYE.
SIPP_CALLER_BYE = """  <pause milliseconds="{hold_ms}"/>
  <send retrans="500">
    <![CDATA[
      BYE [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:{caller}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      [last_To:]
      Call-ID: [call_id]
      CSeq: 2 BYE
      [routes]
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <recv response="200"/>"""
SIPP_CALLEE_BYE = """  <recv request="BYE" timeout="20000"/>
  <send>
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

    ]]>
  </send>"""


class Sipp:
    """SIPp (Debian's sip-tester) running one scripted call: for what baresip cannot send."""

    def __init__(self, workdir: Path, scenario: str) -> None:
        self.dir = workdir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.scenario = self.dir / "scenario.xml"
        self.scenario.write_text(scenario)
        self.port = free_udp_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = self.dir / "sipp.log"

    def start(self, target: str, *, service: str, seconds: int = 60) -> None:
        binary = require("sipp")
        self.proc = subprocess.Popen(
            [binary, target, "-sf", str(self.scenario), "-s", service, "-m", "1", "-i", "127.0.0.1",
             "-p", str(self.port), "-nostdin", "-timeout", f"{seconds}s", "-trace_msg", "-trace_err",
             "-message_file", str(self.dir / "messages.log"), "-error_file", str(self.dir / "errors.log")],
            cwd=self.dir, stdin=subprocess.DEVNULL, stdout=self.log_path.open("wb"), stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def messages(self) -> str:
        path = self.dir / "messages.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def returncode(self) -> int | None:
        return None if self.proc is None else self.proc.poll()

    def stop(self) -> None:
        _stop(self.proc)
