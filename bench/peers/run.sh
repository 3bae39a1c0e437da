#!/usr/bin/env bash
# Peer benchmarks in one command: lvdian against the tools people would otherwise use, on the same
# inputs, every result checked, one table at the end (Markdown, ready for the README).
#
#   bench/peers/run.sh                                          # everything, full size (~15 min)
#   SIZES="10000 100000" FRACTION=20 RUNS=1 bench/peers/run.sh   # a quick look (~2 min)
#   PARTS=settle DATA_DIR=/tmp/peers-data bench/peers/run.sh     # one part, data kept for reruns
#
# It installs the peers from PyPI into a virtualenv (~/.cache/lvdian/peers-venv, pinned versions:
# PEERS_PACKAGES), builds lvdian (`cargo build --release -p lvdian`, and the settlement data
# generator `cargo build --release -p settlement --example gen_month`) unless given binaries,
# generates the data, runs every row RUNS times under `/usr/bin/time -v` (the input files warm in
# the page cache, the same for every tool), and prints per row: task, size, tool, median wall
# time, peak RSS (the largest of the runs), the check of its result against lvdian's, and the
# command (file names relative to the data directory). Each time is the whole process: start-up,
# imports, reading the input, the work, writing the output. The phase times that the Python peers
# print on stderr (last run) are listed under the table.
#
# The rows:
#   call auction (集中竞价, spec §3.3, `uniform`), SIZES orders over 24 hourly periods
#   (gen_auction.py: the distribution of crates/exchange/benches/auction.rs, many ties at a price):
#     lvdian           `lvdian clear auction-N.json`: the reference.
#     plain Python     auction_python.py: our rules written in plain Python from the spec; its
#                      output must equal lvdian's byte for byte (else JSON-equal).
#     ASSUME patched   auction_assume.py --patched: ASSUME's pay-as-clear (`PayAsClearRole.clear`
#                      of assume-framework) called directly on the same orders, with its quadratic
#                      `order not in rejected_product_orders` list scan replaced at run time by a
#                      set of ids (see auction_assume.py).
#     ASSUME           the same, unpatched; skipped with an estimate (clear phase × (N/N')² from the
#                      previous size) when that estimate is above ASSUME_LIMIT seconds (120). The
#                      estimate is a lower bound: at 10^6 orders (est. 467 s) one run took 1,033 s
#                      of CPU (25 min 56 s wall on the loaded machine, 1.25 GB; results as patched).
#     ASSUME's rule differs: every accepted order is priced at the highest accepted sell price (the
#     marginal sell order), not the midpoint of the marginal buy and sell prices, and ties at one
#     price are broken in random order (seeded), not pro rata. So the check is: Q* equal per
#     period, its price equal to our marginal sell price, and fills equal except for orders at a
#     marginal price (compare_auction.py).
#   coupled inter-provincial clearing (省间, spec §3.5), gen_coupled.py's case (31 provinces × 96
#   periods, 60 corridors, 20 orders per province-period; COUPLED_PERIODS to shorten):
#     lvdian           `lvdian clear case.json`.
#     linopy + HiGHS   coupled_linopy.py: the same welfare LP built with linopy (PyPSA's modelling
#                      layer) and solved by HiGHS. Checked by compare_coupled.py: welfare equal up
#                      to our kWh rounding; the largest volume and flow differences are stated
#                      (the LP has optima of equal welfare: a buy and a sell at one price may or
#                      may not trade); prices differ by design (HiGHS's duals vs our documented
#                      rule), the gap is stated.
#   monthly settlement (spec §5), gen_month's Zhejiang-sized May 2023: 53,568,000 meter rows
#   (1.85 GB CSV) and 20,000 contracts, 1/FRACTION of it; every tool validates the same (every
#   meter has the month's intervals exactly once, one participant, kWh in range, starts on the
#   quarter hours of the month) and prints the same JSON, checked byte for byte against lvdian's:
#     lvdian           `lvdian settle --month 2023-05 --contracts contracts.csv --meters M`.
#     DuckDB           settle_duckdb.py (SQL; count of distinct intervals per meter), and once more
#                      from CSV without the duplicate check (a row count per meter, the cheaper
#                      query most pipelines would write: weaker validation, said in its row).
#     Polars           settle_polars.py (lazy query on Polars' streaming engine).
#     from meters.csv, from meters.parquet (written by DuckDB's defaults: Snappy, `start` a
#     timestamp; the conversion is not timed) and from meters-zstd.parquet (written by Polars'
#     defaults: zstd). A tool that refuses a file gets a row saying so; the run goes on.
#
# Settings (environment): SIZES ("10000 100000 1000000"), RUNS (3), FRACTION (1), PARTS ("auction
# coupled settle"), DATA_DIR (keep the data there, reused when present; default a temporary
# directory removed at the end), LVDIAN_BIN (use this lvdian binary instead of building one),
# GEN_MONTH_BIN (the same for gen_month), CARGO_TARGET_DIR ($HOME/.cache/lvdian/target),
# PEERS_PYTHON (use this Python with the peers installed; nothing is installed then), PEERS_VENV,
# PEERS_PACKAGES, ASSUME_LIMIT (120), COUPLED_PERIODS (96), SEED (the coupled case's).
#
# The machine has 2 cores, often shared with builds: times vary between runs (±15% and more);
# the load average at the start is printed. Not part of CI.
set -euo pipefail
cd "$(dirname "$0")/../.."
REPO=$PWD

SIZES=${SIZES:-"10000 100000 1000000"}
RUNS=${RUNS:-3}
FRACTION=${FRACTION:-1}
PARTS=${PARTS:-"auction coupled settle"}
ASSUME_LIMIT=${ASSUME_LIMIT:-120}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/lvdian/target}
VENV=${PEERS_VENV:-$HOME/.cache/lvdian/peers-venv}
PACKAGES=${PEERS_PACKAGES:-"assume-framework==0.6.0 linopy==0.10.1 highspy==1.16.0 duckdb==2.0.1 polars==2.1.0"}
IMPORTS="import assume, linopy, highspy, duckdb, polars"

# --- the peers -----------------------------------------------------------------------------------
if [ -n "${PEERS_PYTHON:-}" ]; then
    PYTHON=$PEERS_PYTHON
    if ! "$PYTHON" -c "$IMPORTS" 2>/dev/null; then
        echo "$PYTHON lacks a peer ($IMPORTS); install: $PYTHON -m pip install $PACKAGES" >&2
        exit 1
    fi
else
    PYTHON=$VENV/bin/python
    [ -x "$PYTHON" ] || python3 -m venv "$VENV"
    # shellcheck disable=SC2086 # PACKAGES is a list
    if ! "$PYTHON" -m pip install --quiet --disable-pip-version-check $PACKAGES; then
        echo "could not install the peers ($PACKAGES) into $VENV" >&2
        exit 1
    fi
fi

# --- lvdian --------------------------------------------------------------------------------------
if [ -n "${LVDIAN_BIN:-}" ]; then
    LVDIAN=$LVDIAN_BIN
else
    cargo build --release --quiet -p lvdian
    LVDIAN=$CARGO_TARGET_DIR/release/lvdian
fi
[ -x "$LVDIAN" ] || { echo "no lvdian binary at $LVDIAN" >&2; exit 1; }

if [ -n "${DATA_DIR:-}" ]; then
    DATA=$(mkdir -p "$DATA_DIR" && cd "$DATA_DIR" && pwd)
else
    DATA=$(mktemp -d)
    trap 'rm -rf "$DATA"' EXIT
fi
TABLE=$DATA/table.tsv
NOTES=$DATA/notes.txt
: > "$TABLE"
: > "$NOTES"

echo "peer benchmarks, $(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at the start"
echo "lvdian: $LVDIAN (built $(date -u -r "$LVDIAN" '+%Y-%m-%d %H:%M UTC'); the repository at $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$REPO" diff --quiet HEAD -- crates 2>/dev/null || echo ' with uncommitted changes in crates/'))"
echo "peers: $("$PYTHON" - <<'EOF'
import sys
from importlib.metadata import version
names = ["assume-framework", "linopy", "highspy", "duckdb", "polars"]
print(f"Python {sys.version.split()[0]}; " + ", ".join(f"{n} {version(n)}" for n in names))
EOF
)"
echo "data: $DATA; RUNS=$RUNS, medians of the wall times, peak RSS the largest of the runs"

# --- measuring -----------------------------------------------------------------------------------
# measure NAME OUT CMD...: runs CMD RUNS times, stdout into OUT, stderr into $DATA/NAME.err; sets
# SECS (median wall seconds) and MB (largest max RSS). Returns 1 (and leaves the stderr) when a
# run fails.
measure() {
    local name=$1 out=$2 times=() peak=0 kb run
    shift 2
    for run in $(seq "$RUNS"); do
        if ! /usr/bin/time -v -o "$DATA/time.txt" "$@" > "$out" 2> "$DATA/$name.err"; then
            return 1
        fi
        times+=("$(awk -F': ' '/Elapsed \(wall clock\)/ {
            n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s }' \
            "$DATA/time.txt")")
        kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$DATA/time.txt")
        ((kb > peak)) && peak=$kb
    done
    SECS=$(printf '%s\n' "${times[@]}" | sort -g |
        awk '{a[NR] = $1} END {print (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2)}')
    MB=$((peak / 1024))
}

# The command as a reader would type it: lvdian and python by name, files relative to the data
# directory, scripts relative to the repository.
shown() {
    local text="$*"
    text=${text//"$LVDIAN"/lvdian}
    text=${text//"$PYTHON"/python}
    text=${text//"$DATA/"/}
    echo "${text//"$REPO/"/}"
}

# row TASK SIZE TOOL TIME RSS CHECK COMMAND: one line of the table (also printed as it comes).
row() {
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >> "$TABLE"
    printf '  %-22s %-12s %-34s %9s %9s  %s\n' "$1" "$2" "$3" "$4" "$5" "$6"
}

secs() { awk -v s="$1" 'BEGIN {if (s < 10) printf "%.2f s", s; else printf "%.1f s", s}'; }

# 1234567 -> 1,234,567
thousands() { echo "$1" | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta'; }

# phases NAME LABEL: the phase line(s) a Python peer printed on stderr, into the notes.
phases() {
    grep -E '^(python peer|assume peer|linopy peer)' "$DATA/$1.err" | sed "s/^/  $2: /" >> "$NOTES" || true
}

# --- a. call auction -----------------------------------------------------------------------------
auction() {
    local n prev_n="" prev_clear="" prev_rest="" file label est
    echo "call auction: sizes $SIZES over 24 periods"
    for n in $SIZES; do
        file=$DATA/auction-$n.json
        [ -s "$file" ] || python3 bench/peers/gen_auction.py "$file" --orders "$n"
        cat "$file" > /dev/null
        label="$(thousands "$n") orders"

        local lv=("$LVDIAN" clear "$file")
        if measure "lvdian-$n" "$DATA/lvdian-$n.json" "${lv[@]}"; then
            row "call auction" "$label" "lvdian clear" "$(secs "$SECS")" "$MB MB" "reference" "$(shown "${lv[@]}")"
        else
            row "call auction" "$label" "lvdian clear" "failed" "" "$(head -c 200 "$DATA/lvdian-$n.err")" "$(shown "${lv[@]}")"
            continue
        fi

        local py=("$PYTHON" bench/peers/auction_python.py "$file")
        if measure "python-$n" "$DATA/python-$n.json" "${py[@]}"; then
            row "call auction" "$label" "plain Python (our rules)" "$(secs "$SECS")" "$MB MB" \
                "$("$PYTHON" bench/peers/compare_auction.py same "$DATA/lvdian-$n.json" "$DATA/python-$n.json" || true)" \
                "$(shown "${py[@]}")"
            phases "python-$n" "plain Python, $label"
        else
            row "call auction" "$label" "plain Python (our rules)" "failed" "" "$(tail -c 200 "$DATA/python-$n.err")" "$(shown "${py[@]}")"
        fi

        local ap=("$PYTHON" bench/peers/auction_assume.py "$file" --patched)
        if measure "assume-patched-$n" "$DATA/assume-patched-$n.json" "${ap[@]}"; then
            row "call auction" "$label" "ASSUME pay-as-clear, patched" "$(secs "$SECS")" "$MB MB" \
                "$("$PYTHON" bench/peers/compare_auction.py assume "$file" "$DATA/lvdian-$n.json" "$DATA/assume-patched-$n.json" || true)" \
                "$(shown "${ap[@]}")"
            phases "assume-patched-$n" "ASSUME patched, $label"
        else
            row "call auction" "$label" "ASSUME pay-as-clear, patched" "failed" "" "$(tail -c 200 "$DATA/assume-patched-$n.err")" "$(shown "${ap[@]}")"
        fi

        local au=("$PYTHON" bench/peers/auction_assume.py "$file")
        est=""
        if [ -n "$prev_n" ]; then
            est=$(awk -v c="$prev_clear" -v r="$prev_rest" -v k="$n" -v p="$prev_n" \
                'BEGIN {q = k / p; printf "%.0f", c * q * q + r * q}')
        fi
        if [ -n "$est" ] && [ "$est" -gt "$ASSUME_LIMIT" ]; then
            row "call auction" "$label" "ASSUME pay-as-clear" "skipped (est. ≥ $est s)" "" \
                "not run: its clear phase at $(thousands "$prev_n") orders × $((n / prev_n))², the rest × $((n / prev_n)), is above ASSUME_LIMIT=$ASSUME_LIMIT s (a lower bound: at 10^6 orders, measured once, it took 1,033 s of CPU, 2.2× this estimate, its lists no longer in cache)" \
                "$(shown "${au[@]}")"
        elif measure "assume-$n" "$DATA/assume-$n.json" "${au[@]}"; then
            row "call auction" "$label" "ASSUME pay-as-clear" "$(secs "$SECS")" "$MB MB" \
                "$("$PYTHON" bench/peers/compare_auction.py assume "$file" "$DATA/lvdian-$n.json" "$DATA/assume-$n.json" || true)" \
                "$(shown "${au[@]}")"
            phases "assume-$n" "ASSUME, $label"
            prev_n=$n
            prev_clear=$(sed -n 's/.*clear \([0-9.]*\) s.*/\1/p' "$DATA/assume-$n.err")
            prev_rest=$(awk -v t="$SECS" -v c="$prev_clear" 'BEGIN {print t - c}')
        else
            row "call auction" "$label" "ASSUME pay-as-clear" "failed" "" "$(tail -c 200 "$DATA/assume-$n.err")" "$(shown "${au[@]}")"
        fi
    done
}

# --- b. coupled clearing -------------------------------------------------------------------------
coupled() {
    local case=$DATA/coupled.json periods=${COUPLED_PERIODS:-96} label check
    [ -s "$case" ] && [ "$(cat "$DATA/coupled.periods" 2>/dev/null)" = "$periods" ] ||
        { python3 bench/peers/gen_coupled.py "$case" --seed "${SEED:-0x5eedc0de}" --periods "$periods" &&
            echo "$periods" > "$DATA/coupled.periods"; }
    cat "$case" > /dev/null
    label="$(thousands $((31 * periods * 20))) orders, 31 provinces × $periods periods, 60 corridors"
    echo "coupled clearing: $label"
    local lv=("$LVDIAN" clear "$case")
    if ! measure lvdian-coupled "$DATA/lvdian-coupled.json" "${lv[@]}"; then
        row "coupled clearing" "$label" "lvdian clear" "failed" "" "$(head -c 200 "$DATA/lvdian-coupled.err")" "$(shown "${lv[@]}")"
        return
    fi
    local t_lv=$SECS
    row "coupled clearing" "$label" "lvdian clear" "$(secs "$SECS")" "$MB MB" "reference" "$(shown "${lv[@]}")"
    local lp=("$PYTHON" bench/peers/coupled_linopy.py "$case")
    if ! measure linopy "$DATA/linopy-coupled.json" "${lp[@]}"; then
        row "coupled clearing" "$label" "linopy + HiGHS" "failed" "" "$(tail -c 200 "$DATA/linopy.err")" "$(shown "${lp[@]}")"
        return
    fi
    phases linopy "linopy + HiGHS, coupled"
    "$PYTHON" bench/peers/compare_coupled.py "$case" "$DATA/lvdian-coupled.json" \
        "$DATA/linopy-coupled.json" --time-lvdian "$t_lv" --time-peer "$SECS" > "$DATA/compare-coupled.txt"
    sed 's/^/  coupled: /' "$DATA/compare-coupled.txt" >> "$NOTES"
    check=$(awk '
        /difference lvdian − LP/ {sub(/.*relative /, ""); sub(/;.*/, ""); w = $0}
        /largest volume difference/ {sub(/.*-period: */, ""); v = $1}
        /largest flow difference/ {sub(/.*-period: */, ""); f = $1}
        /largest price difference/ {p = $4; sub(/.*\); /, ""); n = $1 " of " $3}
        END {printf "welfare equal (relative difference %s); volumes per province-period within %s MWh, flows within %s MWh (kWh rounding; optima of equal welfare, e.g. a buy and a sell at one price, whose trade the LP may leave out); prices: the rules differ (HiGHS duals vs our §3.5 rule): largest gap %s yuan/MWh, %s province-periods differ by > 0.01", w, v, f, p, n}' \
        "$DATA/compare-coupled.txt")
    row "coupled clearing" "$label" "linopy + HiGHS" "$(secs "$SECS")" "$MB MB" "$check" "$(shown "${lp[@]}")"
}

# --- c. monthly settlement -----------------------------------------------------------------------
settle() {
    local dir=$DATA/settle-f$FRACTION gen rows label
    mkdir -p "$dir"
    if [ ! -s "$dir/meters.csv" ]; then
        if [ -n "${GEN_MONTH_BIN:-}" ]; then
            gen=$GEN_MONTH_BIN
        else
            cargo build --release --quiet -p settlement --example gen_month
            gen=$CARGO_TARGET_DIR/release/examples/gen_month
        fi
        "$gen" "$dir" --fraction "$FRACTION"
    fi
    [ -s "$dir/meters.parquet" ] ||
        "$PYTHON" bench/peers/settle_duckdb.py --csv-to-parquet "$dir/meters.csv" "$dir/meters.parquet"
    [ -s "$dir/meters-zstd.parquet" ] ||
        "$PYTHON" bench/peers/settle_polars.py --to-parquet "$dir/meters.csv" "$dir/meters-zstd.parquet"
    cat "$dir"/*.csv "$dir"/*.parquet > /dev/null # into the page cache, the same for every tool
    rows=$(($(wc -l < "$dir/meters.csv") - 1))
    echo "monthly settlement: $(thousands "$rows") meter rows, $(($(wc -l < "$dir/contracts.csv") - 1)) contracts (FRACTION=$FRACTION)"

    local source meters kind tool out reference=$dir/out-lvdian-csv.json
    for source in csv parquet zstd; do
        case $source in
            csv) meters=$dir/meters.csv kind="CSV" ;;
            parquet) meters=$dir/meters.parquet kind="Parquet (Snappy)" ;;
            zstd) meters=$dir/meters-zstd.parquet kind="Parquet (zstd)" ;;
        esac
        label="$(thousands "$rows") rows, $(stat -c %s "$meters" |
            awk '{if ($1 >= 1e9) printf "%.2f GB", $1 / 1e9; else printf "%.0f MB", $1 / 1e6}') $kind"
        local args=(--month 2023-05 --contracts "$dir/contracts.csv" --meters "$meters")
        for tool in lvdian duckdb duckdb-light polars; do
            local cmd name=$tool
            case $tool in
                lvdian) cmd=("$LVDIAN" settle "${args[@]}") name="lvdian settle" ;;
                duckdb) cmd=("$PYTHON" bench/peers/settle_duckdb.py "${args[@]}") name="DuckDB" ;;
                duckdb-light)
                    [ "$source" = csv ] || continue
                    cmd=("$PYTHON" bench/peers/settle_duckdb.py "${args[@]}" --skip-duplicate-check)
                    name="DuckDB, no duplicate check" ;;
                polars) cmd=("$PYTHON" bench/peers/settle_polars.py "${args[@]}") name="Polars" ;;
            esac
            out=$dir/out-$tool-$source.json
            if measure "settle-$tool-$source" "$out" "${cmd[@]}"; then
                local check
                if [ "$out" = "$reference" ]; then
                    check="reference ($(grep -c '"contract"' "$out") lines)"
                elif [ ! -s "$reference" ]; then
                    check="no reference (lvdian from CSV failed)"
                elif cmp -s "$reference" "$out"; then
                    check="equal (byte for byte)"
                else
                    check="DIFFERS from lvdian's output"
                fi
                [ "$tool" = duckdb-light ] && check="$check; weaker validation (rows per meter, not distinct intervals)"
                row "settlement" "$label" "$name" "$(secs "$SECS")" "$MB MB" "$check" "$(shown "${cmd[@]}")"
            else
                local why
                why=$(grep -v '^\s*$' "$DATA/settle-$tool-$source.err" | head -1 | cut -c1-160)
                if [ "$tool" = lvdian ]; then
                    row "settlement" "$label" "$name" "refused" "" "refused: $why" "$(shown "${cmd[@]}")"
                else
                    row "settlement" "$label" "$name" "failed" "" "failed: $why" "$(shown "${cmd[@]}")"
                fi
            fi
        done
    done
}

for part in $PARTS; do
    case $part in
        auction) auction ;;
        coupled) coupled ;;
        settle) settle ;;
        *) echo "unknown part $part (auction, coupled, settle)" >&2; exit 1 ;;
    esac
done

# --- the table -----------------------------------------------------------------------------------
echo
echo "| task | size | tool | median time | peak RSS | check | command |"
echo "|---|---|---|---|---|---|---|"
awk -F'\t' '{printf "| %s | %s | %s | %s | %s | %s | `%s` |\n", $1, $2, $3, $4, $5, $6, $7}' "$TABLE"
echo
echo "$(nproc) cores shared with other work (load average $(cut -d' ' -f1-3 /proc/loadavg) at the end): times are noisy, ±15% or more. Median of RUNS=$RUNS; the whole process each (start-up, imports, reading, work, writing)."
if [[ " $PARTS " == *" auction "* ]]; then
    echo "ASSUME's rule differs from ours: it prices every accepted order at the highest accepted sell price (the marginal sell order) where we take the midpoint of the marginal buy and sell prices, and breaks ties at one price by a random order (random.random() in its sort key, seeded 0 here) where we share pro rata; the matched volume Q* is the same. 'patched': its O(n²) \`order not in rejected_product_orders\` list scan (PayAsClearRole.clear) replaced at run time by a set of ids (auction_assume.py); its \`pop(0)\` / \`insert(0, …)\` on the supply list (linear per call too, but a memmove) left as they are."
fi
if [ -s "$NOTES" ]; then
    echo "phases (stderr of the last run) and the coupled comparison:"
    cat "$NOTES"
fi
if grep -q -e $'\tDIFFERS' -e $'\tfailed' "$TABLE"; then
    echo "SOME CHECKS FAILED (see the check column); data kept in $DATA" >&2
    trap - EXIT
    exit 1
fi
