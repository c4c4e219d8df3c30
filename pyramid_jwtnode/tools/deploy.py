"""Serving in production, whatever the server: where to bind, how many workers, and log
lines that never hold a token.

Nothing here imports a server; :mod:`pyramid_jwtnode.tools.gunicorn` and the other server modules
build on it.
"""

from __future__ import annotations

import logging
import math
import os
import re
from collections.abc import Mapping
from pathlib import Path

__all__ = ["bind_address", "worker_count", "redact", "RedactionFilter"]

REDACTED = "[redacted]"

# Query (or form) parameters that carry a token or a grant, wherever the name starts: after
# "?", "&", ";", a space or a quote, never inside a longer name ("mytoken=" is kept).
_PARAMETERS = re.compile(r"(?<![\w%.-])((?:access_token|refresh_token|id_token|token|code)=)[^&;#\s'\"]*",
                         re.IGNORECASE)
# A JWS or JWE in compact form: its header is base64url JSON, so it starts with "eyJ".
_COMPACT = re.compile(r"eyJ[A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]*){2,4}")  # also right after %20
# A credential-bearing header quoted in a message (gunicorn quotes a malformed header line
# whole), up to the end of the quote or line; the name is followed by ":", "=" or a space, so
# a path such as /cookie-policy is left alone.
_HEADERS = re.compile(r"(?<![\w-])((?:proxy-)?authorization|(?:set-)?cookie)(\s*[:=]\s*|\s+)[^'\"\r\n]+",
                      re.IGNORECASE)
_BEARER = re.compile(r"(?<![\w-])(bearer\s+)[^\s'\"]+", re.IGNORECASE)


def redact(text: str) -> str:
    """``text`` with every token in it replaced by ``[redacted]``: the values of the
    ``access_token``, ``refresh_token``, ``id_token``, ``token`` and ``code`` parameters,
    anything that looks like a compact JWS/JWE, and what follows ``Authorization``,
    ``Proxy-Authorization``, ``Cookie``, ``Set-Cookie`` or ``Bearer``."""
    text = _PARAMETERS.sub(rf"\1{REDACTED}", text)
    text = _HEADERS.sub(rf"\1\2{REDACTED}", text)
    text = _BEARER.sub(rf"\1{REDACTED}", text)
    return _COMPACT.sub(REDACTED, text)


class RedactionFilter(logging.Filter):
    """Rewrites a record's message, and its traceback, with :func:`redact`."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = redact(record.getMessage()), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
            record.exc_info = None  # so that no formatter renders the traceback afresh
        return True


REDACTION_FILTER = RedactionFilter()


def bind_address(environ: Mapping[str, str] | None = None) -> str:
    """``HOST:PORT`` from the environment, as hosted runtimes set them (default
    ``0.0.0.0:6543``); an IPv6 host is bracketed (``HOST=::`` gives ``[::]:6543``)."""
    env = os.environ if environ is None else environ
    host = env.get("HOST") or "0.0.0.0"
    port = env.get("PORT") or "6543"
    if not port.isdigit() or int(port) > 65535:
        raise ValueError(f"PORT={port!r} is not a port number: set PORT to one from 1 to 65535 "
                         "(0: any free port)")
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"{host}:{port}"


def worker_count(environ: Mapping[str, str] | None = None, *, cgroup: Path = Path("/sys/fs/cgroup"),
                 proc_cgroup: Path = Path("/proc/self/cgroup")) -> int:
    """``WEB_CONCURRENCY`` when set, else one worker per CPU this process may use: the CPUs
    it may run on (``os.sched_getaffinity``), fewer when a cgroup CPU quota (a container's
    ``--cpus``, a Kubernetes CPU limit) allows fewer, rounded up. ``cgroup`` and
    ``proc_cgroup`` are where the cgroup file system and this process's cgroup list are."""
    env = os.environ if environ is None else environ
    configured = env.get("WEB_CONCURRENCY")
    if configured:
        if not configured.strip().isdigit() or int(configured) < 1:
            raise ValueError(f"WEB_CONCURRENCY={configured!r} is not a number of workers: set it to "
                             "a whole number such as 4, or unset it for one worker per CPU")
        return int(configured)
    cpus = len(os.sched_getaffinity(0))
    quota = _cgroup_cpu_quota(cgroup, proc_cgroup)
    return max(1, min(cpus, math.ceil(quota))) if quota is not None else cpus


def _cgroup_cpu_quota(root: Path, proc_cgroup: Path) -> float | None:
    """The smallest CPU quota, in CPUs, of this process's cgroup and its ancestors (each
    level may limit), or None when none has one."""
    quotas = [q for q in map(_quota_in, _cgroup_dirs(root, proc_cgroup)) if q is not None]
    return min(quotas) if quotas else None


def _quota_in(directory: Path) -> float | None:
    try:  # cgroup v2: "max 100000" or "<quota> <period>"
        quota, period = (directory / "cpu.max").read_text().split()[:2]
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        pass
    try:  # cgroup v1: a quota of -1 means none
        quota_us = int((directory / "cpu.cfs_quota_us").read_text())
        period_us = int((directory / "cpu.cfs_period_us").read_text())
    except (OSError, ValueError):
        return None
    return quota_us / period_us if quota_us > 0 and period_us > 0 else None


def _cgroup_dirs(root: Path, proc_cgroup: Path) -> set[Path]:
    """Where this process's CPU controller files may be: its own cgroup's directory and its
    ancestors (from /proc/self/cgroup), and the mount's root (all a container with its own
    cgroup namespace sees)."""
    mounts = [root, root / "cpu", root / "cpu,cpuacct"]
    found = set(mounts)
    try:
        lines = proc_cgroup.read_text().splitlines()
    except OSError:
        lines = []
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if controllers == "" or "cpu" in controllers.split(","):  # v2, or v1's cpu controller
            relative = Path(path.lstrip("/"))
            for mount in (root, root / "unified") if controllers == "" else mounts[1:]:
                found.update(mount / parent for parent in (relative, *relative.parents))
    return found
