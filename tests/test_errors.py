"""The error kernel (careers/core/errors.py): each DomainError kind answers the JSON API with its status and field
names, pages with the error page (or a flashed redirect where the route says `back_to`), with no controller
catching it."""

from __future__ import annotations

import httpx
import pytest
from litestar import Litestar, get, post
from litestar.datastructures import State
from litestar.params import FromPath
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.template.config import TemplateConfig

from careers.core import errors, filters, ratelimit
from careers.core.config import PROJECT_ROOT
from careers.core.web import FLASH_COOKIE, decode_flash

KINDS = {
    "not-found": (lambda: errors.NotFound("No such order."), 404),
    "conflict": (lambda: errors.Conflict("This order is already paid."), 409),
    "invalid": (lambda: errors.Invalid(fields={"price": "Enter a price.", "plan": "Choose a plan."}), 400),
    "forbidden": (lambda: errors.Forbidden("Only owners may do this."), 403),
    "rate-limited": (lambda: ratelimit.RateLimited("login", 42), 429),
}


def _raise(kind: str) -> None:
    raise KINDS[kind][0]()


@get("/api/v1/kinds/{kind:str}")
async def api_kind(kind: FromPath[str]) -> dict:
    _raise(kind)
    return {}


@get("/kinds/{kind:str}")
async def page_kind(kind: FromPath[str]) -> str:
    _raise(kind)
    return ""


@post("/things/{thing_id:int}/kinds/{kind:str}", opt=errors.back_to("/things/{thing_id}", "Thing #{thing_id}: "))
async def button(thing_id: FromPath[int], kind: FromPath[str]) -> str:
    _raise(kind)
    return ""


@pytest.fixture
async def client(settings):
    app = Litestar(
        route_handlers=[api_kind, page_kind, button],
        template_config=TemplateConfig(directory=PROJECT_ROOT / "templates", engine=JinjaTemplateEngine,
                                       engine_callback=lambda jinja: filters.register(jinja.engine)),  # as create_app
        exception_handlers=errors.EXCEPTION_HANDLERS,
        state=State({"settings": settings}),
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
        yield c


@pytest.mark.parametrize("kind", list(KINDS))
async def test_the_api_answers_each_kind_as_json_with_its_status(client, kind):
    response = await client.get(f"/api/v1/kinds/{kind}")
    body = response.json()
    assert response.status_code == KINDS[kind][1]
    assert set(body) == {"error", "detail", "fields"}
    assert body["error"] == errors.ERROR_TITLES[response.status_code]


async def test_the_api_names_every_invalid_field(client):
    body = (await client.get("/api/v1/kinds/invalid")).json()
    assert body["fields"] == {"price": "Enter a price.", "plan": "Choose a plan."}
    assert body["detail"] == "price: Enter a price. plan: Choose a plan."


async def test_the_api_says_when_to_retry_after_a_rate_limit(client):
    response = await client.get("/api/v1/kinds/rate-limited")
    assert response.headers["retry-after"] == "42"
    assert response.json()["detail"] == "Too many attempts; try again in 42 seconds."


@pytest.mark.parametrize("kind", list(KINDS))
async def test_pages_answer_each_kind_with_the_error_page(client, kind):
    response = await client.get(f"/kinds/{kind}")
    assert response.status_code == KINDS[kind][1]
    assert response.headers["content-type"].startswith("text/html")
    assert f"<h1>{errors.ERROR_TITLES[response.status_code]}</h1>" in response.text


async def test_a_page_not_found_looks_like_any_unknown_address_and_never_says_why(client):
    known = await client.get("/kinds/not-found")
    unknown = await client.get("/no/such/page")
    assert known.status_code == unknown.status_code == 404
    assert "We could not find that page." in known.text and "No such order." not in known.text


async def test_a_page_shows_the_message_and_the_retry_time_of_a_rate_limit(client):
    response = await client.get("/kinds/rate-limited")
    assert "Too many attempts; try again in 42 seconds." in response.text
    assert response.headers["retry-after"] == "42"


@pytest.mark.parametrize("kind", ["conflict", "invalid", "forbidden", "rate-limited"])
async def test_a_refused_button_flashes_the_message_back_on_its_page(client, settings, kind):
    response = await client.post(f"/things/7/kinds/{kind}")
    assert response.status_code == 303
    assert response.headers["location"] == "/things/7"
    cookie = response.cookies.get(FLASH_COOKIE).strip('"')  # httpx keeps the quotes a browser drops
    (category, message), = decode_flash(settings.secret_key, cookie)
    assert category == "error" and message.startswith("Thing #7: ") and message != "Thing #7: "


async def test_a_button_on_a_missing_object_still_answers_404(client):
    assert (await client.post("/things/7/kinds/not-found")).status_code == 404


def test_domain_errors_keep_their_names_and_pick_a_kind():
    from billing.service import BillingError, OrderNotFound
    from careers.accounts.service import AccountError
    from careers.coders.service import CoderError, NotAllowed
    from employers.service import OrganisationInvalid
    from listings.moderation.service import ListingMissing, ModerationError
    from listings.service import IllegalTransition, ListingError, ListingInvalid, ListingNotFound
    from search.service import SearchParamError

    for family in (BillingError, AccountError, CoderError, ModerationError, ListingError):
        assert issubclass(family, errors.DomainError)
    for not_found in (OrderNotFound, NotAllowed, ListingMissing, ListingNotFound):
        assert issubclass(not_found, errors.NotFound)
    assert issubclass(IllegalTransition, errors.Conflict)
    invalid = ListingInvalid({"title": "Enter a title.", "pay_min": "Enter pay."})
    assert isinstance(invalid, errors.Invalid) and (invalid.field, invalid.message) == ("title", "Enter a title.")
    assert OrganisationInvalid({"website": "Enter a website."}).fields == {"website": "Enter a website."}
    assert SearchParamError("page", "Enter a whole number.").fields == {"page": "Enter a whole number."}
    assert issubclass(ratelimit.RateLimited, errors.RateLimited)


async def test_the_search_api_answers_a_bad_parameter_exactly_as_before(browser):
    response = await browser.get("/api/v1/listings?per_page=lots")
    body = response.json()
    assert response.status_code == 400 and list(body["fields"]) == ["per_page"]
    assert body == {"error": "Bad request", "detail": f"per_page: {body['fields']['per_page']}",
                    "fields": body["fields"]}
