//! Property tests: conservation under random operations, ranges, tamper detection, replay.

use std::collections::{BTreeMap, BTreeSet};

use domain::{Fen, Kwh, ParticipantId, ProjectCode};
use proptest::prelude::*;
use proptest::sample::Index;
use registry::{
    Body, CertState, Entry, ListingId, Registry, RegistryError, SerialRange, VerifyFailure,
    YearMonth, consumption_lines, replay, resume, verify, verify_bytes,
    verify_bytes_with_checkpoint,
};

use crate::{bilateral, p, project, settlement, ym};

const PARTICIPANTS: u64 = 6;
const PROJECTS: u64 = 3;

/// One random operation. Projects `0..3` are owned by participants `1..=3`. Most operations
/// pick what they act on among what exists (an `Index` into the issued project-months, the
/// holdings or the listings), so that most succeed; the rest, and the random counts, exercise
/// the refusals.
#[derive(Debug, Clone)]
enum Op {
    /// Issue the project's next month `step` months after its last (0: the same month again)
    /// or after the last expired month.
    Issue {
        project: u64,
        step: u32,
        metered_kwh: i64,
    },
    /// `count` picks a count among 1 ..= available + 2.
    Transfer {
        pick: Index,
        from_owner: bool,
        from: u64,
        to: u64,
        count: Index,
        settle: bool,
    },
    List {
        pick: Index,
        count: u32,
        price_fen: i64,
    },
    Delist {
        pick: Index,
        by_owner: bool,
        other: u64,
    },
    Buy {
        pick: Index,
        buyer: u64,
        count: u32,
    },
    /// `count` picks a count among 1 ..= the holding's + 2.
    Claim {
        pick: Index,
        count: Index,
    },
    /// Expire as of `step` months after the last run (0: the same month again), from 2026-01.
    Expire {
        step: u32,
    },
}

fn owner(project: u64) -> ParticipantId {
    p(project + 1)
}

fn code(n: u64) -> ProjectCode {
    project(n + 1)
}

fn month(offset: u32) -> YearMonth {
    ym("2024-01").plus_months(offset).unwrap()
}

fn op() -> impl Strategy<Value = Op> {
    let who = 1..=PARTICIPANTS;
    prop_oneof![
        3 => (0..PROJECTS, 0u32..4, 0i64..60_000).prop_map(|(project, step, metered_kwh)| {
            Op::Issue { project, step, metered_kwh }
        }),
        5 => (any::<Index>(), prop::bool::weighted(0.9), who.clone(), who.clone(), any::<Index>(), any::<bool>())
            .prop_map(|(pick, from_owner, from, to, count, settle)| Op::Transfer {
                pick, from_owner, from, to, count, settle,
            }),
        2 => (any::<Index>(), 1u32..15, 0i64..10_000).prop_map(
            |(pick, count, price_fen)| Op::List { pick, count, price_fen }
        ),
        1 => (any::<Index>(), prop::bool::weighted(0.9), who.clone())
            .prop_map(|(pick, by_owner, other)| Op::Delist { pick, by_owner, other }),
        2 => (any::<Index>(), who, 1u32..10).prop_map(|(pick, buyer, count)| Op::Buy {
            pick, buyer, count,
        }),
        3 => (any::<Index>(), any::<Index>()).prop_map(|(pick, count)| Op::Claim { pick, count }),
        1 => (0u32..3).prop_map(|step| Op::Expire { step }),
    ]
}

/// A registry and what the test knows about it, to aim operations.
#[derive(Clone)]
struct World {
    reg: Registry,
    /// Each project's last issued month offset.
    last: [Option<u32>; PROJECTS as usize],
    /// Issued (project, month offset), in issuance order.
    pms: Vec<(u64, u32)>,
    /// The last expiry run's month offset from 2026-01.
    expired: Option<u32>,
}

impl World {
    fn new() -> World {
        World {
            reg: Registry::new(),
            last: [None; PROJECTS as usize],
            pms: Vec::new(),
            expired: None,
        }
    }

    /// A project-month whose owner still has `issued` certificates if there is one, else any.
    fn pm(&self, pick: Index) -> (u64, u32) {
        let live: Vec<(u64, u32)> = self
            .pms
            .iter()
            .copied()
            .filter(|&(project, m)| self.held(owner(project), project, m, CertState::Issued) > 0)
            .collect();
        if !live.is_empty() {
            live[pick.index(live.len())]
        } else if !self.pms.is_empty() {
            self.pms[pick.index(self.pms.len())]
        } else {
            (0, 0)
        }
    }

    /// An open listing if there is one, else any (closed) one.
    fn listing(&self, pick: Index) -> ListingId {
        let open: Vec<ListingId> = self.reg.open_listings().map(|l| l.id).collect();
        if !open.is_empty() {
            return open[pick.index(open.len())];
        }
        let n = self
            .reg
            .entries()
            .iter()
            .filter(|e| matches!(e.body, Body::List { .. }))
            .count();
        ListingId(1 + pick.index(n.max(1)) as u64)
    }

    /// How many certificates of a project-month `who` holds in `state`.
    fn held(&self, who: ParticipantId, project: u64, m: u32, state: CertState) -> u32 {
        self.reg
            .holdings(who)
            .iter()
            .filter(|h| {
                h.state == state
                    && h.range.project() == code(project)
                    && h.range.month() == month(m)
            })
            .map(|h| h.range.count())
            .sum()
    }

    fn apply(&mut self, op: &Op, at_ms: i64) -> Result<(), RegistryError> {
        match *op {
            Op::Issue {
                project,
                step,
                metered_kwh,
            } => {
                // After an expiry run, new projects start past the expired months (or, with
                // step 0, at the last expired one, which is refused).
                let after_expired = self.expired.map_or(0, |e| e + step);
                let m = self.last[project as usize]
                    .map_or(step, |l| l + step)
                    .max(after_expired);
                self.reg.issue(
                    code(project),
                    owner(project),
                    month(m),
                    Kwh(metered_kwh),
                    at_ms,
                )?;
                self.last[project as usize] = Some(m);
                self.pms.push((project, m));
                Ok(())
            }
            Op::Transfer {
                pick,
                from_owner,
                from,
                to,
                count,
                settle,
            } => {
                let (project, m) = self.pm(pick);
                let from = if from_owner { owner(project) } else { p(from) };
                let available = self.held(from, project, m, CertState::Issued);
                let count = 1 + count.index(available as usize + 2) as u32;
                let reason = if settle {
                    settlement(u64::from(m), "2024-06")
                } else {
                    bilateral(i64::from(count))
                };
                self.reg
                    .transfer(from, p(to), code(project), month(m), count, reason, at_ms)
                    .map(drop)
            }
            Op::List {
                pick,
                count,
                price_fen,
            } => {
                let (project, m) = self.pm(pick);
                self.reg
                    .list(
                        owner(project),
                        code(project),
                        month(m),
                        count,
                        Fen(price_fen),
                        at_ms,
                    )
                    .map(drop)
            }
            Op::Delist {
                pick,
                by_owner,
                other,
            } => {
                let id = self.listing(pick);
                let who = match self.reg.listing(id) {
                    Some(l) if by_owner => l.owner,
                    _ => p(other),
                };
                self.reg.delist(who, id, at_ms).map(drop)
            }
            Op::Buy { pick, buyer, count } => {
                let id = self.listing(pick);
                self.reg.buy_listing(id, p(buyer), count, at_ms).map(drop)
            }
            Op::Claim { pick, count } => {
                // Mostly claimable holdings; claimed and cancelled ones make refusals.
                let held: Vec<(ParticipantId, SerialRange)> = (1..=PARTICIPANTS)
                    .flat_map(|w| self.reg.holdings(p(w)).into_iter().map(move |h| (p(w), h)))
                    .filter(|(_, h)| {
                        matches!(h.state, CertState::Issued | CertState::Transferred)
                            || count.index(4) == 0
                    })
                    .map(|(w, h)| (w, h.range))
                    .collect();
                let (holder, range) = if held.is_empty() {
                    (p(1), SerialRange::new(code(0), month(0), 1, 1).unwrap())
                } else {
                    held[pick.index(held.len())]
                };
                let count = 1 + count.index(range.count() as usize + 2) as u32;
                self.reg
                    .claim(
                        holder,
                        range.project(),
                        range.month(),
                        count,
                        "beneficiary",
                        at_ms,
                    )
                    .map(drop)
            }
            Op::Expire { step } => {
                let m = self.expired.map_or(step, |e| e + step);
                self.reg
                    .expire(ym("2026-01").plus_months(m).unwrap(), at_ms)?;
                self.expired = Some(m);
                Ok(())
            }
        }
    }
}

fn build(ops: &[Op]) -> Registry {
    let mut world = World::new();
    for (i, op) in ops.iter().enumerate() {
        let _ = world.apply(op, i as i64 * 10);
    }
    world.reg
}

/// Every serial of every issued project-month is in exactly one holding of one account.
fn check_partition(reg: &Registry) -> Result<(), TestCaseError> {
    let mut by_pm: BTreeMap<(ProjectCode, YearMonth), Vec<SerialRange>> = BTreeMap::new();
    for who in 1..=PARTICIPANTS {
        for h in reg.holdings(p(who)) {
            by_pm
                .entry((h.range.project(), h.range.month()))
                .or_default()
                .push(h.range);
        }
    }
    let mut total = 0u64;
    for ((project, month), mut ranges) in by_pm {
        ranges.sort();
        let mut next = 1;
        for r in &ranges {
            prop_assert_eq!(r.first(), next, "gap or overlap in {} {}", project, month);
            next = r.last() + 1;
        }
        let issued = reg
            .project_month_totals(project, month)
            .unwrap()
            .issued_total;
        prop_assert_eq!(u64::from(next - 1), issued);
        total += issued;
    }
    prop_assert_eq!(total, reg.totals().issued_total);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Random operations never create or destroy a MWh: a refusal changes nothing, every entry
    /// moves exactly what it says, issuance matches floor(total metered / 1000) per project,
    /// every certificate is in one account and one state, and no serial is traded twice.
    #[test]
    fn mwh_are_conserved(ops in prop::collection::vec(op(), 1..80)) {
        let mut world = World::new();
        let mut metered: BTreeMap<u64, (i64, Vec<YearMonth>)> = BTreeMap::new();
        for (i, op) in ops.iter().enumerate() {
            let before = world.reg.clone();
            let result = world.apply(op, i as i64);
            let reg = &world.reg;
            match result {
                Err(_) => prop_assert_eq!(reg, &before),
                Ok(()) => {
                    prop_assert_eq!(reg.entries().len(), before.entries().len() + 1);
                    let entry = reg.entries().last().unwrap();
                    if let Body::Issue { project, month, metered_kwh, .. } = &entry.body {
                        let n = (0..PROJECTS).find(|&n| code(n) == *project).unwrap();
                        let slot = metered.entry(n).or_default();
                        slot.0 += metered_kwh.0;
                        slot.1.push(*month);
                    }
                    let moved: u64 = entry.ranges().iter().map(|r| u64::from(r.count())).sum();
                    let expected = match &entry.body {
                        Body::Transfer { count, .. } | Body::List { count, .. }
                        | Body::Buy { count, .. } | Body::Claim { count, .. } => Some(u64::from(*count)),
                        _ => None,
                    };
                    if let Some(count) = expected {
                        prop_assert_eq!(moved, count);
                    }
                }
            }
            let totals = reg.check_conservation().map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert!(totals.conserved());
            prop_assert_eq!(totals, reg.totals());
        }
        let reg = &world.reg;
        for (project, (kwh, months)) in &metered {
            let issued: u64 = months
                .iter()
                .map(|m| reg.project_month_totals(code(*project), *m).unwrap().issued_total)
                .sum();
            prop_assert_eq!(issued as i64, kwh / 1000);
            prop_assert_eq!(reg.carry(code(*project)), Some(Kwh(kwh % 1000)));
        }
        check_partition(reg)?;
        // Trade once: no serial leaves its first holder twice.
        let mut traded: BTreeSet<(ProjectCode, YearMonth, u32)> = BTreeSet::new();
        for entry in reg.entries() {
            if matches!(entry.body, Body::Transfer { .. } | Body::Buy { .. }) {
                for r in entry.ranges() {
                    for seq in r.first()..=r.last() {
                        prop_assert!(traded.insert((r.project(), r.month(), seq)), "traded twice");
                    }
                }
            }
        }
        let transferred_or_after: u64 = (1..=PARTICIPANTS)
            .flat_map(|w| reg.holdings(p(w)))
            .filter(|h| h.state == CertState::Transferred)
            .map(|h| u64::from(h.range.count()))
            .sum();
        prop_assert!(transferred_or_after <= traded.len() as u64);
    }

    /// Splitting a range anywhere and merging the pieces back never creates or destroys a MWh.
    #[test]
    fn split_and_merge_conserve(first in 1u32..1_000_000, count in 1u32..100_000,
                                cuts in prop::collection::vec(any::<Index>(), 0..12)) {
        let whole = SerialRange::new(code(0), ym("2024-03"), first, count).unwrap();
        let mut pieces = vec![whole];
        for cut in cuts {
            let i = cut.index(pieces.len());
            let piece = pieces[i];
            if piece.count() > 1 {
                let at = 1 + (cut.index(piece.count() as usize - 1) as u32);
                let (a, b) = piece.split_at(at).unwrap();
                pieces.splice(i..=i, [a, b]);
            }
        }
        prop_assert_eq!(pieces.iter().map(|r| u64::from(r.count())).sum::<u64>(), u64::from(count));
        for r in &pieces {
            prop_assert_eq!(SerialRange::parse(&r.to_string()).unwrap(), *r);
        }
        let merged = pieces[1..].iter().try_fold(pieces[0], |acc, r| acc.merge(r));
        prop_assert_eq!(merged, Some(whole));
    }

    /// Any single changed byte of any entry's stored bytes is detected, and named exactly.
    #[test]
    fn a_flipped_byte_is_detected(ops in prop::collection::vec(op(), 1..40),
                                  entry in any::<Index>(), byte in any::<Index>(), mask in 1u8..=255) {
        let reg = build(&ops);
        prop_assume!(!reg.entries().is_empty());
        let mut stored: Vec<Vec<u8>> = reg.entries().iter().map(Entry::to_bytes).collect();
        prop_assert!(verify_bytes(&stored).is_ok());
        let i = entry.index(stored.len());
        let j = byte.index(stored[i].len());
        stored[i][j] ^= mask;
        let err = verify_bytes(&stored).unwrap_err();
        prop_assert_eq!(err.first_bad_seq, i as u64 + 1, "{}", err);
    }

    /// Deleting or swapping entries is detected; deleting the last one shortens a still valid
    /// chain whose head no longer matches.
    #[test]
    fn deleted_or_swapped_entries_are_detected(ops in prop::collection::vec(op(), 2..40),
                                               a in any::<Index>(), b in any::<Index>()) {
        let reg = build(&ops);
        let n = reg.entries().len();
        prop_assume!(n >= 2);
        let i = a.index(n);
        let mut entries = reg.entries().to_vec();
        entries.remove(i);
        match verify(&entries) {
            Err(err) => prop_assert_eq!(err.first_bad_seq, i as u64 + 1),
            Ok(report) => {
                prop_assert_eq!(i, n - 1);
                prop_assert_ne!(report.head, reg.head());
            }
        }
        let (x, y) = (a.index(n), b.index(n));
        prop_assume!(x != y);
        let mut entries = reg.entries().to_vec();
        entries.swap(x, y);
        let err = verify(&entries).unwrap_err();
        prop_assert_eq!(err.first_bad_seq, x.min(y) as u64 + 1);
    }

    /// Replaying the ledger (typed, from bytes, or from JSON) rebuilds exactly the registry.
    #[test]
    fn replay_reproduces_the_registry(ops in prop::collection::vec(op(), 1..80)) {
        let reg = build(&ops);
        let (replayed, report) = replay(reg.entries()).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(report.entries, reg.entries().len() as u64);
        prop_assert_eq!(report.head, reg.head());
        for who in 1..=PARTICIPANTS {
            prop_assert_eq!(replayed.holdings(p(who)), reg.holdings(p(who)));
        }
        prop_assert_eq!(&replayed, &reg);
        let json = serde_json::to_string(reg.entries()).unwrap();
        let back: Vec<Entry> = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(back.as_slice(), reg.entries());
        let bytes: Vec<Vec<u8>> = back.iter().map(Entry::to_bytes).collect();
        prop_assert_eq!(verify_bytes(&bytes).unwrap(), report);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// A checkpoint taken after any entry restores to a registry that, with the entries after
    /// it replayed, is the registry: the same checkpoint bytes, holdings, totals, lifecycle
    /// counts and settlement spans. `lvdian verify` accepts the true checkpoint and names any
    /// changed byte of it.
    #[test]
    fn a_checkpoint_and_the_entries_after_it_are_the_registry(
        ops in prop::collection::vec(op(), 1..80),
        at in any::<Index>(), byte in any::<Index>(), mask in 1u8..=255,
    ) {
        let reg = build(&ops);
        let entries = reg.entries();
        let k = at.index(entries.len() + 1);
        let (head, _) = replay(&entries[..k]).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let bytes = head.checkpoint();
        prop_assert_eq!(Registry::checkpoint_seq(&bytes).unwrap(), k as u64);
        let restored = Registry::restore(&bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(restored.checkpoint(), bytes.clone());
        prop_assert!(restored.entries().is_empty());
        let (resumed, report) = resume(restored, entries[k..].iter().cloned())
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(report.head, reg.head());
        prop_assert_eq!(resumed.checkpoint(), reg.checkpoint());
        prop_assert_eq!(resumed.totals(), reg.totals());
        prop_assert!(resumed.lifecycle_counts().eq(reg.lifecycle_counts()));
        for who in 1..=PARTICIPANTS {
            prop_assert_eq!(resumed.holdings(p(who)), reg.holdings(p(who)));
        }
        let stored: Vec<Vec<u8>> = entries.iter().map(Entry::to_bytes).collect();
        prop_assert_eq!(
            verify_bytes_with_checkpoint(&stored, Some(&bytes)).unwrap(),
            verify_bytes(&stored).unwrap()
        );
        let mut bent = bytes.clone();
        let j = byte.index(bent.len());
        bent[j] ^= mask;
        // Restoring changed bytes may fail or not (a changed price is still a state), never
        // panics; verification always refuses them.
        let _ = Registry::restore(&bent);
        let err = verify_bytes_with_checkpoint(&stored, Some(&bent)).unwrap_err();
        prop_assert!(matches!(err.reason, VerifyFailure::Checkpoint(_)), "{}", err);
        // A checkpoint beyond a cut-off ledger is refused.
        if k > 0 {
            let err = verify_bytes_with_checkpoint(&stored[..k - 1], Some(&bytes)).unwrap_err();
            prop_assert!(matches!(err.reason, VerifyFailure::Checkpoint(_)), "{}", err);
        }
    }

    /// The settlement spans hold every settlement transfer of their month: a buyer's
    /// consumption certificate lines from the spans' entries are those from the whole ledger.
    #[test]
    fn settlement_spans_hold_a_months_consumption_lines(ops in prop::collection::vec(op(), 1..80)) {
        let reg = build(&ops);
        for offset in 0..12 {
            let m = month(offset);
            let spanned: Vec<&Entry> = reg
                .settlement_spans(m)
                .iter()
                .flat_map(|&(first, last)| &reg.entries()[first as usize - 1..last as usize])
                .collect();
            for who in 1..=PARTICIPANTS {
                prop_assert_eq!(
                    consumption_lines(spanned.iter().copied(), p(who), m),
                    consumption_lines(reg.entries(), p(who), m)
                );
            }
        }
    }
}

/// Bytes that are not a checkpoint are refused, whatever their length.
#[test]
fn truncated_checkpoints_are_refused() {
    let reg = build(&[]);
    let bytes = reg.checkpoint();
    assert!(Registry::restore(&bytes).is_ok());
    for n in 0..bytes.len() {
        assert!(Registry::restore(&bytes[..n]).is_err(), "{n} bytes");
    }
    let mut long = bytes.clone();
    long.push(0);
    assert!(Registry::restore(&long).is_err());
}
