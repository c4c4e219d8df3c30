"""Load and soak check: the example app on waitress, driven by concurrent clients.

    python bench/soak.py                 # 60 s, 8 clients, writes bench/results/soak-<date>.md
    python bench/soak.py --seconds 10    # a quick look

It serves ``example_app/testing.ini`` with waitress on 127.0.0.1 (a free port) in a
child process and drives it with a mix of requests, each with the one answer it
must get:

    issue      GET /jwt/generate                        -> 200 with a token that verifies
    valid      GET /jwt/verify, a fresh token           -> 200 with the recipe payload
    expired    GET /jwt/verify, an expired token        -> 401 invalid_token
    tampered   GET /jwt/verify, one character changed   -> 401 invalid_token
    garbage    GET /jwt/verify, random Authorization    -> 400 invalid_request or 401
    forbidden  GET /jwt/admin, a valid token            -> 403 insufficient_scope
    missing    GET /jwt/offices, no token               -> 401 bare challenge

It reports the totals per answer, every wrong answer, every 5xx, p50/p99 latency,
and the server's RSS after warm-up and at the end. Targets: 0 wrong answers, 0 5xx,
RSS growth under 10 %. The exit status is 1 when a target is missed. Only
127.0.0.1 is ever contacted, and the run stops by itself.
"""

from __future__ import annotations

import argparse
import datetime
import http.client
import json
import os
import platform
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import jwt

ROOT = Path(__file__).resolve().parent.parent
INI = ROOT / "example_app" / "testing.ini"
RESULTS = ROOT / "bench" / "results"
SECRET = "development-only-secret-do-not-use-in-production"  # testing.ini's public secret

KINDS = ("issue", "valid", "expired", "tampered", "garbage", "forbidden", "missing")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(port: int, threads: int) -> subprocess.Popen[bytes]:
    code = (
        "from pyramid.paster import get_app, setup_logging; import sys, waitress; "
        "setup_logging(sys.argv[1]); "
        "waitress.serve(get_app(sys.argv[1]), listen='127.0.0.1:' + sys.argv[2], "
        "threads=int(sys.argv[3]), _quiet=True)"
    )
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    # The server logs every refused token (INFO): to a file, never to a pipe nobody drains.
    log = tempfile.NamedTemporaryFile(prefix="soak-server-", suffix=".log", delete=False)
    server = subprocess.Popen(
        [sys.executable, "-c", code, str(INI), str(port), str(threads)],
        env=env, stdout=subprocess.DEVNULL, stderr=log,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return server
        except OSError:
            if server.poll() is not None:
                raise SystemExit(f"server exited; its log: {log.name}") from None
            time.sleep(0.1)
    server.kill()
    raise SystemExit("server did not start within 30 s")


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def expired_token() -> str:
    now = int(time.time())
    return jwt.encode({"data": {"name": "x"}, "iat": now - 7200, "exp": now - 3600}, SECRET, "HS256")


def tamper(token: str, rng: random.Random) -> str:
    index = rng.randrange(len(token))
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    replacement = rng.choice([c for c in alphabet if c != token[index]])
    if token[index] == ".":
        replacement = "."  # keep the shape; change the character after instead
        index = min(index + 1, len(token) - 1)
        replacement = rng.choice([c for c in alphabet if c != token[index]])
    return token[:index] + replacement + token[index + 1:]


def garbage(rng: random.Random) -> str:
    choice = rng.randrange(5)
    if choice == 0:
        return "Bearer " + "".join(rng.choice("abcXYZ012.-_") for _ in range(rng.randrange(1, 300)))
    if choice == 1:
        # any byte a client may send in a header value (no controls): 0x20-0x7e and 0x80-0xff
        allowed = [*range(0x20, 0x7F), *range(0x80, 0x100)]
        return "Bearer " + bytes(rng.choice(allowed) for _ in range(rng.randrange(1, 100))).decode("latin-1")
    if choice == 2:
        return "Bearer a.b.c d"
    if choice == 3:
        return "Bearer " + "e" * rng.randrange(8000, 12000)
    return rng.choice(["Bearer", "Basic dXNlcjpwYXNz", "bearer ", "Bearer x, Bearer y"])


class Client(threading.Thread):
    def __init__(self, port: int, stop_at: float, seed: int, max_requests: int) -> None:
        super().__init__(daemon=True)
        self.port = port
        self.stop_at = stop_at
        self.rng = random.Random(seed)
        self.max_requests = max_requests
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.answers: Counter[tuple[str, int]] = Counter()
        self.wrong: list[str] = []
        self.fresh: str | None = None
        self.expired = expired_token()

    def request(self, conn: http.client.HTTPConnection, path: str, auth: str | None) -> tuple[int, dict[str, str], bytes]:
        headers = {"Authorization": auth} if auth is not None else {}
        conn.putrequest("GET", path, skip_accept_encoding=True)
        for name, value in headers.items():
            conn.putheader(name, value.encode("latin-1"))
        conn.endheaders()
        response = conn.getresponse()
        body = response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, body

    def check(self, kind: str, status: int, headers: dict[str, str], body: bytes) -> str | None:
        challenge = headers.get("www-authenticate", "")
        if kind == "issue":
            if status != 200:
                return f"status {status}"
            token = json.loads(body)["access_token"]
            claims = jwt.decode(token, SECRET, algorithms=["HS256"])
            if claims["data"]["name"] != "CYber Group Inc.":
                return "wrong claims"
            self.fresh = token
            return None
        if kind == "valid":
            return None if status == 200 and json.loads(body)["data"]["name"] == "CYber Group Inc." else f"status {status}"
        if kind in ("expired", "tampered"):
            return None if status == 401 and 'error="invalid_token"' in challenge else f"status {status} {challenge}"
        if kind == "garbage":
            ok = (status == 401 and ("invalid_token" in challenge or challenge == 'Bearer realm="igniteadmin"')) or (
                status == 400 and "invalid_request" in challenge)
            return None if ok else f"status {status} {challenge}"
        if kind == "forbidden":
            return None if status == 403 and "insufficient_scope" in challenge else f"status {status}"
        if kind == "missing":
            return None if status == 401 and challenge == 'Bearer realm="igniteadmin"' else f"status {status}"
        raise AssertionError(kind)

    def run(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        count = 0
        while time.monotonic() < self.stop_at and count < self.max_requests:
            kind = "issue" if self.fresh is None else self.rng.choice(KINDS)
            path, auth = {
                "issue": ("/jwt/generate", None),
                "valid": ("/jwt/verify", f"Bearer {self.fresh}"),
                "expired": ("/jwt/verify", f"Bearer {self.expired}"),
                "tampered": ("/jwt/verify", f"Bearer {tamper(self.fresh or 'x', self.rng)}"),
                "garbage": ("/jwt/verify", garbage(self.rng)),
                "forbidden": ("/jwt/admin", f"Bearer {self.fresh}"),
                "missing": ("/jwt/offices", None),
            }[kind]
            started = time.perf_counter()
            try:
                status, headers, body = self.request(conn, path, auth)
            except (http.client.HTTPException, OSError) as exc:
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                self.wrong.append(f"{kind}: connection error {type(exc).__name__}")
                continue
            self.latencies[kind].append(time.perf_counter() - started)
            self.answers[(kind, status)] += 1
            problem = self.check(kind, status, headers, body)
            if problem is not None:
                self.wrong.append(f"{kind}: {problem}")
            if headers.get("connection", "").lower() == "close":
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            count += 1
        conn.close()


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the measured run (default 60)")
    parser.add_argument("--warmup", type=float, default=5.0, help="warm-up before the RSS baseline (default 5)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent client connections (default 8)")
    parser.add_argument("--threads", type=int, default=4, help="waitress threads (default 4)")
    parser.add_argument("--max-requests", type=int, default=2_000_000, help="per client, a hard bound")
    parser.add_argument("--out", type=Path, default=None, help="results file (default bench/results/soak-<date>.md)")
    args = parser.parse_args(argv)

    port = free_port()
    server = start_server(port, args.threads)
    try:
        rss_boot = rss_kib(server.pid)
        warm = [Client(port, time.monotonic() + args.warmup, seed, args.max_requests) for seed in range(args.clients)]
        for c in warm:
            c.start()
        for c in warm:
            c.join()
        rss_start = rss_kib(server.pid)
        began = time.monotonic()
        clients = [Client(port, began + args.seconds, 1000 + seed, args.max_requests) for seed in range(args.clients)]
        samples = []
        for c in clients:
            c.start()
        while any(c.is_alive() for c in clients):
            time.sleep(1.0)
            samples.append((round(time.monotonic() - began, 1), rss_kib(server.pid)))
        elapsed = time.monotonic() - began
        rss_end = rss_kib(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=10)

    answers: Counter[tuple[str, int]] = Counter()
    latencies: dict[str, list[float]] = defaultdict(list)
    wrong: list[str] = []
    for c in clients:
        answers.update(c.answers)
        wrong.extend(c.wrong)
        for kind, values in c.latencies.items():
            latencies[kind].extend(values)
    every = [v for values in latencies.values() for v in values]
    total = sum(answers.values())
    server_errors = sum(n for (_, status), n in answers.items() if status >= 500)
    growth = (rss_end - rss_start) / rss_start * 100
    ok = not wrong and server_errors == 0 and growth < 10

    result: dict[str, Any] = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "platform": platform.platform(),
                    "cpus": os.cpu_count()},
        "run": {"seconds": round(elapsed, 1), "warmup_seconds": args.warmup, "clients": args.clients,
                "waitress_threads": args.threads},
        "requests": total,
        "requests_per_second": round(total / elapsed, 1),
        "answers": {f"{kind} {status}": n for (kind, status), n in sorted(answers.items())},
        "wrong_answers": len(wrong),
        "wrong_examples": wrong[:20],
        "server_errors_5xx": server_errors,
        "latency_ms": {
            "all": {"p50": round(percentile(every, 0.50) * 1000, 2), "p99": round(percentile(every, 0.99) * 1000, 2)},
            **{kind: {"p50": round(percentile(v, 0.50) * 1000, 2), "p99": round(percentile(v, 0.99) * 1000, 2)}
               for kind, v in sorted(latencies.items())},
        },
        "rss_kib": {"boot": rss_boot, "start_after_warmup": rss_start, "end": rss_end,
                    "growth_percent": round(growth, 2), "max": max(s for _, s in samples) if samples else rss_end},
        "targets_met": ok,
    }
    out = args.out or RESULTS / f"soak-{datetime.date.today().isoformat()}.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render(result))
    print(render(result))
    print(f"written to {out}")
    return 0 if ok else 1


def render(r: dict[str, Any]) -> str:
    lines = [
        f"# Soak run {r['date']}",
        "",
        f"Machine: {r['machine']['platform']}, {r['machine']['cpus']} CPUs, Python {r['machine']['python']}.  ",
        f"Run: {r['run']['seconds']} s after {r['run']['warmup_seconds']} s warm-up, "
        f"{r['run']['clients']} clients, waitress with {r['run']['waitress_threads']} threads, "
        "example_app/testing.ini on 127.0.0.1.",
        "",
        f"- requests: {r['requests']} ({r['requests_per_second']} req/s)",
        f"- wrong answers: **{r['wrong_answers']}**",
        f"- 5xx: **{r['server_errors_5xx']}**",
        f"- latency: p50 {r['latency_ms']['all']['p50']} ms, p99 {r['latency_ms']['all']['p99']} ms",
        f"- server RSS: {r['rss_kib']['boot']} KiB at boot, {r['rss_kib']['start_after_warmup']} KiB after "
        f"warm-up, {r['rss_kib']['end']} KiB at the end (max {r['rss_kib']['max']}): "
        f"**{r['rss_kib']['growth_percent']} %** growth",
        f"- targets (0 wrong, 0 5xx, RSS growth < 10 %): **{'met' if r['targets_met'] else 'MISSED'}**",
        "",
        "| request and answer | count |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in r["answers"].items()],
        "",
        "| request | p50 ms | p99 ms |",
        "|---|---|---|",
        *[f"| {k} | {v['p50']} | {v['p99']} |" for k, v in r["latency_ms"].items()],
        "",
        "```json",
        json.dumps(r, indent=2),
        "```",
        "",
    ]
    if r["wrong_examples"]:
        lines[-3:-3] = ["Wrong answers (first 20):", "", *[f"- {w}" for w in r["wrong_examples"]], ""]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
