//! The province-year scenario: determinism, counts, profiles, and a simulated year through the
//! exchange's sessions (driven here, in the test only; the demo drives the service).

use std::collections::BTreeMap;
use std::time::Instant;

use domain::{Role, SessionId, Technology, YearMonth};
use exchange::session::{Command, Session, Stamp};
use sim::year::{Calendar, Population, Positions, YearTargets, agents};

/// FNV-1a of a value's JSON: a fingerprint that changes with any field.
fn fingerprint<T: serde::Serialize>(value: &T) -> u64 {
    let bytes = serde_json::to_vec(value).expect("serialisable");
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Everything a seed determines at scale 0.01, fingerprinted.
fn scenario_fingerprint(seed: u64) -> Vec<u64> {
    let targets = YearTargets::scaled(0.01);
    let population = Population::generate(seed, &targets);
    let calendar = Calendar::for_year(2023, &population, &targets);
    let positions = Positions::new(&population, 2023, &targets);
    let month = YearMonth::new(2023, 6).unwrap();
    let mut prints = vec![
        fingerprint(&population),
        fingerprint(&calendar),
        fingerprint(&positions),
    ];
    for project in population.projects.iter().step_by(37) {
        prints.push(fingerprint(&population.generation(project, month)));
    }
    for buyer in &population.buyers {
        prints.push(fingerprint(&population.consumption(buyer, month)));
    }
    prints.push(fingerprint(&agents::first_round(
        &calendar.sessions[0],
        &population,
        &positions,
    )));
    prints
}

#[test]
fn the_same_seed_gives_the_same_scenario_and_another_seed_another() {
    let a = scenario_fingerprint(2023);
    assert_eq!(a, scenario_fingerprint(2023));
    let b = scenario_fingerprint(2024);
    assert_eq!(a.len(), b.len());
    // The population, the positions, every profile and the orders differ; the calendar's
    // structure does not depend on the seed except through corridor ratings.
    assert_ne!(a[0], b[0]);
    assert_ne!(a[2], b[2]);
    assert!(a.iter().zip(&b).filter(|(x, y)| x != y).count() >= a.len() - 1);
}

#[test]
fn full_scale_counts_without_profiles() {
    let started = Instant::now();
    let targets = YearTargets::default();
    let population = Population::generate(7, &targets);
    let counts = population.counts();
    assert_eq!(counts.users, 16_200);
    assert_eq!(counts.wholesale_users, 300);
    assert_eq!(counts.retail_users, 15_900);
    assert_eq!(counts.retailers, 40);
    assert_eq!(counts.aggregators, 100);
    assert_eq!(counts.distributed_projects, 20_000);
    assert_eq!(counts.corridors, 4);
    assert_eq!(counts.generators, 8 + 5 + 4 * 3);
    assert_eq!(counts.projects, 20_000 + 8 * 3 + 5 * 2 + 4 * 3 * 2);
    assert_eq!(counts.meters, counts.projects + 340);
    let calendar = Calendar::for_year(2023, &population, &targets);
    assert_eq!(calendar.sessions.len(), 95);
    let inter = calendar
        .sessions
        .iter()
        .filter(|s| s.kind.is_inter())
        .count();
    assert_eq!(inter, 21);
    let by_mode: BTreeMap<String, usize> =
        calendar
            .counts()
            .into_iter()
            .fold(BTreeMap::new(), |mut m, (mode, _, n)| {
                *m.entry(mode).or_default() += n;
                m
            });
    assert_eq!(by_mode["rolling"], 36);
    assert_eq!(by_mode["bilateral"], 13);
    assert_eq!(by_mode["listing"], 12);
    assert_eq!(by_mode["call_auction (coupled)"], 21);
    assert_eq!(
        by_mode["call_auction (uniform)"] + by_mode["call_auction (high_low)"],
        13
    );
    // The first sessions run in December of the year before; all settings are valid.
    assert_eq!(calendar.sessions[0].date.year, 2022);
    assert!(calendar.sessions.windows(2).all(|w| w[0].date <= w[1].date));
    for s in &calendar.sessions {
        s.settings.validate().expect("valid settings");
    }
    // Green demand adds up to the target exactly.
    let positions = Positions::new(&population, 2023, &targets);
    assert_eq!(positions.buyers_fill(), (8_213_000_000, 0));
    let (target_2022, _) = Positions::new(&population, 2022, &targets).buyers_fill();
    assert_eq!(target_2022, (8_213_000_000f64 / 3.1885).round() as i64);
    println!("{counts:?} in {:?}", started.elapsed());
}

#[test]
fn names_codes_and_meters_are_valid_and_unique() {
    let population = Population::generate(11, &YearTargets::scaled(0.05));
    let names: std::collections::BTreeSet<&str> = population
        .participants
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(names.len(), population.participants.len());
    for p in &population.participants {
        assert_eq!(
            domain::TextRule::NAME
                .parse("name", &p.name)
                .expect("a valid name"),
            p.name
        );
    }
    let codes: std::collections::BTreeSet<_> = population.projects.iter().map(|p| p.code).collect();
    assert_eq!(codes.len(), population.projects.len());
    for p in &population.projects {
        assert_eq!(p.meters.len(), 1);
        domain::TextRule::IDENTIFIER
            .parse("meter", &p.meters[0])
            .expect("a valid meter id");
        assert!(p.capacity_kw > 0);
        let owner = population.participant(p.owner);
        assert!(matches!(owner.role, Role::Generator | Role::Aggregator));
        assert_eq!(
            owner.role == Role::Aggregator,
            p.technology == Technology::PvDistributed
        );
    }
    for r in &population.retail {
        assert_eq!(population.participant(r.retailer).role, Role::Retailer);
        assert_eq!(population.participant(r.retail_user).role, Role::RetailUser);
    }
}

#[test]
fn profiles_have_the_month_s_intervals_and_plausible_totals() {
    let targets = YearTargets::scaled(0.01);
    let population = Population::generate(5, &targets);
    let year = 2023;
    for project in population
        .projects
        .iter()
        .filter(|p| p.technology != Technology::PvDistributed)
    {
        let mut total = 0i64;
        for m in 1..=12 {
            let month = YearMonth::new(year, m).unwrap();
            let values = population.generation(project, month);
            assert_eq!(values.len(), month.intervals());
            assert!(
                values
                    .iter()
                    .all(|&v| v >= 0 && v * 4 <= project.capacity_kw as i64 + 4)
            );
            total += values.iter().sum::<i64>();
        }
        let hours = total as f64 / project.capacity_kw as f64;
        let range = match project.technology {
            Technology::WindOffshore => 2_400.0..3_600.0,
            Technology::WindOnshore => 1_600.0..2_700.0,
            _ => 900.0..2_000.0,
        };
        assert!(
            range.contains(&hours),
            "{:?}: {hours} h",
            project.technology
        );
    }
    // PV is dark at night; commercial load is higher at noon than at 3 a.m.
    let pv = population
        .projects
        .iter()
        .find(|p| p.technology == Technology::PvDistributed)
        .unwrap();
    let june = population.generation(pv, YearMonth::new(year, 6).unwrap());
    assert_eq!(june[8], 0);
    assert!(june[48] > 0);
    for buyer in &population.buyers {
        let mut total = 0.0;
        for m in 1..=12 {
            let month = YearMonth::new(year, m).unwrap();
            let values = population.consumption(buyer, month);
            assert_eq!(values.len(), month.intervals());
            total += values.iter().sum::<i64>() as f64;
        }
        let annual = (buyer.industrial_kwh + buyer.commercial_kwh) as f64;
        assert!((total / annual - 1.0).abs() < 0.03, "{total} vs {annual}");
        assert!(annual >= buyer.green_kwh as f64);
    }
}

/// What a simulated year traded.
#[derive(Debug, Default)]
struct Year {
    traded_kwh: i64,
    inter_kwh: i64,
    contracts: usize,
    commands: usize,
    refused: BTreeMap<String, usize>,
    by_kind: BTreeMap<String, i64>,
}

/// Runs the calendar of `year` through `exchange::session::Session` directly.
fn simulate(seed: u64, scale: f64, year: u16) -> (Year, Population, Positions) {
    let targets = YearTargets::scaled(scale);
    let population = Population::generate(seed, &targets);
    let calendar = Calendar::for_year(year, &population, &targets);
    let mut positions = Positions::new(&population, year, &targets);
    let mut out = Year::default();
    for planned in &calendar.sessions {
        let mut session = Session::new(
            SessionId(planned.index as u64 + 1),
            planned.settings.clone(),
        )
        .expect("valid settings");
        let mut seq = 0u64;
        let at_ms = planned.date.at_ms(9);
        let mut apply = |session: &mut Session, command: Command, out: &mut Year| {
            seq += 1;
            out.commands += 1;
            let lifecycle = matches!(
                command,
                Command::Announce
                    | Command::Open
                    | Command::Close
                    | Command::Clear
                    | Command::Publish
            );
            if let Err(e) = session.apply(
                command,
                Stamp {
                    seq,
                    at_ms: at_ms + seq as i64,
                },
            ) {
                assert!(!lifecycle, "{}: {e}", planned.name);
                *out.refused.entry(e.code().to_owned()).or_default() += 1;
            }
        };
        apply(&mut session, Command::Announce, &mut out);
        apply(&mut session, Command::Open, &mut out);
        for c in agents::first_round(planned, &population, &positions) {
            apply(&mut session, c, &mut out);
        }
        let second = agents::second_round(
            planned,
            &population,
            &positions,
            session.listings(),
            session.proposals(),
        );
        for c in second {
            apply(&mut session, c, &mut out);
        }
        for c in [Command::Close, Command::Clear, Command::Publish] {
            apply(&mut session, c, &mut out);
        }
        let contracts = session.contracts();
        // `SIM_DEBUG=1`: what each inter-provincial session offered, bid and traded.
        if planned.kind.is_inter() && std::env::var("SIM_DEBUG").is_ok() {
            let sell: i64 = session
                .orders()
                .iter()
                .filter(|o| o.side == domain::Side::Sell)
                .map(|o| o.volume.0)
                .sum();
            let buy: i64 = session
                .orders()
                .iter()
                .filter(|o| o.side == domain::Side::Buy)
                .map(|o| o.volume.0)
                .sum();
            let got: i64 = contracts.iter().map(|c| c.total_volume().0).sum();
            let cap: i64 = planned
                .settings
                .corridors
                .iter()
                .map(|c| c.capacity.0)
                .sum::<i64>()
                * 24;
            eprintln!(
                "{} sell {sell} buy {buy} traded {got} cap {cap}",
                planned.name
            );
        }
        positions.record(planned.settings.delivery, contracts);
        for c in contracts {
            let v = c.total_volume().0;
            out.traded_kwh += v;
            if c.corridor.is_some() {
                out.inter_kwh += v;
            }
            *out.by_kind
                .entry(
                    format!("{:?}", planned.kind)
                        .split(' ')
                        .next()
                        .unwrap()
                        .to_owned(),
                )
                .or_default() += v;
        }
        out.contracts += contracts.len();
    }
    (out, population, positions)
}

#[test]
fn a_simulated_year_trades_near_the_target() {
    let started = Instant::now();
    let scale: f64 = std::env::var("SIM_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0.01);
    let seed: u64 = std::env::var("SIM_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2023);
    let (year, population, positions) = simulate(seed, scale, 2023);
    let target = YearTargets::scaled(scale).traded_kwh(2023);
    let ratio = year.traded_kwh as f64 / target as f64;
    let inter = year.inter_kwh as f64 / year.traded_kwh as f64;
    println!(
        "traded {} kWh of {} ({:.2} %), inter {:.2} %, {} contracts, {} commands, refused {:?}, by kind {:?}, in {:?}",
        year.traded_kwh,
        target,
        ratio * 100.0,
        inter * 100.0,
        year.contracts,
        year.commands,
        year.refused,
        year.by_kind,
        started.elapsed()
    );
    assert!(
        (0.97..=1.0).contains(&ratio),
        "traded {ratio} of the target"
    );
    assert!((0.24..=0.28).contains(&inter), "inter share {inter}");
    assert!(year.refused.is_empty(), "refused: {:?}", year.refused);
    // Nobody bought more than it wanted or sold more than it planned, in any month.
    for p in positions.entries.values() {
        for m in 0..12 {
            assert!(
                p.contracted_kwh[m] <= p.target_kwh[m],
                "{} month {}",
                p.participant.name,
                m + 1
            );
        }
    }
    // Generation covers most sellers' contracts and consumption most buyers' (monthly, §5).
    let mut short = 0;
    let mut months = 0;
    for m in 1..=12u8 {
        let month = YearMonth::new(2023, m).unwrap();
        for b in &population.buyers {
            let load: i64 = population.consumption(b, month).iter().sum();
            months += 1;
            short += usize::from(
                load < positions.entries[&b.participant].contracted_kwh[usize::from(m) - 1],
            );
        }
        let mut generated: BTreeMap<_, i64> = BTreeMap::new();
        for p in &population.projects {
            *generated.entry(p.owner).or_default() +=
                population.generation(p, month).iter().sum::<i64>();
        }
        for (owner, g) in generated {
            months += 1;
            short += usize::from(g < positions.entries[&owner].contracted_kwh[usize::from(m) - 1]);
        }
    }
    println!("{short} of {months} participant-months short");
    assert!(
        short * 10 <= months,
        "{short} of {months} participant-months short"
    );

    // The year before, with the same population: the demand is the 2022 figure.
    let (before, _, _) = simulate(seed, scale, 2022);
    let target_2022 = YearTargets::scaled(scale).traded_kwh(2022);
    let ratio_2022 = before.traded_kwh as f64 / target_2022 as f64;
    let inter_2022 = before.inter_kwh as f64 / before.traded_kwh as f64;
    println!(
        "2022: traded {} of {target_2022} ({:.2} %), inter {:.2} %",
        before.traded_kwh,
        ratio_2022 * 100.0,
        inter_2022 * 100.0
    );
    assert!(
        (0.97..=1.0).contains(&ratio_2022),
        "2022 traded {ratio_2022} of the target"
    );
    assert!(before.refused.is_empty(), "refused: {:?}", before.refused);
}
