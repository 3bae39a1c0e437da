#!/usr/bin/env python3
"""The call-auction case cleared by ASSUME's pay-as-clear market (PyPI `assume-framework`,
`assume.markets.clearing_algorithms.simple.PayAsClearRole.clear`), called directly on the same
orders, for comparison (bench/peers/run.sh).

    python auction_assume.py CASE.json [--patched] [--seed 0] > assume.json

Each order of the formats.md clear file becomes an ASSUME order for its period's product (one
hour from 2023-05-01 00:00 per period label, in label order): `volume` in kWh (integers, so the
volumes stay exact), positive for a sell (supply), negative for a buy (demand); `price` in yuan/MWh.
ASSUME's rule differs from ours (spec §3.3): it prices every accepted order at the highest accepted
*supply* price (the marginal sell order), not at the midpoint of the marginal buy and sell
prices, and it breaks ties between orders at the same price by a random draw (`random.random()` in
its sort key; seeded here), not pro rata; the matched volume per period is the same crossing of the
two curves.

`--patched` replaces, at run time, the one quadratic line of `PayAsClearRole.clear` (ASSUME 0.6.0):
after clearing a product it walks every order of the product and, for each one not accepted, asks
`order not in rejected_product_orders` — a linear scan of a list of dicts, comparing dicts, so
O(n²) in the orders of a product. The patch takes the method's source (inspect.getsource),
computes a set of the ids of the already rejected orders once before that loop and replaces the
test by `id(order) not in _rejected_ids`, then compiles it in the module's namespace and sets it
as `PayAsClearRole.clear`. Every order is its own dict (ids are unique, so no two compare equal)
and is visited once, so the result is the same.
Anything else (the `pop(0)` / `insert(0, …)` on the supply list, linear per call but a cheap
memmove) is left as it is. The patch asserts that the text it replaces is there exactly once.

Output (stdout): {"periods": [{"period", "volume_kwh", "price", "fills": [[id, kWh], ...]}]},
periods sorted by label, fills of accepted orders in ASSUME's order. Phase timings go to stderr.
"""

import argparse
import inspect
import json
import os
import random
import sys
import tempfile
import textwrap
import time
from datetime import datetime, timedelta

t_start = time.perf_counter()
from dateutil import rrule  # noqa: E402
from dateutil.relativedelta import relativedelta  # noqa: E402

# Importing ASSUME opens ./assume.log (assume/world.py); open it in a scratch directory instead.
_cwd = os.getcwd()
with tempfile.TemporaryDirectory() as _scratch:
    os.chdir(_scratch)
    try:
        from assume.common.market_objects import MarketConfig, MarketProduct  # noqa: E402
        from assume.markets.clearing_algorithms import simple  # noqa: E402
    finally:
        os.chdir(_cwd)

OLD = """                if (
                    not order.get("accepted_volume")
                    and order not in rejected_product_orders
                ):"""
NEW = """                if (
                    not order.get("accepted_volume")
                    and id(order) not in _rejected_ids
                ):"""
LOOP = """            for order in product_orders:
                # if the order was not accepted partially, it is rejected
"""


def patch():
    """Replaces the quadratic membership test of PayAsClearRole.clear (see the module doc)."""
    source = inspect.getsource(simple.PayAsClearRole.clear)
    assert source.count(OLD) == 1 and source.count(LOOP) == 1, "ASSUME's clear changed; patch by hand"
    source = source.replace(OLD, NEW).replace(
        LOOP, "            _rejected_ids = {id(o) for o in rejected_product_orders}\n" + LOOP)
    namespace = {}
    exec(compile(textwrap.dedent(source), simple.__file__, "exec"), simple.__dict__, namespace)
    simple.PayAsClearRole.clear = namespace["clear"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("case")
    ap.add_argument("--patched", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    if a.patched:
        patch()
    random.seed(a.seed)
    t0 = time.perf_counter()
    with open(a.case, encoding="utf-8") as f:
        case = json.load(f)
    labels = sorted({o["period"] for o in case["orders"]}, key=lambda s: s.encode("utf-8"))
    start = datetime(2023, 5, 1)
    hour = timedelta(hours=1)
    products = {label: (start + i * hour, start + (i + 1) * hour, None)
                for i, label in enumerate(labels)}
    orderbook = []
    for o in case["orders"]:
        whole, _, frac = o["mwh"].partition(".")
        kwh = int(whole) * 1000 + int(frac.ljust(3, "0") or 0)
        begin, end, only_hours = products[o["period"]]
        orderbook.append({
            "bid_id": o["id"], "agent_addr": o["participant"],
            "start_time": begin, "end_time": end, "only_hours": only_hours,
            "volume": kwh if o["side"] == "sell" else -kwh, "price": float(o["price"]),
        })
    market_products = list(products.values())
    config = MarketConfig(
        market_id="bench", market_mechanism="pay_as_clear",
        opening_hours=rrule.rrule(rrule.HOURLY, dtstart=start, until=start + timedelta(days=2)),
        opening_duration=hour,
        market_products=[MarketProduct(relativedelta(hours=1), len(labels), relativedelta())],
        maximum_bid_volume=None, maximum_bid_price=100_000.0, minimum_bid_price=-100_000.0,
        volume_unit="kWh", price_unit="yuan/MWh")
    role = simple.PayAsClearRole(config)
    t1 = time.perf_counter()
    accepted, rejected, meta, _flows = role.clear(orderbook, market_products)
    t2 = time.perf_counter()
    by_start = {start: label for label, (start, _, _) in products.items()}
    fills = {label: [] for label in labels}
    for order in accepted:
        if order["accepted_volume"]:
            label = by_start[order["start_time"]]
            fills[label].append([order["bid_id"], abs(order["accepted_volume"])])
    periods = []
    for m in meta:
        label = by_start[m["product_start"]]
        periods.append({"period": label, "volume_kwh": m["supply_volume"],
                        "demand_kwh": m["demand_volume"],
                        "price": m["max_price"] if m["supply_volume"] else None,
                        "fills": fills[label]})
    periods.sort(key=lambda p: p["period"].encode("utf-8"))
    sys.stdout.write(json.dumps({"patched": a.patched, "accepted": len(accepted),
                                 "rejected": len(rejected), "periods": periods},
                                ensure_ascii=False) + "\n")
    t3 = time.perf_counter()
    print(f"assume peer{' (patched)' if a.patched else ''}: import {t0 - t_start:.2f} s, "
          f"read and build orders {t1 - t0:.2f} s, clear {t2 - t1:.2f} s, write {t3 - t2:.2f} s",
          file=sys.stderr)


if __name__ == "__main__":
    main()
