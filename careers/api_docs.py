"""The OpenAPI schema and its Swagger UI page, served offline from our own /static under our CSP.

Swagger UI comes from the npm package `swagger-ui-dist`, pinned in static/vendor/package.json and installed by
`make install` (npm ci). The page loads it and a small init script from /static, and the schema JSON is fetched
from /schema/openapi.json: no CDN, no inline script, no inline style. So the docs keep every other page's
Content-Security-Policy unrelaxed (checked in Chromium: Swagger UI sets its styles through the DOM, which CSP allows).
"""

from __future__ import annotations

from html import escape
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from litestar import Request
from litestar.openapi.config import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, SwaggerRenderPlugin, YamlRenderPlugin
from litestar.openapi.spec import Contact, Tag

from careers.core.config import Settings

SCHEMA_PATH = "/schema"
SWAGGER_DIST = "/static/vendor/node_modules/swagger-ui-dist"
INIT_SCRIPT = "/static/swagger-init.js"

DESCRIPTION = (
    "Read-only JSON API of CareerCenter, the job board for medical coders: search the published listings "
    "(credential codes match exactly; facets, pay and remote filters) and read one listing in the shared field "
    "vocabulary. Errors answer `{\"error\": …, \"detail\": …, \"fields\": {…}}`."
)
TAGS = [
    Tag(name="listings", description="Published job listings for medical coders: search them and read one by id."),
    Tag(name="pay", description="Annual pay of published listings by credential, setting, state and work mode."),
]


def package_version() -> str:
    """The installed package's version (pyproject.toml), so the schema never claims a version of its own."""
    try:
        return version("careercenter")
    except PackageNotFoundError:  # running from a checkout that was never installed
        return "0+unknown"


class OfflineSwagger(SwaggerRenderPlugin):
    """Swagger UI from our own /static: the page holds no inline script or style, so a strict CSP can stay."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            js_url=f"{SWAGGER_DIST}/swagger-ui-bundle.js",
            css_url=f"{SWAGGER_DIST}/swagger-ui.css",
            favicon="",  # Litestar's default points at a CDN
            style="",
            **kwargs,
        )

    def render(self, request: Request, openapi_schema: dict[str, Any]) -> bytes:
        title = escape(openapi_schema["info"]["title"])
        spec_url = escape(self.get_openapi_json_route(request))
        return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" href="{escape(self.css_url)}">
</head>
<body>
<div id="swagger-ui" data-spec-url="{spec_url}"></div>
<script src="{escape(self.js_url)}"></script>
<script src="{INIT_SCRIPT}"></script>
</body>
</html>
""".encode()


def openapi_config(settings: Settings) -> OpenAPIConfig:
    """Title, version, description, contact and tags of the API; Swagger UI at /schema and /schema/swagger."""
    return OpenAPIConfig(
        title="CareerCenter API",
        version=package_version(),
        description=DESCRIPTION,
        contact=Contact(name="CareerCenter", url=settings.base_url.rstrip("/") + "/"),
        tags=TAGS,
        path=SCHEMA_PATH,
        # The first plugin also answers at /schema itself.
        render_plugins=[OfflineSwagger(), JsonRenderPlugin(), YamlRenderPlugin()],
    )
