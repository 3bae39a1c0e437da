#!/usr/bin/env bash
# `lvdian report` in a real browser (issue 11, item 4): writes a report from a small market
# built over HTTP (the `report` test's market: `lvdian serve` on a fresh SQLite file, sessions
# in every scope, meters, certificates, a final settlement, a claim; then the server stopped and
# `lvdian report` run on the file), opens its report.html from the disk in headless Chromium
# with no network, and keeps a screenshot of the whole page:
#
#   bash .ci/report_screenshot.sh        # prints where the screenshots are
#
# Chromium and a CJK font (fonts-wqy-zenhei: without one, Chinese shows as boxes) come from
# Debian's packages, installed with apt-get when missing. The page is about 5,000 pixels tall,
# so the window is 1280 × 6000 to hold all five charts. The check is that the PNGs exist and
# are not blank; looking at them is the reviewer's part.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/lvdian/target}"
SHOT="${LVDIAN_REPORT_SCREENSHOT:-$CARGO_TARGET_DIR/report-screenshot.png}"

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
fc-list :lang=zh 2>/dev/null | grep -q . || need+=(fonts-wqy-zenhei)
if ((${#need[@]})); then
    echo "== installing ${need[*]} (Debian)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

echo "== lvdian report on the report test's market"
LVDIAN_REPORT_KEEP="$WORK/report" cargo test --quiet -p lvdian --test report \
    report_renders_the_statistics_of_the_stored_market

mkdir -p "$(dirname "$SHOT")"
for lang in zh en; do
    out="$SHOT"
    [[ $lang == en ]] && out="${SHOT%.png}-en.png"
    rm -f "$out"
    echo "== headless Chromium: $lang"
    timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
        --no-first-run --user-data-dir="$WORK/profile-$lang" --screenshot="$out" \
        --window-size=1280,6000 "file://$WORK/report/$lang/report.html" 2>"$WORK/chromium-$lang.log" ||
        { tail -n 20 "$WORK/chromium-$lang.log"; exit 1; }
    # A PNG of the window's size, and not a blank page (a blank one of that size is ~35 kB).
    python3 - "$out" <<'PY'
import struct, sys
path = sys.argv[1]
data = open(path, "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
width, height = struct.unpack(">II", data[16:24])
assert (width, height) == (1280, 6000), f"{path} is {width} x {height}"
assert len(data) > 100_000, f"{path} is {len(data)} bytes: a blank page?"
print(f"{path}: {width} x {height}, {len(data)} bytes")
PY
done
echo "== screenshots: $SHOT and ${SHOT%.png}-en.png"
