"""A real SMTP server (aiosmtpd) on loopback that keeps what it accepted: the mail people would receive.

Tests read mail here, as sent by the worker, never from outbox rows: a mail with a one-time link is only written
when it is sent (the outbox row names its purpose, not the link). The reliability drills use `hold_at` and `delay`.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import Message

from tests.waiting import apoll

logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every SMTP command at INFO


@dataclass
class SmtpSink:
    """What the SMTP server accepted: one entry per DATA command, in order."""

    port: int
    delay: float = 0.0
    messages: list = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # hold_at=N: the N-th mail's DATA is not answered until `gate` is set (the sender waits on us, mid-send)
    hold_at: int | None = None
    gate: threading.Event = field(default_factory=threading.Event)
    holding: threading.Event = field(default_factory=threading.Event)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def message_ids(self) -> list[str]:
        with self.lock:
            return [m["Message-ID"] for m in self.messages]

    def count(self) -> int:
        with self.lock:
            return len(self.messages)

    def clear(self) -> None:
        with self.lock:
            self.messages.clear()

    def mails(self, to: str | None = None) -> list[dict]:
        """Every accepted mail (oldest first) as {to, subject, text, html, headers}, optionally only those to `to`."""
        with self.lock:
            found = [as_dict(m) for m in self.messages]
        return [m for m in found if to is None or m["to"] == to]


def as_dict(message: Message) -> dict:
    text = html = ""
    for part in message.walk():
        if part.get_content_maintype() == "multipart":
            continue
        body = part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8")
        if part.get_content_type() == "text/html":
            html = body
        elif part.get_content_type() == "text/plain" and not text:
            text = body
    return {"to": str(message["To"]), "subject": str(message["Subject"]), "text": text, "html": html,
            "headers": message}


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_DATA(self, server, session, envelope):
        if self.sink.delay:
            await asyncio.sleep(self.sink.delay)  # a slow mail server: the worker spends its time here
        with self.sink.lock:
            self.sink.messages.append(message_from_bytes(envelope.content, policy=policy.default))
            hold = self.sink.hold_at is not None and len(self.sink.messages) == self.sink.hold_at
        if hold:
            self.sink.holding.set()
            await apoll(self.sink.gate.is_set, timeout=600, interval=0.02, what="the test to open the gate")
        return "250 Message accepted for delivery"


def start_sink():
    """Start a sink on a free loopback port; returns (sink, stop)."""
    from aiosmtpd.controller import Controller

    from careers.local import free_port

    sink = SmtpSink(port=free_port())
    controller = Controller(_Handler(sink), hostname="127.0.0.1", port=sink.port)
    controller.start()

    def stop() -> None:
        sink.gate.set()
        controller.stop()

    return sink, stop
