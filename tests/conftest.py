"""Shared fixtures: key files made once per session, a fixed clock, app builders."""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from hypothesis import HealthCheck, settings
from pyramid.config import Configurator
from webtest import TestApp

from pyramid_jwtnode import testing

# Property-based tests: a quick profile for every run, a deep one on demand:
#   HYPOTHESIS_PROFILE=deep pytest tests/security/test_properties.py
settings.register_profile("default", max_examples=150, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.function_scoped_fixture])
settings.register_profile("deep", max_examples=100_000, deadline=None,
                          suppress_health_check=list(HealthCheck))
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

#: A fixed "now" for every test that depends on time: 2026-01-01T00:00:00Z.
NOW = 1767225600

HS256_SECRET = "test-secret-that-is-at-least-32-bytes-long!"
HS384_SECRET = "x" * 48
HS512_SECRET = "y" * 64


class Clock(testing.Clock):
    """The package's settable test clock, starting at :data:`NOW`."""

    def __init__(self, now: float = NOW) -> None:
        super().__init__(now)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@dataclasses.dataclass
class KeyPair:
    private: Path
    public: Path
    private_key: Any


def _write_pair(directory: Path, stem: str, key: Any, password: bytes | None = None) -> KeyPair:
    encryption = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    private = directory / f"{stem}.pem"
    public = directory / f"{stem}.pub"
    private.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    )
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return KeyPair(private, public, key)


@pytest.fixture(scope="session")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, KeyPair]:
    """Key pairs on disk: rsa, rsa2 (rotation), rsa1024, p256, p256b, p384, p521, ed25519, encrypted."""
    d = tmp_path_factory.mktemp("keys")
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return {
        "rsa": _write_pair(d, "rsa", rsa_key),
        "rsa2": _write_pair(d, "rsa2", rsa.generate_private_key(public_exponent=65537, key_size=2048)),
        "rsa1024": _write_pair(d, "rsa1024", rsa.generate_private_key(public_exponent=65537, key_size=1024)),
        "p256": _write_pair(d, "p256", ec.generate_private_key(ec.SECP256R1())),
        "p256b": _write_pair(d, "p256b", ec.generate_private_key(ec.SECP256R1())),
        "p384": _write_pair(d, "p384", ec.generate_private_key(ec.SECP384R1())),
        "p521": _write_pair(d, "p521", ec.generate_private_key(ec.SECP521R1())),
        "ed25519": _write_pair(d, "ed25519", ed25519.Ed25519PrivateKey.generate()),
        "encrypted": _write_pair(d, "encrypted", rsa_key, password=b"correct horse"),
    }


@pytest.fixture
def make_app() -> Iterator[Callable[..., TestApp]]:
    """Build a TestApp from settings and a function that configures the Configurator."""

    def build(settings: dict[str, Any] | None = None, setup: Callable[[Configurator], None] | None = None) -> TestApp:
        with Configurator(settings=settings or {}) as config:
            config.include("pyramid_jwtnode")
            if setup is not None:
                setup(config)
        return TestApp(config.make_wsgi_app())

    yield build


# -- a real Redis for the revocation tests ------------------------------------------


class RedisServer:
    """A redis-server of our own on a free loopback port, which tests may stop and start."""

    def __init__(self, binary: str, directory: Path) -> None:
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.binary = binary
        self.directory = directory
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        import redis

        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.2)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                return
            except redis.exceptions.ConnectionError:
                if time.monotonic() > deadline:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None

    def client(self) -> Any:
        import redis

        return redis.Redis.from_url(self.url)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A real Redis for the session; skipped where no redis-server exists, unless
    JWTNODE_REQUIRE_REDIS=1 (as .ci/run sets), where its absence fails the run."""
    binary = shutil.which("redis-server")
    if binary is None:
        _need_redis("redis-server")
        raise AssertionError("unreachable")
    server = RedisServer(binary, tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


def _need_redis(what: str) -> None:
    message = f"{what} is required (JWTNODE_REQUIRE_REDIS=1) but not installed"
    if os.environ.get("JWTNODE_REQUIRE_REDIS") == "1":
        pytest.fail(message)
    pytest.skip(f"{what} not installed: apt-get install redis-server (CI installs it)")


@pytest.fixture(scope="session")
def redis_url(request: pytest.FixtureRequest) -> str:
    """A shared Redis: the one .ci/run started (JWTNODE_REDIS_URL), else this session's own."""
    from .services import REDIS_URL_ENV

    url = os.environ.get(REDIS_URL_ENV)
    if url:
        return url
    server: RedisServer = request.getfixturevalue("redis_server")
    return server.url


@pytest.fixture(scope="session")
def redis_cluster_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A three-primary Redis Cluster: the one .ci/run started (JWTNODE_REDIS_CLUSTER_URL), else
    one of this session's own, stopped at its end."""
    from . import services

    url = os.environ.get(services.CLUSTER_URL_ENV)
    if url:
        yield url
        return
    if shutil.which("redis-server") is None or shutil.which("redis-cli") is None:
        _need_redis("redis-server and redis-cli")
    processes, ports = services.start_cluster(tmp_path_factory.mktemp("cluster"))
    try:
        yield f"redis+cluster://127.0.0.1:{ports[0]}"
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=10)


@pytest.fixture
def store_prefix() -> str:
    """A key prefix of this test's own, so that tests sharing one Redis never meet."""
    import secrets

    return f"t{secrets.token_hex(4)}:"
