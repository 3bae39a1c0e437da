#!/usr/bin/env bash
# `lvdian settle` against DuckDB on the same month of data, end to end from CSV and from Parquet
# (validation included). Generates a Zhejiang-sized May 2023 — 16,000 users + 2,000 projects metered every 15
# minutes (53,568,000 rows, ~1.85 GB) and 20,000 contracts — into a temporary directory, runs each
# side RUNS times (files warm in the page cache, as for both), prints the times and checks that
# the outputs are byte-identical. DuckDB runs twice: validating like lvdian (every meter has the
# month's intervals exactly once: a count of distinct intervals per meter) and without the
# duplicate check (a row count per meter), the cheaper query most pipelines would write.
# The CSV is then converted to Parquet by DuckDB (`COPY ... TO 'meters.parquet' (FORMAT PARQUET)`:
# Snappy, `start` a TIMESTAMP; the conversion is not timed) and both sides run again from it.
#
#   bench/peers/run_settle.sh                     # full size
#   FRACTION=10 RUNS=5 bench/peers/run_settle.sh  # 1/10 of it
#
# bench/peers/run.sh runs the same comparison (with Polars too) as rows of its one table of all the
# peer benchmarks.
#
# DuckDB is not a dependency of the project; install it once (not part of CI):
#   python3 -m venv ~/.cache/lvdian/duckdb-venv && ~/.cache/lvdian/duckdb-venv/bin/pip install duckdb
# Settings: DUCKDB_PYTHON (default: that venv's python, else python3), RUNS (3), FRACTION (1),
# TIME_MAJOR=1 (rows ordered by interval, then meter), DATA_DIR (keep the data there),
# CARGO_TARGET_DIR.
set -euo pipefail
cd "$(dirname "$0")/../.."

RUNS=${RUNS:-3}
FRACTION=${FRACTION:-1}
TARGET=${CARGO_TARGET_DIR:-target}
PYTHON=${DUCKDB_PYTHON:-$HOME/.cache/lvdian/duckdb-venv/bin/python}
[ -x "$PYTHON" ] || PYTHON=python3
if ! "$PYTHON" -c "import duckdb" 2>/dev/null; then
    echo "DuckDB is missing for $PYTHON; install it with:" >&2
    echo "  python3 -m venv ~/.cache/lvdian/duckdb-venv && ~/.cache/lvdian/duckdb-venv/bin/pip install duckdb" >&2
    exit 1
fi

if [ -n "${DATA_DIR:-}" ]; then
    DATA=$DATA_DIR
    mkdir -p "$DATA"
else
    DATA=$(mktemp -d)
    trap 'rm -rf "$DATA"' EXIT
fi

cargo build --release --quiet -p lvdian --bin lvdian
cargo build --release --quiet -p settlement --example gen_month
ORDER=()
[ "${TIME_MAJOR:-0}" = 1 ] && ORDER=(--time-major)
if [ ! -s "$DATA/meters.csv" ]; then
    "$TARGET/release/examples/gen_month" "$DATA" --fraction "$FRACTION" "${ORDER[@]}"
fi
if [ ! -s "$DATA/meters.parquet" ]; then
    "$PYTHON" bench/peers/settle_duckdb.py --csv-to-parquet "$DATA/meters.csv" "$DATA/meters.parquet"
fi
ls -l "$DATA"/*.csv "$DATA"/*.parquet
cat "$DATA"/*.csv "$DATA"/*.parquet > /dev/null # into the page cache, the same for both sides
echo "$(nproc) cores; DuckDB $("$PYTHON" -c 'import duckdb; print(duckdb.__version__)')"

# Runs the command once, its stdout into $1; prints "<seconds> s, <max RSS> MB".
timed() {
    local out=$1
    shift
    if ! /usr/bin/time -f "%e %M" -o "$DATA/time.txt" "$@" > "$out"; then
        echo "failed: $*" >&2
        return 1
    fi
    awk '{printf "%s s, %.0f MB\n", $1, $2 / 1024}' "$DATA/time.txt"
}

ARGS=(--month 2023-05 --contracts "$DATA/contracts.csv" --meters "$DATA/meters.csv")
for run in $(seq "$RUNS"); do
    t=$(timed "$DATA/lvdian.json" "$TARGET/release/lvdian" settle "${ARGS[@]}")
    echo "run $run: lvdian settle                    $t"
    t=$(timed "$DATA/duckdb.json" "$PYTHON" bench/peers/settle_duckdb.py "${ARGS[@]}")
    echo "run $run: duckdb                           $t"
    t=$(timed "$DATA/duckdb-light.json" "$PYTHON" bench/peers/settle_duckdb.py "${ARGS[@]}" \
        --skip-duplicate-check)
    echo "run $run: duckdb without duplicate check   $t"
done
PQ_ARGS=(--month 2023-05 --contracts "$DATA/contracts.csv" --meters "$DATA/meters.parquet")
for run in $(seq "$RUNS"); do
    t=$(timed "$DATA/lvdian-parquet.json" "$TARGET/release/lvdian" settle "${PQ_ARGS[@]}")
    echo "run $run: lvdian settle, Parquet           $t"
    t=$(timed "$DATA/duckdb-parquet.json" "$PYTHON" bench/peers/settle_duckdb.py "${PQ_ARGS[@]}")
    echo "run $run: duckdb, Parquet                  $t"
done
if cmp -s "$DATA/lvdian.json" "$DATA/duckdb.json" && cmp -s "$DATA/lvdian.json" "$DATA/duckdb-light.json" \
    && cmp -s "$DATA/lvdian.json" "$DATA/lvdian-parquet.json" \
    && cmp -s "$DATA/lvdian.json" "$DATA/duckdb-parquet.json"; then
    echo "outputs identical: $(grep -c '"contract"' "$DATA/lvdian.json") lines"
else
    echo "OUTPUTS DIFFER: diff $DATA/lvdian.json $DATA/{duckdb,duckdb-light,lvdian-parquet,duckdb-parquet}.json" >&2
    trap - EXIT
    exit 1
fi
