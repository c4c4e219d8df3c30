"""Where a request's CPU time goes, in µs, for the example's token route served by
``example_app/serve``: the server, Pyramid, the add-on, the access log.

    python bench/budget.py                    # 5 rounds -> bench/results/budget-<date>.md

In-process, each WSGI app called directly with the environ a server passes, CPU time per call
(``time.process_time``), the apps alternating within each round:

    bare            a WSGI callable signing the recipe's payload with PyJWT (bench/apps.py)
    handwritten     a hand-written Pyramid view doing the same (bench/apps.py)
    addon           the add-on's token route configured from code (bench/apps.py)
    production      the app of example_app/production.ini: the add-on's token route, and the
                    security policy the ini sets (and the request class it brings)
    production+log  the same inside serve's access log (tools.deploy.AccessLog, to /dev/null)

Over HTTP, ``wrk -t1 -c8`` on a free loopback port, the CPU time of all the server's processes
over the requests they answered:

    granian         granian as serve runs it (2 workers, one blocking thread each, HTTP/1.1)
                    serving a WSGI callable that returns a constant body: the server's own cost
    serve           example_app/serve: everything

Figures are medians over rounds. On a shared machine every figure moves with the load of
the others: compare the lines of one run.
"""

from __future__ import annotations

import argparse
import datetime
import io
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))
import apps  # noqa: E402
import compare  # noqa: E402
import deploy  # noqa: E402

BODY = json.dumps({"access_token": "x" * 420, "token_type": "Bearer", "expires_in": 86400}).encode()


def constant(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """A WSGI callable answering the token route's size of body, doing no work."""
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(BODY)))])
    return [BODY]


def environ() -> dict[str, Any]:
    return {"REQUEST_METHOD": "GET", "SCRIPT_NAME": "", "PATH_INFO": "/jwt/generate", "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "6543", "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1", "REMOTE_PORT": "50000", "HTTP_HOST": "127.0.0.1:6543",
            "HTTP_USER_AGENT": "wrk", "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(b""),
            "wsgi.errors": sys.stderr, "wsgi.version": (1, 0), "wsgi.multithread": False,
            "wsgi.multiprocess": True, "wsgi.run_once": False}


def per_call(app: Callable[..., Any], calls: int) -> float:
    """CPU µs per call of ``app``, the body read as a server would."""
    def start_response(status: str, headers: Any, exc_info: Any = None) -> None:
        assert status.startswith("200"), status

    started = time.process_time()
    for _ in range(calls):
        b"".join(app(environ(), start_response))
    return (time.process_time() - started) / calls * 1e6


def in_process(rounds: int, calls: int) -> dict[str, float]:
    from pyramid.paster import get_app

    from pyramid_jwtnode.tools.deploy import AccessLog

    production = get_app(str(ROOT / "example_app" / "production.ini"), "main")
    devnull = os.open(os.devnull, os.O_WRONLY)
    subjects = {"bare": apps.bare(), "handwritten": apps.handwritten(), "addon": apps.addon(),
                "production": production, "production+log": AccessLog(production, devnull)}
    times: dict[str, list[float]] = {name: [] for name in subjects}
    for app in subjects.values():
        per_call(app, calls // 5)  # warm
    for round_ in range(rounds):
        names = list(subjects)
        names = names[round_ % len(names):] + names[:round_ % len(names)]
        for name in names:
            times[name].append(per_call(subjects[name], calls))
    os.close(devnull)
    return {name: round(statistics.median(values), 1) for name, values in times.items()}


def over_http(rounds: int, seconds: int) -> dict[str, dict[str, float]]:
    granian = [str(deploy.VENV_BIN / "granian"), "--interface", "wsgi", "--workers", "2", "--blocking-threads",
               "1", "--runtime-mode", "st", "--http", "1", "--no-ws", "--host", "127.0.0.1",
               "--working-dir", str(BENCH), "budget:constant"]
    port = compare.free_port()
    targets = [compare.Target("granian", [*granian, "--port", str(port)], port=port),
               deploy.serve_target()]
    runs: dict[str, list[dict[str, float]]] = {t.name: [] for t in targets}
    try:
        for target in targets:
            compare.start(target)
            deploy.wrk(target, 2, 8, 1)  # warm
        for round_ in range(rounds):
            for target in targets[round_ % 2:] + targets[:round_ % 2]:
                runs[target.name].append(deploy.wrk(target, seconds, 8, 1))
    finally:
        for target in targets:
            compare.stop(target)
    return {name: {"us_per_request": round(statistics.median(r["server_cpu_cores"] / r["rps"] * 1e6 for r in rs), 1),
                   "rps": round(statistics.median(r["rps"] for r in rs)),
                   "server_cpu_cores": round(statistics.median(r["server_cpu_cores"] for r in rs), 2)}
            for name, rs in runs.items()}


def render(r: dict[str, Any]) -> str:
    p, h = r["in_process"], r["over_http"]
    rows = [
        ("granian: HTTP, the WSGI bridge, the hand-over to the worker's thread (a constant WSGI app)",
         h["granian"]["us_per_request"]),
        ("the recipe's work, no framework (a WSGI callable signing with PyJWT)", p["bare"]),
        ("Pyramid: a hand-written view doing the same, less the bare callable", round(p["handwritten"] - p["bare"], 1)),
        ("the add-on's token route against the hand-written view", round(p["addon"] - p["handwritten"], 1)),
        ("production.ini against the add-on configured from code: its security policy (the request "
         "class with jwt_claims/jwt_config, made once) and its other routes",
         round(p["production"] - p["addon"], 1)),
        ("the access log (AccessLog, redacted, one write)", round(p["production+log"] - p["production"], 1)),
    ]
    lines = [f"# Per-request budget {r['date']}", "", compare.machine_line(r["machine"], "vCPUs"),
             f"Load average before the run: {' '.join(str(x) for x in r['load_average_before'])}.  ",
             f"{r['load']}", "",
             "| part | µs of CPU per request |", "|---|---|"]
    lines += [f"| {name} | {value} |" for name, value in rows]
    parts = round(sum(value for _, value in rows), 1)
    whole = h["serve"]["us_per_request"]
    lines += [f"| sum of the parts | {parts} |",
              f"| the rest: the same code run inside the busy server (caches and CPUs shared with granian's "
              f"threads and wrk), the environ granian builds | {round(whole - parts, 1)} |",
              f"| **serve, measured whole** (all its processes' CPU over the requests answered) | **{whole}** |", "",
              "In-process, µs per call: " + ", ".join(f"{k} {v}" for k, v in p.items()) + ".  ",
              "Over HTTP: " + ", ".join(f"{k} {v['us_per_request']} µs/request at {v['rps']} req/s "
                                        f"({v['server_cpu_cores']} cores)" for k, v in h.items()) + ".", "",
              "```json", json.dumps(r, indent=2), "```", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5, help="rounds (default 5)")
    parser.add_argument("--calls", type=int, default=5000, help="in-process calls per app per round (default 5000)")
    parser.add_argument("--seconds", type=int, default=5, help="length of one wrk run (default 5)")
    parser.add_argument("--out", type=Path, default=None, help="default bench/results/budget-<date>.md")
    args = parser.parse_args(argv)
    os.chdir(ROOT)
    os.environ.setdefault("IGNITE_JWT_SECRET", "budget-secret-" + "b" * 34)
    load_before = [round(x, 2) for x in os.getloadavg()]
    report = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": deploy.machine(),
        "load_average_before": load_before,
        "load": (f"In-process: {args.rounds} rounds of {args.calls} calls per app, alternating. Over HTTP: "
                 f"{args.rounds} rounds of wrk -t1 -c8 -d{args.seconds}s per server, alternating. Medians."),
        "in_process": in_process(args.rounds, args.calls),
        "over_http": over_http(args.rounds, args.seconds),
    }
    out = args.out or deploy.RESULTS / f"budget-{datetime.date.today().isoformat()}.md"
    out.write_text(render(report))
    print(render(report))
    print(f"written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
