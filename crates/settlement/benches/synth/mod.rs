//! A deterministic synthetic month of meter data and contracts, Zhejiang-sized by default:
//! 16,000 users and 2,000 projects metered every 15 minutes (~54 million rows for a 31-day
//! month) and ~20,000 green contracts. Shared by the divan bench and the `gen_month` example.
//!
//! Users (`U00001`, one meter `M00001` each) consume a daily-shaped load; projects (`P0001`,
//! owned by sellers `G001`…) are half wind, half PV (nothing at night). Contract volumes are a
//! share of the buyer's expected consumption (about one buyer in ten contracts more than it
//! consumes), and each seller's projects are sized from its contracts so that about one seller in
//! four generates less than it sold: every §5 branch is exercised at scale.

#![allow(dead_code)]

use std::io::{self, Write};

/// How big a month to make.
#[derive(Debug, Clone, Copy)]
pub struct Scale {
    /// Users (buyers), one meter each.
    pub users: usize,
    /// Projects, one meter each.
    pub projects: usize,
    /// Sellers owning the projects.
    pub sellers: usize,
    /// Contracts (at least one per user when `contracts ≥ users`).
    pub contracts: usize,
    /// Year and month.
    pub year: u16,
    /// 1–12.
    pub month: u8,
    /// Rows ordered by time then meter, instead of by meter then time.
    pub time_major: bool,
}

impl Scale {
    /// The Zhejiang month of the benchmark: May 2023.
    pub fn zhejiang() -> Scale {
        Scale {
            users: 16_000,
            projects: 2_000,
            sellers: 250,
            contracts: 20_000,
            year: 2023,
            month: 5,
            time_major: false,
        }
    }

    /// `1/divisor` of the Zhejiang month (at least one of everything).
    pub fn fraction(divisor: usize) -> Scale {
        let z = Scale::zhejiang();
        Scale {
            users: (z.users / divisor).max(1),
            projects: (z.projects / divisor).max(1),
            sellers: (z.sellers / divisor).max(1),
            contracts: (z.contracts / divisor).max(1),
            ..z
        }
    }

    /// Intervals in the month.
    pub fn intervals(&self) -> usize {
        settlement::YearMonth::new(self.year, self.month)
            .expect("a month")
            .intervals()
    }

    /// Meter rows in the month.
    pub fn rows(&self) -> usize {
        (self.users + self.projects) * self.intervals()
    }
}

/// SplitMix64's finaliser: a good 64-bit hash of one word.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn pick(salt: u64, i: usize, n: u64) -> u64 {
    mix(salt ^ mix(i as u64)) % n
}

/// Load shape by hour, per mille of the base (night 600, day 1,200).
const LOAD_SHAPE: [u64; 24] = [
    600, 600, 600, 600, 600, 650, 750, 900, 1100, 1200, 1200, 1200, 1100, 1150, 1200, 1200, 1150,
    1100, 1050, 1000, 950, 850, 750, 650,
];

/// PV shape by hour, per mille of capacity.
const PV_SHAPE: [u64; 24] = [
    0, 0, 0, 0, 0, 0, 50, 200, 400, 600, 750, 850, 900, 850, 750, 600, 400, 200, 50, 0, 0, 0, 0, 0,
];

/// A user's base load, kWh per quarter-hour (20–800).
fn user_base(user: usize) -> u64 {
    20 + pick(0x05e7, user, 781)
}

fn user_kwh(user: usize, interval: usize) -> u64 {
    let hour = (interval % 96) / 4;
    let noise = 800 + mix((user as u64) << 32 ^ interval as u64 ^ 0x10ad) % 401; // 0.8–1.2
    user_base(user) * LOAD_SHAPE[hour] * noise / 1_000_000
}

/// A user's expected consumption of the month, kWh (the mean of `user_kwh`).
fn user_month(user: usize, intervals: usize) -> u64 {
    let shape: u64 = LOAD_SHAPE.iter().sum::<u64>() * 4; // per mille × quarter-hours of a day
    user_base(user) * shape / 1000 * (intervals as u64 / 96)
}

fn is_pv(project: usize) -> bool {
    project % 2 == 1
}

/// Mean output per mille of capacity per quarter-hour.
fn capacity_factor(pv: bool) -> u64 {
    if pv {
        PV_SHAPE.iter().sum::<u64>() * 750 / 24 / 1000
    } else {
        450
    }
}

fn project_kwh(capacity: u64, project: usize, interval: usize) -> u64 {
    let r = mix((project as u64) << 32 ^ interval as u64 ^ 0x9e4);
    if is_pv(project) {
        let hour = (interval % 96) / 4;
        capacity * PV_SHAPE[hour] * (500 + r % 501) / 1_000_000 // clouds: 0.5–1.0
    } else {
        capacity * (100 + r % 701) / 1000 // wind: 0.1–0.8
    }
}

/// One contract of the month.
struct Contract {
    seller: usize,
    buyer: usize,
    kwh: u64,
    energy_fen: u64,
    env_fen: u64,
    comp_fen: u64,
    carry: u64,
}

fn contracts(scale: &Scale) -> Vec<Contract> {
    let intervals = scale.intervals();
    let buyers: Vec<usize> = (0..scale.contracts)
        .map(|k| {
            if k < scale.users {
                k
            } else {
                pick(0xb0b, k, scale.users as u64) as usize
            }
        })
        .collect();
    let mut per_buyer = vec![0u64; scale.users];
    for &b in &buyers {
        per_buyer[b] += 1;
    }
    buyers
        .iter()
        .enumerate()
        .map(|(k, &buyer)| {
            // Green share of consumption: 5–40 %, or 90–130 % for one buyer in ten.
            let share = if pick(0x5a, buyer, 10) == 0 {
                900 + pick(0x5b, k, 401)
            } else {
                50 + pick(0x5c, k, 351)
            };
            Contract {
                seller: pick(0x5e11, k, scale.sellers as u64) as usize,
                buyer,
                kwh: user_month(buyer, intervals) * share / 1000 / per_buyer[buyer],
                energy_fen: 38_000 + pick(0xe0, k, 8_001),
                env_fen: 500 + pick(0xe1, k, 5_501),
                comp_fen: 1_000 + pick(0xe2, k, 5_001),
                carry: pick(0xca, k, 1000),
            }
        })
        .collect()
}

/// Each project's capacity, kWh per quarter-hour at full output: its seller's contracted volume
/// times 0.7–1.5 (below 1 for about one seller in four), spread over the seller's projects.
fn capacities(scale: &Scale, contracts: &[Contract]) -> Vec<u64> {
    let intervals = scale.intervals() as u64;
    let mut sold = vec![0u64; scale.sellers];
    for c in contracts {
        sold[c.seller] += c.kwh;
    }
    let mut projects_of = vec![0u64; scale.sellers];
    for p in 0..scale.projects {
        projects_of[p % scale.sellers] += 1;
    }
    (0..scale.projects)
        .map(|p| {
            let seller = p % scale.sellers;
            let cover = 700 + pick(0xc0, seller, 801);
            let target = sold[seller] * cover / 1000 / projects_of[seller];
            (target * 1000 / capacity_factor(is_pv(p)) / intervals).max(1)
        })
        .collect()
}

fn seller_name(seller: usize) -> String {
    format!("G{:03}", seller + 1)
}

fn user_name(user: usize) -> String {
    format!("U{:05}", user + 1)
}

fn yuan(fen: u64) -> String {
    format!("{}.{:02}", fen / 100, fen % 100)
}

/// `contracts.csv` of the month.
pub fn contracts_csv(scale: &Scale) -> Vec<u8> {
    let mut out =
        String::from("contract,seller,buyer,mwh,energy_price,env_price,comp_price,carry_kwh\n");
    for (k, c) in contracts(scale).iter().enumerate() {
        out.push_str(&format!(
            "c{:06},{},{},{}.{:03},{},{},{},{}\n",
            k + 1,
            seller_name(c.seller),
            user_name(c.buyer),
            c.kwh / 1000,
            c.kwh % 1000,
            yuan(c.energy_fen),
            yuan(c.env_fen),
            yuan(c.comp_fen),
            c.carry
        ));
    }
    out.into_bytes()
}

fn push_number(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

/// Writes `meters.csv` of the month to `out`.
pub fn write_meters(scale: &Scale, out: &mut impl Write) -> io::Result<()> {
    let contracts = contracts(scale);
    let capacity = capacities(scale, &contracts);
    let intervals = scale.intervals();
    let starts: Vec<String> = (0..intervals)
        .map(|i| {
            let (day, q) = (i / 96 + 1, i % 96);
            format!(
                "{:04}-{:02}-{day:02}T{:02}:{:02}",
                scale.year,
                scale.month,
                q / 4,
                q % 4 * 15
            )
        })
        .collect();
    // Meter prefixes `meter,participant,`: projects first, then users.
    let meters: Vec<String> = (0..scale.projects)
        .map(|p| format!("P{:04},{},", p + 1, seller_name(p % scale.sellers)))
        .chain((0..scale.users).map(|u| format!("M{:05},{},", u + 1, user_name(u))))
        .collect();
    let kwh = |meter: usize, interval: usize| {
        if meter < scale.projects {
            project_kwh(capacity[meter], meter, interval)
        } else {
            user_kwh(meter - scale.projects, interval)
        }
    };
    out.write_all(b"meter,participant,start,kwh\n")?;
    let mut buf: Vec<u8> = Vec::with_capacity(1 << 20);
    let row = |buf: &mut Vec<u8>, meter: usize, interval: usize| {
        buf.extend_from_slice(meters[meter].as_bytes());
        buf.extend_from_slice(starts[interval].as_bytes());
        buf.push(b',');
        push_number(buf, kwh(meter, interval));
        buf.push(b'\n');
    };
    let mut flush = |buf: &mut Vec<u8>| -> io::Result<()> {
        if buf.len() > (1 << 20) - 256 {
            out.write_all(buf)?;
            buf.clear();
        }
        Ok(())
    };
    if scale.time_major {
        for interval in 0..intervals {
            for meter in 0..meters.len() {
                row(&mut buf, meter, interval);
                flush(&mut buf)?;
            }
        }
    } else {
        for meter in 0..meters.len() {
            for interval in 0..intervals {
                row(&mut buf, meter, interval);
                flush(&mut buf)?;
            }
        }
    }
    out.write_all(&buf)
}

/// `meters.csv` of the month, in memory.
pub fn meters_csv(scale: &Scale) -> Vec<u8> {
    let mut out = Vec::with_capacity(scale.rows() * 36);
    write_meters(scale, &mut out).expect("writing to memory");
    out
}
