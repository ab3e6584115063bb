#!/usr/bin/env bash
# `make prod`: the compiled frontend and the backend on one port, 2+ granian workers,
# PostgreSQL + Redis on loopback (scripts/services.sh). Ctrl-C stops the app and the services.
#
# Settings (environment): PROD_PORT (8000), WORKERS (2), SERVICES_DIR (./data/services),
# PG_PORT, REDIS_PORT, SECRET_KEY (else a random one is made once and kept in SERVICES_DIR),
# PUBLIC_URL / BACKEND_URL (default http://localhost:$PROD_PORT), plus every app setting.
set -euo pipefail
cd "$(dirname "$0")/.."
PROD_PORT=${PROD_PORT:-8000}
WORKERS=${WORKERS:-2}
export SERVICES_DIR=${SERVICES_DIR:-$(pwd)/data/services}
PATH="$(pwd)/.venv/bin:$PATH"

SERVICES_JANUS=1 scripts/services.sh start    # PostgreSQL, Redis and Janus (the calls' SFU)
trap 'scripts/services.sh stop' EXIT
set -a
# shellcheck disable=SC1091
. "$SERVICES_DIR/env"    # DATABASE_URL, REFLEX_REDIS_URL, RATE_LIMIT_STORAGE, JANUS_*
set +a
# Janus listens on loopback: browsers elsewhere reach its WebSocket through your reverse proxy.
if [ -n "${JANUS_PUBLIC_WS_URL:-}" ]; then export JANUS_WS_URL=$JANUS_PUBLIC_WS_URL; fi
if [ -z "${SECRET_KEY:-}" ]; then
    [ -s "$SERVICES_DIR/secret_key" ] || (umask 077; head -c 48 /dev/urandom | base64 | tr -d '\n=+/' >"$SERVICES_DIR/secret_key")
    SECRET_KEY=$(cat "$SERVICES_DIR/secret_key")
fi
export SECRET_KEY SESSIONS_ENV=prod REFLEX_USE_NPM=1 REFLEX_TELEMETRY_ENABLED=false
export PUBLIC_URL=${PUBLIC_URL:-http://localhost:$PROD_PORT} BACKEND_URL=${BACKEND_URL:-http://localhost:$PROD_PORT}
# Redis: Reflex's state manager and token manager, socket.io broadcasts across workers
# (realtime.make_sio) and the rate-limit counters. granian forks GRANIAN_WORKERS workers.
export REFLEX_STATE_MANAGER_MODE=redis REFLEX_USE_GRANIAN=1 GRANIAN_WORKERS=$WORKERS

alembic upgrade head    # the prestart step: migrations never run at import
echo "prod: http://localhost:$PROD_PORT with $WORKERS workers (Ctrl-C stops the app, PostgreSQL and Redis)"
reflex run --env prod --single-port --frontend-port "$PROD_PORT" --backend-port "$PROD_PORT" \
    --backend-host "${PROD_HOST:-0.0.0.0}"
