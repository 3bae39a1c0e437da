//! How fast group commits go. Prints rates (see them with `--nocapture`); asserts only that
//! everything was written, never on time.

use std::time::Instant;

use domain::{Kwh, Order, OrderId, Period, Role, Side, TimeInForce};
use exchange::session::Command;
use store::{Batch, JournalEntry};

use crate::Db;
use crate::fixtures::{at_ms, empty_batch, party, price, rolling_settings};

crate::on_both_backends!(append_rate);

const BATCHES: u64 = 40;
const BATCH_ENTRIES: u64 = 500;

/// Order submissions `first..first + BATCH_ENTRIES` as a batch: journal entries and their orders.
fn submissions(batch: &mut Batch, first: u64, with_orders: bool) {
    let generator = party(1, "浙能风电", Role::Generator);
    for seq in first..first + BATCH_ENTRIES {
        let period = Period((seq % 24) as u16);
        let volume = Kwh(1_000 * (1 + (seq % 7) as i64));
        let price = price(40_000 + (seq % 100) as i64, 2_000);
        batch.entries.push(JournalEntry {
            seq,
            at_ms: at_ms(seq),
            command: Command::SubmitOrder {
                by: generator.clone(),
                side: Side::Sell,
                period,
                volume,
                price,
                time_in_force: TimeInForce::Limit,
            },
        });
        if with_orders {
            batch.orders.push(Order {
                id: OrderId(seq),
                participant: generator.id,
                side: Side::Sell,
                period,
                volume,
                price,
                time_in_force: TimeInForce::Limit,
                submitted_at_ms: at_ms(seq),
            });
        }
    }
}

async fn append_rate(db: &mut Db) {
    let s = &db.store;
    for with_orders in [false, true] {
        let session = s
            .insert_session("rate", &rolling_settings(), 0)
            .await
            .unwrap();
        let batches: Vec<Batch> = (0..BATCHES)
            .map(|i| {
                let mut batch = empty_batch(session);
                submissions(&mut batch, 1 + i * BATCH_ENTRIES, with_orders);
                batch
            })
            .collect();
        let started = Instant::now();
        for batch in &batches {
            s.append(batch).await.unwrap();
        }
        let elapsed = started.elapsed();
        let total = BATCHES * BATCH_ENTRIES;

        let read_started = Instant::now();
        let journal = s.journal(session).await.unwrap();
        let read = read_started.elapsed();
        assert_eq!(journal.len() as u64, total);
        assert_eq!(journal.last().unwrap().seq, total);
        let orders = s.orders(session).await.unwrap().len() as u64;
        assert_eq!(orders, if with_orders { total } else { 0 });

        println!(
            "append rate ({}, {}): {total} journal entries in batches of {BATCH_ENTRIES} in {:.0} ms \
             = {:.0} entries/s; journal read back at {:.0} entries/s",
            db.name(),
            if with_orders {
                "with an order each"
            } else {
                "journal only"
            },
            elapsed.as_secs_f64() * 1e3,
            total as f64 / elapsed.as_secs_f64(),
            total as f64 / read.as_secs_f64(),
        );
    }
}
