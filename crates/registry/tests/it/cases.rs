//! Hand-written cases with their expected numbers.

use domain::{Fen, Kwh};
use registry::{
    Body, CertState, Holding, ListingId, Registry, RegistryError, SerialRange, Totals, expiry_month,
};

use crate::{bilateral, p, project, settlement, ym};

fn range(project_n: u64, month: &str, first: u32, count: u32) -> SerialRange {
    SerialRange::new(project(project_n), ym(month), first, count).unwrap()
}

fn holding(r: SerialRange, state: CertState) -> Holding {
    Holding {
        range: r,
        state,
        listing: None,
    }
}

/// Applies `op`, expects `expected`, and checks that a refusal changed nothing.
fn refused<T: std::fmt::Debug>(
    reg: &mut Registry,
    expected: RegistryError,
    op: impl FnOnce(&mut Registry) -> Result<T, RegistryError>,
) {
    let before = reg.clone();
    let got = op(reg).map(|_| ());
    assert_eq!(got, Err(expected));
    assert_eq!(*reg, before, "a refused operation changed the registry");
}

/// Issues one project's months in order and checks each month's certificates and carry:
/// `(month, metered kWh, certificates, carry out kWh)`.
fn check_issuance(months: &[(&str, i64, u32, i64)]) {
    let mut reg = Registry::new();
    for (i, &(month, metered, certs, carry)) in months.iter().enumerate() {
        let entry = reg
            .issue(project(1), p(1), ym(month), Kwh(metered), i as i64)
            .unwrap()
            .clone();
        let Body::Issue {
            issued,
            carry_out_kwh,
            carry_in_kwh,
            ..
        } = entry.body
        else {
            panic!("not an issue entry: {entry:?}");
        };
        assert_eq!(carry_out_kwh, Kwh(carry), "{month} carry out");
        let expected_in = if i == 0 { 0 } else { months[i - 1].3 };
        assert_eq!(carry_in_kwh, Kwh(expected_in), "{month} carry in");
        assert_eq!(
            issued,
            (certs > 0).then(|| range(1, month, 1, certs)),
            "{month}"
        );
        assert_eq!(reg.carry(project(1)), Some(Kwh(carry)));
    }
    let total: u64 = months.iter().map(|m| u64::from(m.2)).sum();
    assert_eq!(reg.totals().issued_total, total);
    assert_eq!(reg.totals().issued, total);
    reg.check_conservation().unwrap();
}

#[test]
fn issuance_floors_to_mwh_and_carries_the_remainder() {
    check_issuance(&[
        ("2024-01", 12_345, 12, 345),
        ("2024-02", 999_700, 1_000, 45),
        ("2024-03", 900, 0, 945),
        ("2024-04", 55, 1, 0),
        // A gap: the carry goes to the project's next issued month.
        ("2024-07", 1_999, 1, 999),
        ("2024-08", 0, 0, 999),
        ("2024-09", 1, 1, 0),
    ]);
}

#[test]
fn serial_range_of_twelve_certificates() {
    let mut reg = Registry::new();
    let entry = reg
        .issue(project(1), p(1), ym("2024-03"), Kwh(12_999), 0)
        .unwrap();
    let ranges = entry.ranges();
    assert_eq!(ranges.len(), 1);
    assert_eq!(
        ranges[0].to_string(),
        "33010000000000001202403000000001-33010000000000001202403000000012"
    );
    assert_eq!(
        reg.holdings(p(1)),
        vec![holding(range(1, "2024-03", 1, 12), CertState::Issued)]
    );
}

#[test]
fn issuance_refusals_change_nothing() {
    let mut reg = Registry::new();
    reg.issue(project(1), p(1), ym("2024-03"), Kwh(5_500), 10)
        .unwrap();
    refused(
        &mut reg,
        RegistryError::NegativeEnergy { metered: Kwh(-1) },
        |r| {
            r.issue(project(1), p(1), ym("2024-04"), Kwh(-1), 10)
                .cloned()
        },
    );
    for month in ["2024-03", "2024-02"] {
        refused(
            &mut reg,
            RegistryError::MonthNotAfterLast {
                project: project(1),
                month: ym(month),
                last: ym("2024-03"),
            },
            |r| {
                r.issue(project(1), p(1), ym(month), Kwh(1_000), 10)
                    .cloned()
            },
        );
    }
    refused(
        &mut reg,
        RegistryError::ClockWentBack {
            at_ms: 9,
            last_ms: 10,
        },
        |r| {
            r.issue(project(1), p(1), ym("2024-04"), Kwh(1_000), 9)
                .cloned()
        },
    );
    refused(
        &mut reg,
        RegistryError::SequenceExhausted {
            project: project(2),
            month: ym("2024-03"),
        },
        |r| {
            r.issue(project(2), p(1), ym("2024-03"), Kwh(1_000_000_000_000), 10)
                .cloned()
        },
    );
    assert_eq!(reg.entries().len(), 1);
    // The carry of 500 kWh is still there.
    let e = reg
        .issue(project(1), p(1), ym("2024-04"), Kwh(500), 11)
        .unwrap();
    assert_eq!(e.ranges(), vec![range(1, "2024-04", 1, 1)]);
}

#[test]
fn a_certificate_transfers_once_then_only_claims() {
    let mut reg = Registry::new();
    let (a, b, c) = (p(1), p(2), p(3));
    let m = ym("2024-03");
    reg.issue(project(1), a, m, Kwh(100_000), 0).unwrap();
    let e = reg
        .transfer(a, b, project(1), m, 30, settlement(7, "2024-03"), 1)
        .unwrap();
    assert_eq!(e.ranges(), vec![range(1, "2024-03", 1, 30)]);
    assert_eq!(
        reg.holdings(b),
        vec![holding(range(1, "2024-03", 1, 30), CertState::Transferred)]
    );
    // B may not pass them on: trade once.
    refused(
        &mut reg,
        RegistryError::AlreadyTransferred {
            participant: b,
            project: project(1),
            month: m,
            requested: 10,
            transferable: 0,
            transferred_once: 30,
        },
        |r| {
            r.transfer(b, c, project(1), m, 10, bilateral(50), 2)
                .cloned()
        },
    );
    // A sells the rest to C; then it has nothing left.
    let e = reg
        .transfer(a, c, project(1), m, 70, bilateral(45), 2)
        .unwrap();
    assert_eq!(e.ranges(), vec![range(1, "2024-03", 31, 70)]);
    refused(
        &mut reg,
        RegistryError::Insufficient {
            participant: a,
            action: "transfer",
            project: project(1),
            month: m,
            requested: 1,
            available: 0,
        },
        |r| {
            r.transfer(a, c, project(1), m, 1, bilateral(45), 3)
                .cloned()
        },
    );
    refused(&mut reg, RegistryError::SameAccount(a), |r| {
        r.transfer(a, a, project(1), m, 1, bilateral(45), 3)
            .cloned()
    });
    refused(&mut reg, RegistryError::ZeroCount, |r| {
        r.transfer(a, b, project(1), m, 0, bilateral(45), 3)
            .cloned()
    });
    refused(&mut reg, RegistryError::NegativePrice(Fen(-100)), |r| {
        r.transfer(a, b, project(1), m, 1, bilateral(-1), 3)
            .cloned()
    });
    refused(
        &mut reg,
        RegistryError::UnknownProjectMonth {
            project: project(1),
            month: ym("2024-04"),
        },
        |r| {
            r.transfer(a, b, project(1), ym("2024-04"), 1, bilateral(1), 3)
                .cloned()
        },
    );
    assert_eq!(
        reg.totals(),
        Totals {
            issued_total: 100,
            transferred: 100,
            ..Totals::default()
        }
    );
    assert!(reg.holdings(a).is_empty());
}

#[test]
fn claims_are_final_and_owners_may_claim_their_own() {
    let mut reg = Registry::new();
    let (a, b) = (p(1), p(2));
    let m = ym("2024-03");
    reg.issue(project(1), a, m, Kwh(50_000), 0).unwrap();
    reg.transfer(a, b, project(1), m, 30, settlement(1, "2024-03"), 1)
        .unwrap();
    let e = reg
        .claim(b, project(1), m, 10, "杭州某某制造有限公司", 2)
        .unwrap();
    assert_eq!(e.ranges(), vec![range(1, "2024-03", 1, 10)]);
    refused(
        &mut reg,
        RegistryError::Insufficient {
            participant: b,
            action: "claim",
            project: project(1),
            month: m,
            requested: 21,
            available: 20,
        },
        |r| r.claim(b, project(1), m, 21, "x", 3).cloned(),
    );
    // The owner claims some never-transferred certificates for its own consumption.
    let e = reg.claim(a, project(1), m, 5, "自发自用", 3).unwrap();
    assert_eq!(e.ranges(), vec![range(1, "2024-03", 31, 5)]);
    // Claimed certificates cannot move.
    refused(
        &mut reg,
        RegistryError::AlreadyTransferred {
            participant: b,
            project: project(1),
            month: m,
            requested: 25,
            transferable: 0,
            transferred_once: 20,
        },
        |r| {
            r.transfer(b, a, project(1), m, 25, bilateral(1), 4)
                .cloned()
        },
    );
    for (name, why) in [
        ("", "is empty"),
        (" x", "has leading or trailing white space"),
        ("a\nb", "contains a control character"),
    ] {
        refused(&mut reg, RegistryError::BadBeneficiary(why), |r| {
            r.claim(b, project(1), m, 1, name, 4).cloned()
        });
    }
    let long = "绿".repeat(201);
    refused(
        &mut reg,
        RegistryError::BadBeneficiary("is longer than 200 characters"),
        |r| r.claim(b, project(1), m, 1, &long, 4).cloned(),
    );
    assert_eq!(
        reg.holdings(b),
        vec![
            holding(range(1, "2024-03", 1, 10), CertState::Claimed),
            holding(range(1, "2024-03", 11, 20), CertState::Transferred),
        ]
    );
    assert_eq!(
        reg.holdings(a),
        vec![
            holding(range(1, "2024-03", 31, 5), CertState::Claimed),
            holding(range(1, "2024-03", 36, 15), CertState::Issued),
        ]
    );
    let t = reg.check_conservation().unwrap();
    assert_eq!((t.issued_total, t.held(), t.claimed), (50, 35, 15));
}

#[test]
fn certificates_expire_at_the_start_of_the_24th_month_after_production() {
    assert_eq!(expiry_month(ym("2024-03")), Some(ym("2026-03")));
    let mut reg = Registry::new();
    let (a, b) = (p(1), p(2));
    reg.issue(project(1), a, ym("2024-03"), Kwh(10_000), 0)
        .unwrap();
    reg.issue(project(1), a, ym("2024-04"), Kwh(4_000), 0)
        .unwrap();
    reg.transfer(a, b, project(1), ym("2024-03"), 6, bilateral(10), 1)
        .unwrap();
    reg.claim(b, project(1), ym("2024-03"), 2, "B", 2).unwrap();
    let listing = reg
        .list(a, project(1), ym("2024-03"), 3, Fen(1_000), 3)
        .unwrap();

    // 2026-02 is the last month of validity of 2024-03: nothing expires.
    let e = reg.expire(ym("2026-02"), 4).unwrap();
    let Body::Expire {
        cancelled,
        expired_through,
        closed_listings,
        ..
    } = &e.body
    else {
        panic!("{e:?}")
    };
    assert!(cancelled.is_empty() && closed_listings.is_empty());
    assert_eq!(*expired_through, ym("2024-02"));
    assert_eq!(reg.totals().cancelled, 0);

    // At the start of 2026-03 every unclaimed certificate of 2024-03 is cancelled.
    let e = reg.expire(ym("2026-03"), 5).unwrap().clone();
    assert_eq!(
        e.ranges(),
        vec![
            range(1, "2024-03", 3, 4),
            range(1, "2024-03", 7, 3),
            range(1, "2024-03", 10, 1)
        ]
    );
    let Body::Expire {
        cancelled,
        closed_listings,
        ..
    } = &e.body
    else {
        panic!("{e:?}")
    };
    let was: Vec<_> = cancelled.iter().map(|c| (c.holder, c.was)).collect();
    assert_eq!(
        was,
        vec![
            (b, CertState::Transferred),
            (a, CertState::Listed),
            (a, CertState::Issued)
        ]
    );
    assert_eq!(closed_listings, &vec![listing]);
    let t = reg.project_month_totals(project(1), ym("2024-03")).unwrap();
    assert_eq!(
        (t.issued_total, t.claimed, t.cancelled, t.held()),
        (10, 2, 8, 0)
    );
    // 2024-04 is still valid.
    let t = reg.project_month_totals(project(1), ym("2024-04")).unwrap();
    assert_eq!((t.issued, t.cancelled), (4, 0));
    assert_eq!(
        reg.holdings(b),
        vec![
            holding(range(1, "2024-03", 1, 2), CertState::Claimed),
            holding(range(1, "2024-03", 3, 4), CertState::Cancelled),
        ]
    );

    refused(
        &mut reg,
        RegistryError::Insufficient {
            participant: b,
            action: "claim",
            project: project(1),
            month: ym("2024-03"),
            requested: 1,
            available: 0,
        },
        |r| r.claim(b, project(1), ym("2024-03"), 1, "B", 6).cloned(),
    );
    refused(&mut reg, RegistryError::ListingClosed(listing), |r| {
        r.buy_listing(listing, b, 1, 6).cloned()
    });
    refused(
        &mut reg,
        RegistryError::MonthExpired {
            month: ym("2024-03"),
            expired_through: ym("2024-03"),
        },
        |r| {
            r.issue(project(2), a, ym("2024-03"), Kwh(1_000), 6)
                .cloned()
        },
    );
    refused(
        &mut reg,
        RegistryError::ExpiryNotAdvancing {
            now_month: ym("2026-03"),
            expired_through: ym("2024-03"),
        },
        |r| r.expire(ym("2026-03"), 6).cloned(),
    );
    reg.check_conservation().unwrap();
}

#[test]
fn a_listing_sells_in_lots_of_one_at_its_price() {
    let mut reg = Registry::new();
    let (a, b, c) = (p(1), p(2), p(3));
    let m = ym("2024-05");
    reg.issue(project(1), a, m, Kwh(100_000), 0).unwrap();
    let l = reg.list(a, project(1), m, 10, Fen(5_000), 1).unwrap();
    assert_eq!(l, ListingId(1));
    assert_eq!(reg.open_listings().count(), 1);
    // A settlement transfer does not take listed certificates.
    let e = reg
        .transfer(a, b, project(1), m, 5, settlement(3, "2024-05"), 2)
        .unwrap();
    assert_eq!(e.ranges(), vec![range(1, "2024-05", 11, 5)]);

    let e = reg.buy_listing(l, c, 4, 3).unwrap().clone();
    let Body::Buy {
        seller,
        price_per_cert,
        ranges,
        ..
    } = &e.body
    else {
        panic!("{e:?}")
    };
    assert_eq!(
        (*seller, *price_per_cert, ranges.clone()),
        (a, Fen(5_000), vec![range(1, "2024-05", 1, 4)])
    );
    assert_eq!(reg.listing(l).unwrap().remaining, 6);
    refused(&mut reg, RegistryError::SameAccount(a), |r| {
        r.buy_listing(l, a, 1, 4).cloned()
    });
    refused(
        &mut reg,
        RegistryError::ListingShort {
            listing: l,
            requested: 7,
            remaining: 6,
        },
        |r| r.buy_listing(l, c, 7, 4).cloned(),
    );
    refused(
        &mut reg,
        RegistryError::NotListingOwner {
            listing: l,
            owner: a,
            participant: b,
        },
        |r| r.delist(b, l, 4).cloned(),
    );
    refused(&mut reg, RegistryError::UnknownListing(ListingId(9)), |r| {
        r.buy_listing(ListingId(9), c, 1, 4).cloned()
    });
    refused(
        &mut reg,
        RegistryError::Insufficient {
            participant: a,
            action: "list",
            project: project(1),
            month: m,
            requested: 86,
            available: 85,
        },
        |r| r.list(a, project(1), m, 86, Fen(1), 4),
    );
    // What C bought may not be resold.
    refused(
        &mut reg,
        RegistryError::AlreadyTransferred {
            participant: c,
            project: project(1),
            month: m,
            requested: 1,
            transferable: 0,
            transferred_once: 4,
        },
        |r| {
            r.transfer(c, b, project(1), m, 1, bilateral(60), 4)
                .cloned()
        },
    );
    let e = reg.delist(a, l, 5).unwrap();
    assert_eq!(e.ranges(), vec![range(1, "2024-05", 5, 6)]);
    refused(&mut reg, RegistryError::ListingClosed(l), |r| {
        r.buy_listing(l, c, 1, 6).cloned()
    });
    assert_eq!(reg.open_listings().count(), 0);
    assert_eq!(
        reg.holdings(a),
        vec![
            holding(range(1, "2024-05", 5, 6), CertState::Issued),
            holding(range(1, "2024-05", 16, 85), CertState::Issued),
        ]
    );
    assert_eq!(
        reg.holdings(c),
        vec![holding(range(1, "2024-05", 1, 4), CertState::Transferred)]
    );
    let t = reg.check_conservation().unwrap();
    assert_eq!((t.issued, t.transferred, t.listed), (91, 9, 0));
}

#[test]
fn listed_certificates_show_their_listing() {
    let mut reg = Registry::new();
    reg.issue(project(1), p(1), ym("2024-05"), Kwh(3_000), 0)
        .unwrap();
    let l = reg
        .list(p(1), project(1), ym("2024-05"), 2, Fen(100), 0)
        .unwrap();
    assert_eq!(
        reg.holdings(p(1)),
        vec![
            Holding {
                range: range(1, "2024-05", 1, 2),
                state: CertState::Listed,
                listing: Some(l),
            },
            holding(range(1, "2024-05", 3, 1), CertState::Issued),
        ]
    );
}

#[test]
fn error_codes_are_stable() {
    assert_eq!(RegistryError::ZeroCount.code(), "zero_count");
    assert_eq!(
        RegistryError::ListingClosed(ListingId(1)).to_string(),
        "listing L1 is closed"
    );
}

#[test]
fn the_largest_metered_months_issue_or_are_refused_without_overflow() {
    let mut reg = Registry::new();
    // The most a project-month can hold: 999,999,999 certificates (9-digit sequences), the
    // 999 kWh left over carried.
    let e = reg
        .issue(project(1), p(1), ym("2024-01"), Kwh(999_999_999_999), 0)
        .unwrap();
    assert_eq!(e.ranges(), vec![range(1, "2024-01", 1, 999_999_999)]);
    assert_eq!(reg.totals().issued_total, 999_999_999);
    // One meter at the spec's bound for a whole month (2,976 × 10^9 kWh) is more certificates
    // than serials: a typed refusal, nothing issued.
    let month_at_the_bound = Kwh(2_976 * Kwh::MAX_INTERVAL.0);
    refused(
        &mut reg,
        RegistryError::SequenceExhausted {
            project: project(1),
            month: ym("2024-02"),
        },
        |r| {
            r.issue(project(1), p(1), ym("2024-02"), month_at_the_bound, 1)
                .cloned()
        },
    );
    // Even i64::MAX kWh plus the 999 carried: refused, not wrapped.
    refused(
        &mut reg,
        RegistryError::SequenceExhausted {
            project: project(1),
            month: ym("2024-02"),
        },
        |r| {
            r.issue(project(1), p(1), ym("2024-02"), Kwh(i64::MAX), 1)
                .cloned()
        },
    );
    // The carry is intact: 1 kWh more completes a certificate.
    let e = reg
        .issue(project(1), p(1), ym("2024-02"), Kwh(1), 2)
        .unwrap();
    assert_eq!(e.ranges(), vec![range(1, "2024-02", 1, 1)]);
    assert_eq!(reg.totals().issued_total, 1_000_000_000);
}

#[test]
fn claims_of_several_lots_are_all_or_none() {
    let mut reg = Registry::new();
    let (a, b) = (p(1), p(2));
    let (march, april) = (ym("2024-03"), ym("2024-04"));
    for (n, m) in [(1, march), (2, march), (1, april)] {
        reg.issue(project(n), a, m, Kwh(20_000), 1).unwrap();
    }
    for (n, m) in [(1, march), (2, march), (1, april)] {
        reg.transfer(a, b, project(n), m, 10, settlement(n, "2024-03"), 1)
            .unwrap();
    }
    // Two lots of one project-month count together: 6 + 5 of 10 is too many.
    refused(
        &mut reg,
        RegistryError::Insufficient {
            participant: b,
            action: "claim",
            project: project(1),
            month: march,
            requested: 11,
            available: 10,
        },
        |r| {
            r.claim_all(
                b,
                &[
                    (project(2), march, 4),
                    (project(1), march, 6),
                    (project(1), march, 5),
                ],
                "杭州某某制造有限公司",
                2,
            )
            .map(|e| e.len())
        },
    );
    refused(&mut reg, RegistryError::ZeroCount, |r| {
        r.claim_all(b, &[(project(1), march, 1), (project(2), march, 0)], "x", 2)
            .map(|e| e.len())
    });
    refused(&mut reg, RegistryError::BadBeneficiary("is empty"), |r| {
        r.claim_all(b, &[(project(1), march, 1)], "", 2)
            .map(|e| e.len())
    });
    assert!(
        reg.claim_all(b, &[(project(9), march, 1)], "x", 2).is_err(),
        "an unknown project-month"
    );
    let entries = reg
        .claim_all(
            b,
            &[
                (project(1), march, 6),
                (project(1), april, 10),
                (project(1), march, 4),
            ],
            "杭州某某制造有限公司",
            2,
        )
        .unwrap();
    let ranges: Vec<Vec<SerialRange>> = entries.iter().map(|e| e.ranges()).collect();
    assert_eq!(
        ranges,
        vec![
            vec![range(1, "2024-03", 1, 6)],
            vec![range(1, "2024-04", 1, 10)],
            vec![range(1, "2024-03", 7, 4)]
        ]
    );
    let march_only = reg.holdings_of(b, Some(march));
    assert!(march_only.iter().all(|h| h.range.month() == march));
    assert_eq!(
        march_only.iter().map(|h| h.range.count()).sum::<u32>(),
        20,
        "10 claimed of project 1 and 10 held of project 2"
    );
    assert_eq!(reg.holdings_of(b, None), reg.holdings(b));
    reg.check_conservation().unwrap();
}
