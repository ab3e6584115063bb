#!/usr/bin/env bash
# `make run`: Sessions in production mode — the compiled frontend, no hot reload, SQLite by
# default (the Makefile migrates first). One process tree; Ctrl-C (or SIGTERM) stops all of it.
#
# Ports (environment): FRONTEND_PORT (3000) is where the browser opens the app, BACKEND_PORT
# (8000) where /ping and the event socket answer. Reflex's production mode serves the
# frontend and the backend from ONE port (`--single-port`) and refuses two different ports
# in one process, so:
#   - FRONTEND_PORT == BACKEND_PORT: one `reflex run --env prod --single-port`;
#   - otherwise two: `--backend-only` on BACKEND_PORT and `--frontend-only` (the compiled
#     frontend as static files) on FRONTEND_PORT, built to reach the backend at BACKEND_URL
#     (Reflex's `api_url`).
# PUBLIC_URL / BACKEND_URL default to those two addresses on localhost.
set -uo pipefail
cd "$(dirname "$0")/.."
FRONTEND_PORT=${FRONTEND_PORT:-3000}
BACKEND_PORT=${BACKEND_PORT:-8000}
export PUBLIC_URL=${PUBLIC_URL:-http://localhost:$FRONTEND_PORT}
export BACKEND_URL=${BACKEND_URL:-http://localhost:$BACKEND_PORT}
# The compiled frontend connects to the backend where the browser can reach it.
export REFLEX_API_URL=${REFLEX_API_URL:-$BACKEND_URL}
export PATH="$PWD/.venv/bin:$PATH" REFLEX_USE_NPM=1 REFLEX_TELEMETRY_ENABLED=false
LOGLEVEL=${REFLEX_LOGLEVEL:-info}

pids=()
announcer=
stop() {
    trap "" INT TERM HUP   # a second signal (make forwards its own) must not cut the cleanup short
    trap - EXIT
    [ -n "$announcer" ] && kill "$announcer" 2>/dev/null
    # Each server runs in its own process group (setsid): stop the whole group, so no node,
    # granian worker or build step outlives `make run`.
    for pid in "${pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null; done
    # Up to 10 s of wall clock for a clean shutdown (zombies awaiting reaping do not count): a
    # count of rounds would stretch on a busy machine, where each `ps` takes longer.
    local deadline=$((SECONDS + 10))
    while [ "$SECONDS" -lt "$deadline" ]; do
        ps -e -o pgid=,stat= | awk -v groups=" ${pids[*]} " \
            'index(groups, " " $1 " ") && $2 !~ /^Z/ {found=1} END {exit !found}' || break
        sleep 0.1
    done
    for pid in "${pids[@]}"; do kill -KILL -- "-$pid" 2>/dev/null; done
    echo "Sessions stopped."
}
trap 'stop; exit 130' INT
trap 'stop; exit 143' TERM HUP
trap stop EXIT

# Reflex's own banners name raw server addresses ("App running at" is printed by the
# backend-only server too, whose port serves no page) and, on a first run, suggest another
# command: drop those lines, so the one address to open is the line printed below.
# The filter ignores Ctrl-C so that the servers' last words still get through.
filter() {
    trap '' INT TERM HUP
    exec grep --line-buffered -v -E 'App running at|to start the app\.'
}
if [ -t 1 ]; then
    # Through the filter Reflex no longer sees a terminal: keep its live progress bars.
    export TTY_COMPATIBLE=1 TTY_INTERACTIVE=1 COLUMNS=${COLUMNS:-$(tput cols 2>/dev/null || echo 100)}
fi

start() {  # start a server in its own process group, remember its id
    setsid "$@" > >(filter) 2>&1 &
    pids+=("$!")
}

if [ "$FRONTEND_PORT" = "$BACKEND_PORT" ]; then
    start reflex run --env prod --single-port --frontend-port "$FRONTEND_PORT" \
        --backend-port "$BACKEND_PORT" --loglevel "$LOGLEVEL"
else
    start reflex run --env prod --backend-only --backend-port "$BACKEND_PORT" --loglevel "$LOGLEVEL"
    start reflex run --env prod --frontend-only --frontend-port "$FRONTEND_PORT" --loglevel "$LOGLEVEL"
fi

echo "Starting Sessions (production mode): building the frontend, progress below (the first run"
echo "also installs its npm packages: about a minute more)."
# Announce the address once both the backend (/ping) and the page answer.
python - "$BACKEND_PORT" "$FRONTEND_PORT" "${pids[@]}" <<'EOF' &
import os, sys, time, urllib.request

backend, frontend, pids = sys.argv[1], sys.argv[2], sys.argv[3:]

def ok(url):
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return resp.status == 200
    except Exception:
        return False

while all(os.path.exists(f"/proc/{pid}") for pid in pids):
    if ok(f"http://localhost:{backend}/ping") and ok(f"http://localhost:{frontend}/"):
        print(f"\nSessions is running: open {os.environ['PUBLIC_URL']} (Ctrl-C stops it)\n", flush=True)
        break
    time.sleep(0.5)
EOF
announcer=$!

# Stop everything as soon as one server exits (a crash must not leave half an app running).
wait -n "${pids[@]}"
status=$?
echo "A Sessions server exited (status $status); stopping the rest."
exit "$status"
