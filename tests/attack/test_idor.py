"""Attack: insecure direct object references, swept over every route with an object id, for every role.

The victims are coder A and employer A (and a teammate of A, who must keep access). Every route
whose path carries an id is walked from the app's route table and called by everyone else:
anonymous, coder B, employer B, and the wrong role of the same side (coder A on employer routes,
employer A on coder routes; every non-admin on /admin). The answer must be 404, or for an
anonymous visitor of a dashboard a redirect to the login page; and nothing may change.
Public pages (published listings, employer pages, search landing pages, static files) are public
by design and are walked here with objects that are not public (a draft, a hidden profile).
"""

from __future__ import annotations

import re

from tests.attack.conftest import app_routes, changed_tables, database_fingerprint, fill

PUBLIC_BY_DESIGN = {"/employers/{slug:str}", "/employers/{slug:str}/logo", "/jobs/credential/{code:str}",
                    "/jobs/state/{st:str}", "/static/{file_path:path}", "/schema/{path:str}",
                    "/sitemaps/{name:str}", "/pay/{code:str}"}
DASHBOARDS = ("/employer", "/account", "/billing")


def victims(world, template: str) -> list[dict]:
    """The victim's objects to put in the path; listing routes are tried with a live listing and a draft."""
    base = {"application_id": world.application_a, "alert_id": world.alert_a, "order_id": world.order_a,
            "invite_id": world.invite_a, "member_id": world.member_a, "employer_id": world.employer_a.employer_id,
            "plan_id": world.plan_id, "row_id": world.outbox_row, "handle": world.hidden_handle,
            "slug": "any-slug", "check_id": 1, "code": "CPC", "user_id": world.coder_a.user_id}
    if template.startswith(("/jobs/", "/api/")):
        return [base | {"listing_id": world.draft_a}]  # the public routes of a listing that is not public
    return [base | {"listing_id": world.listing_a}, base | {"listing_id": world.draft_a}]


def attackers(world, template: str) -> dict:
    found = {"anonymous": world.anonymous, "coder_b": world.coder_b.browser, "employer_b": world.employer_b.browser}
    if template.startswith(("/employer", "/billing", "/admin")):
        found["coder_a"] = world.coder_a.browser
    if template.startswith(("/account", "/admin", "/coders", "/applications")):
        found["employer_a_wrong_role"] = world.employer_a.browser if not template.startswith("/applications") else None
    if template.startswith("/admin"):
        found["employer_a"] = world.employer_a.browser
    return {k: v for k, v in found.items() if v is not None}


def acceptable(template: str, who: str, response) -> bool:
    if response.status_code == 404:
        return True
    if who == "anonymous" and template.startswith(DASHBOARDS) and response.status_code == 303:
        return re.match(r"^/login\?next=/", response.headers.get("location", "")) is not None
    return False


async def test_every_route_with_an_object_id_answers_404_to_everyone_not_allowed_and_changes_nothing(world, app):
    routes = [(m, p) for m, p in app_routes(app) if "{" in p and p not in PUBLIC_BY_DESIGN]
    assert len(routes) > 40, f"the route walk found only {len(routes)} routes with an id"
    before = await database_fingerprint()
    leaks = []
    tried = 0
    for method, template in routes:
        for values in victims(world, template):
            url = fill(template, values)
            for who, browser in attackers(world, template).items():
                data = {"_csrf_token": browser.cookies.get("cc_csrf"), "to_stage": "hired", "body": "mine now",
                        "reason": "mine", "plan": "credit", "cover_note": "x",
                        "application_id": str(world.application_a)}
                response = await browser.request(method, url, data=data if method != "GET" else None)
                tried += 1
                if not acceptable(template, who, response):
                    leaks.append(f"{method} {url} as {who}: {response.status_code} "
                                 f"{response.headers.get('location', '')}")
    assert leaks == [], "\n".join(leaks)
    assert tried > 200
    assert changed_tables(before, await database_fingerprint()) == []


async def test_the_owners_and_a_teammate_do_reach_those_objects(world):
    """The sweep above is only meaningful if the ids are real: their owners get the pages."""
    employer_pages = [f"/employer/listings/{world.listing_a}", f"/employer/listings/{world.listing_a}/applicants",
                      f"/employer/listings/{world.listing_a}/applicants.csv",
                      f"/employer/listings/{world.draft_a}/edit",
                      f"/employer/applications/{world.application_a}", f"/employer/billing/receipts/{world.order_a}",
                      f"/applications/{world.application_a}/resume"]
    for browser in (world.employer_a.browser, world.teammate_a.browser):
        for path in employer_pages:
            response = await browser.get(path)
            assert response.status_code == 200, f"{path}: {response.status_code}"
    for path in (f"/applications/{world.application_a}/resume", "/account/resume", "/account/alerts"):
        assert (await world.coder_a.browser.get(path)).status_code == 200, path
    assert (await world.admin.browser.get(f"/admin/employers/{world.employer_a.employer_id}")).status_code == 200
    assert (await world.anonymous.get(f"/coders/{world.handle_a}")).status_code == 200  # visible on purpose


async def test_ids_no_object_can_have_answer_404_on_every_route_never_500(world, app):
    """Zero, negative and out-of-range ids (beyond the database's integer) are simply not found (an admin's
    action on one goes back to its page with a message), never a server error, and nothing changes."""
    routes = [(m, p) for m, p in app_routes(app) if re.search(r"\{\w+:int\}", p)]
    before = await database_fingerprint()
    problems = []
    for method, template in routes:
        browser = (world.admin.browser if template.startswith("/admin") else world.employer_a.browser
                   if template.startswith(("/employer", "/billing")) else world.coder_a.browser)
        for bad in (0, -1, 2**31, 2**63, -(2**63) - 1, 10**30):
            url = re.sub(r"\{(\w+):int\}", str(bad), template)
            url = re.sub(r"\{(\w+)(?::\w+)?\}", "x", url)
            data = {"_csrf_token": browser.cookies.get("cc_csrf")} if method != "GET" else None
            response = await browser.request(method, url, data=data)
            admin_action = method == "POST" and template.startswith("/admin") and response.status_code == 303
            if response.status_code != 404 and not admin_action:
                problems.append(f"{method} {url}: {response.status_code}")
    assert problems == [], "\n".join(problems)
    assert changed_tables(before, await database_fingerprint()) == []
