"""Ground-floor tables: the outbox and the shared rate-limit counters."""

from piccolo.columns import JSONB, Integer, Serial, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class OutboxRow(Table, tablename="outbox"):
    """One unit of background work, delivered at least once by the worker."""

    id = Serial(primary_key=True)
    kind = Varchar(length=64, index=True)
    payload = JSONB(default="{}")
    status = Varchar(length=16, default="pending", index=True)  # pending, done, failed
    attempts = Integer(default=0)
    run_after = Timestamptz(default=TimestamptzNow(), index=True)
    locked_until = Timestamptz(null=True, default=None)
    locked_by = Varchar(length=64, null=True, default=None)
    last_error = Text(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    done_at = Timestamptz(null=True, default=None)


class RateLimitHit(Table, tablename="rate_limit_hits"):
    """A fixed-window counter, one row per bucket:key:window, shared by every process."""

    id = Serial(primary_key=True)
    slot = Varchar(length=400, unique=True)
    count = Integer(default=0)
    expires_at = Integer(index=True)


class WorkerLock(Table, tablename="worker_locks"):
    """On SQLite exactly one background worker runs: it holds this row and renews it."""

    id = Serial(primary_key=True)
    name = Varchar(length=64, unique=True)
    holder = Varchar(length=64)
    held_until = Timestamptz()
