# Sourced by the scripts that test a real `lvdian serve` (.ci/schemathesis.sh, .ci/client.sh):
# `start_server NAME` builds the binary, creates an operator named NAME on a fresh SQLite
# database, serves it on a free loopback port and waits for /healthz. It sets LVDIAN, WORK (a
# temporary folder, removed on exit), DB, BASE, OPERATOR (the operator's token) and SERVER (its
# pid, stopped on exit); the server's log is "$WORK/serve.log".

start_server() {
    cargo build --quiet -p lvdian
    LVDIAN="$CARGO_TARGET_DIR/debug/lvdian"
    WORK="$(mktemp -d)"
    SERVER=""
    trap stop_server EXIT
    DB="sqlite:$WORK/lvdian.db"
    local port
    port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    BASE="http://127.0.0.1:$port"
    OPERATOR="$("$LVDIAN" admin create-operator --name "$1" --database-url "$DB" 2>/dev/null)"
    "$LVDIAN" serve --listen "127.0.0.1:$port" --database-url "$DB" 2>"$WORK/serve.log" &
    SERVER=$!
    for _ in $(seq 100); do
        curl -fsS "$BASE/healthz" >/dev/null 2>&1 && break
        kill -0 "$SERVER" 2>/dev/null || { cat "$WORK/serve.log"; exit 1; }
        sleep 0.1
    done
    curl -fsS "$BASE/healthz" >/dev/null
}

stop_server() {
    if [[ -n "$SERVER" ]] && kill -0 "$SERVER" 2>/dev/null; then
        kill -TERM "$SERVER"
        wait "$SERVER" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
