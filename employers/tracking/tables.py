"""Applicant tracking data: employers' private notes on applications, and each member's dashboard visits."""

from piccolo.columns import ForeignKey, Serial, Text, Timestamptz
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from careers.accounts.tables import User
from careers.coders.tables import Application
from employers.tables import Employer, EmployerMember


class ApplicationNote(Table, tablename="application_notes"):
    """A private note on an application; only members of `employer` (the listing's owner) ever see it."""

    id = Serial(primary_key=True)
    application = ForeignKey(references=Application, index=True, on_delete=OnDelete.cascade)
    employer = ForeignKey(references=Employer, index=True, on_delete=OnDelete.cascade)
    author = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)
    body = Text()
    created_at = Timestamptz(default=TimestamptzNow())


class MemberVisit(Table, tablename="employer_member_visits"):
    """When a member last looked at the dashboard, for "new applicants since your last visit".

    `since` is where the current visit's count starts (the previous visit); reloads within one
    visit keep it, so the number does not drop to zero on refresh.
    """

    id = Serial(primary_key=True)
    member = ForeignKey(references=EmployerMember, unique=True, on_delete=OnDelete.cascade)
    last_seen_at = Timestamptz(default=TimestamptzNow())
    since = Timestamptz(null=True, default=None)
