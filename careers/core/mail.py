"""Compose mail and queue it in the outbox; deliver queued mail through SMTP.

Two kinds of row: a plain mail (`mail`) carries its whole text, and a mail with a link that holds a one-time
secret (`mail.<purpose>`: reset, confirmation, invitation, report confirmation, alert links) carries only the
address, the subject, the purpose and the object it is about. Its handler makes the token (storing only a hash)
and writes the text when it sends, so no secret is ever written to the database. In development the worker also
prints every mail it sends, links included, so a reset link can be followed without SMTP.
Every mail carries a stable Message-ID derived from its outbox row, so a redelivery after a crash is recognisably
the same message.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Awaitable, Callable
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any
from urllib.parse import unquote, urlparse

import anyio

from careers.core import outbox
from careers.core.config import Settings

log = logging.getLogger("careers.mail")

MAIL_KIND = "mail"
LINK_MAIL_PREFIX = MAIL_KIND + "."  # `mail.<purpose>`: the text is written when it is sent

# Builds the mail of a `mail.<purpose>` row when it is sent: {"to", "subject", "text", "html"?, "headers"?},
# or None when there is nothing to send any more (the invitation was withdrawn, the address confirmed, ...).
Composer = Callable[[dict[str, Any], Settings], Awaitable[dict[str, Any] | None]]


async def queue_mail(
    to: str, subject: str, text: str, *, html: str | None = None, headers: dict[str, str] | None = None
) -> int:
    """Queue one mail to `to` whose text holds no secret. Call inside the transaction of the change it reports."""
    return await outbox.enqueue(MAIL_KIND, mail_payload(to, subject, text, html=html, headers=headers))


def mail_payload(to: str, subject: str, text: str, *, html: str | None = None,
                 headers: dict[str, str] | None = None) -> dict[str, Any]:
    """One mail as the outbox stores it (for `queue_mails`)."""
    return {"to": to, "subject": subject, "text": text, "html": html, "headers": headers or {}}


async def queue_mails(payloads: list[dict[str, Any]]) -> None:
    """Queue several mails (`mail_payload(...)`) in one statement. Call inside the transaction of the change."""
    await outbox.enqueue_many(MAIL_KIND, payloads)


async def queue_link_mail(purpose: str, to: str, subject: str, object_id: int, **details: Any) -> int:
    """Queue a mail whose link will carry a one-time secret: the row names the purpose and the object, never the
    link; the purpose's handler (`link_mail_handler`) makes the token when it sends. `details` must hold no secret."""
    return await outbox.enqueue(LINK_MAIL_PREFIX + purpose, {"to": to, "subject": subject, "id": object_id, **details})


def link_mail_handler(compose: Composer):
    """The outbox handler of one `mail.<purpose>` kind: compose at send time, then send."""

    async def handle(payload: dict[str, Any], row_id: int, settings: Settings) -> None:
        message = await compose(payload, settings)
        if message is None:
            log.info("mail row %s: nothing to send any more", row_id)
            return
        await send(message, row_id, settings)

    return handle


def build_message(payload: dict[str, Any], row_id: int, settings: Settings) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = settings.mail_from
    msg["To"] = payload["to"]
    msg["Subject"] = payload["subject"]
    msg["Date"] = formatdate(localtime=False)
    domain = urlparse(settings.base_url).hostname or "careercenter.localhost"
    msg["Message-ID"] = f"<outbox-{row_id}@{domain}>"
    for name, value in (payload.get("headers") or {}).items():
        msg[name] = value
    msg.set_content(payload["text"])
    if payload.get("html"):
        msg.add_alternative(payload["html"], subtype="html")
    return msg


def _send_smtp(smtp_url: str, msg: EmailMessage) -> None:
    url = urlparse(smtp_url)
    host = url.hostname or "127.0.0.1"
    if url.scheme == "smtps":
        client: smtplib.SMTP = smtplib.SMTP_SSL(host, url.port or 465, timeout=30, context=ssl.create_default_context())
    else:
        client = smtplib.SMTP(host, url.port or 25, timeout=30)
    with client:
        if url.scheme == "smtp+starttls" or "starttls=1" in (url.query or ""):
            client.starttls(context=ssl.create_default_context())
        if url.username:
            client.login(unquote(url.username), unquote(url.password or ""))
        client.send_message(msg)


async def send(message: dict[str, Any], row_id: int, settings: Settings) -> None:
    """Send one composed mail through SMTP (when set); in development also print it, links included."""
    msg = build_message(message, row_id, settings)
    if settings.smtp_url:
        await anyio.to_thread.run_sync(_send_smtp, settings.smtp_url, msg)
    if settings.debug and settings.print_mail:
        log.warning("mail to %s: %s\n%s", message["to"], message["subject"], message["text"])


async def deliver(payload: dict[str, Any], row_id: int, settings: Settings) -> None:
    """Outbox handler for plain `mail` rows."""
    await send(payload, row_id, settings)


def is_mail_kind(kind: str) -> bool:
    return kind == MAIL_KIND or kind.startswith(LINK_MAIL_PREFIX)


def message_id_domain(settings: Settings) -> str:
    return urlparse(settings.base_url).hostname or make_msgid().split("@")[-1].rstrip(">")
