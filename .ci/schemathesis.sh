#!/usr/bin/env bash
# Schema-driven fuzzing of the HTTP API (issue 9, item 8): Schemathesis generates requests from
# `/api/v1/openapi.json` and checks that no answer is a server error (5xx), that every status
# and body is the one the document declares, against a fresh `lvdian serve` on loopback.
#
#   bash .ci/schemathesis.sh            # exits non-zero on any failure
#
# One worker: with two, Hypothesis's concurrent `ast.parse` trips a CPython 3.11 bug
# ("AST constructor recursion depth mismatch"), an error of the tool, not of the API.
# Bounded: at most LVDIAN_ST_EXAMPLES generated cases per operation and phase, and at most
# LVDIAN_ST_SECONDS per run (three runs: as the operator, a generator and a user, against a
# market of one session per mode set up first); about 45 s in all with the defaults.
# Schemathesis lives in a venv under ~/.cache/lvdian (pinned, installed from PyPI once). Uses
# the debug build, which `cargo test --workspace` has already made in CI (then a no-op here).
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/lvdian/target}"
SCHEMATHESIS_VERSION=4.32.5
VENV="${LVDIAN_VENV:-$HOME/.cache/lvdian/venv}"
EXAMPLES="${LVDIAN_ST_EXAMPLES:-50}"
SECONDS_PER_RUN="${LVDIAN_ST_SECONDS:-150}"
# not_a_server_error: no 5xx. status_code_conformance: no status the document does not list.
# content_type_conformance, response_schema_conformance: bodies as documented.
CHECKS="${LVDIAN_ST_CHECKS:-not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance}"

if [[ "$("$VENV/bin/schemathesis" --version 2>/dev/null)" != *"$SCHEMATHESIS_VERSION"* ]]; then
    echo "installing schemathesis $SCHEMATHESIS_VERSION into $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi

# shellcheck source=.ci/serve.sh
source "$(dirname "$0")/serve.sh"
start_server "schemathesis operator"

# A market to find: participants, a project, a session of each mode (open, with orders, a
# listing, a proposal) and a published call auction. Prints the traders' tokens.
TOKENS="$(python3 - "$BASE" "$OPERATOR" <<'PY'
import json, sys, urllib.request

base, operator = sys.argv[1], sys.argv[2]

def call(method, path, token, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + "/api/v1" + path, data=data, method=method, headers={
        "Authorization": f"Bearer {token}", "content-type": "application/json"})
    with urllib.request.urlopen(request) as response:
        text = response.read()
        return json.loads(text) if text else None

def participant(name, role, province="ZJ"):
    return call("POST", "/participants", operator,
                {"name": name, "role": role, "province": province})

generator = participant("schemathesis generator", "generator")
user = participant("schemathesis user", "user")
participant("schemathesis generator QH", "generator", "QH")
call("POST", "/projects", operator, {
    "code": "33010012345678901", "technology": "wind_offshore", "capacity_kw": 300000,
    "province": "ZJ", "owner": generator["participant"]["id"], "meters": ["GM1"]})
def session(mode, name):
    s = call("POST", "/sessions", operator, {
        "name": name, "scope": "intra", "provinces": ["ZJ"], "horizon": "month", "mode": mode,
        "first_month": "2024-03", "last_month": "2024-03", "energy_price_min": "300.00",
        "energy_price_max": "500.00", "lot_mwh": "0.5", "compensation": "50.00"})
    for action in ["announce", "open"]:
        call("POST", f"/sessions/{s['id']}/{action}", operator)
    return s["id"]
def order(s, who, side, price):
    call("POST", f"/sessions/{s}/orders", who["token"], {
        "side": side, "period": "h12", "mwh": "6.5", "energy_price": price, "env_price": "20.00"})
auction = session("call_auction", "schemathesis call auction")
order(auction, generator, "sell", "350.00")
order(auction, user, "buy", "400.00")
rolling = session("rolling", "schemathesis rolling")
order(rolling, generator, "sell", "450.00")
order(rolling, user, "buy", "350.00")
listing = session("listing", "schemathesis listing")
call("POST", f"/sessions/{listing}/listings", generator["token"], {
    "side": "sell", "volumes": [{"period": "h01", "mwh": "5"}], "energy_price": "400.00",
    "env_price": "20.00"})
bilateral = session("bilateral", "schemathesis bilateral")
call("POST", f"/sessions/{bilateral}/proposals", generator["token"], {
    "counterparty": user["participant"]["id"], "volumes": [{"period": "h02", "mwh": "3"}],
    "energy_price": "410.00", "env_price": "25.00", "compensation": "10.00"})
published = session("call_auction", "schemathesis published")
order(published, generator, "sell", "350.00")
order(published, user, "buy", "400.00")
for action in ["close", "clear", "publish"]:
    call("POST", f"/sessions/{published}/{action}", operator)
call("PUT", "/network/corridors/QH/ZJ", operator,
     {"capacity_mwh": "50.000", "loss": "0.035", "tariff": "60.00"})
print(generator["token"], user["token"])
PY
)"
read -r GENERATOR USER_TOKEN <<<"$TOKENS"

# Known values, offered to the generator half the time, so that requests reach the fixtures'
# sessions, orders, listings and proposals, and bodies get past their first field.
cat >"$WORK/schemathesis.toml" <<'TOML'
[dictionaries]
ids = { values = [1, 2, 3, 4, 5] }
small = { values = [1, 2] }
months = { values = ["2024-03", "2024-04"] }
years = { values = [2024] }
provinces = { values = ["ZJ", "QH"] }
actions = { values = ["announce", "open", "close", "clear", "publish", "cancel"] }
periods = { values = ["h01", "h12", "q01"] }
sides = { values = ["buy", "sell"] }
mwh = { values = ["0.5", "6.5", "10"] }
prices = { values = ["350.00", "400", "20.00"] }
projects = { values = ["33010012345678901"] }

[parameters]
"path.id" = { dictionary = "ids", probability = 0.5 }
"path.listing" = { dictionary = "small", probability = 0.5 }
"path.proposal" = { dictionary = "small", probability = 0.5 }
"path.order" = { dictionary = "small", probability = 0.5 }
"path.month" = { dictionary = "months", probability = 0.5 }
"path.year" = { dictionary = "years", probability = 0.5 }
"path.from" = { dictionary = "provinces", probability = 0.5 }
"path.to" = { dictionary = "provinces", probability = 0.5 }
"path.action" = { dictionary = "actions", probability = 0.5 }
"body.period" = { dictionary = "periods", probability = 0.5 }
"body.side" = { dictionary = "sides", probability = 0.5 }
"body.mwh" = { dictionary = "mwh", probability = 0.5 }
"body.energy_price" = { dictionary = "prices", probability = 0.5 }
"body.env_price" = { dictionary = "prices", probability = 0.5 }
"body.month" = { dictionary = "months", probability = 0.5 }
"body.project" = { dictionary = "projects", probability = 0.5 }
"body.province" = { dictionary = "provinces", probability = 0.5 }
"body.orders[*].period" = { dictionary = "periods", probability = 0.5 }
"body.orders[*].mwh" = { dictionary = "mwh", probability = 0.5 }
"body.volumes[*].period" = { dictionary = "periods", probability = 0.5 }
"body.volumes[*].mwh" = { dictionary = "mwh", probability = 0.5 }
TOML

export SCHEMATHESIS_TELEMETRY=false
# Schemathesis keeps state (failures to replay) in ./.schemathesis: keep it out of the clone.
cd "$WORK"
status=0
for who in operator generator user; do
    case "$who" in
        operator) token="$OPERATOR" ;;
        generator) token="$GENERATOR" ;;
        user) token="$USER_TOKEN" ;;
    esac
    echo "== schemathesis as the $who (at most $EXAMPLES cases per operation, ${SECONDS_PER_RUN}s)"
    timeout --signal=INT "$SECONDS_PER_RUN" \
        "$VENV/bin/schemathesis" --config-file "$WORK/schemathesis.toml" \
        run "$BASE/api/v1/openapi.json" \
        --url "$BASE" \
        --header "Authorization: Bearer $token" \
        --checks "$CHECKS" \
        --max-examples "$EXAMPLES" \
        --seed "${LVDIAN_ST_SEED:-9}" \
        --request-timeout 10 \
        --workers 1 \
        --generation-database none \
        --suppress-health-check all \
        --no-color \
        --report junit --report-dir "${LVDIAN_ST_REPORT_DIR:-$WORK/report-$who}" ||
        status=$?
done

if [[ $status -ne 0 ]]; then
    echo "== schemathesis found failures (exit $status); the server's log ends:"
    tail -n 40 "$WORK/serve.log"
fi
exit $status
