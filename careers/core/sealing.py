"""Secrets the board must read back (authenticator keys) are stored sealed, never in clear.

Fernet (AES-128-CBC with HMAC-SHA256, from `cryptography`) under a key derived with HKDF-SHA256 from `TOTP_KEY`,
or from `SECRET_KEY` when `TOTP_KEY` is unset. A copy of the database alone therefore yields no authenticator key.
Changing the key makes sealed values unreadable (two-step login must then be set up again): set `TOTP_KEY` to
rotate `SECRET_KEY` without that.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


@functools.lru_cache(maxsize=8)
def _fernet(material: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"careercenter sealed secrets v1").derive(
        material.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def key_material(settings) -> str:
    return settings.totp_key or settings.secret_key


def seal(text: str, material: str, *, now: dt.datetime | None = None) -> str:
    """`text` encrypted and authenticated under `material` (see `key_material`)."""
    if now is None:
        return _fernet(material).encrypt(text.encode()).decode()
    return _fernet(material).encrypt_at_time(text.encode(), int(now.timestamp())).decode()


def unseal(sealed: str | None, material: str) -> str | None:
    """The text sealed by `seal`, or None when there is none or it was sealed under another key (or altered)."""
    if not sealed:
        return None
    try:
        return _fernet(material).decrypt(sealed.encode()).decode()
    except (InvalidToken, ValueError):
        return None
