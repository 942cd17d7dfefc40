"""A real SMTP server on a loopback port (aiosmtpd), that a test can stop, start and stall."""

from __future__ import annotations

import asyncio
import threading
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from tests.support.servers import free_port


class _Recorder:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if self.sink.stall_next.is_set():
            self.sink.stall_next.clear()
            self.sink.stalled.set()
            while not self.sink.released.is_set():
                await asyncio.sleep(0.05)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        self.sink.received.append(parsed)  # type: ignore[arg-type]
        return "250 Message accepted for delivery"


class SmtpSink:
    """``sink.start()`` serves on ``sink.port``; ``stop()`` leaves the port refusing
    connections (an SMTP server that is down); ``stall_next`` holds the next delivery in its
    RCPT until ``released``: no message is accepted while it waits."""

    def __init__(self) -> None:
        self.port = free_port()
        self.received: list[EmailMessage] = []
        self.stall_next = threading.Event()
        self.stalled = threading.Event()
        self.released = threading.Event()
        self._controller: Controller | None = None

    def start(self) -> SmtpSink:
        self._controller = Controller(_Recorder(self), hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self.released.set()
            self._controller.stop()
            self._controller = None
