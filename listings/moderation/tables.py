"""Moderation data: reports from visitors and the batching state of admin notices."""

from piccolo.columns import Boolean, ForeignKey, Integer, Serial, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from careers.accounts.tables import User
from listings.tables import Listing


class Report(Table, tablename="reports"):
    """One "report this job". A guest's report counts only once its mailed link confirmed the address.

    `reporter_key` names the person ("user:<id>" or "email:<address>"), so three reports from one
    person count once. `counts` is False (and `count_note` says why) for reports from the listing's own
    employer's members and from accounts unconfirmed or younger than the settings allow.
    """

    id = Serial(primary_key=True)
    listing = ForeignKey(references=Listing, index=True, on_delete=OnDelete.cascade)
    reporter = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)
    reporter_email = Varchar(length=320, default="")
    reporter_key = Varchar(length=340, index=True)
    reason = Varchar(length=32)  # REPORT_REASONS
    detail = Text(default="")
    counts = Boolean(default=True)
    count_note = Varchar(length=200, default="")  # why it cannot count, judged when filed (own team, new account…)
    network = Varchar(length=64, default="")  # the reporter's /24 (IPv4) or /48 (IPv6): one counting report per network
    confirm_token_hash = Varchar(length=64, null=True, default=None, unique=True)
    confirmed_at = Timestamptz(null=True, default=None)
    status = Varchar(length=16, default="open", index=True)  # open, dismissed, actioned
    resolution = Varchar(length=32, default="")  # dismissed, removed, employer_suspended
    resolved_by = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)
    resolved_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())


class AdminNotice(Table, tablename="admin_notices"):
    """Batching state of a mail to admins: when it last went out and the last event it covered."""

    id = Serial(primary_key=True)
    name = Varchar(length=64, unique=True)
    last_sent_at = Timestamptz(null=True, default=None)
    last_event_id = Integer(default=0)
