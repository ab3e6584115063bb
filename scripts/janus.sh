#!/usr/bin/env bash
# The Janus WebRTC server (Debian package `janus`) as the calls' SFU, loopback only.
#
#   scripts/janus.sh install   apt-get install janus (if missing)
#   scripts/janus.sh start     write a minimal config under $JANUS_DIR, start Janus; append its
#                              settings to $JANUS_DIR/env (JANUS_WS_URL, JANUS_API_URL, ...)
#   scripts/janus.sh stop
#
# Settings (environment): JANUS_DIR (default ./data/services/janus), JANUS_WS_PORT (18188),
# JANUS_HTTP_PORT (18088), JANUS_ADMIN_PORT (17088), JANUS_RTP_RANGE (e.g. 20000-20999),
# JANUS_NAT_1_1 (public IP when behind NAT). Only the VideoRoom plugin and the HTTP +
# WebSocket transports load; every API call needs a token the app adds per user through the
# Admin API (token_auth); the admin secret and the VideoRoom admin key are random, made on
# first start and kept in $JANUS_DIR/env (mode 600). The stock config (all interfaces, the
# well-known admin secret, demo rooms) is never used. Runs as `nobody` when started as root.
set -euo pipefail

DIR=${JANUS_DIR:-$(pwd)/data/services/janus}
WS_PORT=${JANUS_WS_PORT:-18188}
HTTP_PORT=${JANUS_HTTP_PORT:-18088}
ADMIN_PORT=${JANUS_ADMIN_PORT:-17088}
log() { echo "janus: $*" >&2; }
secret() { head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n'; }

install() {
    command -v janus >/dev/null && return 0
    local sudo=""
    [ "$(id -u)" = 0 ] || sudo=sudo
    log "installing janus (Debian package)"
    $sudo apt-get update -qq
    # The package enables janus.service with the stock config (all interfaces): keep it off;
    # ours runs on loopback with its own config.
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq janus >/dev/null
    if command -v systemctl >/dev/null && systemctl is-enabled janus >/dev/null 2>&1; then
        $sudo systemctl disable --now janus >/dev/null 2>&1 || true
    fi
}

write_config() {
    local conf=$DIR/conf
    mkdir -p "$conf"
    if [ ! -s "$DIR/secrets" ]; then
        (umask 077; printf 'ADMIN_SECRET=%s\nADMIN_KEY=%s\n' "$(secret)" "$(secret)" >"$DIR/secrets")
    fi
    # shellcheck disable=SC1091
    . "$DIR/secrets"
    local nat="" rtp=""
    [ -n "${JANUS_NAT_1_1:-}" ] && nat="nat_1_1_mapping = \"$JANUS_NAT_1_1\""
    [ -n "${JANUS_RTP_RANGE:-}" ] && rtp="rtp_port_range = \"$JANUS_RTP_RANGE\""
    cat >"$conf/janus.jcfg" <<EOF
general: {
    configs_folder = "$conf"
    server_name = "sessions-sfu"
    log_to_stdout = true
    debug_level = 4
    token_auth = true
    admin_secret = "$ADMIN_SECRET"
    session_timeout = 60
}
media: { $rtp }
nat: { $nat }
plugins: {
    disable = "libjanus_voicemail.so,libjanus_recordplay.so,libjanus_audiobridge.so,libjanus_streaming.so,libjanus_textroom.so,libjanus_videocall.so,libjanus_sip.so,libjanus_nosip.so,libjanus_echotest.so,libjanus_lua.so,libjanus_duktape.so"
}
transports: { disable = "libjanus_rabbitmq.so,libjanus_mqtt.so,libjanus_nanomsg.so,libjanus_pfunix.so" }
events: { broadcast = false }
loggers: { disable = "libjanus_jsonlog.so" }
EOF
    cat >"$conf/janus.plugin.videoroom.jcfg" <<EOF
general: { admin_key = "$ADMIN_KEY" }
EOF
    cat >"$conf/janus.transport.http.jcfg" <<EOF
general: { json = "compact" base_path = "/janus" http = true port = $HTTP_PORT ip = "127.0.0.1" https = false }
admin: { admin_base_path = "/admin" admin_http = true admin_port = $ADMIN_PORT admin_ip = "127.0.0.1" admin_https = false }
EOF
    cat >"$conf/janus.transport.websockets.jcfg" <<EOF
general: { json = "compact" ws = true ws_port = $WS_PORT ws_ip = "127.0.0.1" wss = false }
admin: { admin_ws = false admin_wss = false }
EOF
    chmod 755 "$DIR" "$conf" && chmod 644 "$conf"/*.jcfg
    (umask 077; cat >"$DIR/env" <<EOF
JANUS_WS_URL=ws://127.0.0.1:$WS_PORT
JANUS_API_URL=http://127.0.0.1:$HTTP_PORT/janus
JANUS_ADMIN_URL=http://127.0.0.1:$ADMIN_PORT/admin
JANUS_ADMIN_SECRET=$ADMIN_SECRET
JANUS_ROOM_ADMIN_KEY=$ADMIN_KEY
EOF
)
}

start() {
    command -v janus >/dev/null || { log "janus is not installed (scripts/janus.sh install)"; exit 1; }
    if [ -s "$DIR/janus.pid" ] && kill -0 "$(cat "$DIR/janus.pid")" 2>/dev/null; then
        log "already running"; return 0
    fi
    write_config
    # setpriv execs janus itself (no wrapper process): $! is Janus's PID, for a clean stop.
    if [ "$(id -u)" = 0 ]; then
        setpriv --reuid=nobody --regid=nogroup --clear-groups janus -F "$DIR/conf" -o >"$DIR/janus.log" 2>&1 &
    else
        janus -F "$DIR/conf" -o >"$DIR/janus.log" 2>&1 &
    fi
    echo $! >"$DIR/janus.pid"
    for _ in $(seq 100); do
        if curl -fsS "http://127.0.0.1:$HTTP_PORT/janus/info" >/dev/null 2>&1; then
            log "started on 127.0.0.1:$WS_PORT (WebSocket), :$HTTP_PORT (HTTP), :$ADMIN_PORT (admin)"
            return 0
        fi
        kill -0 "$(cat "$DIR/janus.pid")" 2>/dev/null || break
        sleep 0.1
    done
    log "Janus did not start:"; tail -20 "$DIR/janus.log" >&2; exit 1
}

stop() {
    [ -s "$DIR/janus.pid" ] || return 0
    local pid; pid=$(cat "$DIR/janus.pid")
    if kill -0 "$pid" 2>/dev/null; then
        kill -INT "$pid"
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
    fi
    rm -f "$DIR/janus.pid"
}

case "${1:-}" in
    install) install ;;
    start) start ;;
    stop) stop ;;
    *) echo "usage: $0 install|start|stop" >&2; exit 2 ;;
esac
