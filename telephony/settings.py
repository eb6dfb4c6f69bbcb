"""Gateway settings from the environment (names are documented in docs/telephony.md)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


def _env(name: str, default: str) -> str:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _opt(name: str) -> str | None:
    return os.environ.get(name) or None


@dataclass
class Settings:
    sip_bind: str = "0.0.0.0"  # noqa: S104 - a SIP server listens on every interface unless told otherwise
    sip_port: int = 5060
    sip_public_host: str | None = None
    sip_user: str = "12345"
    sip_registrar: str | None = None
    sip_username: str | None = None
    sip_password: str | None = None
    sip_domain: str | None = None
    sip_register_expires: int = 300
    busy_status: int = 486
    rtp_port_min: int = 10000
    rtp_port_max: int = 20000
    max_calls: int = 10
    overflow_calls: int = 4  # calls beyond max_calls answered with the "lines are full" message
    api_url: str = "http://127.0.0.1:8000"
    service_token: str = "dev-service-token"
    vosk_model_path: str | None = None
    asr_workers: int | None = None
    tts_voice: str = "zh-CN-XiaoxiaoNeural"
    tts_engines: list[str] = field(default_factory=lambda: ["edge", "espeak"])
    edge_tts_timeout: float = 3.0
    edge_tts_url: str | None = None
    espeak_voice: str = "cmn"
    prompt_cache_dir: Path = Path("var/prompts")
    gazetteer_path: Path | None = Path("county/jianhu/gazetteer.yml")
    health_host: str = "127.0.0.1"
    health_port: int = 8091
    start_text: str = ""
    notice: str | None = None
    greeting: str | None = None
    no_input_timeout: float = 8.0
    end_silence: float = 0.5
    media_timeout: float = 10.0
    max_call_seconds: float = 900.0
    use_grammar: bool = True
    agent_hold_seconds: float = 0.0  # >0: a caller who asked for a person waits this long for a transfer
    transfer_ring_seconds: float = 30.0
    transfer_refer: bool = True  # False: always bridge (agents on a network the trunk cannot reach)
    sip_keepalive_target: str | None = None  # OPTIONS towards the trunk every sip_keepalive_seconds
    sip_keepalive_seconds: float = 30.0
    filler_after: float = 1.5  # seconds without the hub's reply before "好的，我记一下。" (0: never)
    sip_transport: str = "udp"  # towards trunks whose URI names no transport: udp, tcp or tls
    sip_tcp: bool = False  # also accept SIP over TCP on sip_port
    sip_tls_port: int | None = None  # accept SIP over TLS here (5061 usually); needs cert and key
    sip_tls_cert: str | None = None
    sip_tls_key: str | None = None
    sip_tls_ca: str | None = None  # CA bundle for the trunk's certificate (default: the system's)
    sip_tls_verify: bool = True
    sip_srtp: str = "off"  # our own INVITEs (callbacks): off, offer or require; calls in follow the peer
    sip_session_expires: int = 1800  # RFC 4028 session interval (0: only when the peer asks)
    sip_session_min_se: int = 90

    @classmethod
    def from_env(cls) -> Settings:
        gaz = _env("GAZETTEER_PATH", "county/jianhu/gazetteer.yml")
        return cls(
            sip_bind=_env("SIP_BIND", "0.0.0.0"),  # noqa: S104
            sip_port=int(_env("SIP_PORT", "5060")),
            sip_public_host=_opt("SIP_PUBLIC_HOST"),
            sip_user=_env("SIP_USER", "12345"),
            sip_registrar=_opt("SIP_REGISTRAR"),
            sip_username=_opt("SIP_USERNAME"),
            sip_password=_opt("SIP_PASSWORD"),
            sip_domain=_opt("SIP_DOMAIN"),
            sip_register_expires=int(_env("SIP_REGISTER_EXPIRES", "300")),
            busy_status=int(_env("SIP_BUSY_STATUS", "486")),
            rtp_port_min=int(_env("RTP_PORT_MIN", "10000")),
            rtp_port_max=int(_env("RTP_PORT_MAX", "20000")),
            max_calls=int(_env("VOICE_MAX_CALLS", "10")),
            overflow_calls=int(_env("VOICE_OVERFLOW_CALLS", "4")),
            api_url=_env("MINSHENG_API_URL", "http://127.0.0.1:8000"),
            service_token=_env("MINSHENG_SERVICE_TOKEN", "dev-service-token"),
            vosk_model_path=_opt("VOSK_MODEL_PATH"),
            asr_workers=int(os.environ["ASR_WORKERS"]) if os.environ.get("ASR_WORKERS") else None,
            tts_voice=_env("TTS_VOICE", "zh-CN-XiaoxiaoNeural"),
            tts_engines=[e.strip() for e in _env("TTS_ENGINES", "edge,espeak").split(",") if e.strip()],
            edge_tts_timeout=float(_env("EDGE_TTS_TIMEOUT", "3.0")),
            edge_tts_url=_opt("EDGE_TTS_URL"),
            espeak_voice=_env("ESPEAK_VOICE", "cmn"),
            prompt_cache_dir=Path(_env("PROMPT_CACHE_DIR", "var/prompts")),
            gazetteer_path=Path(gaz) if gaz != "none" else None,
            health_host=_env("VOICE_HEALTH_HOST", "127.0.0.1"),
            health_port=int(_env("VOICE_HEALTH_PORT", "8091")),
            start_text=os.environ.get("VOICE_START_TEXT", ""),
            notice=_opt("VOICE_NOTICE"),
            greeting=_opt("VOICE_GREETING"),
            no_input_timeout=float(_env("VOICE_NO_INPUT_TIMEOUT", "8")),
            end_silence=float(_env("VOICE_END_SILENCE", "0.5")),
            media_timeout=float(_env("VOICE_MEDIA_TIMEOUT", "10")),
            max_call_seconds=float(_env("VOICE_MAX_CALL_SECONDS", "900")),
            use_grammar=_env("VOICE_GRAMMAR", "1") not in ("0", "false", "no"),
            agent_hold_seconds=float(_env("VOICE_AGENT_HOLD_SECONDS", "120")),
            transfer_ring_seconds=float(_env("VOICE_TRANSFER_RING_SECONDS", "30")),
            transfer_refer=_env("VOICE_TRANSFER_REFER", "1") not in ("0", "false", "no"),
            filler_after=float(_env("VOICE_FILLER_AFTER", "1.5")),
            sip_keepalive_target=_opt("SIP_KEEPALIVE_TARGET"),
            sip_keepalive_seconds=float(_env("SIP_KEEPALIVE_SECONDS", "30")),
            sip_transport=_env("SIP_TRANSPORT", "udp").lower(),
            sip_tcp=_env("SIP_TCP", "0") in ("1", "true", "yes"),
            sip_tls_port=int(os.environ["SIP_TLS_PORT"]) if os.environ.get("SIP_TLS_PORT") else None,
            sip_tls_cert=_opt("SIP_TLS_CERT"),
            sip_tls_key=_opt("SIP_TLS_KEY"),
            sip_tls_ca=_opt("SIP_TLS_CA"),
            sip_tls_verify=_env("SIP_TLS_VERIFY", "1") not in ("0", "false", "no"),
            sip_srtp=_env("SIP_SRTP", "off").lower(),
            sip_session_expires=int(_env("SIP_SESSION_EXPIRES", "1800")),
            sip_session_min_se=int(_env("SIP_SESSION_MIN_SE", "90")),
        )

    def sip_trunk_options(self) -> dict[str, object]:
        """The UASettings fields for transports, SRTP and session timers (the gateway and the
        callback worker share them)."""
        return {
            "transport": self.sip_transport, "tcp": self.sip_tcp, "tls_port": self.sip_tls_port,
            "tls_cert": self.sip_tls_cert, "tls_key": self.sip_tls_key, "tls_ca": self.sip_tls_ca,
            "tls_verify": self.sip_tls_verify, "srtp": self.sip_srtp,
            "session_expires": self.sip_session_expires, "session_min_se": self.sip_session_min_se,
        }
