#!/usr/bin/env python3
"""Writes the coupled-clearing benchmark case as a `lvdian clear` input file (formats.md, `coupled`).

    python3 gen_coupled.py OUT.json [--seed N] [--provinces 31] [--periods 96] [--corridors 60]
                                    [--orders 20]

Shaped like crates/exchange/benches/coupling.rs (same splitmix64 generator and draws, same ranges):
province P01..P31 has price level 250.00 + 10.00 × index yuan/MWh; each of its 20 orders per period
`q01`..`q96` is a buy (limit level − 50 + u) or a sell (limit level + 50 − u), u in [0, 99.99],
volume 1.000..50.999 MWh; corridors join pseudo-random pairs with a capacity of 0..200.000 MWh per
period (`capacity_by_period`), loss 0..0.0599 and tariff 0..59.99 yuan/MWh. Unlike the bench, a
(from, to) pair is drawn again when already taken, so every corridor is identified by its pair.
Not byte-identical to the bench case. Prices and volumes are decimal strings.
"""

import argparse
import json

MASK = (1 << 64) - 1


def splitmix64(seed):
    state = seed & MASK
    while True:
        state = (state + 0x9E3779B97F4A7C15) & MASK
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        yield z ^ (z >> 31)


def fen(v):
    return f"{v // 100}.{v % 100:02d}"


def mwh(kwh):
    return f"{kwh // 1000}.{kwh % 1000:03d}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--seed", type=lambda s: int(s, 0), default=0x5EEDC0DE)
    ap.add_argument("--provinces", type=int, default=31)
    ap.add_argument("--periods", type=int, default=96)
    ap.add_argument("--corridors", type=int, default=60)
    ap.add_argument("--orders", type=int, default=20, help="orders per province and period")
    a = ap.parse_args()
    rng = splitmix64(a.seed)
    nxt = rng.__next__
    width = max(2, len(str(a.periods)))
    label = [f"q{p + 1:0{width}d}" for p in range(a.periods)]
    name = [f"P{i + 1:02d}" for i in range(a.provinces)]
    orders = []
    for period in range(a.periods):
        for province in range(a.provinces):
            level = 25_000 + province * 1_000  # fen per MWh
            for k in range(a.orders):
                buy = nxt() % 2 == 0
                offset = nxt() % 10_000
                volume = 1_000 + nxt() % 50_000  # kWh
                price = level - 5_000 + offset if buy else level + 5_000 - offset
                orders.append({
                    "id": f"{label[period]}-{name[province]}-{k + 1:02d}",
                    "participant": f"{'U' if buy else 'G'}{name[province]}-{k + 1:02d}",
                    "province": name[province],
                    "side": "buy" if buy else "sell",
                    "period": label[period],
                    "mwh": mwh(volume),
                    "price": fen(price),
                })
    corridors, taken = [], set()
    assert a.corridors <= a.provinces * (a.provinces - 1)
    while len(corridors) < a.corridors:
        frm = nxt() % a.provinces
        to = (frm + 1 + nxt() % (a.provinces - 1)) % a.provinces
        caps = [nxt() % 200_001 for _ in range(a.periods)]
        loss = nxt() % 600  # 1/10000
        tariff = nxt() % 6_000  # fen per MWh
        if (frm, to) in taken:
            continue
        taken.add((frm, to))
        corridors.append({
            "from": name[frm],
            "to": name[to],
            "capacity_mwh": "0.000",
            "capacity_by_period": {label[p]: mwh(c) for p, c in enumerate(caps)},
            "loss": f"0.{loss:04d}",
            "tariff": fen(tariff),
        })
    with open(a.out, "w") as f:
        f.write('{\n"method": "coupled",\n"orders": [\n')
        f.write(",\n".join(json.dumps(o) for o in orders))
        f.write('\n],\n"corridors": [\n')
        f.write(",\n".join(json.dumps(c) for c in corridors))
        f.write("\n]\n}\n")


if __name__ == "__main__":
    main()
