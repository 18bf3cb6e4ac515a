"""Listings: the credential taxonomy, the listing, its multi-valued fields (join tables) and its events.

Credentials, settings, specialties, code sets and remote states live in join
tables rather than array columns: on SQLite Piccolo's Array.any() is a LIKE and
would match CPC-A for CPC.
"""

from piccolo.columns import (
    JSONB,
    Boolean,
    Date,
    DoublePrecision,
    ForeignKey,
    Integer,
    Numeric,
    Serial,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from careers.accounts.tables import User
from careers.core.schema import value_table
from employers.tables import Employer
from listings.vocabulary import ListingState


class Credential(Table, tablename="credentials"):
    id = Serial(primary_key=True)
    code = Varchar(length=16, unique=True)
    full_name = Varchar(length=200)
    issuing_body = Varchar(length=16)
    category = Varchar(length=32, default="core")
    entry_level = Boolean(default=False)
    active = Boolean(default=True)
    aliases = JSONB(default="[]")


class Listing(Table, tablename="listings"):
    id = Serial(primary_key=True)
    employer = ForeignKey(references=Employer, index=True)
    created_by = ForeignKey(references=User, null=True)
    status = Varchar(length=20, default=ListingState.DRAFT, index=True, choices=ListingState)
    hidden = Boolean(default=False)
    featured = Boolean(default=False)
    title = Varchar(length=200)
    slug = Varchar(length=220, default="")
    normalised_title = Varchar(length=200, default="", index=True)
    description_md = Text(default="")
    description_html = Text(default="")  # sanitised at save time
    work_mode = Varchar(length=10)
    zip = Varchar(length=10, default="")
    city = Varchar(length=100, default="")
    state = Varchar(length=2, default="", index=True)  # location state (US two-letter)
    street_address = Varchar(length=200, default="")  # optional; Google and Indeed want it for on-site jobs
    lat = DoublePrecision(null=True, default=None)
    lng = DoublePrecision(null=True, default=None)
    employment_type = Varchar(length=16)
    min_years = Integer(default=0)
    entry_level_ok = Boolean(default=False)
    pay_min = Numeric(digits=(12, 2))
    pay_max = Numeric(digits=(12, 2))
    pay_unit = Varchar(length=8)
    pay_annual_min = Integer(null=True, default=None)
    pay_annual_max = Integer(null=True, default=None)
    benefits = Varchar(length=500, default="")
    application_deadline = Date(null=True, default=None)
    employer_size = Integer(null=True, default=None)  # employees, as the poster states it: pay-law thresholds (15+ …)
    apply_url = Varchar(length=500, default="")
    requisition_id = Varchar(length=100, default="")
    syndicate_opt_out = Boolean(default=False)  # the employer keeps this listing out of the Indeed/LinkedIn feeds
    duration_days = Integer(default=30)
    published_at = Timestamptz(null=True, default=None)
    expires_at = Timestamptz(null=True, default=None, index=True)
    expiry_warned_at = Timestamptz(null=True, default=None)
    approved_snapshot = JSONB(null=True, default=None)  # the last version an admin approved, for review diffs
    views = Integer(default=0)
    apply_clicks = Integer(default=0)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())
    version = Integer(default=1)  # +1 on every edit: an approval names the version the admin saw
    # Live listings (issue 18, listings/liveness): publishing is the first confirmation, the employer reconfirms
    # every 14 days; 21 days unconfirmed pauses it (a flag like `hidden`, not a state: paid time keeps running).
    confirmed_at = Timestamptz(null=True, default=None)
    paused = Boolean(default=False)
    reconfirm_reminded_at = Timestamptz(null=True, default=None)  # the reminder of the current period went
    close_reason = Varchar(length=24, default="")  # liveness.CLOSE_REASONS key, asked on closing or expiry
    close_reason_asked_at = Timestamptz(null=True, default=None)  # the expiry's "why did it end?" mail went
    screening_questions = JSONB(default="[]")  # listings.screening's shape; on the row so the page reads it free


class ListingCredential(Table, tablename="listing_credentials"):
    id = Serial(primary_key=True)
    listing = ForeignKey(references=Listing, index=True)
    credential = Varchar(length=16, index=True)  # Credential.code
    kind = Varchar(length=10)  # CredentialKind: required, any_of, preferred


ListingSetting = value_table("ListingSetting", "listing_settings", ("listing", Listing), 32, __name__)
ListingSpecialty = value_table("ListingSpecialty", "listing_specialties", ("listing", Listing), 32, __name__)
ListingCodeSet = value_table("ListingCodeSet", "listing_code_sets", ("listing", Listing), 16, __name__)
ListingRemoteState = value_table("ListingRemoteState", "listing_remote_states", ("listing", Listing), 2, __name__,
                                 "States whose residents may apply to a remote listing; no rows means all US states.")


class ListingEvent(Table, tablename="listing_events"):
    """One row per lifecycle transition: who, from, to, why, when."""

    id = Serial(primary_key=True)
    listing = ForeignKey(references=Listing, index=True)
    actor = ForeignKey(references=User, null=True)
    actor_kind = Varchar(length=16)  # employer, admin, system, webhook
    from_status = Varchar(length=20)
    to_status = Varchar(length=20)
    reason = Text(default="")
    created_at = Timestamptz(default=TimestamptzNow())


class ListingLink(Table, tablename="listing_links"):
    """A one-time link mailed to an employer's member about one listing (reconfirm it, say why it ended).

    Only the token's sha256 is stored; a new link for the same listing, purpose and member ends the older one."""

    id = Serial(primary_key=True)
    token_hash = Varchar(length=64, unique=True)
    purpose = Varchar(length=16)  # liveness.RECONFIRM, liveness.CLOSE_REASON
    listing = ForeignKey(references=Listing, index=True)
    user = ForeignKey(references=User, null=True)
    created_at = Timestamptz(default=TimestamptzNow())
    expires_at = Timestamptz()
    used_at = Timestamptz(null=True, default=None)


class ListingDailyStat(Table, tablename="listing_daily_stats"):
    """Views, apply clicks and applications per listing, UTC day and traffic source: what dashboards read.

    Unique on (listing, day, source) (an index the migration creates); web processes buffer counts in memory and
    add them here in one upsert every few seconds (`listings.stats`).
    """

    id = Serial(primary_key=True)
    listing = ForeignKey(references=Listing, index=True)
    day = Date()
    source = Varchar(length=32, default="direct")
    views = Integer(default=0)
    apply_clicks = Integer(default=0)
    applies = Integer(default=0)
