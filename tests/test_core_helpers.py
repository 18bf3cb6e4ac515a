"""The kernel's shared helpers: ZIP codes and distances, safe Markdown, slugs, money and the Jinja filters."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from jinja2 import Environment

from careers.core import clock, filters, geo, text

# ---- geo --------------------------------------------------------------------------------------------------


def test_a_zip_code_resolves_to_its_city_state_and_coordinates_with_or_without_plus_four():
    place = geo.lookup_zip(" 60614-1234 ")
    assert (place.zip, place.city, place.state) == ("60614", "Chicago", "IL")
    assert abs(place.lat - 41.92) < 0.05 and abs(place.lng + 87.65) < 0.05
    assert geo.zip_point("60614") == place.point


def test_malformed_and_unknown_zip_codes_resolve_to_nothing_with_a_message_that_says_which():
    for value in ("", None, "6061", "606145", "abcde", "99999"):
        assert geo.lookup_zip(value) is None and geo.zip_point(value) is None
    assert geo.zip_problem("6061", "60601") == "Enter a 5-digit US ZIP code, such as 60601."
    assert geo.zip_problem("99999", "60601") == "We do not know the ZIP code 99999. Check it and try again."
    assert geo.zip_problem("60614", "60601") == ""


def test_distances_are_great_circle_miles():
    houston = geo.zip_point("77002")
    assert geo.miles_between(houston, houston) == 0
    assert 19 < geo.miles_between(houston, geo.zip_point("77578")) < 21  # Manvel, TX
    assert 705 < geo.miles_between(geo.zip_point("10001"), geo.zip_point("60614")) < 720  # New York – Chicago


def test_demo_zip_pools_hold_only_standard_codes_of_the_asked_states():
    pools = geo.standard_zips(["RI", "DE"])
    assert set(pools) == {"RI", "DE"} and pools["RI"] == sorted(pools["RI"])
    assert all(geo.lookup_zip(code).state == "RI" for code in pools["RI"][:20])


# ---- Markdown -----------------------------------------------------------------------------------------


def test_markdown_keeps_formatting_and_links_get_nofollow_noopener_noreferrer():
    html = text.render_markdown("We code **E/M** and *CPT*.\n\n- one\n- two\n\n[our site](https://example.org/jobs)")
    assert "<strong>E/M</strong>" in html and "<em>CPT</em>" in html and "<li>one</li>" in html
    assert '<a href="https://example.org/jobs" rel="nofollow noopener noreferrer">our site</a>' in html


def test_scripts_raw_html_images_and_javascript_links_never_survive():
    hostile = ('<script>alert(1)</script>\n\n<img src=x onerror=alert(2)>\n\n[click](javascript:alert(3))\n\n'
               '<a href="javascript:alert(4)" onclick="x()">raw</a>\n\n![pixel](https://tracker.example/p.gif)')
    html = text.render_markdown(hostile)
    assert "<script" not in html and "alert(1)" not in html  # a script goes with its text
    assert "<img" not in html and "onerror" not in html and "onclick" not in html
    assert "javascript" not in html.lower().replace("[click](javascript:alert(3))", "")  # a bad Markdown link is text
    assert '<a rel="nofollow noopener noreferrer">raw</a>' in html  # the pasted link keeps its words, not its address
    # An image is never loaded: it is at most a plain link to its address.
    assert '<a href="https://tracker.example/p.gif" rel="nofollow noopener noreferrer">' in html


def test_headings_rank_below_the_pages_own():
    assert text.render_markdown("# Title\n\n## Part") == "<h2>Title</h2>\n<h2>Part</h2>"
    assert text.render_markdown("# Title", top_heading=3) == "<h3>Title</h3>"


def test_sanitising_stored_html_drops_scripts_with_their_text_and_event_attributes():
    html = text.sanitise_html('<p onclick="x()">hi<script>alert(1)</script></p><a href="javascript:x">a</a>')
    assert html == '<p>hi</p><a rel="nofollow noopener noreferrer">a</a>'


# ---- slugs and money ----------------------------------------------------------------------------------


def test_slugs_are_lowercase_ascii_words():
    assert text.slugify("Müller Coding Co.") == "muller-coding-co"
    assert text.slugify("Sr. Coder – CPC (remote)") == "sr-coder-cpc-remote"
    assert text.slugify("Remote inpatient coding specialist", max_length=16) == "remote-inpatient"
    assert text.slugify("  !!  ", fallback="employer") == "employer"


def test_money_shows_cents_only_when_asked_or_present():
    assert text.money(Decimal("52000")) == "$52,000"
    assert text.money(Decimal("23.5")) == "$23.50"
    assert text.money(24, cents=True) == "$24.00"
    assert text.money(Decimal("1293.5"), cents=True) == "$1,293.50"
    assert text.money(-5, cents=True) == "-$5.00"
    assert text.money(12, cents=True, currency="eur") == "EUR 12.00"
    assert text.money(None) == ""


# ---- Jinja filters ------------------------------------------------------------------------------------

MOMENT = dt.datetime(2026, 11, 29, 14, 5, 7, tzinfo=dt.timezone.utc)


def render(source: str, **context) -> str:
    env = Environment(autoescape=True)
    filters.register(env)
    return env.from_string(source).render(**context)


def test_date_and_datetime_filters_write_one_style_in_utc():
    assert render("{{ d | date }}", d=MOMENT) == "Nov 29, 2026"
    assert render("{{ d | date }}", d=dt.date(2027, 1, 3)) == "Jan 3, 2027"
    assert render("{{ d | date }}", d="2026-11-29T23:30:00Z") == "Nov 29, 2026"  # a search hit's ISO text
    assert render("{{ d | datetime }}", d=MOMENT) == "Nov 29, 2026 at 14:05 UTC"
    assert render("{{ d | datetime(seconds=True) }}", d=MOMENT) == "Nov 29, 2026 at 14:05:07 UTC"
    chicago = dt.timezone(dt.timedelta(hours=-6))
    evening = dt.datetime(2026, 11, 29, 20, 0, tzinfo=chicago)
    assert render("{{ d | datetime }}", d=evening) == "Nov 30, 2026 at 02:00 UTC"
    assert render("{{ d | date or '—' }}", d=None) == "—"


def test_relative_date_counts_calendar_days_from_the_kernel_clock():
    with clock.frozen_at(MOMENT):
        assert render("{{ d | relative_date }}", d=MOMENT.replace(hour=0)) == "today"
        assert render("{{ d | relative_date }}", d=MOMENT - dt.timedelta(days=1)) == "yesterday"
        assert render("{{ d | relative_date }}", d=(MOMENT - dt.timedelta(days=3)).date()) == "3 days ago"
        assert render("{{ d | relative_date }}", d=MOMENT + dt.timedelta(days=1)) == "tomorrow"
        assert render("{{ d | relative_date }}", d=MOMENT + dt.timedelta(days=5)) == "in 5 days"


def test_money_and_pluralize_filters():
    assert render("{{ 199 | money(cents=True) }}") == "$199.00"
    assert render("{{ n }} applicant{{ n | pluralize }}", n=1) == "1 applicant"
    assert render("{{ n }} applicant{{ n | pluralize }}", n=0) == "0 applicants"
    assert render("{{ n }} {{ n | pluralize('entry', 'entries') }}", n=2) == "2 entries"
    assert render("{{ n | pluralize('job') }}", n=None) == "jobs"
