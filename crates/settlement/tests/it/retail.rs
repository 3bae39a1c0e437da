//! Retail allocation: a retailer's wholesale environmental MWh shared among its retail users.

use domain::Price;
use settlement::{RetailDemand, allocate_retail};

fn user(name: &str, demand_mwh: i64, yuan_per_mwh: i64) -> RetailDemand {
    RetailDemand {
        user: name.into(),
        demand_mwh,
        agreed_env_price: Price(yuan_per_mwh * 100),
    }
}

fn check(wholesale_mwh: i64, users: &[RetailDemand], expected: &[(&str, i64)]) {
    let got = allocate_retail(wholesale_mwh, users);
    let expected: Vec<(String, i64)> = expected.iter().map(|(u, m)| ((*u).into(), *m)).collect();
    assert_eq!(got, expected);
}

#[test]
fn enough_serves_every_demand_and_the_retailer_keeps_the_rest() {
    // 15 MWh demanded of 20: everyone is served in full; 5 MWh stay with the retailer.
    check(
        20,
        &[
            user("a", 6, 30),
            user("b", 4, 50),
            user("c", 3, 30),
            user("d", 2, 10),
        ],
        &[("a", 6), ("b", 4), ("c", 3), ("d", 2)],
    );
}

#[test]
fn when_short_higher_agreed_prices_are_served_first() {
    // 15 MWh demanded of 10. b (50.00) first: 4, leaving 6. a and c (30.00) want 9 > 6: they
    // share 6 pro rata to 6 : 3, i.e. 4 and 2 exactly. d (10.00) gets nothing.
    check(
        10,
        &[
            user("a", 6, 30),
            user("b", 4, 50),
            user("c", 3, 30),
            user("d", 2, 10),
        ],
        &[("a", 4), ("b", 4), ("c", 2), ("d", 0)],
    );
}

#[test]
fn ties_share_pro_rata_with_leftovers_by_remainder_then_input_order() {
    // 5 MWh for three users of 2 at one price: 1.67 each, floors 3, two left with equal
    // remainders: x and y (first in input order).
    check(
        5,
        &[user("x", 2, 40), user("y", 2, 40), user("z", 2, 40)],
        &[("x", 2), ("y", 2), ("z", 1)],
    );
    // 7 over demands 2, 3, 5: exact 1.4, 2.1, 3.5 → 1, 2, 3 and one left to the largest
    // remainder (the 5's .5).
    check(
        7,
        &[user("p", 2, 40), user("q", 3, 40), user("r", 5, 40)],
        &[("p", 1), ("q", 2), ("r", 4)],
    );
}

#[test]
fn nothing_to_allocate_and_no_demand() {
    check(0, &[user("a", 3, 30)], &[("a", 0)]);
    check(
        5,
        &[user("a", 0, 30), user("b", 0, 10)],
        &[("a", 0), ("b", 0)],
    );
    check(5, &[], &[]);
}
