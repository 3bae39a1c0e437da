#!/usr/bin/env bash
# Page times of the dashboard on a demo database, as a browser meets them: one HTTP request per
# page (the HTML; the vendored scripts are cached for a year after the first load), 7 runs each,
# the median and the slowest printed in milliseconds.
#
#   cargo build --release && (cd /tmp/x && target/release/lvdian demo)      # the full-year database
#   bench/pages.sh /tmp/x/lvdian-demo/lvdian.db
#
# It registers a benchmark operator on the database (`lvdian admin create-operator`), starts
# `lvdian serve` on a free port, waits for the statistics it computes at start, gives a user, a
# retailer, an aggregator and a generator a token each, and times the public pages, each of
# those participants' pages and the operator's.
set -euo pipefail
DB="${1:?usage: bench/pages.sh path/to/lvdian.db}"
cd "$(dirname "$0")/.."
BIN="${LVDIAN_BIN:-${CARGO_TARGET_DIR:-target}/release/lvdian}"
PORT="${PORT:-18080}"
RUNS="${RUNS:-7}"
URL="sqlite:$DB"
BASE="http://127.0.0.1:$PORT"
API="$BASE/api/v1"

OP=$("$BIN" admin create-operator --name "bench-$(date +%s%N)" --database-url "$URL" 2>/dev/null)
LOG="$(mktemp)"
"$BIN" serve --listen "127.0.0.1:$PORT" --database-url "$URL" >"$LOG" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; rm -f "$LOG"' EXIT
until curl -sf "$BASE/healthz" >/dev/null; do sleep 0.2; done
echo "ready; waiting for the statistics computed at start"
for _ in $(seq 240); do
    grep -q "sellers' meter totals ready" "$LOG" && break
    sleep 0.5
done
grep -E 'statistics ready|meter totals' "$LOG" | sed 's/\x1b\[[0-9;]*m//g' | sed 's/^.*INFO //'

token_of() { # role → a token of the first participant of that role in Zhejiang
    local id
    id=$(curl -s "$API/participants" -H "Authorization: Bearer $OP" |
        python3 -c "import json,sys; print(next(p['id'] for p in json.load(sys.stdin) if p['role']=='$1' and p['province']=='ZJ'))")
    curl -s -X POST "$API/participants/$id/tokens" -H "Authorization: Bearer $OP" \
        -H 'content-type: application/json' -d '{}' | python3 -c "import json,sys; print(json.load(sys.stdin)['token'])"
}
USER_T=$(token_of user)
RETAILER_T=$(token_of retailer)
echo "$USER_T" > "${TOKENS_OUT:-/dev/null}"
AGGREGATOR_T=$(token_of aggregator)
GENERATOR_T=$(token_of generator)
read -r COUPLED ROLLING LAST < <(curl -s "$API/sessions" | python3 -c "
import json,sys
s=json.load(sys.stdin)
coupled=[x['id'] for x in s if x['settings'].get('method')=='coupled']
rolling=[x['id'] for x in s if x['settings']['mode']=='rolling']
print(coupled[-1], rolling[-1], s[-1]['id'])")

time_page() { # label, path, token (or -)
    local label=$1 path=$2 token=$3 cookie="" times=()
    [[ $token != - ]] && cookie="lvd_token=$token"
    for _ in $(seq "$RUNS"); do
        times+=("$(curl -s -o /dev/null -w '%{http_code} %{time_total}' -H "cookie: $cookie" "$BASE$path")")
    done
    printf '%s\n' "${times[@]}" | python3 -c "
import sys
rows=[l.split() for l in sys.stdin]
codes={r[0] for r in rows}
ms=sorted(float(r[1])*1000 for r in rows)
print(f'| {\"$label\"} | \`{\"$path\"}\` | {ms[len(ms)//2]:.1f} | {ms[-1]:.1f} | {\",\".join(sorted(codes))} |')"
}

echo "| page | path | median ms | slowest ms | status |"
echo "|---|---|---|---|---|"
time_page "overview (last year)" "/" -
time_page "overview, the year before" "/?year=2022" -
time_page "session calendar" "/sessions" -
time_page "coupled session results" "/sessions/$COUPLED" -
time_page "rolling session" "/sessions/$ROLLING" -
time_page "last session" "/sessions/$LAST" -
time_page "corridors" "/network" -
time_page "sign-in" "/signin" -
time_page "user: my business" "/me" "$USER_T"
time_page "user: a mid-year month" "/me?month=2023-06" "$USER_T"
time_page "user: rolling session with own orders" "/sessions/$ROLLING" "$USER_T"
time_page "user: settlement and hourly matching" "/me/settlement" "$USER_T"
time_page "user: settlement, a mid-year month" "/me/settlement?month=2023-06" "$USER_T"
time_page "retailer: my business" "/me" "$RETAILER_T"
time_page "retailer: settlement with retail allocations" "/me/settlement" "$RETAILER_T"
time_page "aggregator: my business" "/me" "$AGGREGATOR_T"
time_page "aggregator: settlement" "/me/settlement" "$AGGREGATOR_T"
time_page "generator: my business" "/me" "$GENERATOR_T"
time_page "operator" "/operator" "$OP"
time_page "operator: my business (all contracts)" "/me" "$OP"
