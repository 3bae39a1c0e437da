#!/usr/bin/env python3
"""The coupled (省间) welfare LP of `lvdian clear` built with linopy and solved with HiGHS, for
comparison (bench/peers/run_coupled.sh).

    python coupled_linopy.py CASE.json > peer.json

Reads a formats.md `coupled` file and, for every period, maximises
    Σ buy price·x − Σ sell price·x − Σ tariff·f
subject to, in every province, bought − sold = Σ (1 − loss)·f over incoming corridors − Σ f over
outgoing ones, 0 ≤ x ≤ order volume, 0 ≤ f ≤ the period's capacity. The periods are independent; they
are put in one linopy model (one block per period) and solved in one HiGHS call. No kWh rounding,
no pro rata, no §3.3 price rule: the province price is the dual (marginal value, yuan/MWh) of its
balance row, which need not be unique.

Output: lvdian's layout (periods sorted by label; provinces with price, buy_mwh, sell_mwh; flows
sorted by (from, to) with sent_mwh, delivered_mwh; fills of orders with x > 0), numbers as decimal
strings with 6 decimals (prices 4), unrounded to kWh/fen. Phase timings go to stderr.

Needs `pip install linopy highspy` (~/.cache/lvdian/peers-venv); not part of CI.
"""

import json
import os
import sys
import time

import numpy as np
import xarray as xr
import linopy


def main():
    t0 = time.perf_counter()
    with open(sys.argv[1]) as f:
        case = json.load(f)
    assert case["method"] == "coupled"
    orders = case["orders"]
    corridors = sorted(case["corridors"], key=lambda c: (c["from"], c["to"]))  # stable, as lvdian
    labels = sorted({o["period"] for o in orders})
    names = sorted({o["province"] for o in orders}
                   | {c["from"] for c in corridors} | {c["to"] for c in corridors})
    T, P, C = len(labels), len(names), len(corridors)
    ti = {l: i for i, l in enumerate(labels)}
    pi = {n: i for i, n in enumerate(names)}

    # Orders padded to K slots per (period, province); padding has volume 0.
    slots = {}
    where = []
    for o in orders:
        key = (ti[o["period"]], pi[o["province"]])
        k = slots.get(key, 0)
        slots[key] = k + 1
        where.append((key[0], key[1], k))
    K = max(slots.values())
    vol = np.zeros((T, P, K))
    price = np.zeros((T, P, K))
    sign = np.zeros((T, P, K))
    for o, (t, p, k) in zip(orders, where):
        vol[t, p, k] = float(o["mwh"])
        price[t, p, k] = float(o["price"])
        sign[t, p, k] = 1.0 if o["side"] == "buy" else -1.0
    cap = np.zeros((T, C))
    loss = np.zeros(C)
    tariff = np.zeros(C)
    out_inc = np.zeros((C, P))
    in_inc = np.zeros((C, P))
    for c, cor in enumerate(corridors):
        by = cor.get("capacity_by_period", {})
        for t, l in enumerate(labels):
            cap[t, c] = float(by.get(l, cor["capacity_mwh"]))
        loss[c] = float(cor["loss"])
        tariff[c] = float(cor["tariff"])
        out_inc[c, pi[cor["from"]]] = 1.0
        in_inc[c, pi[cor["to"]]] = 1.0 - loss[c]
    t1 = time.perf_counter()

    co = {"period": labels, "province": names, "k": np.arange(K), "corridor": np.arange(C)}
    da = lambda a, dims: xr.DataArray(a, dims=dims, coords={d: co[d] for d in dims})
    m = linopy.Model()
    x = m.add_variables(lower=0, upper=da(vol, ("period", "province", "k")), name="x")
    f = m.add_variables(lower=0, upper=da(cap, ("period", "corridor")), name="f")
    sgn = da(sign, ("period", "province", "k"))
    balance = ((x * sgn).sum("k")
               + (f * da(out_inc, ("corridor", "province"))).sum("corridor")
               - (f * da(in_inc, ("corridor", "province"))).sum("corridor"))
    # bought − sold + sent out − delivered in = 0
    m.add_constraints(balance == 0, name="balance")
    m.add_objective((x * (sgn * da(price, ("period", "province", "k")))).sum()
                    - (f * da(tariff, ("corridor",))).sum(), sense="max")
    t2 = time.perf_counter()
    # HiGHS prints a banner on the process's stdout: keep it off ours.
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        status, condition = m.solve(solver_name="highs", io_api="direct", output_flag=False)
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
    if status != "ok":
        sys.exit(f"HiGHS: {status} {condition}")
    t3 = time.perf_counter()

    xs = np.nan_to_num(x.solution.values)
    fs = np.nan_to_num(f.solution.values)
    duals = m.constraints["balance"].dual.values
    # A max problem's duals come back with the solver's sign convention; the price is the value of
    # one more MWh supplied to the province, positive in a normal market.
    bought = (xs * (sign > 0)).sum(axis=2)
    sold = (xs * (sign < 0)).sum(axis=2)
    periods = []
    fills_by_period = [[] for _ in range(T)]
    for o, (t, p, k) in zip(orders, where):
        if xs[t, p, k] > 1e-9:
            fills_by_period[t].append({"order": o["id"], "mwh": f"{xs[t, p, k]:.6f}",
                                       "price": f"{duals[t, p]:.4f}"})
    for t, l in enumerate(labels):
        periods.append({
            "period": l,
            "volume_mwh": f"{bought[t].sum():.6f}",
            "price": None,
            "provinces": [{"province": n, "price": f"{duals[t, p]:.4f}",
                           "buy_mwh": f"{bought[t, p]:.6f}", "sell_mwh": f"{sold[t, p]:.6f}"}
                          for p, n in enumerate(names)],
            "flows": [{"from": cor["from"], "to": cor["to"], "sent_mwh": f"{fs[t, c]:.6f}",
                       "delivered_mwh": f"{fs[t, c] * (1 - loss[c]):.6f}"}
                      for c, cor in enumerate(corridors)],
            "fills": fills_by_period[t],
        })
    json.dump({"method": "coupled", "objective": m.objective.value, "periods": periods},
              sys.stdout, separators=(",", ":"))
    sys.stdout.write("\n")
    t4 = time.perf_counter()
    print(f"linopy peer: read {t1 - t0:.2f} s, build {t2 - t1:.2f} s, solve (incl. linopy "
          f"export) {t3 - t2:.2f} s, write {t4 - t3:.2f} s; {len(orders)} orders, {T} periods, "
          f"{P} provinces, {C} corridors", file=sys.stderr)


if __name__ == "__main__":
    main()
