#!/usr/bin/env python3
"""The call auction of `lvdian clear` (spec §3.3, `method: uniform`) in plain Python, written from
the spec (market-rules.md §3.3, formats.md), for comparison (bench/peers/run.sh).

    python3 auction_python.py CASE.json > out.json

Reads a formats.md clear file (`uniform` only), checks each order (side, period, MWh ≤ 3 decimals
and positive, at most 1,000,000 MWh; price ≤ 2 decimals within ±100,000.00), then per period:
buys by price descending, sells ascending, equal prices in submission order; `Q*` the largest
volume at which the marginal buy price ≥ the marginal sell price; orders better than their side's
marginal price fill completely, those at it share the rest pro rata in whole kWh (largest
remainder, then earlier submission); everything at P* = midpoint of the marginal buy and sell
prices, rounded half away from zero to the fen. Integers only (kWh, fen/MWh). Prints the
formats.md output (pretty-printed as lvdian prints it), which run.sh compares byte for byte with
`lvdian clear`. The standard library only; phase timings go to stderr.
"""

import json
import sys
import time


def fail(message):
    print(f"error: {message}", file=sys.stderr)
    sys.exit(1)


def decimal(text, scale, where, field):
    """A decimal string with at most `scale` decimals as an integer of 10^-scale units."""
    if not isinstance(text, str):
        fail(f"{where}: field `{field}` must be a decimal string")
    body = text[1:] if text.startswith("-") else text
    whole, dot, frac = body.partition(".")
    if not whole.isdigit() or (dot and not frac.isdigit()) or not whole.isascii():
        fail(f"{where}: field `{field}`: `{text}` is not a decimal number")
    if len(frac) > scale:
        fail(f"{where}: field `{field}`: `{text}` has more than {scale} decimals")
    value = int(whole) * 10**scale + (int(frac) * 10 ** (scale - len(frac)) if frac else 0)
    return -value if text.startswith("-") else value


def show(value, scale):
    sign = "-" if value < 0 else ""
    value = abs(value)
    unit = 10**scale
    return f"{sign}{value // unit}.{value % unit:0{scale}d}"


def midpoint(a, b):
    """(a + b) / 2 rounded half away from zero."""
    s = a + b
    return (s + 1) // 2 if s >= 0 else -((-s + 1) // 2)


def pro_rata(total, weights):
    """`total` whole units shared in proportion to `weights`; the units left by rounding go one
    each by largest remainder, then to the earlier position."""
    whole = sum(weights)
    shares = [total * w // whole for w in weights]
    left = total - sum(shares)
    if left:
        by_remainder = sorted(range(len(weights)), key=lambda i: (-(total * weights[i] % whole), i))
        for i in by_remainder[:left]:
            shares[i] += 1
    return shares


def allocate(side, matched, marginal):
    """Fills of one side (orders as (index, price, kwh) in priority order) for `matched` kWh."""
    fills = []
    better = 0
    at = []
    for index, price, kwh in side:
        if price == marginal:
            at.append((index, kwh))
        elif at:
            break
        else:
            fills.append((index, kwh))
            better += kwh
    for (index, _), share in zip(at, pro_rata(matched - better, [kwh for _, kwh in at])):
        if share:
            fills.append((index, share))
    return fills


def clear_period(buys, sells):
    """Returns (Q*, P*, fills as (order index, kWh)) or None when nothing trades."""
    buys.sort(key=lambda o: (-o[1], o[0]))
    sells.sort(key=lambda o: (o[1], o[0]))
    if not buys or not sells:
        return None
    b = s = 0
    buy_left, sell_left = buys[0][2], sells[0][2]
    matched = 0
    marginal = None
    while buys[b][1] >= sells[s][1]:
        volume = min(buy_left, sell_left)
        matched += volume
        marginal = (buys[b][1], sells[s][1])
        buy_left -= volume
        sell_left -= volume
        if buy_left == 0:
            b += 1
            if b == len(buys):
                break
            buy_left = buys[b][2]
        if sell_left == 0:
            s += 1
            if s == len(sells):
                break
            sell_left = sells[s][2]
    if marginal is None:
        return None
    fills = allocate(buys, matched, marginal[0]) + allocate(sells, matched, marginal[1])
    fills.sort()
    return matched, midpoint(*marginal), fills


def main():
    t0 = time.perf_counter()
    with open(sys.argv[1], encoding="utf-8") as f:
        case = json.load(f)
    if case.get("method") != "uniform":
        fail("field `method`: this peer clears `uniform` files only")
    t1 = time.perf_counter()
    ids = []
    books = {}  # period label -> ([buys], [sells]) of (index, fen/MWh, kWh)
    for index, o in enumerate(case["orders"]):
        where = f"orders[{index}] (id {json.dumps(o.get('id'))})"
        kwh = decimal(o["mwh"], 3, where, "mwh")
        if kwh <= 0:
            fail(f"{where}: field `mwh`: must be positive")
        if kwh > 1_000_000_000:
            fail(f"{where}: field `mwh`: above 1,000,000 MWh")
        price = decimal(o["price"], 2, where, "price")
        if abs(price) > 10_000_000:
            fail(f"{where}: field `price`: beyond ±100,000.00 yuan/MWh")
        period = o["period"]
        if not isinstance(period, str) or not period:
            fail(f"{where}: field `period`: must be a non-empty string")
        side = o["side"]
        if side not in ("buy", "sell"):
            fail(f'{where}: field `side`: `{side}` is not "buy" or "sell"')
        ids.append(o["id"])
        book = books.get(period)
        if book is None:
            book = books[period] = ([], [])
        book[side == "sell"].append((index, price, kwh))
    t2 = time.perf_counter()
    results = {label: clear_period(*books[label]) for label in books}
    t3 = time.perf_counter()

    # formats.md output, laid out as serde_json's pretty printer lays it out.
    out = ['{\n  "method": "uniform",\n  "periods": [']
    periods = []
    for label in sorted(books, key=lambda s: s.encode("utf-8")):
        result = results[label]
        head = f'    {{\n      "period": {json.dumps(label, ensure_ascii=False)},\n'
        if result is None:
            periods.append(head + '      "volume_mwh": "0.000",\n      "price": null,\n'
                           '      "fills": []\n    }')
            continue
        matched, price, fills = result
        p = show(price, 2)
        body = ",\n".join(
            f'        {{\n          "order": {json.dumps(ids[i], ensure_ascii=False)},\n'
            f'          "mwh": "{show(kwh, 3)}",\n          "price": "{p}"\n        }}'
            for i, kwh in fills
        )
        periods.append(head + f'      "volume_mwh": "{show(matched, 3)}",\n'
                       f'      "price": "{p}",\n      "fills": [\n{body}\n      ]\n    }}')
    out.append("\n" + ",\n".join(periods) + "\n  ]\n}\n" if periods else "]\n}\n")
    sys.stdout.write("".join(out))
    t4 = time.perf_counter()
    print(f"python peer: read {t1 - t0:.2f} s, check {t2 - t1:.2f} s, clear {t3 - t2:.2f} s, "
          f"write {t4 - t3:.2f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
