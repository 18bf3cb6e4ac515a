"""The /admin dashboard's figures and chart, the outbox retry, and the batched admin mail about reviews."""

from __future__ import annotations

import datetime as dt
import re

from careers.admin import applications_chart, dashboard_figures
from careers.core.tables import OutboxRow
from employers.tables import Employer
from listings import service as listings
from listings.moderation import jobs
from listings.tables import Listing, ListingEvent
from tests.conftest import create_admin, outbox_mail, register_coder
from tests.test_moderation_support import make_employer, make_listing


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


async def add_applications(listing: Listing, per_day: dict[int, int]) -> bool:
    """Applications `days_ago -> count` if the coders domain keeps them; False otherwise."""
    try:
        from careers.coders.tables import Application
    except ImportError:
        return False
    from careers.accounts.service import create_user

    n = 0
    for days_ago, count in per_day.items():
        for _ in range(count):
            n += 1
            user = await create_user(f"applicant{n}@example.org", "correct horse battery", "coder")
            await Application.insert(Application(
                listing=listing.id, coder=user.id, listing_coder=f"{listing.id}:{user.id}",
                created_at=utcnow() - dt.timedelta(days=days_ago)))
    return True


async def test_dashboard_shows_the_figures_the_chart_and_failed_work_with_a_retry(browser, make_browser):
    fresh = await make_employer(browser, "hr@fresh.org", "Fresh Clinic", "https://fresh.org", days_old=2)
    old = await make_employer(make_browser(), "hr@oldclinic.org", "Old Clinic", "https://oldclinic.org", days_old=60)
    waiting = await make_listing(fresh, title="Waiting long", status="in_review")
    await ListingEvent.update({ListingEvent.created_at: utcnow() - dt.timedelta(hours=5)}).where(
        (ListingEvent.listing == waiting.id) & (ListingEvent.to_status == "in_review"))
    await make_listing(fresh, title="Waiting short", status="in_review")
    live = await make_listing(old, title="Live one", status="published")
    hidden = await make_listing(old, title="Hidden one", status="published")
    await listings.set_hidden(hidden.id, True, actor_kind="system", reason="test")
    has_apps = await add_applications(live, {0: 3, 1: 1, 29: 2, 40: 5})
    failed = OutboxRow(kind="mail", payload='{"to": "x@example.org", "subject": "s", "text": "t"}', status="failed",
                       last_error="SMTP said no", attempts=8)
    await failed.save()

    figures = await dashboard_figures()
    assert figures.waiting_reviews == 2
    assert dt.timedelta(hours=4, minutes=59) < figures.oldest_wait < dt.timedelta(hours=5, minutes=5)
    assert figures.published_listings == 1
    assert figures.new_employers_week == 1
    assert figures.open_reports == 0
    if has_apps:
        days = figures.applications_per_day
        assert len(days) == 30 and days[-1][1] == 3 and days[-2][1] == 1 and days[0][1] == 2
        assert sum(count for _, count in days) == 6  # the 40-day-old ones fall outside

    admin = make_browser()
    await create_admin(admin)
    page = await admin.get("/admin")
    assert page.status_code == 200
    assert "Waiting for review" in page.text and "oldest waiting" in page.text and "5 hours" in page.text
    assert "New employers this week" in page.text and "Revenue this month" in page.text
    if has_apps:
        assert '<svg xmlns="http://www.w3.org/2000/svg" class="chart"' in page.text
        assert "6 applications in the last 30 days" in page.text  # the chart's text alternative
        assert "The numbers as a table" in page.text
    assert "SMTP said no" in page.text
    await admin.submit(f"/admin/outbox/{failed.id}/retry")
    retried = await OutboxRow.objects().get(OutboxRow.id == failed.id)
    assert retried.status == "pending" and retried.attempts == 0
    from careers.accounts.tables import AuditEntry

    entry = await AuditEntry.objects().where(AuditEntry.action == "outbox row retried").first()
    assert entry.actor_label == "admin@careercenter.org" and "SMTP said no" in str(entry.before)
    assert (await admin.submit("/admin/outbox/999999/retry")).status_code == 404


async def test_revenue_this_month_counts_paid_orders_only(browser):
    try:
        from billing.tables import Order, Plan
    except ImportError:
        return
    employer = await make_employer(browser, "hr@payer.org", "Payer Health", "https://payer.org", days_old=40)
    plan = await Plan.objects().first()
    month_start = utcnow().replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    for status, cents, paid_at in (("paid", 19900, utcnow()), ("paid", 5000, utcnow()), ("refunded", 7000, utcnow()),
                                   ("paid", 100000, month_start - dt.timedelta(days=2)), ("pending", 3000, None)):
        await Order.insert(Order(employer=employer.id, kind="posting", plan=plan.id, amount_cents=cents,
                                 status=status, paid_at=paid_at))
    assert (await dashboard_figures()).revenue_month_cents == 24900


def test_the_chart_is_plain_svg_with_one_bar_per_day_and_a_title():
    days = [(dt.date(2026, 1, 1) + dt.timedelta(days=i), i % 4) for i in range(30)]
    svg = applications_chart(days)
    assert svg.startswith("<svg") and svg.endswith("</svg>") and "<script" not in svg
    assert len(re.findall(r"<rect ", svg)) == 30
    assert "<title id=\"apps-chart-title\">43 applications in the last 30 days" in svg
    assert applications_chart([]) == ""


async def test_admins_get_at_most_one_review_mail_per_fifteen_minutes(browser, make_browser, settings):
    admin = make_browser()
    await create_admin(admin)
    employer = await make_employer(browser, "hr@batch.org", "Batch Health", "https://batch.org", days_old=40)
    start = utcnow()
    await make_listing(employer, title="First to review", status="in_review")
    await make_listing(employer, title="Second to review", status="in_review")
    assert await jobs.mail_admins_about_reviews(settings, now=start) == 1
    mails = [m for m in await outbox_mail("admin@careercenter.org") if "waiting for review" in m["subject"]]
    assert len(mails) == 1 and "First to review" in mails[0]["text"] and "Second to review" in mails[0]["text"]
    assert "/admin/review" in mails[0]["text"]

    await make_listing(employer, title="Third to review", status="in_review")
    assert await jobs.mail_admins_about_reviews(settings, now=start + dt.timedelta(minutes=5)) == 0
    assert await jobs.mail_admins_about_reviews(settings, now=start + dt.timedelta(minutes=14)) == 0
    assert await jobs.mail_admins_about_reviews(settings, now=start + dt.timedelta(minutes=16)) == 1
    mails = [m for m in await outbox_mail("admin@careercenter.org") if "waiting for review" in m["subject"]]
    assert len(mails) == 2 and "Third to review" in mails[1]["text"] and "First to review" not in mails[1]["text"]
    # nothing new: no mail, however long it has been
    assert await jobs.mail_admins_about_reviews(settings, now=start + dt.timedelta(hours=2)) == 0
    # coders never get it
    await register_coder(make_browser(), "c@example.org")
    assert not [m for m in await outbox_mail("c@example.org") if "waiting for review" in m["subject"]]
    assert await Employer.count() == 1
