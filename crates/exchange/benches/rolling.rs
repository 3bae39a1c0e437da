//! Throughput of rolling matching (滚动撮合 — `exchange::rolling::Book`) on a deterministic mixed
//! stream: about 60% limit orders, 25% IOC orders and 15% cancels of earlier orders, priced
//! around a slowly wandering mid with a few hundred ticks of spread, so that many orders cross
//! and the book keeps a realistic depth.
//!
//! Run with `cargo bench -p exchange --bench rolling`. The stream is generated outside the timed
//! part; each sample processes the whole stream on a fresh book. `ROLLING_STATS=1` first prints
//! what the streams do (trades, book size, cancels that hit).

use divan::counter::ItemsCount;
use divan::{Bencher, black_box};
use domain::{Kwh, OrderId, ParticipantId, Price, Side, TimeInForce};
use exchange::rolling::{Book, Incoming, Trade};

fn main() {
    if std::env::var_os("ROLLING_STATS").is_some() {
        for n in SIZES {
            print_stats("mixed", n, STEADY_BOOK);
            print_stats("growing", n, usize::MAX);
        }
    }
    divan::main();
}

const SIZES: [usize; 2] = [1_000_000, 10_000_000];
const SEED: u64 = 0x6C76_6469_616E; // "lvdian"

/// One command of the stream.
#[derive(Clone, Copy)]
enum Command {
    Submit(Incoming),
    Cancel(OrderId),
}

/// splitmix64: tiny, seeded, good enough to drive a benchmark.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (the modulo bias is irrelevant here).
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A deterministic stream of `n` commands. Ids are the command's sequence number, as in a
/// session, so cancels use up ids too.
///
/// The generator runs a book of its own (outside the timed part) so that cancels can target
/// orders that really rest, chosen uniformly among them, and takers can price against the
/// touch. Cancels thus remove deep, stale orders, and the share of takers rises while the book
/// is deep, so the book holds a steady size instead of growing without bound.
fn stream(n: usize, seed: u64, deep_book: usize) -> Vec<Command> {
    const MID_FEN_PER_MWH: i64 = 40_000; // 400.00 yuan/MWh
    let mut rng = SplitMix64(seed);
    let mut mid = MID_FEN_PER_MWH;
    let mut book = Book::new();
    let mut trades = Vec::new();
    // Ids of limit orders that rested when submitted; filled ones are dropped lazily.
    let mut rested: Vec<OrderId> = Vec::new();
    let mut out = Vec::with_capacity(n);
    for seq in 0..n as u64 {
        let id = OrderId(seq + 1);
        // The mid wanders one tick at a time, pulled back towards its start.
        if rng.below(16) == 0 {
            let pull = (mid - MID_FEN_PER_MWH).signum();
            mid += if rng.below(100) < 45 + 5 * (pull + 1) as u64 {
                -1
            } else {
                1
            };
        }
        let roll = rng.below(100);
        if roll < 15 {
            // One cancel in 16 names a random earlier id, which has most likely filled or
            // cancelled already (a cancel that lost the race); the others name a resting order,
            // uniformly, dropping ids that have since filled.
            let mut target = OrderId(1 + rng.below(seq + 1));
            if rng.below(16) != 0 {
                while !rested.is_empty() {
                    let at = rng.below(rested.len() as u64) as usize;
                    let candidate = rested.swap_remove(at);
                    if book.resting(candidate).is_some() {
                        target = candidate;
                        break;
                    }
                }
            }
            book.cancel(target);
            out.push(Command::Cancel(target));
            continue;
        }
        let side = if rng.below(2) == 0 {
            Side::Buy
        } else {
            Side::Sell
        };
        let limit = roll < 15 + 60;
        // Takers (every IOC, and some limit orders) price up to 50 ticks through the opposite
        // touch; makers quote up to 300 ticks behind the mid. Takers come more often while the
        // book is deep, which keeps it at a steady size around `deep_book` resting orders.
        let maker_share = if book.len() < deep_book { 90 } else { 40 };
        let price = if limit && rng.below(100) < maker_share {
            let behind = 1 + rng.below(300) as i64;
            match side {
                Side::Buy => mid - behind,
                Side::Sell => mid + behind,
            }
        } else {
            let through = rng.below(50) as i64;
            match side {
                Side::Buy => book.best(Side::Sell).map_or(mid, |p| p.0) + through,
                Side::Sell => book.best(Side::Buy).map_or(mid, |p| p.0) - through,
            }
        };
        let time_in_force = if limit {
            TimeInForce::Limit
        } else {
            TimeInForce::Ioc
        };
        let order = Incoming {
            id,
            owner: ParticipantId(rng.below(1_000)),
            side,
            volume: Kwh(1_000 * (1 + rng.below(100) as i64)),
            price: Price(price),
            time_in_force,
        };
        trades.clear();
        if book.submit(order, &mut trades).rested > Kwh::ZERO {
            rested.push(id);
        }
        out.push(Command::Submit(order));
    }
    out
}

/// The steady size of the book in [`mixed`], in resting orders: a busy provincial session.
const STEADY_BOOK: usize = 50_000;

/// Feeds the whole stream to `book`; returns a checksum so nothing is optimised away.
fn run(book: &mut Book, trades: &mut Vec<Trade>, stream: &[Command]) -> i64 {
    let mut checksum = 0i64;
    for command in stream {
        match *command {
            Command::Submit(order) => {
                trades.clear();
                let outcome = book.submit(order, trades);
                checksum = checksum.wrapping_add(outcome.filled.0);
            }
            Command::Cancel(id) => {
                if let Some(volume) = book.cancel(id) {
                    checksum = checksum.wrapping_add(volume.0);
                }
            }
        }
    }
    checksum
}

/// The realistic case: the book holds steady around [`STEADY_BOOK`] resting orders.
#[divan::bench(args = SIZES, sample_count = 10, sample_size = 1)]
fn mixed(bencher: Bencher, n: usize) {
    bench(bencher, &stream(n, SEED, STEADY_BOOK));
}

/// A stress case: no extra takers, so the book grows to about a third of the stream (millions of
/// resting orders at 10^7) and lookups by id miss the caches.
#[divan::bench(args = SIZES, sample_count = 10, sample_size = 1)]
fn growing(bencher: Bencher, n: usize) {
    bench(bencher, &stream(n, SEED, usize::MAX));
}

fn bench(bencher: Bencher, stream: &[Command]) {
    bencher
        .counter(ItemsCount::new(stream.len()))
        .with_inputs(|| (Book::new(), Vec::with_capacity(1024)))
        .bench_local_values(|(mut book, mut trades)| {
            black_box(run(&mut book, &mut trades, black_box(stream)));
            // Returned so that dropping the book is not timed.
            (book, trades)
        });
}

fn print_stats(name: &str, n: usize, deep_book: usize) {
    let stream = stream(n, SEED, deep_book);
    let mut book = Book::new();
    let mut trades = Vec::new();
    let (mut limits, mut iocs, mut cancels, mut cancel_hits) = (0u64, 0u64, 0u64, 0u64);
    let (mut trade_count, mut crossing, mut max_len) = (0u64, 0u64, 0usize);
    for command in &stream {
        match *command {
            Command::Submit(order) => {
                match order.time_in_force {
                    TimeInForce::Limit => limits += 1,
                    TimeInForce::Ioc => iocs += 1,
                }
                trades.clear();
                book.submit(order, &mut trades);
                trade_count += trades.len() as u64;
                crossing += u64::from(!trades.is_empty());
            }
            Command::Cancel(id) => {
                cancels += 1;
                cancel_hits += u64::from(book.cancel(id).is_some());
            }
        }
        max_len = max_len.max(book.len());
    }
    println!(
        "{name} n={n}: {limits} limit, {iocs} ioc, {cancels} cancel ({cancel_hits} hit); \
         {crossing} orders traded, {trade_count} trades; resting at end {} (max {max_len}), \
         levels at end {} bid / {} ask",
        book.len(),
        book.depth(Side::Buy, usize::MAX).len(),
        book.depth(Side::Sell, usize::MAX).len(),
    );
}
