#!/usr/bin/env bash
# `lvdian clear` on the coupled (省间) benchmark case against the same welfare LP built with linopy
# and solved by HiGHS. Generates the case (gen_coupled.py: 31 provinces × 96 periods, 60 corridors,
# 20 orders per province-period = 59,520 orders, shaped like crates/exchange/benches/coupling.rs),
# clears it with lvdian and with coupled_linopy.py, times each (wall clock and max RSS by
# /usr/bin/time, RUNS times, the case file warm in the page cache), and prints compare_coupled.py's
# report from the last run: welfare of each, largest volume / flow / price differences, time ratio.
#
#   bench/peers/run_coupled.sh                                   # full size
#   PERIODS=24 bench/peers/run_coupled.sh                        # a quarter of it
#
# bench/peers/run.sh runs the same comparison as rows of its one table of all the peer benchmarks.
#
# lvdian is built with `cargo build --release -p lvdian` (`cargo run --release -p lvdian -- clear
# case.json` once, untimed, as a check), then the binary target/release/lvdian is timed, without
# cargo's start-up. The peer's time is the whole Python process (imports, JSON in and out, model
# build, HiGHS solve); its phases are printed on stderr.
#
# linopy + HiGHS are not dependencies of the project; install them once (not part of CI):
#   python3 -m venv ~/.cache/lvdian/peers-venv && ~/.cache/lvdian/peers-venv/bin/pip install linopy highspy
# Settings: PEERS_PYTHON (default: that venv's python), RUNS (1), SEED (0x5eedc0de), PROVINCES (31),
# PERIODS (96), CORRIDORS (60), ORDERS (20 per province-period), DATA_DIR (keep the files there),
# CARGO_TARGET_DIR, LVDIAN_BIN (time this lvdian binary instead of building one).
set -euo pipefail
cd "$(dirname "$0")/../.."

RUNS=${RUNS:-1}
TARGET=${CARGO_TARGET_DIR:-target}
PYTHON=${PEERS_PYTHON:-$HOME/.cache/lvdian/peers-venv/bin/python}
if ! "$PYTHON" -c "import linopy, highspy" 2>/dev/null; then
    echo "linopy/highspy missing for $PYTHON; install them with:" >&2
    echo "  python3 -m venv ~/.cache/lvdian/peers-venv && ~/.cache/lvdian/peers-venv/bin/pip install linopy highspy" >&2
    exit 1
fi
if [ -n "${DATA_DIR:-}" ]; then
    DATA=$DATA_DIR
    mkdir -p "$DATA"
else
    DATA=$(mktemp -d)
    trap 'rm -rf "$DATA"' EXIT
fi

python3 bench/peers/gen_coupled.py "$DATA/case.json" --seed "${SEED:-0x5eedc0de}" \
    --provinces "${PROVINCES:-31}" --periods "${PERIODS:-96}" --corridors "${CORRIDORS:-60}" \
    --orders "${ORDERS:-20}"
ls -l "$DATA/case.json"
if [ -n "${LVDIAN_BIN:-}" ]; then
    LVDIAN=$LVDIAN_BIN # a prebuilt binary (e.g. while the working tree does not compile)
else
    cargo run --release --quiet -p lvdian -- clear "$DATA/case.json" > "$DATA/lvdian.json"
    LVDIAN=$TARGET/release/lvdian
fi
echo "$(nproc) cores; $("$PYTHON" -c 'import linopy, highspy; print("linopy", linopy.__version__)'), $("$PYTHON" -c 'import highspy; h = highspy.Highs(); print("HiGHS", h.version())' 2>/dev/null | tail -1)"

# Runs the command once, its stdout into $1; prints "<s> s, <MB> MB" (seconds left in time.txt).
timed() {
    local out=$1
    shift
    if ! /usr/bin/time -f "%e %M" -o "$DATA/time.txt" "$@" > "$out"; then
        echo "failed: $*" >&2
        return 1
    fi
    awk '{printf "%s s, %.0f MB\n", $1, $2 / 1024}' "$DATA/time.txt"
}

for run in $(seq "$RUNS"); do
    echo "run $run: lvdian clear          $(timed "$DATA/lvdian.json" "$LVDIAN" clear "$DATA/case.json")"
    T_LV=$(awk '{print $1}' "$DATA/time.txt")
    echo "run $run: linopy + HiGHS peer   $(timed "$DATA/peer.json" "$PYTHON" bench/peers/coupled_linopy.py "$DATA/case.json" 2> "$DATA/peer.err")"
    T_LP=$(awk '{print $1}' "$DATA/time.txt")
    grep '^linopy peer' "$DATA/peer.err" | sed 's/^/        /'
done
python3 bench/peers/compare_coupled.py "$DATA/case.json" "$DATA/lvdian.json" "$DATA/peer.json" \
    --time-lvdian "$T_LV" --time-peer "$T_LP"
