"""The Redis store for real: TTLs, an outage answered 503 (fail closed) and recovery, and
two waitress processes sharing one Redis."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest
from pyramid.authorization import Allow, Authenticated
from pyramid.config import Configurator
from webtest import TestApp

from pyramid_jwtnode import RedisStore, StoreUnavailableError

from .conftest import HS256_SECRET, RedisServer
from .helpers import http, serve_ini

pytestmark = pytest.mark.usefixtures("redis_server")


def test_store_keys_expire_with_the_token(redis_server: RedisServer) -> None:
    store = RedisStore(redis_server.url, prefix="myapp:jwt:")
    store.revoke("api:jti:abc", 120)
    assert store.status("api:jti:abc", None, None) == (True, None)
    assert store.status("api:jti:zzz", None, None) == (False, None)
    assert 0 < redis_server.client().ttl("myapp:jwt:{api:jti:abc}") <= 120


def test_unreachable_store_raises_store_unavailable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    store = RedisStore(f"redis://127.0.0.1:{port}/0", prefix="t:")
    with pytest.raises(StoreUnavailableError):
        store.status("x", None, None)


class Root:
    __acl__ = [(Allow, Authenticated, "read")]

    def __init__(self, request: Any) -> None:
        pass


def test_outage_is_503_without_traceback_and_recovers(redis_server: RedisServer) -> None:
    with Configurator(root_factory=Root) as config:
        config.include("pyramid_jwtnode")
        config.add_jwt_config("api", algorithm="HS256", secret=HS256_SECRET, expires_in=300,
                              refresh_expires_in=3600, revocation_store=redis_server.url,
                              store_prefix="t-outage:",
                              token_route="/token", payload=lambda r: {"sub": "alice"},
                              refresh_route="/refresh", revocation_route="/revoke")
        config.set_jwt_security_policy("api")
        config.add_route("protected", "/protected")
        config.add_view(lambda r: {"ok": True}, route_name="protected", permission="read", renderer="json")
    app = TestApp(config.make_wsgi_app())
    body = app.post("/token").json
    auth = {"Authorization": f"Bearer {body['access_token']}"}
    app.get("/protected", headers=auth, status=200)

    redis_server.stop()
    try:
        for res in (
            app.get("/protected", headers=auth, status=503),
            app.post("/refresh", {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]},
                     status=503),
            app.post("/revoke", {"token": body["access_token"]}, status=503),
        ):
            assert res.json["error"] == "temporarily_unavailable"
            assert res.headers["Retry-After"] == "5"
            assert "Traceback" not in res.text and "eyJ" not in res.text
        # a login starts a refresh family in the store: it cannot, so it is a 503 too
        assert app.post("/token", status=503).json["error"] == "temporarily_unavailable"
    finally:
        redis_server.start()
    app.get("/protected", headers=auth, status=200)
    # this Redis restarted empty (no persistence): the family is gone, so its refresh token ends
    # with it (fail closed; documented), and logging in again works
    app.post("/refresh", {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]}, status=400)
    again = app.post("/token").json
    new = app.post("/refresh", {"grant_type": "refresh_token", "refresh_token": again["refresh_token"]}).json
    app.get("/protected", headers={"Authorization": f"Bearer {new['access_token']}"}, status=200)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_two_processes_share_revocations(redis_server: RedisServer, tmp_path: Path) -> None:
    """A token revoked through one waitress process is refused by the other."""
    ini = tmp_path / "app.ini"
    ini.write_text(f"""[app:main]
use = call:example_app:main
jwt.configs = igniteadmin
jwt.security_policy = igniteadmin
jwt.igniteadmin.algorithm = HS256
jwt.igniteadmin.secret = {"s" * 40}
jwt.igniteadmin.expires_in = 300
jwt.igniteadmin.claims_key = data
jwt.igniteadmin.token_route = /jwt/generate
jwt.igniteadmin.token_route_method = GET
jwt.igniteadmin.payload = example_app:recipe_payload
jwt.igniteadmin.verify_route = /jwt/verify
jwt.igniteadmin.revocation_store = {redis_server.url}
jwt.igniteadmin.store_prefix = igniteadmin:jwt:
jwt.igniteadmin.revocation_route = /jwt/revoke
""")
    ports = free_port(), free_port()
    servers = [serve_ini(ini, port) for port in ports]
    try:
        a, b = (f"http://127.0.0.1:{port}" for port in ports)
        status, body = http("GET", f"{a}/jwt/generate")
        assert status == 200
        token = body["access_token"]
        assert http("GET", f"{b}/jwt/verify", token=token)[0] == 200
        assert http("POST", f"{a}/jwt/revoke", {"token": token}) == (200, None)
        status, answer = http("GET", f"{b}/jwt/verify", token=token)
        assert status == 401 and answer["error"] == "invalid_token"
        assert http("GET", f"{a}/jwt/verify", token=token)[0] == 401
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=10)


@pytest.mark.slow
def test_the_documented_clean_up_of_the_old_keys_removes_only_those(redis_server: RedisServer) -> None:
    """docs/refresh-and-revocation.rst, "Upgrading": its two redis-cli lines, run as written
    (on a database of their own), remove the keys they say and nothing else."""
    import re
    import subprocess

    from pyramid_jwtnode.integration.settings import issuer_store_prefix

    docs = (Path(__file__).resolve().parent.parent / "docs" / "refresh-and-revocation.rst").read_text()
    every_old, old_families = re.findall(r"\$ (redis-cli --scan .*)", docs)
    import redis

    db = redis.Redis.from_url(redis_server.url.rsplit("/", 1)[0] + "/9")  # a database of its own
    derived = issuer_store_prefix("https://myapp.example")
    old = ["pyramid_jwtnode:{api:jti:a}", "pyramid_jwtnode:{api:fam:f1}", "pyramid_jwtnode:{api:sub:alice}",
           "pyramid_jwtnode:{api:sub:al ice}", "pyramid_jwtnode:{api:fam:f 2}"]
    new_kept_prefix = ["pyramid_jwtnode:{api:sub:bob}api:fam:g1"]
    others = [f"{derived}{{api:jti:b}}", f"{derived}{{api:sub:carol}}api:fam:g2", "shop:jwt:{api:fam:h}"]

    def fill(kept: list[str]) -> None:
        db.flushdb()
        for key in old + kept + others:
            db.set(key, "1", ex=600)

    def run(line: str) -> set[str]:
        command = line.replace("redis-cli", f"redis-cli -p {redis_server.port} -n 9")
        subprocess.run(["bash", "-c", command], check=True, capture_output=True)
        return {key.decode() for key in db.scan_iter(count=1000)}

    try:
        fill([])  # no app keeps store_prefix = pyramid_jwtnode:
        assert run(every_old) == set(others)
        fill(new_kept_prefix)  # one does
        assert run(old_families) == set(old + new_kept_prefix + others) - {
            "pyramid_jwtnode:{api:fam:f1}", "pyramid_jwtnode:{api:fam:f 2}"}
    finally:
        db.flushdb()


def test_sentinel_urls_keep_their_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """redis+sentinel://user:password@... : the credentials reach the sentinels and the primary
    (they were dropped, so a password-protected Sentinel could never authenticate)."""
    import redis.sentinel

    made: dict[str, Any] = {}

    class Sentinel:
        def __init__(self, hosts: Any, sentinel_kwargs: Any = None, **kwargs: Any) -> None:
            made.update(hosts=hosts, sentinel_kwargs=sentinel_kwargs, kwargs=kwargs)

        def master_for(self, service: str, **kwargs: Any) -> Any:
            made.update(service=service, primary=kwargs)
            return redis.Redis()  # a client, never asked here

    monkeypatch.setattr(redis.sentinel, "Sentinel", Sentinel)
    RedisStore("redis+sentinel://app:p%40ss@h1:26379,h2:26380/mymaster/2", prefix="t:")
    assert made["hosts"] == [("h1", 26379), ("h2", 26380)] and made["service"] == "mymaster"
    assert made["primary"]["db"] == 2
    for kwargs in (made["sentinel_kwargs"], made["kwargs"], made["primary"]):
        assert kwargs["username"] == "app" and kwargs["password"] == "p@ss"
    made.clear()
    RedisStore("redis+sentinel://:secret@h1/mymaster", prefix="t:")
    assert "username" not in made["primary"] and made["primary"]["password"] == "secret"
