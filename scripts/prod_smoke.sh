#!/usr/bin/env bash
# `make prod-smoke`: Kindred as production runs it, on this machine's PostgreSQL and Redis.
#
# Creates a fresh database, migrates it, starts gunicorn (deploy/gunicorn.conf.py), a Celery
# worker and beat, walks the smoke journey over HTTP (scripts/smoke_journey.py), checks the
# JSON access log carries the request id, and stops everything it started. Exits non-zero on
# any failure. Every wait is bounded; the EXIT trap stops the children and drops the database.
#
#   PG_HOST, PG_USER        PostgreSQL server (trust auth), default 127.0.0.1 / postgres
#   SMOKE_REDIS_URL         a Redis database of its own, flushed before and after
#                           (default redis://127.0.0.1:6379/5)
#   SMOKE_PORT              gunicorn's port (default: a free one)
#   KEEP=1                  keep the logs folder (printed at the end)
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${BIN:-.venv/bin}
PG_HOST=${PG_HOST:-127.0.0.1}
PG_USER=${PG_USER:-postgres}
DB="kindred_prod_smoke_$$"
REDIS_URL=${SMOKE_REDIS_URL:-redis://127.0.0.1:6379/5}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/kindred-prod-smoke.XXXXXX")
PORT=${SMOKE_PORT:-$("$BIN/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
children=()

pg() { "$BIN/python" - "$@" <<'PY'
import sys, psycopg
host, user, sql = sys.argv[1:4]
with psycopg.connect(host=host, user=user, dbname="postgres", autocommit=True, connect_timeout=5) as c:
    c.execute(sql)
PY
}

flush_redis() {
  "$BIN/python" -c 'import sys, redis; redis.Redis.from_url(sys.argv[1], socket_timeout=5).flushdb()' "$REDIS_URL"
}

stop_children() {
  local pid tries
  for pid in "${children[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${children[@]}"; do
    # Graceful first (gunicorn and Celery finish what they are doing), then forced.
    for tries in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  children=()
}

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  stop_children
  pg "$PG_HOST" "$PG_USER" "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
  flush_redis >/dev/null 2>&1 || true
  if [ "$status" -ne 0 ]; then
    for log in gunicorn worker beat; do
      echo "---- last lines of $log.log"
      tail -n 25 "$WORK/$log.log" 2>/dev/null || true
    done
  fi
  if [ "${KEEP:-0}" = 1 ]; then echo "logs kept in $WORK"; else rm -rf "$WORK"; fi
  if [ "$status" -eq 0 ]; then echo "prod-smoke passed"; else echo "prod-smoke FAILED"; fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

export FLASK_APP=wsgi:app
export DATABASE_URL="postgresql+psycopg://$PG_USER@$PG_HOST:5432/$DB"
export REDIS_URL
export KINDRED_INSTANCE_PATH="$WORK/instance"
export SECRET_KEY="smoke-$$-$RANDOM$RANDOM"
export BASE_URL="http://127.0.0.1:$PORT"
export LOG_FORMAT=json
export WEB_CONCURRENCY=${WEB_CONCURRENCY:-2}
export GUNICORN_THREADS=${GUNICORN_THREADS:-4}
# Beat's heartbeat every 2 s instead of every minute, so the journey sees beat at work.
export JOB_SCHEDULE="app.heartbeat=2"

echo "== database $DB, Redis $REDIS_URL, port $PORT, logs in $WORK"
pg "$PG_HOST" "$PG_USER" "CREATE DATABASE $DB"
flush_redis

echo "== migrations"
timeout 300 "$BIN/flask" db upgrade >"$WORK/migrate.log" 2>&1 || { cat "$WORK/migrate.log"; exit 1; }
echo "== demo data"
# Inline jobs: the demo's sales wait for their payment jobs, and no worker runs yet.
JOBS_INLINE=1 timeout 300 "$BIN/flask" seed --quiet >"$WORK/seed.log" 2>&1 || { cat "$WORK/seed.log"; exit 1; }

echo "== gunicorn, Celery worker and beat"
"$BIN/gunicorn" -c deploy/gunicorn.conf.py --bind "127.0.0.1:$PORT" >"$WORK/gunicorn.log" 2>&1 &
children+=($!)
"$BIN/celery" -A app.worker:celery worker --concurrency 2 --without-mingle --without-gossip \
  --hostname "smoke-$$@%h" >"$WORK/worker.log" 2>&1 &
children+=($!)
"$BIN/celery" -A app.worker:celery beat --schedule "$WORK/celerybeat-schedule" \
  >"$WORK/beat.log" 2>&1 &
children+=($!)

echo "== journey"
timeout 300 "$BIN/python" scripts/smoke_journey.py --base-url "$BASE_URL" --redis-url "$REDIS_URL" \
  --flask "$BIN/flask" | tee "$WORK/journey.log"
[ "${PIPESTATUS[0]}" -eq 0 ]

echo "== logs"
home_id=$(awk '/^home-request-id/ {print $2}' "$WORK/journey.log")
access_line=$(grep -F "\"request_id\": \"$home_id\"" "$WORK/gunicorn.log" | grep -F '"gunicorn.access"' || true)
[ -n "$access_line" ] || { echo "no JSON access log line with request id $home_id"; exit 1; }
echo "ok    the access log has the home page's request id ($home_id)"
grep -q '"message": "job app.heartbeat done' "$WORK/worker.log" \
  || { echo "the worker did not log the job"; exit 1; }
echo "ok    the worker logged the job as JSON"
grep -q 'not scheduling payouts\.\|scheduling app.heartbeat' "$WORK/beat.log" \
  || { echo "beat did not log its schedule"; exit 1; }
echo "ok    beat logged its schedule"

echo "== stopping"
stop_children
