#!/usr/bin/env python3
"""The `lvdian settle` computation done in Polars, for comparison (bench/peers/run.sh); the same
validation and output as settle_duckdb.py, so the three outputs can be compared byte for byte.

    python settle_polars.py --month 2023-05 --contracts C.csv --meters M.csv > out.json
    python settle_polars.py --month 2023-05 --contracts C.csv --meters M.parquet > out.json
    python settle_polars.py --to-parquet M.csv|M.parquet OUT.parquet

A `.parquet` meter file is read with its own types (`start` a timestamp, or a string
`YYYY-MM-DDTHH:MM` that is parsed strictly); `--to-parquet` writes one with Polars' defaults
(zstd, `start` a timestamp when the input has one).

Validation as settle_duckdb.py: a typed read (a malformed start or kwh fails it), then per meter:
one participant, exactly the month's 96 × days rows and as many distinct intervals (no duplicate,
no missing interval), no empty start or kWh, kWh within 0..999,999,999, every start inside the month and on a quarter
hour. Output: formats.md's keys, then the ones `lvdian settle` adds (carry_in_kwh, volume_mwh,
delivered_mwh, sent_mwh, lost_mwh). Settlement per spec §5 with the same integer arithmetic (pro rata by largest remainder then
contract id, money rounded half away from zero once per line item, Int128 where a product can pass
i64). The meter pass runs on Polars' streaming engine over all cores. Bad files exit with status 1.

Needs `pip install polars`; not part of CI.
"""

import argparse
import calendar
import sys
from datetime import datetime

import polars as pl
from settle_output import fail, mwh, write_report

METER_SCHEMA = {"meter": pl.String, "participant": pl.String, "start": pl.String, "kwh": pl.Int64}


def meters(path):
    """The meter rows as (meter, participant, start Datetime, kwh Int64), lazily."""
    if path.lower().endswith(".parquet"):
        lf = pl.scan_parquet(path)
        if lf.collect_schema()["start"] == pl.String:
            lf = lf.with_columns(pl.col("start").str.strptime(pl.Datetime("us"), "%Y-%m-%dT%H:%M",
                                                              strict=True))
        return lf.select("meter", "participant", pl.col("start").cast(pl.Datetime("us")),
                         pl.col("kwh").cast(pl.Int64))
    lf = pl.scan_csv(path, schema=METER_SCHEMA, quote_char=None, has_header=True)
    return lf.with_columns(
        pl.col("start").str.strptime(pl.Datetime("us"), "%Y-%m-%dT%H:%M", strict=True))


def to_parquet(argv):
    parser = argparse.ArgumentParser(prog="settle_polars.py --to-parquet")
    parser.add_argument("source")
    parser.add_argument("parquet")
    args = parser.parse_args(argv)
    meters(args.source).sink_parquet(args.parquet)  # Polars' defaults: zstd


def decimal(column, scale):
    """A validated decimal string column as an Int64 of 10^-scale units."""
    parts = pl.col(column).str.split_exact(".", 1)
    whole = parts.struct.field("field_0")
    frac = parts.struct.field("field_1").fill_null("").str.pad_end(scale, "0")
    value = whole.str.replace("^-", "").cast(pl.Int64) * 10**scale + frac.cast(pl.Int64)
    return pl.when(pl.col(column).str.starts_with("-")).then(-value).otherwise(value)


def main():
    if len(sys.argv) >= 2 and sys.argv[1] == "--to-parquet":
        to_parquet(sys.argv[2:])
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("--month", required=True)
    parser.add_argument("--contracts", required=True)
    parser.add_argument("--meters", required=True)
    args = parser.parse_args()

    try:
        year, month = (int(x) for x in args.month.split("-"))
        assert len(args.month) == 7 and 1 <= month <= 12
    except (ValueError, AssertionError):
        fail(f"--month: `{args.month}` is not a month of the form YYYY-MM")
    intervals = calendar.monthrange(year, month)[1] * 96
    first = datetime(year, month, 1)
    after = datetime(year + 1, 1, 1) if month == 12 else datetime(year, month + 1, 1)

    # Meter data: typed read, then one pass per meter.
    try:
        per_meter = (
            meters(args.meters)
            .group_by("meter")
            .agg(
                pl.col("participant").min().alias("participant"),
                pl.col("participant").n_unique().alias("participants"),
                pl.len().alias("rows"),
                pl.min_horizontal(pl.col("start").count(), pl.col("kwh").count()).alias("valued"),
                pl.col("start").n_unique().alias("distinct_starts"),
                pl.col("kwh").sum().alias("total"),
                pl.col("kwh").min().alias("min_kwh"),
                pl.col("kwh").max().alias("max_kwh"),
                pl.col("start").min().alias("first_start"),
                pl.col("start").max().alias("last_start"),
                ((pl.col("start").dt.minute() % 15 == 0) & (pl.col("start").dt.second() == 0)
                 & (pl.col("start").dt.nanosecond() == 0)).all().alias("aligned"),
            )
            .collect(engine="streaming")
        )
    except (pl.exceptions.PolarsError, OSError) as e:
        fail(f"{args.meters}: {e}")
    bad = per_meter.filter(
        (pl.col("participants") != 1) | (pl.col("rows") != intervals)
        | (pl.col("valued") != intervals)
        | (pl.col("distinct_starts") != intervals) | (pl.col("min_kwh") < 0)
        | (pl.col("max_kwh") > 999_999_999) | (pl.col("first_start") < first)
        | (pl.col("last_start") >= after) | ~pl.col("aligned")
    ).sort("meter").head(100)
    if bad.height:
        fail(f"{args.meters}: bad meters (meter, participants, rows, distinct starts, ...): "
             f"{bad.drop('participant', 'total', 'valued').rows()}")
    energy = per_meter.group_by("participant").agg(pl.col("total").sum().alias("kwh"))

    # Contracts, with the same decimal rules (MWh ≤ 3 decimals, prices ≤ 2, carry 0–999).
    try:
        raw = pl.read_csv(args.contracts, schema={c: pl.String for c in (
            "contract", "seller", "buyer", "mwh", "energy_price", "env_price", "comp_price",
            "carry_kwh")}, quote_char=None, has_header=True)
    except (pl.exceptions.PolarsError, OSError) as e:
        fail(f"{args.contracts}: {e}")
    price = r"^-?\d+(\.\d{1,2})?$"
    bad = raw.filter(
        ~pl.col("mwh").str.contains(r"^\d+(\.\d{1,3})?$")
        | ~pl.col("energy_price").str.contains(price) | ~pl.col("env_price").str.contains(price)
        | ~pl.col("comp_price").str.contains(price) | ~pl.col("carry_kwh").str.contains(r"^\d{1,3}$")
        | (pl.col("seller") == pl.col("buyer")) | (pl.col("contract") == "")
        | (pl.col("seller") == "") | (pl.col("buyer") == "")
        | pl.col("contract").is_duplicated()
    ).head(100)
    if bad.height:
        fail(f"{args.contracts}: bad contracts {bad['contract'].to_list()}")
    c = raw.select(
        "contract", "seller", "buyer",
        decimal("mwh", 3).alias("vol"), decimal("energy_price", 2).alias("p_energy"),
        decimal("env_price", 2).alias("p_env"), decimal("comp_price", 2).alias("p_comp"),
        pl.col("carry_kwh").cast(pl.Int64).alias("carry"),
    )

    # §5: a party's energy split pro rata to C_k when short, leftovers by largest remainder then
    # contract id.
    def shares(party):
        s = (c.join(energy, left_on=party, right_on="participant", how="left")
             .with_columns(pl.col("kwh").fill_null(0).alias("energy"),
                           pl.col("vol").sum().over(party).alias("contracted")))
        exact = pl.col("energy").cast(pl.Int128) * pl.col("vol").cast(pl.Int128)
        short = (s.filter(pl.col("contracted") > pl.col("energy"))
                 .with_columns((exact // pl.col("contracted")).alias("base"),
                               (exact % pl.col("contracted")).alias("rem"))
                 .sort([party, "rem", "contract"], descending=[False, True, False])
                 .with_columns((pl.col("energy") - pl.col("base").sum().over(party)).alias("left"),
                               (pl.int_range(pl.len()).over(party) + 1).alias("rank"))
                 .select("contract", (pl.col("base") + ((pl.col("vol") > 0)
                                                        & (pl.col("rank") <= pl.col("left")))
                                      .cast(pl.Int128)).cast(pl.Int64).alias("share")))
        enough = s.filter(pl.col("contracted") <= pl.col("energy")).select(
            "contract", pl.col("vol").alias("share"))
        return pl.concat([short, enough])

    def half_away(x):
        x = x.cast(pl.Int128)
        return (pl.when(x >= 0).then((x + 500) // 1000).otherwise(-((-x + 500) // 1000))
                .cast(pl.Int64))

    d = (c.join(shares("seller").rename({"share": "g"}), on="contract")
         .join(shares("buyer").rename({"share": "l"}), on="contract")
         .with_columns(pl.min_horizontal("vol", "g", "l").alias("d")))
    rows = d.select(
        "contract",
        ((pl.col("d") + pl.col("carry")) // 1000).alias("env_mwh"),
        ((pl.col("d") + pl.col("carry")) % 1000).alias("carry_out"),
        half_away((pl.col("d") + pl.col("carry")) // 1000 * 1000 * pl.col("p_env").cast(pl.Int128))
        .alias("env_fen"),
        half_away(pl.col("d").cast(pl.Int128) * pl.col("p_energy")).alias("energy_fen"),
        (pl.col("vol") - pl.col("d")).alias("shortfall"),
        half_away((pl.col("vol") - pl.col("d")).cast(pl.Int128) * pl.col("p_comp")).alias("comp"),
        pl.when(pl.col("vol") == pl.col("d")).then(None)
        .when(pl.col("g") <= pl.col("l")).then(pl.lit("seller")).otherwise(pl.lit("buyer"))
        .alias("payer"),
        "carry", "vol", "d",
    ).sort("contract").rows()

    write_report(args.month, rows)


if __name__ == "__main__":
    main()
