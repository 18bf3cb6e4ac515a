"""The IndexNow key file: `/{INDEXNOW_KEY}.txt`, the key alone, proving the board owns the key it submits with."""

from __future__ import annotations

from litestar import Response, get
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath

from careers.core.config import Settings


@get("/{filename:str}", include_in_schema=False, sync_to_thread=False)
def indexnow_key_file(settings: NamedDependency[Settings], filename: FromPath[str]) -> Response[str]:
    """Any other one-segment address not routed elsewhere is the usual 404 page."""
    key = settings.indexnow_key
    if not key or filename != f"{key}.txt":
        raise NotFoundException()
    return Response(key, media_type="text/plain; charset=utf-8", headers={"Cache-Control": "public, max-age=86400"})


ROUTES = [indexnow_key_file]
