"""The API docs: /schema renders Swagger UI from our own /static under the same CSP as every other page, and the
schema names CareerCenter (the browser proof that it renders is tests/e2e/test_api_docs.py)."""

from __future__ import annotations

import re
from importlib.metadata import version

from careers.api_docs import SWAGGER_DIST
from careers.core.config import PROJECT_ROOT
from tests.conftest import skip_or_fail
from tests.search_helpers import fresh_index

# Today's policy for a page without Stripe.js, word for word: the docs must not have loosened it for anyone.
SITE_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
               "frame-src 'none'; frame-ancestors 'none'; form-action 'self'; base-uri 'self'; object-src 'none'")


async def test_pages_keep_the_site_policy_and_the_docs_pages_share_it(browser, settings):
    await fresh_index(settings)  # /jobs searches: the index must exist with our settings, whatever ran before
    for path in ("/", "/jobs", "/login", "/schema", "/schema/swagger"):
        response = await browser.get(path)
        assert response.status_code == 200, path
        assert response.headers["content-security-policy"] == SITE_POLICY, path


async def test_the_docs_page_loads_swagger_ui_from_our_static_with_no_inline_script_or_style(browser):
    page = (await browser.get("/schema")).text
    scripts = re.findall(r"<script([^>]*)>", page)
    assert scripts and all(re.search(r'src="/static/', attrs) for attrs in scripts), scripts
    assert "<style" not in page and " style=" not in page
    assert "http://" not in page and "https://" not in page  # no CDN
    assert f'href="{SWAGGER_DIST}/swagger-ui.css"' in page and 'data-spec-url="/schema/openapi.json"' in page
    assert (await browser.get("/static/swagger-init.js")).status_code == 200


async def test_swagger_ui_files_come_from_the_pinned_npm_package_under_static(browser):
    if not (PROJECT_ROOT / SWAGGER_DIST.removeprefix("/") / "swagger-ui-bundle.js").is_file():
        skip_or_fail("swagger-ui-dist is not installed in static/vendor (run `make install`; it needs npm)")
    for name, kind in (("swagger-ui-bundle.js", "javascript"), ("swagger-ui.css", "css")):
        response = await browser.get(f"{SWAGGER_DIST}/{name}")
        assert response.status_code == 200 and kind in response.headers["content-type"], name


async def test_the_schema_is_the_careercenter_api_with_the_package_version_contact_and_tag_descriptions(browser, settings):
    schema = (await browser.get("/schema/openapi.json")).json()
    info = schema["info"]
    assert info["title"] == "CareerCenter API"
    assert info["version"] == version("careercenter")
    assert "medical coders" in info["description"]
    assert info["contact"]["url"] == settings.base_url.rstrip("/") + "/"
    tags = {tag["name"]: tag.get("description") for tag in schema["tags"]}
    used = {tag for path in schema["paths"].values() for op in path.values() if isinstance(op, dict)
            for tag in op.get("tags", [])}
    assert used and used <= set(tags) and all(tags[name] for name in used), (used, tags)
    assert {"/api/v1/listings", "/api/v1/listings/{listing_id}"} <= set(schema["paths"])
