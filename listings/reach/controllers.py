"""The IndexNow key file: `/{INDEXNOW_KEY}.txt`, the key alone, proving the board owns the key it submits with.

An address that exists only when the key is set, so it is built per app from its settings (`careers.app`)."""

from __future__ import annotations

from litestar import Response, get

from careers.core.config import Settings


def key_file_routes(settings: Settings) -> list:
    """The key file's route when INDEXNOW_KEY is set, else none."""
    key = settings.indexnow_key
    if not key:
        return []

    @get(f"/{key}.txt", include_in_schema=False, sync_to_thread=False)
    def indexnow_key_file() -> Response[str]:
        return Response(key, media_type="text/plain; charset=utf-8", headers={"Cache-Control": "public, max-age=86400"})

    return [indexnow_key_file]
