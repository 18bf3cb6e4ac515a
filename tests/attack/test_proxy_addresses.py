"""Attack: changing one's rate-limit key with X-Forwarded-For, and a proxy that hides every client behind one key.

Only a request from TRUSTED_PROXIES has its X-Forwarded-For read (rightmost untrusted hop); anyone else's header
is ignored, so rotating it buys nothing. Through a trusted proxy, two clients get two keys (one script cannot lock
everyone out).
"""

from __future__ import annotations

import httpx
import pytest

from careers.app import create_app
from careers.cli import _proxy_warnings
from careers.core.proxies import client_address, network_of
from tests.conftest import Browser

PROXY = "10.0.0.5"


def app_for(settings, **changes):
    return create_app(settings.replace(login_rate=(3, 300), **changes))


def browser_from(app, peer: str) -> Browser:
    return Browser(transport=httpx.ASGITransport(app=app, client=(peer, 123)), base_url="http://testserver")


async def login_statuses(client: Browser, forwarded: list[str]) -> list[int]:
    statuses = []
    for n, hop in enumerate(forwarded):
        client.headers["X-Forwarded-For"] = hop
        response = await client.submit("/login", {"email": f"nobody{n}@example.org", "password": "guess-xyz-1"})
        statuses.append(response.status_code)
    return statuses


async def test_a_spoofed_forwarded_for_from_an_untrusted_client_does_not_change_its_rate_limit_key(
        frozen_clock, settings, database):
    app = app_for(settings, trusted_proxies=(PROXY,))
    async with browser_from(app, "198.51.100.7") as attacker:
        statuses = await login_statuses(attacker, [f"203.0.113.{n}" for n in range(5)])
    assert statuses[:3] == [400, 400, 400] and statuses[3:] == [429, 429], statuses


async def test_through_a_trusted_proxy_two_clients_get_two_keys_and_their_own_header_is_not_believed(
        frozen_clock, settings, database):
    app = app_for(settings, trusted_proxies=(PROXY, "10.1.0.0/16"))
    async with browser_from(app, PROXY) as proxy:
        # Client A spends its limit (writing a forged hop on the left does not help: the proxy appends the real one).
        spent = await login_statuses(proxy, [f"6.6.6.{n}, 192.0.2.10" for n in range(4)])
        assert spent == [400, 400, 400, 429], spent
        # Client B, behind the same proxy (and a second trusted hop), still logs in attempts of its own.
        other = await login_statuses(proxy, ["192.0.2.20, 10.1.4.4"])
        assert other == [400], other
    # Without TRUSTED_PROXIES the proxy's own address is the key: everyone behind it shares one bucket.
    shared = app_for(settings)
    async with browser_from(shared, PROXY) as proxy:
        statuses = await login_statuses(proxy, ["192.0.2.10", "192.0.2.20", "192.0.2.30", "192.0.2.40"])
    assert statuses[3] == 429


def test_client_address_reads_only_the_hops_trusted_proxies_wrote():
    trusted = ("127.0.0.1", "10.0.0.0/8")
    assert client_address("127.0.0.1", ["1.1.1.1, 2.2.2.2"], trusted) == "2.2.2.2"
    assert client_address("127.0.0.1", ["1.1.1.1", "2.2.2.2, 10.0.0.9"], trusted) == "2.2.2.2"
    assert client_address("8.8.8.8", ["1.1.1.1"], trusted) == "8.8.8.8"
    assert client_address("127.0.0.1", ["1.1.1.1"], ()) == "127.0.0.1"
    assert client_address("127.0.0.1", ["not-an-address"], trusted) == "127.0.0.1"
    assert client_address("127.0.0.1", ["[2001:db8::1]:443"], trusted) == "2001:db8::1"
    assert network_of("203.0.113.77") == "203.0.113.0/24"
    assert network_of("2001:db8:1:2::5") == "2001:db8:1::/48"


@pytest.mark.parametrize("env", ["production", "development"])
def test_careers_check_warns_in_production_while_trusted_proxies_is_unset(settings, env):
    warnings = _proxy_warnings(settings.replace(env=env))
    if env == "production":
        assert warnings and "TRUSTED_PROXIES=" in warnings[0] and "X-Forwarded-For" in warnings[0]
    else:
        assert warnings == []
    assert _proxy_warnings(settings.replace(env="production", trusted_proxies=("127.0.0.1",))) == []


def test_serve_turns_off_uvicorns_own_proxy_headers():
    from careers import supervisor

    assert "--no-proxy-headers" in supervisor.web_server_argv("uvicorn", "127.0.0.1", 8000, 1)
    # granian reads no forwarded headers unless told to
    assert not any("proxy" in arg for arg in supervisor.web_server_argv("granian", "127.0.0.1", 8000, 1))
