"""`careers storage migrate` and the uploads half of `careers backup`.

Migrating copies every stored file from the local uploads folder (or `--from`) to
`--to` (a bucket, usually). It is idempotent: an object already at the target with the
same size and checksum is left alone, so a second run copies nothing, and a run cut
short is finished by the next. Every copy is verified after the write (size, and the
MD5 the bucket reports as the ETag of a single-part upload, or else the SHA-256 of the
bytes read back). The source is never changed; switch `STORAGE_URL` once it is done.
"""

from __future__ import annotations

import hashlib
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from careers.core.config import ConfigurationError, Settings
from careers.core.storage import LocalDiskStorage, ObjectInfo, S3Storage, Storage, is_key, storage_at


@dataclass
class MigrationReport:
    copied: list[str] = field(default_factory=list)
    already_there: list[str] = field(default_factory=list)
    not_keys: list[str] = field(default_factory=list)  # files our code did not make (left behind, named)
    failed: dict[str, str] = field(default_factory=dict)
    bytes_copied: int = 0


def _digests(data_or_path: bytes | Path) -> tuple[str, str]:
    md5, sha = hashlib.md5(usedforsecurity=False), hashlib.sha256()
    if isinstance(data_or_path, Path):
        with open(data_or_path, "rb") as fh:
            while chunk := fh.read(1024 * 1024):
                md5.update(chunk)
                sha.update(chunk)
    else:
        md5.update(data_or_path)
        sha.update(data_or_path)
    return md5.hexdigest(), sha.hexdigest()


async def _sha256_of(storage: Storage, key: str) -> str:
    sha = hashlib.sha256()
    async with await storage.open(key) as opened:
        async for chunk in opened:
            sha.update(chunk)
    return sha.hexdigest()


async def _same(target: Storage, key: str, size: int, md5: str, sha: str) -> bool:
    """Whether `target` holds exactly these bytes under `key` (size first, then a checksum)."""
    if isinstance(target, S3Storage):
        meta = await target.head(key)
        if meta is None or meta["size"] != size:
            return False
        etag = (meta.get("e_tag") or "").strip('"')
        if etag and "-" not in etag:  # a single-part upload's ETag is the MD5 of its bytes
            return etag == md5
    elif not await target.exists(key):
        return False
    try:
        return await _sha256_of(target, key) == sha
    except FileNotFoundError:
        return False


async def _copy_one(source: Storage, target: Storage, info: ObjectInfo, report: MigrationReport) -> None:
    if isinstance(source, LocalDiskStorage):
        body: bytes | Path = source.path_of(info.key)
        md5, sha = _digests(body)
    else:
        body = await source.read(info.key)
        md5, sha = _digests(body)
    if await _same(target, info.key, info.size, md5, sha):
        report.already_there.append(info.key)
        return
    if isinstance(body, Path) and not isinstance(target, S3Storage):
        body = body.read_bytes()
    await target.put(info.key, body)
    if not await _same(target, info.key, info.size, md5, sha):
        report.failed[info.key] = "the copy does not match the source (size or checksum)"
        return
    report.copied.append(info.key)
    report.bytes_copied += info.size


async def migrate(source: Storage, target: Storage, *, progress=None) -> MigrationReport:
    """Copy every object of `source` that `target` lacks (or holds differently); verify each copy."""
    report = MigrationReport()
    objects = [info async for info in source.list()]
    keys = [info for info in objects if is_key(info.key)]
    report.not_keys = [info.key for info in objects if not is_key(info.key)]
    task = progress.add_task("copying", total=sum(i.size for i in keys)) if progress is not None else None
    for info in keys:
        try:
            await _copy_one(source, target, info, report)
        except (OSError, ValueError) as exc:  # obstore raises OSError subclasses; one bad file must not stop the rest
            report.failed[info.key] = repr(exc)
        if progress is not None:
            progress.update(task, advance=info.size)
    return report


def cmd_storage_migrate(args, settings: Settings) -> int:
    """`careers storage migrate --to URL [--from URL]`: copy the uploads, verified, with a progress bar."""
    import asyncio

    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

    source_url = args.source or f"file://{settings.uploads_dir}"
    try:
        source, target = storage_at(source_url, settings), storage_at(args.to, settings)
    except ConfigurationError as exc:
        print(f"careers storage migrate: {exc.problems[0]}", file=sys.stderr)
        return 2
    if source.url == target.url:
        print("careers storage migrate: --to is where the files already are", file=sys.stderr)
        return 2
    print(f"Copying uploads from {source.url} to {target.url}")
    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TimeRemainingColumn())
    with Progress(*columns, transient=False) as progress:
        report = asyncio.run(migrate(source, target, progress=progress))
    print(f"copied {len(report.copied)} file(s) ({report.bytes_copied:,} bytes), "
          f"{len(report.already_there)} already there, {len(report.failed)} failed")
    for key in report.not_keys:
        print(f"  left behind (not a file the board made): {key}")
    for key, why in report.failed.items():
        print(f"  FAILED {key}: {why}", file=sys.stderr)
    if report.failed:
        print("Run the command again: it copies only what is missing or different.", file=sys.stderr)
        return 1
    if settings.storage_url == args.to:
        return 0
    print(f"Every file is in {target.url}. Set STORAGE_URL={args.to} (and the S3 variables) on every web machine and "
          "worker, restart them, then keep the old folder until you have checked the board serves the files.")
    return 0


def backup_uploads(settings: Settings, dest: Path, stamp: str) -> None:
    """For s3:// storage: record the object listing next to the database dump (the bucket keeps the files)."""
    import asyncio

    storage = storage_at(settings.storage_url, settings)

    async def listing() -> list[ObjectInfo]:
        return [info async for info in storage.list()]

    objects = asyncio.run(listing())
    target = dest / f"careers-{stamp}-uploads-listing.tsv"
    with open(target, "w") as fh:
        fh.write(f"# {storage.url} listed {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}\nkey\tsize\n")
        fh.writelines(f"{info.key}\t{info.size}\n" for info in objects)
    print(f"uploads: {len(objects)} object(s) in {storage.url}; listing written to {target}")
    print("uploads: the bucket itself holds the files, not this backup. Enable bucket versioning (and a lifecycle "
          "rule for old versions) so an overwritten or deleted upload can be recovered.")


def storage_status(settings: Settings, problems: list[str]) -> str:
    """For `careers check`: where uploads live and, for a bucket, whether it answers."""
    import asyncio

    storage = storage_at(settings.storage_url or f"file://{settings.uploads_dir}", settings)
    if isinstance(storage, LocalDiskStorage):
        return f"{storage.url} (this machine only: use s3:// with more than one web machine)"
    try:
        asyncio.run(storage.exists("logos/" + "0" * 32))
    except Exception as exc:  # obstore raises its own error types for refused keys and unreachable endpoints
        problems.append(f"the bucket of STORAGE_URL does not answer: {exc!r:.200} (S3_ENDPOINT_URL, AWS_* keys)")
        return f"{storage.url}: unreachable"
    return f"{storage.url}: ok"
