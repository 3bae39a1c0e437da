#!/usr/bin/env bash
# Coverage-guided fuzzing of lvdian's parsers of hostile input (issue 9, item 8): each cargo-fuzz
# target in fuzz/ runs for a short, bounded time (LVDIAN_FUZZ_SECONDS, default 15 s each).
#
#   bash .ci/fuzz.sh            # exits non-zero if a target crashed; its input is printed
#
# Needs a nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`). Without them it says so
# and exits 0: the same checks run as property tests in `cargo test --workspace`
# (`*_never_panic*` in crates/{domain,settlement,api,lvdian}). Corpora are kept under
# ~/.cache/lvdian/fuzz-corpus, so each run starts where the last one stopped.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

SECONDS_EACH="${LVDIAN_FUZZ_SECONDS:-15}"
CORPUS="${LVDIAN_FUZZ_CORPUS:-$HOME/.cache/lvdian/fuzz-corpus}"
# The fuzz build (sanitizer flags, its own lock file) never shares artifacts with the main one.
export CARGO_TARGET_DIR="${LVDIAN_FUZZ_TARGET_DIR:-$HOME/.cache/lvdian/fuzz-target}"

if ! cargo +nightly --version >/dev/null 2>&1 || ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    echo "fuzz: no nightly toolchain or no cargo-fuzz here; the fuzz targets' checks ran as"
    echo "fuzz: property tests over arbitrary bytes in \`cargo test --workspace\` instead"
    exit 0
fi

cargo +nightly fuzz build -O
status=0
for target in $(cargo +nightly fuzz list); do
    dir="$CORPUS/$target"
    mkdir -p "$dir"
    echo "== fuzz $target (${SECONDS_EACH}s)"
    # LVDIAN_FUZZ_SEEDS: the target's init writes its valid seed inputs into its corpus.
    # -timeout: one input taking longer is a hang, reported like a crash.
    # Inputs that once crashed (fuzz/regressions/<target>) run first, every time.
    regressions=()
    [[ -d "regressions/$target" ]] && regressions=("regressions/$target")
    if ! LVDIAN_FUZZ_SEEDS="$dir" cargo +nightly fuzz run -O "$target" "$dir" "${regressions[@]}" -- \
        -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 2>"$CARGO_TARGET_DIR/fuzz-$target.log"; then
        status=1
        echo "fuzz: $target FAILED; the end of its log:"
        tail -n 60 "$CARGO_TARGET_DIR/fuzz-$target.log"
    else
        grep -E '^stat::number_of_executed_units|^stat::peak_rss_mb' \
            "$CARGO_TARGET_DIR/fuzz-$target.log" || true
    fi
done
exit $status
