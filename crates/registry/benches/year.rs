//! The certificates of a Zhejiang year (spec §0: 8.213 billion kWh of green power in 2023):
//! issue, transfer and claim about 8.2 million certificates — target under 2 s.
//!
//! The plan, generated outside the timed part: 2,000 projects × 12 months of metered energy
//! totalling 8.213 billion kWh, issued month by month (with the sub-MWh carry); 20,000 contracts
//! (10 per project) with buyers among 16,000 users, each contract settled every month (证电合一):
//! the project-month's certificates are shared among its 10 contracts by random weights, so
//! every certificate is transferred; then every buyer claims everything it holds, one claim per
//! project-month. Each operation writes a hash-chained ledger entry (SHA-256), all included.
//!
//! Run with `cargo bench -p registry --bench year`. `YEAR_STATS=1` first prints the plan's size.

use divan::{Bencher, black_box};
use domain::{ContractId, Kwh, ParticipantId, ProjectCode, SessionId};
use registry::{Entry, Registry, TransferReason, YearMonth, verify};

fn main() {
    if std::env::var_os("YEAR_STATS").is_some() {
        let plan = Plan::zhejiang();
        let reg = plan.run();
        let totals = reg.check_conservation().expect("conserved");
        println!(
            "issues {}, transfers {}, claims {}, entries {}, certificates issued {}, claimed {}, \
             metered {} kWh",
            plan.issues.len(),
            plan.transfers.len(),
            plan.claims.len(),
            reg.entries().len(),
            totals.issued_total,
            totals.claimed,
            plan.issues.iter().map(|i| i.3.0).sum::<i64>()
        );
    }
    divan::main();
}

const PROJECTS: usize = 2_000;
const MONTHS: usize = 12;
const CONTRACTS_PER_PROJECT: usize = 10;
const BUYERS: u64 = 16_000;
const TOTAL_KWH: i128 = 8_213_000_000;

/// splitmix64.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

struct Plan {
    /// (project, owner, month, metered)
    issues: Vec<(ProjectCode, ParticipantId, YearMonth, Kwh)>,
    /// (from, to, project, month, count, contract)
    transfers: Vec<(
        ParticipantId,
        ParticipantId,
        ProjectCode,
        YearMonth,
        u32,
        u64,
    )>,
    /// (holder, project, month, count)
    claims: Vec<(ParticipantId, ProjectCode, YearMonth, u32)>,
}

impl Plan {
    fn zhejiang() -> Plan {
        let mut rng = Rng(0x6C76_6469_616E);
        let codes: Vec<ProjectCode> = (0..PROJECTS)
            .map(|i| ProjectCode::parse(&format!("{:017}", 33_010_000_000_000_000u64 + i as u64)))
            .collect::<Result<_, _>>()
            .expect("17 digits");
        // Generators own 1–20 projects each; ids from 1, buyers from 100,000.
        let owner_of: Vec<ParticipantId> = (0..PROJECTS)
            .map(|i| ParticipantId(1 + (i as u64 / 10)))
            .collect();
        let months: Vec<YearMonth> = (1..=12)
            .map(|m| YearMonth::new(2023, m).expect("a month"))
            .collect();
        // Project sizes vary by two orders of magnitude (distributed PV to offshore wind);
        // months vary ±50%.
        let size: Vec<u64> = (0..PROJECTS).map(|_| 10 + rng.below(990)).collect();
        let weights: Vec<u64> = (0..PROJECTS * MONTHS)
            .map(|k| size[k % PROJECTS] * (50 + rng.below(100)))
            .collect();
        let sum: i128 = weights.iter().map(|&w| i128::from(w)).sum();
        let metered = |k: usize| Kwh((i128::from(weights[k]) * TOTAL_KWH / sum) as i64);
        let buyer_of: Vec<ParticipantId> = (0..PROJECTS * CONTRACTS_PER_PROJECT)
            .map(|_| ParticipantId(100_000 + rng.below(BUYERS)))
            .collect();

        let mut issues = Vec::with_capacity(PROJECTS * MONTHS);
        let mut transfers = Vec::with_capacity(PROJECTS * MONTHS * CONTRACTS_PER_PROJECT);
        let mut held: std::collections::BTreeMap<(ParticipantId, usize, usize), u32> =
            std::collections::BTreeMap::new();
        let mut carry = vec![0i64; PROJECTS];
        let mut issued = vec![0u32; PROJECTS * MONTHS];
        for (m, &month) in months.iter().enumerate() {
            for p in 0..PROJECTS {
                let k = m * PROJECTS + p;
                let kwh = metered(k);
                issues.push((codes[p], owner_of[p], month, kwh));
                let total = kwh.0 + carry[p];
                issued[k] = (total / 1000) as u32;
                carry[p] = total % 1000;
            }
        }
        for (m, &month) in months.iter().enumerate() {
            for p in 0..PROJECTS {
                let certs = issued[m * PROJECTS + p];
                let w: Vec<u64> = (0..CONTRACTS_PER_PROJECT)
                    .map(|_| 1 + rng.below(100))
                    .collect();
                let wsum: u64 = w.iter().sum();
                let mut given = 0u32;
                for (j, wj) in w.iter().enumerate() {
                    let share = if j + 1 == CONTRACTS_PER_PROJECT {
                        certs - given
                    } else {
                        (u64::from(certs) * wj / wsum) as u32
                    };
                    given += share;
                    if share == 0 {
                        continue;
                    }
                    let contract = p * CONTRACTS_PER_PROJECT + j;
                    let buyer = buyer_of[contract];
                    transfers.push((owner_of[p], buyer, codes[p], month, share, contract as u64));
                    *held.entry((buyer, p, m)).or_default() += share;
                }
            }
        }
        let claims = held
            .into_iter()
            .map(|((buyer, p, m), count)| (buyer, codes[p], months[m], count))
            .collect();
        Plan {
            issues,
            transfers,
            claims,
        }
    }

    fn run(&self) -> Registry {
        let mut reg = Registry::new();
        let mut at_ms = 1_672_502_400_000; // 2023-01-01 00:00 Asia/Shanghai
        for &(project, owner, month, kwh) in &self.issues {
            reg.issue(project, owner, month, kwh, at_ms).expect("issue");
            at_ms += 1;
        }
        for &(from, to, project, month, count, contract) in &self.transfers {
            let reason = TransferReason::Settlement {
                contract: ContractId(contract),
                session: SessionId(1),
                settlement_month: month,
            };
            reg.transfer(from, to, project, month, count, reason, at_ms)
                .expect("transfer");
            at_ms += 1;
        }
        for &(holder, project, month, count) in &self.claims {
            reg.claim(holder, project, month, count, "consumer", at_ms)
                .expect("claim");
            at_ms += 1;
        }
        reg
    }
}

/// Issue, transfer and claim every certificate of the year, ledger hashing included.
#[divan::bench(sample_count = 10, sample_size = 1)]
fn zhejiang_year(bencher: Bencher) {
    let plan = Plan::zhejiang();
    bencher.bench_local(|| black_box(plan.run()));
}

/// Verify the year's ledger: recompute every hash and replay every entry.
#[divan::bench(sample_count = 10, sample_size = 1)]
fn verify_year(bencher: Bencher) {
    let entries: Vec<Entry> = Plan::zhejiang().run().entries().to_vec();
    bencher.bench_local(|| black_box(verify(&entries).expect("valid")));
}

/// Verify the year's ledger from its stored bytes, as `lvdian verify` does from a database.
#[divan::bench(sample_count = 10, sample_size = 1)]
fn verify_year_bytes(bencher: Bencher) {
    let stored: Vec<Vec<u8>> = Plan::zhejiang()
        .run()
        .entries()
        .iter()
        .map(Entry::to_bytes)
        .collect();
    bencher.bench_local(|| black_box(registry::verify_bytes(&stored).expect("valid")));
}
