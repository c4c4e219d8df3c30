"""Store growth: what one login costs the revocation store, and how long its records are kept.

    python bench/store_growth.py [N [LABEL]]  # writes bench/results/store-growth-<date>[-LABEL].md

N logins (default 20,000) of distinct users on a config with refresh tokens, then as many
again each followed by a logout, on the memory store (tracemalloc: the bytes the store still
holds, per login) and on a local Redis of its own (``MEMORY USAGE`` of each key, and
``used_memory`` before and after, per login), with the TTL Redis gives each record. The
settings are the docs' ``api.ini``: access tokens 300 s, refresh tokens 14 days, families at
most 30 days. The clock is fixed, so nothing expires while it counts.
"""

from __future__ import annotations

import datetime
import gc
import platform
import secrets
import shutil
import socket
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

from pyramid.config import Configurator

from pyramid_jwtnode import get_jwt_runtime
from pyramid_jwtnode.integration.revocation import Revocation
from pyramid_jwtnode.tools.testing import Clock

RESULTS = Path(__file__).resolve().parent / "results"
SECRET = "a-benchmark-secret-of-at-least-thirty-two-bytes"
SETTINGS: dict[str, Any] = {"algorithm": "HS256", "secret": SECRET, "expires_in": 300,
                            "refresh_expires_in": 1209600, "refresh_max_age": 2592000}


def revocation(store: str, prefix: str) -> Revocation:
    extra = {"store_prefix": prefix} if store != "memory" else {}
    with Configurator() as config:
        config.include("pyramid_jwtnode")
        config.add_jwt_config("api", clock=Clock(1_800_000_000), revocation_store=store, **SETTINGS, **extra)
    found = get_jwt_runtime(config.registry).revocation
    assert found is not None
    return found


def logins(rev: Revocation, n: int, logout: bool, tag: str) -> None:
    """``n`` logins of distinct users, each followed by a logout when ``logout``."""
    for i in range(n):
        issued = rev.issue_pair({"sub": f"user-{tag}-{i:06d}@example.com"})
        if logout:
            rev.revoke(issued.claims)


def memory(n: int) -> dict[str, float]:
    figures = {}
    for logout in (False, True):
        rev = revocation("memory", "")
        logins(rev, 10, logout, "warm")  # imports, caches and the like
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        logins(rev, n, logout, "m")
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        figures["logout" if logout else "login"] = (after - before) / n
    return figures


def start_redis() -> tuple[subprocess.Popen[bytes], str]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is not installed: apt-get install redis-server")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                               "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import redis

    client = redis.Redis.from_url(f"redis://127.0.0.1:{port}/0")
    for _ in range(200):
        try:
            client.ping()
            break
        except redis.exceptions.ConnectionError:
            time.sleep(0.05)
    return server, f"redis://127.0.0.1:{port}/0"


def on_redis(url: str, n: int) -> tuple[dict[str, float], dict[str, str], str]:
    import redis

    client = redis.Redis.from_url(url)
    figures: dict[str, float] = {}
    ttls: dict[str, str] = {}
    version = str(client.info("server")["redis_version"])
    for logout in (False, True):
        prefix = f"b{secrets.token_hex(3)}:"
        rev = revocation(url, prefix)
        client.flushall()
        before = int(client.info("memory")["used_memory"])
        logins(rev, n, logout, "r")
        after = int(client.info("memory")["used_memory"])
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        usage = sum(int(client.memory_usage(key, samples=0) or 0) for key in keys)
        name = "logout" if logout else "login"
        figures[f"{name}_keys"] = len(keys) / n
        figures[f"{name}_memory_usage"] = usage / n
        figures[f"{name}_used_memory"] = (after - before) / n
        for key in keys[:50]:
            kind = "family" if b":fam:" in key else "revoked jti" if b":jti:" in key else "other"
            ttls.setdefault(f"{name}: {kind}", f"{int(client.ttl(key)):,} s")
    client.close()
    return figures, ttls, version


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    label = f"-{sys.argv[2]}" if len(sys.argv) > 2 else ""
    mem = memory(n)
    server, url = start_redis()
    try:
        red, ttls, version = on_redis(url, n)
    finally:
        server.terminate()
        server.wait(timeout=10)
    today = datetime.date.today().isoformat()
    lines = [
        f"# Store growth, {today}{' (' + label[1:] + ')' if label else ''}", "",
        f"`python bench/store_growth.py {n}{' ' + label[1:] if label else ''}`: {n:,} logins of distinct users (a refresh family "
        "each), then as many each followed by a logout. Settings of the docs' `api.ini`: "
        "`expires_in` 300 s, `refresh_expires_in` 14 days, `refresh_max_age` 30 days. "
        f"Python {platform.python_version()}, Redis {version}, {platform.machine()}.", "",
        "| per login | memory store (tracemalloc) | Redis `MEMORY USAGE` | Redis `used_memory` | Redis keys |",
        "|---|---|---|---|---|",
        f"| login | {mem['login']:.0f} B | {red['login_memory_usage']:.0f} B | "
        f"{red['login_used_memory']:.0f} B | {red['login_keys']:.2f} |",
        f"| login, then logout | {mem['logout']:.0f} B | {red['logout_memory_usage']:.0f} B | "
        f"{red['logout_used_memory']:.0f} B | {red['logout_keys']:.2f} |",
        "", "TTL Redis gives each kind of record, read when the run ends (seconds after it was "
        "written):", "",
        "| record | TTL |", "|---|---|",
        *[f"| {what} | {ttl} |" for what, ttl in sorted(ttls.items())], "",
    ]
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"store-growth-{today}{label}.md"
    out.write_text("\n".join(lines))
    print("\n".join(lines))
    print(f"written to {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
