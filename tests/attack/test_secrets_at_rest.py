"""Attack: a copy of the database (a backup, a stolen disk) must hold no working one-time secret.

The attacker has the SQLite file and its WAL (or a `pg_dump`) and greps them for the tokens that went out in mail:
password reset, email confirmation, an employer's invitation, a visitor's report confirmation and a guest's alert
confirmation. Before the fix the outbox kept every mail's whole text, links included.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import subprocess
from pathlib import Path
from urllib.parse import urlparse

from careers.core import clock
from careers.core.tables import OutboxRow
from tests import factories
from tests.conftest import (
    _SQLITE_PATH,
    ON_POSTGRES,
    create_admin,
    link_in,
    login,
    register_coder,
    register_employer,
    sent_mail,
)

PASSWORD = "correct horse battery"


def token_of(text: str, path: str) -> str:
    return link_in(text, path).split("token=")[1]


def database_copy() -> bytes:
    """What a backup holds: the SQLite file and its WAL, or the text of a `pg_dump`."""
    if ON_POSTGRES:
        url = urlparse(os.environ["DATABASE_URL"])
        without_password = url._replace(netloc=f"{url.username}@{url.hostname}:{url.port or 5432}").geturl()
        dumped = subprocess.run(["pg_dump", "--data-only", f"--dbname={without_password}"], capture_output=True,
                                env=os.environ | {"PGPASSWORD": url.password or ""}, check=True, timeout=120)
        return dumped.stdout
    path = Path(_SQLITE_PATH)
    wal = Path(str(path) + "-wal")
    # Read by another process: closing a file this process opened would drop the POSIX locks that the engine's
    # long-lived SQLite connections hold on it, and the next process to close its connection would remove the WAL.
    files = [str(path)] + ([str(wal)] if wal.exists() else [])
    return subprocess.run(["cat", *files], capture_output=True, check=True, timeout=60).stdout


async def mailed_tokens(make_browser) -> dict[str, str]:
    """Every kind of one-time link, each taken from the mail as sent."""
    tokens = {}
    coder = make_browser()
    await register_coder(coder, "victim@example.org", PASSWORD, confirm=False)
    tokens["confirm"] = token_of((await sent_mail("victim@example.org"))[-1]["text"], "/account/confirm")
    await make_browser().submit("/password/reset", {"email": "victim@example.org"})
    tokens["reset"] = token_of((await sent_mail("victim@example.org"))[-1]["text"], "/password/reset/confirm")

    employer = make_browser()
    await register_employer(employer, "hr@acmehealth.org", PASSWORD)
    assert (await employer.submit("/employer/team/invite", {"email": "colin@acmehealth.org"})).status_code == 303
    tokens["invite"] = token_of((await sent_mail("colin@acmehealth.org"))[-1]["text"], "/employer/invites/accept")
    tokens.update(await listing_link_tokens())

    listing = await factories.make_listing(await factories.make_employer("Other Clinic"), "Remote CPC coder")
    visitor = make_browser()
    reported = await visitor.submit(f"/jobs/{listing.id}/report", {"reason": "scam", "email": "visitor@example.org"})
    assert reported.status_code in (200, 303), reported.text
    tokens["report"] = token_of((await sent_mail("visitor@example.org"))[-1]["text"], "/reports/confirm")

    alert = await visitor.submit("/alerts", {"query": "q=coder", "frequency": "daily", "email": "guest@example.org"})
    assert alert.status_code == 200, alert.text
    tokens["alert"] = token_of((await sent_mail("guest@example.org"))[-1]["text"], "/alerts/confirm")
    return tokens


async def listing_link_tokens() -> dict[str, str]:
    """Live listings' links (issue 18): the 14-day reconfirm reminder and the expiry's "how did it end?"."""
    from listings import service as listings
    from listings.liveness import service as liveness

    acme = await factories.make_employer("Acme Health")
    await factories.make_listing(acme, "Stale coder", now=clock.now() - dt.timedelta(days=15))
    await liveness.remind_due()
    reconfirm = token_of((await sent_mail("hr@acmehealth.org"))[-1]["text"], "/listings/reconfirm")
    await factories.make_listing(acme, "Expired coder", now=clock.now() - dt.timedelta(days=31))
    await listings.expire_due()
    await liveness.ask_why_ended()
    return {"reconfirm": reconfirm, "ended": token_of((await sent_mail("hr@acmehealth.org"))[-1]["text"],
                                                      "/listings/ended")}


async def test_no_mailed_one_time_token_is_anywhere_in_a_copy_of_the_database(make_browser):
    tokens = await mailed_tokens(make_browser)
    copy = database_copy()
    assert b"victim@example.org" in copy  # the copy is a real one: it holds the account
    found = {name: token for name, token in tokens.items() if token.encode() in copy}
    assert found == {}, f"one-time tokens readable in the database: {sorted(found)}"

    # and the links still work: the tokens were real
    fresh = make_browser()
    done = await fresh.submit("/password/reset/confirm", {"token": tokens["reset"], "password": "a brand new secret",
                                                          "password_confirm": "a brand new secret"})
    assert done.status_code == 303
    assert (await login(fresh, "victim@example.org", "a brand new secret")).status_code == 303


async def test_admin_mail_page_shows_who_and_what_but_no_link(make_browser):
    tokens = await mailed_tokens(make_browser)
    admin = make_browser()
    await create_admin(admin)
    page = (await admin.get("/admin/mail")).text
    assert "Reset your CareerCenter password" in page and "victim@example.org" in page
    assert "token=" not in page and not [name for name, token in tokens.items() if token in page]


async def test_a_production_worker_logs_no_link(make_browser, settings, caplog):
    await register_coder(make_browser(), "quiet@example.org", PASSWORD, confirm=False)
    with caplog.at_level(logging.DEBUG):
        mail = (await sent_mail("quiet@example.org", settings.replace(env="production", print_mail=True)))[-1]
    assert token_of(mail["text"], "/account/confirm") not in caplog.text


async def test_a_reset_goes_to_unconfirmed_accounts_too_and_a_new_link_ends_the_older_ones_for_good(make_browser):
    await register_coder(make_browser(), "unconfirmed@example.org", PASSWORD, confirm=False)
    for _ in range(2):
        await make_browser().submit("/password/reset", {"email": "unconfirmed@example.org"})
    first, second = [token_of(m["text"], "/password/reset/confirm") for m in await sent_mail("unconfirmed@example.org")
                     if "Reset" in m["subject"]]
    browser = make_browser()
    old = await browser.submit("/password/reset/confirm", {"token": first, "password": "a brand new secret",
                                                           "password_confirm": "a brand new secret"})
    assert old.status_code == 400 and "invalid, already used or expired" in old.text
    new = await browser.submit("/password/reset/confirm", {"token": second, "password": "a brand new secret",
                                                           "password_confirm": "a brand new secret"})
    assert new.status_code == 303
    after = await browser.submit("/password/reset/confirm", {"token": first, "password": "another new secret",
                                                             "password_confirm": "another new secret"})
    assert after.status_code == 400  # and nothing older revives after a reset


async def test_sent_mail_rows_are_purged_after_30_days(make_browser, frozen_clock, worker):
    await register_coder(make_browser(), "old@example.org", PASSWORD, confirm=False)
    await sent_mail("old@example.org")
    from careers.worker import housekeeping

    frozen_clock.advance(dt.timedelta(days=29))
    await housekeeping(worker.settings)
    assert await OutboxRow.count().where(OutboxRow.kind == "mail.confirm_email") == 1
    frozen_clock.advance(dt.timedelta(days=2))
    await housekeeping(worker.settings)
    assert await OutboxRow.count().where(OutboxRow.kind == "mail.confirm_email") == 0
    assert clock.now() > dt.datetime.now(dt.UTC)  # the clock, not the wall, decided



async def test_every_done_outbox_row_is_purged_after_30_days_and_failed_ones_stay(frozen_clock, worker):
    """Each publish writes an index sync and its reach companions: without the purge the table only grows."""
    from careers.core import outbox
    from careers.worker import housekeeping

    await factories.make_listing("Acme Health", "Coder whose sync is done")
    await worker.drain()
    done_kinds = {r["kind"] for r in await OutboxRow.select(OutboxRow.kind).where(OutboxRow.status == "done")}
    assert "search.sync" in done_kinds and any(k.startswith("reach.") for k in done_kinds)
    failed = await outbox.enqueue("test.gave_up", {})  # a row the worker gave up on, for an admin to retry
    await OutboxRow.update({OutboxRow.status: "failed"}).where(OutboxRow.id == failed)

    frozen_clock.advance(dt.timedelta(days=29))
    await housekeeping(worker.settings)
    assert await OutboxRow.count().where(OutboxRow.status == "done") > 0
    frozen_clock.advance(dt.timedelta(days=2))
    await housekeeping(worker.settings)
    assert await OutboxRow.count().where(OutboxRow.status == "done") == 0
    assert [r["id"] for r in await OutboxRow.select(OutboxRow.id).where(OutboxRow.status == "failed")] == [failed]
