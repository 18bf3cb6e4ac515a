"""Employer organisations and their members."""

from piccolo.columns import Boolean, DoublePrecision, ForeignKey, Integer, Serial, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from careers.accounts.tables import User


class Employer(Table, tablename="employers"):
    id = Serial(primary_key=True)
    name = Varchar(length=200, index=True)
    slug = Varchar(length=220, unique=True)
    website = Varchar(length=500, default="")
    about_md = Text(default="")
    hq_zip = Varchar(length=10, default="")
    hq_city = Varchar(length=100, default="")
    hq_state = Varchar(length=2, default="")
    logo_path = Varchar(length=300, null=True, default=None)
    verified = Boolean(default=False)
    domain_verified = Boolean(default=False)
    freemail_flag = Boolean(default=False)
    suspended = Boolean(default=False)
    stripe_customer_id = Varchar(length=100, null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    # Last edit of the public page (sitemap lastmod; None = created_at). Nullable: SQLite cannot add a
    # column whose default is CURRENT_TIMESTAMP to a table with rows. logo_path holds a storage key.
    updated_at = Timestamptz(null=True, default=None)
    # The response record (employers/response.py), computed by the worker, never per request; figures are None
    # below 5 counted applications.
    response_median_days = DoublePrecision(null=True, default=None)
    response_within_14_days = DoublePrecision(null=True, default=None)
    response_closed_share = DoublePrecision(null=True, default=None)
    response_counted = Integer(null=True, default=None)
    response_computed_at = Timestamptz(null=True, default=None)


class EmployerMember(Table, tablename="employer_members"):
    id = Serial(primary_key=True)
    employer = ForeignKey(references=Employer, index=True)
    user = ForeignKey(references=User, unique=True)
    role = Varchar(length=16, default="member")  # owner, member
    created_at = Timestamptz(default=TimestamptzNow())


class EmployerInvite(Table, tablename="employer_invites"):
    """An emailed invitation to join an organisation. Only the token's sha256 is stored; it works once."""

    id = Serial(primary_key=True)
    employer = ForeignKey(references=Employer, index=True)
    email = Varchar(length=320, index=True)
    token_hash = Varchar(length=64, unique=True)
    invited_by = ForeignKey(references=User, null=True)
    created_at = Timestamptz(default=TimestamptzNow())
    expires_at = Timestamptz()
    used_at = Timestamptz(null=True, default=None)
    accepted_by = ForeignKey(references=User, null=True)
    revoked_at = Timestamptz(null=True, default=None)
