"""Employers: registration, the organisation page (about, headquarters, logo), trust signals, the public
page, and the team (invitations, removal)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import io
import re
import secrets
from urllib.parse import urlparse

import anyio
import tldextract
from PIL import Image, ImageOps, UnidentifiedImageError

from careers.accounts import service as accounts
from careers.accounts.tables import User
from careers.core import clock, db, geo, mail, text
from careers.core.config import Settings
from careers.core.errors import Invalid, NotFound
from careers.core.forms import has_control_characters
from careers.core.storage import Storage, new_key
from employers.response_record import ResponseRecord, record_of
from employers.tables import Employer, EmployerInvite, EmployerMember
from listings import service as listings_service
from listings.tables import Listing
from listings.vocabulary import ListingState

FREE_MAIL_DOMAINS = frozenset(
    {"gmail.com", "googlemail.com", "yahoo.com", "ymail.com", "hotmail.com", "outlook.com", "live.com", "msn.com",
     "aol.com", "icloud.com", "me.com", "mac.com", "proton.me", "protonmail.com", "gmx.com", "mail.com",
     "zoho.com", "yandex.com", "comcast.net", "att.net", "verizon.net", "sbcglobal.net"}
)


class EmployerError(accounts.AccountError):
    pass


def organisation_errors(org_name: str, website: str) -> dict[str, str]:
    """{field: message} for the organisation's name and website on the registration form (empty when fine)."""
    errors: dict[str, str] = {}
    org_name = (org_name or "").strip()
    if not org_name:
        errors["org_name"] = "Enter your organisation's name."
    elif has_control_characters(org_name):
        errors["org_name"] = accounts.ONE_LINE
    try:
        normalise_website(website)
    except EmployerError as exc:
        errors["website"] = exc.message
    return errors


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


@functools.lru_cache(maxsize=1)
def _public_suffixes() -> tldextract.TLDExtract:
    # The Public Suffix List snapshot shipped inside tldextract: no fetch at run time, no cache written to disk.
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, include_psl_private_domains=True)


def registrable_domain(host: str) -> str:
    """The part of `host` one party registers (Public Suffix List): `victim.co.uk` for `www.victim.co.uk`, so
    `me@attacker.co.uk` shares nothing with it; a host with no public suffix (an address, `localhost`) is itself."""
    host = host.lower().strip().rstrip(".")
    extracted = _public_suffixes()(host)
    if extracted.suffix and extracted.domain:
        return f"{extracted.domain}.{extracted.suffix}"
    return host


def domain_matches(email: str, website: str) -> bool:
    email_domain = email.rsplit("@", 1)[-1].lower()
    host = urlparse(website).hostname or ""
    return registrable_domain(email_domain) == registrable_domain(host)


async def unique_slug(name: str) -> str:
    base = text.slugify(name, max_length=200, fallback="employer")
    slug, n = base, 1
    while await Employer.exists().where(Employer.slug == slug):
        n += 1
        slug = f"{base}-{n}"
    return slug


async def register_employer(
    email: str, password: str, display_name: str, org_name: str, website: str, settings: Settings
):
    """Create the employer account, its organisation and the owner membership in one transaction (an EmployerError
    names every wrong field at once)."""
    errors = await accounts.account_errors(email, password, display_name) | organisation_errors(org_name, website)
    if errors:
        raise EmployerError(fields=errors)
    org_name, website = org_name.strip(), normalise_website(website)
    for attempt in range(5):
        try:
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
        except Exception as exc:
            # Two organisations of one name at once on PostgreSQL pick the same free slug; the loser tries again.
            if attempt < 4 and db.is_unique_violation(exc) and "slug" in str(exc):
                continue
            raise
    raise AssertionError("unreachable")


async def employer_for_user(user_id: int) -> Employer | None:
    member = await EmployerMember.objects().where(EmployerMember.user == user_id).first()
    if member is None:
        return None
    return await Employer.objects().where(Employer.id == member.employer).first()


# ---- the organisation page: about, headquarters, logo ---------------------------------------

NAME_MAX = 200
ABOUT_MAX = 20_000
LOGO_MAX_BYTES = 2 * 1024 * 1024
LOGO_MAX_SIDE = 512  # logos are shown small; larger ones are scaled down
LOGO_MAX_DIMENSION = 4000  # px per side, checked from the header before decoding (16 MP at most, not 40)
LOGO_FORMATS = ("PNG", "JPEG", "WEBP")
LOGO_CONTENT_TYPES = {".png": "image/png", ".webp": "image/webp"}
INVITE_TTL = dt.timedelta(days=7)



class OrganisationInvalid(Invalid):
    """The organisation form has field errors: `errors` maps field name -> message."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(fields=errors)
        self.errors = errors


class NotAllowed(NotFound):
    """The person may not touch this object; pages answer 404."""



def render_about(markdown_source: str) -> str:
    """Markdown -> HTML safe to embed (the kernel's one policy): no raw HTML, images or javascript: URLs."""
    return text.render_markdown(markdown_source)


def resolve_zip(value: str) -> tuple[str, str, str]:
    """A US ZIP code -> (zip5, city, state); EmployerError(field='hq_zip') if it is malformed or unknown."""
    place = geo.lookup_zip(value)
    if place is None:
        raise EmployerError(geo.zip_problem(value, "60601"), "hq_zip")
    return place.zip, place.city, place.state


def process_logo(data: bytes) -> tuple[bytes, str]:
    """Check an uploaded logo by its content and re-encode it; returns (image bytes, key suffix).

    Only real PNG, JPEG and WebP images of at most 2 MB pass. The result is a fresh image
    (PNG stays PNG, JPEG and WebP become WebP) at most 512 px a side, with no metadata
    (EXIF, text chunks, ICC profiles) and no trailing bytes of the upload.
    """
    if len(data) > LOGO_MAX_BYTES:
        raise EmployerError("The logo is larger than 2 MB. Upload a smaller image.", "logo")
    bad = EmployerError("The logo must be a PNG, JPEG or WebP image.", "logo")
    try:
        with Image.open(io.BytesIO(data), formats=LOGO_FORMATS) as probe:
            source_format = probe.format
            width, height = probe.size
            if width > LOGO_MAX_DIMENSION or height > LOGO_MAX_DIMENSION:
                raise EmployerError(f"The logo is {width:,}×{height:,} pixels; use at most "
                                    f"{LOGO_MAX_DIMENSION:,}×{LOGO_MAX_DIMENSION:,}.", "logo")
            probe.verify()
        with Image.open(io.BytesIO(data), formats=LOGO_FORMATS) as image:
            image.seek(0)  # animated images: the first frame
            image = ImageOps.exif_transpose(image)
            alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
            image = image.convert("RGBA" if alpha else "RGB")
            image.thumbnail((LOGO_MAX_SIDE, LOGO_MAX_SIDE))
            # A new image from raw pixels carries none of the upload's metadata.
            clean = Image.frombytes(image.mode, image.size, image.tobytes())
    except EmployerError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise bad from None
    out = io.BytesIO()
    if source_format == "PNG":
        clean.save(out, format="PNG", optimize=True)
        return out.getvalue(), ".png"
    clean.save(out, format="WEBP", quality=90, method=4)
    return out.getvalue(), ".webp"


def logo_content_type(key: str | None) -> str | None:
    if not key:
        return None
    return LOGO_CONTENT_TYPES.get(key[key.rfind("."):] if "." in key else "")


def organisation_form(employer: Employer) -> dict[str, str]:
    """The organisation's current values as the form shows them."""
    return {"name": employer.name, "website": employer.website, "about": employer.about_md, "hq_zip": employer.hq_zip}


async def update_organisation(
    employer_id: int,
    *,
    name: str,
    website: str,
    about: str,
    hq_zip: str,
    logo: bytes | None,
    remove_logo: bool,
    storage: Storage,
) -> Employer:
    """Validate and save the organisation form; OrganisationInvalid lists every field error at once.

    The slug stays as it is when the name changes, so links to the public page keep working.
    """
    errors: dict[str, str] = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = "Enter your organisation's name."
    elif len(name) > NAME_MAX:
        errors["name"] = f"Use at most {NAME_MAX} characters."
    elif has_control_characters(name):
        errors["name"] = accounts.ONE_LINE
    try:
        website = normalise_website(website)
    except EmployerError as exc:
        errors["website"] = exc.message
    about = (about or "").strip()
    if len(about) > ABOUT_MAX:
        errors["about"] = f"Use at most {ABOUT_MAX:,} characters."
    zip5 = city = state = ""
    if (hq_zip or "").strip():
        try:
            zip5, city, state = resolve_zip(hq_zip)
        except EmployerError as exc:
            errors["hq_zip"] = exc.message
    logo_image: tuple[bytes, str] | None = None
    if logo:
        try:
            logo_image = await anyio.to_thread.run_sync(process_logo, logo)
        except EmployerError as exc:
            errors["logo"] = exc.message
    if errors:
        raise OrganisationInvalid(errors)

    employer = await Employer.objects().get(Employer.id == employer_id)
    old_key = employer.logo_path
    changes: dict = {
        Employer.name: name,
        Employer.website: website,
        Employer.about_md: about,
        Employer.hq_zip: zip5,
        Employer.hq_city: city,
        Employer.hq_state: state,
        Employer.updated_at: clock.now(),
    }
    new_logo_key = None
    if logo_image is not None:
        new_logo_key = new_key("logos", logo_image[1])
        await storage.put(new_logo_key, logo_image[0])
        changes[Employer.logo_path] = new_logo_key
    elif remove_logo:
        changes[Employer.logo_path] = None
    try:
        async with db.transaction():
            await Employer.update(changes).where(Employer.id == employer_id)
            await refresh_trust_flags(employer_id)
            if name != employer.name:
                await resync_listings_in_search(employer_id)
    except BaseException:
        if new_logo_key:
            await storage.delete(new_logo_key)
        raise
    if old_key and (new_logo_key or remove_logo):
        await storage.delete(old_key)
    return await Employer.objects().get(Employer.id == employer_id)


async def logo_for(slug: str, storage: Storage) -> tuple[bytes, str, str] | None:
    """(bytes, content type, key) of a visible employer's logo, or None."""
    employer = await public_employer(slug)
    content_type = logo_content_type(employer.logo_path if employer else None)
    if employer is None or content_type is None:
        return None
    try:
        return await storage.read(employer.logo_path), content_type, employer.logo_path
    except FileNotFoundError:
        return None


# ---- trust signals ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class TrustSignals:
    """What the board can say about an organisation; pages show these, never recompute them."""

    verified: bool  # set by an admin
    domain_verified: bool  # a member with a confirmed email at the website's registrable domain
    freemail: bool  # a member uses a free-mail address, or the website is a free-mail domain: for moderation
    website_domain: str


def email_domain(email: str) -> str:
    return email.rsplit("@", 1)[-1].lower()


def is_free_mail(domain: str) -> bool:
    domain = domain.lower()
    return domain in FREE_MAIL_DOMAINS or registrable_domain(domain) in FREE_MAIL_DOMAINS


def compute_trust(website: str, verified: bool, members: list[tuple[str, bool]]) -> TrustSignals:
    """Trust signals from the website and the members' (email, confirmed) pairs."""
    site = registrable_domain(urlparse(website).hostname or "") if website else ""
    site_ok = bool(site) and "." in site and not is_free_mail(site)
    domain_verified = site_ok and any(confirmed and domain_matches(email, website) for email, confirmed in members)
    freemail = (bool(site) and is_free_mail(site)) or any(is_free_mail(email_domain(email)) for email, _ in members)
    return TrustSignals(verified=verified, domain_verified=domain_verified, freemail=freemail, website_domain=site)


async def _member_emails(employer_id: int) -> list[tuple[str, bool]]:
    rows = await EmployerMember.select(
        EmployerMember.user.email.as_alias("email"),
        EmployerMember.user.email_confirmed_at.as_alias("confirmed_at"),
    ).where(EmployerMember.employer == employer_id).order_by(EmployerMember.id)
    return [(r["email"], r["confirmed_at"] is not None) for r in rows]


async def trust_signals(employer: Employer) -> TrustSignals:
    """The organisation's trust signals, computed now from its website and current members."""
    return compute_trust(employer.website, employer.verified, await _member_emails(employer.id))


async def refresh_trust_flags(employer_id: int) -> TrustSignals | None:
    """Store the computed domain_verified / freemail_flag columns (read by moderation, search, JSON-LD)."""
    employer = await Employer.objects().where(Employer.id == employer_id).first()
    if employer is None:
        return None
    signals = await trust_signals(employer)
    if (employer.domain_verified, employer.freemail_flag) != (signals.domain_verified, signals.freemail):
        await Employer.update(
            {Employer.domain_verified: signals.domain_verified, Employer.freemail_flag: signals.freemail}
        ).where(Employer.id == employer_id)
    return signals


async def refresh_all_trust_flags() -> int:
    """Recompute every organisation's stored flags (a member may have confirmed their email since); returns changes."""
    members = await EmployerMember.select(
        EmployerMember.employer.as_alias("employer_id"),
        EmployerMember.user.email.as_alias("email"),
        EmployerMember.user.email_confirmed_at.as_alias("confirmed_at"),
    )
    by_employer: dict[int, list[tuple[str, bool]]] = {}
    for row in members:
        by_employer.setdefault(row["employer_id"], []).append((row["email"], row["confirmed_at"] is not None))
    changed = 0
    employers = await Employer.select(
        Employer.id, Employer.website, Employer.verified, Employer.domain_verified, Employer.freemail_flag
    )
    for row in employers:
        signals = compute_trust(row["website"], row["verified"], by_employer.get(row["id"], []))
        if (row["domain_verified"], row["freemail_flag"]) != (signals.domain_verified, signals.freemail):
            await Employer.update(
                {Employer.domain_verified: signals.domain_verified, Employer.freemail_flag: signals.freemail}
            ).where(Employer.id == row["id"])
            changed += 1
    return changed


# ---- the public page -------------------------------------------------------------------------


async def public_employer(slug: str) -> Employer | None:
    """The organisation behind /employers/{slug}, or None if unknown or suspended."""
    return await Employer.objects().where((Employer.slug == slug) & (Employer.suspended.eq(False))).first()


def listing_path(listing_id: int, slug: str | None) -> str:
    return f"/jobs/{listing_id}/{slug or 'job'}"


async def resync_listings_in_search(employer_id: int) -> None:
    """Queue a search sync for each published listing: documents carry the employer's name, slug and verified flag.

    Call inside the transaction that changed the employer.
    """
    from careers.core import outbox

    rows = await Listing.select(Listing.id).where(
        (Listing.employer == employer_id) & (Listing.status == ListingState.PUBLISHED.value)
    )
    for row in rows:
        await outbox.enqueue(outbox.SEARCH_SYNC, {"listing_id": row["id"]})


async def published_listings(employer_id: int) -> list[dict]:
    """The organisation's published, unhidden listings, newest first, with their page path and place."""
    rows = await Listing.select(
        Listing.id, Listing.title, Listing.slug, Listing.city, Listing.state, Listing.work_mode, Listing.published_at
    ).where(
        (Listing.employer == employer_id) & listings_service.public_where()
    ).order_by(Listing.published_at, ascending=False)
    for row in rows:
        row["path"] = listing_path(row["id"], row["slug"])
        place = ", ".join(p for p in (row["city"], row["state"]) if p)
        row["place"] = "Remote" + (f" (based in {place})" if place else "") if row["work_mode"] == "remote" else place
    return rows


@dataclasses.dataclass
class PublicPage:
    employer: Employer
    about_html: str
    trust: TrustSignals
    headquarters: str
    has_logo: bool
    listings: list[dict]
    response: ResponseRecord  # stored on the row by the worker (employers/response.py)


async def public_page(slug: str) -> PublicPage | None:
    """Everything /employers/{slug} shows, or None (unknown or suspended: the page answers 404)."""
    employer = await public_employer(slug)
    if employer is None:
        return None
    return PublicPage(
        employer=employer,
        about_html=render_about(employer.about_md),
        trust=await trust_signals(employer),
        headquarters=", ".join(p for p in (employer.hq_city, employer.hq_state) if p),
        has_logo=logo_content_type(employer.logo_path) is not None,
        listings=await published_listings(employer.id),
        response=record_of(employer),
    )


# ---- team: members, invitations, removal -----------------------------------------------------


async def membership(user_id: int) -> EmployerMember | None:
    return await EmployerMember.objects().where(EmployerMember.user == user_id).first()


async def team_members(employer_id: int) -> list[dict]:
    rows = await EmployerMember.select(
        EmployerMember.id,
        EmployerMember.role,
        EmployerMember.created_at,
        EmployerMember.user.id.as_alias("user_id"),
        EmployerMember.user.email.as_alias("email"),
        EmployerMember.user.display_name.as_alias("display_name"),
        EmployerMember.user.email_confirmed_at.as_alias("confirmed_at"),
    ).where(EmployerMember.employer == employer_id).order_by(EmployerMember.id)
    return rows


async def pending_invites(employer_id: int) -> list[dict]:
    now = clock.now()
    return await EmployerInvite.select(
        EmployerInvite.id, EmployerInvite.email, EmployerInvite.created_at, EmployerInvite.expires_at
    ).where(
        (EmployerInvite.employer == employer_id)
        & EmployerInvite.used_at.is_null()
        & EmployerInvite.revoked_at.is_null()
        & (EmployerInvite.expires_at > now)
    ).order_by(EmployerInvite.id)


async def invite_colleague(employer_id: int, inviter_id: int, email: str, settings: Settings) -> EmployerInvite:
    """Mail a one-use, 7-day invitation link to `email`; an earlier pending invitation to it is revoked.
    Only an inviter whose email address is confirmed may invite."""
    email = accounts.normalise_email(email)
    already = await EmployerMember.exists().where(
        (EmployerMember.employer == employer_id) & (EmployerMember.user.email == email)
    )
    if already:
        raise EmployerError(f"{email} is already a member of your organisation.", "email")
    employer = await Employer.objects().get(Employer.id == employer_id)
    inviter = await User.objects().get(User.id == inviter_id)
    if inviter.email_confirmed_at is None:
        # Otherwise an unconfirmed throwaway account mails anyone a text of its choosing under our name.
        raise EmployerError("Confirm your email address before inviting colleagues (we sent you a link).", "email")
    now = clock.now()
    async with db.transaction():
        await EmployerInvite.update({EmployerInvite.revoked_at: now}).where(
            (EmployerInvite.employer == employer_id)
            & (EmployerInvite.email == email)
            & EmployerInvite.used_at.is_null()
            & EmployerInvite.revoked_at.is_null()
        )
        invite = EmployerInvite(
            employer=employer_id,
            email=email,
            # The hash of a token nobody holds: the link's own token is made when the mail is sent.
            token_hash=accounts.token_hash(secrets.token_urlsafe(32)),
            invited_by=inviter_id,
            expires_at=now + INVITE_TTL,
        )
        await invite.save()
        who = inviter.display_name or inviter.email
        await mail.queue_link_mail("employer_invite", email, f"{who} invited you to join {employer.name} on CareerCenter",
                                   invite.id)
    return invite


async def _compose_invite(payload: dict, settings: Settings) -> dict | None:
    """The invitation mail, with a fresh token for a still pending invitation (None once it is not)."""
    token = secrets.token_urlsafe(32)
    rows = await EmployerInvite.update({EmployerInvite.token_hash: accounts.token_hash(token)}).where(
        (EmployerInvite.id == payload["id"])
        & EmployerInvite.used_at.is_null()
        & EmployerInvite.revoked_at.is_null()
        & (EmployerInvite.expires_at > clock.now())
    ).returning(EmployerInvite.employer, EmployerInvite.invited_by, EmployerInvite.email)
    if not rows:
        return None
    employer = await Employer.objects().get(Employer.id == rows[0]["employer"])
    inviter = await User.objects().where(User.id == rows[0]["invited_by"]).first()
    who = f"{inviter.display_name or inviter.email} ({inviter.email})" if inviter else "A colleague"
    link = f"{settings.base_url}/employer/invites/accept?token={token}"
    return {"to": rows[0]["email"], "subject": payload["subject"],
            "text": f"{who} invited you to join {employer.name} on CareerCenter, the job board for "
                    f"medical coders, to manage its job listings and applicants.\n\n"
                    f"Accept the invitation here (valid for 7 days, once):\n{link}\n\n"
                    "If you do not know this organisation, ignore this mail."}


def handlers() -> dict:
    """The invitation mail's outbox handler: its link is made when it is sent."""
    return {mail.LINK_MAIL_PREFIX + "employer_invite": mail.link_mail_handler(_compose_invite)}


async def revoke_invite(employer_id: int, invite_id: int) -> None:
    """Withdraw a pending invitation of this organisation; NotAllowed if it is not one."""
    rows = await EmployerInvite.update({EmployerInvite.revoked_at: clock.now()}).where(
        (EmployerInvite.id == invite_id)
        & (EmployerInvite.employer == employer_id)
        & EmployerInvite.used_at.is_null()
        & EmployerInvite.revoked_at.is_null()
    ).returning(EmployerInvite.id)
    if not rows:
        raise NotAllowed()


INVALID_INVITE = "This invitation link is invalid, already used, withdrawn or expired. Ask your colleague for a new one."


@dataclasses.dataclass(frozen=True)
class InviteSituation:
    """What accepting this invitation means for the person holding the link.

    `action` is one of: join (signed in, no organisation, same email), create (no account yet:
    choose a name and password), login (an employer account without organisation exists for the
    email), or refuse (with `message`), already (already in this organisation).
    """

    action: str
    email: str
    employer_name: str
    message: str = ""


async def _valid_invite(token: str) -> EmployerInvite | None:
    if not token or len(token) > 200:
        return None
    invite = await EmployerInvite.objects().where(
        (EmployerInvite.token_hash == accounts.token_hash(token))
        & EmployerInvite.used_at.is_null()
        & EmployerInvite.revoked_at.is_null()
        & (EmployerInvite.expires_at > clock.now())
    ).first()
    if invite is None:
        return None
    employer = await Employer.objects().where(Employer.id == invite.employer).first()
    if employer is None or employer.suspended:
        return None
    return invite


async def invite_situation(token: str, current_user) -> InviteSituation:
    """Decide what the invitation page offers; EmployerError if the link is not usable."""
    invite = await _valid_invite(token)
    if invite is None:
        raise EmployerError(INVALID_INVITE)
    employer = await Employer.objects().get(Employer.id == invite.employer)
    base = {"email": invite.email, "employer_name": employer.name}
    if current_user is not None:
        if current_user.role != "employer":
            return InviteSituation("refuse", **base, message=(
                f"You are logged in with a {current_user.role} account. Invitations join employer accounts: "
                "log out, then open the link again."))
        member = await membership(current_user.id)
        if member is not None and member.employer == employer.id:
            return InviteSituation("already", **base, message=f"You are already a member of {employer.name}.")
        if member is not None:
            other = await Employer.objects().get(Employer.id == member.employer)
            return InviteSituation("refuse", **base, message=(
                f"You already belong to another organisation ({other.name}). An account belongs to one "
                f"organisation: to join {employer.name}, accept this invitation with another account."))
        if current_user.email != invite.email:
            return InviteSituation("refuse", **base, message=(
                f"This invitation was sent to {invite.email}, but you are logged in as {current_user.email}. "
                "Log out, then open the link again."))
        return InviteSituation("join", **base)
    user = await User.objects().where(User.email == invite.email).first()
    if user is None:
        return InviteSituation("create", **base)
    if user.role == "employer" and await membership(user.id) is None:
        return InviteSituation("login", **base)
    return InviteSituation("refuse", **base, message=(
        f"An account for {invite.email} already exists and cannot join {employer.name}: "
        + ("it belongs to another organisation." if user.role == "employer" else f"it is a {user.role} account.")))


async def _consume_and_join(token: str, user_id: int) -> Employer:
    rows = await EmployerInvite.update(
        {EmployerInvite.used_at: clock.now(), EmployerInvite.accepted_by: user_id}
    ).where(
        (EmployerInvite.token_hash == accounts.token_hash(token or ""))
        & EmployerInvite.used_at.is_null()
        & EmployerInvite.revoked_at.is_null()
        & (EmployerInvite.expires_at > clock.now())
    ).returning(EmployerInvite.employer)
    if not rows:
        raise EmployerError(INVALID_INVITE)
    employer_id = rows[0]["employer"]
    if await EmployerMember.exists().where(EmployerMember.user == user_id):
        raise EmployerError("This account already belongs to an organisation.")
    await EmployerMember.insert(EmployerMember(employer=employer_id, user=user_id, role="member"))
    await refresh_trust_flags(employer_id)
    return await Employer.objects().get(Employer.id == employer_id)


async def accept_invite(token: str, user_id: int) -> Employer:
    """Join the invitation's organisation as a member with an existing employer account (one transaction)."""
    async with db.transaction():
        invite = await _valid_invite(token)
        user = await User.objects().where(User.id == user_id).first()
        if invite is None:
            raise EmployerError(INVALID_INVITE)
        if user is None or user.role != "employer" or user.email != invite.email:
            raise EmployerError("This invitation belongs to another email address.")
        return await _consume_and_join(token, user_id)


async def accept_invite_with_new_account(token: str, display_name: str, password: str) -> User:
    """Create the invited person's employer account (email confirmed by the invitation) and join."""
    async with db.transaction():
        invite = await _valid_invite(token)
        if invite is None:
            raise EmployerError(INVALID_INVITE)
        user = await accounts.create_user(invite.email, password, "employer", display_name, confirmed=True)
        await _consume_and_join(token, user.id)
    return user


async def remove_member(employer_id: int, actor_user_id: int, member_id: int) -> None:
    """An owner removes a member of their organisation: the membership row goes, so access ends at once.

    The removed person's account and sessions stay; they become an employer without an
    organisation. NotAllowed (404) unless the actor is an owner of this organisation and the
    member belongs to it; EmployerError for removing yourself or the last owner.
    """
    async with db.transaction():
        actor = await membership(actor_user_id)
        if actor is None or actor.employer != employer_id or actor.role != "owner":
            raise NotAllowed()
        target = await EmployerMember.objects().where(
            (EmployerMember.id == member_id) & (EmployerMember.employer == employer_id)
        ).first()
        if target is None:
            raise NotAllowed()
        if target.user == actor_user_id:
            raise EmployerError("You cannot remove yourself from your organisation.")
        if target.role == "owner":
            owners = await EmployerMember.count().where(
                (EmployerMember.employer == employer_id) & (EmployerMember.role == "owner")
            )
            if owners <= 1:
                raise EmployerError("An organisation keeps at least one owner.")
        await EmployerMember.delete().where(EmployerMember.id == member_id)
        await refresh_trust_flags(employer_id)
