"""A file over the request size limit (a 20 MB resume) comes back to the form that sent it with the limit in words,
not a bare "Request Entity Too Large"; the resume upload keeps the profile fields not yet saved."""

from __future__ import annotations

from careers.coders.profiles import RESUME_MAX_BYTES
from tests.conftest import register_coder, register_employer

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PROFILE = {"name": "Casey Coder", "zip": "60614", "credentials": ["CPC"], "year_CPC": "2019", "handle": "casey-up"}


async def test_a_20_mb_resume_returns_to_the_profile_with_the_limit(browser):
    await register_coder(browser, "big@example.org")
    sent = await browser.submit("/account/profile/resume",
                                files={"resume": ("big.pdf", b"%PDF-" + b"x" * (20 * 1024 * 1024), "application/pdf")})
    assert sent.status_code == 303 and sent.headers["location"] == "/account/profile#resume"
    page = await browser.get("/account/profile")
    assert "That file is too large to upload: resumes can be at most 5 MB. Choose a smaller file." in page.text
    assert "Request Entity Too Large" not in page.text


async def test_an_oversize_logo_returns_to_the_organisation_form(browser):
    await register_employer(browser)
    sent = await browser.submit("/employer/organisation", {"name": "Acme Health"},
                                files={"logo": ("logo.png", b"\x89PNG" + b"x" * (20 * 1024 * 1024), "image/png")})
    assert sent.status_code == 303 and sent.headers["location"] == "/employer/organisation"
    assert "logos can be at most 2 MB" in (await browser.get("/employer/organisation")).text


async def test_an_oversize_post_elsewhere_gets_a_page_that_says_what_to_do(browser):
    await register_coder(browser, "big2@example.org")
    sent = await browser.submit("/account/profile", {"summary_md": "x" * (11 * 1024 * 1024)})
    assert sent.status_code == 413
    assert "<h1>File too large</h1>" in sent.text and "choose a smaller file" in sent.text


async def test_uploading_a_resume_keeps_the_profile_fields_typed_but_not_saved(browser):
    await register_coder(browser, "keep@example.org")
    assert (await browser.submit("/account/profile", PROFILE)).status_code == 303
    unsaved = PROFILE | {"headline": "CPC, 6 years of E/M", "tools": "Epic, 3M 360"}
    page = await browser.submit("/account/profile/resume", unsaved,
                                files={"resume": ("my resume.pdf", PDF, "application/pdf")})
    assert page.status_code == 200
    assert "Your resume is uploaded." in page.text and "not saved yet" in page.text
    assert 'value="CPC, 6 years of E/M"' in page.text and 'value="Epic, 3M 360"' in page.text
    assert "my resume.pdf" in page.text
    saved = await browser.get("/account/profile")
    assert 'value="CPC, 6 years of E/M"' not in saved.text  # kept on the page, not saved behind the person's back

    too_big = await browser.submit("/account/profile/resume", unsaved,
                                   files={"resume": ("cv.pdf", PDF + b"x" * RESUME_MAX_BYTES, "application/pdf")})
    assert too_big.status_code == 400 and 'value="Epic, 3M 360"' in too_big.text
