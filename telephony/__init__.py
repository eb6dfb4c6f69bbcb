"""Minsheng voice gateway: SIP user agent, G.711 RTP, Vosk ASR, TTS and the turn pipeline.

Every call is one hub conversation (`channel=voice`); the gateway never talks to Rasa directly.
"""

__all__ = ["__version__"]
__version__ = "0.1.0"
