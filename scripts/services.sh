#!/usr/bin/env bash
# PostgreSQL and Redis for a scaled-out Sessions, on loopback only, from Debian's packages.
#
#   scripts/services.sh install   apt-get install postgresql redis-server (if missing)
#   scripts/services.sh start     initdb (first time) and start both; writes $SERVICES_DIR/env
#   scripts/services.sh stop      stop both (data stays in $SERVICES_DIR)
#   scripts/services.sh status
#
# Settings (environment): SERVICES_DIR (default ./data/services), PG_PORT (default 54329),
# REDIS_PORT (default 63799), PG_EXTRA (extra postgres -c options). Passwords are random, made on first start and kept in
# $SERVICES_DIR/env (mode 600), which the Makefile and the tests source: DATABASE_URL,
# REFLEX_REDIS_URL and RATE_LIMIT_STORAGE. PostgreSQL runs as the `postgres` user when this
# runs as root (it refuses to run as root). Redis keeps nothing on disk (--save "").
# With SERVICES_JANUS=1 (`make prod`), `start` also starts the calls' SFU, Janus
# (scripts/janus.sh, in $SERVICES_DIR/janus), and adds its settings (JANUS_*) to the env file;
# `install` installs Debian's `janus` too. Never Docker.
set -euo pipefail

DIR=${SERVICES_DIR:-$(pwd)/data/services}
PG_PORT=${PG_PORT:-54329}
REDIS_PORT=${REDIS_PORT:-63799}
# Extra server options, e.g. PG_EXTRA="-c fsync=off" for throwaway test clusters.
PG_EXTRA=${PG_EXTRA:-}
DB_NAME=sessions
DB_USER=sessions

log() { echo "services: $*" >&2; }

pg_bin() {
    # Debian keeps the server programs off PATH, in /usr/lib/postgresql/<version>/bin.
    local d
    d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
    [ -n "$d" ] && [ -x "$d/initdb" ] && [ -x "$d/psql" ] && { echo "$d"; return; }
    if command -v initdb >/dev/null && command -v pg_ctl >/dev/null && command -v psql >/dev/null; then
        dirname "$(command -v pg_ctl)"; return
    fi
    return 1
}

have_all() { pg_bin >/dev/null && command -v redis-server >/dev/null && command -v redis-cli >/dev/null; }

install() {
    have_all && return 0
    local sudo=""
    [ "$(id -u)" = 0 ] || sudo=sudo
    log "installing postgresql and redis-server (Debian packages)"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postgresql redis-server >/dev/null
    # Debian starts the packaged services; ours run on their own ports, so theirs may stay.
}

# The calls' SFU (Janus): installed with the others, started only with SERVICES_JANUS=1.
janus() { JANUS_DIR=$DIR/janus "$(dirname "$0")/janus.sh" "$@"; }

# Run a PostgreSQL program as a non-root user.
as_pg() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

secret() { head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n'; }

start_postgres() {
    local bin pgdata=$DIR/postgres sock=$DIR/pg-socket
    bin=$(pg_bin)
    mkdir -p "$DIR"
    if [ "$(id -u)" = 0 ]; then
        chmod 755 "$DIR"
        if ! runuser -u postgres -- test -x "$DIR"; then
            log "the postgres user cannot reach $DIR (a parent directory is private); set SERVICES_DIR"
            exit 1
        fi
    fi
    if [ ! -s "$pgdata/PG_VERSION" ]; then
        log "initdb $pgdata"
        mkdir -p "$pgdata" && chmod 700 "$pgdata"
        local pwfile=$DIR/.pg-superuser-pw
        (umask 077; secret >"$pwfile")
        if [ "$(id -u)" = 0 ]; then chown postgres "$pgdata" "$pwfile"; fi
        as_pg "$bin/initdb" -D "$pgdata" -U postgres --pwfile="$pwfile" --auth=scram-sha-256 \
            --encoding=UTF8 --locale=C.UTF-8 >"$DIR/initdb.log" 2>&1 \
            || { cat "$DIR/initdb.log" >&2; exit 1; }
    fi
    mkdir -p "$sock" && touch "$DIR/postgres.log"
    if [ "$(id -u)" = 0 ]; then chown postgres "$sock" "$DIR/postgres.log"; fi
    if as_pg "$bin/pg_ctl" -D "$pgdata" status >/dev/null 2>&1; then
        log "postgres already running"
    else
        as_pg "$bin/pg_ctl" -D "$pgdata" -l "$DIR/postgres.log" -w -t 60 start \
            -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $sock -c max_connections=200 $PG_EXTRA" \
            >/dev/null || { tail -20 "$DIR/postgres.log" >&2; exit 1; }
    fi
    # The app's own role and database (not a superuser), made once.
    if [ ! -s "$DIR/.pg-app-pw" ]; then
        local pw; pw=$(secret)
        PGOPTIONS="-c client_min_messages=warning" PGPASSWORD=$(cat "$DIR/.pg-superuser-pw") "$bin/psql" -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres \
            -v ON_ERROR_STOP=1 -c "DROP DATABASE IF EXISTS $DB_NAME" -c "DROP ROLE IF EXISTS $DB_USER" \
            -c "CREATE ROLE $DB_USER LOGIN PASSWORD '$pw'" -c "CREATE DATABASE $DB_NAME OWNER $DB_USER" >/dev/null
        (umask 077; echo "$pw" >"$DIR/.pg-app-pw")
    fi
}

start_redis() {
    mkdir -p "$DIR/redis"
    [ -s "$DIR/.redis-pw" ] || (umask 077; secret >"$DIR/.redis-pw")
    if [ -s "$DIR/redis.pid" ] && kill -0 "$(cat "$DIR/redis.pid")" 2>/dev/null; then
        log "redis already running"; return
    fi
    # Config through stdin so the password never shows in `ps`.
    printf 'port %s\nbind 127.0.0.1\nprotected-mode yes\nsave ""\nappendonly no\nrequirepass %s\ndaemonize yes\npidfile %s\nlogfile %s\ndir %s\n' \
        "$REDIS_PORT" "$(cat "$DIR/.redis-pw")" "$DIR/redis.pid" "$DIR/redis.log" "$DIR/redis" \
        | redis-server - >/dev/null
    for _ in $(seq 100); do
        REDISCLI_AUTH=$(cat "$DIR/.redis-pw") redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG && return
        sleep 0.1
    done
    log "redis did not start"; tail -20 "$DIR/redis.log" >&2; exit 1
}

write_env() {
    local redis_url="redis://:$(cat "$DIR/.redis-pw")@127.0.0.1:$REDIS_PORT"
    (umask 077; cat >"$DIR/env" <<EOF
DATABASE_URL=postgresql+psycopg://$DB_USER:$(cat "$DIR/.pg-app-pw")@127.0.0.1:$PG_PORT/$DB_NAME
REFLEX_REDIS_URL=$redis_url/0
RATE_LIMIT_STORAGE=$redis_url/1
EOF
    )
}

start() {
    if ! have_all; then
        log "postgres/redis binaries missing: run '$0 install' (or: make services-install)"; exit 1
    fi
    start_postgres
    start_redis
    write_env
    log "postgres on 127.0.0.1:$PG_PORT, redis on 127.0.0.1:$REDIS_PORT; settings in $DIR/env"
}

stop() {
    local bin
    local pid
    pid=$(cat "$DIR/redis.pid" 2>/dev/null || true)
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill "$pid"
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
    rm -f "$DIR/redis.pid"
    if bin=$(pg_bin) && [ -s "$DIR/postgres/PG_VERSION" ] && as_pg "$bin/pg_ctl" -D "$DIR/postgres" status >/dev/null 2>&1; then
        as_pg "$bin/pg_ctl" -D "$DIR/postgres" -m fast -w stop >/dev/null
    fi
    log "stopped"
}

status() {
    local bin rc=0
    if bin=$(pg_bin) && [ -s "$DIR/postgres/PG_VERSION" ] && as_pg "$bin/pg_ctl" -D "$DIR/postgres" status >/dev/null 2>&1; then
        echo "postgres: running (127.0.0.1:$PG_PORT)"; else echo "postgres: stopped"; rc=1; fi
    if [ -s "$DIR/redis.pid" ] && kill -0 "$(cat "$DIR/redis.pid")" 2>/dev/null; then
        echo "redis: running (127.0.0.1:$REDIS_PORT)"; else echo "redis: stopped"; rc=1; fi
    return $rc
}

case "${1:-}" in
    install) install; janus install ;;
    start) start; if [ "${SERVICES_JANUS:-0}" = 1 ]; then janus start; cat "$DIR/janus/env" >>"$DIR/env"; fi ;;
    stop) janus stop; stop ;;
    status) status ;;
    *) echo "usage: $0 install|start|stop|status" >&2; exit 2 ;;
esac
