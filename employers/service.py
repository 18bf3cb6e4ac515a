"""Employers: registration of an organisation with its first member, membership lookups."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import urlparse

from careers.accounts import service as accounts
from careers.core import db
from careers.core.config import Settings
from employers.tables import Employer, EmployerMember

FREE_MAIL_DOMAINS = frozenset(
    {"gmail.com", "googlemail.com", "yahoo.com", "ymail.com", "hotmail.com", "outlook.com", "live.com", "msn.com",
     "aol.com", "icloud.com", "me.com", "mac.com", "proton.me", "protonmail.com", "gmx.com", "mail.com",
     "zoho.com", "yandex.com", "comcast.net", "att.net", "verizon.net", "sbcglobal.net"}
)


class EmployerError(accounts.AccountError):
    pass


def slugify(value: str) -> str:
    value = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
    value = re.sub(r"[^a-zA-Z0-9]+", "-", value).strip("-").lower()
    return value[:200] or "employer"


def normalise_website(url: str) -> str:
    """An http(s) URL with a host, or EmployerError(field='website')."""
    url = (url or "").strip()
    if not url:
        raise EmployerError("Enter your organisation's website.", "website")
    if not re.match(r"^https?://", url, re.I):
        url = "https://" + url
    parsed = urlparse(url)
    host = parsed.hostname or ""
    if "." not in host or len(url) > 500 or any(c.isspace() for c in url):
        raise EmployerError("Enter a website address such as https://example.org.", "website")
    return url


def registrable_domain(host: str) -> str:
    parts = host.lower().removeprefix("www.").split(".")
    return ".".join(parts[-2:]) if len(parts) >= 2 else host.lower()


def domain_matches(email: str, website: str) -> bool:
    email_domain = email.rsplit("@", 1)[-1].lower()
    host = urlparse(website).hostname or ""
    return registrable_domain(email_domain) == registrable_domain(host)


async def unique_slug(name: str) -> str:
    base = slugify(name)
    slug, n = base, 1
    while await Employer.exists().where(Employer.slug == slug):
        n += 1
        slug = f"{base}-{n}"
    return slug


async def register_employer(
    email: str, password: str, display_name: str, org_name: str, website: str, settings: Settings
):
    """Create the employer account, its organisation and the owner membership in one transaction."""
    errors: list[EmployerError] = []
    org_name = (org_name or "").strip()
    if not org_name:
        errors.append(EmployerError("Enter your organisation's name.", "org_name"))
    try:
        website = normalise_website(website)
    except EmployerError as exc:
        errors.append(exc)
    if errors:
        raise errors[0]
    async with db.transaction():
        user = await accounts.create_user(email, password, "employer", display_name)
        email_domain = user.email.rsplit("@", 1)[-1]
        employer = Employer(
            name=org_name[:200],
            slug=await unique_slug(org_name),
            website=website,
            domain_verified=False,
            freemail_flag=email_domain in FREE_MAIL_DOMAINS,
        )
        await employer.save()
        await EmployerMember.insert(EmployerMember(employer=employer.id, user=user.id, role="owner"))
        await accounts.send_confirmation(user, settings)
    return user, employer


async def employer_for_user(user_id: int) -> Employer | None:
    member = await EmployerMember.objects().where(EmployerMember.user == user_id).first()
    if member is None:
        return None
    return await Employer.objects().where(Employer.id == member.employer).first()
