"""Compose mail and queue it in the outbox; deliver queued mail through SMTP.

Without SMTP_URL a mail stays in the outbox (admins read it at /admin/mail) and,
in development, is printed to the log so a reset link can be followed.
Every mail carries a stable Message-ID derived from its outbox row, so a
redelivery after a crash is recognisably the same message.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any
from urllib.parse import unquote, urlparse

import anyio

from careers.core import outbox
from careers.core.config import Settings

log = logging.getLogger("careers.mail")

MAIL_KIND = "mail"


async def queue_mail(
    to: str, subject: str, text: str, *, html: str | None = None, headers: dict[str, str] | None = None
) -> int:
    """Queue one mail to `to`. Call inside the transaction of the change the mail reports."""
    return await outbox.enqueue(MAIL_KIND, mail_payload(to, subject, text, html=html, headers=headers))


def mail_payload(to: str, subject: str, text: str, *, html: str | None = None,
                 headers: dict[str, str] | None = None) -> dict[str, Any]:
    """One mail as the outbox stores it (for `queue_mails`)."""
    return {"to": to, "subject": subject, "text": text, "html": html, "headers": headers or {}}


async def queue_mails(payloads: list[dict[str, Any]]) -> None:
    """Queue several mails (`mail_payload(...)`) in one statement. Call inside the transaction of the change."""
    await outbox.enqueue_many(MAIL_KIND, payloads)


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


async def deliver(payload: dict[str, Any], row_id: int, settings: Settings) -> None:
    """Outbox handler for `mail` rows."""
    msg = build_message(payload, row_id, settings)
    if settings.smtp_url:
        await anyio.to_thread.run_sync(_send_smtp, settings.smtp_url, msg)
    if settings.debug and settings.print_mail:
        log.warning("mail to %s: %s\n%s", payload["to"], payload["subject"], payload["text"])


def message_id_domain(settings: Settings) -> str:
    return urlparse(settings.base_url).hostname or make_msgid().split("@")[-1].rstrip(">")
