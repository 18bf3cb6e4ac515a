"""Prometheus metrics at /metrics, every name starting with `careers_`.

Request latency comes from Litestar's Prometheus integration (`PrometheusConfig(prefix="careers_http")`:
`careers_http_request_duration_seconds` by route template, method and status, plus request counts).
The rest is read at scrape time from the shared state, so every web instance answers the same figures:

- `careers_outbox_depth{kind}` and `careers_outbox_oldest_age_seconds{kind}`: outbox rows not done yet
  (pending or failed), and how long the oldest of them has waited;
- `careers_outbox_failed{kind}`: rows given up on (an admin must retry them);
- `careers_search_degraded`: 1 while Meilisearch does not answer (pages fall back to the database);
- `careers_meilisearch_tasks_pending` and `careers_meilisearch_task_lag_seconds`: enqueued/processing tasks
  and the age of the oldest (how far the index trails the database);
- `careers_webhook_events_total{type, result}`: Stripe events stored, by type and outcome (applied, ignored,
  duplicate, ...).

`/metrics` answers only `Authorization: Bearer $METRICS_TOKEN`; without the token, or when METRICS_TOKEN is
unset, it is a plain 404, like any unknown page.
"""

from __future__ import annotations

import hmac
import logging
from typing import Any

from litestar import Request, Response, get
from litestar.exceptions import NotFoundException
from litestar.plugins.prometheus import PrometheusConfig
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from careers.core import clock, db
from careers.core.config import Settings
from careers.core.tables import OutboxRow
from search.client import healthy, run_admin

log = logging.getLogger("careers.metrics")

LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0]


def prometheus_config() -> PrometheusConfig:
    """Latency by route template (not the raw path: ids would explode the label set), method and status."""
    return PrometheusConfig(app_name="careers", prefix="careers_http", group_path=True, buckets=LATENCY_BUCKETS,
                            exclude=["^/metrics$", "^/static/", "^/healthz$"])


class Snapshot:
    """Figures read at scrape time, handed to prometheus_client as one collector."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values

    def collect(self):
        v = self.values
        depth = GaugeMetricFamily("careers_outbox_depth", "Outbox rows not done yet (pending or failed)",
                                  labels=["kind"])
        age = GaugeMetricFamily("careers_outbox_oldest_age_seconds", "Age of the oldest outbox row not done yet",
                                labels=["kind"])
        failed = GaugeMetricFamily("careers_outbox_failed", "Outbox rows given up on", labels=["kind"])
        for kind, (count, oldest, failures) in sorted(v["outbox"].items()):
            depth.add_metric([kind], count)
            age.add_metric([kind], oldest)
            failed.add_metric([kind], failures)
        yield from (depth, age, failed)
        yield GaugeMetricFamily("careers_search_degraded", "1 while Meilisearch does not answer",
                                value=1 if v["degraded"] else 0)
        yield GaugeMetricFamily("careers_meilisearch_tasks_pending", "Meilisearch tasks enqueued or processing",
                                value=v["tasks_pending"])
        yield GaugeMetricFamily("careers_meilisearch_task_lag_seconds",
                                "Age of the oldest Meilisearch task not finished", value=v["task_lag"])
        events = CounterMetricFamily("careers_webhook_events", "Stripe webhook events stored, by type and result",
                                     labels=["type", "result"])
        for (kind, result), count in sorted(v["webhooks"].items()):
            events.add_metric([kind, result], count)
        yield events


async def outbox_figures() -> dict[str, tuple[int, float, int]]:
    """{kind: (rows not done, age in seconds of the oldest, failed rows)}."""

    rows = await OutboxRow.select(OutboxRow.kind, OutboxRow.status, OutboxRow.created_at).where(
        OutboxRow.status != "done")
    now = clock.now()
    figures: dict[str, tuple[int, float, int]] = {}
    for row in rows:
        count, oldest, failures = figures.get(row["kind"], (0, 0.0, 0))
        waited = max(0.0, (now - row["created_at"]).total_seconds())
        figures[row["kind"]] = (count + 1, max(oldest, waited), failures + (row["status"] == "failed"))
    return figures


async def meilisearch_figures(settings: Settings) -> tuple[bool, int, float]:
    """(degraded, tasks pending, seconds the oldest pending task has waited)."""
    if not await healthy(settings):
        return True, 0, 0.0

    def pending(client) -> dict:
        return client.http.get(f"{client.config.paths.task}?statuses=enqueued,processing&limit=1000")

    try:
        answer = await run_admin(settings, pending, timeout=2)
    except Exception as exc:  # a scrape reports what it can; search being slow is itself a figure
        log.warning("Meilisearch tasks not read for /metrics: %r", exc)
        return False, 0, 0.0
    import datetime as dt

    now = clock.now()
    waits = [(now - dt.datetime.fromisoformat(t["enqueuedAt"].replace("Z", "+00:00"))).total_seconds()
             for t in answer.get("results", []) if t.get("enqueuedAt")]
    return False, int(answer.get("total", len(waits))), max([0.0, *waits])


async def webhook_figures() -> dict[tuple[str, str], int]:
    """{(event type, outcome): events stored}; the outcome is the first word of the stored result."""
    try:
        rows = await db.fetch("SELECT type, result, COUNT(*) AS n FROM stripe_events GROUP BY type, result")
    except Exception:  # billing not installed or not migrated: no webhook figures
        return {}
    counts: dict[tuple[str, str], int] = {}
    for row in rows:
        # "ignored: order already paid" -> "ignored": the outcome, not the free text
        outcome = (row["result"] or "").split(":", 1)[0].strip().split(" ", 1)[0] or "applied"
        key = (row["type"], outcome)
        counts[key] = counts.get(key, 0) + row["n"]
    return counts


def _authorised(request: Request, token: str) -> bool:
    given = request.headers.get("authorization", "")
    return bool(token) and hmac.compare_digest(given.encode(), f"Bearer {token}".encode())


@get("/metrics", include_in_schema=False, exclude_from_auth=True)
async def metrics(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    if not _authorised(request, settings.metrics_token):
        raise NotFoundException()
    degraded, tasks_pending, task_lag = await meilisearch_figures(settings)
    snapshot = CollectorRegistry(auto_describe=False)
    snapshot.register(Snapshot({"outbox": await outbox_figures() if await db.ping() else {}, "degraded": degraded,
                                "tasks_pending": tasks_pending, "task_lag": task_lag,
                                "webhooks": await webhook_figures()}))
    body = generate_latest(REGISTRY) + generate_latest(snapshot)
    return Response(body, media_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})
