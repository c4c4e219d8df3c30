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
import time
import urllib.parse
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["bind_address", "worker_count", "redact", "RedactionFilter", "RedactingFormatter", "AccessLog",
           "REDACTION_FILTER", "REDACTED", "CREDENTIAL_PARAMETERS"]

#: What a token or credential is replaced with in a log line.
REDACTED = "[redacted]"

#: Query (or form) parameters whose value is masked wherever they appear: those carrying a
#: token, a grant or a client credential (RFC 6749, 7521, 7636, 8628, 8693), by their exact
#: name; any name holding ``password``, ``passwd`` or ``secret`` (``new_password``,
#: ``user[password]``, ``client_secret``) too.
CREDENTIAL_PARAMETERS = ("access_token", "refresh_token", "id_token", "token", "code",
                         "code_verifier", "device_code", "subject_token", "actor_token",
                         "client_assertion", "assertion", "api_key", "apikey", "otp")

# The exact names, wherever the name starts: after "?", "&", ";", a space or a quote, never
# inside a longer name ("mytoken=" is kept).
_PARAMETERS = re.compile(rf"(?<![\w%.-])((?:{'|'.join(CREDENTIAL_PARAMETERS)})=)[^&;#\s'\"]*",
                         re.IGNORECASE)
# Any parameter, its whole name (so that the match starts only where a name does: linear time).
_NAMED = re.compile(r"(?<![\w.\[\]-])([\w.\[\]-]+=)([^&;#\s'\"]*)")
_CREDENTIAL_WORDS = re.compile("password|passwd|secret", re.IGNORECASE)
# A JWS or JWE in compact form: its header is base64url JSON, so it starts with "eyJ".
_COMPACT = re.compile(r"eyJ[A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]*){2,4}")  # also right after %20
# A credential-bearing header quoted in a message (gunicorn quotes a malformed header line
# whole), up to the end of the quote or line; the name is followed by ":", "=" or a space, so
# a path such as /cookie-policy is left alone.
_HEADERS = re.compile(r"(?<![\w-])((?:proxy-)?authorization|(?:set-)?cookie)(\s*[:=]\s*|\s+)[^'\"\r\n]+",
                      re.IGNORECASE)
_BEARER = re.compile(r"(?<![\w-])(bearer\s+)[^\s'\"]+", re.IGNORECASE)
# What every rule above needs somewhere in the text (a parameter's "=", a JWS's "eyJ", a
# header's or Bearer's name, a percent escape): a line with none of them is left as it is.
_SUSPECT = re.compile(r"=|eyJ|%|bearer|authorization|cookie", re.IGNORECASE)
# A run of text that may be (part of) a URL.
_RUN = re.compile(r"[^\s'\"]+")
_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")
# What stays as it is when a decoded run is written back: printable ASCII but space, "%",
# quotes and backslash, so that a decoded line feed or quote never reaches the log as one.
_SAFE = "".join(chr(c) for c in range(0x21, 0x7f) if chr(c) not in "%'\"\\")


def _redact_plain(text: str) -> str:
    text = _PARAMETERS.sub(rf"\1{REDACTED}", text)
    text = _NAMED.sub(_mask_credential, text)
    text = _HEADERS.sub(rf"\1\2{REDACTED}", text)
    text = _BEARER.sub(rf"\1{REDACTED}", text)
    return _COMPACT.sub(REDACTED, text)


def _mask_credential(match: re.Match[str]) -> str:
    name, value = match.groups()
    return name + REDACTED if value and _CREDENTIAL_WORDS.search(name) else match.group(0)


def _redact_escaped(match: re.Match[str]) -> str:
    """A run holding percent escapes, decoded (up to four times: an escape may be escaped
    again) and redacted. Unchanged when nothing in it is secret; else written back decoded
    and redacted, with anything but printable ASCII escaped again."""
    run = decoded = match.group(0)
    if not _ESCAPE.search(run):
        return run
    for _ in range(4):
        once = urllib.parse.unquote(decoded, errors="replace")
        if once == decoded:
            break
        decoded = once
    redacted = _redact_plain(decoded)
    return run if redacted == decoded else urllib.parse.quote(redacted, safe=_SAFE)


def redact(text: str) -> str:
    """``text`` with every token and credential in it replaced by ``[redacted]``: the values
    of the :data:`CREDENTIAL_PARAMETERS` and of parameters whose name holds ``password``,
    ``passwd`` or ``secret``, anything that looks like a compact JWS/JWE, and what follows
    ``Authorization``, ``Proxy-Authorization``, ``Cookie``, ``Set-Cookie`` or ``Bearer``. Each
    run of text holding percent escapes is also checked once decoded (``access%5Ftoken=``,
    ``%65yJ…`` with ``%2E`` for the dots); a run found to hold a secret is written decoded
    and redacted."""
    if not _SUSPECT.search(text):  # most lines (an access log's): nothing any rule could match
        return text
    return _redact_all(text)


def _redact_all(text: str) -> str:
    text = _redact_plain(text)
    return _RUN.sub(_redact_escaped, text) if "%" in text else text


class RedactionFilter(logging.Filter):
    """Rewrites a record's message, and its traceback, with :func:`redact`. Put it on a
    handler (``dictConfig``: ``{"()": "pyramid_jwtnode.tools.deploy.RedactionFilter"}``) so that
    every record that handler writes is redacted, whichever logger sent it."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = redact(record.getMessage()), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
            record.exc_info = None  # so that no formatter renders the traceback afresh
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


#: One :class:`RedactionFilter`, shared: adding it to a logger or handler twice adds it once.
REDACTION_FILTER = RedactionFilter()


class RedactingFormatter(logging.Formatter):
    """A :class:`logging.Formatter` whose every line (message, traceback and all) passes
    through :func:`redact`. For ini files read by ``logging.config.fileConfig`` (``pserve``,
    ``gunicorn --paste``), which cannot put filters on handlers::

        [formatter_generic]
        class = pyramid_jwtnode.tools.deploy.RedactingFormatter
        format = %(asctime)s %(levelname)-5.5s [%(name)s] %(message)s
    """

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class AccessLog:
    """WSGI middleware: one access-log line per request, written to file descriptor ``fd``
    (standard output) with one ``os.write``, so that the lines of threads and processes never
    interleave. The line holds the client's address, the method, the path (never the query
    string; control characters and quotes escaped), the protocol, the status and the time the
    app took, and passes :func:`redact`::

        127.0.0.1 - "GET /jwt/generate HTTP/1.1" 200 0.4ms

    Servers whose own access log formats each line through Python's logging (granian's) spend
    several times more on it than this.
    """

    def __init__(self, app: Any, fd: int = 1) -> None:
        self.app = app
        self.fd = fd

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        started = time.perf_counter()
        status = "-"  # an app that answers only while its body is read: not known yet

        def record(status_line: str, headers: Any, exc_info: Any = None) -> Any:
            nonlocal status
            status = status_line[:3]
            return start_response(status_line, headers, exc_info)

        try:
            return self.app(environ, record)
        except BaseException:
            status = "500"  # the server answers 500 for an app that raises
            raise
        finally:
            path = environ.get("PATH_INFO", "").encode("unicode_escape").decode("ascii").replace('"', '\\"')
            line = '%s - "%s %s %s" %s %.1fms\n' % (
                environ.get("REMOTE_ADDR", "-"), environ.get("REQUEST_METHOD", "-"), path,
                environ.get("SERVER_PROTOCOL", "-"), status, (time.perf_counter() - started) * 1000)
            try:
                os.write(self.fd, redact(line).encode("ascii", "backslashreplace"))
            except OSError:  # a closed or full log never fails the request
                pass


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
