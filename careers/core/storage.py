"""Uploaded files (employer logos, coder resumes, application copies) behind one small storage interface.

The app never hands a path to a caller: a file is named by a *key* we make with
`new_key(prefix, suffix)` (a random uuid under a fixed folder such as "logos"), so
nothing a person typed, and no uploaded file name, ever becomes part of a path or an
object name. Files are only ever served by a handler that checks who may see them and
sets a safe content type; nothing here is public.

Two backends, chosen by `STORAGE_URL` (`storage_for(settings)`):

- `file://PATH` (default `$CAREERS_DATA_DIR/uploads`): `LocalDiskStorage`, one folder per
  prefix, atomic writes (temp file + rename). Only for one machine.
- `s3://BUCKET/PREFIX`: `S3Storage` on any S3-compatible service (AWS S3, MinIO, R2,
  moto in tests) through obstore, with `S3_ENDPOINT_URL`, `S3_REGION`,
  `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY`. Every web machine and worker sees the
  same files.

    storage = storage_for(settings)
    key = new_key("resumes", ".pdf")
    await storage.put(key, data)                 # atomic: readers never see half a file
    async with await storage.open(key) as obj:   # FileNotFoundError if absent
        async for chunk in obj: ...              # streamed; obj.size known up front
    data = await storage.read(key)               # small files (logos): the whole bytes
    await storage.copy(key, new_key("application-resumes", ".pdf"))
    await storage.delete(key)                    # no error if already gone
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable
from urllib.parse import urlparse

import anyio

from careers.core.config import ConfigurationError, Settings

CHUNK = 256 * 1024  # download chunks: large enough for few round trips, small enough to never hold a file twice

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


def is_key(key: str) -> bool:
    return isinstance(key, str) and bool(_KEY.match(key))


@dataclass(frozen=True)
class ObjectInfo:
    """One stored object as a listing shows it."""

    key: str
    size: int


class StoredObject:
    """An opened object: its size, and its bytes as an async iterator of chunks (read once)."""

    def __init__(self, key: str, size: int, chunks: AsyncIterator[bytes], close=None) -> None:
        self.key = key
        self.size = size
        self._chunks = chunks
        self._close = close

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._chunks:
                yield bytes(chunk)
        finally:
            await self.aclose()

    async def read(self) -> bytes:
        """The whole object (small files only: logos, a resume copied into an export)."""
        return b"".join([chunk async for chunk in self])

    async def aclose(self) -> None:
        if self._close is not None:
            close, self._close = self._close, None
            await close()

    async def __aenter__(self) -> "StoredObject":
        return self

    async def __aexit__(self, *exc) -> None:
        await self.aclose()


@runtime_checkable
class Storage(Protocol):
    """Where uploaded bytes live. Keys come from `new_key`; implementations refuse any other."""

    url: str

    async def put(self, key: str, data: bytes | AsyncIterable[bytes]) -> None:
        """Store `data` under `key`, replacing what was there; atomic for readers."""

    async def open(self, key: str) -> StoredObject:
        """The object under `key`, to stream; FileNotFoundError if there is none."""

    async def read(self, key: str) -> bytes:
        """The whole bytes under `key`; FileNotFoundError if there are none."""

    async def copy(self, source: str, target: str) -> None:
        """Copy `source` to `target` inside the store (no round trip through this process where possible)."""

    async def delete(self, key: str) -> None:
        """Forget `key`; deleting a missing key is not an error."""

    async def exists(self, key: str) -> bool:
        """Whether something is stored under `key`."""

    def list(self, prefix: str = "") -> AsyncIterator[ObjectInfo]:
        """Every stored object (keys or not), for migrations and backups."""


# ---- file:// -----------------------------------------------------------------------------------------


class LocalDiskStorage:
    """Files on the local disk under `root` (one folder per prefix), readable by this user only."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.url = f"file://{self.root}"

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def _temp_for(self, path: Path) -> tuple[int, str]:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        return tempfile.mkstemp(dir=path.parent, prefix=".upload-")

    def _save(self, data: bytes, key: str) -> None:
        path = self._path(key)
        fd, tmp = self._temp_for(path)
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

    async def put(self, key: str, data: bytes | AsyncIterable[bytes]) -> None:
        if isinstance(data, (bytes, bytearray, memoryview)):
            await anyio.to_thread.run_sync(self._save, bytes(data), key)
            return
        path = self._path(key)
        fd, tmp = await anyio.to_thread.run_sync(self._temp_for, path)
        os.close(fd)
        try:
            async with await anyio.open_file(tmp, "wb") as fh:
                async for chunk in data:
                    await fh.write(chunk)
            await anyio.to_thread.run_sync(os.replace, tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise

    async def open(self, key: str) -> StoredObject:
        path = self._path(key)
        fh = await anyio.open_file(path, "rb")  # FileNotFoundError if absent
        size = os.fstat(fh.wrapped.fileno()).st_size

        async def chunks() -> AsyncIterator[bytes]:
            while chunk := await fh.read(CHUNK):
                yield chunk

        return StoredObject(key, size, chunks(), fh.aclose)

    async def read(self, key: str) -> bytes:
        return await anyio.to_thread.run_sync(self._path(key).read_bytes)

    async def copy(self, source: str, target: str) -> None:
        src, dst = self._path(source), self._path(target)

        def copy() -> None:
            fd, tmp = self._temp_for(dst)
            os.close(fd)
            try:
                shutil.copyfile(src, tmp)
                os.replace(tmp, dst)
            except BaseException:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp)
                raise

        await anyio.to_thread.run_sync(copy)

    async def delete(self, key: str) -> None:
        path = self._path(key)

        def unlink() -> None:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()

        await anyio.to_thread.run_sync(unlink)

    async def exists(self, key: str) -> bool:
        return await anyio.to_thread.run_sync(self._path(key).is_file)

    async def list(self, prefix: str = "") -> AsyncIterator[ObjectInfo]:
        def walk() -> list[ObjectInfo]:
            if not self.root.is_dir():
                return []
            found = []
            for path in sorted(self.root.rglob("*")):
                if path.is_file() and not path.name.startswith(".upload-"):
                    key = path.relative_to(self.root).as_posix()
                    if key.startswith(prefix):
                        found.append(ObjectInfo(key, path.stat().st_size))
            return found

        for info in await anyio.to_thread.run_sync(walk):
            yield info

    def path_of(self, key: str) -> Path:
        """The file behind `key` (migrations read it straight from disk)."""
        return self._path(key)


# ---- s3:// -------------------------------------------------------------------------------------------


class S3Storage:
    """Objects in an S3-compatible bucket, under an optional prefix, through obstore (async, no threads)."""

    def __init__(self, bucket: str, prefix: str = "", *, endpoint: str = "", region: str = "",
                 access_key_id: str = "", secret_access_key: str = "") -> None:
        from obstore.store import S3Store

        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.url = f"s3://{bucket}/{self.prefix}".rstrip("/")
        config: dict = {"region": region or "us-east-1"}
        if endpoint:
            config["endpoint"] = endpoint
        if not (access_key_id and secret_access_key):
            # never fall back to the cloud metadata endpoint: keys are configuration (STORAGE_URL needs them)
            raise ConfigurationError([f"{self.url}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"])
        config["access_key_id"] = access_key_id
        config["secret_access_key"] = secret_access_key
        options = {"allow_http": endpoint.startswith("http://"), "timeout": "60s", "connect_timeout": "5s"}
        self.store = S3Store(bucket, prefix=self.prefix or None, client_options=options, **config)

    async def put(self, key: str, data: bytes | AsyncIterable[bytes] | Path) -> None:
        import obstore

        if isinstance(data, Path):
            await obstore.put_async(self.store, check_key(key), data, use_multipart=False)
        elif isinstance(data, (bytes, bytearray, memoryview)):
            # one PUT: the ETag is then the MD5 of the bytes, which `careers storage migrate` verifies against
            await obstore.put_async(self.store, check_key(key), bytes(data), use_multipart=False)
        else:
            await obstore.put_async(self.store, check_key(key), data)

    async def open(self, key: str) -> StoredObject:
        import obstore

        result = await obstore.get_async(self.store, check_key(key))  # FileNotFoundError if absent
        return StoredObject(key, result.meta["size"], result.stream(min_chunk_size=CHUNK))

    async def read(self, key: str) -> bytes:
        import obstore

        result = await obstore.get_async(self.store, check_key(key))
        return bytes(await result.bytes_async())

    async def copy(self, source: str, target: str) -> None:
        import obstore

        await obstore.copy_async(self.store, check_key(source), check_key(target))

    async def delete(self, key: str) -> None:
        import obstore

        with contextlib.suppress(FileNotFoundError):
            await obstore.delete_async(self.store, check_key(key))

    async def exists(self, key: str) -> bool:
        return await self.head(check_key(key)) is not None

    async def head(self, key: str) -> dict | None:
        """The object's metadata (`size`, `e_tag`), or None when absent."""
        import obstore

        try:
            return await obstore.head_async(self.store, key)
        except FileNotFoundError:
            return None

    async def list(self, prefix: str = "") -> AsyncIterator[ObjectInfo]:
        import obstore

        async for batch in obstore.list(self.store, prefix or None):
            for meta in batch:
                yield ObjectInfo(meta["path"], meta["size"])


# ---- choosing one --------------------------------------------------------------------------------------

_CACHE: dict[tuple, Storage] = {}


def parse_storage_url(url: str) -> tuple[str, str, str]:
    """(scheme, bucket or path, prefix) of a STORAGE_URL; ConfigurationError when it is neither file:// nor s3://."""
    parsed = urlparse(url)
    if parsed.scheme == "file" and parsed.path:
        return "file", parsed.path, ""
    if parsed.scheme == "s3" and parsed.netloc:
        return "s3", parsed.netloc, parsed.path.strip("/")
    raise ConfigurationError([f"STORAGE_URL must be file:///PATH or s3://BUCKET/PREFIX, not {url!r}"])


def storage_at(url: str, settings: Settings) -> Storage:
    """The storage at `url` (a STORAGE_URL), with the S3 endpoint and keys of `settings`; one per url."""
    cache_key = (url, settings.s3_endpoint_url, settings.s3_region, settings.aws_access_key_id)
    found = _CACHE.get(cache_key)
    if found is None:
        scheme, where, prefix = parse_storage_url(url)
        if scheme == "file":
            found = LocalDiskStorage(Path(where))
        else:
            found = S3Storage(where, prefix, endpoint=settings.s3_endpoint_url, region=settings.s3_region,
                              access_key_id=settings.aws_access_key_id,
                              secret_access_key=settings.aws_secret_access_key)
        _CACHE[cache_key] = found
    return found


def storage_for(settings: Settings) -> Storage:
    """The configured storage: `settings.storage_url`, by default the local disk under `settings.uploads_dir`."""
    return storage_at(settings.storage_url or f"file://{settings.uploads_dir}", settings)
