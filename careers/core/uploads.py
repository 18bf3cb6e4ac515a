"""Uploaded files (employer logos, coder resumes) behind one small storage interface.

The app never hands a path to a caller: a file is named by a *key* we make with
`new_key(prefix, suffix)` (a random uuid under a fixed folder such as "logos"),
so nothing a person typed, and no uploaded file name, ever becomes part of a
path. The default `LocalDiskStorage` keeps files under `settings.uploads_dir`
(`$CAREERS_DATA_DIR/uploads`), outside `static/`: files are only ever served by
a handler that checks who may see them and sets a safe content type.

Another backend (S3, a shared volume) only has to implement `Storage`; get the
configured one with `storage_for(settings)`.

    storage = storage_for(settings)
    key = new_key("resumes", ".pdf")
    await storage.save(data, key)        # atomic: readers never see half a file
    data = await storage.open(key)       # FileNotFoundError if absent
    await storage.delete(key)            # no error if already gone
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import uuid
from pathlib import Path
from typing import Protocol, runtime_checkable

import anyio

from careers.core.config import Settings

# prefix folders and suffixes are ours, not the uploader's: lower-case letters, digits, "_" and "-".
_PREFIX = re.compile(r"^[a-z0-9_-]{1,40}$")
_SUFFIX = re.compile(r"^(\.[a-z0-9]{1,8})?$")
_KEY = re.compile(r"^[a-z0-9_-]{1,40}/[0-9a-f]{32}(\.[a-z0-9]{1,8})?$")


class InvalidKey(ValueError):
    """A key that `new_key` could not have made (e.g. containing `..` or `/` in the wrong place)."""


def new_key(prefix: str, suffix: str = "") -> str:
    """A fresh random key such as `logos/3f2c…9a.png`. `prefix` and `suffix` are fixed strings of the caller."""
    if not _PREFIX.match(prefix) or not _SUFFIX.match(suffix):
        raise InvalidKey(f"bad key prefix or suffix: {prefix!r} {suffix!r}")
    return f"{prefix}/{uuid.uuid4().hex}{suffix}"


def check_key(key: str) -> str:
    if not isinstance(key, str) or not _KEY.match(key):
        raise InvalidKey(f"not a storage key: {key!r}")
    return key


@runtime_checkable
class Storage(Protocol):
    """Where uploaded bytes live. Keys come from `new_key`; implementations refuse any other."""

    async def save(self, data: bytes, key: str) -> None:
        """Store `data` under `key`, replacing what was there; atomic for readers."""

    async def open(self, key: str) -> bytes:
        """The bytes stored under `key`; FileNotFoundError if there are none."""

    async def delete(self, key: str) -> None:
        """Forget `key`; deleting a missing key is not an error."""

    async def exists(self, key: str) -> bool:
        """Whether something is stored under `key`."""


class LocalDiskStorage:
    """Files on the local disk under `root` (one folder per prefix), readable by this user only."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def _save(self, data: bytes, key: str) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise

    async def save(self, data: bytes, key: str) -> None:
        await anyio.to_thread.run_sync(self._save, bytes(data), key)

    async def open(self, key: str) -> bytes:
        return await anyio.to_thread.run_sync(self._path(key).read_bytes)

    async def delete(self, key: str) -> None:
        path = self._path(key)

        def unlink() -> None:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()

        await anyio.to_thread.run_sync(unlink)

    async def exists(self, key: str) -> bool:
        return await anyio.to_thread.run_sync(self._path(key).is_file)


def storage_for(settings: Settings) -> Storage:
    """The configured storage: today always the local disk under `settings.uploads_dir`."""
    return LocalDiskStorage(settings.uploads_dir)
