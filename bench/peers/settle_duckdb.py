#!/usr/bin/env python3
"""The `lvdian settle` computation done in DuckDB, for comparison (bench/peers/run_settle.sh).

    python3 settle_duckdb.py --month 2023-05 --contracts C.csv --meters M.csv > out.json
    python3 settle_duckdb.py --month 2023-05 --contracts C.csv --meters M.parquet > out.json
    python3 settle_duckdb.py --csv-to-parquet M.csv M.parquet [--start-as-text]

A `.parquet` meter file is read with its own types (`start` a TIMESTAMP, or a string
`YYYY-MM-DDTHH:MM` that is cast strictly); `--csv-to-parquet` writes one from `meters.csv` with
DuckDB's defaults (Snappy), `start` as a TIMESTAMP or, with `--start-as-text`, as the text.

Reads the same CSV files, validates the meter data by the same rules (non-negative whole kWh up
to 999,999,999, every start a quarter-hour of the month, one participant per meter, no duplicate
and no missing interval: every meter has exactly the month's 96 × days distinct intervals; no empty
start or kwh),
settles per spec §5 with the same integer arithmetic (pro rata by largest remainder then contract
id, money rounded half away from zero once per line item) and prints the same JSON as lvdian,
byte for byte (formats.md's keys, then the ones `lvdian settle` adds: carry_in_kwh, volume_mwh,
delivered_mwh, sent_mwh, lost_mwh). Bad files exit with status 1 and a message (without lvdian's line numbers).

Needs `pip install duckdb`; not part of CI.
"""

import argparse
import calendar
import sys

import duckdb
from settle_output import fail, mwh, write_report


METERS_CSV = """read_csv(?, header = true, auto_detect = false, delim = ',', quote = '',
                          escape = '', timestampformat = '%Y-%m-%dT%H:%M',
                          columns = {'meter': 'VARCHAR', 'participant': 'VARCHAR',
                                     'start': 'TIMESTAMP', 'kwh': 'BIGINT'})"""


def meter_source(path):
    """The meter rows as (meter, participant, start TIMESTAMP, kwh BIGINT), from CSV or Parquet."""
    if not path.lower().endswith(".parquet"):
        return METERS_CSV
    con = duckdb.connect()
    types = dict(con.execute("SELECT name, type FROM parquet_schema(?)", [path]).fetchall())
    if types.get("start") == "BYTE_ARRAY":
        start = "strptime(start, '%Y-%m-%dT%H:%M')"  # strict: a malformed start fails the read
    else:
        start = "CAST(start AS TIMESTAMP)"
    return f"""(SELECT meter, participant, {start} AS start, CAST(kwh AS BIGINT) AS kwh
               FROM read_parquet(?))"""


def csv_to_parquet(argv):
    parser = argparse.ArgumentParser(prog="settle_duckdb.py --csv-to-parquet")
    parser.add_argument("csv")
    parser.add_argument("parquet")
    parser.add_argument("--start-as-text", action="store_true")
    args = parser.parse_args(argv)
    source = METERS_CSV
    if args.start_as_text:
        source = source.replace("'start': 'TIMESTAMP'", "'start': 'VARCHAR'")
    con = duckdb.connect()
    con.execute(
        f"COPY (SELECT * FROM {source}) TO '{args.parquet}' (FORMAT PARQUET)", [args.csv]
    )


def main():
    if len(sys.argv) >= 2 and sys.argv[1] == "--csv-to-parquet":
        csv_to_parquet(sys.argv[2:])
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("--month", required=True)
    parser.add_argument("--contracts", required=True)
    parser.add_argument("--meters", required=True)
    parser.add_argument("--threads", type=int, default=0, help="0: all cores")
    parser.add_argument(
        "--skip-duplicate-check",
        action="store_true",
        help="count rows per meter instead of distinct intervals (misses a duplicate that hides "
        "a missing interval; the cheaper query most DuckDB pipelines would write)",
    )
    args = parser.parse_args()

    try:
        year, month = (int(x) for x in args.month.split("-"))
        assert len(args.month) == 7 and 1 <= month <= 12
    except (ValueError, AssertionError):
        fail(f"--month: `{args.month}` is not a month of the form YYYY-MM")
    days = calendar.monthrange(year, month)[1]
    intervals = days * 96
    first = f"{year:04d}-{month:02d}-01 00:00:00"
    next_year, next_month = (year + 1, 1) if month == 12 else (year, month + 1)
    after = f"{next_year:04d}-{next_month:02d}-01 00:00:00"

    con = duckdb.connect()
    if args.threads:
        con.execute(f"SET threads TO {args.threads}")

    # Meter data: typed read (a malformed start or kwh fails the read), then one pass per meter.
    try:
        distinct = "count(*)" if args.skip_duplicate_check else "count(DISTINCT start)"
        con.execute(
            """
            CREATE TABLE per_meter AS
            SELECT meter,
                   min(participant) AS participant,
                   count(DISTINCT participant) AS participants,
                   count(*) AS rows,
                   least(count(start), count(kwh)) AS valued,
                   {distinct} AS distinct_starts,
                   sum(kwh) AS total,
                   min(kwh) AS min_kwh,
                   max(kwh) AS max_kwh,
                   min(start) AS first_start,
                   max(start) AS last_start,
                   bool_and(minute(start) % 15 = 0 AND second(start) = 0) AS aligned
            FROM {source}
            GROUP BY meter
            """.replace("{distinct}", distinct).replace("{source}", meter_source(args.meters)),
            [args.meters],
        )
    except duckdb.Error as e:
        fail(f"{args.meters}: {e}")
    bad = con.execute(
        """
        SELECT meter, participants, rows, distinct_starts, min_kwh, max_kwh, first_start,
               last_start, aligned
        FROM per_meter
        WHERE participants <> 1 OR rows <> ? OR valued <> ? OR distinct_starts <> ? OR min_kwh < 0
           OR max_kwh > 999999999 OR first_start < CAST(? AS TIMESTAMP)
           OR last_start >= CAST(? AS TIMESTAMP) OR NOT aligned
        ORDER BY meter
        LIMIT 100
        """,
        [intervals, intervals, intervals, first, after],
    ).fetchall()
    if bad:
        fail(f"{args.meters}: bad meters (meter, participants, rows, distinct starts, ...): {bad}")
    con.execute(
        "CREATE TABLE energy AS SELECT participant, sum(total) AS kwh FROM per_meter GROUP BY participant"
    )

    # Contracts, with the same decimal rules (MWh ≤ 3 decimals, prices ≤ 2, carry 0–999).
    try:
        con.execute(
            """
            CREATE TABLE raw AS SELECT * FROM read_csv(?, header = true, auto_detect = false,
                delim = ',', quote = '', escape = '',
                columns = {'contract': 'VARCHAR', 'seller': 'VARCHAR', 'buyer': 'VARCHAR',
                           'mwh': 'VARCHAR', 'energy_price': 'VARCHAR', 'env_price': 'VARCHAR',
                           'comp_price': 'VARCHAR', 'carry_kwh': 'VARCHAR'})
            """,
            [args.contracts],
        )
    except duckdb.Error as e:
        fail(f"{args.contracts}: {e}")
    bad = con.execute(
        r"""
        SELECT contract FROM raw
        WHERE NOT regexp_full_match(mwh, '\d+(\.\d{1,3})?')
           OR NOT regexp_full_match(energy_price, '-?\d+(\.\d{1,2})?')
           OR NOT regexp_full_match(env_price, '-?\d+(\.\d{1,2})?')
           OR NOT regexp_full_match(comp_price, '-?\d+(\.\d{1,2})?')
           OR NOT regexp_full_match(carry_kwh, '\d{1,3}')
           OR seller = buyer OR contract = '' OR seller = '' OR buyer = ''
           OR contract IN (SELECT contract FROM raw GROUP BY contract HAVING count(*) > 1)
        LIMIT 100
        """
    ).fetchall()
    if bad:
        fail(f"{args.contracts}: bad contracts {bad}")
    con.execute(
        """
        CREATE TABLE c AS SELECT contract, seller, buyer,
            CAST(CAST(mwh AS DECIMAL(18, 3)) * 1000 AS BIGINT) AS vol,
            CAST(CAST(energy_price AS DECIMAL(18, 2)) * 100 AS BIGINT) AS p_energy,
            CAST(CAST(env_price AS DECIMAL(18, 2)) * 100 AS BIGINT) AS p_env,
            CAST(CAST(comp_price AS DECIMAL(18, 2)) * 100 AS BIGINT) AS p_comp,
            CAST(carry_kwh AS BIGINT) AS carry
        FROM raw
        """
    )

    # §5: a party's energy split pro rata to C_k when short, leftovers by largest remainder then
    # contract id.
    def shares(party):
        return f"""
        WITH s AS (
            SELECT c.contract, c.vol, coalesce(e.kwh, 0) AS energy,
                   sum(c.vol) OVER (PARTITION BY c.{party}) AS contracted,
                   c.{party} AS party
            FROM c LEFT JOIN energy e ON e.participant = c.{party}),
        f AS (
            SELECT *, CAST(energy AS HUGEINT) * vol // contracted AS base,
                      CAST(energy AS HUGEINT) * vol % contracted AS rem
            FROM s WHERE contracted > energy),
        r AS (
            SELECT *, energy - sum(base) OVER (PARTITION BY party) AS left_over,
                   row_number() OVER (PARTITION BY party ORDER BY rem DESC, contract) AS rank
            FROM f)
        SELECT contract, CAST(base + CASE WHEN vol > 0 AND rank <= left_over THEN 1 ELSE 0 END
                              AS BIGINT) AS share FROM r
        UNION ALL
        SELECT contract, vol AS share FROM s WHERE contracted <= energy
        """

    con.execute(f"CREATE TABLE g AS {shares('seller')}")
    con.execute(f"CREATE TABLE l AS {shares('buyer')}")

    def half_away(x):
        return f"""(CASE WHEN ({x}) >= 0 THEN (({x}) + 500) // 1000
                         ELSE -((-({x}) + 500) // 1000) END)"""

    rows = con.execute(
        f"""
        WITH d AS (
            SELECT c.*, g.share AS g_k, l.share AS l_k, least(c.vol, g.share, l.share) AS d
            FROM c JOIN g USING (contract) JOIN l USING (contract))
        SELECT contract,
               (d + carry) // 1000 AS env_mwh,
               (d + carry) % 1000 AS carry_out,
               CAST({half_away("CAST((d + carry) // 1000 * 1000 AS HUGEINT) * p_env")} AS BIGINT),
               CAST({half_away("CAST(d AS HUGEINT) * p_energy")} AS BIGINT),
               vol - d AS shortfall,
               CAST({half_away("CAST(vol - d AS HUGEINT) * p_comp")} AS BIGINT),
               CASE WHEN vol = d THEN NULL WHEN g_k <= l_k THEN 'seller' ELSE 'buyer' END,
               carry, vol, d
        FROM d ORDER BY contract
        """
    ).fetchall()

    write_report(args.month, rows)


if __name__ == "__main__":
    main()
