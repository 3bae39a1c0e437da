//! Retail allocation (spec §5): a retailer's wholesale environmental value shared among its
//! retail users (二级用户).
//!
//! The rule, exactly:
//! 1. When the wholesale `Q_env` covers the users' total green demand, every user gets its
//!    demand; what is left stays with the retailer (it is not pushed onto users who did not ask
//!    for it).
//! 2. When it is short, users are served in **descending agreed environmental price**: each
//!    price level in turn gets its full demand while enough remains. The first level that
//!    cannot be served in full shares what remains **pro rata to demand** in whole MWh
//!    ([`domain::pro_rata`]: largest remainder, then earlier position in the input). Lower price
//!    levels get nothing.
//!
//! Quantities are whole MWh, since `Q_env` is (one certificate per MWh).

use std::collections::BTreeMap;

use domain::{Price, pro_rata};

/// One retail user's green demand under its retailer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetailDemand {
    /// The retail user.
    pub user: String,
    /// How many MWh of green (environmental) value it contracted with the retailer.
    pub demand_mwh: i64,
    /// The environmental price agreed with the retailer: the higher, the earlier served.
    pub agreed_env_price: Price,
}

/// Allocates `wholesale_env_mwh` to `users`; returns `(user, mwh)` in input order.
///
/// The retailer keeps `wholesale_env_mwh − Σ mwh` (zero when short). See the module doc for the
/// rule.
///
/// # Panics
/// If the wholesale volume or a demand is negative.
pub fn allocate_retail(wholesale_env_mwh: i64, users: &[RetailDemand]) -> Vec<(String, i64)> {
    assert!(wholesale_env_mwh >= 0, "negative wholesale volume");
    assert!(
        users.iter().all(|u| u.demand_mwh >= 0),
        "negative retail demand"
    );
    let demanded: i128 = users.iter().map(|u| i128::from(u.demand_mwh)).sum();
    let mut given: Vec<i64> = vec![0; users.len()];
    if demanded <= i128::from(wholesale_env_mwh) {
        for (g, u) in given.iter_mut().zip(users) {
            *g = u.demand_mwh;
        }
    } else {
        // Price levels, highest first; each level's users in input order.
        let mut levels: BTreeMap<std::cmp::Reverse<Price>, Vec<usize>> = BTreeMap::new();
        for (i, u) in users.iter().enumerate() {
            if u.demand_mwh > 0 {
                levels
                    .entry(std::cmp::Reverse(u.agreed_env_price))
                    .or_default()
                    .push(i);
            }
        }
        let mut remaining = wholesale_env_mwh;
        for positions in levels.values() {
            if remaining == 0 {
                break;
            }
            let level: i64 = positions.iter().map(|&i| users[i].demand_mwh).sum();
            if level <= remaining {
                for &i in positions {
                    given[i] = users[i].demand_mwh;
                }
                remaining -= level;
            } else {
                let weights: Vec<i64> = positions.iter().map(|&i| users[i].demand_mwh).collect();
                for (&i, share) in positions.iter().zip(pro_rata(remaining, &weights)) {
                    given[i] = share;
                }
                remaining = 0;
            }
        }
        assert_eq!(remaining, 0, "a short allocation leaves nothing over");
    }
    let total: i128 = given.iter().map(|&g| i128::from(g)).sum();
    assert_eq!(total, demanded.min(i128::from(wholesale_env_mwh)));
    assert!(
        given
            .iter()
            .zip(users)
            .all(|(&g, u)| 0 <= g && g <= u.demand_mwh)
    );
    users.iter().map(|u| u.user.clone()).zip(given).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demand(user: &str, demand_mwh: i64, yuan: i64) -> RetailDemand {
        RetailDemand {
            user: user.into(),
            demand_mwh,
            agreed_env_price: Price(yuan * 100),
        }
    }

    #[test]
    fn enough_serves_every_demand() {
        let users = [demand("a", 3, 10), demand("b", 5, 20)];
        assert_eq!(
            allocate_retail(10, &users),
            vec![("a".into(), 3), ("b".into(), 5)]
        );
    }
}
