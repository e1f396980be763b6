"""Gunicorn settings for Kindred in production.

    gunicorn -c deploy/gunicorn.conf.py            # serves wsgi:app

Every setting can be changed by an environment variable (below) without editing this file.
It is read by gunicorn's master process before the workers start.

Workers and threads: `gthread` workers, each with a few threads. A request spends much of its
time waiting on PostgreSQL, so threads let one process overlap that waiting, while several
processes use every core for the Python parts (templates, routing) that threads cannot run
in parallel. Each thread uses at most one database connection at a time, so PostgreSQL sees
at most WEB_CONCURRENCY x GUNICORN_THREADS connections from the web tier: keep that below
its max_connections (minus the workers' and a margin).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from gunicorn import glogging

# The app's log formatter and request id filter are reused, so gunicorn's lines look like the
# app's. The repo root is on the path for when gunicorn runs from elsewhere.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.logging import JsonFormatter, RequestIdFilter


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def _cpus() -> int:
    # The CPUs this process may run on (a container's cpuset), not the whole host's.
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


wsgi_app = "wsgi:app"
proc_name = "kindred"
bind = os.environ.get("BIND") or f"{os.environ.get('HOST', '127.0.0.1')}:{_env_int('PORT', 8000)}"

worker_class = "gthread"
# Gunicorn's rule of thumb, 2 x cores + 1: while one process waits on the database or the
# network another can use the core.
workers = _env_int("WEB_CONCURRENCY", 2 * _cpus() + 1)
threads = _env_int("GUNICORN_THREADS", 4)

# A request taking longer than this is stuck (a page must answer in well under a second):
# the worker is killed and replaced. Stripe calls time out well before it.
timeout = _env_int("GUNICORN_TIMEOUT", 30)
graceful_timeout = _env_int("GUNICORN_GRACEFUL_TIMEOUT", 30)
# Longer than the idle timeout of a typical proxy or load balancer (60 s), so it is always
# the proxy that closes an idle connection: if gunicorn closed it first, a request the proxy
# had just sent on it would fail with a 502.
keepalive = _env_int("GUNICORN_KEEPALIVE", 75)

# Recycle a worker after this many requests (with jitter, so they do not all restart at
# once): a slow leak in any library then never grows without bound. A new worker costs about
# 2 s of CPU (building the app, warming its caches); at 2000 requests that was 1 ms on every
# request under load, at 20000 it is a tenth of that.
max_requests = _env_int("GUNICORN_MAX_REQUESTS", 20000)
max_requests_jitter = _env_int("GUNICORN_MAX_REQUESTS_JITTER", 2000)

# Each worker builds its own app (no preload): database pools, Redis clients and the Stripe
# emulator's SQLite connection are then never shared across a fork.
preload_app = False

# The heartbeat file on a RAM disk: on a container's overlay filesystem a slow fsync can make
# the master think a healthy worker hung.
if Path("/dev/shm").is_dir():  # noqa: S108 - gunicorn's own advice, not a temp file we create
    worker_tmp_dir = "/dev/shm"  # noqa: S108

# forwarded_allow_ips: the addresses of the proxies whose X-Forwarded-Proto gunicorn believes
# (it decides https, and so secure cookies and HSTS). Set it to your proxy's address, or "*"
# when only the proxy can reach gunicorn. The client's own address (rate limits, logs) comes
# from X-Forwarded-For through the app's TRUSTED_PROXIES setting (werkzeug's ProxyFix).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# Logs: errors to stderr, the access log to stdout, both with the request id the app
# returns in X-Request-ID (generated when the proxy sent none).
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
LOG_FORMAT = (os.environ.get("LOG_FORMAT") or "json").lower()
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms request_id=%({x-request-id}o)s "%(a)s"'


class KindredLogger(glogging.Logger):
    """Gunicorn's logger, writing JSON lines when LOG_FORMAT=json (the default here)."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        if LOG_FORMAT != "json":
            return
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.setFormatter(JsonFormatter())
                handler.addFilter(RequestIdFilter())

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> None:
        if LOG_FORMAT != "json":
            super().access(resp, req, environ, request_time)
            return
        if not self.cfg.accesslog:
            return
        status = str(resp.status).split(None, 1)[0]
        headers = dict((name.lower(), value) for name, value in resp.headers)
        fields = {
            "request_id": headers.get("x-request-id", "-"),
            "remote_addr": environ.get("REMOTE_ADDR", "-"),
            "method": environ.get("REQUEST_METHOD"),
            "path": environ.get("PATH_INFO"),
            "query": environ.get("QUERY_STRING") or None,
            "status": int(status) if status.isdigit() else status,
            "bytes": getattr(resp, "sent", None),
            "duration_ms": round(request_time.total_seconds() * 1000, 1),
            "user_agent": environ.get("HTTP_USER_AGENT"),
        }
        # Passed as extra fields (JsonFormatter writes them out), so a client cannot break
        # the line's JSON with a quote in its user agent.
        self.access_log.info(
            "%s %s %s", fields["method"], fields["path"], fields["status"], extra=fields
        )


logger_class = KindredLogger


def on_starting(server: Any) -> None:
    # Once at start-up, so the log says what the master was configured with.
    cfg = server.cfg
    summary = {
        "bind": cfg.bind,
        "workers": cfg.workers,
        "threads": cfg.threads,
        "timeout": cfg.timeout,
        "forwarded_allow_ips": cfg.forwarded_allow_ips,
    }
    server.log.info("kindred gunicorn settings %s", json.dumps(summary))
