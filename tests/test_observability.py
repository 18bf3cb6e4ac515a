"""Operating many machines: /metrics behind a token, a request id on every answer and log line, JSON logs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import httpx
import pytest

from careers import local
from careers.core import mail
from careers.core.config import PROJECT_ROOT
from careers.core.logs import from_trusted_proxy
from tests import waiting
from tests.conftest import Browser

TOKEN = "metrics-token-0123456789"


@pytest.fixture
def settings(base_settings):
    return base_settings.replace(metrics_token=TOKEN, trusted_proxies=("10.0.0.0/8",))


def client_for(app, address: str = "127.0.0.1") -> Browser:
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return Browser(transport=transport, base_url="http://testserver")


def sample(text: str, name: str, **labels: str) -> float | None:
    """The value of one sample in Prometheus' text format, or None."""
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        head, _, value = line.rpartition(" ")
        if all(f'{k}="{v}"' in head for k, v in labels.items()):
            return float(value)
    return None


async def test_metrics_answer_404_without_the_token_or_when_it_is_unset(app, base_settings):
    from careers.app import create_app

    async with client_for(app) as client:
        assert (await client.get("/metrics")).status_code == 404
        assert (await client.get("/metrics", headers={"Authorization": "Bearer wrong"})).status_code == 404
        assert (await client.get("/metrics", headers={"Authorization": TOKEN})).status_code == 404
    unset = create_app(base_settings.replace(metrics_token=""))
    async with client_for(unset) as client:
        assert (await client.get("/metrics", headers={"Authorization": "Bearer "})).status_code == 404


async def test_metrics_show_outbox_depth_and_age_by_kind_latency_by_route_search_and_webhooks(app):
    from billing.tables import StripeEvent

    await mail.queue_mail("someone@example.org", "Hello", "Hi.")
    await mail.queue_mail("other@example.org", "Hello", "Hi.")
    await StripeEvent.insert(StripeEvent(event_id="evt_1", type="payment_intent.succeeded", result="paid order 1"),
                             StripeEvent(event_id="evt_2", type="payment_intent.succeeded",
                                         result="ignored: order already paid"))
    async with client_for(app) as client:
        assert (await client.get("/jobs/123456/some-job")).status_code in (301, 404)
        answer = await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
    text = answer.text
    assert sample(text, "careers_outbox_depth", kind="mail") == 2
    assert sample(text, "careers_outbox_oldest_age_seconds", kind="mail") >= 0
    assert sample(text, "careers_search_degraded") == 0
    assert sample(text, "careers_meilisearch_tasks_pending") is not None
    assert sample(text, "careers_meilisearch_task_lag_seconds") is not None
    assert sample(text, "careers_webhook_events_total", type="payment_intent.succeeded", result="paid") == 1
    assert sample(text, "careers_webhook_events_total", type="payment_intent.succeeded", result="ignored") == 1
    # latency by route template (never the raw path with its ids) and status
    route = "/jobs/{listing_id}/{slug}"
    assert sample(text, "careers_http_request_duration_seconds_count", path=route) is not None, text
    assert "/jobs/123456/some-job" not in text
    names = {line.split("{")[0].split(" ")[0] for line in text.splitlines() if line and not line.startswith("#")}
    ours = {n for n in names if not n.startswith(("python_", "process_"))}
    assert all(n.startswith("careers_") for n in ours), ours


async def test_metrics_say_search_is_degraded_while_meilisearch_does_not_answer(base_settings, database):
    from careers.app import create_app
    from careers.local import free_port

    down = create_app(base_settings.replace(metrics_token=TOKEN, meili_url=f"http://127.0.0.1:{free_port()}"))
    async with client_for(down) as client:
        text = (await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})).text
    assert sample(text, "careers_search_degraded") == 1


async def test_every_answer_has_a_request_id_and_only_a_trusted_proxy_may_give_it(app):
    async with client_for(app) as direct:
        first = await direct.get("/")
        missing = await direct.get("/no-such-page")
        spoofed = await direct.get("/", headers={"X-Request-ID": "chosen-by-the-client"})
    assert len(first.headers["x-request-id"]) == 32 and missing.status_code == 404 and missing.headers["x-request-id"]
    assert first.headers["x-request-id"] != missing.headers["x-request-id"]
    assert spoofed.headers["x-request-id"] != "chosen-by-the-client"
    async with client_for(app, "10.1.2.3") as proxied:
        kept = await proxied.get("/", headers={"X-Request-ID": "lb-7f3a-0001"})
        forged = await proxied.get("/", headers={"X-Request-ID": "bad\nid {json}"})
    assert kept.headers["x-request-id"] == "lb-7f3a-0001"
    assert forged.headers["x-request-id"] != "bad\nid {json}" and len(forged.headers["x-request-id"]) == 32


def test_trusted_proxies_are_addresses_or_networks():
    assert from_trusted_proxy("10.1.2.3", ("10.0.0.0/8",))
    assert from_trusted_proxy("192.0.2.7", ("192.0.2.7",))
    assert not from_trusted_proxy("192.0.2.8", ("192.0.2.7",))
    assert not from_trusted_proxy("10.1.2.3", ())
    assert not from_trusted_proxy("testclient", ("10.0.0.0/8",))


PRODUCTION_LOGS = textwrap.dedent("""
    import asyncio, logging, httpx
    from litestar import get
    from careers.core.config import Settings
    from careers.app import create_app

    @get("/boom", sync_to_thread=False)
    def boom() -> str:
        logging.getLogger("careers.test").info("inside the handler")
        raise RuntimeError("kaboom")

    settings = Settings(env="production", secret_key="x" * 40, base_url="https://careers.example")
    app = create_app(settings)
    app.register(boom)

    async def main():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://careers.example") as c:
            answer = await c.get("/boom")
        print(answer.status_code, answer.headers["x-request-id"])
    asyncio.run(main())
""")


def test_in_production_every_log_line_is_one_json_object_with_the_request_id(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "CAREERS_DATA_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", PRODUCTION_LOGS], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=60)
    status, request_id = done.stdout.split()
    assert status == "500"
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    entries = [json.loads(line) for line in lines]  # every line parses on its own
    inside = [e for e in entries if e["message"] == "inside the handler"]
    error = [e for e in entries if e.get("exc") and "kaboom" in e["exc"]]
    assert inside and error, done.stderr
    assert inside[0]["request_id"] == request_id == error[0]["request_id"]
    assert {"time", "level", "logger", "message", "request_id"} <= set(inside[0])


def test_the_cli_logs_readable_lines_in_development_without_piccolos_banner(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "CAREERS_DATA_DIR": str(tmp_path / "data"),
           "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    done = subprocess.run([sys.executable, "-m", "careers.cli", "migrate"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Running Sqlite version" not in done.stderr + done.stdout
    assert "Running SQLite version" not in done.stderr + done.stdout


def test_check_says_whether_metrics_are_enabled(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "CAREERS_DATA_DIR": str(tmp_path / "data"),
           "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "MEILI_URL": "http://127.0.0.1:9"}
    off = subprocess.run([sys.executable, "-m", "careers.cli", "check"], cwd=tmp_path, env=env, capture_output=True,
                         text=True, timeout=60)
    assert "/metrics disabled (METRICS_TOKEN unset" in off.stdout
    on = subprocess.run([sys.executable, "-m", "careers.cli", "check"], cwd=tmp_path,
                        env={**env, "METRICS_TOKEN": TOKEN}, capture_output=True, text=True, timeout=60)
    assert "/metrics enabled" in on.stdout and TOKEN not in on.stdout


def test_the_web_server_logs_a_line_per_request_unless_access_log_is_off(tmp_path):
    """ACCESS_LOG=0 silences uvicorn's access log (a proxy in front logs requests); the app's own lines stay."""
    for access_log, expected in (("1", True), ("0", False)):
        port = local.free_port()
        env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "CAREERS_DATA_DIR": str(tmp_path / access_log),
               "DATABASE_URL": f"sqlite:///{tmp_path / (access_log + '.sqlite3')}", "ACCESS_LOG": access_log}
        server = subprocess.Popen([sys.executable, "-m", "uvicorn", "--factory", "careers.app:create_app_from_env",
                                   "--port", str(port)], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True)
        try:
            waiting.poll(lambda: local.port_open(port), timeout=60, what="uvicorn listening")
            assert httpx.get(f"http://127.0.0.1:{port}/healthz?probe=access-log").text == "ok"
        finally:
            server.terminate()
            output, _ = server.communicate(timeout=30)
        assert "Application startup complete" in output  # the app's logging is on either way
        assert ("GET /healthz?probe=access-log" in output) is expected, output


def test_access_log_takes_yes_or_no_and_refuses_anything_else():
    from careers.core.config import ConfigurationError, load_settings

    assert load_settings({"ACCESS_LOG": "0"}).access_log is False
    assert load_settings({"ACCESS_LOG": "true"}).access_log is True
    assert load_settings({}).access_log is True
    with pytest.raises(ConfigurationError, match="ACCESS_LOG must be 1 or 0"):
        load_settings({"ACCESS_LOG": "sometimes"})
