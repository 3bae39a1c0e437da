"""What the settlement peers (settle_duckdb.py, settle_polars.py) share: error exits and the JSON of
`lvdian settle`, written exactly as lvdian writes it so that run.sh compares them byte for byte."""

import json
import sys


def fail(message):
    print(f"error: {message}", file=sys.stderr)
    sys.exit(1)


def yuan(fen):
    sign = "-" if fen < 0 else ""
    fen = abs(fen)
    return f"{sign}{fen // 100}.{fen % 100:02d}"


def mwh(kwh):
    return f"{kwh // 1000}.{kwh % 1000:03d}"


def write_report(month, rows):
    """Prints the month's lines, one per row of (contract, env_mwh, carry_out_kwh, env_fen,
    energy_fen, shortfall_kwh, comp_fen, payer, carry_in_kwh, volume_kwh, delivered_kwh), sorted by
    contract."""
    lines = [
        {
            "contract": contract,
            "env_mwh": str(env_mwh),
            "carry_out_kwh": str(carry_out),
            "env_yuan": yuan(env_fen),
            "energy_yuan": yuan(energy_fen),
            "shortfall_mwh": mwh(shortfall),
            "comp_yuan": yuan(comp_fen),
            "comp_payer": payer,
            # What `lvdian settle` adds after the formats.md keys (market::SettlementReport):
            # an intra-provincial contract loses nothing on the way, so sent = delivered = D_k.
            "carry_in_kwh": str(carry),
            "volume_mwh": mwh(vol),
            "delivered_mwh": mwh(d),
            "sent_mwh": mwh(d),
            "lost_mwh": "0.000",
        }
        for (contract, env_mwh, carry_out, env_fen, energy_fen, shortfall, comp_fen, payer, carry,
             vol, d) in rows
    ]
    out = json.dumps({"month": month, "lines": lines}, indent=2, ensure_ascii=False)
    sys.stdout.write(out + "\n")
