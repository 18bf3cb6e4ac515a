"""Teammates: invitations by email, accepting them, removing members, and who may touch whose organisation."""

from __future__ import annotations

import datetime as dt

from careers.accounts.tables import User
from employers.tables import Employer, EmployerInvite, EmployerMember
from tests.conftest import link_in, register_coder, register_employer, sent_mail

PASSWORD = "correct horse battery"
ORG_FORM = {"name": "Acme Health", "website": "https://acmehealth.org", "about": "", "hq_zip": ""}


async def invite(browser, email: str) -> str:
    """Send an invitation as the signed-in employer; returns the accept link's path."""
    response = await browser.submit("/employer/team/invite", {"email": email})
    assert response.status_code == 303, response.text
    return link_in((await sent_mail(email))[-1]["text"], "/employer/invites/accept")


async def accept_as_new_account(browser, link: str, name: str = "Colin Colleague"):
    page = await browser.get(link)
    assert page.status_code == 200 and "Create my account and join" in page.text
    token = link.split("token=")[1]
    return await browser.submit("/employer/invites/accept", {"token": token, "display_name": name,
                                                             "password": PASSWORD, "password_confirm": PASSWORD})


async def member_id(email: str) -> int:
    rows = await EmployerMember.select(EmployerMember.id).where(EmployerMember.user.email == email)
    return rows[0]["id"]


async def test_invited_colleague_creates_an_account_and_sees_the_same_organisation(browser, make_browser):
    await register_employer(browser)
    await browser.submit("/employer/organisation", ORG_FORM | {"about": "Coding since 1999."})
    link = await invite(browser, "colin@acmehealth.org")
    mail = (await sent_mail("colin@acmehealth.org"))[-1]
    assert "Acme Health" in mail["subject"] and "valid for 7 days" in mail["text"]
    assert link.startswith("/employer/invites/accept?token=")
    invite_row = await EmployerInvite.objects().get(EmployerInvite.email == "colin@acmehealth.org")
    assert link.split("token=")[1] not in invite_row.token_hash  # only the sha256 is stored
    assert abs(invite_row.expires_at - invite_row.created_at - dt.timedelta(days=7)) < dt.timedelta(seconds=5)

    colleague = make_browser()
    joined = await accept_as_new_account(colleague, link)
    assert joined.status_code == 303 and joined.headers["location"] == "/employer/organisation"
    page = await colleague.get("/employer/organisation")
    assert page.status_code == 200
    assert 'value="Acme Health"' in page.text and "Coding since 1999." in page.text
    user = await User.objects().get(User.email == "colin@acmehealth.org")
    assert user.role == "employer" and user.email_confirmed_at is not None  # the invitation confirmed the address
    member = await EmployerMember.objects().get(EmployerMember.user == user.id)
    assert member.role == "member"
    team = await browser.get("/employer/team")
    assert "colin@acmehealth.org" in team.text and "Colin Colleague" in team.text

    # the link works once
    reused = await make_browser().get(link)
    assert reused.status_code == 400 and "invalid, already used" in reused.text


async def test_removed_member_loses_access_at_once_and_keeps_their_login(browser, make_browser):
    await register_employer(browser)
    colleague = make_browser()
    await accept_as_new_account(colleague, await invite(browser, "colin@acmehealth.org"))
    assert (await colleague.get("/employer/organisation")).status_code == 200

    removed = await browser.submit(f"/employer/team/members/{await member_id('colin@acmehealth.org')}/remove")
    assert removed.status_code == 303
    for path in ("/employer/organisation", "/employer/team"):
        page = await colleague.get(path)
        assert page.status_code == 404 and "You belong to no organisation" in page.text
    edit = await colleague.submit("/employer/organisation", ORG_FORM | {"name": "Hijacked"})
    assert edit.status_code == 404
    assert (await Employer.objects().get(Employer.slug == "acme-health")).name == "Acme Health"
    assert (await colleague.get("/account")).status_code == 200  # still signed in, as an employer without organisation

    # invited again, the existing account logs in with its password and rejoins
    link = await invite(browser, "colin@acmehealth.org")
    returning = make_browser()
    page = await returning.get(link)
    assert "Log in and join" in page.text
    token = link.split("token=")[1]
    wrong = await returning.submit("/employer/invites/accept", {"token": token, "password": "not my password"})
    assert wrong.status_code == 400 and "Email or password is wrong." in wrong.text
    ok = await returning.submit("/employer/invites/accept", {"token": token, "password": PASSWORD})
    assert ok.status_code == 303
    assert (await returning.get("/employer/organisation")).status_code == 200


async def test_signed_in_employer_without_organisation_joins_with_one_click(browser, make_browser):
    await register_employer(browser)
    colleague = make_browser()
    await accept_as_new_account(colleague, await invite(browser, "colin@acmehealth.org"))
    await browser.submit(f"/employer/team/members/{await member_id('colin@acmehealth.org')}/remove")
    link = await invite(browser, "colin@acmehealth.org")
    page = await colleague.get(link)
    assert page.status_code == 200 and "Join Acme Health</button>" in page.text
    joined = await colleague.submit("/employer/invites/accept", {"token": link.split("token=")[1]})
    assert joined.status_code == 303
    assert (await colleague.get("/employer/team")).status_code == 200


async def test_employer_of_another_organisation_is_refused_clearly(browser, make_browser):
    await register_employer(browser)
    other = make_browser()
    await register_employer(other, "boss@betaclinic.org", org="Beta Clinic", website="https://betaclinic.org")
    link = await invite(browser, "boss@betaclinic.org")
    page = await other.get(link)
    assert page.status_code == 409
    assert "You already belong to another organisation (Beta Clinic)" in page.text
    post = await other.submit("/employer/invites/accept", {"token": link.split("token=")[1]})
    assert post.status_code == 409
    anonymous = await make_browser().get(link)
    assert anonymous.status_code == 409 and "belongs to another organisation" in anonymous.text
    user = await User.objects().get(User.email == "boss@betaclinic.org")
    membership = await EmployerMember.objects().get(EmployerMember.user == user.id)
    assert membership.employer == (await Employer.objects().get(Employer.slug == "beta-clinic")).id


async def test_coder_account_and_wrong_address_cannot_accept(browser, make_browser):
    await register_employer(browser)
    coder = make_browser()
    await register_coder(coder, "casey@example.org")
    link = await invite(browser, "casey@example.org")
    page = await coder.get(link)
    assert page.status_code == 409 and "coder account" in page.text

    other_link = await invite(browser, "someone@acmehealth.org")
    colleague = make_browser()
    await accept_as_new_account(colleague, await invite(browser, "colin@acmehealth.org"))
    await browser.submit(f"/employer/team/members/{await member_id('colin@acmehealth.org')}/remove")
    wrong = await colleague.get(other_link)
    assert wrong.status_code == 409 and "was sent to someone@acmehealth.org" in wrong.text
    assert not await User.exists().where(User.email == "someone@acmehealth.org")


async def test_expired_or_withdrawn_invitation_does_not_work(browser, make_browser):
    await register_employer(browser)
    link = await invite(browser, "late@acmehealth.org")
    await EmployerInvite.update({EmployerInvite.expires_at: dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=1)}
                                ).where(EmployerInvite.email == "late@acmehealth.org")
    assert (await make_browser().get(link)).status_code == 400

    link = await invite(browser, "maybe@acmehealth.org")
    invite_id = (await EmployerInvite.objects().get(EmployerInvite.email == "maybe@acmehealth.org")).id
    assert (await browser.submit(f"/employer/team/invites/{invite_id}/revoke")).status_code == 303
    page = await make_browser().get(link)
    assert page.status_code == 400 and "withdrawn" in page.text


async def test_a_new_invitation_replaces_the_pending_one(browser, make_browser):
    await register_employer(browser)
    first = await invite(browser, "twice@acmehealth.org")
    second = await invite(browser, "twice@acmehealth.org")
    assert (await make_browser().get(first)).status_code == 400
    assert (await make_browser().get(second)).status_code == 200


async def test_inviting_a_current_member_or_a_bad_address_is_a_field_error(browser):
    await register_employer(browser)
    response = await browser.submit("/employer/team/invite", {"email": "hr@acmehealth.org"})
    assert response.status_code == 400 and "already a member" in response.text
    response = await browser.submit("/employer/team/invite", {"email": "not-an-address"})
    assert response.status_code == 400 and "That email address is not valid" in response.text
    assert 'value="not-an-address"' in response.text


async def test_invitations_are_rate_limited_per_account(frozen_clock, app, settings, browser):
    app.state.settings = settings.replace(invite_rate=(2, 3600))
    await register_employer(browser)
    await invite(browser, "a@acmehealth.org")
    await invite(browser, "b@acmehealth.org")
    third = await browser.submit("/employer/team/invite", {"email": "c@acmehealth.org"})
    assert third.status_code == 429 and "Too many attempts" in third.text
    assert await sent_mail("c@acmehealth.org") == []


async def test_member_of_another_employer_cannot_remove_your_members_or_withdraw_your_invitations(browser, make_browser):
    await register_employer(browser)
    colleague = make_browser()
    await accept_as_new_account(colleague, await invite(browser, "colin@acmehealth.org"))
    await invite(browser, "pending@acmehealth.org")
    invite_id = (await EmployerInvite.objects().get(EmployerInvite.email == "pending@acmehealth.org")).id
    other = make_browser()
    await register_employer(other, "boss@betaclinic.org", org="Beta Clinic", website="https://betaclinic.org")

    assert (await other.submit(f"/employer/team/members/{await member_id('colin@acmehealth.org')}/remove")).status_code == 404
    assert (await other.submit(f"/employer/team/members/{await member_id('hr@acmehealth.org')}/remove")).status_code == 404
    assert (await other.submit(f"/employer/team/invites/{invite_id}/revoke")).status_code == 404
    # editing "the organisation" only ever edits one's own
    await other.submit("/employer/organisation", ORG_FORM | {"name": "Beta Clinic Renamed",
                                                            "website": "https://betaclinic.org"})
    assert (await Employer.objects().get(Employer.slug == "acme-health")).name == "Acme Health"
    assert (await Employer.objects().get(Employer.slug == "beta-clinic")).name == "Beta Clinic Renamed"
    assert await EmployerMember.count() == 3
    assert (await make_browser().get(
        link_in((await sent_mail("pending@acmehealth.org"))[-1]["text"], "/employer/invites/accept"))).status_code == 200


async def test_only_owners_remove_and_never_themselves_or_the_last_owner(browser, make_browser):
    await register_employer(browser)
    colleague = make_browser()
    await accept_as_new_account(colleague, await invite(browser, "colin@acmehealth.org"))
    owner_member = await member_id("hr@acmehealth.org")

    team = await colleague.get("/employer/team")
    assert "Only owners can remove members." in team.text and "/remove" not in team.text
    assert (await colleague.submit(f"/employer/team/members/{owner_member}/remove")).status_code == 404

    self_removal = await browser.submit(f"/employer/team/members/{owner_member}/remove", follow=True)
    assert "You cannot remove yourself" in self_removal.text
    assert await EmployerMember.count() == 2
