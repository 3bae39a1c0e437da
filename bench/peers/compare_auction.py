#!/usr/bin/env python3
"""Checks the call-auction peers' results against `lvdian clear` (bench/peers/run.sh); prints one
line for the table's check column and exits 1 when a result is wrong.

    python3 compare_auction.py same LVDIAN.json OTHER.json
        byte-identical, else JSON-equal, else the first difference.
    python3 compare_auction.py assume CASE.json LVDIAN.json ASSUME.json
        per period: matched volume Q* (kWh) equal; ASSUME's price (its highest accepted supply
        price) against our marginal sell price (the highest limit among our filled sells) and our
        P* (the midpoint of the marginal buy and sell prices); per order: filled kWh equal, or
        the order is at its side's marginal price in that period, where the tie rules differ
        (ours pro rata, ASSUME's a random order). Exit 1 if a volume differs, if ASSUME's price
        is not our marginal sell price, or if a fill differs for an order not at a margin.
"""

import json
import sys


def kwh(mwh):
    whole, _, frac = mwh.partition(".")
    return int(whole) * 1000 + int(frac.ljust(3, "0") or 0)


def fen(price):
    negative = price.startswith("-")
    whole, _, frac = price.lstrip("-").partition(".")
    value = int(whole) * 100 + int(frac.ljust(2, "0") or 0)
    return -value if negative else value


def same(a_path, b_path):
    a, b = open(a_path, "rb").read(), open(b_path, "rb").read()
    if a == b:
        print(f"equal (byte for byte, {len(a):,} bytes)")
        return 0
    ja, jb = json.loads(a), json.loads(b)
    if ja == jb:
        print("equal as JSON (bytes differ: layout)")
        return 0
    for pa, pb in zip(ja["periods"], jb["periods"]):
        if pa != pb:
            print(f"DIFFERS: period {pa['period']} (Q* {pa['volume_mwh']} vs {pb['volume_mwh']}, "
                  f"P* {pa['price']} vs {pb['price']})")
            return 1
    print(f"DIFFERS: {len(ja['periods'])} vs {len(jb['periods'])} periods")
    return 1


def assume(case_path, lv_path, as_path):
    orders = {o["id"]: (o["side"], o["period"], fen(o["price"]))
              for o in json.load(open(case_path))["orders"]}
    lv = {p["period"]: p for p in json.load(open(lv_path))["periods"]}
    peer = {p["period"]: p for p in json.load(open(as_path))["periods"]}
    periods = sorted(set(lv) | set(peer))
    volume_equal = price_is_sell = 0
    gap = []  # our P* − ASSUME's price, fen
    differing = at_margin = 0
    unexplained = []
    for label in periods:
        ours, theirs = lv.get(label), peer.get(label)
        q_ours = kwh(ours["volume_mwh"]) if ours else 0
        q_theirs = theirs["volume_kwh"] if theirs else 0
        volume_equal += q_ours == q_theirs
        ours_fills = {f["order"]: kwh(f["mwh"]) for f in ours["fills"]} if ours else {}
        theirs_fills = dict(theirs["fills"]) if theirs else {}
        sells = [orders[i][2] for i in ours_fills if orders[i][0] == "sell"]
        buys = [orders[i][2] for i in ours_fills if orders[i][0] == "buy"]
        margin = {"sell": max(sells, default=None), "buy": min(buys, default=None)}
        p_theirs = round(theirs["price"] * 100) if theirs and theirs["price"] is not None else None
        if p_theirs == margin["sell"]:
            price_is_sell += 1
        if ours and ours["price"] is not None and p_theirs is not None:
            gap.append(fen(ours["price"]) - p_theirs)
        for order in set(ours_fills) | set(theirs_fills):
            if ours_fills.get(order, 0) != theirs_fills.get(order, 0):
                differing += 1
                side, _, price = orders[order]
                if price == margin[side]:
                    at_margin += 1
                else:
                    unexplained.append(order)
    n = len(periods)
    widest = max(gap, key=abs, default=0) / 100
    ok = volume_equal == n and price_is_sell == n and not unexplained
    print(f"{'' if ok else 'DIFFERS: '}Q* equal in {volume_equal}/{n} periods; its price = our "
          f"marginal sell price in {price_is_sell}/{n} (our P*, the midpoint, differs from it by up "
          f"to {widest:+.2f} yuan/MWh); fills equal but for {differing} orders, "
          f"{at_margin} of them at a marginal price (ties: random vs pro rata)"
          + (f", {len(unexplained)} NOT at a margin, e.g. {unexplained[:3]}" if unexplained else ""))
    return 0 if ok else 1


if __name__ == "__main__":
    if sys.argv[1] == "same":
        sys.exit(same(*sys.argv[2:4]))
    sys.exit(assume(*sys.argv[2:5]))
