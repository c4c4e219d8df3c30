"""Side-by-side load benchmark of the recipe's token route, alternating targets A B A B ...

    bash bench/run                      # installs wrk (and, with npm, Node-RED), then runs this
    python bench/compare.py --seconds 10 --rounds 3

Targets, each a server on 127.0.0.1 driven by ``wrk -t1 -c8 -d<seconds>s``:

    addon-HS256        the example's token route through pyramid_jwtnode (waitress, 4 threads)
    handwritten-HS256  a hand-written Pyramid view calling PyJWT with a pre-loaded key
    bare-HS256         a bare WSGI callable doing the same
    nodered            the recipe's own flow on Node-RED 4.1.8 + node-red-contrib-jwt 0.1.0
    addon/handwritten  RS256, ES256 and EdDSA variants
    protected, open    one route behind the bearer-token policy, one without
    *-metrics          addon-HS256 and protected with Prometheus metrics on; *-metrics-mp the
                       same in prometheus_client's multiprocess mode (PROMETHEUS_MULTIPROC_DIR),
                       as under a server with several workers
    *-unpinned         addon and handwritten with the server free to float across CPUs
    serve-*            the token route and a protected view (/jwt/offices) under the production
                       server (example_app/serve's granian, one worker), production.ini against
                       docs/examples/metrics.ini in multiprocess mode (-metrics-mp)

Every server runs pinned to one CPU (taskset, --server-cpu) and wrk to the other
(--client-cpu), so the two never fight for a core; Python targets are one waitress
process with 4 threads (pserve's default shape; --processes/--threads change it). The
"-unpinned" pair shows what a multi-threaded process floating over 2 vCPUs costs here.

For each: req/s, p50/p99 latency, server CPU (cores), RSS and PSS (shared pages
divided among the processes: the memory the deployment really uses), as medians over the
rounds, and the ratios to the hand-written view and to Node-RED. Results go to
bench/results/compare-<date>.md with the machine's details. Only 127.0.0.1 is used.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results"
NODE_CACHE = BENCH / ".nodered"
sys.path.insert(0, str(BENCH))
import apps  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Target:
    name: str
    command: list[str]
    path: str = "/jwt/generate"
    headers: list[str] = field(default_factory=list)
    port: int = 0
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    runs: list[dict[str, float]] = field(default_factory=list)


def multiproc(name: str) -> dict[str, str]:
    """The environment of a target in prometheus_client's multiprocess mode: a directory of its
    own, emptied first (as a server's start-up should)."""
    directory = Path(os.environ.get("TMPDIR", "/tmp")) / f"jwtnode-bench-metrics-{name}"
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    return {"PROMETHEUS_MULTIPROC_DIR": str(directory)}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


PIN: list[str] = []  # "taskset -c <server cpu>", set by main()
CLIENT_PIN: list[str] = []


def python_target(name: str, app: str, algorithm: str, processes: int, threads: int,
                  pinned: bool = True, **kw: Any) -> Target:
    port = free_port()
    command = [*(PIN if pinned else []), sys.executable, str(BENCH / "serve.py"), app, algorithm,
               str(port), "--processes", str(processes), "--threads", str(threads)]
    return Target(name, command, port=port, **kw)


#: The secret the serve targets sign with (IGNITE_JWT_SECRET), and the scraper's token.
SERVE_SECRET = "bench-" + "s" * 42
SCRAPER_TOKEN = "bench-scraper-" + "t" * 20


def serve_target(name: str, ini: str, metrics: bool = False, protected: bool = False) -> Target:
    """``ini`` on granian as ``example_app/serve`` runs it, with one worker pinned like the
    others; ``protected``: ``GET /jwt/offices`` with a token of production.ini's policy."""
    import jwt  # the bench's venv has PyJWT (the add-on depends on it)

    port = free_port()
    env = {"HOST": "127.0.0.1", "PORT": str(port), "WEB_CONCURRENCY": "1", "IGNITE_JWT_SECRET": SERVE_SECRET}
    if metrics:
        env.update(multiproc(name), METRICS_TOKEN=SCRAPER_TOKEN)
    command = [*PIN, sys.executable, "-c", "import sys; from pyramid_jwtnode.tools.granian import serve; "
               "serve(sys.argv[1])", str(ROOT / ini)]
    if not protected:
        return Target(name, command, port=port, env=env)
    token = jwt.encode({"data": {"name": "bench"}, "iat": int(time.time()), "exp": int(time.time()) + 86400},
                       SERVE_SECRET, algorithm="HS256")
    return Target(name, command, path="/jwt/offices", headers=[f"Authorization: Bearer {token}"], port=port,
                  env=env)


def nodered_target(seconds_to_install: float = 300) -> Target | None:
    """The recipe's flow on Node-RED, installed from npm into bench/.nodered (reused)."""
    npm = shutil.which("npm")
    node = shutil.which("node")
    if npm is None or node is None:
        print("npm or node not found: skipping the Node-RED target", file=sys.stderr)
        return None
    NODE_CACHE.mkdir(exist_ok=True)
    red = NODE_CACHE / "node_modules" / "node-red" / "red.js"
    if not red.exists() or not (NODE_CACHE / "node_modules" / "node-red-contrib-jwt").exists():
        print("installing node-red@4.1.8 and node-red-contrib-jwt@0.1.0 into bench/.nodered ...",
              file=sys.stderr)
        subprocess.run([npm, "install", "--no-audit", "--no-fund", "--loglevel=error",
                        "node-red@4.1.8", "node-red-contrib-jwt@0.1.0"],
                       cwd=NODE_CACHE, check=True, timeout=seconds_to_install,
                       stdout=subprocess.DEVNULL)
    port = free_port()
    payload = json.dumps({"data": apps.PAYLOAD})
    flow = [
        {"id": "recipe", "type": "tab", "label": "Generate JWT"},
        {"id": "in", "type": "http in", "z": "recipe", "url": "/jwt/generate", "method": "get",
         "upload": False, "swaggerDoc": "", "wires": [["payload"]]},
        {"id": "payload", "type": "function", "z": "recipe", "name": "Setting payload to encode",
         "func": f"msg.payload = {payload};\nreturn msg;", "outputs": 1, "noerr": 0,
         "wires": [["sign"]]},
        # The recipe's own jwt node is not published; node-red-contrib-jwt's "jwt sign" does the
        # same job. exp is a number: jsonwebtoken reads a string as milliseconds.
        {"id": "sign", "type": "jwt sign", "z": "recipe", "name": "creating jwt", "alg": "HS256",
         "exp": apps.LIFETIME, "secret": apps.SECRET, "key": "", "jwkurl": "", "jwkkid": "",
         "signvar": "payload", "storetoken": "payload", "wires": [["wrap"]]},
        {"id": "wrap", "type": "function", "z": "recipe", "name": "Setting jwt as access_token",
         "func": "msg.payload = {\n    \"access_token\" : msg.payload\n}\nreturn msg;",
         "outputs": 1, "noerr": 0, "wires": [["out"]]},
        {"id": "out", "type": "http response", "z": "recipe", "name": "", "statusCode": "",
         "headers": {"content-type": "application/json"}, "wires": []},
    ]
    (NODE_CACHE / "flows.json").write_text(json.dumps(flow))
    (NODE_CACHE / "settings.js").write_text(
        "module.exports = {uiHost: '127.0.0.1', uiPort: %d, httpAdminRoot: false, "
        "flowFile: 'flows.json', credentialSecret: false, "
        "logging: {console: {level: 'warn', metrics: false, audit: false}}};\n" % port)
    command = [*PIN, node, str(red), "--userDir", str(NODE_CACHE), "--settings",
               str(NODE_CACHE / "settings.js")]
    return Target("nodered", command, port=port)


def start(target: Target) -> None:
    target.process = subprocess.Popen(target.command, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL, start_new_session=True,
                                      env={**os.environ, **target.env} if target.env else None)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", target.port), timeout=0.2):
                pass
            status = subprocess.run(
                ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                 *sum((["-H", h] for h in target.headers), []),
                 f"http://127.0.0.1:{target.port}{target.path}"],
                capture_output=True, text=True, timeout=10).stdout
            if status == "200":
                return
        except OSError:
            pass
        if target.process.poll() is not None:
            raise SystemExit(f"{target.name} exited before serving")
        time.sleep(0.2)
    raise SystemExit(f"{target.name} did not answer 200 on {target.path} within 60 s")


def stop(target: Target) -> None:
    if target.process is not None and target.process.poll() is None:
        os.killpg(target.process.pid, signal.SIGTERM)
        try:
            target.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(target.process.pid, signal.SIGKILL)


def tree(pid: int) -> list[int]:
    pids = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return pids
    for child in children:
        pids.extend(tree(int(child)))
    return pids


def cpu_ticks(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except OSError:
            pass
    return total


def memory_kib(pids: list[int], field: str) -> int:
    """Sum of ``Rss`` or ``Pss`` (shared pages divided among their users) over processes."""
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith(f"{field}:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]


def wrk(target: Target, seconds: float) -> dict[str, float]:
    assert target.process is not None
    pids = tree(target.process.pid)
    before = cpu_ticks(pids)
    command = [*CLIENT_PIN, "wrk", "-t1", "-c8", f"-d{int(seconds)}s", "--latency",
               *sum((["-H", h] for h in target.headers), []),
               f"http://127.0.0.1:{target.port}{target.path}"]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    cpu_seconds = (cpu_ticks(pids) - before) / TICKS
    cpu = cpu_seconds / seconds
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"\s50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"\s99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:.*", out)
    if non2xx or errors:
        raise SystemExit(f"{target.name}: wrong answers under load:\n{out}")
    # The server's CPU time per request: the work a request costs, which a busy machine slows
    # down less than it does requests/s (CPU ticks: 10 ms each, a few hundred per run).
    return {"rps": rps, "p50_ms": p50, "p99_ms": p99, "cpu_cores": cpu,
            "cpu_us_per_request": cpu_seconds / max(requests, 1) * 1e6,
            "rss_kib": memory_kib(pids, "Rss"), "pss_kib": memory_kib(pids, "Pss")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=5, help="length of one wrk run (default 5)")
    parser.add_argument("--rounds", type=int, default=7, help="A B A B rounds (default 7)")
    parser.add_argument("--only", nargs="*", help="only these targets (names as in the report)")
    parser.add_argument("--no-nodered", action="store_true", help="skip the Node-RED target")
    parser.add_argument("--processes", type=int, default=1,
                        help="waitress processes sharing one socket, for every Python target (default 1)")
    parser.add_argument("--threads", type=int, default=4, help="waitress threads per process (default 4)")
    parser.add_argument("--server-cpu", default="0", help="CPU the servers are pinned to (default 0)")
    parser.add_argument("--client-cpu", default="1", help="CPU wrk is pinned to (default 1)")
    parser.add_argument("--out", help="the report's file (default bench/results/compare-<date>.md)")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        raise SystemExit("wrk not found: run 'bash bench/run', or install the Debian package wrk")

    if shutil.which("taskset") and (os.cpu_count() or 1) >= 2:
        PIN[:] = ["taskset", "-c", args.server_cpu]
        CLIENT_PIN[:] = ["taskset", "-c", args.client_cpu]
    else:
        print("taskset missing or one CPU: servers and wrk are not pinned", file=sys.stderr)
    bearer = f"Authorization: Bearer {apps.bearer_token()}"
    p, t = args.processes, args.threads
    targets = [
        python_target("addon-HS256", "addon", "HS256", p, t),
        # metrics on, right after metrics off: each pair runs back to back in every round
        python_target("addon-HS256-metrics", "addon-metrics", "HS256", p, t),
        python_target("addon-HS256-metrics-mp", "addon-metrics", "HS256", p, t, env=multiproc("addon")),
        python_target("handwritten-HS256", "handwritten", "HS256", p, t),
        python_target("bare-HS256", "bare", "HS256", p, t),
        python_target("addon-RS256", "addon", "RS256", p, t),
        python_target("handwritten-RS256", "handwritten", "RS256", p, t),
        python_target("addon-ES256", "addon", "ES256", p, t),
        python_target("handwritten-ES256", "handwritten", "ES256", p, t),
        python_target("addon-EdDSA", "addon", "EdDSA", p, t),
        python_target("handwritten-EdDSA", "handwritten", "EdDSA", p, t),
        python_target("protected", "guarded", "-", p, t, path="/protected", headers=[bearer]),
        python_target("protected-metrics", "guarded-metrics", "-", p, t, path="/protected", headers=[bearer]),
        python_target("protected-metrics-mp", "guarded-metrics", "-", p, t, path="/protected",
                      headers=[bearer], env=multiproc("protected")),
        python_target("open", "guarded", "-", p, t, path="/open", headers=[bearer]),
        # the same, with the threads of one process free to run on either CPU
        python_target("addon-HS256-unpinned", "addon", "HS256", 1, 4, pinned=False),
        python_target("handwritten-HS256-unpinned", "handwritten", "HS256", 1, 4, pinned=False),
        # metrics under the production server: serve (one granian worker, one thread) on
        # production.ini, and on docs/examples/metrics.ini in multiprocess mode
        serve_target("serve-token", "example_app/production.ini"),
        serve_target("serve-token-metrics-mp", "docs/examples/metrics.ini", metrics=True),
        serve_target("serve-protected", "example_app/production.ini", protected=True),
        serve_target("serve-protected-metrics-mp", "docs/examples/metrics.ini", metrics=True, protected=True),
    ]
    if not args.no_nodered:
        node = nodered_target()
        if node is not None:
            targets.insert(5, node)
    if args.only:
        targets = [t for t in targets if t.name in args.only]
    try:
        for target in targets:
            start(target)
            wrk(target, 2)  # warm-up, not counted
        for round_ in range(args.rounds):
            for target in targets:
                target.runs.append(wrk(target, args.seconds))
                print(f"round {round_ + 1} {target.name}: {target.runs[-1]['rps']:.0f} req/s", file=sys.stderr)
    finally:
        for target in targets:
            stop(target)

    summary = {t.name: {k: round(statistics.median(r[k] for r in t.runs), 3) for k in t.runs[0]}
               for t in targets}
    ratios: dict[str, float] = {}

    by_name = {t.name: t for t in targets}

    def ratio(a: str, b: str, key: str = "rps") -> None:
        """Median over rounds of the ratio of two runs made back to back in the same round,
        so that drifts of the machine (steal time, frequency) cancel."""
        if a in by_name and b in by_name:
            pairs = zip(by_name[a].runs, by_name[b].runs, strict=True)
            ratios[f"{a} / {b} ({key})"] = round(statistics.median(x[key] / y[key] for x, y in pairs), 3)

    for algorithm in ("HS256", "RS256", "ES256", "EdDSA"):
        ratio(f"addon-{algorithm}", f"handwritten-{algorithm}")
    ratio("addon-HS256-unpinned", "handwritten-HS256-unpinned")
    for route in ("token", "protected"):  # what counting costs under the production server
        ratio(f"serve-{route}-metrics-mp", f"serve-{route}")
        ratio(f"serve-{route}-metrics-mp", f"serve-{route}", "cpu_us_per_request")
    for suffix in ("-metrics", "-metrics-mp"):  # what counting costs
        ratio(f"addon-HS256{suffix}", "addon-HS256")
        ratio(f"protected{suffix}", "protected")
        ratio(f"addon-HS256{suffix}", "addon-HS256", "cpu_us_per_request")
        ratio(f"protected{suffix}", "protected", "cpu_us_per_request")
    for name in ("addon-HS256", "handwritten-HS256", "bare-HS256"):
        ratio(name, "nodered")
        ratio(name, "nodered", "pss_kib")
    if "protected" in summary and "open" in summary:
        ratios["protected vs open: added latency per request (ms, p50)"] = round(
            summary["protected"]["p50_ms"] - summary["open"]["p50_ms"], 3)
    report = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(),
        "load": (f"wrk -t1 -c8 -d{args.seconds}s, {args.rounds} rounds alternating A B A B; figures are "
                 "medians over rounds, ratios medians of per-round ratios"),
        "python_servers": f"waitress, {p} process(es) x {t} threads",
        "pinning": (f"servers on CPU {args.server_cpu}, wrk on CPU {args.client_cpu} (taskset); "
                    "'-unpinned' targets float" if PIN else "none"),
        "targets": summary,
        "ratios": ratios,
    }
    out = Path(args.out) if args.out else RESULTS / f"compare-{datetime.date.today().isoformat()}.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render(report))
    print(render(report))
    print(f"written to {out}")
    return 0


def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for package in ("pyramid", "PyJWT", "waitress", "cryptography", "WebOb"):
        try:
            from importlib.metadata import version

            versions[package] = version(package)
        except Exception:  # noqa: BLE001 - a missing package is just not reported
            pass
    node = shutil.which("node")
    if node:
        versions["node"] = subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip()
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_kib": _mem(), "python": platform.python_version(),
            "platform": platform.platform(), "versions": versions}


def _mem() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1])
    return 0


def machine_line(m: dict[str, Any], cores: str = "cores") -> str:
    """The results' "Machine:" line, from a machine() record."""
    return (f"Machine: {m['cpu']}, {m['cores']} {cores}, {m['memory_kib'] // 1024} MiB, {m['platform']}, "
            f"Python {m['python']}; " + ", ".join(f"{k} {v}" for k, v in m["versions"].items()) + ".  ")


def render(r: dict[str, Any]) -> str:
    m = r["machine"]
    lines = [
        f"# Token route benchmark {r['date']}", "",
        machine_line(m),
        f"Load: {r['load']}; the load generator shares the machine's 2 cores with the server.", "",
        f"Python servers: {r['python_servers']}. Pinning: {r['pinning']}.", "",
        "| target | req/s | p50 ms | p99 ms | server CPU (cores) | server CPU µs / request | server RSS MiB "
        "| server PSS MiB |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, s in r["targets"].items():
        lines.append(f"| {name} | {s['rps']:.0f} | {s['p50_ms']:.2f} | {s['p99_ms']:.2f} | "
                     f"{s['cpu_cores']:.2f} | {s['cpu_us_per_request']:.1f} | {s['rss_kib'] / 1024:.1f} | "
                     f"{s['pss_kib'] / 1024:.1f} |")
    lines += ["", "| ratio | value |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in r["ratios"].items()]
    lines += ["", "```json", json.dumps(r, indent=2), "```", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
