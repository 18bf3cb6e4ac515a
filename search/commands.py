"""`careers reindex`: rebuild the search index from the database with zero downtime.

It fills `<index>_<token>`, replays the search outbox rows written meanwhile, swaps the
new index in atomically and deletes the old one (search.indexing.rebuild_index).
Searches keep answering from the old index the whole time.
"""

from __future__ import annotations

import asyncio
import sys

from careers.core import db
from careers.core.config import Settings


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "reindex",
        help="rebuild the search index from the database (zero downtime: fill, replay, swap)",
        description="Builds a fresh index from every published, visible listing, applies the index settings, "
                    "replays search updates written during the rebuild, swaps it in atomically and deletes the old "
                    "one. Uses MEILI_URL (+ MEILI_MASTER_KEY); without it, the managed Meilisearch in the data "
                    "directory is started for the rebuild (stop `careers serve` first, or set MEILI_URL to the "
                    "one it runs).",
    )
    parser.add_argument("--batch-size", type=int, default=5000, help="documents per indexing batch (default 5000)")
    # managed_search: without MEILI_URL, careers/cli.py (the top floor) starts the managed Meilisearch for us
    parser.set_defaults(func=cmd_reindex, managed_search=True)


def cmd_reindex(args, settings: Settings) -> int:
    return asyncio.run(_reindex(settings, args.batch_size))


async def _reindex(settings: Settings, batch_size: int) -> int:
    # Meilisearch's clients load only for this command: `careers --help` and the others start faster.
    from search.client import SearchEngineError, SearchUnavailable
    from search.indexing import rebuild_index

    await db.start()
    progress, finish = _progress_reporter()
    try:
        report = await rebuild_index(settings, batch_size=batch_size, progress=progress)
    except (SearchUnavailable, SearchEngineError) as exc:
        finish()
        print(f"reindex failed; the live index is unchanged: {exc}", file=sys.stderr)
        return 1
    finally:
        await db.stop()
    finish()
    print(f"Reindexed {report.documents} listings into {report.index} in {report.seconds:.1f}s "
          f"({report.replayed} updates replayed).")
    return 0


def _progress_reporter():
    """A progress bar on a terminal, nothing otherwise (cron, CI logs)."""
    if not sys.stdout.isatty():
        return None, lambda: None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    bar = Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    bar.start()
    task = bar.add_task("Indexing listings", total=None)

    def update(done: int, total: int) -> None:
        bar.update(task, completed=done, total=total)

    return update, bar.stop
