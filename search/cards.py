"""A search result as its card shows it, in words: place, pay with its yearly equivalent, credential chips marked
required / any of / preferred relative to the search, and badges. The template only lays these out."""

from __future__ import annotations

import datetime as dt

from careers.core import clock
from listings.vocabulary import EMPLOYMENT_TYPES, WORK_MODES, pay_text

NEW_FOR_DAYS = 3  # a listing is "New" for this many days after publishing
REMOTE_STATES_SHOWN = 2


def short_money(amount: float) -> str:
    """ "$56k" for a yearly figure on a chip."""
    return f"${round(amount / 1000):,}k"


def annual_text(hit: dict) -> str:
    """ "~$56k–$58k/yr" beside hourly pay (the yearly figures search already stores); "" for yearly or no pay."""
    low, high = hit.get("pay_annual_min"), hit.get("pay_annual_max")
    if hit.get("pay_unit") != "hour" or not low:
        return ""
    if not high or round(high / 1000) == round(low / 1000):
        return f"~{short_money(low)}/yr"
    return f"~{short_money(low)}–{short_money(high)}/yr"


def place_short(hit: dict) -> str:
    """ "Remote — TX, FL +3", "Remote — any US state", "Chicago, IL · Hybrid"."""
    if hit.get("work_mode") == "remote":
        states = hit.get("remote_states") or []
        if not states:
            return "Remote — any US state"
        more = len(states) - REMOTE_STATES_SHOWN
        return "Remote — " + ", ".join(states[:REMOTE_STATES_SHOWN]) + (f" +{more}" if more > 0 else "")
    where = ", ".join(p for p in (hit.get("city"), hit.get("state")) if p)
    mode = WORK_MODES.get(hit.get("work_mode") or "", "")
    return f"{where} · {mode}" if where and mode else (where or mode)


def credential_chips(hit: dict, highlight: frozenset[str], names: dict[str, str]) -> list[dict]:
    """Every credential the listing names, required first; `held` marks the ones searched for or held."""
    chips = []
    for kind, field in (("required", "credentials_required"), ("any", "credentials_any_of"),
                        ("preferred", "credentials_preferred")):
        for code in hit.get(field) or []:
            chips.append({"code": code, "name": names.get(code, code), "kind": kind, "held": code.upper() in highlight})
    return chips


def is_new(hit: dict) -> bool:
    published = hit.get("published_at")
    if not published:
        return False
    when = dt.datetime.fromisoformat(published) if isinstance(published, str) else published
    if isinstance(when, dt.datetime) and when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return clock.now() - when < dt.timedelta(days=NEW_FOR_DAYS)


def badges(hit: dict) -> list[tuple[str, str]]:
    """(label, kind) pairs in the order a card shows them."""
    out = []
    if hit.get("featured"):
        out.append(("Featured", "featured"))
    if hit.get("entry_level_ok"):
        out.append(("Entry level / CPC-A", "entry"))
    if is_new(hit):
        out.append(("New", "new"))
    if (hit.get("employer") or {}).get("responds_quickly"):  # stored by the worker (employers/response.py)
        out.append(("Responds quickly", "success"))
    return out


def card(hit: dict, highlight: frozenset[str] = frozenset(), names: dict[str, str] | None = None) -> dict:
    """What a result shows, in words (the template only lays it out)."""
    employer = hit.get("employer") or {}
    return {
        **hit,
        "pay_text": pay_text(hit.get("pay_min"), hit.get("pay_max"), hit.get("pay_unit"), compact=True),
        "annual_text": annual_text(hit),
        "place_text": place_short(hit),
        "employment_label": EMPLOYMENT_TYPES.get(hit.get("employment_type") or "", ""),
        "distance_text": (f"{hit['distance_miles']:.1f} miles away" if hit.get("distance_miles") is not None else ""),
        "credential_chips": credential_chips(hit, highlight, names or {}),
        "badges": badges(hit),
        "logo_url": f"/employers/{employer['slug']}/logo" if employer.get("logo") and employer.get("slug") else None,
    }
