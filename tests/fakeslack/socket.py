"""Slack's Socket Mode server side: a websockets server playing the envelope protocol.

Slack sends ``hello`` on connect, then envelopes ``{"envelope_id", "type", "payload",
"accepts_response_payload", "retry_attempt", "retry_reason"}``; the app answers each with
``{"envelope_id", "payload"?}``. The server runs its own event loop in its own thread; tests
talk to it through FakeSlack (socket_send, wait_socket_ack).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

if TYPE_CHECKING:
    from tests.fakeslack.server import FakeSlack

# Slack sets accepts_response_payload for envelopes whose ack may carry a response.
ACCEPTS_RESPONSE = {"slash_commands", "interactive"}


class SocketServer:
    def __init__(self, slack: FakeSlack, on_event: Callable[..., None]) -> None:
        self._slack = slack
        self._on_event = on_event
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: Server | None = None
        self._clients: list[ServerConnection] = []

    @property
    def url(self) -> str:
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        return f"ws://127.0.0.1:{port}/link"

    @property
    def connected(self) -> bool:
        return bool(self._clients)

    def start(self) -> None:
        self._thread.start()
        self._server = self._run(self._serve())

    def stop(self) -> None:
        if self._server is not None:
            self._run(self._close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()

    def send_envelope(
        self, payload_type: str, payload: dict, retry_attempt: int, retry_reason: str
    ) -> str:
        if not self._clients:
            raise AssertionError("no Socket Mode client is connected")
        envelope_id = str(uuid.uuid4())
        envelope = {
            "envelope_id": envelope_id,
            "type": payload_type,
            "payload": payload,
            "accepts_response_payload": payload_type in ACCEPTS_RESPONSE,
            "retry_attempt": retry_attempt,
            "retry_reason": retry_reason,
        }
        self._run(self._clients[-1].send(json.dumps(envelope)))
        return envelope_id

    async def _serve(self) -> Server:
        return await serve(self._session, "127.0.0.1", 0, compression=None)

    async def _close(self) -> None:
        self._server.close()  # on the loop's own thread: asyncio is not thread-safe
        await self._server.wait_closed()

    def _run(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=5)

    async def _session(self, ws: ServerConnection) -> None:
        hello = {
            "type": "hello",
            "num_connections": len(self._clients) + 1,
            "debug_info": {
                "host": "fakeslack",
                "build_number": 1,
                "approximate_connection_time": 18060,
            },
            "connection_info": {"app_id": self._slack.app_id},
        }
        await ws.send(json.dumps(hello))
        self._clients.append(ws)
        self._on_event()
        try:
            async for raw in ws:
                try:
                    message = json.loads(raw)
                except ValueError:
                    continue
                if isinstance(message, dict) and "envelope_id" in message:
                    self._on_event(ack={**message, "at": time.time()})
        except ConnectionClosed:
            pass
        finally:
            self._clients.remove(ws)
            self._on_event()
