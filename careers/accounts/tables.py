"""Accounts: users, server-side sessions and one-time tokens."""

from piccolo.columns import Boolean, ForeignKey, Serial, Text, Timestamptz, Varchar
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
    totp_secret = Varchar(length=64, null=True, default=None)


class Session(Table, tablename="sessions"):
    """A signed-in browser. The cookie holds a random token; only its sha256 is stored."""

    id = Serial(primary_key=True)
    token_hash = Varchar(length=64, unique=True)
    user = ForeignKey(references=User, index=True)
    created_at = Timestamptz(default=TimestamptzNow())
    expires_at = Timestamptz()
    second_factor_ok = Boolean(default=False)


class AccountToken(Table, tablename="account_tokens"):
    """One-time tokens mailed to people: email confirmation and password reset."""

    id = Serial(primary_key=True)
    token_hash = Varchar(length=64, unique=True)
    purpose = Varchar(length=32)  # confirm_email, reset_password
    user = ForeignKey(references=User, index=True)
    created_at = Timestamptz(default=TimestamptzNow())
    expires_at = Timestamptz()
    used_at = Timestamptz(null=True, default=None)
