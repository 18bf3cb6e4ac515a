"""Registration shows every error at once, in the form's order, with the typed values kept."""

from __future__ import annotations

import html
import re

from careers.accounts.tables import User


def summary(page: str) -> list[str]:
    block = re.search(r'<div class="error-summary".*?</ul>', page, re.S).group(0)
    return [html.unescape(m) for m in re.findall(r'<a href="#f-[\w]+">(.*?)</a>', block)]


async def test_a_coder_registration_lists_every_problem_at_once(browser):
    page = await browser.submit("/register/coder", {"email": "not-an-address", "display_name": "Casey",
                                                    "password": "short", "password_confirm": "different"})
    assert page.status_code == 400
    messages = summary(page.text)
    assert len(messages) == 3, messages
    assert messages[0].startswith("That email address is not valid")  # the form asks the name first: it is fine
    assert messages[1:] == ["Use at least 10 characters.", "The two passwords differ."]
    assert 'value="not-an-address"' in page.text and 'value="Casey"' in page.text
    assert await User.count() == 0


async def test_an_employer_registration_lists_account_and_organisation_problems_together(browser):
    await browser.submit("/register/coder", {"email": "taken@acme.org", "display_name": "T",
                                             "password": "correct horse battery",
                                             "password_confirm": "correct horse battery"})
    page = await browser.submit("/register/employer", {
        "org_name": "", "website": "not a site", "display_name": "Hana", "email": "taken@acme.org",
        "password": "correct horse battery", "password_confirm": "correct horse battery"})
    assert page.status_code == 400
    messages = summary(page.text)
    assert messages == ["Enter your organisation's name.", "Enter a website address such as https://example.org.",
                        "An account with this email already exists. Log in or reset your password."]
