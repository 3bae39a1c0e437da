#!/usr/bin/env python3
"""Writes the call-auction benchmark case as a `lvdian clear` input file (formats.md, `uniform`).

    python3 gen_auction.py OUT.json --orders 1000000 [--periods 24] [--seed N]

Shaped like crates/exchange/benches/auction.rs (same splitmix64 generator, seed and draws per
order): a buy or a sell with equal odds; period h01..h24; volume 0.001..10.000 MWh; a buy's limit
350.00 + u, a sell's 450.00 − u, u in [0, 99.99] yuan/MWh in 0.01 steps, so the curves cross near
400 and many orders share a price (ties at the margin are shared pro rata by our rule). Ids are
`b<n>` / `s<n>` (n the position in the file), participants U0..U4999 / G0..G1999. One order per
line, numbers as decimal strings. Deterministic.
"""

import argparse

MASK = (1 << 64) - 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--orders", type=int, required=True)
    ap.add_argument("--periods", type=int, default=24)
    ap.add_argument("--seed", type=lambda s: int(s, 0), default=0x5EED1E55)
    a = ap.parse_args()
    state = a.seed & MASK
    lines = []
    for i in range(a.orders):
        draws = []
        for _ in range(4):  # splitmix64, four draws per order as in the bench
            state = (state + 0x9E3779B97F4A7C15) & MASK
            z = state
            z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
            draws.append(z ^ (z >> 31))
        buy = draws[0] % 2 == 0
        offset = draws[1] % 10_000
        period = draws[2] % a.periods
        kwh = 1 + draws[3] % 10_000
        fen = 35_000 + offset if buy else 45_000 - offset
        side, who = ("buy", f"U{i % 5000}") if buy else ("sell", f"G{i % 2000}")
        lines.append(
            f'    {{"id": "{side[0]}{i}", "participant": "{who}", "side": "{side}", '
            f'"period": "h{period + 1:02d}", "mwh": "{kwh // 1000}.{kwh % 1000:03d}", '
            f'"price": "{fen // 100}.{fen % 100:02d}"}}'
        )
    with open(a.out, "w") as f:
        f.write('{\n  "method": "uniform",\n  "orders": [\n')
        f.write(",\n".join(lines))
        f.write("\n  ]\n}\n")


if __name__ == "__main__":
    main()
