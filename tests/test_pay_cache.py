"""Pay insights are cached per process (`listings.pay_cache`): a repeated request costs only the change-stamp
statement, the same filter in another order or case shares the entry, and any listing change shows at once."""

from __future__ import annotations

from listings import service
from tests.factories import make_employer, make_listing
from tests.test_query_budget import writes


async def five_cpc_listings():
    employer = await make_employer("Acme Health", verified=True)
    listings = [await make_listing(employer, f"CPC coder {i}", required=["CPC"], pay=(40000 + i * 1000, 50000, "year"),
                                   zip_code="75201", city="Dallas", state="TX") for i in range(5)]
    return employer, listings


async def test_a_repeated_pay_request_costs_one_statement_and_a_normalised_query_shares_it(browser, statements):
    await five_cpc_listings()
    first = await browser.get("/api/v1/pay?credential=CPC&state=TX&state=CA")
    assert first.json()["count"] == 5
    statements.clear()
    again = await browser.get("/api/v1/pay?credential=cpc&state=ca&state=tx")  # same filter, other order and case
    assert again.json() == first.json()
    pay_reads = [s for s in statements if "listings" in s.lower()]
    assert len(pay_reads) == 1 and "MAX(updated_at)" in pay_reads[0], statements  # the change stamp only
    assert writes(statements) == []
    for path in ("/pay", "/pay/CPC?by=state"):
        assert (await browser.get(path)).status_code == 200
        statements.clear()
        assert (await browser.get(path)).status_code == 200
        assert len([s for s in statements if "listings" in s.lower()]) == 1, (path, statements)


async def test_cached_pay_moves_with_every_listing_change(browser):
    employer, listings = await five_cpc_listings()
    assert (await browser.get("/api/v1/pay?credential=CPC")).json()["p50"] == 46000
    assert "5 listings" in (await browser.get("/pay/CPC")).text
    await service.set_hidden(listings[0].id, True, actor_kind="admin", reason="reported")
    hidden = (await browser.get("/api/v1/pay?credential=CPC")).json()
    assert hidden["count"] == 4 and hidden["p50"] is None
    assert "4 listings" in (await browser.get("/pay/CPC")).text
    await make_listing(employer, "CPC coder 6", required=["CPC"], pay=(90000, 90000, "year"))
    added = (await browser.get("/api/v1/pay?credential=CPC")).json()
    assert added["count"] == 5 and added["max"] == 90000
