"""Client of the conversation hub (api/): every call is one conversation with channel=voice."""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx

CLOSE_REASONS = ("caller_hangup", "completed", "no_input", "one_way_audio")


class HubError(RuntimeError):
    pass


@dataclass
class Button:
    title: str
    payload: str


@dataclass
class Reply:
    text: str
    buttons: list[Button] = field(default_factory=list)


@dataclass
class HubResponse:
    conversation_id: str
    replies: list[Reply]
    mode: str  # bot | agent | closed
    handoff_requested: bool


class HubClient:
    def __init__(self, base_url: str, token: str, *, timeout: float = 10.0,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._client = httpx.AsyncClient(
            base_url=self.base_url, timeout=timeout, transport=transport,
            headers={"Authorization": f"Bearer {token}"},
        )

    async def send(self, conversation_id: str, text: str, caller_number: str | None, *,
                   payload: str | None = None) -> HubResponse:
        """A caller turn. A chosen button goes as `payload` (the hub passes offered payloads to
        Rasa as-is and neutralises typed "/intent" text) with its title as the text."""
        body: dict[str, object] = {"text": text, "channel": "voice", "caller_number": caller_number}
        if payload is not None:
            body["payload"] = payload
        url = f"/api/v1/conversations/{conversation_id}/messages"
        last: Exception | None = None
        for _attempt in range(2):  # one retry: a restarting API should not drop a caller
            try:
                resp = await self._client.post(url, json=body)
            except httpx.TransportError as exc:
                last = exc
                continue
            if resp.status_code >= 500:
                last = HubError(f"hub answered {resp.status_code}")
                continue
            if resp.status_code >= 400:
                raise HubError(f"hub rejected message: {resp.status_code} {resp.text[:200]}")
            data = resp.json()
            return HubResponse(
                conversation_id=str(data.get("conversation_id", conversation_id)),
                replies=[
                    Reply(str(r.get("text") or ""), [Button(str(b.get("title", "")), str(b.get("payload", "")))
                                                    for b in r.get("buttons") or []])
                    for r in data.get("replies") or []
                ],
                mode=str(data.get("mode", "bot")),
                handoff_requested=bool(data.get("handoff_requested", False)),
            )
        raise HubError(f"hub unreachable: {last}")

    async def close(self, conversation_id: str, reason: str) -> None:
        if reason not in CLOSE_REASONS:
            raise ValueError(f"unknown close reason {reason}")
        last: Exception | None = None
        for _attempt in range(3):
            try:
                resp = await self._client.post(f"/api/v1/conversations/{conversation_id}/close", json={"reason": reason})
            except httpx.TransportError as exc:
                last = exc
                continue
            if resp.status_code < 500:
                if resp.status_code >= 400 and resp.status_code != 409:
                    raise HubError(f"hub refused close: {resp.status_code} {resp.text[:200]}")
                return
            last = HubError(f"hub answered {resp.status_code}")
        raise HubError(f"close failed: {last}")

    async def health(self) -> bool:
        try:
            return (await self._client.get("/health")).status_code == 200
        except httpx.TransportError:
            return False

    async def aclose(self) -> None:
        await self._client.aclose()
