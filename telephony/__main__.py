"""`python -m telephony`: run the voice gateway until SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys

from telephony.asr import ModelMissing
from telephony.gateway import Gateway
from telephony.settings import Settings


async def _main() -> int:
    settings = Settings.from_env()
    gateway = Gateway(settings)
    try:
        await gateway.start()
    except ModelMissing as exc:
        print(f"telephony: refusing to start: {exc}", file=sys.stderr)
        return 2
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    logging.getLogger("telephony").info(
        "voice gateway up: SIP %s:%s, health http://%s:%s/health, hub %s",
        settings.sip_bind, gateway.ua.local_port, settings.health_host, gateway.health_port, settings.api_url,
    )
    await stop.wait()
    await gateway.stop()
    return 0


def main() -> None:
    logging.basicConfig(
        level=os.environ.get("LOG_LEVEL", "INFO"),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    sys.exit(asyncio.run(_main()))


if __name__ == "__main__":
    main()
