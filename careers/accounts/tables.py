"""Accounts: users, server-side sessions, one-time tokens, admins' recovery codes and the audit log."""

from piccolo.columns import JSONB, Boolean, ForeignKey, Integer, Serial, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class User(Table, tablename="users"):
    id = Serial(primary_key=True)
    email = Varchar(length=320, unique=True)
    password_hash = Text()
    role = Varchar(length=16, index=True)  # coder, employer, admin
    display_name = Varchar(length=200, default="")
    email_confirmed_at = Timestamptz(null=True, default=None)
    login_disabled = Boolean(default=False)
    created_at = Timestamptz(default=TimestamptzNow())
    last_login_at = Timestamptz(null=True, default=None)
    # The authenticator key, sealed (careers/core/sealing.py); set once the person confirmed a first code.
    totp_secret_sealed = Text(null=True, default=None)
    totp_last_step = Integer(null=True, default=None)  # the last accepted TOTP time step: a code works once


class Session(Table, tablename="sessions"):
    """A signed-in browser. The cookie holds a random token; only its sha256 is stored."""

    id = Serial(primary_key=True)
    token_hash = Varchar(length=64, unique=True)
    user = ForeignKey(references=User, index=True)
    created_at = Timestamptz(default=TimestamptzNow())
    expires_at = Timestamptz()
    second_factor_ok = Boolean(default=False)
    # A new authenticator key being set up in this browser (sealed), kept across reloads until `totp_setup_until`.
    totp_setup_sealed = Text(null=True, default=None)
    totp_setup_until = Timestamptz(null=True, default=None)


class AccountToken(Table, tablename="account_tokens"):
    """One-time tokens mailed to people: email confirmation and password reset."""

    id = Serial(primary_key=True)
    token_hash = Varchar(length=64, unique=True)
    purpose = Varchar(length=32)  # confirm_email, reset_password
    user = ForeignKey(references=User, index=True)
    created_at = Timestamptz(default=TimestamptzNow())
    expires_at = Timestamptz()
    used_at = Timestamptz(null=True, default=None)


class RecoveryCode(Table, tablename="recovery_codes"):
    """An admin's single-use recovery code; only its sha256 is stored."""

    id = Serial(primary_key=True)
    user = ForeignKey(references=User, index=True)
    code_hash = Varchar(length=64, unique=True)
    created_at = Timestamptz(default=TimestamptzNow())
    used_at = Timestamptz(null=True, default=None)


class AuditEntry(Table, tablename="audit_entries"):
    """One admin action or automated decision. Written once; the app has no path to edit or delete it.

    Employer and listing are plain ids (accounts knows nothing of those domains) so an entry
    outlives what it describes.
    """

    id = Serial(primary_key=True)
    actor = ForeignKey(references=User, null=True, index=True, on_delete=OnDelete.set_null)  # None: the system
    actor_label = Varchar(length=320, default="system")  # the admin's email at the time, or "system"
    action = Varchar(length=64, index=True)
    employer_id = Integer(null=True, default=None, index=True)
    listing_id = Integer(null=True, default=None, index=True)
    reason = Text(default="")
    before = JSONB(null=True, default=None)
    after = JSONB(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow(), index=True)


class MailOptOut(Table, tablename="mail_opt_outs"):
    """A kind of non-essential mail a person turned off (`careers/accounts/mail_prefs.py`); no row means wanted."""

    id = Serial(primary_key=True)
    user = ForeignKey(references=User, index=True, on_delete=OnDelete.cascade)
    kind = Varchar(length=32)
    user_kind = Varchar(length=48, unique=True)  # f"{user_id}:{kind}": one row per pair
    created_at = Timestamptz(default=TimestamptzNow())
