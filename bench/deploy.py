"""The deployments side by side, as a user would run them: the recipe's flow on Node-RED,
the production entry point (``example_app/serve``: granian), ``pserve`` as shipped and the
documented gunicorn command, on one machine, nothing pinned.

    python bench/deploy.py                               # 7 rounds x 10 s, wrk -t1 at -c8 and -c64
    python bench/deploy.py --rounds 9 --variants pinned gthread w3 w4
    python bench/deploy.py --only nodered pserve gunicorn --out /tmp/deploy.md

Targets, each a server on a free port of 127.0.0.1 started the way its documentation says:

    nodered           the recipe's flow on Node-RED, started as bench/compare.py starts it
    serve             ``example_app/serve`` (production.ini on granian, loaded once before
                      the workers are forked, one worker per CPU) with HOST=127.0.0.1 and PORT set
    serve-nolog       the same with ACCESS_LOG=0 (no access log; Node-RED writes none either)
    pserve            ``pserve example_app/production.ini`` as shipped (one waitress process,
                      4 threads), from a copy of the ini whose ``listen = *:6543`` names a free
                      port instead (nothing else changed)
    gunicorn          ``gunicorn --paste example_app/production.ini -c example_app/gunicorn.conf.py``
                      with HOST=127.0.0.1 and PORT set, every other setting as the file has it

and, to choose gunicorn.conf.py's defaults, variants of that command (``--variants``):

    gunicorn-pinned   worker n pinned to CPU n (bench/gunicorn_variants.conf.py)
    gunicorn-nofreeze  without the gc.freeze() before the workers are forked (the same file)
    gunicorn-gthread  ``--worker-class gthread --threads 1`` (one request at a time, keep-alive)
    gunicorn-sync     ``--worker-class sync`` (when the file's default is not sync)
    gunicorn-w<N>     WEB_CONCURRENCY=N workers
    gunicorn-bare     the same settings serving bench/apps.py's bare WSGI callable (PyJWT, no
                      Pyramid, no add-on) instead of the ini: the most gunicorn allows here

Every app gets the same 48-character IGNITE_JWT_SECRET (Node-RED has its own in the flow).
Nothing is pinned (no taskset): the servers and wrk share the machine's CPUs as the
scheduler sees fit, the way a user would run the benchmark. wrk runs one thread (as
bench/compare.py and the measurements that chose the server did): on two CPUs a second
wrk thread only takes CPU time from the servers that can use both (``--wrk-threads 2``
measures that too).

One round runs every target once at every connection count, so the drifts of a shared VM
(steal time, other jobs) hit all targets alike; the order turns by one each round (A B C,
B C A, C A B, ...) because a run pays a little for the one before it (measured: whichever
gunicorn ran right after pserve had about 20 % higher p99), so with as many rounds as targets
each target holds each place once. The turning keeps the cyclic order, though, so a target
follows the same one in every round but the one it opens: the documented gunicorn command
follows pserve, its variants follow other gunicorns. For p99, compare targets whose
predecessors are alike. Reported:
median req/s, p50, p99 (wrk --latency), errors (non-2xx answers and socket errors), server
CPU, and the memory of ALL the server's processes after the load (PSS from
/proc/<pid>/smaps_rollup, shared pages divided among the processes that share them; RSS too);
plus the median of the per-round ratios of each target to Node-RED and of each variant to the
documented command. Results go to bench/results/deploy-<date>.md (table, then the raw JSON).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import resource
import secrets
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results"
sys.path.insert(0, str(BENCH))
import compare
from compare import TICKS, Target, cpu_ticks, free_port, memory_kib, start, stop, tree

VENV_BIN = Path(sys.executable).parent
INI = "example_app/production.ini"
CONF = "example_app/gunicorn.conf.py"
DOCUMENTED = [str(VENV_BIN / "gunicorn"), "--paste", INI, "-c", CONF]
VARIANTS = {
    "pinned": (["BENCH_PIN_WORKERS=1"], ["-c", "bench/gunicorn_variants.conf.py"]),
    "nofreeze": (["BENCH_NO_FREEZE=1"], ["-c", "bench/gunicorn_variants.conf.py"]),
    "gthread": ([], ["--worker-class", "gthread", "--threads", "1"]),
    "sync": ([], ["--worker-class", "sync"]),
}
# What the production entry point (example_app/serve) must reach against Node-RED (issue 21),
# with no error in any run.
GOALS = {"rps": (">=", 2.5), "p99_ms": ("<=", 0.5), "pss_kib": ("<=", 0.6)}


def gunicorn_target(name: str, env: list[str] = [], options: list[str] = [],  # noqa: B006
                    app: list[str] | None = None) -> Target:
    """The documented command; ``env``, ``options`` and another ``app`` make the variants."""
    port = free_port()
    command = DOCUMENTED if app is None else [DOCUMENTED[0], *DOCUMENTED[3:], *app]
    command = ["env", "HOST=127.0.0.1", f"PORT={port}", *env, *command, *options]
    return Target(name, command, port=port)


def serve_target(name: str = "serve", env: list[str] = []) -> Target:  # noqa: B006
    """The production entry point, ``example_app/serve`` (production.ini on granian)."""
    port = free_port()
    return Target(name, ["env", "HOST=127.0.0.1", f"PORT={port}", *env, sys.executable, "example_app/serve"],
                  port=port)


def pserve_target(workdir: Path) -> Target:
    """pserve on production.ini as shipped but for the port (a copy in ``workdir``)."""
    port = free_port()
    text = (ROOT / INI).read_text()
    shipped = "listen = *:6543"
    if shipped not in text:
        raise SystemExit(f"{INI} no longer says {shipped!r}: update bench/deploy.py")
    ini = workdir / "production.ini"
    ini.write_text(text.replace(shipped, f"listen = *:{port}"))
    return Target("pserve", [str(VENV_BIN / "pserve"), str(ini)], port=port)


def _count(pattern: str, text: str) -> int:
    match = re.search(pattern, text)
    return int(match.group(1)) if match else 0


def _busy_and_steal() -> tuple[int, int]:
    """Ticks all CPUs spent busy (not idle, not iowait, not stolen) and stolen, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return user + nice + system + irq + softirq, steal


def wrk(target: Target, seconds: int, connections: int, threads: int) -> dict[str, float]:
    """One wrk run; errors are counted, not fatal (a deployment that drops requests shows it)."""
    assert target.process is not None
    pids = tree(target.process.pid)
    before = cpu_ticks(pids)
    busy_before, steal_before = _busy_and_steal()
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency",
               f"http://127.0.0.1:{target.port}{target.path}"]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy_after, steal_after = _busy_and_steal()
    pids = tree(target.process.pid)  # after the load, every process of the server
    server = (cpu_ticks(pids) - before) / TICKS / seconds
    client = ((children_after.ru_utime + children_after.ru_stime)
              - (children_before.ru_utime + children_before.ru_stime)) / seconds
    busy = (busy_after - busy_before) / TICKS / seconds
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    socket_errors = sum(_count(rf"{kind} (\d+)", out) for kind in ("connect", "read", "write", "timeout"))
    return {
        "rps": rps,
        "p50_ms": compare._ms(re.search(r"\s50%\s+(\S+)", out).group(1)),  # type: ignore[union-attr]
        "p99_ms": compare._ms(re.search(r"\s99%\s+(\S+)", out).group(1)),  # type: ignore[union-attr]
        "requests": _count(r"(\d+) requests in", out),
        "non2xx": _count(r"Non-2xx or 3xx responses:\s+(\d+)", out),
        "socket_errors": socket_errors,
        "server_cpu_cores": round(server, 3),
        "wrk_cpu_cores": round(client, 3),
        "other_cpu_cores": round(max(0.0, busy - server - client), 3),
        "steal_cores": round((steal_after - steal_before) / TICKS / seconds, 3),
        "processes": len(pids),
        "pss_kib": memory_kib(pids, "Pss"),
        "rss_kib": memory_kib(pids, "Rss"),
    }


def shown(target: Target) -> str:
    """The command as a shell line, paths relative to the checkout."""
    words = [w.replace(str(VENV_BIN) + "/", "").replace(str(ROOT) + "/", "") for w in target.command]
    if target.name == "pserve":
        words[-1] = f"<copy of {INI} with listen = *:{target.port}>"
    if words[0] == "env":
        words = words[1:]
    line = " ".join(w if w.startswith("<") else shlex.quote(w) for w in words)
    return "IGNITE_JWT_SECRET=<48 chars> " * (target.name != "nodered") + line


def median_ratio(a: list[dict[str, float]], b: list[dict[str, float]], key: str) -> dict[str, float]:
    """Median, min and max over rounds of a[key] / b[key], the two runs made in the same round."""
    values = [x[key] / y[key] for x, y in zip(a, b, strict=True) if y[key]]
    return {"median": round(statistics.median(values), 3), "min": round(min(values), 3),
            "max": round(max(values), 3)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=10, help="length of one wrk run (default 10)")
    parser.add_argument("--rounds", type=int, default=7,
                        help="rounds, each target once per round (default 7; best a multiple of the targets)")
    parser.add_argument("--connections", type=int, nargs="+", default=[8, 64],
                        help="wrk connection counts, each in every round (default 8 64)")
    parser.add_argument("--wrk-threads", type=int, default=1, help="wrk threads (default 1)")
    parser.add_argument("--variants", nargs="*", default=["pinned", "nofreeze", "gthread", "bare"],
                        help="gunicorn variants: pinned, nofreeze, gthread, sync, w<N>, bare (default: pinned nofreeze gthread bare)")
    parser.add_argument("--only", nargs="*", help="only these targets (names as in the report)")
    parser.add_argument("--out", type=Path, default=None,
                        help="results file (default bench/results/deploy-<date>.md)")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        raise SystemExit("wrk not found: run 'bash bench/run', or install the Debian package wrk")
    if compare.PIN or compare.CLIENT_PIN:
        raise SystemExit("compare.py's pinning is set: this benchmark pins nothing")
    os.chdir(ROOT)  # the documented command names its files relative to the checkout
    os.environ["IGNITE_JWT_SECRET"] = secrets.token_urlsafe(36)  # 48 characters
    load_before = os.getloadavg()

    workdir = Path(tempfile.mkdtemp(prefix="jwtnode-deploy-"))
    targets: list[Target] = []
    if not args.only or "nodered" in args.only:  # the yardstick: never dropped silently
        node = compare.nodered_target()
        if node is None:
            raise SystemExit("node and npm are needed for the Node-RED target: apt-get install nodejs "
                             "npm, or leave it out with --only")
        targets.append(node)
    targets += [serve_target(), serve_target("serve-nolog", ["ACCESS_LOG=0"]), pserve_target(workdir),
                gunicorn_target("gunicorn")]
    for variant in args.variants:
        if variant in VARIANTS:
            env, options = VARIANTS[variant]
            targets.append(gunicorn_target(f"gunicorn-{variant}", env, options))
        elif variant == "bare":
            targets.append(gunicorn_target("gunicorn-bare", app=["--pythonpath", "bench", "apps:bare('HS256')"]))
        elif re.fullmatch(r"w\d+", variant):
            targets.append(gunicorn_target(f"gunicorn-{variant}", [f"WEB_CONCURRENCY={variant[1:]}"]))
        else:
            raise SystemExit(f"unknown variant {variant!r}: pinned, nofreeze, gthread, sync, w<N> or bare")
    if args.only:
        targets = [t for t in targets if t.name in args.only]

    runs: dict[str, dict[int, list[dict[str, float]]]] = {t.name: {c: [] for c in args.connections}
                                                          for t in targets}
    load_during: list[float] = []
    try:
        for target in targets:
            start(target)
            wrk(target, 3, max(args.connections), args.wrk_threads)  # warm-up, not counted
        for round_ in range(args.rounds):
            load_during.append(os.getloadavg()[0])
            turn = round_ % len(targets)
            for connections in args.connections:
                for target in targets[turn:] + targets[:turn]:
                    run = wrk(target, args.seconds, connections, args.wrk_threads)
                    runs[target.name][connections].append(run)
                    print(f"round {round_ + 1} -c{connections} {target.name}: {run['rps']:.0f} req/s, "
                          f"p99 {run['p99_ms']:.1f} ms, errors {run['non2xx'] + run['socket_errors']}, "
                          f"PSS {run['pss_kib'] / 1024:.1f} MiB", file=sys.stderr)
        memory = {t.name: {str(pid): {"pss_kib": memory_kib([pid], "Pss"), "rss_kib": memory_kib([pid], "Rss")}
                           for pid in tree(t.process.pid)} for t in targets if t.process is not None}
    finally:
        for target in targets:
            stop(target)
        shutil.rmtree(workdir, ignore_errors=True)

    summary = {name: {str(c): {k: round(statistics.median(r[k] for r in rs), 3) for k in rs[0]}
                      for c, rs in by_c.items()}
               for name, by_c in runs.items()}
    ratios: dict[str, dict[str, dict[str, dict[str, float]]]] = {}
    verdicts: dict[str, dict[str, Any]] = {}
    names = [t.name for t in targets]
    for c in args.connections:
        key = str(c)
        if "nodered" in names:
            for name in names:
                if name == "nodered":
                    continue
                ratios.setdefault(f"{name} / nodered", {})[key] = {
                    k: median_ratio(runs[name][c], runs["nodered"][c], k) for k in GOALS}
        if "gunicorn" in names:
            for name in names:
                if name.startswith("gunicorn-") or name in ("pserve", "serve"):
                    ratios.setdefault(f"{name} / gunicorn", {})[key] = {
                        k: median_ratio(runs[name][c], runs["gunicorn"][c], k) for k in GOALS}
        if "serve / nodered" in ratios:
            verdict = {}
            for k, (op, goal) in GOALS.items():
                value = ratios["serve / nodered"][key][k]["median"]
                verdict[k] = {"ratio": value, "goal": f"{op} {goal}",
                              "met": value >= goal if op == ">=" else value <= goal}
            errors = sum(r["non2xx"] + r["socket_errors"] for r in runs["serve"][c])
            verdict["errors"] = {"ratio": errors, "goal": "== 0", "met": errors == 0}
            verdicts[key] = verdict

    report = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_1min_at_each_round": [round(x, 2) for x in load_during],
        "load": (f"wrk -t{args.wrk_threads} -c<N> -d{args.seconds}s --latency on GET /jwt/generate, "
                 f"N in {args.connections}, {args.rounds} rounds alternating the targets, the order turned "
                 "by one each round; figures are "
                 "medians over rounds, ratios medians of the per-round ratios [min-max]"),
        "pinning": "none: servers and wrk float over all CPUs",
        "commands": {t.name: shown(t) for t in targets},
        "wrk_command": f"wrk -t{args.wrk_threads} -c<N> -d{args.seconds}s --latency "
                       "http://127.0.0.1:<port>/jwt/generate",
        "targets": summary,
        "ratios": ratios,
        "goals_for_serve": verdicts,
        "memory_by_process_at_the_end": memory,
        "runs": {name: {str(c): rs for c, rs in by_c.items()} for name, by_c in runs.items()},
    }
    out = args.out or RESULTS / f"deploy-{datetime.date.today().isoformat()}.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render(report))
    print(render(report))
    print(f"written to {out}")
    return 0


def _version(command: list[str], pattern: str = r"(\S+)") -> str:
    try:
        text = subprocess.run(command, check=False, capture_output=True, text=True, timeout=30)
    except OSError:
        return "missing"
    match = re.search(pattern, text.stdout + text.stderr)
    return match.group(1) if match else "unknown"


def machine() -> dict[str, Any]:
    """compare.py's description of the machine, plus what this benchmark also depends on."""
    m = compare.machine()
    from importlib.metadata import version

    m["versions"]["gunicorn"] = version("gunicorn")
    m["versions"]["granian"] = version("granian")
    m["versions"]["wrk"] = _version(["wrk", "-v"], r"wrk (\S+)")
    package = compare.NODE_CACHE / "node_modules" / "node-red" / "package.json"
    if package.exists():
        m["versions"]["node-red"] = json.loads(package.read_text())["version"]
    return m


def _cell(r: dict[str, float]) -> str:
    return f"{r['median']:.2f} [{r['min']:.2f}-{r['max']:.2f}]"


def render(r: dict[str, Any]) -> str:
    m = r["machine"]
    lines = [
        f"# Deployments side by side {r['date']}", "",
        compare.machine_line(m, "vCPUs"),
        (f"Load average before the run: {' '.join(str(x) for x in r['load_average_before'])} "
        "(1, 5, 15 min).  "),
        f"Load: {r['load']}. Pinning: {r['pinning']}; wrk runs on the same machine.", "",
        "Commands (from the checkout):", "",
    ]
    lines += [f"- `{name}`: `{command}`" for name, command in r["commands"].items()]
    lines += [f"- load: `{r['wrk_command']}`", ""]
    connection_counts = next(iter(r["targets"].values())).keys()
    for c in connection_counts:
        lines += [
            f"## wrk -c{c}", "",
            ("| target | req/s | p50 ms | p99 ms | errors | server CPU | wrk CPU | other CPU | "
            "processes | PSS MiB | RSS MiB |"),
            "|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for name, by_c in r["targets"].items():
            s = by_c[c]
            lines.append(
                f"| {name} | {s['rps']:.0f} | {s['p50_ms']:.2f} | {s['p99_ms']:.2f} | "
                f"{sum(x['non2xx'] + x['socket_errors'] for x in r['runs'][name][c])} | "
                f"{s['server_cpu_cores']:.2f} | {s['wrk_cpu_cores']:.2f} | {s['other_cpu_cores']:.2f} | "
                f"{s['processes']:.0f} | {s['pss_kib'] / 1024:.1f} | {s['rss_kib'] / 1024:.1f} |")
        lines += ["", "| ratio (median of per-round ratios [min-max]) | req/s | p99 | PSS |", "|---|---|---|---|"]
        for name, by_c_ratio in r["ratios"].items():
            x = by_c_ratio[c]
            lines.append(f"| {name} | {_cell(x['rps'])} | {_cell(x['p99_ms'])} | {_cell(x['pss_kib'])} |")
        if c in r["goals_for_serve"]:
            lines += ["", "| goal for serve vs Node-RED | ratio | goal | met |", "|---|---|---|---|"]
            for k, v in r["goals_for_serve"][c].items():
                value = f"{v['ratio']:.2f}" if k != "errors" else str(v["ratio"])
                lines.append(f"| {k} | {value} | {v['goal']} | {'yes' if v['met'] else 'NO'} |")
        lines.append("")
    lines += [("Errors: non-2xx answers plus wrk socket errors, summed over the rounds. CPU in cores "
              "(1.00 = one vCPU busy for the whole run); other CPU: what the rest of the machine used "
              "meanwhile. PSS/RSS: all the server's processes (master and workers), after the load."), "",
              "```json", json.dumps(r, indent=2), "```", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
