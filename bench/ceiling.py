"""The ceiling for the load test: a bare Flask app returning a small JSON document.

Served by the same gunicorn settings as Kindred (`gunicorn -c deploy/gunicorn.conf.py
bench.ceiling:app`), it measures what the server, the worker model and the load client can do
with no app work at all, so each page's figure can be read as a fraction of it.
"""

from __future__ import annotations

from flask import Flask

app = Flask(__name__)


@app.get("/ceiling")
def ceiling() -> dict[str, object]:
    return {"status": "ok", "items": [{"id": n, "title": f"item {n}"} for n in range(5)]}


@app.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}
